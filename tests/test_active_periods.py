"""docs/rules.md, "Active": an event at a site (or plant) that was not active in a period is not part of any
per-period rule for that period, nor of the chief's coverage page. One test per rule, each with an event at an
inactive subject that would change the figure if it were counted."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import coverage
from fieldlog.indicators import rules
from fieldlog.indicators.rules import Context
from fieldlog.indicators.tables import Target
from fieldlog.periods import month

from tests.factories import TZ, event, plant, site


def run(db, rule: str, as_of: str, target: Target | None = None, **params) -> rules.Outcome:
    ctx = Context(db, 2021, date.fromisoformat(as_of), TZ)
    try:
        return rules.RULES[rule].fn(ctx, target or Target(">=", 1, ""), **params)
    finally:
        ctx.close()


@pytest.fixture
def sampled(db, users):
    """R1 active all year; P paused for the whole of Q2; L starts 1 July (not started in Q1 or Q2).

    Samples: Q1 at R1 and at L (not started: not counted); Q2 at R1 and at P (paused: not counted).
    Counted: Q1 1 site of a quota min(50, {R1, P}) = 2; Q2 1 site of min(50, {R1}) = 1.
    """
    r1 = site(db, name="全年工地")
    p = site(db, name="二季度停工", pauses=[("2021-04-01", "2021-06-30")])
    late = site(db, name="七月开工", started_on="2021-07-01")
    event(db, "concrete_sampling", "2021-02-01", site_id=r1)
    event(db, "concrete_sampling", "2021-02-02", site_id=late)
    event(db, "concrete_sampling", "2021-05-01", site_id=r1)
    event(db, "concrete_sampling", "2021-05-02", site_id=p)
    return {"r1": r1, "p": p, "late": late}


def test_quarterly_mean_of_sites_sampled(db, sampled):
    out = run(db, "quota_per_subject_period", "2021-06-30", Target(">=", 50, "个工地"), kind="concrete_sampling",
              subject="site", period="quarter", per="period")
    assert [(r["label"], r["count"]) for r in out.periods] == [("2021-Q1", 1), ("2021-Q2", 1)]
    assert out.actual_text == "1.0"


def test_sampling_quota_coverage(db, sampled):
    out = run(db, "coverage", "2021-06-30", kind="concrete_sampling", subject="site", period="quarter", mode="quota",
              quota=50)
    # Q1 min(1, 2) + Q2 min(1, 1) over 2 + 1; counting the inactive sites would give 3/3.
    assert (out.actual_text, out.detail) == ("66.6%", "2/3")


def test_sampling_on_time(db, sampled):
    out = run(db, "timeliness", "2021-06-30", period="quarter", test="quota", kind="concrete_sampling", quota=50)
    assert [(r["label"], r["count"], r["need"], r["ok"]) for r in out.periods] == [
        ("2021-Q1", 1, 2, False), ("2021-Q2", 1, 1, True)]


def test_chief_sampling_block(db, sampled):
    q1 = coverage.quarter_sampling(db, month(2021, 2), date(2021, 4, 1))
    q2 = coverage.quarter_sampling(db, month(2021, 5), date(2021, 7, 1))
    assert (q1.sampled, q1.quota, [s["id"] for s in q1.missing]) == (1, 2, [sampled["p"]])
    assert (q2.sampled, q2.quota, q2.missing) == (1, 1, [])


@pytest.fixture
def patrolled(db, users):
    """S1 active all year, S2 starts 1 March. In January S1 has 1 safety patrol and 1 enforcement patrol, S2
    (not started) 1 of each; in February S1 has 2 of each."""
    s1, s2 = site(db), site(db, started_on="2021-03-01")
    for kind in ("safety_patrol", "enforcement_patrol"):
        event(db, kind, "2021-01-10", site_id=s1)
        event(db, kind, "2021-01-11", site_id=s2)
        event(db, kind, "2021-02-10", site_id=s1)
        event(db, kind, "2021-02-11", site_id=s1)
    return s1, s2


def test_count_and_cover_counts_active_sites_only(db, patrolled):
    # annual 24: 2 a month. January's second patrol was at S2, not started: January is short.
    out = run(db, "timeliness", "2021-02-28", period="month", test="count_and_cover", kind="safety_patrol",
              subject="site", annual=24)
    assert [(r["label"], r["count"], r["ok"]) for r in out.periods] == [("2021-01", 1, False), ("2021-02", 2, True)]


def test_every_subject_and_mean_and_coverage(db, patrolled):
    every = run(db, "timeliness", "2021-02-28", period="month", test="every_subject", kind="enforcement_patrol",
                subject="site", min_count=1)
    assert every.actual_text == "100.0%" and all(r["active"] == 1 for r in every.periods)
    mean = run(db, "quota_per_subject_period", "2021-02-28", Target(">=", 2, "次"), kind="enforcement_patrol",
               subject="site", period="month", per="subject")
    assert (mean.actual_text, len(mean.periods)) == ("1.5", 2)          # (1 + 2) / 2 site-months of S1
    cov = run(db, "coverage", "2021-02-28", kind="enforcement_patrol", subject="site", period="month", min_count=2)
    assert cov.detail == "1/2"


def test_plant_rules(db, users):
    open_, closed = plant(db), plant(db, active_to="2020-12-31")
    event(db, "plant_patrol", "2021-01-10", plant_id=open_)
    event(db, "plant_patrol", "2021-01-10", plant_id=closed)
    event(db, "plant_patrol", "2021-01-11", plant_id=closed)
    mean = run(db, "quota_per_subject_period", "2021-01-31", Target(">=", 1, "次"), kind="plant_patrol",
               subject="plant", period="month", per="period")
    assert [r["count"] for r in mean.periods] == [1]
    cov = run(db, "coverage", "2021-01-31", kind="plant_patrol", subject="plant", period="month", min_count=1)
    assert cov.detail == "1/1"


def test_campaign_rules(db, users):
    """C1 (Q1) was inspected only at a site completed before it began: it covers nothing and is no campaign of
    Q1 for the on-time row; C2 (Q2) was inspected at an active site."""
    done, active = site(db, completed_on="2020-12-31"), site(db)
    event(db, "major_inspection", "2021-03-05", site_id=done, campaign=("一季度大检查", "2021-03-01", "2021-03-20"))
    event(db, "major_inspection", "2021-05-05", site_id=active, campaign=("二季度大检查", "2021-05-01", "2021-05-20"))
    on_time = run(db, "timeliness", "2021-06-30", period="quarter", test="campaign_ended", kind="major_inspection")
    assert [(r["label"], r["ok"]) for r in on_time.periods] == [("2021-Q1", False), ("2021-Q2", True)]
    cov = run(db, "coverage", "2021-06-30", kind="major_inspection", subject="site", mode="campaign")
    assert cov.detail == "1/2"   # C1: the one active site not visited; C2: visited
