"""Lighthouse (mobile) on the pages issue 12 names: performance, accessibility and best-practices, each at least 95.

Run: python tools/lighthouse.py [--keep DIR]

Serves the demo database (`fieldlog serve --demo`, in a temporary data directory) on a loopback port, signs in as
an inspector and as the chief over HTTP, and runs the Lighthouse pinned in package.json (`npm ci` first) with
Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) against each page, the session cookie passed as a
header. Prints each page's three scores and, for any score under the target, the audits that cost points.
Exits 1 when a score is under the target. Lighthouse's mobile preset: a Moto G Power, slow 4G, 4x CPU slowdown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGET = 95
PASSWORD = "fieldlog-demo"  # fieldlog.demo.DEMO_PASSWORD


def pages(year: int) -> list[tuple[str | None, str]]:
    """(who signs in, path) of each page audited: the last complete year's table and 绩效自评表."""
    return [(None, "/login"), ("inspector1", "/log"), ("inspector1", "/log/safety_patrol"), ("chief", "/chief"),
            ("chief", f"/indicators?year={year}"), ("chief", f"/indicators/{year}/evaluation")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "FIELDLOG_DATA_DIR": str(data), "FIELDLOG_SECRET_KEY": "lighthouse"}
    proc = subprocess.Popen([sys.executable, "-m", "fieldlog", "serve", "--demo", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180  # the demo database is built on first start
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start: " + proc.stderr.read().decode()[-2000:])


def session_cookie(base: str, username: str) -> str:
    """The Cookie header of a signed-in session."""
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        answer = client.post("/login", data={"csrf_token": token, "next": "/", "username": username,
                                             "password": PASSWORD})
        assert answer.status_code in (200, 303), answer.status_code
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def audit(url: str, cookie: str | None, out: Path) -> dict:
    flags = "--headless=new --no-sandbox --disable-gpu" if os.geteuid() == 0 else "--headless=new --disable-gpu"
    command = ["node", str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
               f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={flags}"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def costly(report: dict, category: str) -> list[str]:
    """The audits of a category that did not score full marks, weightiest first."""
    refs = sorted(report["categories"][category]["auditRefs"], key=lambda r: -r["weight"])
    found = []
    for ref in refs:
        a = report["audits"][ref["id"]]
        if ref["weight"] and a.get("score") is not None and a["score"] < 1:
            found.append(f"{ref['id']} ({a['score']:.2f}): {a.get('displayValue') or a['title']}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the JSON reports in this directory")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"Lighthouse not installed at {LIGHTHOUSE}: run `npm ci` at the repository root")
    with tempfile.TemporaryDirectory() as tmp:
        reports = args.keep or Path(tmp) / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        port = free_port()
        started = time.time()
        server = serve(Path(tmp) / "data", port)
        base = f"http://127.0.0.1:{port}"
        try:
            year = time.localtime().tm_year - 1
            cookies = {who: session_cookie(base, who) for who in {w for w, _ in pages(year) if w}}
            print(f"Lighthouse {json.loads((LIGHTHOUSE.parent.parent / 'package.json').read_text())['version']}, "
                  f"mobile preset; load average {os.getloadavg()[0]:.1f} at start")
            print(f"{'page':<34}" + "".join(f"{c:>16}" for c in CATEGORIES))
            failed = False
            for who, path in pages(year):
                name = re.sub(r"\W+", "_", path).strip("_") or "root"
                report = audit(base + path, cookies.get(who), reports / f"{name}.json")
                scores = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
                print(f"{path:<34}" + "".join(f"{scores[c]:>16}" for c in CATEGORIES))
                for c in CATEGORIES:
                    if scores[c] < TARGET:
                        failed = True
                        for line in costly(report, c):
                            print(f"    {c}: {line}")
            print(f"{time.time() - started:.0f} s in all; load average {os.getloadavg()[0]:.1f} at the end")
            return 1 if failed else 0
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
