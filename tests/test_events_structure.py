"""The events package after issue 8: one SQL home, one filter builder, one visibility rule, one open-notice rule."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from fieldlog import accounts, events, followups, registry
from fieldlog.errors import InvalidInput
from fieldlog.events import kinds, queries
from tests.factories import EXAMPLE, SITE_AT, TZ, event, site, submission, user

NOW = datetime(2021, 6, 15, 4, 0, tzinfo=timezone.utc)  # 12:00 in the station on TODAY: when events reach the server
ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2021, 6, 15)
# Every route module: routes parse, call the domain and render, and hold no SQL at all.
ROUTES = sorted(p.stem for p in (ROOT / "fieldlog" / "routes").glob("*.py") if p.stem != "__init__")
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b|db\.query|db\.execute|db\.conn|\bone\(db")


def _site(db, name: str = "城关镇安置小区", **kw) -> int:
    """A site under construction since March 2020, with a recorded location."""
    return site(db, name=name, location=SITE_AT, started_on="2020-03-01", **kw)


def create(db, kind: str, *, fields: dict | None = None, **kw) -> dict:
    """An event of `kind` with every field filled (EXAMPLE; `fields` override), received at NOW."""
    return event(db, kind, now=NOW, fields={**EXAMPLE[kind], **(fields or {})}, **kw)


@pytest.mark.parametrize("route", ROUTES)
def test_routes_hold_no_sql(route):
    text = (ROOT / "fieldlog" / "routes" / f"{route}.py").read_text(encoding="utf-8")
    assert not [line for line in text.splitlines() if SQL.search(line)]


@pytest.mark.parametrize("first", ["fieldlog.photos", "fieldlog.events", "fieldlog.followups", "fieldlog.indicators.rules"])
def test_the_package_imports_from_any_entry_point(first):
    # photos and events import each other (photos checks that an event exists, get_event lists photos).
    code = f"import {first}; from fieldlog import events, photos; assert events.get_event and photos.ingest"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_subject_fields_is_the_one_table_of_subjects():
    assert kinds.subject_fields("safety_patrol") == ("site_id",)
    assert kinds.subject_fields("concrete_sampling") == ("site_id", "plant_id")
    assert kinds.subject_fields("plant_patrol") == ("plant_id",)
    assert kinds.subject_fields("leaflets") == ("site_id", "plant_id", "place")
    assert kinds.subject_fields("major_inspection") == ("site_id", "campaign_id")
    assert kinds.pickable("any") == ("site", "plant") and kinds.pickable("site_campaign") == ("site",)
    assert "plant_patrol" not in kinds.kinds_about("site") and "leaflets" in kinds.kinds_about("site")
    assert set(kinds.kinds_about("plant")) == {"concrete_sampling", "plant_patrol", "plant_inspection", "leaflets"}


# --- visibility -------------------------------------------------------------------------------------

@pytest.fixture
def shared(db, users):
    """Three events: alice's own, bob's with alice taking part, and bob's alone."""
    s = _site(db)
    own = create(db, "safety_patrol", site_id=s)
    with_alice = create(db, "safety_patrol", by="bob", site_id=s, inspector_ids=[users["bob"], users["alice"]])
    bobs = create(db, "safety_patrol", by="bob", site_id=s)
    return {"own": own, "with_alice": with_alice, "bobs": bobs}


def test_sql_rule_and_python_predicate_agree(db, users, shared):
    for name in ("alice", "bob"):
        who = user(db, name)
        seen = {e["id"] for e in events.list_events(db, user_id=events.viewer_id(who))}
        assert seen == {e["id"] for e in shared.values() if events.can_see(e, who)}
    chief = user(db, "carol")
    assert events.viewer_id(chief) is None and all(events.can_see(e, chief) for e in shared.values())
    assert len(events.list_events(db, user_id=events.viewer_id(chief))) == 3


