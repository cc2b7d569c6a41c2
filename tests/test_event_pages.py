"""Event pages: own history, the chief's list, detail with history, edit and void forms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldlog import events
from fieldlog.db import scalar
from tests.conftest import browser_login
from tests.factories import EXAMPLE, PLANT_AT, SITE_AT, TZ, event, plant, site, user


@pytest.fixture
def reg(db, users):
    return {"site": site(db, location=SITE_AT), "plant": plant(db, name="鑫达混凝土有限公司", location=PLANT_AT)}


def _store(db, kind: str, occurred_at, **kw) -> dict:
    """An event of `kind` with every field filled (factories.EXAMPLE; `fields` add to them)."""
    return event(db, kind, occurred_at, fields={**EXAMPLE[kind], **kw.pop("fields", {})}, **kw)


def test_mine_lists_own_events_newest_first_with_flags(client_for, db, reg, clock):
    old = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"], received_at="2021-05-11T09:00")
    new = _store(db, "plant_patrol", "2021-05-20T09:00", plant_id=reg["plant"])
    gone = _store(db, "leaflets", "2021-05-10T09:00")
    events.void(db, gone["id"], user=user(db, "alice"), reason="重复录入", now=clock())
    _store(db, "safety_patrol", "2021-05-25T09:00", by="bob", site_id=reg["site"])
    page = client_for("alice").get("/events/mine")
    assert page.status_code == 200
    html = page.text
    assert html.index(new["id"]) < html.index(gone["id"]) < html.index(old["id"])
    assert "共 3 条记录" in html and "鲍勃" not in html
    assert "补录" in html and "已作废" in html and "作废原因：重复录入" in html
    assert 'class="voided"' in html


def test_mine_filters_and_htmx_partial(client_for, db, reg):
    a = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    b = _store(db, "plant_patrol", "2021-05-20T09:00", plant_id=reg["plant"])
    client = client_for("alice")
    by_kind = client.get("/events/mine?kind=plant_patrol").text
    assert b["id"] in by_kind and a["id"] not in by_kind
    by_date = client.get("/events/mine?from=2021-04-30&to=2021-05-01").text
    assert a["id"] in by_date and b["id"] not in by_date
    partial = client.get("/events/mine?kind=safety_patrol", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and a["id"] in partial.text
    assert "HX-Request" in partial.headers["vary"]
    assert "日期格式应为" in client.get("/events/mine?from=2021-99-01").text


def test_chief_sees_all_events_and_inspector_cannot(client_for, db, reg, users):
    a = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    b = _store(db, "safety_patrol", "2021-06-01T09:00", by="bob", site_id=reg["site"])
    chief = client_for("carol")
    html = chief.get("/events").text
    assert a["id"] in html and b["id"] in html
    only_bob = chief.get(f"/events?inspector={users['bob']}").text
    assert b["id"] in only_bob and a["id"] not in only_bob
    may = chief.get("/events?month=2021-05").text
    assert a["id"] in may and b["id"] not in may
    assert client_for("alice").get("/events").status_code == 403


def test_detail_shows_labels_photos_gps_and_history(client_for, db, reg, clock):
    event = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    events.edit(db, event["id"], {"fields": {"hazards_general": 5}}, user=user(db, "carol"),
                now=clock(), tz=TZ, reason="复核后更正")
    html = client_for("alice").get(f"/events/{event['id']}").text
    assert "安全日常巡查" in html and "最严重隐患" in html and "整改通知书编号" in html
    assert "27.081400" in html and "精度约 8 米" in html
    assert "<dd>2021年5月1日 09:00</dd>" in html  # received_at shown in station time, not UTC
    assert "修改历史" in html and "卡罗尔" in html and "复核后更正" in html and "一般隐患数" in html
    assert "没有照片" in html
    assert client_for("bob").get(f"/events/{event['id']}").status_code == 403


def test_notice_detail_lists_its_reviews(client_for, db, reg):
    notice = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    client = client_for("alice")
    assert "尚未复查" in client.get(f"/events/{notice['id']}").text
    review = _store(db, "rectification_review", "2021-05-08T09:00", site_id=reg["site"],
                    fields={"notice_event_id": notice["id"], "closed": True})
    html = client.get(f"/events/{notice['id']}").text
    assert f"/events/{review['id']}" in html and "已销号" in html


def test_edit_form_is_built_from_kinds_and_saves_with_history(client_for, db, reg):
    event = _store(db, "concrete_sampling", "2021-05-01T09:00", site_id=reg["site"], plant_id=reg["plant"])
    client = client_for("alice")
    form = client.get(f"/events/{event['id']}/edit").text
    for spec in events.KINDS["concrete_sampling"]["fields"]:
        assert f'name="{spec["name"]}"' in form
    assert 'name="plant_id"' in form and 'value="2021-05-01T09:00"' in form
    data = {"occurred_at": "2021-05-01T10:00", "site_id": reg["site"], "plant_id": reg["plant"], "strength_grade": "C35",
            "specimens": "3", "method": "试块", "measured_mpa": "31.0", "result": "不合格", "fee_yuan": "1200",
            "inspector_ids": [user(db, "alice")["id"]], "note": "", "reason": "结果录错"}
    response = client.post_form(f"/events/{event['id']}/edit", data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/events/{event['id']}"
    stored = events.load(db, event["id"])
    assert stored["fields"]["result"] == "不合格" and stored["fields"]["strength_grade"] == "C35"
    assert stored["occurred_at"] == "2021-05-01T10:00:00+08:00" and stored["version"] == 2
    assert "结果录错" in client.get(f"/events/{event['id']}").text


def test_edit_with_bad_input_rerenders_422_and_changes_nothing(client_for, db, reg):
    event = _store(db, "leaflets", "2021-05-01T09:00", site_id=reg["site"])
    client = client_for("alice")
    response = client.post_form(f"/events/{event['id']}/edit", {
        "occurred_at": "2021-05-01T09:00", "site_id": reg["site"], "copies": "-3", "topic": "防汛",
        "inspector_ids": [user(db, "alice")["id"]]})
    assert response.status_code == 422
    assert "发放份数须大于 0" in response.text and 'value="-3"' in response.text
    assert events.load(db, event["id"])["fields"]["copies"] == 120
    assert scalar(db, "SELECT count(*) FROM event_revisions") == 0


def test_other_inspector_cannot_edit_or_void(client_for, db, reg):
    event = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    bob = client_for("bob")
    assert bob.get(f"/events/{event['id']}/edit").status_code == 403
    assert bob.post_form(f"/events/{event['id']}/edit", {"note": "x"}).status_code == 403
    assert bob.post_form(f"/events/{event['id']}/void", {"reason": "x"}).status_code == 403
    assert events.load(db, event["id"])["version"] == 1


def test_void_needs_a_reason_then_shows_struck_through(client_for, db, reg):
    event = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    client = client_for("alice")
    assert "作废原因" in client.get(f"/events/{event['id']}/void").text
    blank = client.post_form(f"/events/{event['id']}/void", {"reason": " "})
    assert blank.status_code == 422 and "请填写作废原因" in blank.text
    assert not events.load(db, event["id"])["voided"]
    done = client.post_form(f"/events/{event['id']}/void", {"reason": "工地选错"}, follow_redirects=False)
    assert done.status_code == 303
    detail = client.get(f"/events/{event['id']}").text
    assert "此记录已作废" in detail and "工地选错" in detail and "voided-title" in detail
    assert f"/events/{event['id']}/edit" not in detail


def test_forms_need_the_csrf_token(client_for, db, reg):
    event = _store(db, "safety_patrol", "2021-05-01T09:00", site_id=reg["site"])
    client = client_for("alice")
    response = client.post(f"/events/{event['id']}/void", data={"reason": "x"})
    assert response.status_code == 403 and not events.load(db, event["id"])["voided"]


def test_unknown_event_is_404(client_for, reg):
    assert client_for("alice").get("/events/00000000-0000-4000-8000-000000000000").status_code == 404


@pytest.mark.browser
def test_history_and_detail_fit_a_phone(phone, live_server, db, reg, clock):
    occurred = clock() - timedelta(days=5)
    event = _store(db, "safety_patrol", occurred, site_id=reg["site"], received_at=occurred + timedelta(days=4),
                   fields={"notice_deadline": (occurred + timedelta(days=20)).date().isoformat()})
    events.edit(db, event["id"], {"note": "很长的备注" * 30}, user=user(db, "alice"),
                now=clock(), tz=TZ, reason="补充")
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    for path in ("/events/mine", f"/events/{event['id']}", f"/events/{event['id']}/edit"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    page.goto(live_server + "/events/mine")
    page.click(f"a[href='/events/{event['id']}']")
    page.click("text=作废")
    page.fill("textarea[name=reason]", "测试作废")
    page.click("button:has-text('确认作废')")
    page.wait_for_url(f"**/events/{event['id']}")
    assert "此记录已作废" in page.content()
