"""Each rule of the vocabulary on small scenarios whose expected figures are worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog.indicators import rules
from fieldlog.indicators.rules import Context
from fieldlog.indicators.tables import Target

from tests.factories import TZ, event, plant, site, survey_answers

AT_LEAST = Target(">=", 2, "次")


def run(db, rule: str, as_of: str, target: Target | None = None, **params) -> rules.Outcome:
    ctx = Context(db, 2021, date.fromisoformat(as_of), TZ)
    return rules.RULES[rule].fn(ctx, target or Target(">=", 1, ""), **params)


# --- month and quarter edges in Asia/Shanghai ------------------------------------------------------

@pytest.mark.parametrize("as_of, expected", [
    ("2021-03-30", 0),   # neither has happened yet
    ("2021-03-31", 1),   # 23:59 local on 31 March: in March, in Q1
    ("2021-04-01", 2),   # 16:30Z on 31 March is 00:30 on 1 April local: in April
])
def test_count_cuts_days_in_station_time(db, users, as_of, expected):
    s = site(db)
    event(db, "safety_patrol", "2021-03-31T23:59:00+08:00", site_id=s)
    event(db, "safety_patrol", "2021-03-31T16:30:00Z", site_id=s)
    assert run(db, "count", as_of, kind="safety_patrol").actual == expected


def test_quarter_edge_events_land_in_their_local_quarter(db, users):
    a, b = site(db), site(db)
    event(db, "concrete_sampling", "2021-03-31T23:59:00+08:00", site_id=a)   # Q1
    event(db, "concrete_sampling", "2021-03-31T16:30:00Z", site_id=b)        # 2021-04-01 00:30 local: Q2
    out = run(db, "quota_per_subject_period", "2021-06-30", kind="concrete_sampling", subject="site",
              period="quarter", per="period")
    assert [(r["label"], r["count"]) for r in out.periods] == [("2021-Q1", 1), ("2021-Q2", 1)]
    assert out.actual == 1.0 and out.detail.startswith("最少 1")


# --- count / sum / distinct ---------------------------------------------------------------------

@pytest.mark.parametrize("as_of, expected", [
    ("2021-01-31", 1),   # Jan only
    ("2021-02-14", 1),   # the 15 Feb patrol has not happened yet (partial month uses the day)
    ("2021-02-15", 2),
    ("2021-12-31", 3),   # the voided one and the 2020 one never count
    ("2022-06-30", 3),   # after the year: the year's events only
])
def test_count_excludes_voided_other_years_and_future(db, users, as_of, expected):
    s = site(db)
    event(db, "safety_patrol", "2020-12-31T23:00:00+08:00", site_id=s)
    event(db, "safety_patrol", "2021-01-05", site_id=s)
    event(db, "safety_patrol", "2021-02-15", site_id=s)
    event(db, "safety_patrol", "2021-02-01", site_id=s, voided=True)
    event(db, "safety_patrol", "2021-07-01", site_id=s)
    event(db, "enforcement_patrol", "2021-01-06", site_id=s)  # another kind
    assert run(db, "count", as_of, kind="safety_patrol").actual == expected


def test_late_logged_event_counts_when_it_occurred(db, users):
    s = site(db)
    logged = event(db, "safety_patrol", "2021-03-10", site_id=s, received_at="2021-04-19T10:00:00+08:00")  # 40 days on
    assert (logged["late"], logged["month"]) == (True, "2021-03")
    # Counted as of the end of March although it reached the server in April.
    assert run(db, "count", "2021-03-31", kind="safety_patrol").actual == 1
    assert run(db, "coverage", "2021-03-31", kind="safety_patrol", subject="site", period="month",
               min_count=1).periods[-1]["ok"] is True


@pytest.mark.parametrize("scale, decimals, target, as_of, value, text", [
    (1, None, Target(">=", 6000, "份"), "2021-12-31", 350, "350"),           # 100 + 250; the voided 1000 is out
    (1, None, Target(">=", 6000, "份"), "2021-03-31", 100, "100"),
    (0.0001, 2, Target("<=", 50, "万元"), "2021-12-31", 0.0350, "0.04"),     # 350 元 = 0.035 万元, shown rounded up for ≤
])
def test_sum(db, users, scale, decimals, target, as_of, value, text):
    event(db, "leaflets", "2021-03-01", fields={"copies": 100})
    event(db, "leaflets", "2021-05-01", fields={"copies": 250})
    event(db, "leaflets", "2021-05-02", fields={"copies": 1000}, voided=True)
    out = run(db, "sum", as_of, target, kind="leaflets", field="copies", scale=scale, decimals=decimals)
    assert out.actual == pytest.approx(value) and out.actual_text == text


def test_distinct_sites_plants_campaigns(db, users):
    s1, s2 = site(db), site(db)
    p1, p2 = plant(db), plant(db)
    c1 = ("一季度大检查", "2021-03-01", "2021-03-20")
    c2 = ("二季度大检查", "2021-06-01", "2021-06-20")
    event(db, "major_inspection", "2021-03-05", site_id=s1, campaign=c1)
    event(db, "major_inspection", "2021-03-06", site_id=s2, campaign=c1)
    event(db, "major_inspection", "2021-06-05", site_id=s1, campaign=c2, voided=True)
    event(db, "plant_inspection", "2021-04-01", plant_id=p1)
    event(db, "plant_inspection", "2021-05-01", plant_id=p1)
    event(db, "plant_inspection", "2021-08-01", plant_id=p2)
    assert run(db, "distinct", "2021-12-31", kind="major_inspection", subject="campaign").actual == 1
    assert run(db, "distinct", "2021-12-31", kind="major_inspection", subject="site").actual == 2
    assert run(db, "distinct", "2021-06-30", kind="plant_inspection", subject="plant").actual == 1
    assert run(db, "distinct", "2021-12-31", kind="plant_inspection", subject="plant").actual == 2


# --- per subject-period rules: sites that start, finish or pause mid-period ---------------------------

@pytest.fixture
def enforcement(db, users):
    """Jan and Feb 2021. Active site-months: (Jan S1, S3, S4), (Feb S1, S2).

    S2 starts 10 Feb; S3 is completed 20 Jan; S4 is paused for all of February.
    Enforcement patrols: Jan S1 2, S3 1, S4 2; Feb S1 3, S2 2, S4 1 (paused: not counted);
    a voided Feb patrol on S3; a March patrol on S1 (March not elapsed as of 28 Feb).
    """
    s1 = site(db)
    s2 = site(db, started_on="2021-02-10")
    s3 = site(db, completed_on="2021-01-20")
    s4 = site(db, pauses=[("2021-02-01", "2021-02-28")])
    plan = {("2021-01", s1): 2, ("2021-01", s3): 1, ("2021-01", s4): 2, ("2021-02", s1): 3, ("2021-02", s2): 2,
            ("2021-02", s4): 1, ("2021-03", s1): 1}
    for (month, sid), n in plan.items():
        for i in range(n):
            event(db, "enforcement_patrol", f"{month}-{12 + i:02d}", site_id=sid)
    event(db, "enforcement_patrol", "2021-02-20", site_id=s2, voided=True)
    return {"s1": s1, "s2": s2, "s3": s3, "s4": s4}


def test_quota_mean_and_minimum_over_active_site_months(db, enforcement):
    out = run(db, "quota_per_subject_period", "2021-02-28", AT_LEAST, kind="enforcement_patrol", subject="site",
              period="month", per="subject")
    # (2 + 1 + 2 + 3 + 2) / 5 site-months = 2.0, minimum 1 (S3 in January)
    assert out.actual == 2.0 and out.actual_text == "2.0"
    assert out.detail == "最少 1（共 5 个工地·月）"
    assert sorted((r["label"], r["id"]) for r in out.periods) == sorted(
        [("2021-01", enforcement["s1"]), ("2021-01", enforcement["s3"]), ("2021-01", enforcement["s4"]),
         ("2021-02", enforcement["s1"]), ("2021-02", enforcement["s2"])])


def test_quota_mid_month_uses_elapsed_months_only(db, enforcement):
    # As of 27 February only January has ended: (2 + 1 + 2) / 3 = 1.666… shown cut to 1.6.
    out = run(db, "quota_per_subject_period", "2021-02-27", AT_LEAST, kind="enforcement_patrol", subject="site",
              period="month", per="subject")
    assert out.actual_text == "1.6" and out.detail == "最少 1（共 3 个工地·月）"


def test_quota_before_any_month_ended(db, enforcement):
    out = run(db, "quota_per_subject_period", "2021-01-30", AT_LEAST, kind="enforcement_patrol", subject="site",
              period="month", per="subject")
    assert out.actual is None and "尚无已结束的月" in out.actual_text


@pytest.mark.parametrize("min_count, as_of, text, detail", [
    (2, "2021-02-28", "80.0%", "4/5"),    # only S3-January falls short of 2
    (1, "2021-02-28", "100.0%", "5/5"),
    (3, "2021-02-28", "20.0%", "1/5"),    # only S1-February reached 3
    (2, "2021-01-31", "66.6%", "2/3"),    # January only; 66.66… cut, never rounded up
])
def test_coverage_pooled_over_active_site_months(db, enforcement, min_count, as_of, text, detail):
    out = run(db, "coverage", as_of, kind="enforcement_patrol", subject="site", period="month", min_count=min_count)
    assert (out.actual_text, out.detail) == (text, detail)


def test_timeliness_every_active_site(db, enforcement):
    out = run(db, "timeliness", "2021-02-28", period="month", test="every_subject", kind="enforcement_patrol",
              subject="site", min_count=2)
    # January: S3 had 1 of 2 -> missed; February: S1 3, S2 2 (S4 paused) -> met.
    assert [(r["label"], r["ok"]) for r in out.periods] == [("2021-01", False), ("2021-02", True)]
    assert out.periods[0]["missing"] == [enforcement["s3"]]
    assert (out.actual, out.actual_text, out.met, out.progress) == (50.0, "50.0%", False, 0.5)


@pytest.mark.parametrize("extra_march, expected_rate, expected_met", [
    ([], "66.6%", False),                    # Jan met, Feb missed S2, Mar met (S1 1 + S2 1 = 2)
    (["voided_s2"], "33.3%", False),         # the voided S2 patrol leaves March uncovered and short
    (["feb_s2"], "100.0%", True),            # a February patrol of S2 makes every month
])
def test_timeliness_count_and_cover(db, users, extra_march, expected_rate, expected_met):
    s1, s2 = site(db), site(db, started_on="2021-02-15")
    for day in ("2021-01-04", "2021-01-20", "2021-02-03", "2021-02-04", "2021-02-05", "2021-03-09"):
        event(db, "safety_patrol", day, site_id=s1)
    event(db, "safety_patrol", "2021-03-10", site_id=s2, voided="voided_s2" in extra_march)
    if "feb_s2" in extra_march:
        event(db, "safety_patrol", "2021-02-25", site_id=s2)
    # annual 24 -> at least 2 patrols a month, and every active site at least once
    out = run(db, "timeliness", "2021-03-31", period="month", test="count_and_cover", kind="safety_patrol",
              subject="site", annual=24)
    assert (out.actual_text, out.met) == (expected_rate, expected_met)


def test_timeliness_ceil_of_annual_over_twelve(db, users):
    s = site(db)
    for day in range(1, 43):  # 42 patrols in January = ⌈500 / 12⌉
        event(db, "safety_patrol", f"2021-01-{(day % 28) + 1:02d}", site_id=s)
    out = run(db, "timeliness", "2021-02-28", period="month", test="count_and_cover", kind="safety_patrol",
              subject="site", annual=500)
    assert [(r["label"], r["count"], r["need"], r["ok"]) for r in out.periods] == [
        ("2021-01", 42, 42, True), ("2021-02", 0, 42, False)]


@pytest.fixture
def plants(db, users):
    """P1 all year; P2 closes 31 Jan. Patrols: P1 in Jan and Feb, P2 never."""
    p1, p2 = plant(db), plant(db, active_to="2021-01-31")
    event(db, "plant_patrol", "2021-01-10", plant_id=p1)
    event(db, "plant_patrol", "2021-02-10", plant_id=p1)
    return p1, p2


def test_plant_rules(db, plants):
    quota = run(db, "quota_per_subject_period", "2021-02-28", Target(">=", 1, "次"), kind="plant_patrol",
                subject="plant", period="month", per="subject")
    assert (quota.actual_text, quota.detail) == ("0.6", "最少 0（共 3 个搅拌站·月）")   # 2 / 3 cut
    cov = run(db, "coverage", "2021-02-28", kind="plant_patrol", subject="plant", period="month", min_count=1)
    assert (cov.actual_text, cov.detail) == ("66.6%", "2/3")
    on_time = run(db, "timeliness", "2021-02-28", period="month", test="every_subject", kind="plant_patrol",
                  subject="plant", min_count=1)
    assert [(r["label"], r["ok"]) for r in on_time.periods] == [("2021-01", False), ("2021-02", True)]


# --- concrete sampling quota ------------------------------------------------------------------------

@pytest.fixture
def sampling(db, users):
    """Three ready-mix sites and one without; Q1 sampled R1 and N1, Q2 sampled R1 twice, Q3 none."""
    r1, r2, r3 = site(db), site(db), site(db)
    n1 = site(db, ready_mix=False)
    event(db, "concrete_sampling", "2021-02-01", site_id=r1)
    event(db, "concrete_sampling", "2021-03-01", site_id=n1)
    event(db, "concrete_sampling", "2021-04-01", site_id=r1)
    event(db, "concrete_sampling", "2021-05-01", site_id=r1)
    event(db, "concrete_sampling", "2021-05-02", site_id=r2, voided=True)
    return r1, r2, r3, n1


@pytest.mark.parametrize("quota, as_of, text, detail", [
    (2, "2021-06-30", "75.0%", "3/4"),      # Q1 min(2, 2) + Q2 min(1, 2) over quotas 2 + 2
    (50, "2021-06-30", "50.0%", "3/6"),     # quota min(50, 3 ready-mix sites) = 3 each quarter
    (50, "2021-03-31", "66.6%", "2/3"),
    (50, "2021-09-30", "33.3%", "3/9"),     # Q3 sampled nobody
])
def test_sampling_quota_coverage(db, sampling, quota, as_of, text, detail):
    out = run(db, "coverage", as_of, kind="concrete_sampling", subject="site", period="quarter", mode="quota",
              quota=quota)
    assert (out.actual_text, out.detail) == (text, detail)


def test_sampling_timeliness_and_mean(db, sampling):
    on_time = run(db, "timeliness", "2021-06-30", period="quarter", test="quota", kind="concrete_sampling",
                  subject="site", quota=2)
    assert [(r["label"], r["count"], r["need"], r["ok"]) for r in on_time.periods] == [
        ("2021-Q1", 2, 2, True), ("2021-Q2", 1, 2, False)]
    assert on_time.actual_text == "50.0%"
    mean = run(db, "quota_per_subject_period", "2021-06-30", Target(">=", 50, "个工地"), kind="concrete_sampling",
               subject="site", period="quarter", per="period")
    assert (mean.actual_text, mean.detail) == ("1.5", "最少 1（共 2 个季度）")


# --- campaigns ----------------------------------------------------------------------------------------

@pytest.fixture
def campaigns(db, users):
    """C1 1-20 Mar (Q1), C2 10 Jun - 5 Jul (Q3). S1 all year; S2 starts 25 Mar; S3 completed 1 Jun."""
    s1, s2, s3 = site(db), site(db, started_on="2021-03-25"), site(db, completed_on="2021-06-01")
    c1 = ("一季度大检查", "2021-03-01", "2021-03-20")
    c2 = ("年中大检查", "2021-06-10", "2021-07-05")
    event(db, "major_inspection", "2021-03-05", site_id=s1, campaign=c1)
    event(db, "major_inspection", "2021-03-06", site_id=s3, campaign=c1, voided=True)
    event(db, "major_inspection", "2021-06-15", site_id=s1, campaign=c2)
    event(db, "major_inspection", "2021-07-02", site_id=s2, campaign=c2)
    return s1, s2, s3


@pytest.mark.parametrize("as_of, text, detail", [
    ("2021-03-19", None, None),             # no campaign has ended
    ("2021-06-30", "50.0%", "1/2"),         # C1: S1 and S3 active, S1 visited (S3's visit was voided)
    ("2021-12-31", "75.0%", "3/4"),         # + C2: S1 and S2 active (S3 completed before it), both visited
])
def test_campaign_coverage(db, campaigns, as_of, text, detail):
    out = run(db, "coverage", as_of, kind="major_inspection", subject="site", mode="campaign")
    assert out.actual_text.startswith("—") if text is None else (out.actual_text, out.detail) == (text, detail)


def test_campaign_timeliness(db, campaigns):
    out = run(db, "timeliness", "2021-09-30", period="quarter", test="campaign_ended", kind="major_inspection")
    assert [(r["label"], r["ok"]) for r in out.periods] == [("2021-Q1", True), ("2021-Q2", False), ("2021-Q3", True)]
    assert out.actual_text == "66.6%"


# --- ratios, deadline, reached_by, threshold, per mille ---------------------------------------------------

@pytest.mark.parametrize("params, text, detail", [
    ({"kinds": ["concrete_sampling", "plant_inspection"], "field": "result", "pass_values": ["合格"]}, "80.0%", "4/5"),
    ({"kinds": ["safety_patrol", "enforcement_patrol", "major_inspection"], "field": "finding",
      "fail_values": ["重大"]}, "60.0%", "3/5"),
    ({"kinds": ["construction_permit"], "field": "conditions_met", "pass_values": ["符合"]}, "66.6%", "2/3"),
    ({"kinds": ["completion_filing"], "field": "result", "pass_values": ["合格"]}, None, None),
])
def test_ratio_pooled(db, users, params, text, detail):
    s, p = site(db), plant(db)
    for result in ("合格", "合格", "合格", "不合格"):
        event(db, "concrete_sampling", "2021-04-01", site_id=s, fields={"result": result})
    event(db, "plant_inspection", "2021-04-02", plant_id=p)
    event(db, "plant_inspection", "2021-04-03", plant_id=p, fields={"result": "不合格"}, voided=True)
    for kind, finding in (("safety_patrol", "无"), ("safety_patrol", "一般"), ("safety_patrol", "重大"),
                          ("enforcement_patrol", "无"), ("major_inspection", "重大")):
        counts = {"hazards_major": int(finding == "重大"), "hazards_general": int(finding == "一般")} \
            if kind == "safety_patrol" else {}
        event(db, kind, "2021-05-01", site_id=s, fields={"finding": finding, **counts},
           campaign=("大检查", "2021-05-01", "2021-05-10") if kind == "major_inspection" else None)
    for met in ("符合", "符合", "不符合"):
        event(db, "construction_permit", "2021-06-08", site_id=s, fields={"conditions_met": met})
    out = run(db, "ratio", "2021-12-31", **params)
    if text is None:
        assert out.actual is None and out.actual_text.startswith("—")
    else:
        assert (out.actual_text, out.detail) == (text, detail)


def test_survey_ratio(db, users):
    survey_answers(db, "awareness_survey", "2021-03-01", positive=18, negative=1)
    survey_answers(db, "awareness_survey", "2021-09-01", positive=1, negative=0)
    survey_answers(db, "satisfaction_survey", "2021-03-01", positive=1, negative=3)
    survey_answers(db, "awareness_survey", "2020-12-31", positive=0, negative=5)
    assert run(db, "ratio", "2021-06-30", source="survey", survey="awareness_survey").actual_text == "94.7%"  # 18/19
    assert run(db, "ratio", "2021-12-31", source="survey", survey="awareness_survey").actual_text == "95.0%"  # 19/20
    assert run(db, "ratio", "2021-12-31", source="survey", survey="satisfaction_survey").actual_text == "25.0%"


def test_deadline_within_days(db, users):
    s = site(db)
    for filed in ("2021-06-10", "2021-06-16", "2021-06-17"):   # 9, 15 and 16 days after acceptance
        event(db, "completion_filing", filed, site_id=s, fields={"accepted_on": "2021-06-01", "filed_on": filed})
    out = run(db, "deadline", "2021-12-31", kind="completion_filing", from_field="accepted_on", to_field="filed_on",
              days=15)
    assert (out.actual_text, out.met, out.detail) == ("66.6%", False, "2/3 在 15 日内")


@pytest.mark.parametrize("as_of, actual, text, met, progress", [
    ("2021-06-30", None, "未达到（累计 5000）", False, 5000 / 6000),
    ("2021-12-31", "2021-08-08", "2021-08-08 累计达到 6000", True, 1.0),
])
def test_reached_by(db, users, as_of, actual, text, met, progress):
    event(db, "leaflets", "2021-03-01", fields={"copies": 2000})
    event(db, "leaflets", "2021-05-10", fields={"copies": 3000})
    event(db, "leaflets", "2021-05-20", fields={"copies": 5000}, voided=True)
    event(db, "leaflets", "2021-08-08", fields={"copies": 1500})
    out = run(db, "reached_by", as_of, kind="leaflets", field="copies", threshold=6000)
    assert (out.actual, out.actual_text, out.met) == (actual, text, met)
    assert out.progress == pytest.approx(progress)


@pytest.mark.parametrize("results, actual, met", [
    ([], None, None),
    (["合格", "合格"], "达到", True),
    (["合格", "不合格"], "未达到", False),
])
def test_threshold(db, users, results, actual, met):
    s = site(db)
    for r in results:
        event(db, "concrete_sampling", "2021-04-01", site_id=s, fields={"result": r})
    out = run(db, "threshold", "2021-12-31", kinds=["concrete_sampling", "plant_inspection"], field="result",
              pass_values=["合格"])
    assert (out.actual, out.met) == (actual, met)


def test_per_mille_over_sites_active_in_the_year(db, users):
    s = site(db)
    site(db, started_on="2021-11-01")                     # active from November
    site(db, completed_on="2020-12-31")                   # finished before the year: not counted
    site(db, started_on="2022-02-01")                     # not yet started: not counted
    event(db, "accident", "2021-05-05", site_id=s)
    event(db, "accident", "2021-06-05", site_id=s, voided=True)
    ytd = run(db, "per_mille", "2021-06-30", Target("<=", 1.5, "‰"), kind="accident", subject="site")
    assert (ytd.actual, ytd.actual_text) == (1000.0, "1000.00‰")   # 1 accident / 1 site active by June
    year = run(db, "per_mille", "2021-12-31", Target("<=", 1.5, "‰"), kind="accident", subject="site")
    assert year.actual == pytest.approx(500.0) and year.detail == "1 起 / 2 个在建工地"
