"""fieldlog behind a real Caddy terminating TLS with its internal CA (`tls internal`), as docs/deploy.md sets it
up, checked over HTTPS from Chromium on a phone: Secure session cookie, HSTS, the client address as Caddy
reports it (FIELDLOG_TRUSTED_PROXIES=127.0.0.1), the service worker registered, survey codes at the public
address.

Caddy runs as this test's own process with its data and config under tmp_path (XDG_DATA_HOME,
XDG_CONFIG_HOME, HOME), no admin endpoint, and `skip_install_trust`: it touches no system trust store and no
port below 1024. Under CI=true a missing caddy fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from fieldlog import config
from fieldlog.cli import server_options
from fieldlog.db import one
from fieldlog.web import HSTS, SESSION_COOKIE, create_app
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, RealClock, browser_login, pixel5, serving

NAME = "fieldlog.test"  # a name of the reserved .test domain, mapped to the loopback inside Chromium only


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# The browser reaches Caddy over ::1 while Caddy reaches fieldlog over 127.0.0.1: the address fieldlog records
# then tells whether it came from X-Forwarded-For (::1) or from the connection (127.0.0.1).
LISTEN = "::1" if _ipv6_loopback() else "127.0.0.1"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def caddy_binary() -> str:
    found = shutil.which("caddy")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("caddy not found: the reverse-proxy test cannot run in CI (apt-get install caddy)")
        pytest.skip("caddy not installed")
    return found


CADDYFILE = """\
{{
	admin off
	local_certs
	skip_install_trust
	auto_https disable_redirects
	http_port {http_port}
	https_port {port}
}}

