"""Follow-ups: notices issued on patrols, closed (销号) by a later review, overdue first."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from fieldlog import followups
from fieldlog.followups import CLOSED, DUE_SOON, NOTICE, OVERDUE, PENDING, STOP_WORK
from tests.factories import TZ, event, site

TODAY = date(2021, 6, 15)
NOW = datetime(2021, 6, 15, 18, 0, tzinfo=TZ)


@pytest.mark.parametrize("kind, data, expected", [
    ("enforcement_patrol", {"order": "无"}, None),
    ("enforcement_patrol", {"order": "整改", "notice_no": "衡建整〔2021〕1号", "notice_deadline": "2021-06-01"}, NOTICE),
    ("enforcement_patrol", {"order": "停工整改", "notice_no": "衡建停〔2021〕1号", "notice_deadline": "2021-06-01"}, STOP_WORK),
    ("safety_patrol", {"finding": "一般"}, None),
    ("safety_patrol", {"finding": "一般", "notice_no": "安整1号", "notice_deadline": "2021-06-01"}, NOTICE),
])
def test_order_of(kind, data, expected):
    assert followups.order_of(kind, data) == expected


@pytest.mark.parametrize("deadline, closed_on, expected", [
    (date(2021, 6, 14), None, OVERDUE),
    (date(2021, 6, 15), None, DUE_SOON),
    (date(2021, 6, 20), None, DUE_SOON),
    (date(2021, 6, 21), None, PENDING),
    (date(2021, 6, 1), date(2021, 6, 2), CLOSED),
])
def test_status(deadline, closed_on, expected):
    assert followups.status(deadline, closed_on, TODAY) == expected


def notice(db, by, sid, when, deadline, kind="enforcement_patrol", order="整改", **kw):
    data = {"order": order} if kind == "enforcement_patrol" else {"finding": "一般"}
    data.update({"notice_no": f"N{when[:10]}", "notice_deadline": deadline})
    return event(db, kind, when, by=by, site_id=sid, fields=data, **kw)["id"]


def review(db, by, sid, when, notice_id, closed, **kw):
    return event(db, "rectification_review", when, by=by, site_id=sid,
                 fields={"notice_event_id": notice_id, "closed": closed}, **kw)["id"]


def test_open_notices_overdue_first_and_closing(db, users):
    a, b = users["alice"], users["bob"]
    s = site(db, name="滨江花园")
    due_later = notice(db, a, s, "2021-06-01T09:00:00+08:00", "2021-07-01")
    overdue_little = notice(db, a, s, "2021-05-20T09:00:00+08:00", "2021-06-10", kind="safety_patrol")
    overdue_most = notice(db, b, s, "2021-05-01T09:00:00+08:00", "2021-05-15", order="停工整改")
    closed = notice(db, a, s, "2021-05-02T09:00:00+08:00", "2021-05-20")
    kept_open = notice(db, a, s, "2021-05-03T09:00:00+08:00", "2021-06-18")
    voided = notice(db, a, s, "2021-05-04T09:00:00+08:00", "2021-05-10", voided=True)
    event(db, "enforcement_patrol", "2021-05-05T09:00:00+08:00", by=a, site_id=s, fields={"order": "无"})
    review(db, a, s, "2021-05-18T09:00:00+08:00", closed, True)
    review(db, a, s, "2021-06-01T09:00:00+08:00", kept_open, False)
    review(db, a, s, "2021-06-02T09:00:00+08:00", overdue_most, True, voided=True)  # a voided review closes nothing
    items = followups.notices(db, TODAY)
    assert [n.event_id for n in items] == [overdue_most, overdue_little, kept_open, due_later]
    assert [n.status for n in items] == [OVERDUE, OVERDUE, DUE_SOON, PENDING]
    assert items[0].order == STOP_WORK and items[0].days_over == 31
    assert items[2].latest_review["closed"] is False
    everything = followups.notices(db, TODAY, include_closed=True)
    closed_one = next(n for n in everything if n.event_id == closed)
    assert closed_one.status == CLOSED and closed_one.closed_on == date(2021, 5, 18)
    assert voided not in {n.event_id for n in everything}


def test_review_before_notice_does_not_close_it(db, users):
    a = users["alice"]
    s = site(db)
    n = notice(db, a, s, "2021-06-01T09:00:00+08:00", "2021-06-05")
    review(db, a, s, "2021-05-30T09:00:00+08:00", n, True)
    assert [x.status for x in followups.notices(db, TODAY)] == [OVERDUE]


def test_reopened_then_closed(db, users):
    a = users["alice"]
    s = site(db)
    n = notice(db, a, s, "2021-06-01T09:00:00+08:00", "2021-06-05")
    review(db, a, s, "2021-06-06T09:00:00+08:00", n, False)
    assert followups.notices(db, TODAY)[0].latest_review["closed"] is False
    review(db, a, s, "2021-06-10T09:00:00+08:00", n, True)
    assert followups.notices(db, TODAY) == []


def test_own_notices_for_an_inspector(db, users):
    a, b = users["alice"], users["bob"]
    s = site(db)
    mine = notice(db, a, s, "2021-06-01T09:00:00+08:00", "2021-06-30")
    shared = notice(db, b, s, "2021-06-02T09:00:00+08:00", "2021-06-30", inspector_ids=[a, b])
    notice(db, b, s, "2021-06-03T09:00:00+08:00", "2021-06-30")
    assert {n.event_id for n in followups.notices(db, TODAY, inspector_id=a)} == {mine, shared}


def test_as_of_an_earlier_day_ignores_later_reviews(db, users):
    a = users["alice"]
    s = site(db)
    n = notice(db, a, s, "2021-03-01T09:00:00+08:00", "2021-03-10")
    review(db, a, s, "2021-04-02T09:00:00+08:00", n, True)
    assert [x.status for x in followups.notices(db, date(2021, 3, 31))] == [OVERDUE]
    assert followups.notices(db, date(2021, 4, 2)) == []
    assert followups.notices(db, date(2021, 2, 28)) == []   # not issued yet


def test_notice_and_review_lookups_never_scan_every_event(db, users):
    a = users["alice"]
    s = site(db)
    n = notice(db, a, s, "2021-06-01T09:00:00+08:00", "2021-06-05")
    review(db, a, s, "2021-06-06T09:00:00+08:00", n, True)
    # The statements followups.notices really runs, with their values, through SQLite's query planner.
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        assert followups.notices(db, TODAY, include_closed=True, limit=100)[0].status == CLOSED
    finally:
        db.conn.set_trace_callback(None)
    plans = {sql: " | ".join(row[-1] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql))
             for sql in statements if "FROM events" in sql or "FROM notice_state" in sql}
    notices = [p for sql, p in plans.items() if "FROM notice_state" in sql]
    reviews = [p for sql, p in plans.items() if "rectification_review" in sql]
    assert notices and len(reviews) == 1, plans   # the open ones counted, then the page (open, then closed)
    # The page is cut from notice_state (the index), then its patrols are read: only that page is scanned.
    assert all(re.search(r"SEARCH ns USING (COVERING )?INDEX notice_state_", p) and "SCAN" not in p.replace("SCAN page", "")
               for p in notices), notices
    assert "USING INDEX events_review_notice_of (<expr>=?)" in reviews[0] and "SCAN events" not in reviews[0]


def _people_expected(db) -> set[tuple]:
    """Who sees each notice by visible_to's rule (its recorder and its inspectors), with the notice's days."""
    return set(db.conn.execute(
        "SELECT u.id, ns.event_id, ns.day, ns.deadline, ns.closed_on FROM notice_state ns JOIN events e "
        "ON e.id = ns.event_id JOIN users u ON u.id = e.recorded_by OR u.id IN "
        "(SELECT user_id FROM event_inspectors WHERE event_id = e.id)").fetchall())


def _people(db) -> set[tuple]:
    return set(db.conn.execute("SELECT user_id, event_id, day, deadline, closed_on FROM notice_people").fetchall())


def test_each_persons_notices_follow_the_events_inspectors_and_reviews(db, users):
    """notice_people (migration 025), from which an inspector's notices are read, stays what visible_to says
    through new notices, a change of inspectors, a closing review, a deadline corrected and a void."""
    from fieldlog import events
    from tests.factories import user
    a, b = users["alice"], users["bob"]
    s = site(db)
    shared = notice(db, a, s, "2021-06-01T09:00:00+08:00", "2021-06-20", inspector_ids=[a, b])
    own = notice(db, b, s, "2021-06-02T09:00:00+08:00", "2021-06-30")
    assert _people(db) == _people_expected(db) and {(r[0], r[1]) for r in _people(db)} == {
        (a, shared), (b, shared), (b, own)}
    assert {n.event_id for n in followups.notices(db, TODAY, inspector_id=b)} == {shared, own}
    # bob taken off the shared notice, alice added to his: each sees their own again.
    events.edit(db, shared, {"inspector_ids": [a]}, user=user(db, "alice"), now=NOW, tz=TZ)
    events.edit(db, own, {"inspector_ids": [a, b], "fields": {"notice_deadline": "2021-06-25"}},
                user=user(db, "bob"), now=NOW, tz=TZ)
    assert _people(db) == _people_expected(db)
    assert {n.event_id for n in followups.notices(db, TODAY, inspector_id=b)} == {own}
    assert followups.notices(db, TODAY, inspector_id=b)[0].deadline == date(2021, 6, 25)
    # A closing review closes it for everyone who sees it; a void takes it away.
    review(db, a, s, "2021-06-10T09:00:00+08:00", shared, True)
    assert _people(db) == _people_expected(db)
    assert followups.counts(db, TODAY, inspector_id=a, include_closed=True)["closed"] == 1
    events.void(db, own, user=user(db, "bob"), reason="重复录入", now=NOW)
    assert _people(db) == _people_expected(db) and {r[1] for r in _people(db)} == {shared}
    assert followups.notices(db, TODAY, inspector_id=b) == []


def test_closed_notices_come_last_latest_closed_first_and_pages_join_up(db, users):
    """The view with closed notices: open ones by deadline, then closed ones, the latest closed first (then the
    latest issued); its pages, cut in SQL, join up to the whole list; the tally counts the closed ones."""
    a = users["alice"]
    s = site(db)
    open_late = notice(db, a, s, "2021-05-02T09:00:00+08:00", "2021-07-30")
    open_due = notice(db, a, s, "2021-05-01T09:00:00+08:00", "2021-06-01")
    closed = {}
    for i, closing in enumerate(("2021-05-20", "2021-06-10", "2021-05-20", "2021-06-01")):
        n = notice(db, a, s, f"2021-05-0{3 + i}T09:00:00+08:00", "2021-05-15")
        review(db, a, s, f"{closing}T10:00:00+08:00", n, True)
        closed[n] = (date.fromisoformat(closing), date(2021, 5, 3 + i))
    everything = followups.notices(db, TODAY, include_closed=True)
    assert [n.event_id for n in everything[:2]] == [open_due, open_late]
    shown = [(n.closed_on, n.issued_on) for n in everything[2:]]
    assert shown == sorted(closed.values(), reverse=True)
    pages = [followups.followup_page(db, TODAY, include_closed=True, page=p, size=2) for p in (1, 2, 3)]
    assert [n.event_id for p in pages for n in p.items] == [n.event_id for n in everything]
    assert pages[0].tally == {OVERDUE: 1, DUE_SOON: 0, PENDING: 1, CLOSED: 4} and pages[0].pages == 3
    mine = [followups.followup_page(db, TODAY, include_closed=True, inspector_id=a, page=p, size=4) for p in (1, 2)]
    assert [n.event_id for p in mine for n in p.items] == [n.event_id for n in everything]
    # the report's count of a month's notices: May's six, closed or not, from the daily counts
    assert sum(followups.counts(db, TODAY, include_closed=True, issued_from=date(2021, 5, 1),
                                issued_before=date(2021, 6, 1)).values()) == 6


def test_pages_of_the_station_open_notices_follow_the_notice_order(db, users):
    """The station's open notices are paged in index order (deadline, time) merged with those closed after the day
    asked, and those with no deadline last (a notice stored before the deadline was required): each page is the
    slice of one ORDER BY over every open notice, ties on a deadline broken by issue time."""
    from fieldlog.events import queries

    a, b = users["alice"], users["bob"]
    s = site(db)
    ids = [notice(db, a if i % 2 else b, s, f"2021-05-{1 + i % 9:02d}T{8 + i % 5:02d}:{i:02d}:00+08:00",
                  f"2021-06-{10 + i % 4:02d}") for i in range(14)]
    for old in ids[:2]:  # no deadline: as stored before it was required
        db.conn.execute("UPDATE events SET data = json_remove(data, '$.notice_deadline') WHERE id = ?", [old])
    for i, closing in ((3, "2021-06-20"), (6, "2021-06-02"), (9, "2021-06-25")):
        review(db, a, s, f"{closing}T09:00:00+08:00", ids[i], True)
    asof = date(2021, 6, 15)  # ids[3] and ids[9] closed after it: open as of then; ids[6] closed before
    expected = [r[0] for r in db.conn.execute(
        "SELECT event_id FROM notice_state WHERE day <= ? AND closed_on > ? "
        "ORDER BY deadline IS NULL, deadline, day, occurred_at, event_id", [asof.isoformat()] * 2)]
    assert len(expected) == 13 and ids[6] not in expected and expected[-2:] == sorted(ids[:2], key=ids.index)
    for size in (1, 3, 5, 13, 20):
        paged = [r["id"] for k in range(0, 15, size)
                 for r in queries.notice_rows(db, asof, open_only=True, limit=size, offset=k)]
        assert paged == expected, size
    assert [r["id"] for r in queries.notice_rows(db, asof, open_only=True)] == expected
