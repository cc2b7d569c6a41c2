"""Registry pages: list, search, detail, create and edit sites and plants; role checks; validation messages."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import registry
from fieldlog.db import scalar


def make_site(db, n: int = 1, **kw) -> int:
    """A site with sensible defaults."""
    raw = {"name": f"城关镇安置小区{n}", "reg_no": f"HDJ-{n:03d}", "town": "城关镇", "address": "建设路1号",
           "builder": "衡东县住建局", "started_on": "2021-03-01"}
    raw.update(kw.pop("raw", {}))
    return registry.save_site(db, raw, **kw)


def site_form(**overrides) -> dict:
    data = {"name": "吴集镇敬老院", "reg_no": "HDJ-900", "address": "吴集镇解放路2号", "town": "吴集镇",
            "lat": "27.05", "lon": "112.91", "builder": "民政局", "contractor": "宏达建工", "supervisor": "长顺监理",
            "uses_ready_mix": "1", "started_on": "2021-04-01", "completed_on": "",
            "pause_start_on": ["", "", ""], "pause_end_on": ["", "", ""], "pause_reason": ["", "", ""]}
    data.update(overrides)
    return data


def test_site_list_shows_status_town_and_inspectors(client_for, db, users):
    make_site(db, 1, inspector_ids=[users["alice"]])
    make_site(db, 2, raw={"town": "吴集镇", "completed_on": "2021-09-30"})
    make_site(db, 3, pauses=[{"start_on": "2021-05-01", "end_on": None, "reason": "资金"}])
    html = client_for("alice").get("/sites").text
    assert "城关镇安置小区1" in html and "艾丽丝" in html
    assert "在建" in html and "已竣工" in html and "停工" in html
    assert "吴集镇" in html


def test_site_status_derived_from_dates_and_pauses():
    site = {"started_on": "2021-03-01", "completed_on": None}
    pauses = [(date(2021, 5, 1), date(2021, 5, 31))]
    assert registry.site_status(site, pauses, date(2021, 2, 1)) == "not_started"
    assert registry.site_status(site, pauses, date(2021, 4, 1)) == "building"
    assert registry.site_status(site, pauses, date(2021, 5, 31)) == "paused"
    assert registry.site_status(site, pauses, date(2021, 6, 1)) == "building"
    assert registry.site_status({**site, "completed_on": "2021-08-01"}, [], date(2021, 8, 1)) == "completed"


def test_search_by_reg_no_and_town_filter(client_for, db, users):
    make_site(db, 1)
    make_site(db, 2, raw={"town": "吴集镇", "name": "吴集镇农贸市场"})
    client = client_for("bob")
    html = client.get("/sites", params={"q": "HDJ-002"}).text
    assert "吴集镇农贸市场" in html and "城关镇安置小区1" not in html
    html = client.get("/sites", params={"town": "城关镇"}).text
    assert "城关镇安置小区1" in html and "吴集镇农贸市场" not in html


def test_htmx_search_returns_only_the_rows(client_for, db, users):
    make_site(db, 1)
    response = client_for("alice").get("/sites", params={"q": "安置"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "城关镇安置小区1" in response.text
    assert "HX-Request" in response.headers["vary"]


def test_search_input_carries_htmx_attributes(client_for, users):
    html = client_for("alice").get("/sites").text
    assert 'hx-get="/sites"' in html and 'hx-trigger="input changed delay:300ms, search"' in html


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_inspector_and_chief_cannot_change_the_registry(client_for, db, users, username):
    site_id = make_site(db, 1)
    client = client_for(username)
    assert client.get("/sites/new").status_code == 403
    assert client.post_form("/sites/new", site_form()).status_code == 403
    assert client.get(f"/sites/{site_id}/edit").status_code == 403
    assert client.post_form(f"/sites/{site_id}/edit", site_form()).status_code == 403
    assert client.get("/plants/new").status_code == 403
    assert client.post_form("/plants/new", {"name": "x", "licence_no": "y"}).status_code == 403
    assert scalar(db, "SELECT count(*) FROM sites") == 1
    assert scalar(db, "SELECT count(*) FROM plants") == 0


def test_anonymous_is_sent_to_login(client_for):
    response = client_for(None).get("/sites", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_admin_creates_site_with_inspectors_and_pauses(client_for, db, users):
    client = client_for("dave")
    form = site_form(inspector_ids=[str(users["alice"]), str(users["bob"])],
                     pause_start_on=["2021-06-01", "", ""], pause_end_on=["2021-06-20", "", ""],
                     pause_reason=["雨季", "", ""])
    response = client.post_form("/sites/new", form, follow_redirects=False)
    assert response.status_code == 303
    site_id = int(response.headers["location"].rsplit("/", 1)[1])
    site = registry.get_site(db, site_id)
    assert site["reg_no"] == "HDJ-900" and site["lat"] == 27.05 and site["uses_ready_mix"] == 1
    assert {i["id"] for i in site["inspectors"]} == {users["alice"], users["bob"]}
    assert site["pauses"] == [{"start_on": "2021-06-01", "end_on": "2021-06-20", "reason": "雨季"}]
    detail = client.get(f"/sites/{site_id}").text
    assert "吴集镇敬老院" in detail and "雨季" in detail and "鲍勃" in detail
    assert f"/sites/{site_id}/edit" in detail and f"/chief/sites/{site_id}" not in detail
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'site_created'") == 1


def test_unchecked_ready_mix_is_stored_as_no(client_for, db, users):
    form = site_form()
    del form["uses_ready_mix"]
    response = client_for("dave").post_form("/sites/new", form, follow_redirects=False)
    assert response.status_code == 303
    assert scalar(db, "SELECT uses_ready_mix FROM sites") == 0


def test_chief_sees_timeline_link_but_no_edit_link(client_for, db, users):
    site_id = make_site(db, 1)
    html = client_for("carol").get(f"/sites/{site_id}").text
    assert f"/chief/sites/{site_id}" in html and f"/sites/{site_id}/edit" not in html


@pytest.mark.parametrize("overrides, message", [
    ({"reg_no": "HDJ-001"}, "监督注册号已被其他工地使用"),
    ({"started_on": "2021-05-01", "completed_on": "2021-04-01"}, "竣工验收日期不能早于开工日期"),
    ({"lat": "27,08"}, "纬度须为数字"),
    ({"lon": "300"}, "经度须在 -180 到 180 之间"),
    ({"name": ""}, "请填写工地名称"),
    ({"pause_start_on": ["2021-06-10", "", ""], "pause_end_on": ["2021-06-01", "", ""]}, "复工日期不能早于停工开始日期"),
    ({"pause_start_on": ["", "", ""], "pause_end_on": ["2021-06-01", "", ""]}, "请填写停工开始日期"),
])
def test_bad_site_input_is_shown_and_nothing_saved(client_for, db, users, overrides, message):
    make_site(db, 1)
    response = client_for("dave").post_form("/sites/new", site_form(**overrides))
    assert response.status_code == 422
    assert message in response.text
    assert 'class="field-error"' in response.text
    assert "吴集镇敬老院" in response.text or overrides.get("name") == ""  # what was typed is kept
    assert scalar(db, "SELECT count(*) FROM sites") == 1


def test_edit_site_keeps_existing_pauses_and_offers_blank_rows(client_for, db, users):
    site_id = make_site(db, 1, pauses=[{"start_on": "2021-05-01", "end_on": "2021-05-20", "reason": "整改"}])
    client = client_for("dave")
    html = client.get(f"/sites/{site_id}/edit").text
    assert html.count('name="pause_start_on"') == 4 and 'value="2021-05-01"' in html
    form = site_form(reg_no="HDJ-001", name="改名工地", pause_start_on=["2021-05-01", "2021-08-01", ""],
                     pause_end_on=["2021-05-20", "", ""], pause_reason=["整改", "资金", ""])
    response = client.post_form(f"/sites/{site_id}/edit", form, follow_redirects=False)
    assert response.status_code == 303
    site = registry.get_site(db, site_id)
    assert site["name"] == "改名工地" and len(site["pauses"]) == 2 and site["pauses"][1]["end_on"] is None


def test_edit_unknown_site_is_404(client_for, users):
    assert client_for("dave").get("/sites/999/edit").status_code == 404
    assert client_for("alice").get("/sites/999").status_code == 404


def test_plants_create_list_detail_and_errors(client_for, db, users):
    client = client_for("dave")
    response = client.post_form("/plants/new", {"name": "恒通商砼", "licence_no": "ZZ-01", "town": "城关镇",
                                                "lat": "27.1", "lon": "112.9", "active_from": "2019-01-01",
                                                "active_to": ""}, follow_redirects=False)
    assert response.status_code == 303
    plant_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert "恒通商砼" in client_for("alice").get("/plants").text
    assert "ZZ-01" in client.get(f"/plants/{plant_id}").text
    bad = client.post_form("/plants/new", {"name": "鑫达", "licence_no": "ZZ-01", "active_from": "2021-05-01",
                                           "active_to": "2021-01-01", "lat": "abc", "lon": "1"})
    assert bad.status_code == 422
    assert "纬度须为数字" in bad.text
    bad = client.post_form("/plants/new", {"name": "鑫达", "licence_no": "ZZ-01"})
    assert bad.status_code == 422 and "资质证书编号已被其他企业使用" in bad.text
    bad = client.post_form("/plants/new", {"name": "鑫达", "licence_no": "ZZ-02", "active_from": "2021-05-01",
                                           "active_to": "2021-01-01"})
    assert bad.status_code == 422 and "停产日期不能早于生产起始日期" in bad.text
    assert scalar(db, "SELECT count(*) FROM plants") == 1


def test_plant_edit(client_for, db, users):
    plant_id = registry.save_plant(db, {"name": "鑫达", "licence_no": "ZZ-02"})
    client = client_for("dave")
    assert "鑫达" in client.get(f"/plants/{plant_id}/edit").text
    response = client.post_form(f"/plants/{plant_id}/edit", {"name": "鑫达混凝土", "licence_no": "ZZ-02",
                                                             "active_to": "2021-06-30", "active_from": "2020-01-01"},
                                follow_redirects=False)
    assert response.status_code == 303
    assert registry.get_plant(db, plant_id)["active_to"] == "2021-06-30"
    assert client_for("bob").get(f"/plants/{plant_id}/edit").status_code == 403


def test_post_without_csrf_is_refused(client_for, db, users):
    client = client_for("dave")
    response = client.post("/sites/new", data=site_form())
    assert response.status_code == 403
    assert scalar(db, "SELECT count(*) FROM sites") == 0


def test_field_and_pause_errors_are_shown_together(client_for, db, users):
    form = site_form(lat="abc", pause_start_on=["2021-06-10", "", ""], pause_end_on=["2021-06-01", "", ""])
    response = client_for("dave").post_form("/sites/new", form)
    assert response.status_code == 422
    assert "纬度须为数字" in response.text and "复工日期不能早于停工开始日期" in response.text
    assert scalar(db, "SELECT count(*) FROM sites") == 0
