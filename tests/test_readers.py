"""Reader processes (fieldlog/readers.py): the chief's heavy pages never hold up an inspector's submission.

Each test runs the app in its own process the way `fieldlog serve` runs it (cli.run_server: the readers forked,
then uvicorn), on a real database file. The page that holds things up is made deterministic: a middleware
innermost in the app (so it runs wherever the page is answered) keeps the GIL for HOLD (3) seconds (libc's usleep
through ctypes.PyDLL, which never lets another thread run) when /chief/report is asked for with ?hold=1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from fieldlog import accounts, audit, config, db as db_mod
from tests import factories
from tests.conftest import PASSWORD, _free_port, make_users
from tests.test_ops import Server

ROOT = Path(__file__).resolve().parent.parent
HOLD = 3.0

SERVER = textwrap.dedent("""
    import ctypes, sys
    from starlette.middleware import Middleware
    from fieldlog import cli, config
    from fieldlog.web import create_app

    data_dir, readers, proxies, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg = config.load(env={"FIELDLOG_READERS": readers, "FIELDLOG_TRUSTED_PROXIES": proxies}, data_dir=data_dir,
                      port=port)
    # libc's usleep called through ctypes.PyDLL, which (unlike CDLL) keeps the GIL during the call: the page
    # holds the GIL for HOLD seconds exactly, whatever the machine's load, without using the CPU.
    usleep = ctypes.PyDLL(None).usleep

    class Hold:
        # Innermost: runs in whichever process answers the page.
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/chief/report" and b"hold=1" in scope["query_string"]:
                usleep(int(HOLD * 1_000_000))  # the GIL is not given up until it returns
            await self.app(scope, receive, send)

    app = create_app(cfg)
    app.user_middleware.append(Middleware(Hold))
    cli.server_options = lambda c, options=cli.server_options: {**options(c), "log_level": "warning"}
    cli.run_server(app, cfg)
