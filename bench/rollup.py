"""Roll-up benchmark: the whole 2021 table over 1 M and 10 M synthetic events (prints figures; not a test).

    /work/venv/bin/python bench/rollup.py [--sizes 1000000,10000000] [--dir /tmp/fieldlog-bench] [--keep]

For each size it generates a year of events (about 500 sites, 5 plants, every kind, realistic shares,
1 % voided, 3 % late-logged), then times:
  - the roll-up of every row of the shipped 2021 table (fieldlog.indicators.rollup.compute), as of 31 Dec;
  - a bare `SELECT count(*) FROM events` (the floor);
  - the same figures computed with pandas from a CSV export of the events (what an analyst would do
    otherwise), with the CSV load time reported separately; the pandas figures are checked against the roll-up.
Targets: at most 0.5 s for 1 M and 3 s for 10 M events.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fieldlog import db as db_mod, periods as P, registry
from fieldlog.indicators import rollup, tables

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2021
SITES, PLANTS, CAMPAIGNS = 500, 5, 10
# Share of each kind among events (site patrols dominate, as in a real station's log).
KIND_SHARES = [("safety_patrol", 0.36), ("enforcement_patrol", 0.26), ("major_inspection", 0.08),
               ("concrete_sampling", 0.10), ("plant_patrol", 0.03), ("plant_inspection", 0.02), ("leaflets", 0.04),
               ("completion_filing", 0.02), ("construction_permit", 0.02), ("accident", 0.0005),
               ("rectification_review", 0.0595)]
COLUMNS = ["id", "kind", "occurred_at", "day", "month", "received_at", "late", "recorded_by", "site_id", "plant_id",
           "campaign_id", "place", "note", "data", "content_hash", "updated_at", "voided"]


def registry_rows(db, rng: random.Random) -> None:
    """500 sites (some start, finish or pause in 2021; 90 % use ready-mix), 5 plants, 10 campaigns."""
    now = "2021-01-01T00:00:00+00:00"
    with db.atomic():
        db.execute("INSERT INTO users (username, display_name, role, password_hash, created_at) "
                   "VALUES ('bench', '基准', 'inspector', 'x', ?)", [now])
        for i in range(SITES):
            start = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 1000))
            done = start + timedelta(days=rng.randrange(200, 900)) if rng.random() < 0.4 else None
            db.execute("INSERT INTO sites (id, name, reg_no, uses_ready_mix, started_on, completed_on, created_at, "
                       "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [i + 1, f"工地{i:03d}", f"B{i:05d}", int(rng.random() < 0.9), start.isoformat(),
                        done.isoformat() if done else None, now, now])
            if rng.random() < 0.1:
                p = date(YEAR, 1, 1) + timedelta(days=rng.randrange(0, 330))
                db.execute("INSERT INTO site_pauses (site_id, start_on, end_on) VALUES (?, ?, ?)",
                           [i + 1, p.isoformat(), (p + timedelta(days=rng.randrange(10, 90))).isoformat()])
        for i in range(PLANTS):
            db.execute("INSERT INTO plants (id, name, licence_no, active_from, created_at, updated_at) "
                       "VALUES (?, ?, ?, '2015-01-01', ?, ?)", [i + 1, f"搅拌站{i}", f"P{i}", now, now])
        for i in range(CAMPAIGNS):
            end = date(YEAR, 1, 20) + timedelta(days=36 * i)
            db.execute("INSERT INTO campaigns (id, name, start_on, end_on, created_at) VALUES (?, ?, ?, ?, ?)",
                       [i + 1, f"第{i + 1}次大检查", (end - timedelta(days=14)).isoformat(), end.isoformat(), now])


def variants(kind: str) -> list[tuple[float, dict]]:
    """(weight, data) choices of a kind's fields; dates of filings are filled in per event."""
    if kind in ("safety_patrol", "enforcement_patrol", "major_inspection"):
        return [(0.9, {"finding": "无"}), (0.095, {"finding": "一般"}), (0.005, {"finding": "重大"})]
    if kind == "concrete_sampling":
        return [(0.98 / 3, {"result": "合格", "fee_yuan": f}) for f in (800, 1200, 1500)] + [(0.02, {"result": "不合格", "fee_yuan": 1200})]
    if kind == "plant_inspection":
        return [(0.97, {"result": "合格"}), (0.03, {"result": "不合格"})]
    if kind == "leaflets":
        return [(0.1, {"copies": c}) for c in range(20, 200, 18)]
    if kind == "completion_filing":
        return [(0.99, {"result": "合格"}), (0.01, {"result": "不合格"})]
    if kind == "construction_permit":
        return [(0.99, {"conditions_met": "符合"}), (0.01, {"conditions_met": "不符合"})]
    if kind == "accident":
        return [(1.0, {"severity": "一般"})]
    return [(1.0, {})]


