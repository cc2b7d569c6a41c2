"""Sessions: the table keeps only a SHA-256 of the id the cookie carries, and a session ends 30 days after
sign-in however much it is used; migration 011 ends the sessions stored the old way."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta

from itsdangerous import URLSafeSerializer

from fieldlog import accounts, db as db_mod
from fieldlog.web import SESSION_COOKIE
from tests.conftest import PASSWORD, login
from tests.factories import NOW


def cookie_sid(client) -> str:
    """The session id inside the signed cookie, as the server reads it."""
    return URLSafeSerializer("test-secret-key", salt="session").loads(client.cookies.get(SESSION_COOKIE))


def every_stored_value(db) -> list:
    return [value for row in db.execute("SELECT * FROM sessions").fetchall() for value in row]


def test_the_table_keeps_the_hash_of_the_id_never_the_id(client_for, db):
    client = client_for("alice")
    sid = cookie_sid(client)
    key = hashlib.sha256(sid.encode()).hexdigest()
    assert sid and all(sid not in str(value) for value in every_stored_value(db))
    assert client.get("/", follow_redirects=False).status_code == 200
    # The CSRF token lives with the (hashed) session; logging out with it ends that row.
    assert db.execute("SELECT csrf_token FROM sessions WHERE id_hash = ? AND ended_at IS NULL", [key]).fetchone() == (
        client.csrf,)
    assert client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert client.post_form("/logout", follow_redirects=False).status_code == 303
    assert db.execute("SELECT ended_at IS NOT NULL FROM sessions WHERE id_hash = ?", [key]).fetchone() == (1,)


def test_knowing_the_stored_hash_signs_nobody_in(client_for, db, app):
    client_for("alice")
    (stored,) = db.execute("SELECT id_hash FROM sessions").fetchone()
    thief = client_for(None)
    thief.cookies.set(SESSION_COOKIE, URLSafeSerializer("test-secret-key", salt="session").dumps(stored))
    assert thief.get("/", follow_redirects=False).status_code == 303


def test_a_session_in_daily_use_still_ends_30_days_after_sign_in(db, users):
    sid = accounts.start_session(db, users["alice"], now=NOW)
    at = NOW
    while at < NOW + timedelta(days=29):
        at += timedelta(days=1)
        session, _ = accounts.session_user(db, sid, now=at)
        accounts.touch_session(db, session, now=at)
    assert accounts.session_user(db, sid, now=NOW + accounts.SESSION_LIFETIME - timedelta(minutes=1)) is not None
    assert accounts.session_user(db, sid, now=NOW + accounts.SESSION_LIFETIME + timedelta(minutes=1)) is None
    assert accounts.SESSION_LIFETIME == timedelta(days=30) > accounts.SESSION_IDLE


def test_through_the_pages_the_lifetime_counts_from_sign_in(client_for, clock):
    client = client_for("alice")
    for _ in range(4):  # used every week: never idle
        clock.advance(days=7)
        assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(days=2, minutes=1)  # 30 days and a minute after sign-in
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_cookie_lives_as_long_as_the_session_may(client_for):
    response = login(client_for(None), "alice", PASSWORD)
    assert f"Max-Age={int(timedelta(days=30).total_seconds())}" in response.headers["set-cookie"]


def test_migration_011_ends_the_sessions_stored_with_their_plain_id(tmp_path):
    path = tmp_path / "old.db"
    database = db_mod.connect(path)
    before = [f for f in db_mod.migration_files() if f.name < "011"]
    db_mod.migrate(database, before)
    user = accounts.create_user(database, "alice", "艾丽丝", "inspector", PASSWORD)
    at = NOW.isoformat(timespec="seconds")
    database.execute("INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                     ["plain-old-session-id", user, "old-csrf", at, at])
    assert "011_session_hashes" in db_mod.migrate(database)
    assert accounts.session_user(database, "plain-old-session-id", now=NOW) is None
    assert "plain-old-session-id" not in every_stored_value(database)
    columns = [row[1] for row in database.execute("PRAGMA table_info(sessions)").fetchall()]
    assert columns == ["id_hash", "user_id", "csrf_token", "created_at", "last_seen_at", "ended_at"]
    sid = accounts.start_session(database, user, now=NOW)
    assert accounts.session_user(database, sid, now=NOW)[1]["username"] == "alice"
    database.close()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
