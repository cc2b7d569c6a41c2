"""The tally key defined once (migration 007): the new triggers keep event_tallies exactly as 005's did.

Each test runs the same writes on a database built up to 006 (the triggers of 005) and on one migrated
on to the newest migration, and compares the tallies value for value (quote() shows a float's every
digit, so a sum added up in another order would show). Writes are plain SQL on events, so odd data
(numbers where text is expected, text amounts, impossible dates) reaches the triggers too.
"""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from fieldlog import db as db_mod
from fieldlog.indicators import rules

FILES = db_mod.migration_files()
AT_006 = [f for f in FILES if f.stem[:3] <= "006"]
NOW = "2021-01-01T00:00:00+00:00"

TALLY_ROWS = ("SELECT kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, n, "
              "quote(copies), quote(fee_yuan) FROM event_tallies ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9")


def _build(path, files):
    db = db_mod.connect(path)
    db_mod.migrate(db, files)
    db.execute("INSERT INTO users (username, display_name, role, password_hash, created_at) "
               "VALUES ('u', 'U', 'inspector', 'h', ?)", [NOW])
    for i in (1, 2, 3):
        db.execute("INSERT INTO sites (id, name, reg_no, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                   [i, f"工地{i}", f"R{i}", NOW, NOW])
        db.execute("INSERT INTO plants (id, name, licence_no, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                   [i, f"搅拌站{i}", f"L{i}", NOW, NOW])
        db.execute("INSERT INTO campaigns (id, name, start_on, end_on, created_at) VALUES (?, ?, '2021-01-01', "
                   "'2021-12-31', ?)", [i, f"检查{i}", NOW])
    db.conn.commit()
    return db


def tallies(db) -> list[tuple]:
    return db.execute(TALLY_ROWS).fetchall()


def recount(db) -> list[tuple]:
    """The tallies counted afresh from the events, with the key written out as 005 wrote it (text columns as
    event_tallies stores them)."""
    return db.execute(
        "SELECT kind, month, coalesce(site_id, 0), coalesce(plant_id, 0), coalesce(campaign_id, 0), "
        "CAST(coalesce(json_extract(data, '$.finding'), '') AS TEXT), "
        "CAST(coalesce(json_extract(data, '$.result'), '') AS TEXT), "
        "CAST(coalesce(json_extract(data, '$.conditions_met'), '') AS TEXT), "
        "coalesce(CAST(julianday(json_extract(data, '$.filed_on')) - julianday(json_extract(data, '$.accepted_on')) "
        "AS INTEGER), CAST(julianday(json_extract(data, '$.issued_on')) - julianday(json_extract(data, '$.applied_on')) "
        "AS INTEGER), -1000000), count(*), total(json_extract(data, '$.copies')), total(json_extract(data, '$.fee_yuan')) "
        "FROM (SELECT * FROM events WHERE voided = 0 AND json_valid(data) ORDER BY rowid) "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9").fetchall()


def _data(rng: random.Random, odd: bool = True):
    """Kind-specific data as the forms store it, with now and then (odd) something they never would."""
    d: dict = {}
    if rng.random() < 0.5:
        d["finding"] = rng.choice(["无", "一般", "重大"] + ([1, 2.5, None] if odd else []))
    if rng.random() < 0.4:
        d["result"] = rng.choice(["合格", "不合格"] + ([0] if odd else []))
    if rng.random() < 0.2:
        d["conditions_met"] = rng.choice(["符合", "不符合"])
    if rng.random() < 0.3:
        d["fee_yuan"] = rng.choice([800, 1200, 1234.56, 99.99, 0.1, 0.2, 0.3] + (["15.5", 1e-9] if odd else []))
    if rng.random() < 0.2:
        d["copies"] = rng.choice([20, 38, 300] + (["12", 7.5] if odd else []))
    if rng.random() < 0.2:
        d.update(accepted_on=f"2021-0{rng.randint(1, 9)}-0{rng.randint(1, 9)}",
                 filed_on=rng.choice(["2021-09-30", "2021-02-30", "later"]))
    elif rng.random() < 0.2:
        d.update(applied_on="2021-03-01", issued_on=rng.choice(["2021-03-15", "2021-02-20"]))
    return json.dumps(d, ensure_ascii=False)


def _writes(rng: random.Random, n: int, odd: bool = True) -> list[tuple[str, list]]:
    """n random inserts, edits (with and without a change of key), voids, un-voids and deletes."""
    out, ids = [], []
    kinds = ["safety_patrol", "concrete_sampling", "leaflets", "completion_filing", "construction_permit"]
    for i in range(n):
        op = rng.random()
        if op < 0.45 or not ids:
            eid = f"e{i:05d}"
            ids.append(eid)
            month = f"2021-{rng.randint(1, 3):02d}"
            out.append(("INSERT INTO events (id, kind, occurred_at, day, month, received_at, recorded_by, site_id, "
                        "plant_id, campaign_id, data, content_hash, updated_at, voided) "
                        "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 'h', ?, ?)",
                        [eid, rng.choice(kinds), f"{month}-05T10:00:00+08:00", f"{month}-05", month, NOW,
                         rng.choice([None, 1, 2]), rng.choice([None, None, 3]), rng.choice([None, None, 1]),
                         _data(rng, odd), NOW, int(rng.random() < 0.1)]))
            continue
        eid = rng.choice(ids)
        if op < 0.60:
            out.append(("UPDATE events SET data = ?, note = 'edit' WHERE id = ?", [_data(rng, odd), eid]))
        elif op < 0.68:   # what an edit does to an unchanged event: the same data written again
            out.append(("UPDATE events SET data = data, updated_at = 'x' WHERE id = ?", [eid]))
        elif op < 0.76:
            out.append(("UPDATE events SET month = ?, day = ?, site_id = ? WHERE id = ?",
                        [m := f"2021-{rng.randint(1, 3):02d}", f"{m}-20", rng.choice([None, 1, 3]), eid]))
        elif op < 0.80:
            out.append(("UPDATE events SET kind = ?, plant_id = ?, campaign_id = ? WHERE id = ?",
                        [rng.choice(kinds), rng.choice([None, 1]), rng.choice([None, 2]), eid]))
        elif op < 0.88:
            out.append(("UPDATE events SET voided = 1 WHERE id = ?", [eid]))
        elif op < 0.93:
            out.append(("UPDATE events SET voided = 0 WHERE id = ?", [eid]))
        elif op < 0.96:
            out.append(("UPDATE events SET note = 'only the note' WHERE id = ?", [eid]))  # no tally column
        else:
            out.append(("DELETE FROM events WHERE id = ?", [eid]))
            ids.remove(eid)
    # One statement over many rows (as a bulk correction would be).
    out.append(("UPDATE events SET month = '2021-04', day = '2021-04-01' WHERE month = '2021-02'", []))
    out.append(("UPDATE events SET voided = 1 - voided WHERE kind = 'leaflets'", []))
    return out


def _run(db, writes) -> None:
    with db.atomic():
        for sql, params in writes:
            db.execute(sql, params)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_new_triggers_keep_the_tallies_of_the_old_ones(tmp_path, seed):
    old = _build(tmp_path / "old.db", AT_006)
    new = _build(tmp_path / "new.db", FILES)
    assert [r[0] for r in new.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                      "AND name LIKE 'event_tallies%' ORDER BY 1")] == [
        "event_tallies_add", "event_tallies_before_update", "event_tallies_delete", "event_tallies_insert",
        "event_tallies_remove"]
    writes = _writes(random.Random(seed), 600)
    for part in (writes[:200], writes[200:]):
        _run(old, part)
        _run(new, part)
        assert tallies(new) == tallies(old)
    assert len(tallies(new)) > 20
    # A fresh count agrees (n exactly; the sums up to rounding, since they were added up in another order).
    fresh = {r[:9]: r[9:] for r in recount(new)}
    kept = {r[:9]: r[9:] for r in tallies(new) if r[9] != 0}
    assert fresh.keys() == kept.keys()
    for key, (n, copies, fee) in fresh.items():
        assert kept[key][0] == n
        assert float(kept[key][1]) == pytest.approx(copies, abs=1e-6)
        assert float(kept[key][2]) == pytest.approx(fee, abs=1e-6)
    assert new.execute("SELECT count(*) FROM event_tallies_leaving").fetchone()[0] == 0


def test_a_database_built_at_006_and_migrated_keeps_its_tallies(tmp_path):
    writes = _writes(random.Random(7), 500)
    path = tmp_path / "upgraded.db"
    upgraded = _build(path, AT_006)
    stayed = _build(tmp_path / "stayed.db", AT_006)
    fresh = _build(tmp_path / "fresh.db", FILES)
    for db in (upgraded, stayed, fresh):
        _run(db, writes[:300])
    before = tallies(upgraded)
    assert db_mod.migrate(upgraded) == [f.stem for f in FILES if f.stem[:3] > "006"]
    assert tallies(upgraded) == before == tallies(fresh)
    # ...and goes on tallying as a database that never left 006, and as one built new.
    for db in (upgraded, stayed, fresh):
        _run(db, writes[300:])
    assert tallies(upgraded) == tallies(stayed) == tallies(fresh)
    upgraded.close()
    schema = sqlite3.connect(path).execute("SELECT sql FROM sqlite_master WHERE name = 'event_tally_rows'").fetchone()
    assert schema and "CREATE VIEW" in schema[0]


def test_a_failed_update_leaves_the_tallies_alone(tmp_path):
    db = _build(tmp_path / "f.db", FILES)
    _run(db, [("INSERT INTO events (id, kind, occurred_at, day, month, received_at, recorded_by, site_id, data, "
               "content_hash, updated_at) VALUES ('a', 'safety_patrol', 'x', '2021-01-05', '2021-01', ?, 1, 1, "
               "'{\"finding\": \"重大\"}', 'h', ?)", [NOW, NOW])])
    before = tallies(db)
    with pytest.raises(sqlite3.IntegrityError):
        with db.atomic():
            db.execute("UPDATE events SET site_id = 99, data = '{}' WHERE id = 'a'")  # no site 99
    assert tallies(db) == before
    assert db.execute("SELECT count(*) FROM event_tallies_leaving").fetchone()[0] == 0


DAY_ROWS = ("SELECT kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, n, "
            "round(copies, 6), round(fee_yuan, 6) FROM event_day_tallies ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9")


def day_recount(db) -> list[tuple]:
    """The daily tallies counted afresh from the events (migration 022's key: 005's with the day)."""
    return db.execute(
        "SELECT kind, day, site_id, plant_id, campaign_id, CAST(finding AS TEXT), CAST(result AS TEXT), "
        "CAST(conditions_met AS TEXT), lag_days, count(*), round(total(copies), 6), round(total(fee_yuan), 6) FROM event_tally_rows WHERE voided = 0 AND event_rowid "
        "IN (SELECT rowid FROM events WHERE json_valid(data)) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 "
        "ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9").fetchall()


@pytest.mark.parametrize("seed", [1, 2])
def test_daily_tallies_follow_inserts_edits_voids_and_deletes(tmp_path, seed):
    """event_day_tallies (022) is what counting the events by day gives, after every kind of write; no empty row."""
    db = _build(tmp_path / "d.db", FILES)
    writes = _writes(random.Random(seed), 400)
    writes.append(("UPDATE events SET day = '2021-01-06', occurred_at = '2021-01-06T10:00:00+08:00' "
                   "WHERE day = '2021-01-05' AND rowid % 2 = 0", []))   # a day changed within its month
    _run(db, writes)
    assert db.execute(DAY_ROWS).fetchall() == day_recount(db)
    assert db.execute("SELECT count(*) FROM event_day_tallies WHERE n = 0").fetchone()[0] == 0
    days = {r[1] for r in day_recount(db)}
    assert "2021-01-06" in days and len(days) >= 4


def test_a_database_migrated_to_022_fills_its_daily_tallies(tmp_path):
    before = [f for f in FILES if f.stem[:3] < "022"]
    db = _build(tmp_path / "m.db", before)
    _run(db, _writes(random.Random(5), 300))
    db_mod.migrate(db, FILES)
    assert db.execute(DAY_ROWS).fetchall() == day_recount(db) != []


def test_a_failed_update_leaves_the_daily_tallies_alone(tmp_path):
    db = _build(tmp_path / "f.db", FILES)
    _run(db, [("INSERT INTO events (id, kind, occurred_at, day, month, received_at, recorded_by, site_id, data, "
               "content_hash, updated_at) VALUES ('a', 'safety_patrol', 'x', '2021-01-05', '2021-01', ?, 1, 1, "
               "'{\"finding\": \"重大\"}', 'h', ?)", [NOW, NOW])])
    before = db.execute(DAY_ROWS).fetchall()
    with pytest.raises(sqlite3.IntegrityError):
        with db.atomic():
            db.execute("UPDATE events SET site_id = 99, day = '2021-01-09' WHERE id = 'a'")  # no site 99
    assert db.execute(DAY_ROWS).fetchall() == before


def test_month_under_way_sums_the_daily_tallies_of_its_days(tmp_path):
    """PARTIAL over the days of the month under way (partial_days), summed by key, gives on a month's last day the
    month's tally; a rule's kind is found by the key (day, kind), not by reading the month's other kinds."""
    db = _build(tmp_path / "m.db", FILES)
    _run(db, _writes(random.Random(11), 300, odd=False))
    key = "kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days"
    cond, params = rules.partial_days("2021-03", "2021-03-31")
    got = db.execute(f"SELECT {key}, sum(n) FROM {rules.PARTIAL} WHERE {cond} GROUP BY {key}", params).fetchall()
    kept = [r[:10] for r in tallies(db) if r[1] == "2021-03" and r[9] != 0]
    assert sorted(got) == kept and kept
    cond, params = rules.partial_days("2021-03", "2021-03-04")  # the writes put events on the 5th and the 20th only
    assert db.execute(f"SELECT count(*) FROM {rules.PARTIAL} WHERE {cond}", params).fetchone()[0] == 0
    plan = " ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN SELECT sum(n) FROM {rules.PARTIAL} "
                                             f"WHERE kind = :kind AND {cond}", {**params, "kind": "safety_patrol"}))
    assert "SEARCH event_day_tallies USING PRIMARY KEY (day=? AND kind=?)" in plan, plan


