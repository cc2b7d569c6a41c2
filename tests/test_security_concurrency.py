"""Limits and writes under concurrency: requests sent at the same instant from many clients.

Every client is its own TestClient (its own event loop and connection from the pool), released together by a
barrier, so the requests really overlap in the app: sign-in and survey limits hold exactly, unknown and known
user names cost the same, and no write endpoint answers 500 ("database is locked") or leaves half a write.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Callable

import pytest

from fieldlog import accounts, db as db_mod, surveys
from fieldlog.db import scalar
from tests.conftest import PASSWORD, Client, csrf_of, login
from tests.factories import NOW, TZ, site, submission, user

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def at_once(prepare: list[Callable[[], Callable[[], object]]]) -> list:
    """Run each prepare() in its own thread (sign in, fetch a form...), then fire what they return together.

    Returns the results in order; an exception in a thread is returned in its place.
    """
    barrier = threading.Barrier(len(prepare))
    results: list = [None] * len(prepare)

    def run(i: int) -> None:
        try:
            fire = prepare[i]()
        except BaseException as exc:  # a failure while preparing must not leave the others waiting
            barrier.abort()
            results[i] = exc
            return
        try:
            barrier.wait(30)
            results[i] = fire()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prepare))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def count(db, sql: str, params=()) -> int:
    return scalar(db, sql, params)


# --- 1. sign-in limits ---------------------------------------------------------------------------------------

def _wrong_password(app, clients: list, username: str):
    def prepare():
        client = Client(app, base_url="http://testserver")
        clients.append(client)
        client.refresh_csrf("/login")
        form = {"username": username, "password": "wrong-password-1", "csrf_token": client.csrf, "next": "/"}
        return lambda: client.post("/login", data=form, follow_redirects=False)
    return prepare


def test_thirty_wrong_passwords_at_once_are_checked_only_five_times(app, db, users, clock):
    for _ in range(5):  # a few rounds, each in a fresh lock window, to give the race a chance to bite
        clock.advance(minutes=accounts.LOCK_WINDOW.total_seconds() // 60 + 1)
        before = {action: count(db, "SELECT count(*) FROM audit_log WHERE action = ?", [action])
                  for action in ("login_failed", "login_locked")}
        clients: list = []
        try:
            responses = at_once([_wrong_password(app, clients, "alice") for _ in range(30)])
        finally:
            for c in clients:
                c.close()
        assert [r.status_code for r in responses] == [401] * 30
        checked, locked = (count(db, "SELECT count(*) FROM audit_log WHERE action = ?", [action]) - before[action]
                           for action in ("login_failed", "login_locked"))
        assert (checked, locked) == (accounts.MAX_FAILURES, 30 - accounts.MAX_FAILURES)
    assert count(db, "SELECT count(*) FROM login_attempts") == 5 * accounts.MAX_FAILURES
    # alice herself, from another machine, is not locked out
    assert accounts.authenticate(db, "alice", PASSWORD, "10.1.1.1", now=clock())[0]["username"] == "alice"


class SlowHasher:
    """The test hasher, with each verification taking a fifth of a second: sign-ins sent together overlap."""

    def __init__(self, inner):
        self.inner = inner

    def hash(self, password):
        return self.inner.hash(password)

    def verify(self, password, password_hash):
        time.sleep(0.2)
        return self.inner.verify(password, password_hash)


def _right_password(app, clients: list):
    def prepare():
        client = Client(app, base_url="http://testserver")
        clients.append(client)
        client.refresh_csrf("/login")
        form = {"username": "alice", "password": PASSWORD, "csrf_token": client.csrf, "next": "/"}
        return lambda: client.post("/login", data=form, follow_redirects=False)
    return prepare


def test_eight_right_passwords_at_once_all_sign_in_while_the_limit_still_holds(app, db, users, clock):
    # Eight correct sign-ins overlapping (a phone sending twice, colleagues behind one NAT): the ones beyond
    # the limit wait for those being verified, and none is refused as if they had failed.
    previous = accounts.use_hasher(SlowHasher(accounts._hasher))
    clients: list = []
    try:
        responses = at_once([_right_password(app, clients) for _ in range(8)])
        wrong = at_once([_wrong_password(app, clients, "alice") for _ in range(8)])
    finally:
        accounts.use_hasher(previous)
        for c in clients:
            c.close()
    assert [r.status_code for r in responses] == [303] * 8
    assert count(db, "SELECT count(*) FROM login_attempts WHERE ok = 1") == 8
    assert [r.status_code for r in wrong] == [401] * 8
    assert count(db, "SELECT count(*) FROM audit_log WHERE action = 'login_failed'") == accounts.MAX_FAILURES
    assert accounts._verifying_pair == {} and accounts._verifying_address == {}


def test_thirty_user_names_at_once_from_one_address_are_checked_only_twenty_times(app, db, users, clock):
    for _ in range(5):  # a few rounds, each in a fresh lock window, to give the race a chance to bite
        clock.advance(minutes=accounts.LOCK_WINDOW.total_seconds() // 60 + 1)
        before = count(db, "SELECT count(*) FROM audit_log WHERE action = 'login_failed'")
        clients: list = []
        try:
            responses = at_once([_wrong_password(app, clients, f"name{i}") for i in range(30)])
        finally:
            for c in clients:
                c.close()
        assert [r.status_code for r in responses] == [401] * 30
        checked = count(db, "SELECT count(*) FROM audit_log WHERE action = 'login_failed'") - before
        assert checked == accounts.MAX_FAILURES_PER_ADDRESS


def test_unknown_user_takes_as_long_as_a_known_one(app, db, users):
    previous = accounts.use_hasher(accounts.PRODUCTION_HASHER)
    try:
        accounts.create_user(db, "erin", "伊林", "inspector", PASSWORD)  # hashed at production cost
        client = Client(app, base_url="http://testserver")

        def sign_in(username: str) -> float:
            client.refresh_csrf("/login")
            started = time.process_time()
            response = client.post("/login", data={"username": username, "password": "wrong-password-1",
                                                   "csrf_token": client.csrf}, follow_redirects=False)
            elapsed = time.process_time() - started
            assert response.status_code == 401
            return elapsed

        # 4 + 4 failures, interleaved: under both the per-user (5) and per-address (20) limits, so each one is
        # checked. The cost is this process's CPU time (the app runs in it, every thread counted) and the least
        # of each kind: other processes on a loaded machine lengthen wall time, not the work done here.
        known, unknown = [], []
        for _ in range(4):
            known.append(sign_in("erin"))
            unknown.append(sign_in("nobody-here"))
        client.close()
        user_hash = accounts.get_user_by_name(db, "erin")["password_hash"]
        dummy_hash = accounts._dummy_hash()
    finally:
        accounts.use_hasher(previous)
    assert _hash_parameters(dummy_hash) == _hash_parameters(user_hash)
    known_cost, unknown_cost = min(known), min(unknown)
    assert known_cost > 0.02, f"a production-cost verification should take a while here, took {known_cost:.4f} s"
    assert 0.5 < unknown_cost / known_cost < 2, f"unknown user {unknown_cost:.4f} s, known user {known_cost:.4f} s"


def _hash_parameters(encoded: str) -> str:
    """The algorithm and cost parameters of an encoded argon2 hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)."""
    return "$".join(encoded.split("$")[:4])


def test_deactivated_user_costs_a_verification_too(db, users):
    previous = accounts.use_hasher(accounts.PRODUCTION_HASHER)
    try:
        for name in ("erin", "frank"):
            accounts.create_user(db, name, name.title(), "inspector", PASSWORD)
        accounts.set_active(db, accounts.get_user_by_name(db, "frank")["id"], False, actor=user(db, "dave"), now=NOW)

        def timed(username: str, password: str, ip: str) -> float:
            started = time.process_time()  # CPU time, not wall time: see the test above
            assert accounts.authenticate(db, username, password, ip, now=NOW)[0] is None
            return time.process_time() - started

        active, inactive = [], []
        for i in range(4):
            active.append(timed("erin", "wrong-password-1", f"10.0.0.{i}"))
            inactive.append(timed("frank", PASSWORD, f"10.0.1.{i}"))
    finally:
        accounts.use_hasher(previous)
    active_cost, inactive_cost = min(active), min(inactive)
    assert active_cost > 0.02, f"a production-cost verification should take a while here, took {active_cost:.4f} s"
    assert 0.5 < inactive_cost / active_cost < 2, f"deactivated user {inactive_cost:.4f} s, active user {active_cost:.4f} s"


# --- 1. survey flood limits ---------------------------------------------------------------------------------

AWARE = {"complaint_channel": "是", "leaflet_received": "是", "safety_signs": "是", "acceptance_required": "否",
         "respondent_type": "群众"}


def _answer(app, clients: list, token: str, n: int):
    def prepare():
        visitor = Client(app, base_url="http://testserver")
        clients.append(visitor)
        csrf = csrf_of(visitor.get(f"/s/{token}").text)
        # each answer differs (its comment), so none is taken for a double tap of another
        form = {**AWARE, "comment": f"第{n}份", "csrf_token": csrf}
        return lambda: visitor.post(f"/s/{token}", data=form, follow_redirects=False)
    return prepare


def _codes(db, n: int) -> list[str]:
    carol = user(db, "carol")
    ids = [surveys.create_code(db, "awareness_survey", user=carol, now=NOW) for _ in range(n)]
    return [surveys.get_code(db, i)["token"] for i in ids]


def test_twenty_answers_at_once_to_one_code_store_three(app, db, users, clock):
    limit = surveys.PER_CODE_PER_ADDRESS_PER_DAY
    for _ in range(6):  # a few rounds, each with a fresh code an hour later, to give the race a chance to bite
        clock.advance(hours=1, minutes=1)
        [token] = _codes(db, 1)
        clients: list = []
        try:
            responses = at_once([_answer(app, clients, token, n) for n in range(20)])
        finally:
            for c in clients:
                c.close()
        assert sorted(r.status_code for r in responses) == [303] * limit + [429] * (20 - limit)
        code_id = surveys.code_by_token(db, token)["id"]
        assert count(db, "SELECT count(*) FROM survey_answers WHERE code_id = ?", [code_id]) == limit


def test_twenty_answers_at_once_in_the_domain_store_three(cfg, db, users, clock):
    """The same race without HTTP in between: each thread with its own connection calls surveys.answer."""
    limit = surveys.PER_CODE_PER_ADDRESS_PER_DAY
    for _ in range(10):
        clock.advance(hours=1, minutes=1)
        [token] = _codes(db, 1)

        def prepare(n: int):
            conn = db_mod.connect(cfg.database)

            def fire():
                try:
                    return surveys.answer(conn, token, {**AWARE, "comment": f"第{n}份"}, ip="10.9.9.9",
                                          secret=cfg.secret_key, now=clock(), tz=TZ)
                except surveys.Unavailable as exc:
                    return exc.reason
                finally:
                    conn.close()
            return fire

        results = at_once([lambda n=n: prepare(n) for n in range(20)])
        assert sorted(map(str, results)).count("flood") == 20 - limit, results
        code_id = surveys.code_by_token(db, token)["id"]
        assert count(db, "SELECT count(*) FROM survey_answers WHERE code_id = ?", [code_id]) == limit


def test_thirty_answers_at_once_to_ten_codes_store_twenty(app, db, users, clock):
    limit = surveys.PER_ADDRESS_PER_HOUR
    for _ in range(5):  # a few rounds, each with fresh codes an hour later, to give the race a chance to bite
        clock.advance(hours=1, minutes=1)
        tokens = _codes(db, 10)
        clients: list = []
        try:
            responses = at_once([_answer(app, clients, tokens[n % 10], n) for n in range(30)])
        finally:
            for c in clients:
                c.close()
        assert sorted(r.status_code for r in responses) == [303] * limit + [429] * (30 - limit)
        marks = ",".join("?" * len(tokens))
        assert count(db, f"SELECT count(*) FROM survey_answers a JOIN survey_codes c ON c.id = a.code_id "
                         f"WHERE c.token IN ({marks})", tokens) == limit
    assert count(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM survey_answers GROUP BY code_id)") \
        <= surveys.PER_CODE_PER_ADDRESS_PER_DAY


# --- 3. every write endpoint, eight clients at once -----------------------------------------------------------

CLIENTS = 8


def _token_client(app, db, clients: list, username: str) -> Client:
    client = Client(app, base_url="http://testserver")
    clients.append(client)
    client.headers["Authorization"] = "Bearer " + accounts.create_token(db, username, f"t{uuid.uuid4().hex[:6]}")
    return client


def _signed_in(app, clients: list, username: str) -> Client:
    client = Client(app, base_url="http://testserver")
    clients.append(client)
    assert login(client, username).status_code == 303
    return client


def _create_site(app, db, clients, n):
    client = _token_client(app, db, clients, "dave")
    body = {"name": f"并发工地{n}", "reg_no": f"C-{n:03d}", "town": "城关镇", "started_on": "2021-03-01",
            "inspector_ids": [user(db, "alice")["id"]], "pauses": [{"start_on": "2021-07-01", "end_on": "2021-07-09"}]}
    return lambda: client.post("/api/v1/sites", json=body)


def _create_plant(app, db, clients, n):
    client = _token_client(app, db, clients, "dave")
    return lambda: client.post("/api/v1/plants", json={"name": f"并发搅拌站{n}", "licence_no": f"CP-{n:03d}"})


def _create_user(app, db, clients, n):
    client = _signed_in(app, clients, "dave")
    form = {"username": f"user{n}", "display_name": f"用户{n}", "role": "inspector", "password": PASSWORD,
            "csrf_token": client.csrf}
    return lambda: client.post("/admin/users", data=form, follow_redirects=False)


def _sign_in(app, db, clients, n):
    client = Client(app, base_url="http://testserver")
    clients.append(client)
    client.refresh_csrf("/login")
    form = {"username": "alice", "password": PASSWORD, "csrf_token": client.csrf, "next": "/"}
    return lambda: client.post("/login", data=form, follow_redirects=False)


def _survey_answer(app, db, clients, n):
    token = _codes(db, 1)[0]  # one code each: the per-code limit is not what this test is about
    return _answer(app, clients, token, n)()


def _manual_value(app, db, clients, n):
    client = _signed_in(app, clients, "carol")
    form = {"value": str(300 + n), "source_document": "2021年部门决算报表", "csrf_token": client.csrf}
    return lambda: client.post("/indicators/2021/staff_costs/manual", data=form, follow_redirects=False)


def _create_event(app, db, clients, n):
    client = _token_client(app, db, clients, "alice")
    site_id = site(db)
    return lambda: client.post("/api/v1/events", json=submission("safety_patrol", site_id=site_id))


# (prepare one client's request, what counts the stored rows, what counts their audit lines or parts)
WRITES = {
    "create site": (_create_site, "SELECT count(*) FROM sites WHERE reg_no LIKE 'C-%'",
                    "SELECT count(*) FROM audit_log WHERE action = 'site_created'", [201]),
    "create plant": (_create_plant, "SELECT count(*) FROM plants",
                     "SELECT count(*) FROM audit_log WHERE action = 'plant_created'", [201]),
    "create user": (_create_user, "SELECT count(*) FROM users WHERE username LIKE 'user%'",
                    "SELECT count(*) FROM audit_log WHERE action = 'user_created'", [303]),
    "sign-in": (_sign_in, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'alice'",
                "SELECT count(*) FROM login_attempts WHERE username = 'alice' AND ok = 1", [303]),
    "survey answer": (_survey_answer, "SELECT count(*) FROM survey_answers", "SELECT count(*) FROM survey_answers", [303]),
    "manual value": (_manual_value, "SELECT count(*) FROM manual_values",
                     "SELECT count(*) FROM audit_log WHERE action = 'manual_value_saved'", [303]),
    "event create": (_create_event, "SELECT count(*) FROM events",
                     "SELECT count(*) FROM event_inspectors", [201]),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_eight_clients_writing_at_once_get_no_500_and_no_half_writes(name, app, db, users):
    make, rows_sql, parts_sql, ok = WRITES[name]
    before_rows, before_parts = count(db, rows_sql), count(db, parts_sql)
    clients: list = []
    try:
        # clients are signed in / given tokens one after another; only the writes under test overlap
        fires = [make(app, db, clients, n) for n in range(CLIENTS)]
        responses = at_once([(lambda fire=fire: fire) for fire in fires])
    finally:
        for c in clients:
            c.close()
    statuses = [r.status_code for r in responses]
    assert statuses == ok * CLIENTS, statuses
    assert count(db, rows_sql) - before_rows == CLIENTS
    assert count(db, parts_sql) - before_parts == CLIENTS
    if name == "create site":
        assert count(db, "SELECT count(*) FROM site_pauses") == CLIENTS
        assert count(db, "SELECT count(*) FROM site_inspectors") == CLIENTS
