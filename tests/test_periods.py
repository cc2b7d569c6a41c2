"""Calendar periods and the active-in-period rule (SPEC section 2) at month and quarter edges."""

from datetime import date

import pytest

from fieldlog import periods
from fieldlog.periods import is_active

D = date.fromisoformat
MARCH = periods.month(2021, 3)
Q1 = periods.quarter(2021, 1)
Q2 = periods.quarter(2021, 2)


def test_period_bounds():
    assert (MARCH.start, MARCH.end, MARCH.label) == (D("2021-03-01"), D("2021-03-31"), "2021-03")
    assert periods.month(2021, 2).end == D("2021-02-28")
    assert periods.month(2020, 2).end == D("2020-02-29")
    assert periods.month(2021, 12).end == D("2021-12-31")
    assert (Q1.start, Q1.end, Q1.label) == (D("2021-01-01"), D("2021-03-31"), "2021-Q1")
    assert Q2.months() == ["2021-04", "2021-05", "2021-06"]
    assert periods.quarter_of(D("2021-03-31")) == Q1 and periods.quarter_of(D("2021-04-01")) == Q2
    assert periods.parse_month("2021-11") == periods.month(2021, 11)
    with pytest.raises(ValueError):
        periods.parse_month("2021-13")


def test_elapsed_counts_a_period_ending_on_the_day():
    months = periods.months_of(2021)
    assert [p.label for p in periods.elapsed(months, D("2021-03-30"))] == ["2021-01", "2021-02"]
    assert [p.label for p in periods.elapsed(months, D("2021-03-31"))] == ["2021-01", "2021-02", "2021-03"]
    assert len(periods.elapsed(periods.quarters_of(2021), D("2022-01-01"))) == 4


@pytest.mark.parametrize(
    "started, ended, pauses, period, expected",
    [
        # not started yet / started on the last day of the period
        (None, None, [], MARCH, False),
        ("2021-04-01", None, [], MARCH, False),
        ("2021-03-31", None, [], MARCH, True),
        ("2021-03-31", None, [], Q1, True),
        # completed before the period began / completed on its first day
        ("2020-01-01", "2021-02-28", [], MARCH, False),
        ("2020-01-01", "2021-03-01", [], MARCH, True),
        ("2020-01-01", "2021-03-31", [], Q2, False),
        ("2020-01-01", "2021-04-01", [], Q2, True),
        # paused for the whole month, open-ended pause, pause covering part of it
        ("2020-01-01", None, [("2021-03-01", "2021-03-31")], MARCH, False),
        ("2020-01-01", None, [("2021-02-15", "2021-04-10")], MARCH, False),
        ("2020-01-01", None, [("2021-02-15", None)], MARCH, False),
        ("2020-01-01", None, [("2021-03-01", "2021-03-30")], MARCH, True),
        ("2020-01-01", None, [("2021-03-02", "2021-03-31")], MARCH, True),
        ("2020-01-01", None, [("2021-02-15", "2021-04-10")], Q1, True),
        # two pauses that together cover the month, and two that leave a day
        ("2020-01-01", None, [("2021-03-01", "2021-03-15"), ("2021-03-16", "2021-04-02")], MARCH, False),
        ("2020-01-01", None, [("2021-03-01", "2021-03-15"), ("2021-03-17", "2021-04-02")], MARCH, True),
        # started mid-month and paused from then to the end: never worked in the month
        ("2021-03-10", None, [("2021-03-10", "2021-03-31")], MARCH, False),
        # completed mid-month, the days before completion paused
        ("2020-01-01", "2021-03-20", [("2021-03-01", "2021-03-20")], MARCH, False),
        ("2020-01-01", "2021-03-20", [("2021-03-01", "2021-03-19")], MARCH, True),
    ],
)
def test_is_active(started, ended, pauses, period, expected):
    parsed = [(D(a), D(b) if b else None) for a, b in pauses]
    assert is_active(D(started) if started else None, D(ended) if ended else None, parsed, period) is expected


def test_active_sites_reads_the_registry(db, users):
    from fieldlog import registry

    base = {"uses_ready_mix": "是", "town": "城关镇"}
    a = registry.save_site(db, {**base, "name": "甲", "reg_no": "A1", "started_on": "2021-01-05"})
    b = registry.save_site(db, {**base, "name": "乙", "reg_no": "B1", "started_on": "2020-01-05",
                                 "completed_on": "2021-02-27"})
    c = registry.save_site(db, {**base, "name": "丙", "reg_no": "C1", "started_on": "2020-06-01"},
                           pauses=[{"start_on": "2021-03-01", "end_on": ""}])
    d = registry.save_site(db, {**base, "name": "丁", "reg_no": "D1", "started_on": "2020-06-01", "uses_ready_mix": "否"})
    assert {s["id"] for s in registry.active_sites(db, MARCH)} == {a, d}
    assert {s["id"] for s in registry.active_sites(db, Q1)} == {a, b, c, d}
    assert {s["id"] for s in registry.active_sites(db, Q1, ready_mix_only=True)} == {a, b, c}
    assert registry.active_site_map(db, [MARCH, Q1]) == {"2021-03": {a, d}, "2021-Q1": {a, b, c, d}}
