"""Benchmark: what each heavy page costs as the database grows, through the real server over HTTP.

    python bench/page_scaling.py [--sizes 10000,100000,1000000] [--10m] [--dir /work/perfdata] [--runs 9]

For each size it builds a database with bench/make_big_db.py (reused when the folder already holds one of that
size), starts the app as `fieldlog serve` does (uvicorn and its reader process, cli.run_server) on a free loopback
port with the clock fixed at 2021-12-15 10:00 station time (in the year) and then at 2022-01-04 (the year closed),
and times each page below as a signed-in user (bearer token): one warm-up, then
the median of --runs requests (fewer when a page is slow: at most about --budget seconds per page). Beside them
the floor, `SELECT count(*) FROM events`, timed in the same run. Then one table: median per size, the bytes of
the answer, and the growth per 10× events. The machine may be shared: the load average is printed with every
figure, and beside each median the server process's CPU time per request (from /proc), which a shared
machine's load does not inflate. Targets (issue 10): at 1 M events every page ≤ 100 ms median (10 M: ≤ 200 ms), growth ≤ 2× per 10×.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import make_big_db  # noqa: E402

from fieldlog import cli  # noqa: E402

INSPECTOR = "insp00"
# (label, path, user) per phase: the pages of issue 10 in the year (the clock on 15 December 2021) and at its end
# (the clock on 4 January 2022, the year closed: the report of December, the indicators of the whole year).
PHASES = {
    "in-year": [
        ("review picker", "/log/rectification_review", INSPECTOR),
        ("follow-ups", "/chief/followups", "chief"),
        ("monthly report", "/chief/report", "chief"),
        ("coverage", "/chief", "chief"),
        ("drill-down", "/indicators/2021/safety_patrols", "chief"),
        ("log home", "/log", INSPECTOR),
        ("log form", "/log/safety_patrol", INSPECTOR),
        ("indicators mid-month", "/api/v1/indicators?year=2021&as_of=2021-06-15", "chief"),
        ("indicators today", "/api/v1/indicators?year=2021", "chief"),
    ],
    "year-end": [
        ("review picker", "/log/rectification_review", INSPECTOR),
        ("follow-ups", "/chief/followups", "chief"),
        ("monthly report", "/chief/report?month=2021-12", "chief"),
        ("drill-down", "/indicators/2021/safety_patrols", "chief"),
        ("log home", "/log", INSPECTOR),
        ("indicators 31 Dec", "/api/v1/indicators?year=2021", "chief"),
        ("evaluation", "/indicators/2021/evaluation", "chief"),
    ],
}
SERVER = """
import sys, uvicorn
from datetime import datetime, timezone
from fieldlog import cli, config
from fieldlog.web import create_app
cfg = config.load(env={{"FIELDLOG_READERS": {readers!r}}}, data_dir={data_dir!r}, database={database!r}, port={port})
cfg.clock = lambda: datetime({clock})
cli.server_options = lambda c, options=cli.server_options: {{**options(c), "log_level": "warning"}}
cli.run_server(create_app(cfg), cfg)
"""


def load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


IN_YEAR = "2021, 12, 15, 2, 0, tzinfo=timezone.utc"      # 10:00 station time, mid-December
YEAR_END = "2022, 1, 4, 2, 0, tzinfo=timezone.utc"       # early January: the year 2021 closed


def start_server(database: Path, extra_env: dict | None = None, readers: str = "1",
                 clock: str = IN_YEAR) -> tuple[subprocess.Popen, str]:
    """The app served as `fieldlog serve` serves it (its reader processes included; readers="0": none), with the
    clock fixed at `clock` (datetime arguments)."""
    port = free_port()
    code = SERVER.format(data_dir=str(database.parent), database=str(database), port=port, readers=readers,
                         clock=clock)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=HERE.parent, env={**os.environ, **(extra_env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/login", timeout=1)
            return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def database(folder: Path, size: int) -> tuple[Path, dict]:
    """The database of a size (built unless the folder already has it) and its tokens."""
    path, info_path = folder / f"big-{size}.db", folder / f"big-{size}.json"
    if not (path.exists() and info_path.exists()):
        print(f"building {size:,} events …", flush=True)
        info_path.write_text(json.dumps(make_big_db.build(path, size, log=lambda m: print(m, flush=True))))
    # A database built before the latest migrations is brought up to date here, not by the server's start (whose
    # wait would run out on 10 M events), and the time it took is said.
    t0 = time.perf_counter()
    if cli.bring_up_to_date(path):  # says which, as `fieldlog serve` does
        print(f"  in {time.perf_counter() - t0:.0f} s", flush=True)
    return path, json.loads(info_path.read_text())


def floor_ms(path: Path, runs: int) -> float:
    conn = sqlite3.connect(path)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute("SELECT count(*) FROM events").fetchone()
        times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return statistics.median(times)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the server process and its reader processes (fieldlog/readers.py) have used (Linux
    /proc; 10 ms ticks): a heavy page costs the reader's time and the main process's hand-over."""
    total = 0
    for p in [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def time_page(client: httpx.Client, url: str, token: str, runs: int, budget: float, timeout: float,
              pid: int) -> dict:
    """Median wall time of the page, and the server's CPU time per request (what a shared machine's load does
    not inflate: the CPU the page costs, however long it waited for a core)."""
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    try:
        first = client.get(url, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return {"ms": None, "note": f"> {timeout:.0f} s"}
    warm = time.perf_counter() - t0
    if first.status_code != 200:
        return {"ms": None, "note": f"HTTP {first.status_code}"}
    times = []
    spent = warm
    cpu0 = cpu_seconds(pid)
    while len(times) < runs and (spent < budget or len(times) < 1):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers, timeout=timeout)
        took = time.perf_counter() - t0
        assert r.status_code == 200, (url, r.status_code)
        times.append(took * 1000)
        spent += took
    cpu = (cpu_seconds(pid) - cpu0) / len(times) * 1000
    return {"ms": statistics.median(times), "cpu": cpu, "n": len(times), "bytes": len(first.content), "note": ""}


def run_size(folder: Path, size: int, args) -> dict:
    path, info = database(folder, size)
    events = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0]
    out = {"events": events, "floor": floor_ms(path, 9), "pages": {}}
    print(f"\n== {events:,} events == floor SELECT count(*): {out['floor']:.2f} ms ({load()})", flush=True)
    for phase, pages in PHASES.items():
        clock = IN_YEAR if phase == "in-year" else YEAR_END
        proc, base = start_server(path, clock=clock)
        try:
            with httpx.Client(base_url=base) as client:
                for label, url, user in pages:
                    if proc.poll() is not None:
                        proc, base = start_server(path, clock=clock)
                        client.base_url = base
                    res = time_page(client, url, info["tokens"][user], args.runs, args.budget, args.timeout,
                                    proc.pid)
                    if res["ms"] is None:  # a request still running in the server would skew the next pages
                        stop(proc)
                        proc, base = start_server(path, clock=clock)
                        client.base_url = base
                    out["pages"][(phase, label)] = res
                    shown = (f"{res['ms']:.1f} ms (median of {res['n']}; server CPU {res['cpu']:.0f} ms a request; "
                             f"{res['bytes'] / 1024:.0f} KB)" if res["ms"] else res["note"])
                    print(f"  {phase:<8} {label:<20} {url:<46} {shown}  ({load()})", flush=True)
        finally:
            stop(proc)
    return out


