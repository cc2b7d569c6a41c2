"""Generate a large fieldlog database fast: real migrations, bulk INSERTs, tallies built as the migrations build them.

    python bench/make_big_db.py PATH --events 1000000 [--seed 1]

The station: 500 sites (with responsible inspectors), 5 plants, 12 inspectors and a chief (each with a bearer
token, printed as JSON on the last line), campaigns, and `--events` events spread evenly over 2019-01-01 to
TODAY (2021-12-15): the shares of bench/rollup.py by kind, 1-2 inspectors per event, 1 % voided, 3 % late.
About 4.5 % of events carry a rectification notice (safety patrols with a notice number, enforcement patrols
ordering rectification or a stop); 95 % of notices get a closing review 1-25 days later (a fifth of them after
a first review that does not close), the others stay open.

Speed: rows are made day by day and written with executemany in one transaction per month, with the
tally triggers dropped; afterwards event_tallies is rebuilt with migration 005's own INSERT ... SELECT over the
view event_tally_rows (migration 007), then the triggers are restored from their stored SQL, so the tallies
are exactly what the triggers would have made.
Migration 014's notice_state, 022's daily tallies and 023's sample tallies are filled the same way, by each
migration's own INSERT ... SELECT.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldlog import accounts, db as db_mod  # noqa: E402

TODAY = date(2021, 12, 15)
FIRST = date(2019, 1, 1)
SITES, PLANTS, INSPECTORS = 500, 5, 12
KIND_SHARES = [("safety_patrol", 0.36), ("enforcement_patrol", 0.26), ("major_inspection", 0.08),
               ("concrete_sampling", 0.10), ("plant_patrol", 0.03), ("plant_inspection", 0.02), ("leaflets", 0.04),
               ("completion_filing", 0.02), ("construction_permit", 0.02), ("accident", 0.0005)]
NOTICE_SHARE = 0.045 / 0.62   # of the two patrol kinds, so that ~4.5 % of all events carry a notice
CLOSED_SHARE = 0.95
COLUMNS = ["id", "kind", "occurred_at", "day", "month", "received_at", "late", "recorded_by", "site_id", "plant_id",
           "campaign_id", "place", "note", "data", "content_hash", "updated_at", "voided"]
PASSWORD = "bench-password-123"


def registry_rows(db, rng: random.Random) -> dict:
    """Users (fast hash), tokens, sites with responsible inspectors, plants, campaigns; {'chief': token, ...}."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    accounts.use_hasher(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)))
    accounts.create_user(db, "chief", "站长", "chief", PASSWORD)
    for i in range(INSPECTORS):
        accounts.create_user(db, f"insp{i:02d}", f"监督员{i:02d}", "inspector", PASSWORD)
    tokens = {"chief": accounts.create_token(db, "chief", "bench")}
    tokens.update({f"insp{i:02d}": accounts.create_token(db, f"insp{i:02d}", "bench") for i in range(INSPECTORS)})
    inspectors = [r[0] for r in db.conn.execute("SELECT id FROM users WHERE role = 'inspector' ORDER BY id")]
    now = "2019-01-01T00:00:00+00:00"
    towns = ["城关镇", "吴集镇", "甘溪镇", "杨林镇", "草市镇", "杨桥镇", "霞流镇", "荣桓镇", "新塘镇", "大浦镇"]
    with db_mod.write(db):
        db.conn.executemany(
            "INSERT INTO sites (id, name, reg_no, town, uses_ready_mix, started_on, completed_on, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            [(i + 1, f"工地{i:03d}", f"B{i:05d}", towns[i % len(towns)], int(rng.random() < 0.9), "2018-06-01",
              now, now) for i in range(SITES)])
        db.conn.executemany("INSERT INTO site_inspectors (site_id, user_id) VALUES (?, ?)",
                            [(i + 1, inspectors[i % INSPECTORS]) for i in range(SITES)])
        db.conn.executemany("INSERT INTO plants (id, name, licence_no, active_from, created_at, updated_at) "
                            "VALUES (?, ?, ?, '2015-01-01', ?, ?)",
                            [(i + 1, f"搅拌站{i}", f"P{i}", now, now) for i in range(PLANTS)])
        ends = [FIRST + timedelta(days=20 + 36 * i) for i in range(((TODAY - FIRST).days - 20) // 36 + 1)]
        db.conn.executemany("INSERT INTO campaigns (id, name, start_on, end_on, created_at) VALUES (?, ?, ?, ?, ?)",
                            [(i + 1, f"第{i + 1}次大检查", (e - timedelta(days=14)).isoformat(), e.isoformat(), now)
                             for i, e in enumerate(ends)])
    return {"tokens": tokens, "inspectors": inspectors,
            "campaigns": [(i + 1, e - timedelta(days=14), e) for i, e in enumerate(ends)]}


def fields(kind: str, rng: random.Random, day: date, notice_no: str | None) -> dict:
    """The kind-specific fields of one event (with a notice when notice_no is given)."""
    if kind in ("safety_patrol", "enforcement_patrol", "major_inspection"):
        x = rng.random()
        data = {"finding": "无" if x < 0.9 else "一般" if x < 0.995 else "重大"}
        if kind == "enforcement_patrol":
            data["order"] = "none" if notice_no is None else ("stop_work" if rng.random() < 0.1 else "rectify")
        if notice_no is not None:
            data.update(notice_no=notice_no, notice_deadline=(day + timedelta(days=rng.randrange(7, 30))).isoformat())
        return data
    if kind == "concrete_sampling":
        return {"result": "合格" if rng.random() < 0.98 else "不合格", "fee_yuan": rng.choice((800, 1200, 1500))}
    if kind == "plant_inspection":
        return {"result": "合格" if rng.random() < 0.97 else "不合格"}
    if kind == "leaflets":
        return {"copies": rng.randrange(20, 200)}
    if kind == "completion_filing":
        return {"accepted_on": (day - timedelta(days=rng.randrange(0, 25))).isoformat(), "filed_on": day.isoformat(),
                "result": "合格" if rng.random() < 0.99 else "不合格"}
    if kind == "construction_permit":
        return {"issued_on": day.isoformat(), "conditions_met": "符合" if rng.random() < 0.99 else "不符合"}
    if kind == "accident":
        return {"severity": "一般"}
    return {}


def generate(db, n: int, seed: int, reg: dict, log=print) -> float:
    """Insert about n events (reviews included) in day order; returns seconds."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    kinds, weights = [k for k, _ in KIND_SHARES], [w for _, w in KIND_SHARES]
    scale = sum(weights) / (sum(weights) + 0.045 * (CLOSED_SHARE * 1.2))  # room for the reviews among the n events
    days = [FIRST + timedelta(days=i) for i in range((TODAY - FIRST).days + 1)]
    inspectors, campaigns = reg["inspectors"], reg["campaigns"]
    db.conn.execute("PRAGMA synchronous = OFF")  # generation only; the server runs with FULL
    db.conn.execute("PRAGMA cache_size = -500000")
    saved = [(r[0], r[1]) for r in db.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'events' AND type = 'trigger'")]
    for name, _ in saved:
        db.conn.execute(f"DROP TRIGGER {name}")
    # Secondary indexes are dropped too and made again from their own SQL after the load (a sorted build).
    indexes = [(r[0], r[1]) for r in db.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('events', 'event_inspectors')")]
    for name, _ in indexes:
        db.conn.execute(f"DROP INDEX {name}")
    insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    pending: dict[date, list] = {}   # day -> reviews due that day
    made, seq, notices, month_rows, links = 0, 0, 0, [], []
    db.conn.execute("BEGIN")
    for di, day in enumerate(days):
        iso, month = day.isoformat(), day.strftime("%Y-%m")
        target = round(n * scale * (di + 1) / len(days))
        todo = [(k, None) for k in rng.choices(kinds, weights, k=max(0, target - made))]
        made = max(made, target)
        todo += pending.pop(day, [])
        in_campaign = [c for c, a, b in campaigns if a <= day <= b]
        for kind, review in todo:
            seq += 1
            s = seq
            team = rng.sample(inspectors, 2 if rng.random() < 0.6 else 1)
            site_id = plant_id = campaign_id = None
            notice_no = None
            if review is not None:
                site_id, notice_id, closes = review
                data = {"notice_event_id": notice_id, "closed": closes}
            else:
                if kind in ("plant_patrol", "plant_inspection"):
                    plant_id = rng.randrange(1, PLANTS + 1)
                elif kind != "leaflets" or rng.random() < 0.7:
                    site_id = rng.randrange(1, SITES + 1)
                if kind == "major_inspection":
                    campaign_id = rng.choice(in_campaign) if in_campaign else campaigns[di % len(campaigns)][0]
                if kind in ("safety_patrol", "enforcement_patrol") and rng.random() < NOTICE_SHARE:
                    notices += 1
                    notice_no = f"衡质安整〔{day.year}〕{notices:06d}号"
                data = fields(kind, rng, day, notice_no)
            event_id = f"{s:08x}-0000-4000-8000-{seed:04x}{s:08x}"
            if notice_no is not None and rng.random() < CLOSED_SHARE:
                later = day + timedelta(days=rng.randrange(1, 26))
                if rng.random() < 0.2:
                    first = day + timedelta(days=rng.randrange(1, (later - day).days + 1))
                    pending.setdefault(first, []).append(("rectification_review", (site_id, event_id, False)))
                pending.setdefault(later, []).append(("rectification_review", (site_id, event_id, True)))
            late, voided = rng.random() < 0.03, rng.random() < 0.01 and review is None and notice_no is None
            hh, mm = 7 + s % 12, s % 60
            occurred = f"{iso}T{hh:02d}:{mm:02d}:00+08:00"
            received = (day + timedelta(days=5 if late else 0)).isoformat() + f"T{hh - 7:02d}:{mm:02d}:30+00:00"
            month_rows.append((event_id, kind, occurred, iso, month, received, int(late), team[0], site_id, plant_id,
                               campaign_id, None if site_id or plant_id else "集市", "",
                               json.dumps(data, ensure_ascii=False, sort_keys=True), f"{s:064x}", received,
                               int(voided)))
            links.extend((event_id, u) for u in team)
        if di + 1 == len(days) or days[di + 1].month != day.month:
            db.conn.executemany(insert, month_rows)
            db.conn.executemany("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)", links)
            month_rows, links = [], []
            if day.month == 12:
                log(f"  {day.year}: {seq:,} events ({time.perf_counter() - t0:.0f} s)")
    db.conn.execute("COMMIT")
    loaded = time.perf_counter() - t0
    with db_mod.write(db):
        for _, sql in indexes:
            db.conn.execute(sql)
        db.conn.execute("DELETE FROM event_tallies")
        db.conn.execute(TALLIES_FROM_EVENTS)
        for _, sql in saved:
            db.conn.execute(sql)
        db.conn.execute("DELETE FROM notice_state")
        db.conn.execute("INSERT INTO notice_state SELECT * FROM notice_state_rows")  # migration 014's own fill
        for table, migration in (("event_day_tallies", "022_event_day_tallies.sql"),
                                 ("sample_tallies", "023_sample_tallies.sql")):
            db.conn.execute(f"DELETE FROM {table}")
            db.conn.execute(migration_fill(migration, table))
    db.conn.execute("PRAGMA synchronous = FULL")  # no ANALYZE: the app never runs one, so plans stay the app's
    log(f"  {seq:,} events inserted in {loaded:.1f} s; indexes, tallies and triggers in "
        f"{time.perf_counter() - t0 - loaded:.1f} s")
    return time.perf_counter() - t0


# Migration 005's initial fill, reading the key from the view of migration 007 (the triggers' source); every
# generated data is valid JSON, so 005's json_valid(data) holds for each row.
TALLIES_FROM_EVENTS = (
    "INSERT INTO event_tallies (kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, "
    "n, copies, fee_yuan) SELECT kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, "
    "lag_days, count(*), total(copies), total(fee_yuan) FROM event_tally_rows WHERE voided = 0 "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9")


def migration_fill(name: str, table: str) -> str:
    """The INSERT ... SELECT by which a migration fills `table` from the events (its own text, not a copy)."""
    text = (Path(__file__).resolve().parent.parent / "migrations" / name).read_text()
    start = text.index(f"INSERT INTO {table}")
    return text[start:text.index(";", start)]


def build(path: Path, n: int, seed: int = 1, log=print) -> dict:
    """A fresh migrated database at path with about n events; returns the registry facts (tokens, ids)."""
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    db = db_mod.open_db(path)
    reg = registry_rows(db, random.Random(seed))
    seconds = generate(db, n, seed, reg, log)
    count = db.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    return {"tokens": reg["tokens"], "events": count, "seconds": round(seconds, 1), "today": TODAY.isoformat(),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.path.parent.mkdir(parents=True, exist_ok=True)
    info = build(args.path, args.events, args.seed)
    print(f"{info['events']:,} events in {info['seconds']} s ({info['events'] / info['seconds']:,.0f}/s)")
    print(json.dumps(info, ensure_ascii=False))


if __name__ == "__main__":
    main()
