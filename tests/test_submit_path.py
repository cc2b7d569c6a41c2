"""The submission path kept short (issue 10, item 3): what runs under the write lock, the thread-pool hand-offs,
the one-query token lookup, the reads straight from the cursor, and that the answers stay what they were."""

from __future__ import annotations

import inspect

import pytest

from fieldlog import accounts, db as db_mod, events
from fieldlog.events import queries
from fieldlog.db import scalar
from tests.factories import NOW, SITE_AT, TZ, site, submission


@pytest.fixture
def reg(db, users):
    return {"site": site(db, location=SITE_AT)}


def _traced(db) -> list[str]:
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    return statements


def _between_begin_and_commit(statements: list[str]) -> list[str]:
    start = statements.index("BEGIN IMMEDIATE")
    return statements[start + 1:statements.index("COMMIT", start)]


def test_only_the_inserts_run_under_the_write_lock(db, users, reg):
    """Checks, hashing and the answer's reads come before or after the write: inside it, the INSERTs alone
    (a trigger's statements are traced under the INSERT that fires them)."""
    user = accounts.get_user(db, users["alice"])
    statements = _traced(db)
    event, created, _ = events.create(db, submission("safety_patrol", site_id=reg["site"]), user=user, now=NOW, tz=TZ)
    db.conn.set_trace_callback(None)
    assert created
    inside = _between_begin_and_commit(statements)
    inserts = [s for s in inside if s not in ("SAVEPOINT grouped", "RELEASE grouped")]  # db.write_grouped's own
    assert inserts and all(s.startswith(("INSERT INTO events ", "INSERT INTO event_inspectors ")) for s in inserts), inside
    assert statements.count("BEGIN IMMEDIATE") == 1
    # The answer is read after the commit, from what was stored.
    assert event == {**events.load(db, event["id"])}


def test_a_campaign_named_by_a_conflicting_resend_is_not_created(db, users):
    """A resend is found by its INSERT doing nothing; the write is rolled back, so a campaign it named (found or
    created in the same write) is not left behind, and the answer is the stored event's conflict."""
    from fieldlog.errors import Conflict

    user = accounts.get_user(db, users["alice"])
    place = site(db, location=SITE_AT)
    raw = submission("major_inspection", site_id=place, campaign=("春季大检查", "2021-03-01", "2021-05-31"))
    events.create(db, raw, user=user, now=NOW, tz=TZ)
    campaigns = scalar(db, "SELECT count(*) FROM campaigns")
    other = {**raw, "campaign": {"name": "另一次检查", "start_on": "2021-03-01", "end_on": "2021-05-31"}}
    with pytest.raises(Conflict) as refused:
        events.create(db, other, user=user, now=NOW, tz=TZ)
    assert refused.value.stored["id"] == raw["id"]
    assert scalar(db, "SELECT count(*) FROM campaigns") == campaigns
    assert scalar(db, "SELECT count(*) FROM events") == 1


def test_a_resend_is_answered_with_what_was_stored_even_when_its_references_now_fail(token_client, db, users, reg):
    """The references are checked before the write now; a resend whose inspector has since been deactivated
    still gets 200 and the stored event, while a new submission naming that inspector gets the field's message."""
    client = token_client("carol")  # the chief logs for anyone
    raw = submission("safety_patrol", site_id=reg["site"], inspector_ids=[users["bob"]])
    first = client.post("/api/v1/events", json=raw)
    assert first.status_code == 201, first.text
    carol = accounts.get_user(db, users["carol"])
    accounts.set_active(db, users["bob"], False, carol, now=NOW)
    again = client.post("/api/v1/events", json=raw)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    stored = client.get(f"/api/v1/events/{raw['id']}").json()
    assert {k: stored[k] for k in first.json() if k != "warnings"} == {k: v for k, v in first.json().items() if k != "warnings"}
    new = client.post("/api/v1/events", json={**raw, "id": submission("safety_patrol")["id"]})
    assert new.status_code == 422
    assert new.json()["detail"] == [{"loc": ["body", "inspector_ids"], "msg": "监督员不存在或已停用",
                                     "type": "value_error"}]
    assert scalar(db, "SELECT count(*) FROM events") == 1


