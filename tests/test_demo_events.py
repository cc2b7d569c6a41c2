"""The demo year of events: it builds, is identical each run, and its counts are plausible."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import date, datetime, time

import pytest

from fieldlog import accounts, db as db_mod, demo, events, periods, registry
from fieldlog.db import scalar
from tests.conftest import DEMO_AS_OF
from tests.factories import TZ

# The tests' demo is built as of DEMO_AS_OF: its complete year, the one these plausibility checks look at.
YEAR = date.fromisoformat(DEMO_AS_OF).year - 1
IN_YEAR = f"substr(day, 1, 4) = '{YEAR}'"

EVENT_COLUMNS = "id, kind, occurred_at, day, month, received_at, late, recorded_by, site_id, plant_id, campaign_id, place, " \
                "lat, lon, accuracy_m, note, data, content_hash, version, voided, void_reason"


def _copy(demo_database, folder) -> db_mod.Database:
    """A copy of the demo database `fieldlog demo` built for this run (conftest.demo_database)."""
    target = folder / "demo.db"
    shutil.copyfile(demo_database[0], target)
    return db_mod.open_db(target)


@pytest.fixture(scope="module")
def demo_db(demo_database, tmp_path_factory):
    database = _copy(demo_database, tmp_path_factory.mktemp("demo"))
    yield database
    database.close()


def _count(db, kind: str) -> int:
    return scalar(db, f"SELECT count(*) FROM events WHERE kind = ? AND voided = 0 AND {IN_YEAR}", [kind])


def test_demo_is_deterministic(demo_db, tmp_path):
    other = db_mod.open_db(tmp_path / "again.db")
    demo.build(other, datetime.combine(date.fromisoformat(DEMO_AS_OF), time(23, 59, 59), demo.TZ))
    dump = lambda d: list(d.conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id"))  # noqa: E731
    assert dump(other) == dump(demo_db)
    other.close()


def test_quantities_are_plausible(demo_db):
    db = demo_db
    assert 480 <= _count(db, "safety_patrol") <= 600
    assert scalar(db, f"SELECT count(DISTINCT campaign_id) FROM events WHERE kind = 'major_inspection' AND voided = 0 "
                      f"AND {IN_YEAR}") >= 10
    assert _count(db, "completion_filing") == 35
    assert _count(db, "construction_permit") == 80
    assert _count(db, "accident") <= 1
    assert scalar(db, f"SELECT count(DISTINCT plant_id) FROM events WHERE kind = 'plant_inspection' AND voided = 0 "
                      f"AND {IN_YEAR}") == 5
    by_november = scalar(db, "SELECT sum(json_extract(data, '$.copies')) FROM events "
                             "WHERE kind = 'leaflets' AND voided = 0 AND month BETWEEN ? AND ?", [f"{YEAR}-01", f"{YEAR}-11"])
    assert 6000 <= by_november < 6500


def test_a_campaign_ends_in_every_quarter(demo_db):
    quarters = {(int(r[0][5:7]) + 2) // 3 for r in demo_db.conn.execute(
        f"SELECT DISTINCT c.end_on FROM campaigns c JOIN events e ON e.campaign_id = c.id WHERE {IN_YEAR}")}
    assert quarters == {1, 2, 3, 4}


def test_patrol_coverage_is_high_but_not_perfect(demo_db):
    db = demo_db
    months = periods.months_of(YEAR)
    active = registry.active_site_map(db, months)
    site_months = sum(len(s) for s in active.values())
    counts = {(r[0], r[1]): r[2] for r in db.conn.execute(
        "SELECT month, site_id, count(*) FROM events WHERE kind = 'enforcement_patrol' AND voided = 0 GROUP BY 1, 2")}
    enforcement = [counts.get((m, s), 0) for m, sites in active.items() for s in sites]
    assert 1.7 <= sum(enforcement) / site_months <= 2.05 and min(enforcement) >= 1
    safety = {(r[0], r[1]) for r in db.conn.execute(
        "SELECT DISTINCT month, site_id FROM events WHERE kind = 'safety_patrol' AND voided = 0")}
    covered = sum((m, s) in safety for m, sites in active.items() for s in sites)
    assert 0.9 <= covered / site_months < 1
    plant_active = registry.active_plant_map(db, months)
    patrolled = {(r[0], r[1]) for r in db.conn.execute(
        "SELECT DISTINCT month, plant_id FROM events WHERE kind = 'plant_patrol' AND voided = 0")}
    missed = sum((m, p) not in patrolled for m, plants in plant_active.items() for p in plants)
    assert 1 <= missed <= 2


def test_concrete_sampling_meets_most_of_each_quarter_quota(demo_db):
    db = demo_db
    for q in periods.quarters_of(YEAR):
        quota = min(50, len(registry.active_site_map(db, [q], ready_mix_only=True)[q.label]))
        sampled = scalar(db, "SELECT count(DISTINCT site_id) FROM events WHERE kind = 'concrete_sampling' AND voided = 0 "
                             "AND month BETWEEN ? AND ?", [q.months()[0], q.months()[-1]])
        assert 0.85 * quota <= sampled <= quota
    failed = scalar(db, f"SELECT count(*) FROM events WHERE kind = 'concrete_sampling' AND {IN_YEAR} "
                        "AND json_extract(data, '$.result') = '不合格'")
    assert 1 <= failed <= 3


def test_filings_mostly_on_time_and_a_couple_of_permits_fail(demo_db):
    rows = [json.loads(r[0]) for r in demo_db.conn.execute(f"SELECT data FROM events WHERE kind = 'completion_filing' "
                                                           f"AND {IN_YEAR}")]
    on_time = sum((date.fromisoformat(r["filed_on"]) - date.fromisoformat(r["accepted_on"])).days <= 15 for r in rows)
    assert 0.8 * len(rows) <= on_time < len(rows)
    assert scalar(demo_db, f"SELECT count(*) FROM events WHERE kind = 'construction_permit' AND {IN_YEAR} "
                           "AND json_extract(data, '$.conditions_met') = '不符合'") == 2


def test_voided_late_and_open_notices_exist(demo_db):
    db = demo_db
    voided = list(db.conn.execute(f"SELECT void_reason FROM events WHERE voided = 1 AND {IN_YEAR}"))
    assert 3 <= len(voided) <= 15 and all(r[0] for r in voided)
    assert scalar(db, "SELECT count(*) FROM event_revisions WHERE action = 'void'") == \
        scalar(db, "SELECT count(*) FROM events WHERE voided = 1")
    late = scalar(db, "SELECT count(*) FROM events WHERE late = 1")
    assert 0.01 <= late / scalar(db, "SELECT count(*) FROM events") <= 0.08
    notices = scalar(db, f"SELECT count(*) FROM events WHERE json_extract(data, '$.notice_no') IS NOT NULL AND voided = 0 "
                         f"AND {IN_YEAR}")
    closed = scalar(db, "SELECT count(DISTINCT json_extract(r.data, '$.notice_event_id')) FROM events r "
                        "JOIN events n ON n.id = json_extract(r.data, '$.notice_event_id') "
                        f"WHERE r.kind = 'rectification_review' AND json_extract(r.data, '$.closed') = 1 "
                        f"AND substr(n.day, 1, 4) = '{YEAR}'")
    assert notices > 20 and 0.75 * notices <= closed < notices


def test_rows_are_what_events_create_stores(demo_database, tmp_path):
    # Demo events submitted again under a new id, received when they were, through events.create: the same
    # station-local day and month and the same late flag, so the demo's rows are the real path's rows.
    # Every late or voided event and every fourth of the others (about 650 of 2200) keep the test quick.
    db = _copy(demo_database, tmp_path)
    # Notice documents and their steps are left out: a notice's step cannot be taken twice (its state moved on).
    rows = list(db.query("SELECT id, recorded_by, received_at FROM events WHERE (late = 1 OR voided = 1 OR rowid % 4 = 0) "
                         "AND kind NOT IN ('notice', 'notice_step') ORDER BY received_at"))
    assert len(rows) > 500
    with db.atomic():
        for row in rows:
            stored = events.load(db, row["id"])
            received = datetime.fromisoformat(row["received_at"])
            again, created, _ = events.create(db, {**events.as_raw(stored), "id": str(uuid.uuid4())},
                                              user=accounts.get_user(db, row["recorded_by"]), now=received, tz=TZ,
                                              received_at=received)
            assert created
            keys = ("occurred_at", "day", "month", "received_at", "late", "inspector_ids", "fields")
            assert {k: again[k] for k in keys} == {k: stored[k] for k in keys}, row["id"]
            assert stored["occurred_at"].endswith("+08:00")
    db.close()


def test_rows_have_inspectors_and_most_reach_the_server_the_same_day(demo_db):
    assert scalar(demo_db, "SELECT count(*) FROM events WHERE length(content_hash) != 64") == 0
    assert scalar(demo_db, "SELECT count(*) FROM events e WHERE NOT EXISTS "
                           "(SELECT 1 FROM event_inspectors i WHERE i.event_id = e.id)") == 0
    same_day = scalar(demo_db, "SELECT count(*) FROM events WHERE substr(received_at, 1, 10) <= day OR late = 0")
    assert same_day >= 0.9 * scalar(demo_db, "SELECT count(*) FROM events")


def test_the_demo_year_holds_notice_documents_followed_through(demo_db):
    """Notices as documents in the demo: numbered, one refused for signature, most closed, a stop lifted by 复工."""
    rows = demo_db.conn.execute("SELECT notice_type, state, receipt, number FROM notice_docs ORDER BY seq").fetchall()
    assert len(rows) >= 5 and all(number for *_, number in rows)
    assert ("refused" in {r[2] for r in rows}) and ("closed" in {r[1] for r in rows})
    assert "resume" in {r[0] for r in rows}
    assert scalar(demo_db, "SELECT count(*) FROM notice_docs WHERE resumed_on IS NOT NULL") == 1
