"""Every page costs what it shows: the bounded reads of issue 10, pinned on real databases.

Two databases are built through the real write path (events.create, edit, void): both hold the same recent
events (what the pages show); the bigger one also holds ten times more history from earlier years. The work
SQLite does for each page's reads (virtual machine steps, counted by a progress handler) may not grow 2× between
them; and each statement's query plan searches an index instead of scanning events or notice_state.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from fieldlog import coverage, db as db_mod, events, followups, samples
from fieldlog.events import notices as notice_rule, queries
from fieldlog.events.picker import subject_choices
from fieldlog.indicators import evidence, rollup, tables
from tests.conftest import make_users
from tests.factories import TZ, event, site, user

TODAY = date(2021, 6, 15)
NOW = datetime(2021, 6, 15, 18, 0, tzinfo=TZ)


def _notice(db, s, when, deadline, by="alice", kind="safety_patrol") -> str:
    fields = {"notice_no": f"N-{when}-{random.random():.6f}", "notice_deadline": deadline}
    if kind == "enforcement_patrol":
        fields["order"] = "rectify"
    else:
        fields["finding"] = "一般"
    return event(db, kind, when, by=by, site_id=s, fields=fields)["id"]


def _review(db, s, notice_id, when, closed=True, by="alice") -> str:
    return event(db, "rectification_review", when, by=by, site_id=s,
                 fields={"notice_event_id": notice_id, "closed": closed})["id"]


def _recent(db, sites) -> None:
    """What the pages show: spring 2021 patrols and notices, some closed, and alice's events of today."""
    for i in range(12):
        s = sites[i % len(sites)]
        day = TODAY - timedelta(days=3 + 5 * i)
        n = _notice(db, s, f"{day}T09:00:00+08:00", (day + timedelta(days=10)).isoformat(),
                    kind="enforcement_patrol" if i % 3 == 0 else "safety_patrol")
        if i % 2:
            _review(db, s, n, f"{day + timedelta(days=2)}T09:00:00+08:00")
    for i in range(6):
        event(db, "safety_patrol", f"{TODAY}T{8 + i:02d}:00:00+08:00", by="alice" if i % 2 else "bob",
              site_id=sites[i], inspector_ids=[1, 2] if i % 3 == 0 else None)