""").replace("HOLD", repr(HOLD))


class Served(Server):
    """The app in its own process, as `fieldlog serve` runs it, with `readers` reader processes."""

    def __init__(self, data: Path, readers: int, proxies: str = ""):
        super().__init__({}, [sys.executable, "-c", SERVER, str(data), str(readers), proxies])

    def children(self) -> list[int]:
        return [int(c) for c in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()]


@pytest.fixture
def station(tmp_path):
    """A database with the test users, a site, and tokens for alice (inspector) and carol (chief)."""
    data = tmp_path / "data"
    database = db_mod.open_db(data / "fieldlog.db")
    users = make_users(database)
    site_id = factories.site(database, inspectors=[users["alice"]])
    tokens = {name: accounts.create_token(database, name, "test") for name in ("alice", "carol")}
    database.close()
    return {"data": data, "users": users, "site_id": site_id, "tokens": tokens}


def _submit(url: str, station: dict) -> tuple[float, dict]:
    body = {"id": str(uuid.uuid4()), "kind": "safety_patrol", "site_id": station["site_id"],
            "inspector_ids": [station["users"]["alice"]],
            "occurred_at": datetime.now(factories.TZ).replace(microsecond=0).isoformat(), "fields": {"finding": "无"}}
    t0 = time.perf_counter()
    response = httpx.post(f"{url}/api/v1/events", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {station['tokens']['alice']}"})
    assert response.status_code == 201, response.text
    return time.perf_counter() - t0, body


def _chief(station: dict) -> dict:
    return {"Authorization": f"Bearer {station['tokens']['carol']}"}


@pytest.mark.parametrize("readers", [1, 0], ids=["one-reader", "one-process"])
def test_a_heavy_page_does_not_hold_up_a_submission(station, readers):
    server = Served(station["data"], readers)
    try:
        _submit(server.url, station)  # warm: the first submission opens connections
        answers = []
        page = threading.Thread(target=lambda: answers.append(
            httpx.get(f"{server.url}/chief/report?hold=1", headers=_chief(station), timeout=60)))
        page.start()
        time.sleep(0.3)  # the page is holding the GIL of whichever process answers it
        took, _ = _submit(server.url, station)
        page.join()
        assert answers[0].status_code == 200 and "月度" in answers[0].text
    finally:
        server.stop()
    if readers:
        # Generous for a loaded machine (the submission itself takes milliseconds): well under the page's hold.
        assert took < HOLD / 2, f"a submission waited {took:.2f} s for the chief's page in the reader"
    else:
        # The baseline: one process answering both, the submission waits for the page (what readers prevent).
        assert took > HOLD * 0.7, f"a submission took only {took:.2f} s beside a page holding the GIL for {HOLD} s"


def test_the_reader_answers_as_the_main_process_would(station):
    """Sign-in (cookie and token), forwarded addresses, refusals, compression and query errors are the app's
    own, whichever process answers; what the reader writes (an audit line) lands in the one database."""
    server = Served(station["data"], 1, proxies="127.0.0.1")
    try:
        assert len(server.children()) == 1
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            login = browser.get("/login")
            csrf = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = browser.post("/login", data={"username": "carol", "password": PASSWORD, "csrf_token": csrf})
            assert signed.status_code in (200, 303), signed.text
            page = browser.get("/chief/report", headers={"Accept-Encoding": "gzip"})
            assert page.status_code == 200 and "月度" in page.text
            assert page.headers["content-encoding"] == "gzip" and page.headers["cache-control"] == "no-store"
            assert page.headers["x-frame-options"] == "DENY"
            wrong = browser.get("/chief/report", params={"month": "2021-13"})
            assert wrong.status_code == 422 and "月份" in wrong.text
        api = httpx.get(f"{server.url}/api/v1/indicators", params={"year": "二〇二一"}, headers=_chief(station))
        assert api.status_code == 422 and "year" in json.dumps(api.json(), ensure_ascii=False)
        refused = httpx.get(f"{server.url}/chief", timeout=30, headers={
            "Authorization": f"Bearer {station['tokens']['alice']}", "X-Forwarded-For": "203.0.113.9"})
        assert refused.status_code == 403
    finally:
        server.stop()
    database = db_mod.open_db(station["data"] / "fieldlog.db")
    lines = [line for line in audit.recent(database, 20) if line["action"] == "forbidden"]
    database.close()
    assert [(line["target"], line["ip"], line["username"]) for line in lines] == [("/chief", "203.0.113.9", "alice")]


def test_a_dead_reader_leaves_the_pages_to_the_main_process(station):
    server = Served(station["data"], 1)
    try:
        (reader,) = server.children()
        assert httpx.get(f"{server.url}/chief", headers=_chief(station), timeout=30).status_code == 200
        os.kill(reader, signal.SIGKILL)
        time.sleep(0.5)
        again = [httpx.get(f"{server.url}/chief", headers=_chief(station), timeout=30) for _ in range(3)]
        assert [r.status_code for r in again] == [200, 200, 200]
        _submit(server.url, station)
    finally:
        server.stop()


def test_fieldlog_serve_starts_its_reader_and_none_when_told(station):
    for readers, expected in (("1", 1), ("0", 0)):
        port = _free_port()
        env = {**os.environ, "FIELDLOG_DATA_DIR": str(station["data"]), "FIELDLOG_READERS": readers}
        process = subprocess.Popen([sys.executable, "-m", "fieldlog", "serve", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/chief", headers=_chief(station), timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise AssertionError(process.stderr.read().decode()[-2000:])
            children = [int(c) for c in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
            assert len(children) == expected
        finally:
            process.terminate()
            process.wait(timeout=15)
        # uvicorn ends on SIGTERM by raising it again once shut down (-15); the reader ends with it, so nothing
        # keeps the database's in-use lock or the output open.
        assert process.returncode in (0, -signal.SIGTERM)
        deadline = time.time() + 10
        while any(Path(f"/proc/{c}").exists() for c in children) and time.time() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if Path(f"/proc/{c}").exists()], "a reader outlived fieldlog serve"
        assert "Traceback" not in process.stderr.read().decode()


@pytest.mark.parametrize("value", ["x", "-1", "9", "1.5", "²"])
def test_a_bad_number_of_readers_stops_the_start_in_chinese(tmp_path, value):
    with pytest.raises(ValueError, match="FIELDLOG_READERS") as raised:
        config.load(env={"FIELDLOG_READERS": value}, data_dir=str(tmp_path))
    assert "0 到 8" in str(raised.value)
    result = subprocess.run([sys.executable, "-m", "fieldlog", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_READERS": value},
                            timeout=60)
    assert result.returncode != 0 and "FIELDLOG_READERS" in result.stderr and "Traceback" not in result.stderr