def test_form_and_reference_errors_still_come_together(token_client, reg, db):
    """Validation order: the form's errors and the database's are reported at once, each naming its field."""
    raw = {**submission("safety_patrol", site_id=424242), "lat": 100}
    response = token_client("alice").post("/api/v1/events", json=raw)
    assert response.status_code == 422
    by_field = {".".join(d["loc"][1:]): d["msg"] for d in response.json()["detail"]}
    assert by_field["site_id"] == "工地不存在" and "纬度" in by_field["lat"], by_field
    assert scalar(db, "SELECT count(*) FROM events") == 0


def test_token_lookup_is_one_query_and_refuses_revoked_tokens_and_inactive_users(db, users):
    token = accounts.create_token(db, "alice", "phone")
    statements = _traced(db)
    assert accounts.token_user(db, token)["username"] == "alice"
    db.conn.set_trace_callback(None)
    assert len(statements) == 1 and "token_hash" in statements[0]
    carol = accounts.get_user(db, users["carol"])
    accounts.set_active(db, users["alice"], False, carol, now=NOW)
    assert accounts.token_user(db, token) is None
    accounts.set_active(db, users["alice"], True, carol, now=NOW)
    token_id = scalar(db, "SELECT id FROM api_tokens WHERE name = 'phone'")
    assert accounts.token_user(db, token) is not None
    accounts.revoke_token(db, token_id, now=NOW)
    assert accounts.token_user(db, token) is None
    assert accounts.token_user(db, "fl_not-a-token") is None


def test_reads_straight_from_the_cursor_name_columns_as_database_query_does(db):
    sql = "SELECT 1 AS id, 2 AS id, 'x' AS name"
    assert db_mod.rows(db, sql) == list(db.query(sql)) == [{"id": 1, "id_2": 2, "name": "x"}]
    assert db_mod.one(db, sql) == {"id": 1, "id_2": 2, "name": "x"}
    assert db_mod.one(db, "SELECT 1 AS x WHERE 0") is None and db_mod.rows(db, "SELECT 1 AS x WHERE 0") == []
    with pytest.raises(ValueError):
        db_mod.rows(db, "CREATE TABLE nothing_returned (x)")
    assert not db.conn.in_transaction  # a read leaves no transaction open


def _dependencies(dependant) -> list:
    out = []
    for sub in dependant.dependencies:
        out.append(sub.call)
        out.extend(_dependencies(sub))
    return out


def test_a_submission_is_handed_to_the_thread_pool_once(app):
    """Every dependency of POST /api/v1/events (the app's check_csrf, the connection, the sign-in, the body) is
    async: only the route itself runs in the thread pool. A sync dependency costs one hand-off, a sync
    generator two, each a wait for a worker thread and the GIL under load."""
    from fastapi.dependencies.utils import get_dependant
    from fastapi.routing import APIRoute

    from fieldlog.routes import api_events

    route = next(r for r in api_events.router.routes
                 if isinstance(r, APIRoute) and r.path == "/api/v1/events" and "POST" in r.methods)
    calls = _dependencies(route.dependant)
    for app_wide in app.router.dependencies:  # check_csrf, which every route runs first
        calls += [app_wide.dependency, *_dependencies(get_dependant(path="/", call=app_wide.dependency))]
    assert calls, "the route has dependencies"
    sync = [c for c in calls if not (inspect.iscoroutinefunction(c) or inspect.isasyncgenfunction(c))]
    assert not sync, f"sync dependencies (each a thread-pool hand-off): {sync}"
    assert not inspect.iscoroutinefunction(route.dependant.call)  # the domain work itself runs in the pool


def _grouped_round(cfg, works: list) -> tuple[list, list[str]]:
    """Run each work through db.write_grouped from its own thread and connection, all queued behind the write
    lock held here, so that one transaction takes them all; (each thread's outcome, statements traced)."""
    import threading
    import time

    statements: list[str] = []
    outcomes: list = [None] * len(works)
    queued = threading.Barrier(len(works) + 1)

    def call(i: int) -> None:
        conn = db_mod.connect(cfg.database)
        conn.conn.set_trace_callback(statements.append)
        try:
            queued.wait()
            outcomes[i] = ("ok", db_mod.write_grouped(conn, works[i]))
        except BaseException as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[i] = ("error", exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(works))]
    with db_mod.WRITE_LOCK:
        for thread in threads:
            thread.start()
        queued.wait()
        deadline = time.time() + 10
        while time.time() < deadline:  # every work queued (each thread then waits for the lock)
            with db_mod._pending_lock:
                if len(db_mod._pending.get(str(cfg.database.resolve()), [])) == len(works):
                    break
            time.sleep(0.01)
    for thread in threads:
        thread.join(30)
    return outcomes, statements


