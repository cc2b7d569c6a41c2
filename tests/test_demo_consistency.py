"""The demo never contradicts itself: nothing after its own "now", a visitor's entry counts, last year's table is whole.

The tests' demo is built as of DEMO_AS_OF (conftest); the app runs in demo mode with its clock at that moment,
as `fieldlog serve --demo` runs on the real clock right after building the demo for it.
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest

from fieldlog import accounts, config, db as db_mod, demo, events, ops
from fieldlog.db import scalar
from fieldlog.web import create_app
from tests.conftest import DEMO_AS_OF, Client, FixedClock, login

TODAY = date.fromisoformat(DEMO_AS_OF)
BUILT = datetime.combine(TODAY, time(23, 59, 59), demo.TZ)
COMPLETE, CURRENT = TODAY.year - 1, TODAY.year


@pytest.fixture
def demo_app(demo_database, tmp_path):
    """(app, db) on a copy of the tests' demo, in demo mode, at the moment the demo was built for."""
    path = tmp_path / "data" / "demo.db"
    path.parent.mkdir()
    shutil.copyfile(demo_database[0], path)
    cfg = config.load(env={}, data_dir=str(tmp_path / "data"), database=str(path), secret_key="k", demo=True)
    cfg.clock = FixedClock(BUILT)
    db = db_mod.open_db(path)
    yield create_app(cfg), db
    db.close()


def _chief(app) -> Client:
    client = Client(app, base_url="http://testserver")
    assert login(client, "chief", demo.DEMO_PASSWORD).status_code == 303
    return client


def test_the_demo_holds_nothing_after_its_own_now(demo_app):
    _, db = demo_app
    assert demo.built_at(db) == BUILT.astimezone(timezone.utc)
    assert scalar(db, "SELECT max(day) FROM events") == TODAY.isoformat()
    assert scalar(db, "SELECT max(received_at) FROM events") <= BUILT.astimezone(timezone.utc).isoformat()
    assert scalar(db, "SELECT max(day) FROM survey_answers") <= TODAY.isoformat()
    assert scalar(db, "SELECT max(created_at) FROM survey_codes") <= BUILT.astimezone(timezone.utc).isoformat()
    # This year runs from January to today; last year is complete.
    assert scalar(db, "SELECT min(day) FROM events WHERE day >= ?", [f"{CURRENT}-01-01"]) < f"{CURRENT}-01-10"
    assert scalar(db, "SELECT count(DISTINCT month) FROM events WHERE substr(day, 1, 4) = ?", [str(COMPLETE)]) == 12


def test_dashboards_of_the_demo_day_count_only_what_happened_by_then(demo_app):
    app, db = demo_app
    chief = _chief(app)
    body = chief.get("/api/v1/coverage").json()
    assert (body["month"], body["as_of"]) == (TODAY.strftime("%Y-%m"), TODAY.isoformat())
    assert body["sites"]
    for row in body["sites"]:
        for kind in ("enforcement_patrol", "safety_patrol"):
            by_today = events.count_events(db, kind=kind, site_id=row["id"], month=body["month"],
                                           date_to=TODAY.isoformat(), include_voided=False)
            assert row["counts"].get(kind, 0) == by_today, (row["name"], kind)
        assert row["days_since"] is None or row["days_since"] >= 0
        # Quota met and "last visit 14 days ago" cannot both hold for the month's 2 patrols unless they happened.
        assert row["last_visit"] is None or row["last_visit"] <= TODAY.isoformat()
    indicators = chief.get(f"/api/v1/indicators?year={CURRENT}").json()
    assert indicators["as_of"] == TODAY.isoformat()
    patrols = next(r for r in indicators["rows"] if r["key"] == "safety_patrols")
    assert patrols["actual"] == events.count_events(db, kind="safety_patrol", date_from=f"{CURRENT}-01-01",
                                                    date_to=f"{CURRENT}-12-31", include_voided=False) > 0
    for page in ("/chief", "/chief/followups", "/chief/report", "/chief/pacing", "/chief/inspectors"):
        response = chief.get(page)
        assert response.status_code == 200, page
    assert f"{TODAY.year}年{TODAY.month}月{TODAY.day}日" in chief.get("/chief/report").text


