"""Sign-in, throttling, sessions, CSRF, roles and bearer tokens."""

from datetime import datetime, timedelta, timezone

import pytest
from fastapi import APIRouter, Depends

from fieldlog import accounts
from fieldlog.errors import InvalidInput
from fieldlog.web import require
from tests.conftest import PASSWORD, Client, login


def test_password_is_hashed_with_argon2(db, users):
    stored = accounts.get_user_by_name(db, "alice")["password_hash"]
    assert stored.startswith("$argon2") and PASSWORD not in stored


def test_short_password_refused(db):
    with pytest.raises(InvalidInput) as exc:
        accounts.create_user(db, "eve", "伊芙", "inspector", "short")
    assert "password" in exc.value.errors
    assert accounts.get_user_by_name(db, "eve") is None


def test_wrong_password_shows_chinese_message(client_for):
    client = client_for(None)
    response = login(client, "alice", "wrong-password-123")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_repeated_failures_lock_the_username_for_a_while(db, users):
    t0 = datetime(2021, 5, 1, 8, 0, tzinfo=timezone.utc)
    for i in range(accounts.MAX_FAILURES):
        user, _ = accounts.authenticate(db, "bob", "nope-nope-nope", "1.2.3.4", now=t0 + timedelta(seconds=i))
        assert user is None
    user, reason = accounts.authenticate(db, "bob", PASSWORD, "1.2.3.4", now=t0 + timedelta(minutes=1))
    assert user is None and "次数过多" in reason
    later = t0 + accounts.LOCK_WINDOW + timedelta(minutes=1)
    user, reason = accounts.authenticate(db, "bob", PASSWORD, "1.2.3.4", now=later)
    assert user is not None and reason is None


def test_lockout_through_the_login_page(client_for):
    client = client_for(None)
    for _ in range(accounts.MAX_FAILURES):
        assert login(client, "bob", "wrong-password-123").status_code == 401
    response = login(client, "bob", PASSWORD)
    assert response.status_code == 401 and "次数过多" in response.text


def test_login_starts_a_new_session_and_cookie_flags(client_for):
    client = client_for(None)
    response = login(client, "alice")
    cookie = response.headers["set-cookie"]
    assert "fieldlog_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http in tests
    first = client.cookies.get("fieldlog_session")
    login(client, "alice")
    assert client.cookies.get("fieldlog_session") != first


def test_secure_cookie_over_https(app, users):
    client = Client(app, base_url="https://testserver")
    response = login(client, "alice")
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_logout_ends_the_session_server_side(client_for):
    client = client_for("alice")
    stolen = client.cookies.get("fieldlog_session")
    assert client.post_form("/logout", follow_redirects=False).status_code == 303
    other = Client(client.app, base_url="http://testserver")
    other.cookies.set("fieldlog_session", stolen)
    assert other.get("/", follow_redirects=False).status_code == 303


def test_missing_or_wrong_csrf_token_is_refused(client_for, db):
    client = client_for("alice")
    response = client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403 and "CSRF" in response.text
    response = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in: nothing changed
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'csrf_refused'").fetchone()[0] == 2


