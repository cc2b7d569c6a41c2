"""Users, passwords, sessions, login throttling, CSRF tokens and API bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlite_utils import Database

from fieldlog import audit
from fieldlog.db import marks, one, rows, write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.messages import t
from fieldlog.periods import utc, utc_stamp

# The roles, as stored in users.role; their Chinese names are LABELS["role"].
ROLES = ("inspector", "chief", "admin")
MIN_PASSWORD = 10
# Throttling: after this many failures within the window, refuse sign-in until it passes.
MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
LOCK_WINDOW = timedelta(minutes=15)
# An attempt whose only obstacle is other attempts still being verified waits this long for them to finish.
VERIFYING_WAIT = 10.0
SESSION_IDLE = timedelta(days=14)
# A session ends this long after sign-in even while in use (the cookie lives as long).
SESSION_LIFETIME = timedelta(days=30)

PRODUCTION_HASHER = PasswordHash.recommended()
_hasher = PRODUCTION_HASHER
# (hasher, hash of a random password made by it): what a sign-in for an unknown user is verified against.
_dummy: tuple[PasswordHash, str] | None = None


def use_hasher(hasher: PasswordHash) -> PasswordHash:
    """Replace the password hasher (tests use cheap argon2 parameters); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


def _dummy_hash() -> str:
    """A hash made by the current hasher, of a password nobody knows (made once per hasher).

    Verifying against it costs what verifying a real user's hash costs, so a sign-in for a user name that does
    not exist (or is deactivated) takes as long as one for a real user: the timing does not tell who exists.
    """
    global _dummy
    hasher = _hasher
    if _dummy is None or _dummy[0] is not hasher:
        _dummy = (hasher, hasher.hash(secrets.token_urlsafe(24)))
    return _dummy[1]


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")


def _now(now: datetime | None) -> datetime:
    return utc(now)


def validate_user(username: str, display_name: str, role: str, password: str | None) -> dict[str, str]:
    """Messages for a bad new-user form (empty when fine)."""
    errors = {}
    if not USERNAME_RE.match(username or ""):
        errors["username"] = t("accounts.username_invalid")
    if not (display_name or "").strip():
        errors["display_name"] = t("accounts.display_name_required")
    if role not in ROLES:
        errors["role"] = t("accounts.role_invalid")
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = t("accounts.password_too_short", n=MIN_PASSWORD)
    return errors


def create_user(db: Database, username: str, display_name: str, role: str, password: str,
                now: datetime | None = None, actor: dict | None = None, ip: str | None = None) -> int:
    """Create a user with an argon2-hashed password; InvalidInput when a field is bad or the name is taken.

    With `actor` (an administrator at work) the creation is audit-logged in the same transaction.
    """
    errors = validate_user(username, display_name, role, password)
    if errors:
        raise InvalidInput(errors)
    password_hash = _hasher.hash(password)  # the slow part, before the write lock is taken
    with write(db):
        if one(db, "SELECT 1 AS x FROM users WHERE username = ?", [username]):
            raise InvalidInput({"username": t("accounts.username_taken")})
        user_id = db.execute(
            "INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            [username, display_name.strip(), role, password_hash, utc_stamp(now)],
        ).lastrowid
        if actor:
            audit.record(db, "user_created", user=actor, target=f"user:{username}", detail={"role": role}, ip=ip,
                         now=now)
    return user_id


