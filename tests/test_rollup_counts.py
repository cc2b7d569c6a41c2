"""The per-subject-period counts the coverage, quota and timeliness rules share (Context.counts_by: each month's
tally rows as arrays of subject ids and counts, summed per subject only where a rule needs the sums), against
figures worked out by hand: a subject with several tally rows in a month (different findings), events at a site
before it started and while it was paused (not counted for that month, counted for the quarter it was active in),
a month covered twice over by two rows."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog.indicators import rules
from fieldlog.indicators.rules import Context
from fieldlog.indicators.tables import Target

from tests.factories import TZ, event, site

TWICE = Target(">=", 2, "次")


@pytest.fixture
def three_sites(db, users):
    """A: all year. B: started 10 February. C: paused for the whole of March (two pauses end to end).

    Enforcement patrols (finding in brackets):
      January   A ×2 (无, 一般)   B ×1 (not started)   C ×1
      February  A ×1             B ×2 (无, 重大)
      March     A ×3 (无, 无, 重大)                      C ×1 (paused)
    Active: January A C; February A B C; March A B; the first quarter A B C.
    """
    a = site(db)
    b = site(db, started_on="2021-02-10")
    c = site(db, pauses=[("2021-03-01", "2021-03-15"), ("2021-03-16", "2021-03-31")])
    for day, where, finding in [("01-05", a, "无"), ("01-06", a, "一般"), ("01-07", b, "无"), ("01-08", c, "无"),
                                ("02-11", a, "无"), ("02-12", b, "无"), ("02-13", b, "重大"),
                                ("03-02", a, "无"), ("03-03", a, "无"), ("03-04", a, "重大"), ("03-05", c, "无")]:
        event(db, "enforcement_patrol", f"2021-{day}T10:00:00+08:00", site_id=where, fields={"finding": finding})
    return a, b, c


def run(db, rule: str, target: Target = TWICE, as_of: str = "2021-03-31", **params) -> rules.Outcome:
    ctx = Context(db, 2021, date.fromisoformat(as_of), TZ)
    return rules.RULES[rule].fn(ctx, target, kind="enforcement_patrol", subject="site", **params)


def test_the_mean_per_active_site_month_sums_each_sites_rows(db, three_sites):
    a, b, c = three_sites
    out = run(db, "quota_per_subject_period", period="month", per="subject")
    # Jan A 2, C 1; Feb A 1, B 2, C 0; Mar A 3, B 0: 9 events over 7 active site-months, at least 0.
    assert (out.actual_text, out.beside) == ("1.2", "最少 0")
    assert [(r["label"], r["id"], r["count"], r["ok"]) for r in out.periods] == [
        ("2021-01", a, 2, True), ("2021-01", c, 1, False),
        ("2021-02", a, 1, False), ("2021-02", b, 2, True), ("2021-02", c, 0, False),
        ("2021-03", a, 3, True), ("2021-03", b, 0, False)]


@pytest.mark.parametrize("min_count, text", [(1, "71.4%"), (2, "42.8%"), (0, "100.0%")])
def test_coverage_counts_the_active_site_months_reaching_the_minimum(db, three_sites, min_count, text):
    out = run(db, "coverage", period="month", min_count=min_count)
    # min 1: A-Jan C-Jan A-Feb B-Feb A-Mar of 7; min 2: A-Jan B-Feb A-Mar of 7; min 0: all 7.
    assert (out.actual_text, out.detail) == (text, {1: "5/7", 2: "3/7", 0: "7/7"}[min_count])


def test_timeliness_lists_the_active_sites_that_missed_each_month(db, three_sites):
    a, b, c = three_sites
    every = run(db, "timeliness", period="month", test="every_subject", min_count=2)
    assert [(r["label"], r["missing"], r["active"]) for r in every.periods] == [
        ("2021-01", [c], 2), ("2021-02", [a, c], 3), ("2021-03", [b], 2)]
    assert every.actual_text == "0.0%"
    counted = run(db, "timeliness", Target("text"), period="month", test="count_and_cover", annual=24)
    # 2 a month from every active site at least once: January (3 events at A and C) only.
    assert [(r["label"], r["count"], r["ok"]) for r in counted.periods] == [
        ("2021-01", 3, True), ("2021-02", 3, False), ("2021-03", 3, False)]


def test_a_quarter_counts_the_sites_active_in_it_with_all_their_events(db, three_sites):
    out = run(db, "quota_per_subject_period", period="quarter", per="period")
    assert [(r["label"], r["count"]) for r in out.periods] == [("2021-Q1", 3)]   # A, B and C had events
    ctx = Context(db, 2021, date(2021, 3, 31), TZ)
    # A 6, B 3 (its January event too: B was active in the quarter), C 2 (its March one too).
    assert ctx.per_period(["enforcement_patrol"], "site", "quarter") == {"2021-Q1": (11, 3)}
    assert ctx.per_period(["enforcement_patrol"], "site", "month") == {
        "2021-01": (3, 2), "2021-02": (3, 2), "2021-03": (3, 1)}
