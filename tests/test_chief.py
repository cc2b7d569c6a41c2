"""The chief's pages and the coverage API: rendering, links to evidence, filters, roles, bad input."""

from __future__ import annotations

from datetime import datetime

import pytest

from fieldlog import accounts, events
from tests.factories import TZ, event, plant, site
from fieldlog.static_files import static_url


@pytest.fixture
def march(db, users):
    """Two sites and a plant with some March 2021 events (one voided)."""
    a, b = users["alice"], users["bob"]
    ok = site(db, name="滨江花园", town="城关镇", inspectors=[a])
    short = site(db, name="人民医院住院楼", town="吴集镇", inspectors=[b])
    p = plant(db, name="恒通商砼")
    for day in ("02", "09"):
        event(db, "enforcement_patrol", f"2021-03-{day}T10:00:00+08:00", by=a, site_id=ok, fields={"order": "无"})
    event(db, "safety_patrol", "2021-03-03T10:00:00+08:00", by=a, site_id=ok, fields={"finding": "无"})
    event(db, "enforcement_patrol", "2021-03-04T10:00:00+08:00", by=b, site_id=short,
          fields={"order": "整改", "notice_no": "衡建整〔2021〕7号", "notice_deadline": "2021-03-20"})
    event(db, "enforcement_patrol", "2021-03-05T10:00:00+08:00", by=b, site_id=short, voided=True, fields={"order": "无"})
    event(db, "plant_patrol", "2021-03-06T10:00:00+08:00", by=a, plant_id=p)
    return {"ok": ok, "short": short, "plant": p}


def test_inspector_and_admin_are_refused(client_for, march):
    for name in ("alice", "dave"):
        client = client_for(name)
        for path in ("/chief", "/chief/coverage", "/chief/inspectors", "/chief/followups", "/chief/pacing",
                     "/chief/report", f"/chief/sites/{march['ok']}", "/api/v1/coverage"):
            assert client.get(path).status_code == 403, (name, path)


