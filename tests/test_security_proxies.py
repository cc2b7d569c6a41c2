"""Client addresses: X-Forwarded-For / X-Forwarded-Proto are believed only from FIELDLOG_TRUSTED_PROXIES.

The server here runs with the options `fieldlog serve` gives uvicorn (cli.server_options), on a loopback
port, and every request comes from 127.0.0.1: any process on the host could send these headers.
"""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest
from click.testing import CliRunner

from fieldlog import accounts, config
from fieldlog.cli import main, server_options
from fieldlog.db import scalar
from fieldlog.messages import t
from fieldlog.web import SESSION_COOKIE, create_app
from tests.conftest import PASSWORD, csrf_of, serving


@contextmanager
def serving_as_cli(cfg):
    """The app for cfg served as `fieldlog serve` serves it; yields an httpx client for it."""
    with serving(create_app(cfg), **server_options(cfg)) as url, httpx.Client(base_url=url) as client:
        yield client


def sign_in(client: httpx.Client, password: str, headers: dict) -> httpx.Response:
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": "alice", "password": password, "csrf_token": csrf, "next": "/"},
                       headers=headers)


def test_forged_forwarded_for_does_not_dodge_the_lockout(cfg, db, users):
    assert cfg.trusted_proxies == ()  # the default: no proxy is trusted
    with serving_as_cli(cfg) as client:
        answers = [sign_in(client, "wrong-password-1", {"X-Forwarded-For": f"203.0.113.{i}"})
                   for i in range(accounts.MAX_FAILURES + 1)]
    assert [r.status_code for r in answers] == [401] * (accounts.MAX_FAILURES + 1)
    assert t("accounts.locked_out", minutes=15) in answers[-1].text
    assert [r[0] for r in db.conn.execute("SELECT DISTINCT ip FROM login_attempts")] == ["127.0.0.1"]
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'login_locked' AND ip = '127.0.0.1'") == 1


def test_trusted_proxy_forwarded_for_is_the_address_counted(cfg, db, users):
    cfg.trusted_proxies = config.parse_proxies("10.0.0.0/8, 127.0.0.1")
    with serving_as_cli(cfg) as client:
        visitor = {"X-Forwarded-For": "203.0.113.7"}
        answers = [sign_in(client, "wrong-password-1", visitor) for _ in range(accounts.MAX_FAILURES + 1)]
        # another visitor behind the same proxy is not locked out by the first one's failures
        other = sign_in(client, PASSWORD, {"X-Forwarded-For": "198.51.100.2"})
    assert t("accounts.locked_out", minutes=15) in answers[-1].text
    assert t("accounts.locked_out", minutes=15) not in answers[-2].text
    assert other.status_code == 303
    rows = db.conn.execute("SELECT ip, ok FROM login_attempts ORDER BY id").fetchall()
    assert rows == [("203.0.113.7", 0)] * accounts.MAX_FAILURES + [("198.51.100.2", 1)]


@pytest.mark.parametrize("trusted, secure", [("", False), ("127.0.0.1", True)])
def test_forwarded_proto_https_marks_the_request_secure_only_from_a_trusted_proxy(cfg, db, users, trusted, secure):
    cfg.trusted_proxies = config.parse_proxies(trusted)
    assert cfg.https == "auto"
    with serving_as_cli(cfg) as client:
        response = sign_in(client, PASSWORD, {"X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")]
    assert ("; secure" in cookie.lower()) is secure, cookie


def test_trusted_proxies_setting_takes_addresses_and_networks_only(tmp_path):
    env = {"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_SECRET_KEY": "k"}
    assert config.load(env=env).trusted_proxies == ()
    given = config.load(env={**env, "FIELDLOG_TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8,::1 ,"}).trusted_proxies
    assert given == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    with pytest.raises(ValueError, match="proxy.local"):
        config.load(env={**env, "FIELDLOG_TRUSTED_PROXIES": "127.0.0.1, proxy.local"})
    # `fieldlog serve` refuses to start on a setting it cannot use, and says why
    result = CliRunner().invoke(main, ["serve"], env={**env, "FIELDLOG_TRUSTED_PROXIES": "*"})
    assert result.exit_code == 1 and t("cli.trusted_proxy_invalid", item="*") in result.output
    assert server_options(config.load(env=env))["proxy_headers"] is False
