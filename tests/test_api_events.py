"""The events API: 201/200/409, racing resends, 422 naming the field, auth, list filters, permissions."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
from PIL import Image

from fieldlog import accounts, db as db_mod, events
from fieldlog.db import scalar
from tests.conftest import Client
from tests.factories import NOW, PLANT_AT, SITE_AT, TZ, plant, site, submission


@pytest.fixture
def reg(db, users):
    return {"site": site(db, location=SITE_AT), "plant": plant(db, location=PLANT_AT)}


def _patrol(reg, **kw) -> dict:
    # The app's clock stands at factories.NOW (2022): these 2021 patrols reach it late.
    return submission("safety_patrol", site_id=reg["site"], **kw)


def test_create_then_resend_then_conflict(token_client, reg, db):
    client = token_client("alice")
    raw = _patrol(reg)
    first = client.post("/api/v1/events", json=raw)
    assert first.status_code == 201, first.text
    assert first.json()["id"] == raw["id"] and first.json()["warnings"] == [] and first.json()["late"] is True
    again = client.post("/api/v1/events", json=raw)
    assert again.status_code == 200
    assert {k: v for k, v in again.json().items() if k != "warnings"} == {k: v for k, v in first.json().items() if k != "warnings"}
    other = client.post("/api/v1/events", json={**raw, "note": "不同内容"})
    assert other.status_code == 409
    assert other.json()["stored"]["id"] == raw["id"] and other.json()["stored"]["note"] == ""
    assert scalar(db, "SELECT count(*) FROM events") == 1


def test_two_identical_requests_racing_store_one_row(app, db, users, reg):
    raw = _patrol(reg)
    tokens = [accounts.create_token(db, "alice", f"phone{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def send(token: str) -> None:
        with Client(app, base_url="http://testserver") as client:
            client.headers["Authorization"] = f"Bearer {token}"
            barrier.wait()
            answers.append(client.post("/api/v1/events", json=raw).status_code)

    for _ in range(5):  # several rounds, each with a fresh id, to give the race a chance to bite
        raw["id"] = str(uuid.uuid4())
        answers.clear()
        threads = [threading.Thread(target=send, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(answers) == [200, 201]
        assert scalar(db, "SELECT count(*) FROM events WHERE id = ?", [raw["id"]]) == 1
        assert scalar(db, "SELECT count(*) FROM event_inspectors WHERE event_id = ?", [raw["id"]]) == 1


def test_racing_in_the_domain_with_two_connections(cfg, db, users, reg):
    raw = _patrol(reg)
    user = accounts.get_user_by_name(db, "alice")
    barrier = threading.Barrier(2)
    results = []

    def send() -> None:
        conn = db_mod.connect(cfg.database)
        try:
            barrier.wait()
            results.append(events.create(conn, raw, user=user, now=NOW, tz=TZ)[1])
        finally:
            conn.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    assert scalar(db, "SELECT count(*) FROM events") == 1


@pytest.mark.parametrize("change, field, message", [
    ({"site_id": 424242}, "site_id", "工地不存在"),
    ({"fields": {"finding": "一般", "hazards_general": -2}}, "fields.hazards_general", "不能小于 0"),
    ({"occurred_at": "2999-01-01T00:00:00+08:00"}, "occurred_at", "不能晚于现在"),
    ({"kind": "party"}, "kind", "未知的记录类型"),
])
def test_422_names_the_field_and_stores_nothing(token_client, reg, db, change, field, message):
    response = token_client("alice").post("/api/v1/events", json={**_patrol(reg), **change})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(d["loc"] == ["body", *field.split(".")] and message in d["msg"] for d in detail), detail
    assert scalar(db, "SELECT count(*) FROM events") == 0


def test_422_for_body_that_is_not_an_object(token_client):
    response = token_client("alice").post("/api/v1/events", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "body"]
    response = token_client("alice").post("/api/v1/events", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "JSON" in response.json()["detail"][0]["msg"]


def test_negative_copies_refused(token_client, reg):
    raw = submission("leaflets", fields={"copies": -100})
    response = token_client("alice").post("/api/v1/events", json=raw)
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "fields", "copies"], "msg": "发放份数须大于 0", "type": "value_error"}]


def test_warnings_come_back_with_the_event(token_client, reg):
    raw = _patrol(reg, accuracy_m=300)
    response = token_client("alice").post("/api/v1/events", json=raw)
    assert response.status_code == 201 and "定位精度较差" in response.json()["warnings"][0]


def test_admin_does_not_log_events(token_client, reg):
    response = token_client("dave").post("/api/v1/events", json=_patrol(reg))
    assert response.status_code == 403


def test_no_credentials_is_401(app, reg):
    with Client(app, base_url="http://testserver") as client:
        assert client.post("/api/v1/events", json=_patrol(reg)).status_code in (401, 403)  # CSRF check comes first
        assert client.get("/api/v1/events").status_code == 401


def test_session_auth_needs_the_csrf_header(client_for, reg, db):
    client = client_for("alice")
    raw = _patrol(reg)
    assert client.post("/api/v1/events", json=raw).status_code == 403
    assert scalar(db, "SELECT count(*) FROM events") == 0
    response = client.post("/api/v1/events", json=raw, headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 201


def test_list_filters_and_visibility(token_client, reg, db, users):
    alice, bob, carol = token_client("alice"), token_client("bob"), token_client("carol")
    other = site(db, name="杨林镇敬老院")
    a1 = _patrol(reg, occurred_at="2021-03-01T09:00:00+08:00")
    a2 = submission("plant_patrol", plant_id=reg["plant"], occurred_at="2021-03-31T23:30:00+08:00")
    b1 = submission("safety_patrol", site_id=other, occurred_at="2021-04-01T00:30:00+08:00")
    for client, raw in ((alice, a1), (alice, a2), (bob, b1)):
        assert client.post("/api/v1/events", json=raw).status_code == 201
    ids = lambda client, q="": [e["id"] for e in client.get("/api/v1/events" + q).json()["items"]]  # noqa: E731
    assert ids(alice) == [a2["id"], a1["id"]]
    assert ids(bob) == [b1["id"]]
    assert ids(carol) == [b1["id"], a2["id"], a1["id"]]
    assert ids(carol, "?kind=safety_patrol") == [b1["id"], a1["id"]]
    assert ids(carol, f"?site_id={other}") == [b1["id"]]
    assert ids(carol, f"?plant_id={reg['plant']}") == [a2["id"]]
    assert ids(carol, "?from=2021-03-31&to=2021-03-31") == [a2["id"]]  # station-local days, inclusive
    assert ids(carol, "?from=2021-04-01") == [b1["id"]]
    assert ids(carol, f"?inspector_id={users['bob']}") == [b1["id"]]
    page = carol.get("/api/v1/events?limit=1&offset=1").json()
    assert page["total"] == 3 and [e["id"] for e in page["items"]] == [a2["id"]]
    bad = carol.get("/api/v1/events?from=2021-13-01")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "from"]
    assert carol.get("/api/v1/events?kind=nope").status_code == 422


def test_get_one_event_and_visibility(token_client, reg):
    alice, bob, carol = token_client("alice"), token_client("bob"), token_client("carol")
    raw = _patrol(reg)
    alice.post("/api/v1/events", json=raw)
    got = alice.get(f"/api/v1/events/{raw['id']}").json()
    assert got["inspectors"][0]["display_name"] == "艾丽丝" and got["revisions"] == [] and got["photos"] == []
    assert carol.get(f"/api/v1/events/{raw['id']}").status_code == 200
    assert bob.get(f"/api/v1/events/{raw['id']}").status_code == 403
    assert alice.get(f"/api/v1/events/{uuid.uuid4()}").status_code == 404


def test_patch_and_void_through_the_api(token_client, reg, db):
    alice, bob, carol = token_client("alice"), token_client("bob"), token_client("carol")
    raw = _patrol(reg)
    alice.post("/api/v1/events", json=raw)
    url = f"/api/v1/events/{raw['id']}"
    assert bob.patch(url, json={"note": "鲍勃改的"}).status_code == 403
    assert bob.post(url + "/void", json={"reason": "x"}).status_code == 403
    bad = alice.patch(url, json={"fields": {"hazards_general": -1}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "fields", "hazards_general"]
    ok = alice.patch(url, json={"note": "补充", "reason": "补充说明"})
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.json()["note"] == "补充"
    assert alice.post("/api/v1/events", json=raw).status_code == 200  # the phone's resend after an edit
    missing = carol.post(url + "/void", json={})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "reason"]
    voided = carol.post(url + "/void", json={"reason": "重复记录"})
    assert voided.status_code == 200 and voided.json()["voided"] is True
    history = carol.get(url).json()["revisions"]
    assert [r["action"] for r in history] == ["edit", "void"]
    assert history[0]["reason"] == "补充说明" and history[1]["reason"] == "重复记录"


def _jpeg(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def test_photo_upload_is_idempotent_and_checked(token_client, reg, db):
    alice, bob = token_client("alice"), token_client("bob")
    raw = _patrol(reg)
    alice.post("/api/v1/events", json=raw)
    url = f"/api/v1/events/{raw['id']}/photos"
    photo = {"photo": ("IMG_0001.jpg", _jpeg(), "image/jpeg")}
    first = alice.post(url, files=photo)
    assert first.status_code == 201, first.text
    assert alice.post(url, files=photo).status_code == 200
    assert scalar(db, "SELECT count(*) FROM event_photos") == 1
    assert bob.post(url, files=photo).status_code == 403
    not_image = alice.post(url, files={"photo": ("a.jpg", b"hello", "image/jpeg")})
    assert not_image.status_code == 422 and not_image.json()["detail"][0]["loc"] == ["body", "photo"]
    missing = alice.post(url, data={"x": "1"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "photo"]
    assert alice.post(f"/api/v1/events/{uuid.uuid4()}/photos", files=photo).status_code == 404
    assert len(alice.get(f"/api/v1/events/{raw['id']}").json()["photos"]) == 1


def test_openapi_documents_the_event_body(app):
    schema = app.openapi()
    post = schema["paths"]["/api/v1/events"]["post"]
    props = post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"id", "kind", "occurred_at", "fields", "campaign"} <= props.keys()
    assert {"200", "201", "409", "422"} <= post["responses"].keys()


def test_photo_answer_hides_storage_details_and_oversize_says_15_mb(token_client, reg, db):
    alice = token_client("alice")
    raw = _patrol(reg)
    alice.post("/api/v1/events", json=raw)
    url = f"/api/v1/events/{raw['id']}/photos"
    stored = alice.post(url, files={"photo": ("IMG_0002.jpg", _jpeg(), "image/jpeg")}).json()
    assert stored["url"].startswith("/media/photos/") and stored["width"] == 64
    assert not {"file", "thumb", "sha256", "created_by"} & set(stored)
    huge = alice.post(url, files={"photo": ("big.jpg", b"\xff" * (15 * 1024 * 1024 + 10), "image/jpeg")})
    assert huge.status_code == 422 and "15 MB" in huge.json()["detail"][0]["msg"]
    assert scalar(db, "SELECT count(*) FROM event_photos") == 1