def test_submissions_waiting_for_the_lock_share_one_commit(cfg, db):
    db.execute("CREATE TABLE grouped (n INTEGER PRIMARY KEY)")

    def insert(n):
        return lambda conn: conn.execute("INSERT INTO grouped (n) VALUES (?)", [n]).lastrowid

    outcomes, statements = _grouped_round(cfg, [insert(n) for n in range(1, 6)])
    assert outcomes == [("ok", n) for n in range(1, 6)]  # each caller gets its own work's result
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1, statements
    assert [r[0] for r in db.conn.execute("SELECT n FROM grouped ORDER BY n")] == [1, 2, 3, 4, 5]


def test_a_failing_work_is_undone_alone_and_raised_in_its_own_thread(cfg, db):
    db.execute("CREATE TABLE grouped (n INTEGER PRIMARY KEY)")

    def insert(n):
        return lambda conn: conn.execute("INSERT INTO grouped (n) VALUES (?)", [n]).lastrowid

    def half_then_fail(conn):
        conn.execute("INSERT INTO grouped (n) VALUES (100)")
        raise ValueError("refused")

    outcomes, _ = _grouped_round(cfg, [insert(1), half_then_fail, insert(2)])
    assert outcomes[0] == ("ok", 1) and outcomes[2] == ("ok", 2)
    assert outcomes[1][0] == "error" and str(outcomes[1][1]) == "refused"
    assert [r[0] for r in db.conn.execute("SELECT n FROM grouped ORDER BY n")] == [1, 2]


def test_when_the_shared_transaction_fails_no_caller_is_told_it_was_stored(cfg, db):
    db.execute("CREATE TABLE grouped (n INTEGER PRIMARY KEY)")

    class Abort(BaseException):
        pass

    def abort(conn):
        raise Abort()

    def insert(n):
        return lambda conn: conn.execute("INSERT INTO grouped (n) VALUES (?)", [n]).lastrowid

    outcomes, _ = _grouped_round(cfg, [insert(1), abort, insert(2)])
    assert all(kind == "error" for kind, _ in outcomes), outcomes
    assert scalar(db, "SELECT count(*) FROM grouped") == 0


@pytest.mark.parametrize("kind", [k for k in events.ALL_KINDS if k not in events.DOCUMENT_KINDS
                                  and k != "rectification_review"])
def test_the_answer_built_without_reading_back_is_what_was_stored(token_client, db, users, kind):
    """create answers from the row it wrote and what its checks read (no SELECT after the INSERT): the answer,
    warnings included, must be what load and warnings_for give for the stored event, and what a resend gets."""
    from tests.factories import PLANT_AT, plant

    subject = events.KINDS[kind]["subject"]
    raw = submission(kind, inspector_ids=[users["bob"], users["alice"]], lat=27.5, lon=113.5, accuracy_m=80)
    if subject in ("site", "site_campaign"):
        raw["site_id"] = site(db, location=SITE_AT)
    elif subject == "plant":
        raw["plant_id"] = plant(db, location=PLANT_AT)
    client = token_client("carol")  # the chief, logging for two inspectors
    first = client.post("/api/v1/events", json=raw)
    assert first.status_code == 201, first.text
    answer = first.json()
    stored = events.load(db, raw["id"])
    assert {k: v for k, v in answer.items() if k != "warnings"} == stored
    assert list(answer)[:-1] == list(stored)  # the same keys in the same order
    assert answer["warnings"] == events.warnings_for(db, stored) and answer["warnings"]  # far from the subject
    assert stored["inspector_ids"] == sorted([users["bob"], users["alice"]]) and stored["inspector_names"].count(queries.NAMES_SEPARATOR) == 1
    again = client.post("/api/v1/events", json=raw)
    assert again.status_code == 200 and again.json() == answer