def _site_row(html: str, site_id: int, month: str) -> str:
    rows = re.findall(r"<tr class=\"st-[^\"]*\">.*?</tr>", html, flags=re.S)
    return next(r for r in rows if f'href="/chief/sites/{site_id}?month={month}"' in r)


def test_an_entry_made_in_the_demo_shows_on_its_dashboards_and_lists(demo_app):
    app, db = demo_app
    chief = _chief(app)
    month = TODAY.strftime("%Y-%m")
    me = accounts.get_user_by_name(db, "inspector1")
    site = next(r for r in chief.get("/api/v1/coverage").json()["sites"] if me["display_name"] in r["inspectors"])
    before = site["counts"].get("safety_patrol", 0)
    phone = Client(app, base_url="http://testserver")
    phone.headers["Authorization"] = "Bearer " + accounts.create_token(db, "inspector1", "demo visitor")
    entry = {"id": str(uuid.uuid4()), "kind": "safety_patrol", "site_id": site["id"], "inspector_ids": [me["id"]],
             "occurred_at": (BUILT - timedelta(hours=2)).isoformat(), "fields": {"finding": "无"}}
    assert phone.post("/api/v1/events", json=entry).status_code == 201
    after = next(r for r in chief.get("/api/v1/coverage").json()["sites"] if r["id"] == site["id"])
    assert after["counts"]["safety_patrol"] == before + 1
    assert (after["last_visit"], after["days_since"]) == (TODAY.isoformat(), 0)
    row = _site_row(chief.get("/chief/coverage").text, site["id"], month)
    assert f'kind=safety_patrol">{before + 1} / ' in row and f">{TODAY.year}年{TODAY.month}月{TODAY.day}日</a>" in row and "今天" in row
    listed = phone.get(f"/api/v1/events?site_id={site['id']}&from={TODAY.isoformat()}").json()
    assert entry["id"] in [e["id"] for e in (listed["items"] if isinstance(listed, dict) else listed)]


def test_last_years_complete_table_is_there_to_look_at(demo_app):
    app, _ = demo_app
    chief = _chief(app)
    page = chief.get(f"/indicators/{COMPLETE}/evaluation?as_of={COMPLETE}-12-31")
    assert page.status_code == 200
    assert f"{COMPLETE}年部门整体支出绩效自评表" in page.text and "下一年按片区分配巡查任务" in page.text
    body = chief.get(f"/api/v1/indicators?year={COMPLETE}&as_of={COMPLETE}-12-31").json()
    assert not [r["key"] for r in body["rows"] if r["completion"] == "pending"]
    assert body["budget"]["executed"] and body["total"]["grade"]
    # This year has its own copy of the table: no page of this year is titled with another year.
    this_year = chief.get(f"/api/v1/indicators?year={CURRENT}").json()
    assert this_year["table"]["origin"] in ("loaded", "shipped") and this_year["year"] == CURRENT
    assert f"{CURRENT}年部门整体支出绩效自评表" in chief.get(f"/indicators/{CURRENT}/evaluation").text


def test_serve_demo_keeps_a_demo_built_today_and_never_swaps_one_in_use(tmp_path, capsys):
    from fieldlog.cli import demo_for_serving

    path = tmp_path / "demo.db"
    db = db_mod.open_db(path)
    today = datetime(2026, 12, 2, 9, 0, tzinfo=demo.TZ)
    demo.users(db, today - timedelta(hours=1))
    db.close()
    assert demo_for_serving(path, today) == (today - timedelta(hours=1)).astimezone(timezone.utc)
    in_use = ops.hold(path)  # a running server on it: tomorrow's start serves it as it is
    try:
        assert demo_for_serving(path, today + timedelta(days=1)) == (today - timedelta(hours=1)).astimezone(timezone.utc)
    finally:
        in_use.close()
    assert "正在被另一个 fieldlog 使用" in capsys.readouterr().out
    assert accounts.list_users(db_mod.open_db(path))  # the same database, not rebuilt
