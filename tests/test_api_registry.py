"""Registry JSON API: list with filters, detail, create (admin), 422 naming the field with the Chinese message."""

from __future__ import annotations

import pytest

from fieldlog import accounts, registry
from fieldlog.db import scalar
from tests.conftest import Client


@pytest.fixture
def api(app, db, users):
    """Factory: a client authenticated by bearer token as the named user."""

    def make(username: str) -> Client:
        client = Client(app, base_url="http://testserver")
        client.headers["Authorization"] = "Bearer " + accounts.create_token(db, username, "test")
        return client

    return make


@pytest.fixture
def sites(db, users):
    a = registry.save_site(db, {"name": "城关镇安置小区", "reg_no": "A-1", "town": "城关镇", "started_on": "2021-01-10"},
                           inspector_ids=[users["alice"]],
                           pauses=[{"start_on": "2021-03-01", "end_on": "2021-03-31", "reason": "整改"}])
    b = registry.save_site(db, {"name": "吴集镇敬老院", "reg_no": "B-1", "town": "吴集镇", "started_on": "2021-02-01",
                                "completed_on": "2021-06-30"})
    return a, b


def site_body(**kw) -> dict:
    body = {"name": "甘溪镇幼儿园", "reg_no": "C-1", "town": "甘溪镇", "lat": 27.1, "lon": 112.9,
            "uses_ready_mix": False, "started_on": "2021-04-01", "completed_on": None, "inspector_ids": [],
            "pauses": [{"start_on": "2021-05-01", "end_on": None, "reason": "资金"}]}
    body.update(kw)
    return body


def test_requires_authentication(app, db):
    response = Client(app, base_url="http://testserver").get("/api/v1/sites")
    assert response.status_code == 401


def test_list_and_filters(api, sites):
    client = api("alice")
    all_sites = client.get("/api/v1/sites").json()
    assert {s["reg_no"] for s in all_sites} == {"A-1", "B-1"}
    first = next(s for s in all_sites if s["reg_no"] == "A-1")
    assert first["pauses"][0]["reason"] == "整改" and first["inspector_ids"]
    assert [s["reg_no"] for s in client.get("/api/v1/sites", params={"q": "敬老院"}).json()] == ["B-1"]
    assert [s["reg_no"] for s in client.get("/api/v1/sites", params={"town": "城关镇"}).json()] == ["A-1"]
    # 2021-03-15: A-1 is paused that day, B-1 under way
    assert [s["reg_no"] for s in client.get("/api/v1/sites", params={"active_on": "2021-03-15"}).json()] == ["B-1"]
    assert [s["reg_no"] for s in client.get("/api/v1/sites", params={"active_on": "2021-08-01"}).json()] == ["A-1"]
    bad = client.get("/api/v1/sites", params={"active_on": "2021-13-01"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "active_on"]


def test_detail_and_404(api, sites):
    client = api("bob")
    body = client.get(f"/api/v1/sites/{sites[0]}").json()
    assert body["name"] == "城关镇安置小区" and body["status"] in {"building", "paused", "completed", "not_started"}
    assert client.get("/api/v1/sites/9999").status_code == 404


def test_admin_creates_site(api, db, users):
    response = api("dave").post("/api/v1/sites", json=site_body(inspector_ids=[users["bob"]]))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reg_no"] == "C-1" and body["inspector_ids"] == [users["bob"]] and body["uses_ready_mix"] is False
    assert body["pauses"] == [{"start_on": "2021-05-01", "end_on": None, "reason": "资金"}]
    assert registry.get_site(db, body["id"])["lat"] == 27.1


def test_inspector_cannot_create(api, db, users):
    assert api("alice").post("/api/v1/sites", json=site_body()).status_code == 403
    assert api("carol").post("/api/v1/plants", json={"name": "x", "licence_no": "y"}).status_code == 403
    assert scalar(db, "SELECT count(*) FROM sites") == 0


@pytest.mark.parametrize("changes, field, message", [
    ({"reg_no": "A-1"}, "reg_no", "监督注册号已被其他工地使用"),
    ({"lat": "27.1N"}, "lat", "纬度须为数字（十进制度，如 27.08）"),
    ({"completed_on": "2021-01-01"}, "completed_on", "竣工验收日期不能早于开工日期"),
    ({"name": ""}, "name", "请填写工地名称"),
    ({"inspector_ids": [9999]}, "inspector_ids", "负责监督员不存在"),
    ({"inspector_ids": "alice"}, "inspector_ids", "须为用户编号（整数）的列表"),
    ({"pauses": [{"start_on": "2021-06-01", "end_on": "2021-05-01"}]}, "pauses.0.end_on", "复工日期不能早于停工开始日期"),
])
def test_bad_site_is_422_naming_the_field(api, db, sites, changes, field, message):
    response = api("dave").post("/api/v1/sites", json=site_body(**changes))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {"loc": ["body", *field.split(".")], "msg": message, "type": "value_error"} in detail
    assert scalar(db, "SELECT count(*) FROM sites") == 2


def test_update_site(api, db, sites):
    client = api("dave")
    response = client.put(f"/api/v1/sites/{sites[1]}", json=site_body(reg_no="B-1", name="改名"))
    assert response.status_code == 200 and response.json()["name"] == "改名"
    assert client.put("/api/v1/sites/9999", json=site_body()).status_code == 404


def test_plants_api(api, db, users):
    admin = api("dave")
    response = admin.post("/api/v1/plants", json={"name": "恒通", "licence_no": "P-1", "town": "城关镇",
                                                  "active_from": "2019-01-01", "active_to": "2021-06-30"})
    assert response.status_code == 201
    plant_id = response.json()["id"]
    admin.post("/api/v1/plants", json={"name": "鑫达", "licence_no": "P-2", "active_from": "2021-01-01"})
    reader = api("alice")
    assert reader.get(f"/api/v1/plants/{plant_id}").json()["licence_no"] == "P-1"
    assert [p["licence_no"] for p in reader.get("/api/v1/plants", params={"active_on": "2021-08-01"}).json()] == ["P-2"]
    assert [p["licence_no"] for p in reader.get("/api/v1/plants", params={"q": "恒通"}).json()] == ["P-1"]
    assert [p["licence_no"] for p in reader.get("/api/v1/plants", params={"town": "城关镇"}).json()] == ["P-1"]
    bad = admin.post("/api/v1/plants", json={"name": "甲", "licence_no": "P-1"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "licence_no"]
    bad = admin.post("/api/v1/plants", json={"name": "乙", "licence_no": "P-3", "active_from": "2021-05-01",
                                             "active_to": "2021-04-01"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["msg"] == "停产日期不能早于生产起始日期"
    assert scalar(db, "SELECT count(*) FROM plants") == 2


def test_session_post_needs_csrf_header(client_for, db, users):
    client = client_for("dave")
    assert client.post("/api/v1/sites", json=site_body()).status_code == 403
    response = client.post("/api/v1/sites", json=site_body(), headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 201


def test_openapi_documents_registry_endpoints(client_for):
    schema = client_for("alice").get("/openapi.json").json()  # the schema is for signed-in users only
    assert {"/api/v1/sites", "/api/v1/sites/{site_id}", "/api/v1/plants"} <= set(schema["paths"])
    props = schema["components"]["schemas"]["SiteIn"]["properties"]
    assert props["lat"]["type"] == "number" and props["inspector_ids"]["type"] == "array"