def set_password(db: Database, username: str, password: str, now: datetime | None = None,
                 actor: dict | None = None, ip: str | None = None) -> None:
    """Replace a user's password and end the user's sessions (audit-logged with `actor`, in the same transaction)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": t("accounts.password_too_short", n=MIN_PASSWORD)})
    user = get_user_by_name(db, username)
    if not user:
        raise InvalidInput({"username": t("accounts.no_such_user")})
    password_hash = _hasher.hash(password)
    with write(db):
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user["id"]])
        db.execute("UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
                   [utc_stamp(now), user["id"]])
        if actor:
            audit.record(db, "password_reset", user=actor, target=f"user:{username}", ip=ip, now=now)


def set_active(db: Database, user_id: int, active: bool, actor: dict, now: datetime | None = None) -> dict:
    """Deactivate or reactivate a user (a deactivated user can no longer sign in or use tokens); audit-logged."""
    target = get_user(db, user_id)
    if not target:
        raise NotFound(t("accounts.user_not_found"))
    if not active and target["id"] == actor["id"]:
        raise InvalidInput({"active": t("accounts.cannot_deactivate_self")})
    with write(db):
        db.execute("UPDATE users SET active = ? WHERE id = ?", [int(active), user_id])
        audit.record(db, "user_activated" if active else "user_deactivated", user=actor,
                     target=f"user:{target['username']}", now=now)
    return target


def get_user(db: Database, user_id: int) -> dict | None:
    return one(db, "SELECT * FROM users WHERE id = ?", [user_id])


def get_user_by_name(db: Database, username: str) -> dict | None:
    return one(db, "SELECT * FROM users WHERE username = ?", [username])


def list_users(db: Database, role: str | None = None) -> list[dict]:
    """All users (or those of one role), by role then name."""
    if role:
        return list(db.query("SELECT * FROM users WHERE role = ? ORDER BY display_name", [role]))
    return list(db.query("SELECT * FROM users ORDER BY role, display_name"))


def field_users(db: Database, ids: list[int] | None = None) -> list[dict]:
    """Active users who log events in the field (inspectors and the chief), optionally only those ids."""
    where, params = "", []
    if ids is not None:
        where, params = f" AND id IN ({marks(ids)})", list(ids)
    return rows(db, "SELECT id, username, display_name, role FROM users WHERE active = 1 AND role IN ('inspector', 'chief')"
                + where + " ORDER BY role DESC, display_name", params)


def inspectors(db: Database) -> list[dict]:
    """Active users who log events in the field (inspectors and the chief)."""
    return field_users(db)


# Attempts being verified right now (this process serves every request), per (user name, address) and per
# address. Their login_attempts rows already say failure; these counts tell how many of those are not yet known.
# Changed only while holding the write lock, so they agree with the rows.
_verifying_pair: Counter = Counter()
_verifying_address: Counter = Counter()
_verified = threading.Condition()


def _failures(db: Database, username: str, ip: str, now: datetime | None) -> tuple[int, int]:
    """Recent failed attempts (those being verified included) for this user name from this address, and from
    this address overall.

    Counting per (user name, address) means nobody can lock a colleague out from another machine;
    the per-address limit stops one machine from trying many user names. A success ends the count of the
    pair's earlier failures (by row order, so failures in the same second as the success are not lost).
    """
    since = (_now(now) - LOCK_WINDOW).isoformat(timespec="seconds")
    last_ok = one(db, "SELECT coalesce(max(id), 0) AS id FROM login_attempts WHERE username = ? AND ip = ? AND ok = 1",
                  [username, ip])["id"]
    pair = one(db, "SELECT count(*) AS n FROM login_attempts WHERE username = ? AND ip = ? AND ok = 0 AND at >= ? AND id > ?",
               [username, ip, since, last_ok])["n"]
    address = one(db, "SELECT count(*) AS n FROM login_attempts WHERE ip = ? AND ok = 0 AND at >= ?", [ip, since])["n"]
    return pair, address


def _reserve_attempt(db: Database, username: str, ip: str, now: datetime | None) -> int | None:
    """Record an attempt (as a failure until verified) and return its row id, or None when locked out.

    At most the limit of attempts are ever verified: when the limit is reached only because attempts are still
    being verified (a phone sending its sign-in twice, colleagues behind one NAT), this one waits for them to
    finish instead of being refused, and is refused only if they failed.
    """
    deadline = time.monotonic() + VERIFYING_WAIT
    while True:
        with write(db):
            pair, address = _failures(db, username, ip, now)
            known_pair, known_address = pair - _verifying_pair[username, ip], address - _verifying_address[ip]
            if known_pair >= MAX_FAILURES or known_address >= MAX_FAILURES_PER_ADDRESS:
                return None
            if pair < MAX_FAILURES and address < MAX_FAILURES_PER_ADDRESS:
                attempt = db.execute("INSERT INTO login_attempts (username, ip, at, ok) VALUES (?, ?, ?, 0)",
                                     [username, ip, utc_stamp(now)]).lastrowid
                _verifying_pair[username, ip] += 1
                _verifying_address[ip] += 1
                return attempt
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        with _verified:
            _verified.wait(min(remaining, 0.05))


def _settle_attempt(username: str, ip: str) -> None:
    """The attempt's verification is over (call while holding the write lock)."""
    for counter, key in ((_verifying_pair, (username, ip)), (_verifying_address, ip)):
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]
    with _verified:
        _verified.notify_all()


