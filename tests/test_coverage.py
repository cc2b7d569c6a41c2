"""Monthly coverage: states at month edges, the station-local month of an event, active sites, plants, sampling."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import coverage, events
from fieldlog.coverage import DONE, DUE_SOON, OPEN, OVERDUE
from fieldlog.periods import month, quarter
from tests.factories import NOW, event, plant, site, user

MARCH = month(2021, 3)


@pytest.mark.parametrize("today, met, expected", [
    (date(2021, 3, 10), False, OPEN),
    (date(2021, 3, 25), False, OPEN),       # 6 days left
    (date(2021, 3, 26), False, DUE_SOON),   # 5 days left
    (date(2021, 3, 31), False, DUE_SOON),   # last day: not over yet
    (date(2021, 4, 1), False, OVERDUE),     # the month ended short
    (date(2021, 2, 20), False, OPEN),       # month not started yet
    (date(2021, 3, 26), True, DONE),
    (date(2021, 4, 1), True, DONE),
])
def test_state_from_dates(today, met, expected):
    assert coverage.state(met, MARCH, today) == expected


def test_due_soon_is_a_named_constant():
    assert coverage.DUE_SOON_DAYS == 5
    assert coverage.days_left(MARCH, date(2021, 3, 26)) == 5


def row_of(rows, sid):
    return next(r for r in rows if r.id == sid)


def test_counts_use_station_local_month(db, users):
    s = site(db)
    a = users["alice"]
    event(db, "enforcement_patrol", "2021-03-31T23:59:00+08:00", by=a, site_id=s)   # March in Shanghai
    event(db, "enforcement_patrol", "2021-03-31T16:30:00+00:00", by=a, site_id=s)   # 00:30 on 1 April in Shanghai
    event(db, "safety_patrol", "2021-03-01T00:00:00+08:00", by=a, site_id=s)
    march = row_of(coverage.site_coverage(db, MARCH, date(2021, 4, 2)), s)
    april = row_of(coverage.site_coverage(db, month(2021, 4), date(2021, 4, 2)), s)
    assert march.counts == {"enforcement_patrol": 1, "safety_patrol": 1}
    assert march.state == OVERDUE
    assert april.counts == {"enforcement_patrol": 1}
    assert april.last_visit == date(2021, 4, 1) and april.days_since == 1


def test_quota_met_and_voided_left_out(db, users):
    s = site(db)
    a = users["alice"]
    event(db, "enforcement_patrol", "2021-03-02T09:00:00+08:00", by=a, site_id=s)
    event(db, "enforcement_patrol", "2021-03-03T09:00:00+08:00", by=a, site_id=s)
    patrol = event(db, "safety_patrol", "2021-03-04T09:00:00+08:00", by=a, site_id=s)
    assert row_of(coverage.site_coverage(db, MARCH, date(2021, 3, 5)), s).state == DONE
    event(db, "enforcement_patrol", "2021-03-05T09:00:00+08:00", by=a, site_id=s, voided=True)
    events.void(db, patrol["id"], user=user(db, a), reason="录入错误", now=NOW)
    row = row_of(coverage.site_coverage(db, MARCH, date(2021, 3, 26)), s)
    assert row.counts == {"enforcement_patrol": 2}
    assert row.met == {"enforcement_patrol": True, "safety_patrol": False}
    assert row.state == DUE_SOON
    assert row.last_visit == date(2021, 3, 3)  # the voided visits do not count as visits either


def test_last_visit_ignores_later_events_and_counts_earlier_months(db, users):
    s = site(db)
    a = users["alice"]
    event(db, "safety_patrol", "2021-01-15T10:00:00+08:00", by=a, site_id=s)
    event(db, "safety_patrol", "2021-03-20T10:00:00+08:00", by=a, site_id=s)
    row = row_of(coverage.site_coverage(db, month(2021, 2), date(2021, 3, 25)), s)
    assert row.last_visit == date(2021, 1, 15) and row.days_since == 44  # to the end of February
    row = row_of(coverage.site_coverage(db, MARCH, date(2021, 3, 10)), s)
    assert row.last_visit == date(2021, 1, 15) and row.days_since == 54  # the 20 March visit is after today


def test_active_sites_start_finish_pause_mid_month(db, users):
    starts = site(db, started_on="2021-03-20")
    finished = site(db, started_on="2019-01-01", completed_on="2021-03-05")
    finished_before = site(db, started_on="2019-01-01", completed_on="2021-02-28")
    paused_part = site(db, pauses=[("2021-02-10", "2021-03-15")])
    paused_all = site(db, pauses=[("2021-02-10", "2021-04-02")])
    paused_open = site(db, pauses=[("2021-01-10", None)])
    not_started = site(db, started_on="2021-04-01")
    ids = {r.id for r in coverage.site_coverage(db, MARCH, date(2021, 3, 10))}
    assert ids == {starts, finished, paused_part}
    assert not ids & {finished_before, paused_all, paused_open, not_started}


def test_sort_puts_risk_first(db, users):
    a = users["alice"]
    done = site(db, name="完成")
    one_patrol = site(db, name="巡一次")
    never = site(db, name="从未")
    stale = site(db, name="久未")
    for day in ("02", "03"):
        event(db, "enforcement_patrol", f"2021-03-{day}T09:00:00+08:00", by=a, site_id=done)
    event(db, "safety_patrol", "2021-03-04T09:00:00+08:00", by=a, site_id=done)
    event(db, "enforcement_patrol", "2021-03-20T09:00:00+08:00", by=a, site_id=one_patrol)
    event(db, "safety_patrol", "2020-12-01T09:00:00+08:00", by=a, site_id=stale)
    rows = coverage.site_coverage(db, MARCH, date(2021, 3, 27))
    assert [r.id for r in rows] == [never, stale, one_patrol, done]
    assert [r.state for r in rows] == [DUE_SOON, DUE_SOON, DUE_SOON, DONE]
    assert coverage.tally(rows) == {OVERDUE: 0, DUE_SOON: 3, OPEN: 0, DONE: 1}


def test_filters_by_town_and_inspector(db, users):
    a, b = users["alice"], users["bob"]
    s1 = site(db, town="城关镇", inspectors=[a])
    s2 = site(db, town="吴集镇", inspectors=[b])
    s3 = site(db, town="吴集镇", inspectors=[a, b])
    assert {r.id for r in coverage.site_coverage(db, MARCH, date(2021, 3, 1), town="吴集镇")} == {s2, s3}
    assert {r.id for r in coverage.site_coverage(db, MARCH, date(2021, 3, 1), inspector_id=a)} == {s1, s3}
    assert {r.id for r in coverage.site_coverage(db, MARCH, date(2021, 3, 1), town="城关镇", inspector_id=b)} == set()


def test_plants(db, users):
    a = users["alice"]
    p1 = plant(db)
    p2 = plant(db)
    closed = plant(db, active_to="2021-02-01")
    event(db, "plant_patrol", "2021-03-08T09:00:00+08:00", by=a, plant_id=p1)
    event(db, "plant_patrol", "2021-03-09T09:00:00+08:00", by=a, plant_id=p2, voided=True)
    event(db, "plant_inspection", "2021-03-10T09:00:00+08:00", by=a, plant_id=p2, fields={"result": "合格"})
    rows = coverage.plant_coverage(db, MARCH, date(2021, 4, 1), all_kinds=True)
    assert [r.id for r in rows] == [p2, p1]
    assert row_of(rows, p2).state == OVERDUE and row_of(rows, p2).counts == {"plant_inspection": 1}
    assert row_of(coverage.plant_coverage(db, MARCH, date(2021, 4, 1)), p2).counts == {}  # quota kinds only
    assert row_of(rows, p2).last_visit == date(2021, 3, 10)  # an inspection is a visit, not a patrol
    assert row_of(rows, p1).state == DONE
    assert closed not in {r.id for r in rows}


def test_quarter_sampling_quota(db, users):
    a = users["alice"]
    ready = [site(db, name=f"商砼{i}") for i in range(3)]
    site(db, ready_mix=False)
    site(db, ready_mix=True, started_on="2021-04-01")  # not active in Q1
    event(db, "concrete_sampling", "2021-01-10T09:00:00+08:00", by=a, site_id=ready[0], fields={"result": "合格"})
    event(db, "concrete_sampling", "2021-03-31T23:00:00+08:00", by=a, site_id=ready[1], fields={"result": "合格"})
    event(db, "concrete_sampling", "2021-03-31T17:00:00+00:00", by=a, site_id=ready[2], fields={"result": "合格"})  # Q2
    event(db, "concrete_sampling", "2021-02-10T09:00:00+08:00", by=a, site_id=ready[2], voided=True)
    q = coverage.quarter_sampling(db, month(2021, 2), date(2021, 3, 28))
    assert q.period == quarter(2021, 1)
    assert (q.quota, q.sampled, q.ready_mix) == (3, 2, 3)
    assert [s["id"] for s in q.missing] == [ready[2]]
    assert q.state == DUE_SOON
    assert coverage.quarter_sampling(db, MARCH, date(2021, 4, 1)).state == OVERDUE


def test_quarter_sampling_quota_capped_at_50(db, users):
    for _ in range(52):
        site(db)
    q = coverage.quarter_sampling(db, MARCH, date(2021, 3, 1))
    assert (q.quota, q.ready_mix, q.state) == (50, 52, OPEN)


def test_inspector_month_counts_per_inspector(db, users):
    a, b = users["alice"], users["bob"]
    s = site(db)
    event(db, "safety_patrol", "2021-03-02T09:00:00+08:00", by=a, site_id=s, inspector_ids=[a, b])
    event(db, "leaflets", "2021-03-02T10:00:00+08:00", by=a, fields={"copies": 30})
    event(db, "leaflets", "2021-03-03T10:00:00+08:00", by=a, fields={"copies": 30}, voided=True)
    assert coverage.inspector_month(db, MARCH) == {a: {"safety_patrol": 1, "leaflets": 1}, b: {"safety_patrol": 1}}
