"""The tally summaries (migration 027): each is a fresh count of the events after every kind of write, and the
roll-up's reads of them cost what the figures need, not every tally row of the year.

The random writes are those of tests/test_tally_keys.py (plain SQL on events: inserts, edits with and without
a change of key, voids, un-voids, deletes, bulk updates); the real write path (events.create, edit, void) is
checked as well.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime

import pytest

from fieldlog import db as db_mod
from fieldlog import events
from fieldlog.indicators import rollup, rules, tables
from tests.factories import TZ, event, site, user
from tests.test_perf_bounds import _pair, _steps
from tests.test_tally_keys import FILES, _build, _run, _writes

SUMMARIES = {
    "event_kind_tallies": ("kind, month, campaign_id, finding, result, conditions_met, lag_days", ""),
    "event_site_tallies": ("kind, month, site_id, plant_id", ""),
    "event_campaign_tallies": ("kind, month, campaign_id, site_id", "WHERE campaign_id != 0"),
}
# The first month of the year a campaign reached a site, from the campaign summary's months.
FIRST_MONTHS = ("SELECT kind, substr(month, 1, 4) AS year, campaign_id, site_id, min(month) FROM ({rows}) "
                "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")


def kept(db, table: str) -> list[tuple]:
    key, _ = SUMMARIES[table]
    return db.execute(f"SELECT {key}, n FROM {table} ORDER BY {key}").fetchall()


def from_tallies(db, table: str) -> list[tuple]:
    """The summary made afresh from event_tallies."""
    key, where = SUMMARIES[table]
    return db.execute(f"SELECT {key}, sum(n) FROM event_tallies {where} GROUP BY {key} HAVING sum(n) != 0 "
                      f"ORDER BY {key}").fetchall()


def from_events(db, table: str) -> list[tuple]:
    """The summary counted afresh from the events (the key of event_tally_rows, migration 007)."""
    key, where = SUMMARIES[table]
    return db.execute(
        f"SELECT {key}, count(*) FROM (SELECT kind, month, site_id, plant_id, campaign_id, CAST(finding AS TEXT) "
        f"AS finding, CAST(result AS TEXT) AS result, CAST(conditions_met AS TEXT) AS conditions_met, lag_days "
        f"FROM event_tally_rows WHERE voided = 0 AND event_rowid IN (SELECT rowid FROM events WHERE json_valid(data))) "
        f"{where} GROUP BY {key} ORDER BY {key}").fetchall()


def first_months(db) -> list[tuple]:
    return db.execute("SELECT kind, year, campaign_id, site_id, first_month FROM event_campaign_sites "
                      "ORDER BY 1, 2, 3, 4").fetchall()


def assert_fresh(db) -> None:
    for table in SUMMARIES:
        assert kept(db, table) == from_tallies(db, table) == from_events(db, table), table
    counted = db.execute(FIRST_MONTHS.format(rows="SELECT kind, month, campaign_id, site_id FROM event_tallies "
                                                  "WHERE campaign_id != 0 AND n != 0")).fetchall()
    assert first_months(db) == counted
    day_key = "day, kind, campaign_id, finding, result, conditions_met, lag_days"
    day_kept = db.execute(f"SELECT {day_key}, n FROM event_day_kind_tallies ORDER BY {day_key}").fetchall()
    assert day_kept == db.execute(f"SELECT {day_key}, sum(n) FROM event_day_tallies GROUP BY {day_key} "
                                  f"HAVING sum(n) != 0 ORDER BY {day_key}").fetchall()
    assert day_kept == db.execute(
        f"SELECT {day_key}, count(*) FROM (SELECT day, kind, campaign_id, CAST(finding AS TEXT) AS finding, "
        f"CAST(result AS TEXT) AS result, CAST(conditions_met AS TEXT) AS conditions_met, lag_days FROM event_tally_rows "
        f"WHERE voided = 0 AND event_rowid IN (SELECT rowid FROM events WHERE json_valid(data))) "
        f"GROUP BY {day_key} ORDER BY {day_key}").fetchall()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_summaries_are_a_fresh_count_after_every_kind_of_write(tmp_path, seed):
    db = _build(tmp_path / "s.db", FILES)
    writes = _writes(random.Random(seed), 600)
    for part in (writes[:150], writes[150:300], writes[300:450], writes[450:]):
        _run(db, part)
        assert_fresh(db)
    assert len(kept(db, "event_site_tallies")) > 10 and len(kept(db, "event_campaign_tallies")) > 2
    assert db.execute("SELECT count(*) FROM event_site_tallies WHERE n <= 0").fetchone()[0] == 0


def test_a_database_migrated_to_027_fills_its_summaries_and_keeps_them(tmp_path):
    writes = _writes(random.Random(5), 500)
    db = _build(tmp_path / "m.db", [f for f in FILES if f.stem[:3] < "027"])
    _run(db, writes[:300])
    assert db_mod.migrate(db, [f for f in FILES if f.stem[:3] <= "027"]) == ["027_tally_summaries"]
    assert_fresh(db)
    _run(db, writes[300:])
    assert_fresh(db)


def test_a_hand_correction_of_a_tally_row_is_followed_or_refused(tmp_path):
    """Nothing in fieldlog changes a tally row's key: a hand correction of a count or a deleted row is followed,
    one that would change a key is refused and changes nothing."""
    db = _build(tmp_path / "h.db", FILES)
    _run(db, _writes(random.Random(9), 200))
    with db.atomic():
        db.execute("UPDATE event_tallies SET n = n + 2 WHERE kind = 'leaflets'")
        db.execute("DELETE FROM event_tallies WHERE kind = 'completion_filing'")
    before = {table: kept(db, table) for table in SUMMARIES}
    for table in SUMMARIES:
        assert before[table] == from_tallies(db, table), table
    assert first_months(db) == db.execute(FIRST_MONTHS.format(rows="SELECT * FROM event_campaign_tallies")).fetchall()
    with pytest.raises(sqlite3.IntegrityError, match="key of an event_tallies row"), db.atomic():
        db.execute("UPDATE event_tallies SET site_id = 2, n = n + 1 WHERE site_id = 1")
    assert {table: kept(db, table) for table in SUMMARIES} == before
    with pytest.raises(sqlite3.IntegrityError, match="key of an event_day_tallies row"), db.atomic():
        db.execute("UPDATE event_day_tallies SET finding = 'hand' WHERE site_id = 1")


def test_the_real_write_path_keeps_the_summaries(db, users):
    alice = user(db, "alice")
    sites = [site(db) for _ in range(3)]
    now = datetime(2021, 7, 1, 9, 0, tzinfo=TZ)
    ids = []
    for i in range(24):
        kind = ["enforcement_patrol", "major_inspection", "completion_filing", "leaflets"][i % 4]
        fields = {"finding": ["无", "一般", "重大"][i % 3]} if kind != "completion_filing" else {
            "accepted_on": "2021-05-01", "filed_on": f"2021-05-{1 + i % 20:02d}"}
        raw = {"campaign": (f"专项{i % 3}", "2021-04-01", "2021-06-30")} if kind == "major_inspection" else {}
        site_id = None if kind == "leaflets" else sites[i % 3]
        ids.append(event(db, kind, f"2021-0{4 + i % 3}-{10 + i % 9}T10:00:00+08:00", site_id=site_id,
                         fields=fields if kind != "leaflets" else None, **raw)["id"])
    assert_fresh(db)
    for eid in ids[:8]:
        stored = events.load(db, eid)
        changes = {"site_id": sites[(sites.index(stored["site_id"]) + 1) % 3]} if stored["site_id"] else {}
        if "finding" in stored["fields"]:
            changes["fields"] = {**stored["fields"], "finding": "重大"}
        events.edit(db, eid, changes, user=alice, now=now, tz=TZ, reason="更正")
    assert_fresh(db)
    for eid in ids[8:14]:
        events.void(db, eid, user=alice, reason="重复录入", now=now)
    assert_fresh(db)
    assert len(kept(db, "event_campaign_tallies")) >= 3


# --- the roll-up reads a few summary rows, not every tally row of the year -------------------------------

AS_OF = date(2021, 7, 1)


def _year(db, variety: int) -> None:
    """The same 6 sites and months; in each site-month one event of each kind read by site, or `variety` of
    them with every finding, campaign month and lag (so event_tallies holds up to `variety` rows a site-month)."""
    sites = [site(db) for _ in range(6)]
    for m in range(1, 7):
        for s in sites:
            for j in range(variety):
                day = f"2021-{m:02d}-{1 + j % 27:02d}"
                finding = ["无", "一般", "重大"][j % 3]
                event(db, "enforcement_patrol", f"{day}T09:00:00+08:00", site_id=s, fields={"finding": finding})
                event(db, "major_inspection", f"{day}T10:00:00+08:00", site_id=s, fields={"finding": finding},
                      campaign=("专项检查", "2021-01-01", "2021-06-30"))
                event(db, "completion_filing", f"{day}T11:00:00+08:00", site_id=s,
                      fields={"accepted_on": f"2021-{m:02d}-01", "filed_on": day})


def _rollup(db):
    return rollup.compute(db, tables.table_for_year(db, 2021), AS_OF, TZ)


def _category_reads(db):
    """What the roll-up reads by kind and category and per site, through the context as the rules ask."""
    ctx = rules.Context(db, 2021, AS_OF, TZ)
    kinds = ["enforcement_patrol", "major_inspection"]
    return (ctx.count(kinds), rules._count_passes(ctx, kinds, "finding", None, ["重大"]),
            ctx.counts_by(["enforcement_patrol"], "site", "month"), rules._campaign_visits(ctx, "major_inspection"),
            rules.deadline(ctx, None, kind="completion_filing", from_field="accepted_on", to_field="filed_on",
                           days=30).actual)


@pytest.fixture
def plain_and_varied(db, users, tmp_path):
    yield from _pair(db, tmp_path, _year, 1, 9)


@pytest.mark.parametrize("summaries", [True, False], ids=["summaries", "tallies-only"])
def test_the_year_s_counts_read_the_summaries_not_every_tally_row(plain_and_varied, monkeypatch, summaries):
    """With 9× the events and up to 9 tally rows a site-month, the per-site counts, the finding ratio, the lag
    count and the campaign visits take less than 2× the VM steps; read from event_tallies (the summaries
    swapped out, what the roll-up did before 027) they take more: the bound can fail."""
    plain, varied = plain_and_varied
    assert varied.execute("SELECT count(*) FROM event_tallies").fetchone()[0] >= 4 * plain.execute(
        "SELECT count(*) FROM event_tallies").fetchone()[0]
    if not summaries:
        monkeypatch.setattr(rules, "KIND_TALLY", rules.TALLY)
        monkeypatch.setattr(rules, "PARTIAL_KIND", rules.PARTIAL)
        monkeypatch.setitem(rules.SUBJECT_TALLY, "site", rules.TALLY)
    (small, _), (big, _) = _steps(plain, _category_reads), _steps(varied, _category_reads)
    assert (big < 2 * small) == summaries, (small, big)


def test_every_read_of_a_summary_searches_its_key_without_sorting(plain_and_varied):
    _, db = plain_and_varied
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        assert _rollup(db)
        assert rollup.compute(db, tables.table_for_year(db, 2021), date(2021, 6, 15), TZ)
    finally:
        db.conn.set_trace_callback(None)
    tables_read = ("event_kind_tallies", "event_site_tallies", "event_campaign_sites")
    read = [s for s in statements if s.lstrip().upper().startswith("SELECT")
            and any(f"FROM {t}" in s for t in tables_read)]
    assert {t for t in tables_read if any(f"FROM {t}" in s for s in read)} == set(tables_read)
    for sql in read:
        plan = " | ".join(r[-1] for r in db.conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "USING PRIMARY KEY (kind=? AND month>? AND month<?)" in plan or (
            "USING PRIMARY KEY (kind=? AND year=?)" in plan), (sql, plan)
        assert "SCAN" not in plan and "TEMP B-TREE FOR GROUP BY" not in plan, (sql, plan)
