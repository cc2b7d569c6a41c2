"""Shared fixtures: a real SQLite file with the real migrations, named users, a signed-in client."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldlog import accounts, config, db as db_mod
from fieldlog.web import create_app

PASSWORD = "correct-horse-battery"

# Production hashes with pwdlib's recommended argon2 (about 150 ms a hash here); tests hash with the
# same algorithm at the cheapest parameters, so sign-in still goes through the real verification.
from pwdlib import PasswordHash  # noqa: E402
from pwdlib.hashers.argon2 import Argon2Hasher  # noqa: E402

accounts.use_hasher(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)))


@pytest.fixture
def cfg(tmp_path: Path) -> config.Config:
    """Settings pointing at a fresh folder."""
    return config.load(env={}, data_dir=str(tmp_path / "data"), secret_key="test-secret-key")


@pytest.fixture
def db(cfg):
    """A migrated database file."""
    database = db_mod.open_db(cfg.database)
    yield database
    database.close()


@pytest.fixture
def users(db) -> dict[str, int]:
    """alice and bob (inspectors), carol (chief), dave (admin)."""
    return {
        "alice": accounts.create_user(db, "alice", "艾丽丝", "inspector", PASSWORD),
        "bob": accounts.create_user(db, "bob", "鲍勃", "inspector", PASSWORD),
        "carol": accounts.create_user(db, "carol", "卡罗尔", "chief", PASSWORD),
        "dave": accounts.create_user(db, "dave", "戴夫", "admin", PASSWORD),
    }


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


# --- real browser -------------------------------------------------------------------------------

CHROMIUM = os.environ.get("FIELDLOG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium through Playwright. Under CI=true a missing browser fails instead of skipping."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}: browser tests cannot run in CI")
        pytest.skip("system Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
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


@pytest.fixture
def live_server(app):
    """The app served by uvicorn on a loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def browser_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


class FixedClock:
    """A clock for the app under test: starts at a given instant and moves only when told."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)
