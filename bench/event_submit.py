"""Benchmark: the server's handling of a JSON event submission (POST /api/v1/events), driven by wrk.

Run: python bench/event_submit.py [--duration 5] [--rounds 3] [--connections 16] [--threads 2]
Needs wrk (Debian: apt-get install -y wrk).

Starts the real app with `python -m fieldlog serve` (uvicorn, one process, as deployed; access log on,
SQLite WAL with synchronous=FULL as fieldlog.db sets it) on a free loopback port, over a temporary data
folder with one inspector, a bearer token and a site, and beside it the floor: a bare FastAPI app doing one
INSERT with synchronous=FULL (bench/bare_app.py, same uvicorn options). Both are warmed up, then, in the
same run, `--rounds` times: wrk saturates each app in turn at 1, 4 and 16 connections with the same
submissions (safety_patrol events, each with a fresh UUID: bench/event_submit.lua), the order of the two
apps alternating from one round to the next, so that a change in the shared machine's load or disk weighs on
both alike. The table gives each app's median over the rounds and the range of the per-round ratios.
Then 16 clients pausing between submissions (the latency targets' run) and GET /static/app.css (a trivial
endpoint of the app) as before.
Reports median and p99 latency from wrk and each server's CPU time per request (user + system, from /proc, its
reader process included), then counts the stored events: each 201 must be stored exactly once
(stored >= 201 responses, and no more than the requests wrk sent, since those still in flight when wrk
stops may also be stored), and the stored ids must be distinct.
Only loopback addresses; bounded duration.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from page_scaling import cpu_seconds  # noqa: E402 (bench/ is on the path: the script's own folder)

TARGET_MEDIAN_MS = 5.0
TARGET_P99_MS = 50.0
HERE = Path(__file__).resolve().parent
LUA = HERE / "event_submit.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(data_dir: Path) -> tuple[str, int]:
    """A fresh database with an inspector, a bearer token and a site; (token, site id)."""
    from fieldlog import accounts, config, db as db_mod, registry

    cfg = config.load(env={}, data_dir=str(data_dir))
    db = db_mod.open_db(cfg.database)
    accounts.create_user(db, "bench", "压测员", "inspector", "bench-password-123")
    token = accounts.create_token(db, "bench", "bench")
    site_id = registry.save_site(db, {"name": "压测工地", "reg_no": "BENCH-001", "started_on": "2020-01-01",
                                      "lat": "27.08", "lon": "112.95"})
    synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    db.close()
    assert synchronous == 2, "fieldlog.db.connect should set synchronous=FULL"
    return token, site_id


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/static/app.css", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start in time")


def run_wrk(base: str, args, env: dict, extra: list[str]) -> dict:
    """Run wrk with the Lua script and return its summary line as a dict."""
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "5s",
           "--latency", "-s", str(LUA), *extra, base + "/"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.duration + 60)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed: {out.stderr or out.stdout}")
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    raise SystemExit("wrk printed no summary:\n" + out.stdout)


def stored_events(database: Path) -> tuple[int, int]:
    """(rows, distinct ids) of events in the database."""
    conn = sqlite3.connect(str(database))
    try:
        return conn.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    finally:
        conn.close()


def start(cmd: list[str], env: dict, base: str) -> subprocess.Popen:
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(base, server)
    return server


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def rate(r: dict) -> float:
    return r["requests"] / (r["duration_us"] / 1e6)


LADDER = (1, 4, 16)


def one_run(base: str, args, env: dict, extra: list[str], c: int, pid: int) -> dict:
    """One saturated POST run at c connections, with the server's CPU time per request (cpu_us: what a shared
    machine's load does not inflate, unlike the rate)."""
    before = cpu_seconds(pid)
    result = run_wrk(base, argparse.Namespace(**{**vars(args), "connections": c, "threads": min(c, args.threads)}),
                     env, extra)
    result["cpu_us"] = (cpu_seconds(pid) - before) / max(1, result["requests"]) * 1e6
    return result