def test_login_form_itself_needs_the_csrf_token(client_for):
    client = client_for(None)
    response = client.post("/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403


def test_pages_redirect_to_login_and_api_answers_401(client_for):
    client = client_for(None)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/")
    assert client.get("/api/v1/whoami-probe").status_code in (401, 404)


@pytest.fixture
def guarded_app(app):
    router = APIRouter()

    @router.get("/probe/admin")
    def admin_only(user=Depends(require("admin"))):
        return {"ok": user["username"]}

    @router.get("/api/v1/probe/chief")
    def chief_only(user=Depends(require("chief"))):
        return {"ok": user["username"]}

    app.include_router(router)
    return app


def test_role_is_checked_on_the_server(guarded_app, client_for, db):
    inspector = client_for("alice")
    response = inspector.get("/probe/admin")
    assert response.status_code == 403 and "无权" in response.text
    assert client_for("dave").get("/probe/admin").json() == {"ok": "dave"}
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'forbidden'").fetchone()[0] == 1


def test_bearer_token_is_stored_hashed_and_can_be_revoked(guarded_app, db, users):
    token = accounts.create_token(db, "carol", "integration")
    assert db.execute("SELECT count(*) FROM api_tokens WHERE token_hash = ?", [token]).fetchone()[0] == 0
    client = Client(guarded_app)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/probe/chief", headers=headers).json() == {"ok": "carol"}
    assert client.get("/api/v1/probe/chief", headers={"Authorization": "Bearer fl_wrong"}).status_code == 401
    token_id = accounts.list_tokens(db)[0]["id"]
    assert accounts.revoke_token(db, token_id)
    assert client.get("/api/v1/probe/chief", headers=headers).status_code == 401


def test_sign_ins_and_refusals_are_audited(client_for, db):
    client = client_for(None)
    login(client, "alice", "wrong-password-123")
    login(client, "alice")
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY id").fetchall()]
    assert actions[:2] == ["login_failed", "login"]


def test_disabled_user_cannot_sign_in(db, users, client_for):
    db.execute("UPDATE users SET active = 0 WHERE username = 'bob'")
    assert login(client_for(None), "bob").status_code == 401


def test_api_write_without_credentials_is_401(client_for):
    client = client_for(None)
    response = client.post("/api/v1/events", json={})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_session_stays_alive_while_used_and_expires_when_idle(db, users):
    t0 = datetime(2021, 5, 1, 8, 0, tzinfo=timezone.utc)
    sid = accounts.start_session(db, users["alice"], now=t0)
    session, _ = accounts.session_user(db, sid, now=t0)
    accounts.touch_session(db, session, now=t0 + timedelta(minutes=30))  # too soon: no write
    assert accounts.session_user(db, sid, now=t0)[0]["last_seen_at"] == session["last_seen_at"]
    used = t0 + timedelta(days=10)
    accounts.touch_session(db, session, now=used)
    assert accounts.session_user(db, sid, now=used + timedelta(days=10)) is not None
    assert accounts.session_user(db, sid, now=used + accounts.SESSION_IDLE + timedelta(minutes=1)) is None


def test_failures_from_another_address_do_not_lock_the_user_out(db, users):
    t0 = datetime(2021, 5, 1, 8, 0, tzinfo=timezone.utc)
    for i in range(accounts.MAX_FAILURES + 3):
        accounts.authenticate(db, "alice", "guess-guess-guess", "203.0.113.9", now=t0 + timedelta(seconds=i))
    user, reason = accounts.authenticate(db, "alice", "guess-guess-guess", "203.0.113.9", now=t0 + timedelta(minutes=1))
    assert user is None and "次数过多" in reason
    user, reason = accounts.authenticate(db, "alice", PASSWORD, "10.1.1.5", now=t0 + timedelta(minutes=1))
    assert user is not None and reason is None


def test_one_address_trying_many_names_is_locked(db, users):
    t0 = datetime(2021, 5, 1, 8, 0, tzinfo=timezone.utc)
    for i in range(accounts.MAX_FAILURES_PER_ADDRESS):
        accounts.authenticate(db, f"user{i}", "guess-guess-guess", "203.0.113.7", now=t0 + timedelta(seconds=i))
    user, reason = accounts.authenticate(db, "bob", PASSWORD, "203.0.113.7", now=t0 + timedelta(minutes=2))
    assert user is None and "次数过多" in reason
    user, _ = accounts.authenticate(db, "bob", PASSWORD, "203.0.113.7", now=t0 + accounts.LOCK_WINDOW + timedelta(minutes=1))
    assert user is not None


def test_production_hasher_is_argon2_at_recommended_cost():
    """Only the tests swap in cheap parameters: the server's hasher is pwdlib's recommended argon2id."""
    stored = accounts.PRODUCTION_HASHER.hash("correct-horse-battery")
    assert stored.startswith("$argon2id$") and "m=65536,t=3,p=4" in stored