https://{name}:{port} {{
	bind {listen}
	tls internal
	reverse_proxy 127.0.0.1:{upstream}
	log {{
		output file {access_log}
		format json
	}}
}}
"""


@contextmanager
def caddy_in_front(caddy_binary: str, tmp: Path, upstream: int):
    """A Caddy process proxying https://NAME:PORT to 127.0.0.1:upstream; yields (base URL, access log path)."""
    port, access_log = _free_port(LISTEN), tmp / "access.log"
    caddyfile = tmp / "Caddyfile"
    caddyfile.write_text(CADDYFILE.format(name=NAME, port=port, http_port=_free_port("127.0.0.1"), listen=LISTEN,
                                          upstream=upstream, access_log=access_log), encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config")}
    with open(tmp / "caddy.log", "wb") as log:
        process = subprocess.Popen([caddy_binary, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        deadline = time.time() + 20
        while True:
            assert process.poll() is None, "caddy exited: " + (tmp / "caddy.log").read_text(errors="replace")[-2000:]
            try:
                socket.create_connection((LISTEN, port), timeout=0.5).close()
                break
            except OSError:
                assert time.time() < deadline, "caddy did not start listening"
                time.sleep(0.1)
        yield f"https://{NAME}:{port}", access_log
    finally:
        process.kill()  # all it wrote is in tmp: nothing to shut down cleanly
        process.wait()
    # Its certificates stayed in tmp: the internal CA's root is where docs/deploy.md says phones get it from.
    assert (tmp / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt").exists()


def caddy_remote_ips(access_log: Path, method: str, path: str) -> list[str]:
    """The client addresses Caddy logged for requests `method path`."""
    out = []
    for line in access_log.read_text(encoding="utf-8").splitlines():
        request = json.loads(line).get("request", {})
        if request.get("method") == method and request.get("uri", "").split("?")[0] == path:
            out.append(request["remote_ip"])
    return out


@pytest.mark.browser
def test_behind_caddy_over_https_on_a_phone(caddy_binary, playwright_driver, cfg, db, users, tmp_path):
    cfg.clock = RealClock()  # the phone's service worker and pages run on real time
    cfg.trusted_proxies = config.parse_proxies("127.0.0.1")
    (tmp_path / "caddy").mkdir()
    with serving(create_app(cfg), **server_options(cfg)) as direct, \
            caddy_in_front(caddy_binary, tmp_path / "caddy", int(direct.rsplit(":", 1)[1])) as (base, access_log):
        cfg.public_url = config.parse_public_url(base)  # read at each request: links made from now on use it
        # Chromium does not know Caddy's private CA: it is told to accept the certificate (a phone installs
        # the root instead, see docs/deploy.md). With ignore_https_errors alone it would refuse the service worker.
        browser = playwright_driver.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS + ["--ignore-certificate-errors", f"--host-resolver-rules=MAP {NAME} {'[::1]' if ':' in LISTEN else LISTEN}"])
        try:
            phone = browser.new_context(**pixel5(playwright_driver), locale="zh-CN", timezone_id="Asia/Shanghai",
                                        extra_http_headers={"X-Forwarded-For": "203.0.113.9"})  # a forgery
            page = phone.new_page()
            first = page.goto(f"{base}/login")
            assert first.ok and first.security_details()["issuer"].startswith("Caddy Local Authority")
            assert first.headers["strict-transport-security"] == HSTS
            browser_login(page, base, "alice")
            # The session cookie: Secure (HTTPS as Caddy reported it in X-Forwarded-Proto), HttpOnly.
            cookie = next(c for c in phone.cookies() if c["name"] == SESSION_COOKIE)
            assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            # The address fieldlog counted is the one Caddy saw, not Caddy's own nor the forged one.
            reported = caddy_remote_ips(access_log, "POST", "/login")
            assert reported == [LISTEN]
            attempt = one(db, "SELECT ip, ok FROM login_attempts ORDER BY id DESC LIMIT 1")
            assert attempt == {"ip": reported[0], "ok": 1}
            assert one(db, "SELECT ip FROM audit_log WHERE action = 'login' ORDER BY id DESC LIMIT 1")["ip"] == reported[0]
            # The phone's service worker registers over HTTPS and controls the logging page.
            log = page.goto(f"{base}/log")
            assert log.headers["strict-transport-security"] == HSTS
            assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)") == f"{base}/sw.js"
            page.reload()
            assert page.evaluate("navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL") \
                == f"{base}/sw.js"
            # A survey code made here points at the public HTTPS address, and a visitor opens it through Caddy.
            page.goto(f"{base}/surveys/new")
            assert page.locator("#public-url-warning").count() == 0
            page.click("label.survey-option:has-text('知晓率')")
            page.click("form[action='/surveys/new'] button[type=submit]")
            page.wait_for_url(re.compile(r"/surveys/\d+$"))
            link = page.get_attribute("a.survey-url", "href")
            assert link.startswith(f"{base}/s/")
            visitor = browser.new_context(**pixel5(playwright_driver), locale="zh-CN").new_page()
            assert visitor.goto(link).ok and "知晓情况调查" in visitor.text_content("h1")
        finally:
            browser.close()



# --- docs/deploy.md: what it tells the admin to write works ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy.md"


def doc_block(first_line: str) -> str:
    """The fenced block of docs/deploy.md whose first line starts with `first_line` (a comment naming the file)."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", DEPLOY.read_text(encoding="utf-8"), flags=re.M | re.S)
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"docs/deploy.md: {len(found)} blocks start with {first_line!r}"
    return found[0]


def unit_values(unit: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(f"{key}=")]


@pytest.mark.parametrize("which", ["a public domain", "a station LAN"])
def test_the_documented_caddyfiles_are_valid(caddy_binary, tmp_path, which):
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(doc_block(f"# /etc/caddy/Caddyfile: {which}"), encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    adapted = subprocess.run([caddy_binary, "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"],
                             capture_output=True, text=True, env=env, timeout=30)
    assert adapted.returncode == 0, adapted.stderr
    routes = json.dumps(json.loads(adapted.stdout)["apps"]["http"])
    assert '"upstreams": [{"dial": "127.0.0.1:8000"}]' in routes


def test_the_documented_settings_load():
    lines = [line for line in doc_block("# /etc/fieldlog/fieldlog.env").splitlines() if line and not line.startswith("#")]
    env = dict(line.split("=", 1) for line in lines)
    cfg = config.load(env={**env, "FIELDLOG_SECRET_KEY": "k"})
    assert cfg.trusted_proxies == ("127.0.0.1/32",) and cfg.host == "127.0.0.1"
    assert cfg.public_url.startswith("https://") and config.public_url_problem(cfg.public_url) is None
    service = doc_block("# /etc/systemd/system/fieldlog.service")
    assert unit_values(service, "EnvironmentFile") == ["/etc/fieldlog/fieldlog.env"]
    assert unit_values(service, "ExecStart") == ["/opt/fieldlog/bin/fieldlog serve"]


def test_the_documented_backup_unit_makes_a_backup_and_drops_old_ones(cfg, db, users, tmp_path):
    unit = doc_block("# /etc/systemd/system/fieldlog-backup.service")
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "fieldlog-20000101-000000.db"
    old.write_bytes(b"an old backup")
    (backups / "fieldlog-20000101-000000.db-media").mkdir()
    forty_days_ago = time.time() - 40 * 86400
    for path in (old, backups / "fieldlog-20000101-000000.db-media"):
        os.utime(path, (forty_days_ago, forty_days_ago))
    (cfg.media_dir / "ab").mkdir(parents=True)
    (cfg.media_dir / "ab" / "photo.jpg").write_bytes(b"jpeg")

    def run(command: str) -> None:
        # As systemd runs it: %% is %, with the station's settings; here the venv, the test's folders.
        command = (command.replace("%%", "%").replace("/opt/fieldlog/bin/fieldlog", f"{sys.executable} -m fieldlog")
                   .replace("/var/backups/fieldlog", str(backups)))
        env = {**os.environ, "FIELDLOG_DATA_DIR": str(cfg.data_dir), "FIELDLOG_DATABASE": str(cfg.database),
               "FIELDLOG_MEDIA_DIR": str(cfg.media_dir), "FIELDLOG_SECRET_KEY": "k"}
        done = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    (start,), (post,) = unit_values(unit, "ExecStart"), unit_values(unit, "ExecStartPost")
    run(start)
    run(post)
    made = sorted(p.name for p in backups.iterdir())
    assert len(made) == 2 and re.fullmatch(r"fieldlog-\d{8}-\d{6}\.db", made[0]) and made[1] == made[0] + "-media"
    copy = sqlite3.connect(backups / made[0])
    assert [r[0] for r in copy.execute("SELECT username FROM users ORDER BY id")] == ["alice", "bob", "carol", "dave"]
    copy.close()
    assert (backups / (made[0] + "-media") / "ab" / "photo.jpg").read_bytes() == b"jpeg"
    timer = doc_block("# /etc/systemd/system/fieldlog-backup.timer")
    assert unit_values(timer, "OnCalendar") and unit_values(timer, "Persistent") == ["true"]