def median_run(runs: list[dict]) -> dict:
    """The run of median throughput (its latencies go with it)."""
    return sorted(runs, key=rate)[len(runs) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (at most 60)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the ladder, each app in turn (at most 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pause-ms", type=int, default=100,
                        help="think time of each client between submissions in the paced run (the targets' run)")
    args = parser.parse_args()
    args.duration = max(1, min(args.duration, 60))
    args.rounds = max(1, min(args.rounds, 10))
    if not shutil.which("wrk"):
        print("wrk is not installed: this benchmark needs it (Debian/Ubuntu: sudo apt-get install -y wrk).")
        return 2

    with tempfile.TemporaryDirectory(prefix="fieldlog-submit-") as tmp:
        data_dir = Path(tmp) / "data"
        token, site_id = prepare(data_dir)
        occurred = (datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=5)).isoformat(timespec="seconds")
        wrk_env = {**os.environ, "FIELDLOG_BENCH_SITE": str(site_id), "FIELDLOG_BENCH_OCCURRED_AT": occurred}
        auth = ["-H", f"Authorization: Bearer {token}"]
        warm = argparse.Namespace(**{**vars(args), "duration": 1, "connections": 2, "threads": 1})

        # The floor: a bare FastAPI app doing one INSERT (bench/bare_app.py), served beside fieldlog.
        bare_base = f"http://127.0.0.1:{free_port()}"
        bare_server = start([sys.executable, str(HERE / "bare_app.py"), str(Path(tmp) / "bare.db"),
                             bare_base.rsplit(":", 1)[1]], dict(os.environ), bare_base)
        base = f"http://127.0.0.1:{free_port()}"
        env = {**os.environ, "FIELDLOG_DATA_DIR": str(data_dir), "FIELDLOG_HTTPS": "off"}
        try:
            server = start([sys.executable, "-m", "fieldlog", "serve", "--host", "127.0.0.1", "--port",
                            base.rsplit(":", 1)[1]], env, base)
        except BaseException:
            stop(bare_server)
            raise
        apps = {"bare": (bare_base, bare_server), "fieldlog": (base, server)}
        try:
            # Warm up: first requests pay imports and caches.
            run_wrk(base, warm, {**wrk_env, "FIELDLOG_BENCH_GET": "/static/app.css"}, [])
            for name in apps:
                run_wrk(apps[name][0], warm, wrk_env, auth)
            before, _ = stored_events(data_dir / "fieldlog.db")
            # Saturation: every connection resends as soon as it is answered (throughput; latency is queueing).
            runs: dict[str, dict[int, list[dict]]] = {name: {c: [] for c in LADDER} for name in apps}
            for r in range(args.rounds):
                order = ("bare", "fieldlog") if r % 2 == 0 else ("fieldlog", "bare")
                print(f"round {r + 1} of {args.rounds} (load average {os.getloadavg()[0]:.1f}):", flush=True)
                for c in LADDER:
                    for name in order:
                        result = one_run(apps[name][0], args, wrk_env, auth, c, apps[name][1].pid)
                        runs[name][c].append(result)
                        print(f"  {name:<9}{c:>3} connections: {rate(result):>6.0f}/s, p50 {result['p50_us'] / 1000:6.2f} ms, "
                              f"p99 {result['p99_us'] / 1000:7.2f} ms, CPU {result['cpu_us']:5.0f} µs a request "
                              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
            mine = [result for c in LADDER for result in runs["fieldlog"][c]]
            sent = sum(result["sent"] for result in mine)
            created = sum(result["created"] for result in mine)
            others = sum(result["other_status"] for result in mine)
            time.sleep(1)  # let requests still in flight when wrk stopped finish
            after, distinct = stored_events(data_dir / "fieldlog.db")
            baseline = run_wrk(base, args, {**wrk_env, "FIELDLOG_BENCH_GET": "/static/app.css"}, [])
            # The targets' run: 16 clients at once, each pausing between submissions as a phone does.
            paced = run_wrk(base, args, {**wrk_env, "FIELDLOG_BENCH_PAUSE_MS": str(args.pause_ms)}, auth)
        finally:
            for _, process in apps.values():
                stop(process)

    bare = {c: median_run(runs["bare"][c]) for c in LADDER}
    mid = {c: median_run(runs["fieldlog"][c]) for c in LADDER}
    ratios = {c: sorted(rate(f) / rate(b) for f, b in zip(runs["fieldlog"][c], runs["bare"][c])) for c in LADDER}
    # The server's CPU time per request, median over the rounds (10 ms ticks over a run of thousands of requests).
    cpu = {name: {c: statistics.median(r["cpu_us"] for r in runs[name][c]) for c in LADDER} for name in runs}
    print()
    print(f"median of {args.rounds} round(s), wrk -d{args.duration}s each, the two apps in turn:")
    print(f"{'connections':<14}{'bare app /s':>12}{'fieldlog /s':>12}{'ratio':>8}{'rounds':>13}{'bare p50':>10}"
          f"{'fieldlog p50':>14}{'bare p99':>10}{'fieldlog p99':>14}{'CPU µs bare':>13}{'fieldlog':>10}")
    for c in LADDER:
        b, f = bare[c], mid[c]
        spread = f"{ratios[c][0]:.2f}–{ratios[c][-1]:.2f}"
        print(f"{c:<14}{rate(b):>12.0f}{rate(f):>12.0f}{rate(f) / rate(b):>8.2f}{spread:>13}{b['p50_us'] / 1000:>10.2f}"
              f"{f['p50_us'] / 1000:>14.2f}{b['p99_us'] / 1000:>10.2f}{f['p99_us'] / 1000:>14.2f}"
              f"{cpu['bare'][c]:>13.0f}{cpu['fieldlog'][c]:>10.0f}")
    submit, single = mid[max(LADDER)], mid[1]
    print()
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s against the real app on 127.0.0.1 "
          f"(uvicorn, one process, SQLite WAL + synchronous=FULL)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at the end of the run; "
          "figures are noisy when other work shares the machine")
    print()
    print(f"{'endpoint':<40}{'req/s':>9}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    rows = (("GET /static/app.css (baseline)", baseline), ("POST /api/v1/events, saturated", submit),
            (f"POST, {args.connections} clients, {args.pause_ms} ms pause", paced),
            ("POST /api/v1/events, 1 connection", single))
    for name, r in rows:
        errors = r["other_status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
        print(f"{name:<40}{r['requests'] / (r['duration_us'] / 1e6):>9.0f}{r['p50_us'] / 1000:>11.2f}"
              f"{r['p90_us'] / 1000:>9.2f}{r['p99_us'] / 1000:>9.2f}{r['max_us'] / 1000:>9.2f}{errors:>8}")
    stored = after - before
    in_flight = sent - created - others
    print()
    print(f"events: wrk got {created} × 201, {others} other statuses, "
          f"{in_flight} request(s) in flight when wrk stopped; stored {stored} (distinct ids: {distinct == after})")

    p50, p99 = paced["p50_us"] / 1000, paced["p99_us"] / 1000
    throughput = rate(submit)
    print(f"saturated: with {args.connections} connections each resending at once, latency is mostly queueing: "
          f"at least connections / throughput = {args.connections} / {throughput:.0f} per s = "
          f"{args.connections / throughput * 1000:.1f} ms. The targets are checked on the paced run "
          f"({paced['requests'] / (paced['duration_us'] / 1e6):.0f} submissions/s offered by {args.connections} clients).")
    nothing_lost = created <= stored <= created + in_flight and distinct == after
    no_errors = all(r["other_status"] == 0 and r["timeout"] == 0 for r in (*mine, paced))
    checks = [
        (p50 <= TARGET_MEDIAN_MS, f"paced run: median latency {p50:.2f} ms <= {TARGET_MEDIAN_MS:g} ms"),
        (p99 <= TARGET_P99_MS, f"paced run: p99 latency {p99:.2f} ms <= {TARGET_P99_MS:g} ms"),
        (nothing_lost, f"every 201 stored once: {created} <= {stored} stored <= {created + in_flight}, ids distinct"),
        (all(rate(mid[c]) >= 0.5 * rate(bare[c]) for c in (1, 16)),
         "at least half the bare app's throughput at 1 and 16 connections (medians of the rounds)"),
        (no_errors, f"no error responses ({sum(r['other_status'] for r in (*mine, paced))} non-201, "
                    f"{sum(r['timeout'] for r in (*mine, paced))} timeouts)"),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
