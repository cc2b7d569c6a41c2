"""The supervision plan: risk levels and reasons as data, the monthly checks they imply from the table's minimum,
and the coverage page, the monthly report and pacing counting each site against its planned checks."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import audit, coverage, plans
from fieldlog.errors import InvalidInput
from fieldlog.indicators import rollup, tables
from fieldlog.periods import month
from tests.factories import NOW, TZ, event, site, user

JAN = month(2021, 1)


def patrols(db, site_id: int, n: int, day: str = "2021-01-1") -> None:
    for i in range(n):
        event(db, "enforcement_patrol", f"{day}{i}T09:00:00+08:00", site_id=site_id)


def set_plan(db, site_id: int, **raw) -> plans.Plan:
    return plans.set_plan(db, site_id, {"from_month": "2021-01", **raw}, user=user(db, "carol"), now=NOW)


def test_the_minimum_is_read_from_the_table(db, users):
    assert plans.minimum(db, 2021) == 2
    text = tables.table_source(db, 2021)[0].replace('target_text = "2次"', 'target_text = "3次"', 1)
    tables.load_table(db, text, "carol", NOW)
    assert plans.minimum(db, 2021) == 3


@pytest.mark.parametrize("reasons, level, checks", [
    ([], "normal", 2),
    (["dangerous_works"], "elevated", 3),
    (["large_dangerous_works"], "high", 4),
    (["builder_accident", "complaints"], "high", 4),
])
def test_reasons_imply_a_level_and_the_level_its_checks(db, users, reasons, level, checks):
    plan = set_plan(db, site(db), reasons=reasons)
    assert (plan.level, plan.checks, plan.planned) == (level, checks, True)


@pytest.mark.parametrize("raw, key, message", [
    ({"checks": "1"}, "checks", "不能少于目标表的要求（2 次）"),
    ({"checks": "x"}, "checks", "整数"),
    ({"level": "normal", "reasons": ["builder_accident"]}, "level", "至少对应风险等级“高”"),
    ({"reasons": ["weather"]}, "reasons", "可选范围"),
    ({"level": "extreme"}, "level", "风险等级只能是"),
    ({"from_month": "2021-13"}, "from_month", "起始月份"),
])
def test_bad_plans_are_refused_naming_the_field(db, users, raw, key, message):
    s = site(db)
    with pytest.raises(InvalidInput) as exc:
        set_plan(db, s, **raw)
    assert message in exc.value.errors[key]
    assert plans.history(db, s) == []


def test_coverage_counts_each_site_against_its_plan(db, users):
    plain, risky = site(db), site(db)
    set_plan(db, risky, reasons=["large_dangerous_works"], note="深基坑")
    patrols(db, plain, 2)
    patrols(db, risky, 3)
    rows = {r.id: r for r in coverage.site_coverage(db, JAN, date(2021, 2, 5))}
    assert (rows[plain].quota["enforcement_patrol"], rows[plain].met["enforcement_patrol"]) == (2, True)
    assert (rows[risky].quota["enforcement_patrol"], rows[risky].met["enforcement_patrol"]) == (4, False)
    s = plans.summary(list(rows.values()))
    assert (s.planned, s.done, s.sites, s.sites_met, s.raised) == (6, 5, 2, 1, 1)
    assert audit.recent(db)[0]["action"] == "site_plan_saved"


def test_a_later_plan_holds_from_its_month_and_history_is_kept(db, users):
    s = site(db)
    set_plan(db, s, reasons=["dangerous_works"])
    set_plan(db, s, from_month="2021-03", level="normal")
    assert plans.for_month(db, month(2021, 2))[s].checks == 3
    assert plans.for_month(db, month(2021, 3))[s].checks == 2
    assert [h["from_month"] for h in plans.history(db, s)] == ["2021-03", "2021-01"]


def test_the_table_rows_still_count_against_the_tables_own_targets(db, users):
    s = site(db, started_on="2021-01-01", completed_on="2021-01-31")
    set_plan(db, s, reasons=["large_dangerous_works"])
    patrols(db, s, 2)
    table = tables.table_for_year(db, 2021)
    rows = {r.key: r for r in rollup.compute(db, table, date(2021, 12, 31), TZ)}
    # 4 planned, 2 made: the plan is not met, but the table asks for 2 and counts it met.
    assert rows["enforcement_site_coverage"].actual_text == "100.0%"


def test_the_plan_pages(client_for, db, users):
    s = site(db, name="衡东县深基坑工地")
    carol = client_for("carol")
    page = carol.get("/chief/plan?month=2021-01")
    assert page.status_code == 200 and "衡东县深基坑工地" in page.text and "至少 2 次" in page.text
    bad = carol.post_form(f"/chief/plan/{s}", {"from_month": "2021-01", "checks": "1"})
    assert bad.status_code == 422 and "不能少于目标表的要求" in bad.text
    ok = carol.post_form(f"/chief/plan/{s}", {"from_month": "2021-01", "reasons": ["large_dangerous_works"]},
                         follow_redirects=True)
    assert ok.status_code == 200 and "超过一定规模的危大工程施工中" in ok.text
    cov = carol.get("/chief/coverage?month=2021-01").text
    assert "0 / 4" in cov and "风险高" in cov and "本月计划执法检查" in cov
    assert "本月计划执法检查 <b>4</b> 次" in carol.get("/chief/report?month=2021-01").text
    assert "监督计划" in carol.get("/chief/pacing?year=2021").text
    assert client_for("alice").get("/chief/plan").status_code == 403