def _history(db, sites, n: int) -> None:
    """n events of 2018-2019, far before the year shown: notices all closed by their reviews, plain patrols."""
    start = date(2018, 1, 1)
    for i in range(n):
        s = sites[i % len(sites)]
        day = start + timedelta(days=(i * 700) // n)
        when = f"{day}T{8 + i % 10:02d}:00:00+08:00"
        if i % 10 == 0:
            notice = _notice(db, s, when, (day + timedelta(days=7)).isoformat(), by="alice" if i % 20 else "bob")
            _review(db, s, notice, f"{day + timedelta(days=3)}T09:00:00+08:00")
        else:
            event(db, "safety_patrol", when, by="alice" if i % 3 else "bob", site_id=s)


def _build(db, history: int) -> None:
    sites = [site(db) for _ in range(8)]
    _recent(db, sites)
    _history(db, sites, history)


READS = {
    "follow-ups": lambda db: followups.followup_page(db, TODAY),
    "follow-ups with closed": lambda db: followups.followup_page(db, TODAY, include_closed=True),
    "my follow-ups": lambda db: followups.followup_page(db, TODAY, inspector_id=1),
    "older open notices": lambda db: followups.followup_page(db, TODAY, older=True),
    "review picker": lambda db: (events.open_notices(db, today=TODAY, limit=300), events.count_open(db, today=TODAY)),
    "today's entries": lambda db: events.events_of_day(db, 1, TODAY.isoformat(), 200),
    "drill-down": lambda db: _drill_down(db),
    "subject picker": lambda db: [(r["value"], r["recent"]) for r in subject_choices(db, "site", 1, today=TODAY)],
}


def _drill_down(db):
    row = tables.table_for_year(db, 2021).row("safety_patrols")
    explained = rollup.explain_row(db, row, 2021, TODAY, TZ)
    return evidence.event_rows(db, explained.ctx, explained.outcome, None)


def _steps(db, read) -> tuple[int, object]:
    """(VM steps / 10, result) of read(db)."""
    count = [0]

    def tick():
        count[0] += 1

    db.conn.set_progress_handler(tick, 10)
    try:
        result = read(db)
    finally:
        db.conn.set_progress_handler(None, 10)
    return count[0], result


def _pair(db, tmp_path, build, small: int, big: int):
    """(db built with build(db, small), a second database beside it built with build(·, big)); closes the second."""
    build(db, small)
    other = db_mod.open_db(tmp_path / "big.db")
    make_users(other)
    build(other, big)
    yield db, other
    other.close()


@pytest.fixture
def two_sizes(db, users, tmp_path):
    """(small, big): the same recent events, with 90 and 900 events of older history."""
    yield from _pair(db, tmp_path, _build, 90, 900)


def _shown(result):
    """What a read shows, comparable between the two databases (ids differ, so counts and states)."""
    if isinstance(result, followups.FollowupPage):
        return result.tally, [(n.status, n.issued_on) for n in result.items], result.other_open
    if isinstance(result, tuple) and isinstance(result[0], list) and result[0] and "notice_no" in result[0][0]:
        return [r["notice_deadline"] for r in result[0]], result[1]
    if isinstance(result, tuple):
        return [r["day"] for r in result[0]], result[1]
    if result and isinstance(result[0], tuple):
        return [recent for _, recent in result]
    return [(r["kind"], r["occurred_at"]) for r in result]


@pytest.mark.parametrize("name", READS)
def test_a_page_reads_what_it_shows_not_the_history(two_sizes, name):
    small, big = two_sizes
    assert big.conn.execute("SELECT count(*) FROM events").fetchone()[0] >= 8 * small.conn.execute(
        "SELECT count(*) FROM events").fetchone()[0]
    small_steps, small_result = _steps(small, READS[name])
    big_steps, big_result = _steps(big, READS[name])
    assert _shown(small_result) == _shown(big_result)
    assert big_steps < 2 * small_steps, (name, small_steps, big_steps)


def _plans(db, run) -> list[tuple[str, str]]:
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        run(db)
    finally:
        db.conn.set_trace_callback(None)
    return [(sql, " | ".join(r[-1] for r in db.conn.execute("EXPLAIN QUERY PLAN " + sql)))
            for sql in statements if sql.lstrip().upper().startswith("SELECT")
            and ("FROM events" in sql or "FROM notice_state" in sql)]


@pytest.mark.parametrize("name", READS)
def test_each_bounded_read_searches_an_index(db, users, name):
    _build(db, 20)
    plans = _plans(db, READS[name])
    assert plans
    for sql, plan in plans:
        assert "SCAN e " not in plan + " " and "SCAN events" not in plan and "SCAN ns" not in plan, (sql, plan)


# --- notice_state is the rule of events.notices -------------------------------------------------------

def _python_open(db, today: date | None) -> set[str]:
    """Open notices as of today by the Python rule over every stored patrol and review (no notice_state)."""
    rows = db.conn.execute("SELECT id, kind, occurred_at, day, data FROM events WHERE voided = 0 "
                           "AND kind IN ('safety_patrol', 'enforcement_patrol')").fetchall()
    reviews = queries.reviews_by_notice(db, [r[0] for r in rows])
    import json

    return {r[0] for r in rows if (today is None or r[3] <= today.isoformat())
            and notice_rule.is_open(r[1], json.loads(r[4]), r[2], reviews.get(r[0], []), today)}


def test_notice_state_follows_creates_edits_voids_and_early_reviews(db, users):
    rng = random.Random(7)
    sites = [site(db) for _ in range(3)]
    alice = user(db, "alice")
    notice_ids, review_ids = [], []
    for i in range(40):
        s = rng.choice(sites)
        day = date(2021, 5, 1) + timedelta(days=rng.randrange(40))
        when = f"{day}T{rng.randrange(8, 18):02d}:00:00+08:00"
        roll = rng.random()
        if roll < 0.4 or not notice_ids:
            notice_ids.append((_notice(db, s, when, (day + timedelta(days=9)).isoformat(),
                                       kind=rng.choice(["safety_patrol", "enforcement_patrol"])), s))
        elif roll < 0.8:  # a review, sometimes dated before its notice (which closes nothing)
            n, ns = rng.choice(notice_ids)
            review_ids.append(_review(db, ns, n, when, closed=rng.random() < 0.7))
        elif roll < 0.9 and review_ids:
            rid = review_ids.pop(rng.randrange(len(review_ids)))
            events.void(db, rid, user=alice, reason="选错了通知书", now=NOW)
        elif review_ids:
            rid = rng.choice(review_ids)
            stored = events.load(db, rid)
            events.edit(db, rid, {"fields": {**stored["fields"], "closed": not stored["fields"]["closed"]}},
                        user=alice, now=NOW, tz=TZ, reason="更正")
        if i % 5 == 4:
            n, _ = rng.choice(notice_ids)
            stored = events.load(db, n)
            if not stored["voided"] and stored["kind"] == "enforcement_patrol":
                events.edit(db, n, {"fields": {**stored["fields"], "order": "none"}}, user=alice, now=NOW, tz=TZ,
                            reason="未下发")
        for today in (date(2021, 5, 15), date(2021, 6, 1), TODAY, None):
            assert {r["id"] for r in events.open_notices(db, today=today)} == _python_open(db, today), (i, today)
        # notice_days (028) counts the notices of each day through the same creates, edits and voids
        assert queries.notices_issued(db, TODAY) == db.conn.execute(
            "SELECT count(*) FROM notice_state WHERE day <= ?", [TODAY.isoformat()]).fetchone()[0], i


def test_a_review_is_written_through_index_lookups_whatever_the_history(two_sizes):
    """The notice_state triggers find a notice's reviews by index (018), so a write costs the same with 10× history."""
    steps = []
    for db in two_sizes:
        s = site(db)
        notice = _notice(db, s, f"{TODAY}T08:00:00+08:00", "2021-06-30")
        count, _ = _steps(db, lambda db: _review(db, s, notice, f"{TODAY}T09:00:00+08:00"))
        steps.append(count)
        assert notice not in {r["id"] for r in events.open_notices(db, today=TODAY)}
    assert steps[1] < 2 * steps[0], steps
    plan = str(two_sizes[0].conn.execute("EXPLAIN QUERY PLAN SELECT * FROM notice_state_rows WHERE event_id = ?",
                                         ["x"]).fetchall())
    assert "events_review_notice_of (<expr>=?)" in plan, plan


# --- a page of open notices reads that page, whatever else is open (migration 025) ------------------------

def _open_notices(db, others: int) -> None:
    """Five notices of alice's due first, then `others` open notices of bob's due later (each still open)."""
    sites = [site(db) for _ in range(4)]
    for i in range(5):
        _notice(db, sites[i % 4], f"2021-06-0{i + 1}T09:00:00+08:00", f"2021-06-2{i}", by="alice")
    for i in range(others):
        _notice(db, sites[i % 4], f"2021-06-{1 + i % 14:02d}T10:00:00+08:00", "2021-07-31", by="bob")


@pytest.fixture
def few_and_many_open(db, users, tmp_path):
    """(few, many): the same five notices of alice's due first, beside 20 and 200 other open notices."""
    yield from _pair(db, tmp_path, _open_notices, 20, 200)


OPEN_READS = {
    "the review picker's first page": lambda db: [
        r["notice_deadline"] for r in events.open_notices(db, today=TODAY, limit=5)],
    "an inspector's open notices": lambda db: (
        [(n.status, n.deadline) for n in followups.notices(db, TODAY, inspector_id=1, limit=5)],
        followups.counts(db, TODAY, inspector_id=1)),
}


@pytest.mark.parametrize("name", OPEN_READS)
def test_a_page_of_open_notices_reads_that_page_not_every_open_notice(few_and_many_open, name):
    few, many = few_and_many_open
    few_steps, few_result = _steps(few, OPEN_READS[name])
    many_steps, many_result = _steps(many, OPEN_READS[name])
    assert few_result == many_result and few_result
    assert many_steps < 2 * few_steps, (name, few_steps, many_steps)


# --- the month under way costs what a closed month costs (migrations 022, 023) ---------------------------

MONTH_KINDS = ("safety_patrol", "enforcement_patrol", "concrete_sampling", "leaflets")


def _busy_month(db, per_day: int) -> None:
    """June 2021, the 8th to the 14th: per_day events a day of each kind, at the same 4 sites (the same keys)."""
    sites = [site(db) for _ in range(4)]
    for d in range(8, 15):
        for i in range(per_day):
            for kind in MONTH_KINDS:
                fields = {"finding": "无"} if kind == "safety_patrol" else None
                event(db, kind, f"2021-06-{d:02d}T{8 + i % 10:02d}:00:00+08:00", by="alice",
                      site_id=sites[i % 4], fields=fields)


@pytest.fixture
def quiet_and_busy_month(db, users, tmp_path):
    """(quiet, busy): the same sites and kinds in June 2021, four events a day of each kind against forty."""
    yield from _pair(db, tmp_path, _busy_month, 4, 40)


MONTH_READS = {
    "roll-up as of mid-month": lambda db: [
        r.actual for r in rollup.compute(db, tables.table_for_year(db, 2021), TODAY, TZ)],
    "coverage of the month": lambda db: [
        (r.id, r.counts) for r in coverage.site_coverage(db, coverage.current_month(TODAY), TODAY)],
    "lab results of the year": lambda db: (samples.results_in(db, date(2021, 1, 1), TODAY),
                                          samples.pending(db, date(2021, 1, 1), TODAY)),
}


@pytest.mark.parametrize("name", MONTH_READS)
def test_the_month_under_way_reads_tallies_not_its_events(quiet_and_busy_month, name):
    """Ten times the events in the month under way (same sites, same kinds): the reads may not grow 2×."""
    quiet, busy = quiet_and_busy_month
    assert busy.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 10 * quiet.conn.execute(
        "SELECT count(*) FROM events").fetchone()[0]
    quiet_steps, quiet_result = _steps(quiet, MONTH_READS[name])
    busy_steps, busy_result = _steps(busy, MONTH_READS[name])
    assert quiet_result != busy_result   # the figures did see ten times the events
    assert busy_steps < 2 * quiet_steps, (name, quiet_steps, busy_steps)


# --- the follow-ups with closed notices read their page, not the year (migration 028) ----------------------

def _closed_year(db, others: int) -> None:
    """Two open notices and five closed in June 2021, beside `others` notices closed earlier in the year."""
    sites = [site(db) for _ in range(4)]
    for i in range(2):
        _notice(db, sites[i], f"2021-06-0{i + 1}T09:00:00+08:00", "2021-06-30")
    for i in range(5):
        n = _notice(db, sites[i % 4], f"2021-06-0{i + 3}T09:00:00+08:00", "2021-06-12")
        _review(db, sites[i % 4], n, f"2021-06-1{i}T09:00:00+08:00")
    for i in range(others):
        day = date(2021, 1, 4) + timedelta(days=i % 120)
        n = _notice(db, sites[i % 4], f"{day}T10:00:00+08:00", (day + timedelta(days=7)).isoformat(), by="bob")
        _review(db, sites[i % 4], n, f"{day + timedelta(days=2)}T09:00:00+08:00", by="bob")


@pytest.fixture
def few_and_many_closed(db, users, tmp_path):
    """(few, many): the same June notices, beside 20 and 200 notices closed earlier in the year."""
    yield from _pair(db, tmp_path, _closed_year, 20, 200)


def test_the_follow_ups_with_closed_notices_read_their_page_not_the_year(few_and_many_closed):
    few, many = few_and_many_closed
    read = lambda db: followups.followup_page(db, TODAY, include_closed=True, size=6)  # noqa: E731
    few_steps, few_page = _steps(few, read)
    many_steps, many_page = _steps(many, read)
    assert [(n.status, n.issued_on, n.closed_on) for n in few_page.items] == [
        (n.status, n.issued_on, n.closed_on) for n in many_page.items]
    assert few_page.tally[followups.CLOSED] == 25 and many_page.tally[followups.CLOSED] == 205
    assert many_steps < 2 * few_steps, (few_steps, many_steps)


def test_the_station_follow_ups_read_the_open_notices_once_for_both_views(few_and_many_open):
    """The follow-ups' tally and the other view's count come from one read of the open notices, by deadline ranges
    (not one read each, testing every state per row), and the page of them is cut in index order (not by sorting
    every open notice): the page grows with the open notices about as one count of them does (13 times that before)."""
    few, many = few_and_many_open
    one_read = [_steps(db, lambda db: queries.count_open_notices(db, TODAY))[0] for db in (few, many)]
    page = [_steps(db, lambda db: followups.followup_page(db, TODAY, size=5))[0] for db in (few, many)]
    assert one_read[1] - one_read[0] > 20  # the 180 more open notices are read
    assert page[1] - page[0] < 2.5 * (one_read[1] - one_read[0]), (one_read, page)




def _a_station_day(db, each: int) -> None:
    """Today (2021-06-15): `each` entries of alice's and as many of bob's, interleaved, from 06:00 on."""
    s, start = site(db), datetime(2021, 6, 15, 6, 0, tzinfo=TZ)
    for i in range(each):
        for j, who in enumerate(("alice", "bob")):
            event(db, "safety_patrol", start + timedelta(seconds=15 * (2 * i + j)), by=who, site_id=s,
                  fields={"finding": "无"})


@pytest.fixture
def busy_and_busier_day(db, users, tmp_path):
    """(busy, busier): a day of 2 × 120 entries, and of 2 × 1200 (the inspectors' shares the same)."""
    yield from _pair(db, tmp_path, _a_station_day, 120, 1200)


def test_the_phone_home_reads_a_page_of_the_day_not_the_whole_day(busy_and_busier_day):
    """An inspector's home lists their newest 20 of today, walked from the day's newest event (migration 030), and
    counts the day up to events.DAY_COUNT_CAP: a day ten times busier costs the same, where reading and sorting
    every event of the day grew with it."""
    from fieldlog.routes.log import today_entries

    busy, busier = busy_and_busier_day
    read = lambda db: ([e["occurred_at"] for e in today_entries(db, 1, "2021-06-15")[0]],  # noqa: E731
                       today_entries(db, 1, "2021-06-15")[1])
    (busy_steps, busy_shown), (busier_steps, busier_shown) = _steps(busy, read), _steps(busier, read)
    assert len(busy_shown[0]) == len(busier_shown[0]) == 20
    assert busy_shown[1] == busier_shown[1] == events.DAY_COUNT_CAP + 1  # 120 and 1200: more than the cap
    assert busier_steps < 2 * busy_steps, (busy_steps, busier_steps)
