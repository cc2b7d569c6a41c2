"""Shared fixtures: a real SQLite file with the real migrations, named users, the app's clock, a signed-in
client, databases built once per run and copied, a real browser."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from fastapi.testclient import TestClient

from fieldlog import accounts, config, db as db_mod
from fieldlog.web import create_app
from tests.factories import NOW, enter_manual, met_year

PASSWORD = "correct-horse-battery"

# The app commits with synchronous=FULL: every commit waits for the disk (about 5 ms here) and tests commit
# thousands of times. Their files (databases, photos) go to RAM when the machine has a tmpfs, where that wait
# is nothing; they are real SQLite files all the same. TMPDIR, when set, still decides.
_RAM = Path("/dev/shm")
if "TMPDIR" not in os.environ and _RAM.is_dir() and os.access(_RAM, os.W_OK):
    tempfile.tempdir = str(_RAM)

# Production hashes with pwdlib's recommended argon2 (about 150 ms a hash here); tests hash with the
# same algorithm at the cheapest parameters, so sign-in still goes through the real verification.
from pwdlib import PasswordHash  # noqa: E402
from pwdlib.hashers.argon2 import Argon2Hasher  # noqa: E402

accounts.use_hasher(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)))


class FixedClock:
    """A clock for the app under test: starts at a given instant and moves only when told."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


class RealClock:
    """The real time: the app's clock in tests where a browser's own (real) clock takes part."""

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc)


@pytest.fixture
def clock(request) -> FixedClock | RealClock:
    """The app's clock, also what a test passes as `now`: fixed at factories.NOW (a test may set `clock.at`
    or `clock.advance(...)`), so no test depends on the date it runs.

    A test that drives the live server from a browser gets the real time instead: the phone's JavaScript
    stamps entries with the browser's real clock, and a server fixed in the past would refuse them as "in
    the future" and leave them out of "today". Such tests take `now` from this clock too.
    """
    live = {"live_server", "recorded_server"} & set(request.fixturenames)
    return RealClock() if live else FixedClock(NOW)


@pytest.fixture
def cfg(tmp_path: Path, clock) -> config.Config:
    """Settings pointing at a fresh folder, with the test's clock."""
    settings = config.load(env={}, data_dir=str(tmp_path / "data"), secret_key="test-secret-key")
    settings.clock = clock
    return settings


@pytest.fixture
def db(cfg):
    """A migrated database file."""
    database = db_mod.open_db(cfg.database)
    yield database
    database.close()


def make_users(db) -> dict[str, int]:
    """alice and bob (inspectors), carol (chief), dave (admin)."""
    return {
        "alice": accounts.create_user(db, "alice", "艾丽丝", "inspector", PASSWORD),
        "bob": accounts.create_user(db, "bob", "鲍勃", "inspector", PASSWORD),
        "carol": accounts.create_user(db, "carol", "卡罗尔", "chief", PASSWORD),
        "dave": accounts.create_user(db, "dave", "戴夫", "admin", PASSWORD),
    }


@pytest.fixture
def users(db) -> dict[str, int]:
    """alice and bob (inspectors), carol (chief), dave (admin)."""
    return make_users(db)


# --- databases built once per run ----------------------------------------------------------------