def test_an_edit_that_keeps_the_key_adds_and_subtracts_in_the_old_order(tmp_path):
    """Fees are decimals: (t + new) − old and (t − old) + new differ in the last bit; 005 did the former."""
    ins = ("INSERT INTO events (id, kind, occurred_at, day, month, received_at, recorded_by, site_id, data, "
           "content_hash, updated_at) VALUES (?, 'concrete_sampling', 'x', '2021-01-05', '2021-01', ?, 1, 1, ?, 'h', ?)")
    writes = [(ins, [f"s{i}", NOW, json.dumps({"result": "合格", "fee_yuan": fee}), NOW])
              for i, fee in enumerate([0.1, 0.2, 1234.56, 0.7])]
    writes += [("UPDATE events SET data = ? WHERE id = 's0'", [json.dumps({"result": "合格", "fee_yuan": 0.3})]),
               ("UPDATE events SET note = 'n', data = data WHERE id = 's2'", []),
               ("UPDATE events SET data = ? WHERE id = 's3'", [json.dumps({"result": "合格", "fee_yuan": 99.99})])]
    old, new = _build(tmp_path / "old.db", AT_006), _build(tmp_path / "new.db", FILES)
    _run(old, writes)
    _run(new, writes)
    assert tallies(new) == tallies(old)
    assert tallies(new)[0][9:] == (4, "0.0", "1.33504999999999972716e+03")