def test_anonymous_is_sent_to_login(client_for):
    client = client_for(None)
    assert client.get("/chief", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/coverage").status_code == 401


def test_coverage_page_lists_risk_first_with_links(client_for, march):
    page = client_for("carol").get("/chief/coverage?month=2021-03")
    assert page.status_code == 200
    html = page.text
    assert html.index("人民医院住院楼") < html.index("滨江花园")
    assert "逾期" in html and "已完成" in html
    assert f'/chief/sites/{march["short"]}?month=2021-03&amp;kind=enforcement_patrol">1 / 2' in html
    assert f'/chief/sites/{march["ok"]}?month=2021-03&amp;kind=enforcement_patrol">2 / 2' in html
    assert f'/chief/plants/{march["plant"]}?month=2021-03&amp;kind=plant_patrol">1 / 1' in html


def test_default_month_is_current(client_for, march, clock):
    clock.at = datetime(2021, 3, 31, 23, 30, tzinfo=TZ)
    assert "2021 年 3 月</h2>" in client_for("carol").get("/chief").text
    clock.advance(hours=1)   # 00:30 on 1 April in the station
    assert "2021 年 4 月</h2>" in client_for("carol").get("/chief").text


def site_table(html: str) -> str:
    return html.split('id="site-coverage"')[1].split("</table>")[0]


def test_filters_and_htmx_partial(client_for, march, users):
    client = client_for("carol")
    html = site_table(client.get("/chief/coverage", params={"month": "2021-03", "town": "吴集镇"}).text)
    assert "人民医院住院楼" in html and "滨江花园" not in html
    html = site_table(client.get("/chief/coverage", params={"month": "2021-03", "inspector": users["alice"]}).text)
    assert "滨江花园" in html and "人民医院住院楼" not in html
    partial = client.get("/chief/coverage?month=2021-03", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="coverage">') and "<html" not in partial.text
    assert "HX-Request" in partial.headers["vary"]


@pytest.mark.parametrize("query, field", [("month=2021-13", "月份"), ("month=March", "月份"), ("inspector=x", "监督员")])
def test_bad_filters_get_a_chinese_422(client_for, march, query, field):
    response = client_for("carol").get(f"/chief/coverage?{query}")
    assert response.status_code == 422 and field in response.text


def test_evidence_page_shows_the_events_behind_a_count(client_for, march):
    html = client_for("carol").get(f"/chief/sites/{march['short']}?month=2021-03&kind=enforcement_patrol").text
    assert "计入 <strong>1</strong> 条" in html
    assert html.count('class="voided"') == 1 and "已作废" in html
    assert "衡建整〔2021〕7号" in html and "鲍勃" in html
    assert client_for("carol").get("/chief/sites/99999").status_code == 404
    assert client_for("carol").get(f"/chief/sites/{march['ok']}?kind=nope").status_code == 422


def test_plant_and_event_lists(client_for, march):
    client = client_for("carol")
    assert "计入 <strong>1</strong> 条" in client.get(f"/chief/plants/{march['plant']}?month=2021-03").text
    html = client.get("/chief/events?kind=enforcement_patrol&year=2021").text
    assert "计入 <strong>3</strong> 条" in html
    assert client.get("/chief/events?quarter=2021-Q5").status_code == 422


def test_late_logged_flag_on_evidence(client_for, db, users):
    s = site(db)
    event(db, "safety_patrol", "2021-03-01T10:00:00+08:00", by=users["alice"], site_id=s,
          received_at="2021-03-10T10:00:00+08:00", fields={"finding": "无"})
    assert "补录" in client_for("carol").get(f"/chief/sites/{s}").text


def test_inspectors_page(client_for, march, users):
    html = client_for("carol").get("/chief/inspectors?month=2021-03").text
    assert 'id="u%d"' % users["alice"] in html
    assert f"/chief/events?month=2021-03&amp;kind=enforcement_patrol&amp;inspector={users['alice']}\">2</a>" in html
    assert "人民医院住院楼" in html  # bob's site, not done


def test_followups_pages(client_for, march):
    html = client_for("carol").get("/chief/followups").text
    assert "衡建整〔2021〕7号" in html and "逾期" in html
    mine = client_for("bob").get("/followups/mine")
    assert mine.status_code == 200 and "衡建整〔2021〕7号" in mine.text and "/chief/sites" not in mine.text
    assert "衡建整〔2021〕7号" not in client_for("alice").get("/followups/mine").text


def test_report_is_printable(client_for, march):
    carol = client_for("carol")
    html = carol.get("/chief/report?month=2021-03").text
    css = carol.get("/static/report.css").text  # a stylesheet of its own: the CSP allows no inline style
    assert f'href="{static_url("report.css")}"' in html and "@page { size: A4" in css and 'class="top"' not in html
    assert "人民医院住院楼" in html and "衡建整〔2021〕7号" in html and "恒通商砼" in html


def test_coverage_api(client_for, march):
    body = client_for("carol").get("/api/v1/coverage?month=2021-03").json()
    assert body["month"] == "2021-03"
    by_id = {s["id"]: s for s in body["sites"]}
    assert by_id[march["ok"]]["met"] == {"enforcement_patrol": True, "safety_patrol": True}
    assert by_id[march["ok"]]["state"] == "已完成"
    assert by_id[march["short"]]["counts"] == {"enforcement_patrol": 1}
    assert by_id[march["short"]]["all_met"] is False and by_id[march["short"]]["state"] == "逾期"
    assert body["plants"][0]["counts"] == {"plant_patrol": 1} and body["plants"][0]["met"] == {"plant_patrol": True}
    # The summary is keyed by the states as the API has always named them.
    assert set(body["summary"]["sites"]) == {"逾期", "临期", "待巡查", "已完成"}
    assert body["summary"]["sites"]["已完成"] >= 1 and body["summary"]["sites"]["逾期"] >= 1


def test_coverage_api_bad_month_names_the_field(client_for, march):
    response = client_for("carol").get("/api/v1/coverage?month=2021-3x")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "month"]
    assert "YYYY-MM" in response.json()["detail"][0]["msg"]


def test_coverage_api_with_bearer_token(app, db, users, march):
    from fastapi.testclient import TestClient

    token = accounts.create_token(db, "carol", "integration")
    with TestClient(app) as client:
        response = client.get("/api/v1/coverage?month=2021-03", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and len(response.json()["sites"]) == 2


def test_events_created_through_the_events_module_count(db, users, client_for):
    s = site(db)
    carol = accounts.get_user(db, users["carol"])
    now = datetime(2021, 3, 10, 12, tzinfo=TZ)
    event_id = "7f9c2b1e-0000-4000-8000-000000000001"
    events.create(db, {"id": event_id, "kind": "safety_patrol", "occurred_at": "2021-03-10T09:00:00+08:00",
                       "site_id": s, "fields": {"finding": "无"}}, user=carol, now=now, tz=TZ)
    body = client_for("carol").get("/api/v1/coverage?month=2021-03").json()
    assert body["sites"][0]["counts"] == {"safety_patrol": 1}
    events.void(db, event_id, user=carol, reason="重复录入", now=now)
    body = client_for("carol").get("/api/v1/coverage?month=2021-03").json()
    assert body["sites"][0]["counts"] == {}


def test_evidence_shows_photo_thumbnails(client_for, db, users, cfg, clock):
    import io

    from PIL import Image

    from fieldlog import photos

    s = site(db)
    event_id = event(db, "safety_patrol", "2021-03-02T10:00:00+08:00", by=users["alice"], site_id=s,
                     fields={"finding": "一般"})["id"]
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buf, "JPEG")
    photo, _ = photos.ingest(db, cfg.media_dir, event_id, buf.getvalue(), users["alice"], now=clock())
    client = client_for("carol")
    html = client.get(f"/chief/sites/{s}?month=2021-03").text
    assert f'src="/media/photos/{photo["id"]}/thumb"' in html
    assert client.get(f"/media/photos/{photo['id']}/thumb").headers["content-type"].startswith("image/")


def test_state_filter_from_the_tally(client_for, march):
    client = client_for("carol")
    html = client.get("/chief/coverage?month=2021-03").text
    assert '/chief/coverage?month=2021-03&amp;state=overdue">逾期 <b>1</b></a>' in html
    only = site_table(client.get("/chief/coverage?month=2021-03&state=overdue").text)
    assert "人民医院住院楼" in only and "滨江花园" not in only
    assert client.get("/chief/coverage?state=late").status_code == 422


def test_openapi_lists_the_api_not_the_pages(app):
    paths = app.openapi()["paths"]
    assert "/api/v1/coverage" in paths
    assert not any(p.startswith("/chief") for p in paths)
    assert all(p.startswith("/api/v1/") for p in paths), sorted(p for p in paths if not p.startswith("/api/"))


def test_free_text_in_the_long_rows_is_escaped(client_for, db, users):
    """The site rows of /chief and the report, and the report's notices, render with autoescape off (speed):
    every free text (site, town, inspector, notice number) must still reach the page escaped."""
    hostile = accounts.create_user(db, "eve", "<b>夏娃</b>", "inspector", "correct horse battery")
    s = site(db, name="<script>x()</script>工地", town="<i>镇</i>", inspectors=[hostile, users["alice"]])
    event(db, "enforcement_patrol", "2021-03-04T10:00:00+08:00", by=users["alice"], site_id=s,
          fields={"order": "整改", "notice_no": "<u>号</u>", "notice_deadline": "2021-03-20"}, inspector_ids=[users["alice"], hostile])
    carol = client_for("carol")
    for path in ("/chief/coverage?month=2021-03", "/chief/report?month=2021-03"):
        html = carol.get(path).text
        for raw, escaped in (("<script>x()</script>工地", "&lt;script&gt;x()&lt;/script&gt;工地"),
                             ("<i>镇</i>", "&lt;i&gt;镇&lt;/i&gt;"), ("<b>夏娃</b>", "&lt;b&gt;夏娃&lt;/b&gt;")):
            assert raw not in html and escaped in html, (path, raw)
    coverage = carol.get("/chief/coverage?month=2021-03").text   # two inspectors: one 、 between their links
    assert (f'&lt;b&gt;夏娃&lt;/b&gt;</a>、<a href="/chief/inspectors?month=2021-03#u{users["alice"]}">艾丽丝</a></td>'
            in coverage)
    report = carol.get("/chief/report?month=2021-03").text
    assert "&lt;b&gt;夏娃&lt;/b&gt;、艾丽丝</td>" in report
    assert "<u>号</u>" not in report and "&lt;u&gt;号&lt;/u&gt;" in report