@pytest.fixture(scope="session")
def built_once(tmp_path_factory) -> Callable[[str, Callable[[Path], object]], tuple[Path, object]]:
    """built_once(name, build) -> (path, result): the database file that build(path) writes (returning
    something JSON can hold), built once per run: the xdist workers share it, one builds while the others
    wait on a lock. Tests copy it, never write to it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by the workers (each has its own below it)

    def get(name: str, build: Callable[[Path], object]) -> tuple[Path, object]:
        path, result = root / f"{name}.db", root / f"{name}.json"
        with open(root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                building = root / f"{name}.building.db"
                for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):  # a build that failed
                    leftover.unlink(missing_ok=True)
                result.write_text(json.dumps(build(building)), encoding="utf-8")
                building.rename(path)
        return path, json.loads(result.read_text(encoding="utf-8"))

    return get


def copy_database(source: Path, target) -> None:
    """Replace everything in the open database `target` with the content of the file `source`."""
    conn = sqlite3.connect(source)
    try:
        conn.backup(target.conn)
    finally:
        conn.close()


# The day the tests' demo is built for (`fieldlog demo --as-of`): 2021 complete, 2022 up to 16 March.
DEMO_AS_OF = "2022-03-16"


@pytest.fixture(scope="session")
def demo_database(built_once) -> tuple[Path, str]:
    """The demo database as `fieldlog demo --out FILE --as-of DEMO_AS_OF` builds it, once per run: (the file, the
    command's output)."""
    from click.testing import CliRunner

    from fieldlog.cli import main

    def build(path: Path) -> dict:
        env = {"FIELDLOG_DATA_DIR": str(path.parent / "demo-data"), "FIELDLOG_SECRET_KEY": "k"}
        result = CliRunner().invoke(main, ["demo", "--out", str(path), "--as-of", DEMO_AS_OF], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {"output": result.output}

    path, result = built_once("demo", build)
    return path, result["output"]


@pytest.fixture
def prebuilt(db, users, built_once):
    """prebuilt(build) -> what build returned: the test's database becomes what build(db) makes of a migrated
    database holding the `users` fixture's users (same ids), built once per run and copied.

    Call it before any client signs in (a copy replaces the sessions too)."""

    def fill(build: Callable) -> object:
        def make(path: Path) -> object:
            database = db_mod.open_db(path)
            try:
                make_users(database)
                return build(database)
            finally:
                database.close()

        path, result = built_once(f"{build.__module__}.{build.__qualname__}", make)
        copy_database(path, db)
        return result

    return fill


@pytest.fixture
def full_year(prebuilt):
    """A year (2021) whose every row is met, manual values entered: every page has something to show."""

    def build(db):
        met = met_year(db)
        enter_manual(db)
        return met

    return prebuilt(build)


@pytest.fixture
def app(cfg, db):
    return create_app(cfg)


def csrf_of(html: str) -> str:
    """The CSRF token a page carries."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


class Client(TestClient):
    """A TestClient that knows its current CSRF token."""

    csrf: str = ""

    def refresh_csrf(self, path: str = "/") -> str:
        self.csrf = csrf_of(self.get(path).text)
        return self.csrf

    def post_form(self, path: str, data: dict | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf)
        return self.post(path, data=data, **kw)


def login(client: Client, username: str, password: str = PASSWORD):
    client.refresh_csrf("/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": client.csrf,
                                           "next": "/"}, follow_redirects=False)
    if response.status_code == 303:
        client.refresh_csrf("/")
    return response


@pytest.fixture
def client_for(app, users):
    """Factory: a client signed in as the named user (or anonymous with None)."""
    clients = []

    def make(username: str | None) -> Client:
        client = Client(app, base_url="http://testserver")
        clients.append(client)
        if username:
            assert login(client, username).status_code == 303
        else:
            client.refresh_csrf("/login")
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def token_client(app, db, users):
    """Factory: a client that authenticates with a bearer token of the named user (a 500 comes back as an answer)."""
    clients = []

    def make(username: str) -> Client:
        client = Client(app, base_url="http://testserver", raise_server_exceptions=False)
        client.headers["Authorization"] = "Bearer " + accounts.create_token(db, username, "test")
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


# --- real browser -------------------------------------------------------------------------------

CHROMIUM = os.environ.get("FIELDLOG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def playwright_driver():
    """Playwright, started once per run, for tests that launch Chromium their own way (a persistent profile,
    other flags). Under CI=true a missing browser fails instead of skipping."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}: browser tests cannot run in CI")
        pytest.skip("system Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def pixel5(playwright_driver) -> dict:
    """Playwright's Pixel 5 (393 x 851, is_mobile, touch, its user agent) as context options."""
    return {k: v for k, v in playwright_driver.devices["Pixel 5"].items() if k != "default_browser_type"}


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """Headless system Chromium through Playwright. Under CI=true a missing browser fails instead of skipping."""
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


@pytest.fixture
def phone(browser):
    """A phone-sized browser context (360 x 740, touch)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    yield context
    context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, **options):
    """The app served by uvicorn (with these Config options) on a loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, **{"log_level": "warning", **options, "host": "127.0.0.1", "port": port}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    """The app served by uvicorn on a loopback port in a thread; yields its base URL."""
    with serving(app) as url:
        yield url


def browser_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)



def emulate_network(page, base_url: str, conditions: dict, cpu_slowdown: float | None = None) -> list[str]:
    """Network.emulateNetworkConditions (and the CPU slowdown, if given) on the page and on every service worker of
    `base_url` running now: the page's emulation does not reach its worker's own requests (the photo uploads).
    A worker is reached through the browser's CDP session (Target.sendMessageToTarget); returns their target ids.
    A worker started later is not covered: call again (bench/phone_photo.py checks the ids after each run)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", conditions)
    if cpu_slowdown:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
    browser = page.context.browser.new_browser_cdp_session()
    workers = [t for t in browser.send("Target.getTargets")["targetInfos"]
               if t["type"] == "service_worker" and t["url"].startswith(base_url + "/")]
    for worker in workers:
        session = browser.send("Target.attachToTarget", {"targetId": worker["targetId"], "flatten": False})["sessionId"]
        calls = [("Network.enable", {}), ("Network.emulateNetworkConditions", conditions)]
        if cpu_slowdown:
            calls.append(("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown}))
        for n, (method, params) in enumerate(calls):
            browser.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps(
                {"id": n + 1, "method": method, "params": params})})
    page._fieldlog_cdp = (cdp, browser)  # kept alive with the page: a detached session ends its emulation
    return [w["targetId"] for w in workers]


class Recorder:
    """ASGI wrapper that records every request the server answers: {method, path, query, body (bytes received),
    status}, in `seen`. What reached the server, whoever sent it (a page or its service worker)."""

    def __init__(self, app):
        self.app, self.seen = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        row = {"method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode(), "body": 0,
               "status": None}
        self.seen.append(row)

        async def counting():
            message = await receive()
            row["body"] += len(message.get("body", b""))
            return message

        async def status(message):
            if message["type"] == "http.response.start":
                row["status"] = message["status"]
            await send(message)

        await self.app(scope, counting, status)


@pytest.fixture
def recorded_server(app):
    """The app served by uvicorn like `live_server`, recording what reached it: (base URL, Recorder.seen)."""
    recorder = Recorder(app)
    with serving(recorder) as url:
        yield url, recorder.seen


class CuttableProxy:
    """A TCP proxy in front of a server, whose `cut()` closes every connection under way and refuses new ones
    until `restore()`: a signal that drops (the browser's emulated offline stops new requests but lets one under
    way run on, and Chromium retries a request whose connection closed on a new one)."""

    def __init__(self, target_port: int):
        self.target, self.pairs, self.lock, self.down = target_port, [], threading.Lock(), False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self) -> None:
        self.down = False

    def cut(self) -> None:
        with self.lock:
            self.down = True
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def cuttable_server(recorded_server):
    """`recorded_server` behind a CuttableProxy: (base URL through the proxy, what reached the server, the proxy)."""
    base, seen = recorded_server
    proxy = CuttableProxy(int(base.rsplit(":", 1)[1]))
    try:
        yield f"http://127.0.0.1:{proxy.port}", seen, proxy
    finally:
        proxy.close()