def test_the_answer_names_a_campaign_given_by_id(token_client, db, users):
    client = token_client("alice")
    first = client.post("/api/v1/events", json=submission("major_inspection", site_id=site(db, location=SITE_AT)))
    assert first.status_code == 201, first.text
    campaign_id = first.json()["campaign_id"]
    raw = submission("major_inspection", site_id=site(db, location=SITE_AT), campaign=None, campaign_id=campaign_id)
    second = client.post("/api/v1/events", json=raw)
    assert second.status_code == 201, second.text
    assert {k: v for k, v in second.json().items() if k != "warnings"} == events.load(db, raw["id"])
    assert second.json()["campaign"]["id"] == campaign_id


# --- what a commit writes -------------------------------------------------------------------------------

def _wal_trees(db, path) -> set[str]:
    """The b-trees (tables and indexes) whose pages the WAL holds: frame page numbers named by dbstat."""
    import struct

    data = open(f"{path}-wal", "rb").read()
    size = struct.unpack(">I", data[8:12])[0]
    pages = {struct.unpack(">I", data[at:at + 4])[0] for at in range(32, len(data) - 23, 24 + size)}
    names = dict(db.conn.execute("SELECT pageno, name FROM dbstat"))
    return {names[p] for p in pages if p in names}


def test_a_site_submission_writes_no_page_of_the_plant_and_campaign_indexes(cfg, db, users, reg):
    """Migration 029: a site event (no plant, no campaign) adds no entry to the plant and campaign indexes, so its
    commit writes three pages fewer; a plant event still reaches the plant indexes, which its pages read."""
    from tests.factories import plant as make_plant

    user = accounts.get_user(db, users["alice"])
    plant_id = make_plant(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    events.create(db, submission("safety_patrol", site_id=reg["site"]), user=user, now=NOW, tz=TZ)
    written = _wal_trees(db, cfg.database)
    assert "events" in written and "events_kind_month_site" in written  # the frames were read and named
    assert not written & {"events_campaign_set", "events_plant_set_occurred", "events_kind_month_plant_set"}, written
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    events.create(db, submission("plant_patrol", plant_id=plant_id), user=user, now=NOW, tz=TZ)
    assert {"events_plant_set_occurred", "events_kind_month_plant_set"} <= _wal_trees(db, cfg.database)
    plan = " ".join(r[3] for r in db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM events WHERE kind = 'plant_patrol' AND month = ? AND plant_id = ?",
        ["2021-03", plant_id]))
    assert "events_kind_month_plant_set" in plan


def test_a_write_keeps_temporary_data_in_memory_and_reads_keep_the_default(db, users, reg):
    """Inside a write SQLite's temporary files (the statement journal of a trigger-firing INSERT) are in memory,
    instead of a file made and unlinked in /var/tmp per submission; after it, and for reads, the default again, so
    a large sort spills to disk rather than to memory. Also when the write fails."""
    seen = []
    with db_mod.write(db):
        seen.append(scalar(db, "PRAGMA temp_store"))
    seen.append(scalar(db, "PRAGMA temp_store"))
    db_mod.write_grouped(db, lambda conn: seen.append(scalar(conn, "PRAGMA temp_store")))
    seen.append(scalar(db, "PRAGMA temp_store"))
    with pytest.raises(ZeroDivisionError):
        with db_mod.write(db):
            1 / 0
    seen.append(scalar(db, "PRAGMA temp_store"))
    assert seen == [2, 0, 2, 0, 0]  # 2: MEMORY, 0: DEFAULT


def test_grouped_writes_of_pooled_connections_run_on_the_pools_one_writer(cfg, db, users, reg):
    """The batches of a pool's connections all run on Pool.writer (whose page cache is then not dropped by the
    other connections' writes), which keeps its temporary data in memory; what they wrote is committed for all."""
    pool = db_mod.Pool(cfg.database)
    first, second = pool.get(), pool.get()
    used = [db_mod.write_grouped(conn, lambda c: c) for conn in (first, second, first)]
    assert used[0] is used[1] is used[2] is pool.writer()
    assert not any(u is c for u in used for c in (first, second))
    assert scalar(pool.writer(), "PRAGMA temp_store") == 2  # MEMORY
    user = accounts.get_user(db, users["alice"])
    event, created, _ = events.create(first, submission("safety_patrol", site_id=reg["site"]), user=user, now=NOW, tz=TZ)
    assert created and scalar(second, "SELECT count(*) FROM events WHERE id = ?", [event["id"]]) == 1
    assert not pool.writer().conn.in_transaction
    pool.close()