def table(results: list[dict]) -> None:
    print(f"\nSummary ({load()} at the end): median wall time / server CPU time per request · answer size")
    head = "| page | " + " | ".join(f"{r['events']:,}" for r in results) + " | growth per 10× (last step, wall / CPU) |"
    print(head)
    print("| --- " * (len(results) + 2) + "|")
    print("| `SELECT count(*)` floor | " + " | ".join(f"{r['floor']:.2f} ms" for r in results) + " | "
          + (f"{results[-1]['floor'] / results[-2]['floor']:.1f}×" if len(results) > 1 else "") + " |")
    for phase, pages in PHASES.items():
        for label, url, _ in pages:
            cells, values, cpus = [], [], []
            for r in results:
                p = r["pages"].get((phase, label), {})
                values.append(p.get("ms"))
                cpus.append(p.get("cpu"))
                cells.append(f"{p['ms']:.0f} / {p['cpu']:.0f} ms · {p['bytes'] / 1024:.0f} KB" if p.get("ms")
                             else p.get("note", "—"))
            growth = "—"
            if len(values) > 1 and values[-1] and values[-2]:
                growth = f"{values[-1] / values[-2]:.1f}×"
                if cpus[-1] and cpus[-2]:
                    growth += f" / {cpus[-1] / cpus[-2]:.1f}×"
            print(f"| {phase} `{url}` | " + " | ".join(cells) + f" | {growth} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--10m", dest="ten_million", action="store_true", help="add 10,000,000 events (slow to build)")
    parser.add_argument("--dir", type=Path, default=Path("/work/perfdata"))
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--budget", type=float, default=15.0, help="seconds spent on one page at most (about)")
    parser.add_argument("--timeout", type=float, default=60.0, help="a page slower than this is reported as such")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")] + ([10_000_000] if args.ten_million else [])
    print(f"fieldlog page scaling · Python {sys.version.split()[0]} · SQLite {sqlite3.sqlite_version} · {load()}")
    results = [run_size(args.dir, size, args) for size in sizes]
    table(results)


if __name__ == "__main__":
    main()