def test_visible_to_and_took_part_stay_distinct(db, users, shared):
    # user_id: what alice recorded or took part in; inspector_id (the chief's filter): only what she took part in.
    # An entry alice recorded for bob alone, from before the inspectors rule (docs/contracts.md) held.
    for_bob = create(db, "safety_patrol", by="carol", site_id=shared["own"]["site_id"], inspector_ids=[users["bob"]])
    db.execute("UPDATE events SET recorded_by = ? WHERE id = ?", [users["alice"], for_bob["id"]])
    visible = {e["id"] for e in events.list_events(db, user_id=users["alice"])}
    took_part = {e["id"] for e in events.list_events(db, inspector_id=users["alice"])}
    assert visible == {shared["own"]["id"], shared["with_alice"]["id"], for_bob["id"]}
    assert took_part == {shared["own"]["id"], shared["with_alice"]["id"]}


def test_one_filter_builder_serves_lists_coverage_and_indicators():
    cond, params = queries.where(kind="safety_patrol", months=["2021-05", "2021-06"], inspector_id=7,
                                 include_voided=False)
    assert cond == ("e.kind = ? AND e.month IN (?,?) AND e.id IN (SELECT event_id FROM event_inspectors "
                    "WHERE user_id = ?) AND e.voided = 0")
    assert params == ["safety_patrol", "2021-05", "2021-06", 7]
    cond, params = queries.where(kinds=["leaflets"], include_voided=False, windows=[("month = ? AND day <= ?", ["2021-06", "2021-06-15"])],
                                 extra=("day <= ?", ["2021-06-10"]))
    assert cond == "e.kind IN (?) AND e.voided = 0 AND ((month = ? AND day <= ?)) AND (day <= ?)"
    assert params == ["leaflets", "2021-06", "2021-06-15", "2021-06-10"]
    assert queries.where() == ("1", [])
    assert queries.where(windows=[])[0] == "(0)"


def _plans(db, run) -> list[tuple[str, str]]:
    """(statement, query plan) of every SELECT that run() executes."""
    statements = []
    db.conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        db.conn.set_trace_callback(None)
    return [(sql, str(db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()))
            for sql in statements if sql.lstrip().upper().startswith("SELECT")]


def test_each_visibility_form_keeps_its_query_plan(db, users, shared):
    notices = _plans(db, lambda: followups.notices(db, TODAY, inspector_id=users["alice"]))
    # One inspector's notices: that person's range of notice_people (migration 025), no check per notice.
    patrols = next(plan for sql, plan in notices if "FROM notice_people" in sql)
    reviews = next(plan for sql, plan in notices if "notice_event_id" in sql)
    assert "SEARCH ns USING COVERING INDEX notice_people_open (user_id=? AND closed_on>?)" in patrols
    assert "MULTI-INDEX OR" not in patrols and "SEARCH x USING" not in patrols  # no visible_to EXISTS per row
    assert "SEARCH events USING INDEX" in reviews and "SCAN events" not in reviews
    listed = _plans(db, lambda: events.list_events(db, user_id=users["alice"]))
    assert "MULTI-INDEX OR" in listed[0][1]


def test_sampling_reads_the_monthly_tallies_not_the_samples(db):
    from fieldlog import coverage
    from fieldlog.periods import month as month_period

    plans = _plans(db, lambda: coverage.quarter_sampling(db, month_period(2021, 6), TODAY))
    sampling = [(sql, plan) for sql, plan in plans if "concrete_sampling" in sql]
    assert sampling and all("event_tallies" in sql and "FROM events" not in sql for sql, _ in sampling)
    assert all("SEARCH event_tallies" in plan for _, plan in sampling)


# --- one open-notice rule ---------------------------------------------------------------------------

def _notice(db, s, kind="safety_patrol", when="2021-06-10T09:00", **fields) -> str:
    base = {"notice_no": f"N-{when}", "notice_deadline": "2021-06-30"}
    if kind == "enforcement_patrol":
        base["order"] = "整改"
    return create(db, kind, site_id=s, occurred_at=when, fields={**base, **fields})["id"]