def tally_key(kind: str, month: str, site_id, plant_id, campaign_id, data: dict) -> tuple:
    """The event_tallies key of an event (as the triggers of migration 005 compute it)."""
    lag = -1000000
    if "filed_on" in data:
        lag = (date.fromisoformat(data["filed_on"]) - date.fromisoformat(data["accepted_on"])).days
    return (kind, month, site_id or 0, plant_id or 0, campaign_id or 0, data.get("finding", ""), data.get("result", ""),
            data.get("conditions_met", ""), lag)


def generate(db, n: int, rng: random.Random) -> float:
    """Insert n events in day order with executemany in big transactions; returns seconds.

    Columns are drawn with numpy a month at a time. The tally triggers are dropped during the load and
    restored afterwards from their own SQL; the tallies are counted here instead (the roll-up's results
    are checked against pandas over the events, so a wrong tally would show).
    """
    import numpy as np

    t0 = time.perf_counter()
    g = np.random.default_rng(rng.randrange(2**32))
    kinds = [k for k, _ in KIND_SHARES]
    shares = np.array([w for _, w in KIND_SHARES])
    opts = {k: variants(k) for k in kinds}
    cum = {k: np.cumsum([w for w, _ in opts[k]]) / sum(w for w, _ in opts[k]) for k in kinds}
    texts = {k: [json.dumps(d, ensure_ascii=False) for _, d in opts[k]] for k in kinds}
    campaigns = [(r["id"], date.fromisoformat(r["start_on"]), date.fromisoformat(r["end_on"]))
                 for r in db.query("SELECT id, start_on, end_on FROM campaigns")]
    db.conn.execute("PRAGMA synchronous = OFF")  # generation only: the roll-up is timed with the normal settings
    db.conn.execute("PRAGMA cache_size = -1000000")
    # Rows arrive in day order with increasing ids, so the month-first indexes grow at their ends and stay
    # live; only the tally triggers are dropped (the tallies are counted here) and restored afterwards.
    saved = [(r[0], r[1], r[2]) for r in db.conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'events' AND type = 'trigger'")]
    for kind, name, _ in saved:
        db.conn.execute(f"DROP {kind.upper()} {name}")
    tallies: dict[tuple, list] = {}
    insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    made = 0
    for m in range(1, 13):
        first, last = P.month(YEAR, m).start, P.month(YEAR, m).end
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        ends = [round(n * ((d - date(YEAR, 1, 1)).days + 1) / 365) for d in days]
        counts = np.diff([made] + ends)
        total = int(counts.sum())
        day_of = np.repeat(np.arange(len(days)), counts)
        kind_of = g.choice(len(kinds), size=total, p=shares / shares.sum())
        site_of = g.integers(1, SITES + 1, size=total).tolist()
        plant_of = g.integers(1, PLANTS + 1, size=total).tolist()
        u = g.random(total)
        seq = range(made + 1, made + total + 1)
        month = f"{YEAR}-{m:02d}"
        isos = [d.isoformat() for d in days]
        later = [(d + timedelta(days=5)).isoformat() for d in days]
        in_campaign = [[c for c, a, b in campaigns if a <= d <= b] or [1 + i % CAMPAIGNS] for i, d in enumerate(days)]
        variant_of = np.zeros(total, dtype=int)
        for ki, k in enumerate(kinds):
            mask = kind_of == ki
            variant_of[mask] = np.searchsorted(cum[k], u[mask], side="right").clip(0, len(cum[k]) - 1)
        batch = []
        for i, (s, di, ki, vi, site, plant, x) in enumerate(zip(seq, day_of.tolist(), kind_of.tolist(),
                                                                variant_of.tolist(), site_of, plant_of, u.tolist())):
            kind = kinds[ki]
            data = opts[kind][vi][1]
            text = texts[kind][vi]
            site_id = plant_id = campaign_id = None
            if kind in ("plant_patrol", "plant_inspection"):
                plant_id = plant
            elif kind != "leaflets" or s % 10 < 7:
                site_id = site
            if kind == "major_inspection":
                cs = in_campaign[di]
                campaign_id = cs[s % len(cs)]
            elif kind == "completion_filing":
                data = {**data, "accepted_on": (days[di] - timedelta(days=s % 25)).isoformat(), "filed_on": isos[di]}
                text = json.dumps(data, ensure_ascii=False)
            late, voided = s % 33 == 0, s % 101 == 0
            received = f"{later[di] if late else isos[di]}T12:00:00+00:00"
            batch.append((f"{s:08x}-0000-4000-8000-{s:012x}", kind, f"{isos[di]}T{7 + s % 12:02d}:{s % 60:02d}:00+08:00",
                          isos[di], month, received, int(late), 1, site_id, plant_id, campaign_id,
                          None if site_id or plant_id else "集市", "", text, "h", received, int(voided)))
            if not voided:
                acc = tallies.setdefault(tally_key(kind, month, site_id, plant_id, campaign_id, data), [0, 0, 0])
                acc[0] += 1
                if data:
                    acc[1] += data.get("copies", 0)
                    acc[2] += data.get("fee_yuan", 0)
        made += total
        with db.atomic():
            db.conn.executemany(insert, batch)
    loaded = time.perf_counter() - t0
    with db.atomic():
        db.conn.executemany("INSERT INTO event_tallies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(*k, *v) for k, v in tallies.items()])
        for kind, _, sql in saved:
            db.conn.execute(sql)
    db.conn.execute("PRAGMA synchronous = FULL")
    print(f"  inserted in {loaded:.1f} s, tallies and triggers restored in {time.perf_counter() - t0 - loaded:.1f} s",
          flush=True)
    return time.perf_counter() - t0


def best(fn, runs: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def export_csv(db, path: Path) -> float:
    """The events as an analyst would export them: one column per field."""
    t0 = time.perf_counter()
    cur = db.conn.execute(
        "SELECT kind, day, month, site_id, plant_id, campaign_id, voided, json_extract(data, '$.finding'), "
        "json_extract(data, '$.result'), json_extract(data, '$.copies'), json_extract(data, '$.fee_yuan'), "
        "json_extract(data, '$.accepted_on'), json_extract(data, '$.filed_on'), json_extract(data, '$.conditions_met') "
        "FROM events")
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["kind", "day", "month", "site_id", "plant_id", "campaign_id", "voided", "finding", "result",
                    "copies", "fee_yuan", "accepted_on", "filed_on", "conditions_met"])
        while rows := cur.fetchmany(100_000):
            w.writerows(rows)
    return time.perf_counter() - t0


def pandas_figures(df, db, as_of: date) -> dict:
    """The event-derived rows of the table with pandas (same definitions as the rules)."""
    import pandas as pd

    months = P.elapsed(P.months_of(YEAR), as_of)
    quarters = P.elapsed(P.quarters_of(YEAR), as_of)
    sites_m = registry.active_site_map(db, months)
    plants_m = registry.active_plant_map(db, months)
    ready_q = registry.active_site_map(db, quarters, ready_mix_only=True)
    ev = df[(df.voided == 0) & (df.day <= as_of.isoformat()) & (df.day >= f"{YEAR}-01-01")]
    by = {k: g for k, g in ev.groupby("kind")}
    empty = ev.iloc[0:0]
    k = lambda name: by.get(name, empty)  # noqa: E731
    out = {"safety_patrols": len(k("safety_patrol")), "completion_filings": len(k("completion_filing")),
           "permits": len(k("construction_permit")), "leaflets": int(k("leaflets").copies.sum()),
           "campaigns": k("major_inspection").campaign_id.nunique(),
           "plants_inspected": k("plant_inspection").plant_id.nunique()}

    def per_subject(kind: str, col: str, active: dict) -> pd.Series:
        counts = k(kind).groupby(["month", col]).size()
        index = pd.MultiIndex.from_tuples([(m, s) for m, ids in active.items() for s in ids], names=["month", col])
        return counts.reindex(index, fill_value=0)

    enf = per_subject("enforcement_patrol", "site_id", sites_m)
    out["enforcement_site_monthly"] = math.floor(enf.mean() * 10) / 10
    out["enforcement_site_coverage"] = 100 * (enf >= 2).sum() / len(enf)
    saf = per_subject("safety_patrol", "site_id", sites_m)
    out["safety_patrol_coverage"] = 100 * (saf >= 1).sum() / len(saf)
    pp = per_subject("plant_patrol", "plant_id", plants_m)
    out["plant_patrol_coverage"] = 100 * (pp >= 1).sum() / len(pp)
    samp = k("concrete_sampling").copy()
    samp["q"] = YEAR.__str__() + "-Q" + ((samp.month.str[5:7].astype(int) + 2) // 3).astype(str)
    sampled = samp.groupby("q").site_id.nunique()
    quota = {q.label: min(50, len(ready_q[q.label])) for q in quarters}
    out["sampling_coverage"] = 100 * sum(min(sampled.get(q, 0), n) for q, n in quota.items()) / sum(quota.values())
    out["sampling_quarterly"] = math.floor(sum(sampled.get(q.label, 0) for q in quarters) / len(quarters) * 10) / 10
    conc = pd.concat([k("concrete_sampling"), k("plant_inspection")])
    out["concrete_pass_rate"] = 100 * (conc.result == "合格").sum() / len(conc)
    site_ev = pd.concat([k("safety_patrol"), k("enforcement_patrol"), k("major_inspection")])
    out["construction_quality_rate"] = 100 * (site_ev.finding != "重大").sum() / len(site_ev)
    cf = k("completion_filing")
    out["completion_pass_rate"] = 100 * (cf.result == "合格").sum() / len(cf)
    lag = (pd.to_datetime(cf.filed_on) - pd.to_datetime(cf.accepted_on)).dt.days
    out["filings_on_time"] = 100 * lag.between(0, 15).sum() / len(cf)
    cp = k("construction_permit")
    out["permit_conformity_rate"] = 100 * (cp.conditions_met == "符合").sum() / len(cp)
    out["testing_fees"] = k("concrete_sampling").fee_yuan.sum() * 0.0001
    return out


def run(size: int, folder: Path, keep: bool) -> dict:
    path = folder / f"bench-{size}.db"
    for p in folder.glob(f"bench-{size}.db*"):
        p.unlink()
    db = db_mod.open_db(path)
    rng = random.Random(size)
    registry_rows(db, rng)
    gen = generate(db, size, rng)
    print(f"\n== {size:,} events ==  generated in {gen:.1f} s ({size / gen:,.0f} events/s)", flush=True)
    db.close()
    db = db_mod.connect(path)
    table = tables.table_for_year(db, YEAR)
    as_of = date(YEAR, 12, 31)
    t0 = time.perf_counter()
    results = rollup.compute(db, table, as_of, TZ)
    cold = time.perf_counter() - t0
    warm, results = best(lambda: rollup.compute(db, table, as_of, TZ))
    mid, _ = best(lambda: rollup.compute(db, table, date(YEAR, 12, 15), TZ), runs=2)
    floor, n = best(lambda: db.conn.execute("SELECT count(*) FROM events").fetchone()[0])
    assert n == size
    per_row = []
    from fieldlog.indicators.rules import Context

    ctx = Context(db, YEAR, as_of, TZ)
    for row in table.rows:
        t1 = time.perf_counter()
        rollup.compute_row(ctx, row, None)
        per_row.append((time.perf_counter() - t1, row.key))
    target = 0.5 if size <= 1_000_000 else 3.0
    print(f"roll-up of all {len(results)} rows: first {cold:.3f} s, best of 3 {warm:.3f} s "
          f"(target ≤ {target} s: {'OK' if warm <= target else 'MISSED'})")
    print(f"roll-up as of 15 Dec (1–15 Dec read from the events, not the tallies): best of 2 {mid:.3f} s")
    print("slowest rows: " + ", ".join(f"{k} {t * 1000:.0f} ms" for t, k in sorted(per_row, reverse=True)[:5]))
    print(f"SELECT count(*) floor: {floor:.3f} s  → roll-up / floor = {warm / floor:.1f}×")

    import pandas as pd

    csv_path = folder / f"bench-{size}.csv"
    exported = export_csv(db, csv_path)
    t0 = time.perf_counter()
    df = pd.read_csv(csv_path, dtype={"kind": "category", "month": "category", "day": str, "finding": "category",
                                      "result": "category", "conditions_met": "category"})
    load = time.perf_counter() - t0
    figures_time, figures = best(lambda: pandas_figures(df, db, as_of), runs=2)
    print(f"pandas: CSV export {exported:.1f} s (not counted), read_csv {load:.2f} s, figures {figures_time:.3f} s, "
          f"load + figures {load + figures_time:.2f} s  → pandas (figures only) / roll-up = {figures_time / warm:.1f}×, "
          f"(load + figures) / roll-up = {(load + figures_time) / warm:.1f}×")
    by_key = {r.key: r.actual for r in results}
    bad = {k: (v, by_key[k]) for k, v in figures.items() if not math.isclose(float(v), float(by_key[k]), rel_tol=1e-9)}
    print("pandas figures agree with the roll-up" if not bad else f"MISMATCH pandas vs roll-up: {bad}")
    db.close()
    if not keep:
        for p in folder.glob(f"bench-{size}.*"):
            p.unlink()
    return {"size": size, "rollup": warm, "floor": floor, "pandas": figures_time, "pandas_load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts")
    parser.add_argument("--dir", default="/tmp/fieldlog-bench", help="scratch folder for the databases and CSVs")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"fieldlog roll-up benchmark · Python {sys.version.split()[0]} · SQLite "
          f"{__import__('sqlite3').sqlite_version}")
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, folder, args.keep)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
