"""Words as a Chinese reader reads them: dates (2021年3月5日, 今天), coordinates with links to a map app, and the
chief's lists a page at a time with their totals; the API and exports keep ISO dates."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from fieldlog import periods
from tests.factories import event, site

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("value,text", [
    ("2021-03-05", "2021年3月5日"), (date(2021, 12, 31), "2021年12月31日"),
    ("2021-03-04T17:30:00+00:00", "2021年3月5日"),  # 01:30 in Hengdong: the station's day
    (datetime(2021, 3, 5, 9, 0, tzinfo=TZ), "2021年3月5日"), (None, ""), ("未填", "未填"),
])
def test_a_day_reads_as_a_chinese_date(value, text):
    assert periods.day_text(value, TZ) == text


def test_a_moment_reads_in_station_time():
    assert periods.moment_text("2021-03-04T17:30:00+00:00", TZ) == "2021年3月5日 01:30"
    assert periods.moment_text(datetime(2021, 3, 5, 1, 2, tzinfo=timezone.utc), TZ) == "2021年3月5日 09:02"


@pytest.mark.parametrize("days,text", [(0, "今天"), (1, "昨天"), (2, "2 天前"), (None, "")])
def test_days_since_as_said(days, text):
    assert periods.days_ago_text(days) == text


def test_the_coverage_page_says_today_not_0_days_ago(client_for, db, users, clock):
    sid = site(db)
    event(db, "safety_patrol", clock().astimezone(TZ).replace(hour=8, minute=0), site_id=sid, fields={"finding": "无"})
    page = client_for("carol").get("/chief/coverage").text
    assert "今天" in page and "0 天前" not in page
    assert "还差执法巡查 2 次" in page  # the card says what is still to do


def test_coordinates_open_a_map_app(client_for, db, users):
    sid = site(db, location=(27.0814, 112.948))
    page = client_for("alice").get(f"/sites/{sid}").text
    assert 'href="geo:27.0814,112.948?q=27.0814,112.948(' in page
    assert "https://uri.amap.com/marker?position=112.948,27.0814&amp;coordinate=wgs84" in page
    stored = event(db, "safety_patrol", site_id=sid, lat=27.08, lon=112.95, fields={"finding": "无"})
    detail = client_for("alice").get(f"/events/{stored['id']}").text
    assert 'href="geo:27.08,112.95' in detail and "纬度 27.080000，经度 112.950000" in detail


def test_an_evidence_page_pages_and_htmx_gets_the_next_items_alone(client_for, db, users):
    sid = site(db)
    for n in range(66):
        event(db, "safety_patrol", f"2021-03-{1 + n // 3:02d}T{8 + n % 3:02d}:00:00+08:00", site_id=sid,
              fields={"finding": "无"})
    chief = client_for("carol")
    first = chief.get(f"/chief/sites/{sid}").text
    assert first.count('<li id="ev-') == 50 and "已显示 50 条，共 66 条" in first
    assert f'hx-get="/chief/sites/{sid}?page=2"' in first
    more = chief.get(f"/chief/sites/{sid}?page=2", headers={"HX-Request": "true"})
    assert more.text.count('<li id="ev-') == 16 and "<html" not in more.text and "已显示全部 66 条" in more.text
    assert "HX-Request" in more.headers.get("vary", "")
    # Newest first, no event twice across the pages.
    ids = [chunk.split('"')[0] for chunk in (first + more.text).split('<li id="ev-')[1:]]
    assert len(set(ids)) == 66


def test_the_api_keeps_iso_dates(token_client, db, users):
    sid = site(db)
    event(db, "safety_patrol", "2021-03-05T09:00:00+08:00", site_id=sid, fields={"finding": "无"})
    listed = token_client("carol").get(f"/api/v1/events?site_id={sid}").json()
    assert listed["items"][0]["occurred_at"].startswith("2021-03-05T09:00:00")


def test_the_pages_filters_and_rows_read_as_before():
    """The app's environment (fieldlog.web): a moment's day in the station's zone, a plain day without it; a dict
    row's `a.b` is its key, a dict's method stays the method, a missing key is empty."""
    from types import SimpleNamespace

    from fieldlog.web import templates
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(config=SimpleNamespace(tz=TZ))))
    page = templates.env.from_string(
        "{{ moment | day }}|{{ plain | day }}|{{ today | day }}|{{ row.name }}|{{ row.items()|list|length }}|"
        "{{ row.missing }}|{{ row.get('name') }}|{{ stamp | day }}|{{ today | day }}|{{ 3 | days_ago }}|{{ 1 | days_ago }}")
    text = page.render(request=request, moment="2021-03-04T17:30:00+00:00", plain="2021-03-04",
                       today=date(2021, 3, 4), row={"name": "工地<1>"},
                       stamp=datetime(2021, 3, 4, 17, 30, tzinfo=timezone.utc))
    # a date's text is kept once made (the second `today`), a moment's is not: a datetime is a date too
    assert text == "2021年3月5日|2021年3月4日|2021年3月4日|工地&lt;1&gt;|1||工地&lt;1&gt;|2021年3月5日|2021年3月4日|3 天前|昨天"