def authenticate(db: Database, username: str, password: str, ip: str, now: datetime | None = None) -> tuple[dict | None, str | None]:
    """(user, None) on success, else (None, zh-CN reason). Attempts are recorded and throttled.

    The limit check and the record of the attempt are one write transaction, and the attempt is recorded as
    a failure before the password is verified (it becomes a success afterwards): attempts sent at the same
    instant are counted one after another, so no more than the limit are ever verified. The verification
    itself (about 150 ms) runs outside the write lock. An unknown or deactivated user is verified too,
    against a dummy hash, so the answer takes as long as for an active user.
    """
    attempt = _reserve_attempt(db, username, ip, now)
    if attempt is None:
        with write(db):
            audit.record(db, "login_locked", username=username, ip=ip, now=now)
        return None, t("accounts.locked_out", minutes=int(LOCK_WINDOW.total_seconds() // 60))
    settled = False
    try:
        user = get_user_by_name(db, username)
        verified = _verify(password, user["password_hash"] if user else _dummy_hash())
        with write(db):
            settled = True
            _settle_attempt(username, ip)
            if not (verified and user and user["active"]):
                audit.record(db, "login_failed", username=username, ip=ip, now=now)
                return None, t("accounts.bad_credentials")
            db.execute("UPDATE login_attempts SET ok = 1 WHERE id = ?", [attempt])
            audit.record(db, "login", user=user, ip=ip, now=now)
    finally:
        if not settled:  # the verification itself failed: the attempt stays a failure
            with write(db):
                _settle_attempt(username, ip)
    return user, None


def _verify(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password, password_hash)
    except Exception:
        return False


def _session_key(sid: str) -> str:
    """What the sessions table keeps of a session id: its SHA-256 (the id itself is only in the cookie)."""
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(db: Database, user_id: int, now: datetime | None = None) -> str:
    """A brand-new session id (never reused across logins); the table stores only its hash."""
    sid = secrets.token_urlsafe(32)
    at = utc_stamp(now)
    with write(db):
        db.execute("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                   [_session_key(sid), user_id, secrets.token_urlsafe(32), at, at])
    return sid


def session_user(db: Database, sid: str, now: datetime | None = None) -> tuple[dict, dict] | None:
    """(session, user) for a live session id, or None when ended, idle too long, older than SESSION_LIFETIME
    or the user is disabled. The session's `id` is the id given (the table has only its hash, `id_hash`)."""
    row = one(db, "SELECT * FROM sessions WHERE id_hash = ? AND ended_at IS NULL", [_session_key(sid)])
    if not row:
        return None
    at = _now(now)
    if (datetime.fromisoformat(row["last_seen_at"]) < at - SESSION_IDLE
            or datetime.fromisoformat(row["created_at"]) < at - SESSION_LIFETIME):
        return None
    user = get_user(db, row["user_id"])
    if not user or not user["active"]:
        return None
    return {**row, "id": sid}, user


SESSION_TOUCH_EVERY = timedelta(hours=1)


def touch_session(db: Database, session: dict, now: datetime | None = None) -> None:
    """Keep an active session alive; written at most once an hour so a request rarely writes."""
    at = _now(now)
    if datetime.fromisoformat(session["last_seen_at"]) < at - SESSION_TOUCH_EVERY:
        with write(db):
            db.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?",
                       [at.isoformat(timespec="seconds"), session["id_hash"]])


def end_session(db: Database, sid: str, now: datetime | None = None) -> None:
    """End the session with this id (the id the cookie carries)."""
    with write(db):
        db.execute("UPDATE sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL",
                   [utc_stamp(now), _session_key(sid)])


def anonymous_csrf(secret: str, anon_id: str) -> str:
    """CSRF token for a visitor without a session (login, public survey): bound to their anonymous cookie."""
    return hmac.new(secret.encode(), f"anon:{anon_id}".encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, username: str, name: str, now: datetime | None = None) -> str:
    """Create a bearer token for a user; the plain token is returned once and only its hash is stored."""
    user = get_user_by_name(db, username)
    if not user:
        raise InvalidInput({"username": t("accounts.no_such_user")})
    token = "fl_" + secrets.token_urlsafe(32)
    with write(db):
        db.execute("INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                   [user["id"], name, _token_hash(token), utc_stamp(now)])
    return token


def revoke_token(db: Database, token_id: int, now: datetime | None = None, actor: dict | None = None,
                 ip: str | None = None) -> bool:
    """Revoke a token by id (audit-logged with `actor`, in the same transaction); False when there is no such live token."""
    with write(db):
        revoked = db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                             [utc_stamp(now), token_id]).rowcount == 1
        if revoked and actor:
            audit.record(db, "token_revoked", user=actor, target=f"token:{token_id}", ip=ip, now=now)
    return revoked


def list_tokens(db: Database) -> list[dict]:
    return list(db.query(
        "SELECT t.id, t.name, u.username, t.created_at, t.last_used_at, t.revoked_at "
        "FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"))


def token_user(db: Database, token: str) -> dict | None:
    """The active user owning a live bearer token, or None: one query by the token_hash index."""
    return one(db, "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id "
                   "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1", [_token_hash(token)])
