"""Benchmark: /chief/coverage over 500 active sites and 1 million events, through the real app.

Run: /work/venv/bin/python bench/coverage_page.py [--events 1000000] [--sites 500] [--runs 30] [--keep DIR]
Prints figures (not a pass/fail test). Target: median server time of the page at most 100 ms.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
MONTH = "2021-12"
FIRST = date(2020, 1, 1)
LAST = date(2021, 12, 31)
# Rough shares of a station's events by kind (site kinds need a site, plant kinds a plant).
KINDS = [("enforcement_patrol", 34), ("safety_patrol", 34), ("major_inspection", 4), ("concrete_sampling", 5),
         ("rectification_review", 3), ("leaflets", 5), ("completion_filing", 1), ("construction_permit", 1),
         ("plant_patrol", 9), ("plant_inspection", 4)]
PLANT_KINDS = {"plant_patrol", "plant_inspection"}
PASSWORD = "bench-password-123"


def build(path: Path, n_events: int, n_sites: int, n_plants: int, seed: int = 7) -> dict:
    """A migrated database with users, sites, plants and n_events events; returns timings."""
    from fieldlog import accounts, db as db_mod

    timings = {}
    t0 = time.perf_counter()
    db = db_mod.open_db(path)
    chief = accounts.create_user(db, "chief", "站长", "chief", PASSWORD)
    inspectors = [accounts.create_user(db, f"insp{i}", f"监督员{i}", "inspector", PASSWORD) for i in range(6)]
    db.close()
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    # Generation only: no journal, no fsync, a big cache; the app itself runs with WAL + FULL.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    conn.execute("BEGIN")
    towns = ["城关镇", "吴集镇", "甘溪镇", "杨林镇", "草市镇", "杨桥镇", "霞流镇", "荣桓镇", "新塘镇", "大浦镇"]
    sites = []
    for i in range(n_sites + n_sites // 5):
        done = i >= n_sites  # a fifth more sites, completed before the month: not active
        sites.append((f"工地{i}", f"B-{i:05d}", towns[i % len(towns)], int(i % 8 != 7),
                      "2019-06-01", "2021-06-30" if done else None, now, now))
    conn.executemany("INSERT INTO sites (name, reg_no, town, uses_ready_mix, started_on, completed_on, created_at, "
                     "updated_at) VALUES (?,?,?,?,?,?,?,?)", sites)
    site_ids = [r[0] for r in conn.execute("SELECT id FROM sites")]
    conn.executemany("INSERT INTO site_inspectors (site_id, user_id) VALUES (?, ?)",
                     [(s, inspectors[s % len(inspectors)]) for s in site_ids])
    conn.executemany("INSERT INTO plants (name, licence_no, active_from, created_at, updated_at) VALUES (?,?,?,?,?)",
                     [(f"搅拌站{i}", f"P-{i:04d}", "2018-01-01", now, now) for i in range(n_plants)])
    plant_ids = [r[0] for r in conn.execute("SELECT id FROM plants")]
    conn.execute("COMMIT")
    timings["registry_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # Bulk load without the secondary indexes, then rebuild them from the migration's own definitions.
    indexes = [r for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                       "AND tbl_name IN ('events', 'event_inspectors')")]
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    day_text = [(d.isoformat(), d.strftime("%Y-%m")) for d in days]
    batch, links = [], []
    for n, kind in enumerate(rng.choices([k for k, _ in KINDS], [w for _, w in KINDS], k=n_events)):
        day, month = day_text[rng.randrange(len(day_text))]
        # Between 08:00 and 19:59 in Shanghai (UTC+8, no DST), so the UTC time falls on the same day.
        hour, minute = rng.randrange(8, 20), rng.randrange(60)
        occurred = f"{day}T{hour:02d}:{minute:02d}:00+08:00"
        received = f"{day}T{hour - 8:02d}:{minute:02d}:00+00:00"
        # Time-ordered ids (like UUIDv7) keep the primary-key inserts local; phones send random v4 ids.
        event_id = str(uuid.UUID(int=(n << 80) | rng.getrandbits(80), version=4))
        site = plant = None
        if kind in PLANT_KINDS:
            plant = plant_ids[rng.randrange(len(plant_ids))]
        else:
            site = site_ids[rng.randrange(len(site_ids))]
        user = inspectors[rng.randrange(len(inspectors))]
        data = '{"finding": "无"}' if kind.endswith("patrol") else "{}"
        batch.append((event_id, kind, occurred, day, month, received, 0, user, site, plant, data, event_id, received,
                      int(n % 97 == 0)))
        links.append((event_id, user))
        if len(batch) == 50_000:
            _flush(conn, batch, links)
    _flush(conn, batch, links)
    timings["events_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    timings["index_s"] = time.perf_counter() - t0
    return {"timings": timings, "chief": chief}


def _flush(conn: sqlite3.Connection, batch: list, links: list) -> None:
    conn.execute("BEGIN")
    conn.executemany(
            "INSERT INTO events (id, kind, occurred_at, day, month, received_at, late, recorded_by, site_id, plant_id, "
            "data, content_hash, updated_at, voided) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
    conn.executemany("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)", links)
    conn.execute("COMMIT")
    batch.clear()
    links.clear()


def measure(path: Path, runs: int) -> dict:
    """Median and spread of the page through the real app, the domain alone, and the bare SQL floor."""
    from fastapi.testclient import TestClient

    from fieldlog import config, coverage, db as db_mod
    from fieldlog.indicators import quotas
    from fieldlog.periods import parse_month
    from fieldlog.web import create_app

    cfg = config.load(env={}, data_dir=str(path.parent), database=str(path), secret_key="bench")
    db = db_mod.connect(path)
    month = parse_month(MONTH)
    floor = _times(runs, lambda: db.conn.execute(
        "SELECT kind, site_id, count(*) FROM events WHERE kind IN ('enforcement_patrol', 'safety_patrol') "
        "AND month = ? AND voided = 0 GROUP BY kind, site_id", [MONTH]).fetchall())
    floor_all = _times(runs, lambda: db.conn.execute(
        "SELECT count(*) FROM events WHERE month = ? AND voided = 0", [MONTH]).fetchone())
    today = date(2021, 12, 20)
    year_quotas = quotas.for_year(db, month.start.year)
    domain = _times(runs, lambda: (coverage.site_coverage(db, month, today, quotas=year_quotas),
                                   coverage.plant_coverage(db, month, today, quotas=year_quotas),
                                   coverage.quarter_sampling(db, month, today, quotas=year_quotas)))
    active = len(coverage.site_coverage(db, month, today, quotas=year_quotas))
    in_month = db.conn.execute("SELECT count(*) FROM events WHERE month = ?", [MONTH]).fetchone()[0]
    db.close()
    with TestClient(create_app(cfg)) as client:
        client.get("/login")
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        assert client.post("/login", data={"username": "chief", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False).status_code == 303
        first = client.get(f"/chief/coverage?month={MONTH}")
        assert first.status_code == 200 and "工地0" in first.text
        page_times = _times(runs, lambda: client.get(f"/chief/coverage?month={MONTH}"))
        api_times = _times(runs, lambda: client.get(f"/api/v1/coverage?month={MONTH}"))
        size = len(first.content)
    return {"floor": floor, "floor_all": floor_all, "domain": domain, "page": page_times, "api": api_times,
            "active": active, "in_month": in_month, "bytes": size}


def _times(runs: int, fn) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _fmt(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=10)
    return f"median {statistics.median(ms):7.1f} ms   p90 {q[-1]:7.1f} ms   min {min(ms):7.1f} ms"


def main() -> None:
    """Build (or reuse) the database and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--plants", type=int, default=20)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="folder to build the database in (kept, reused when present)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="fieldlog-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.db"
    if not path.exists():
        built = build(path, args.events, args.sites, args.plants)
        t = built["timings"]
        print(f"generated {args.events:,} events in {t['events_s']:.1f} s "
              f"(registry {t['registry_s']:.1f} s, indexes + ANALYZE {t['index_s']:.1f} s); {path.stat().st_size / 1e6:.0f} MB")
    r = measure(path, args.runs)
    print(f"month {MONTH}: {r['active']} active sites, {r['in_month']:,} events in the month; page {r['bytes'] / 1024:.0f} KB")
    print(f"SQL floor (patrol counts by site)   {_fmt(r['floor'])}")
    print(f"SQL count(*) of the month           {_fmt(r['floor_all'])}")
    print(f"domain (sites + plants + sampling)  {_fmt(r['domain'])}")
    print(f"GET /chief/coverage (TestClient)    {_fmt(r['page'])}   target: median <= 100 ms")
    print(f"GET /api/v1/coverage (TestClient)   {_fmt(r['api'])}")


if __name__ == "__main__":
    main()