def _review(db, s, notice_id, when, closed=True) -> dict:
    return create(db, "rectification_review", site_id=s, occurred_at=when,
                  fields={"notice_event_id": notice_id, "closed": closed})


def test_phone_picker_and_chief_list_agree_on_open_notices(db, users, client_for):
    s = _site(db, name="蓬源镇卫生院")
    reviewed_before = _notice(db, s, when="2021-06-10T09:00")
    _review(db, s, reviewed_before, "2021-06-09T09:00")          # before the notice: closes nothing
    no_order = _notice(db, s, kind="enforcement_patrol", when="2021-06-11T09:00", order="无")
    voided_close = _notice(db, s, when="2021-06-12T09:00")
    review = _review(db, s, voided_close, "2021-06-13T09:00")
    events.void(db, review["id"], user=user(db, "alice"), reason="选错了通知书", now=NOW)
    closed = _notice(db, s, when="2021-06-12T10:00")
    _review(db, s, closed, "2021-06-14T09:00")
    chief = {n.event_id for n in followups.notices(db, TODAY)}
    picker = {e["id"] for e in events.open_notices(db, today=TODAY)}
    assert chief == picker == {reviewed_before, voided_close}
    assert {e["id"] for e in events.open_notices(db, s, today=TODAY)} == picker
    page = client_for("alice").get("/log/rectification_review").text
    listed = set(re.findall(r'<option value="([0-9a-f-]{36})" data-subject', page))
    assert listed == picker and no_order not in listed and closed not in listed


def test_a_review_after_the_day_asked_about_leaves_the_notice_open(db, users):
    s = _site(db)
    issued = _notice(db, s, when="2021-06-01T09:00")
    _review(db, s, issued, "2021-06-14T09:00")
    assert [e["id"] for e in events.open_notices(db, today=date(2021, 6, 13))] == [issued]
    assert events.open_notices(db, today=TODAY) == [] and events.open_notices(db) == []


# --- one query of active field users ----------------------------------------------------------------

def test_field_users_are_the_active_inspectors_and_the_chief(db, users):
    db.execute("UPDATE users SET active = 0 WHERE id = ?", [users["bob"]])
    assert [u["username"] for u in accounts.field_users(db)] == ["alice", "carol"]  # inspectors first, then the chief
    assert [u["id"] for u in accounts.field_users(db, [users["bob"], users["carol"], users["dave"]])] == [users["carol"]]
    assert accounts.inspectors(db) == accounts.field_users(db)


def test_a_deactivated_inspector_cannot_be_newly_made_responsible_for_a_site(db, users):
    """The one intended behaviour change: registry's check now asks for active users, as events always did."""
    kept = _site(db, name="已分配工地", inspectors=[users["bob"]])
    db.execute("UPDATE users SET active = 0 WHERE id = ?", [users["bob"]])
    with pytest.raises(InvalidInput) as exc:
        _site(db, name="新工地", inspectors=[users["bob"]])
    assert exc.value.errors == {"inspector_ids": "负责监督员不存在"}
    # A site that already had bob can still be saved with him kept.
    raw = {**registry.get_site(db, kept), "name": "已分配工地（改名）"}
    registry.save_site(db, raw, site_id=kept, inspector_ids=[users["bob"], users["alice"]])
    assert {p["id"] for p in registry.get_site(db, kept)["inspectors"]} == {users["bob"], users["alice"]}
    with pytest.raises(InvalidInput):
        registry.save_site(db, raw, site_id=_site(db, name="第三个工地"), inspector_ids=[users["bob"]])


def test_events_still_refuse_a_deactivated_inspector(db, users):
    s = _site(db)
    db.execute("UPDATE users SET active = 0 WHERE id = ?", [users["bob"]])
    with pytest.raises(InvalidInput) as exc:
        events.create(db, submission("safety_patrol", fields=EXAMPLE["safety_patrol"], site_id=s,
                                     inspector_ids=[users["bob"]]), user=user(db, "alice"), now=NOW, tz=TZ)
    assert exc.value.errors == {"inspector_ids": "监督员不存在或已停用"}

