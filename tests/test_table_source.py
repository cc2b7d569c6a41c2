"""The table file is the only source of targets: quotas, parameter references, scoring defaults, rule facts."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import coverage, pacing
from fieldlog.errors import InvalidInput
from fieldlog.indicators import quotas, rollup, scoring, tables
from fieldlog.indicators.quotas import Quotas
from fieldlog.indicators.rules import RULES
from fieldlog.periods import month

from tests.factories import NOW, TZ, event, plant, site

SHIPPED = tables.TABLES_DIR / "hengdong-2021.toml"
MARCH = month(2021, 3)
DEFAULTS = {
    "weights": {"产出指标": 50, "效益指标": 30, "满意度指标": 10},
    "budget_points": 10,
    "grades": {"met": 1.0, "partial": 0.8, "missed": 0.6},
    "bands": [{"grade": "excellent", "min": 90}, {"grade": "good", "min": 80}, {"grade": "fair", "min": 60},
              {"grade": "poor", "min": 0}],
}
MINIMAL = """station = "某县监督站"
year = 2021

[[rows]]
key = "safety_patrols"
level1 = "产出指标"
level2 = "数量指标"
level3 = "安全日常巡查"
target_text = "500次"
rule = "count"
params = { kind = "safety_patrol" }

[[rows]]
key = "satisfaction_rate"
level1 = "满意度指标"
level2 = "社会公众或服务对象满意度"
level3 = "服务对象满意度"
target_text = "≧90%"
rule = "ratio"
params = { source = "survey", survey = "satisfaction_survey" }
"""


def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def edited(*pairs: tuple[str, str]) -> str:
    """The shipped table with the first occurrence among its rows of each `old` replaced by `new`."""
    text = shipped_text()
    start = text.index("\n[[rows]]\n")
    head, rows = text[:start], text[start:]
    for old, new in pairs:
        assert old in rows, old
        rows = rows.replace(old, new, 1)
    return head + rows


# Enforcement patrols 3 a month (was 2), sampling 40 sites a quarter (was 50): two edits, nothing else.
STRICTER = (('target_text = "2次"', 'target_text = "3次"'), ('target_text = "50个工地"', 'target_text = "40个工地"'))


# --- quotas -------------------------------------------------------------------------------------------

def test_the_shipped_table_states_the_coverage_quotas():
    assert quotas.of_table(tables.parse_table(shipped_text())) == Quotas(
        {"enforcement_patrol": 2, "safety_patrol": 1}, {"plant_patrol": 1}, 50)


def test_an_edited_table_moves_every_quota_and_every_row_that_refers_to_it():
    table = tables.parse_table(edited(*STRICTER))
    assert quotas.of_table(table) == Quotas({"enforcement_patrol": 3, "safety_patrol": 1}, {"plant_patrol": 1}, 40)
    assert table.row("enforcement_site_coverage").params["min_count"] == 3
    assert table.row("enforcement_site_on_time").params["min_count"] == 3
    assert table.row("sampling_coverage").params["quota"] == 40
    assert table.row("sampling_on_time").params["quota"] == 40


def test_where_rows_disagree_the_strictest_quota_holds():
    text = edited(('min_count_of = "enforcement_site_monthly" }', 'min_count = 4 }'))
    assert quotas.of_table(tables.parse_table(text)).site["enforcement_patrol"] == 4


@pytest.fixture
def march(db, users):
    """A site patrolled twice (enforcement) and once (safety) in March 2021, 44 more ready-mix sites, a plant;
    every event received at NOW (logged late)."""
    s = site(db, name="滨江花园")
    others = [site(db) for _ in range(44)]
    p = plant(db)
    event(db, "enforcement_patrol", "2021-03-02", site_id=s, now=NOW)
    event(db, "enforcement_patrol", "2021-03-09", site_id=s, now=NOW)
    event(db, "safety_patrol", "2021-03-03", site_id=s, now=NOW)
    event(db, "plant_patrol", "2021-03-06", plant_id=p, now=NOW)
    for o in others[:41]:
        event(db, "concrete_sampling", "2021-03-10", site_id=o, now=NOW)
    return s


def test_coverage_api_and_page_follow_the_table_in_force(db, users, client_for, march):
    chief = client_for("carol")
    before = chief.get("/api/v1/coverage?month=2021-03").json()
    assert before["quota"] == {"site": {"enforcement_patrol": 2, "safety_patrol": 1}, "plant": {"plant_patrol": 1}}
    assert next(s for s in before["sites"] if s["id"] == march)["all_met"] is True
    page = chief.get("/chief/coverage?month=2021-03").text
    assert "本季度应抽测 45 个（使用商品混凝土的在建工地 45 个，上限 50 个）" in page
    assert '?month=2021-03&amp;kind=enforcement_patrol">2 / 2</a>' in page and "每月执法检查巡查 2 次" in page

    tables.load_table(db, edited(*STRICTER), loaded_by="dave")
    after = chief.get("/api/v1/coverage?month=2021-03").json()
    assert after["quota"]["site"] == {"enforcement_patrol": 3, "safety_patrol": 1}
    row = next(s for s in after["sites"] if s["id"] == march)
    assert row["met"] == {"enforcement_patrol": False, "safety_patrol": True} and row["state"] == "逾期"
    page = chief.get("/chief/coverage?month=2021-03").text
    assert "本季度应抽测 40 个（使用商品混凝土的在建工地 45 个，上限 40 个）" in page
    assert '?month=2021-03&amp;kind=enforcement_patrol">2 / 3</a>' in page and "每月执法检查巡查 3 次" in page
    report = chief.get("/chief/report?month=2021-03").text
    assert "每月执法检查巡查 3 次" in report and 'kind=enforcement_patrol">2 / 3</a>' in report
    sampling = coverage.quarter_sampling(db, MARCH, date(2021, 3, 20))
    assert (sampling.quota, sampling.sampled, sampling.state) == (40, 41, coverage.DONE)


def test_a_year_without_a_table_counts_against_the_latest_earlier_one(db, users):
    tables.load_table(db, edited(*STRICTER))
    assert quotas.for_year(db, 2022) == Quotas({"enforcement_patrol": 3, "safety_patrol": 1}, {"plant_patrol": 1}, 40)
    s = site(db)
    [row] = coverage.site_coverage(db, month(2022, 5), date(2022, 5, 2))
    assert (row.id, row.quota) == (s, {"enforcement_patrol": 3, "safety_patrol": 1})


def test_a_table_without_a_sampling_row_samples_every_ready_mix_site(db, users):
    for _ in range(3):
        site(db)
    sampling = coverage.quarter_sampling(db, MARCH, date(2021, 3, 1), quotas=Quotas({}, {}, None))
    assert (sampling.quota, sampling.cap) == (3, None)


def test_the_roll_up_follows_the_edited_quota(db, users, march):
    def coverage_detail() -> str:
        table = tables.table_for_year(db, 2021)
        return {r.key: r for r in rollup.compute(db, table, date(2021, 3, 31), TZ)}["enforcement_site_coverage"].detail

    # 45 sites × January to March: one site-month had 2 enforcement patrols, none had 3.
    assert coverage_detail() == "1/135"
    tables.load_table(db, edited(*STRICTER))
    assert coverage_detail() == "0/135"


# --- parameter references ---------------------------------------------------------------------------------

def test_the_shipped_table_writes_each_number_once():
    table = tables.parse_table(shipped_text())
    assert table.row("safety_patrols_on_time").params["annual"] == 500
    assert table.row("safety_patrols_on_time").refs == {"annual": "safety_patrols"}
    assert table.row("leaflets_on_time").params["threshold"] == 6000
    text = shipped_text()
    for literal in ("annual = 500", "threshold = 6000", "min_count = 2", "quota = 50", "[scoring]\n"):
        assert literal not in text


def test_one_edit_of_a_target_moves_the_rows_that_refer_to_it():
    table = tables.parse_table(edited(('target_text = "500次"', 'target_text = "520次"'),
                                      ('target_text = "6000份"', 'target_text = "6500份"')))
    assert table.row("safety_patrols_on_time").params["annual"] == 520
    assert table.row("leaflets_on_time").params["threshold"] == 6500


def test_a_literal_number_still_loads_and_gives_the_same_parameters():
    text = edited(('annual_of = "safety_patrols"', "annual = 500"), ('threshold_of = "leaflets"', "threshold = 6000"))
    literal, shipped = tables.parse_table(text), tables.parse_table(shipped_text())
    assert [(r.key, r.params) for r in literal.rows] == [(r.key, r.params) for r in shipped.rows]


@pytest.mark.parametrize("old, new, field, words", [
    ('annual_of = "safety_patrols"', 'annual_of = "safety_patrol"', "rows.29.params.annual_of",
     ["第29行「安全日常巡查」", "找不到 key 为「safety_patrol」的指标行"]),
    ('annual_of = "safety_patrols"', 'annual_of = "staff"', "rows.29.params.annual_of",
     ["第29行", "指标行「本单位财政供养人员」的指标值不是数字"]),
    ('annual_of = "safety_patrols"', 'annual_of = "safety_patrols", annual = 500', "rows.29.params.annual_of",
     ["参数 annual 与 annual_of 只能给出其一"]),
    ('min_count_of = "plant_patrol_monthly" }', 'min_count_of = "accident_rate" }', "rows.18.params.min_count_of",
     ["第18行「执法检查每月巡查商品混凝土公司覆盖率」", "指标值 1.5 不合用（须为非负整数）"]),
    ('threshold_of = "leaflets"', 'threshold_of = 6000', "rows.33.params.threshold_of", ["找不到 key 为「6000」的指标行"]),
    ('params = { kind = "safety_patrol" }', 'params = { kind_of = "permits" }', "rows.4.params.kind_of",
     ["规则 count 没有参数「kind_of」"]),
])
def test_a_bad_reference_is_refused_in_chinese(old, new, field, words):
    with pytest.raises(InvalidInput) as err:
        tables.parse_table(edited((old, new)))
    assert field in err.value.errors, err.value.errors
    for w in words:
        assert w in err.value.errors[field]


def test_a_bad_reference_is_refused_when_loaded(db, users):
    with pytest.raises(InvalidInput):
        tables.load_table(db, edited(('quota_of = "sampling_quarterly" }', 'quota_of = "nowhere" }')))
    assert db.execute("SELECT count(*) FROM target_tables").fetchone()[0] == 0


# --- scoring defaults ---------------------------------------------------------------------------------

def test_a_table_without_scoring_gets_the_defaults():
    table = tables.parse_table(MINIMAL)
    assert table.scoring == DEFAULTS
    assert scoring.row_points(table) == {"safety_patrols": 50, "satisfaction_rate": 10}
    totals = scoring.totals(table, [50.0, 10.0], {"full_year_budget": 100.0, "executed": 100.0})
    assert (totals.total, totals.grade, totals.legend) == (70.0, "中", "90–100 优，80–89 良，60–79 中，60 以下差")


def test_a_partial_scoring_section_keeps_the_other_defaults():
    table = tables.parse_table(MINIMAL + '\n[scoring]\nbands = [{ grade = "合格", min = 60 }, { grade = "不合格", min = 0 }]\n')
    assert {k: v for k, v in table.scoring.items() if k != "bands"} == {k: v for k, v in DEFAULTS.items() if k != "bands"}
    totals = scoring.totals(table, [50.0, 10.0], None)
    assert (totals.grade, totals.legend) == ("合格", "60–100 合格，60 以下不合格")


def test_the_evaluation_page_explains_the_bands_of_the_table(db, users, client_for):
    text = edited(("\n[[rows]]\nkey = \"staff\"", '\n[scoring]\nbands = [{ grade = "合格", min = 60 }, '
                   '{ grade = "不合格", min = 0 }]\n\n[[rows]]\nkey = "staff"'))
    chief = client_for("carol")
    assert "（90–100 优，80–89 良，60–79 中，60 以下差）" in chief.get("/indicators/2021/evaluation?as_of=2021-03-31").text
    tables.load_table(db, text)
    page = chief.get("/indicators/2021/evaluation?as_of=2021-03-31").text
    assert "（60–100 合格，60 以下不合格）" in page and "60 以下差" not in page


# --- rule facts ---------------------------------------------------------------------------------------

def test_rule_facts_live_on_the_rules():
    table = tables.parse_table(shipped_text())
    assert {r.key for r in table.rows if r.qualitative} == {"staff", "operations", "duties_on_time", "market_order"}
    assert {name for name, rule in RULES.items() if rule.cumulative} == {"count", "sum", "distinct"}
    assert {name for name, rule in RULES.items() if rule.manual} == {"manual_number", "manual_text"}


def test_pacing_takes_the_cumulative_rows(db, users):
    keys = [r.key for r in pacing.for_year(db, 2021, date(2021, 6, 30), TZ).rows]
    assert keys == ["campaigns", "safety_patrols", "plants_inspected", "leaflets", "completion_filings", "permits",
                    "testing_fees"]


@pytest.mark.parametrize("old, new, words", [
    ('annual_of = "safety_patrols"', 'min_count = 1', "count_and_cover 须给出全年次数 annual"),
    ('mode = "quota", quota_of = "sampling_quarterly"', 'mode = "quota"', "按季抽测覆盖率须给出每季抽测工地数 quota"),
    ('test = "quota", kind = "concrete_sampling", subject = "site", quota_of = "sampling_quarterly"',
     'test = "quota", kind = "concrete_sampling", subject = "site"', "按季抽测按时完成率须给出每季抽测工地数 quota"),
    ('to_field = "filed_on"', 'to_field = "issued_on"', "限期规则的日期字段须为"),
    ('params = { kind = "leaflets", field = "copies" }', 'params = { kind = "leaflets", field = "result" }',
     "字段「result」不在统计范围内（可用：copies、fee_yuan）"),
])
def test_each_rule_checks_its_own_parameters(old, new, words):
    with pytest.raises(InvalidInput) as err:
        tables.parse_table(edited((old, new)))
    assert any(words in message for message in err.value.errors.values()), err.value.errors


def test_the_phone_form_hint_names_the_tables_monthly_quota(db, users, client_for):
    """The enforcement patrol form says how many patrols a month the table in force asks for."""
    alice = client_for("alice")
    assert "每个在建工地每月至少巡查 2 次" in alice.get("/log/enforcement_patrol").text
    assert "每家搅拌站每月至少巡查 1 次" in alice.get("/log/plant_patrol").text
    text = (tables.TABLES_DIR / "hengdong-2021.toml").read_text(encoding="utf-8")
    edited = text.replace('target_text = "2次"', 'target_text = "3次"', 1).replace("year = 2021", "year = 2022", 1)
    assert edited.count("2022") >= 1 and edited != text
    tables.load_table(db, edited, loaded_by="test")
    assert "每个在建工地每月至少巡查 3 次" in alice.get("/log/enforcement_patrol").text
