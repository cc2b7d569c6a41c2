"""The whole table rolled up over a year of events: a year that meets every row, then misses worked by hand."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from click.testing import CliRunner

from fieldlog import cli
from fieldlog.indicators import entries, rollup, tables

from tests.factories import MANUAL_MET, NOW, TZ, enter_manual, event, met_year, site, user

P = 50 / 34  # points of each 产出 row


@pytest.fixture
def year(prebuilt):
    """factories.met_year: a 2021 that meets every row, manual rows and budget entered (built once, copied)."""
    return prebuilt(met_year)


def compute(db, as_of: str):
    table = tables.table_for_year(db, 2021)
    results = rollup.compute(db, table, date.fromisoformat(as_of), TZ)
    return {r.key: r for r in results}, rollup.totals(db, table, results), results


def test_a_year_that_meets_every_row_scores_100(db, year):
    rows, totals, ordered = compute(db, "2021-12-31")
    assert [r.key for r in ordered] == [r.key for r in tables.table_for_year(db, 2021).rows]
    assert {k: r.met for k, r in rows.items() if r.met is not True} == {}
    expected = {
        "campaigns": "10", "safety_patrols": "600", "enforcement_site_monthly": "2.0", "sampling_quarterly": "50.0",
        "plant_patrol_monthly": "1.0", "plants_inspected": "5", "leaflets": "6000", "completion_filings": "35",
        "permits": "80", "campaign_coverage": "100.0%", "safety_patrol_coverage": "100.0%",
        "enforcement_site_coverage": "100.0%", "sampling_coverage": "100.0%", "plant_patrol_coverage": "100.0%",
        "concrete_pass_rate": "100.0%", "awareness_rate": "96.0%", "completion_pass_rate": "100.0%",
        "permit_conformity_rate": "100.0%", "testing_fees": "20.00", "campaigns_on_time": "100.0%",
        "safety_patrols_on_time": "100.0%", "enforcement_site_on_time": "100.0%", "sampling_on_time": "100.0%",
        "plant_patrol_on_time": "100.0%", "leaflets_on_time": "2021-12-12 累计达到 6000",
        "filings_on_time": "100.0%", "construction_quality_rate": "100.0%", "concrete_quality": "达到",
        "accident_rate": "0.00‰", "satisfaction_rate": "92.0%",
    }
    assert {k: rows[k].actual_text for k in expected} == expected
    assert {k for k, r in rows.items() if r.source == "manual"} == set(MANUAL_MET)
    assert totals.budget["score"] == pytest.approx(10)
    assert totals.total == pytest.approx(100) and totals.grade == "优"


def test_misses_are_scored_by_the_rules(db, year):
    event(db, "accident", "2021-08-01", site_id=year["sites"][0])                 # 1 / 50 sites = 20‰
    enter_manual(db, {"staff_costs": {"value": "400"}, "operations": {"value": "基本保障", "grade": "部分达成"}})
    entries.save_budget(db, 2021, {"full_year_budget": "560.61", "executed": "500"}, user(db, "carol"), now=NOW)
    rows, totals, _ = compute(db, "2021-12-31")
    assert (rows["accident_rate"].actual_text, rows["accident_rate"].met) == ("20.00‰", False)
    assert rows["accident_rate"].score == pytest.approx(7.5 * 1.5 / 20)
    assert (rows["staff_costs"].actual, rows["staff_costs"].met) == (400, False)
    assert rows["staff_costs"].score == pytest.approx(P * 371.29 / 400)
    assert rows["operations"].score == pytest.approx(P * 0.8)
    assert totals.budget["score"] == pytest.approx(10 * 500 / 560.61)
    expected = 90 - 7.5 + 7.5 * 1.5 / 20 - P + P * 371.29 / 400 - P * 0.2 + 10 * 500 / 560.61
    assert totals.total == pytest.approx(expected)          # 90.66…
    assert totals.grade == "优"
    # History is kept: the newest entry wins, the older one stays.
    assert [h["value_number"] for h in entries.manual_history(db, 2021, "staff_costs")] == [400, 360.5]


def test_mid_year_counts_to_date_and_periods_elapsed(db, year):
    rows, _, _ = compute(db, "2021-06-30")
    assert (rows["safety_patrols"].actual, rows["safety_patrols"].met) == (300, False)
    assert rows["safety_patrols"].score == pytest.approx(P * 300 / 500)
    assert rows["campaigns"].actual == 6
    assert rows["safety_patrols_on_time"].detail == "6/6 个月按时完成"
    assert rows["sampling_on_time"].detail == "2/2 个季度按时完成"
    assert rows["leaflets_on_time"].actual_text == "未达到（累计 3000）"
    assert rows["leaflets_on_time"].score == pytest.approx(P * 0.5)
    # 15 June: the June patrols before the 15th count, June itself is not yet elapsed.
    rows, _, _ = compute(db, "2021-06-15")
    assert rows["safety_patrols"].actual == 250 + 40   # Jan–May 250; June 1–15: sites with i % 20 < 15 (0–14, 20–34, 40–49)
    assert rows["safety_patrol_coverage"].detail == "250/250"


def test_chief_may_override_the_testing_fees(db, year):
    enter_manual(db, {"testing_fees": {"value": "52.3"}})
    rows, _, _ = compute(db, "2021-12-31")
    r = rows["testing_fees"]
    assert (r.source, r.actual, r.met) == ("manual", 52.3, False)
    assert r.manual["source_document"] == "2021年部门决算报表" and r.manual["entered_by_name"] == "卡罗尔"


def test_manual_row_without_an_entry_waits(db, users):
    rows, totals, _ = compute(db, "2021-12-31")
    assert (rows["staff_costs"].actual_text, rows["staff_costs"].met, rows["staff_costs"].score) == ("待填报", None, 0)
    assert totals.grade == "差"


@pytest.mark.parametrize("suffix", ["json", "csv", "xlsx"])
def test_cli_rollup_writes_the_table(db, year, cfg, tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("FIELDLOG_DATABASE", str(cfg.database))
    monkeypatch.setenv("FIELDLOG_DATA_DIR", str(cfg.data_dir))
    out = tmp_path / f"rollup.{suffix}"
    result = CliRunner().invoke(cli.main, ["rollup", "--year", "2021", "--as-of", "2021-12-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == "json":
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["total"]["grade"] == "优" and len(data["rows"]) == 39
        assert data["rows"][3]["key"] == "safety_patrols" and data["rows"][3]["actual"] == 600
    elif suffix == "csv":
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
        assert lines[0][:5] == ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值"]
        assert lines[4][2:5] == ["安全日常巡查", "500次", "600"]
    else:
        from openpyxl import load_workbook

        ws = load_workbook(out).active
        assert any(ws.cell(r, 3).value == "安全日常巡查" and ws.cell(r, 5).value == "600" for r in range(1, 60))


def test_cli_table_load_and_show(db, users, cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDLOG_DATABASE", str(cfg.database))
    monkeypatch.setenv("FIELDLOG_DATA_DIR", str(cfg.data_dir))
    good = tmp_path / "hengdong-2022.toml"
    good.write_text((tables.TABLES_DIR / "hengdong-2021.toml").read_text(encoding="utf-8").replace(
        "year = 2021", "year = 2022"), encoding="utf-8")
    runner = CliRunner()
    loaded = runner.invoke(cli.main, ["table", "load", str(good)])
    assert loaded.exit_code == 0 and "2022" in loaded.output
    shown = runner.invoke(cli.main, ["table", "show", "2022"])
    assert shown.exit_code == 0 and "≤371.29万元" in shown.output and "已导入" in shown.output
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace('rule = "count"', 'rule = "tally"', 1), encoding="utf-8")
    refused = runner.invoke(cli.main, ["table", "load", str(bad)])
    assert refused.exit_code == 1 and "第4行「安全日常巡查」" in refused.output


def _tallies(db) -> list[tuple]:
    return db.execute("SELECT kind, month, site_id, finding, result, n, copies FROM event_tallies WHERE n != 0 "
                      "ORDER BY 1, 2, 3, 4, 5").fetchall()


def _recount(db) -> list[tuple]:
    return db.execute(
        "SELECT kind, month, coalesce(site_id, 0), coalesce(json_extract(data, '$.finding'), ''), "
        "coalesce(json_extract(data, '$.result'), ''), count(*), total(json_extract(data, '$.copies')) "
        "FROM events WHERE voided = 0 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5").fetchall()


def test_tallies_follow_edits_and_voids(db, users):
    from fieldlog import events

    s1, s2 = site(db), site(db)
    a = event(db, "safety_patrol", "2021-01-10", site_id=s1)["id"]
    event(db, "safety_patrol", "2021-01-11", site_id=s1)
    b = event(db, "leaflets", "2021-02-01", fields={"copies": 300})["id"]
    event(db, "concrete_sampling", "2021-03-03", site_id=s2, fields={"result": "不合格"})
    assert _tallies(db) == _recount(db)
    # A correction moves the patrol to February, another site and a 重大 finding.
    events.edit(db, a, {"occurred_at": "2021-02-02T09:00:00+08:00", "site_id": s2,
                                "fields": {"finding": "重大", "hazards_major": 1}},
                user=user(db, "alice"), now=NOW, tz=TZ, reason="日期和工地填错")
    events.edit(db, b, {"fields": {"copies": 120}}, user=user(db, "alice"), now=NOW, tz=TZ, reason="份数")
    event(db, "safety_patrol", "2021-03-01", site_id=s1, voided=True)
    assert _tallies(db) == _recount(db)
    rows, _, _ = compute(db, "2021-12-31")
    assert rows["leaflets"].actual == 120 and rows["construction_quality_rate"].actual_text == "50.0%"
    rows, _, _ = compute(db, "2021-01-31")
    assert rows["safety_patrols"].actual == 1


def test_month_under_way_is_read_from_the_events(db, users):
    s = site(db)
    event(db, "concrete_sampling", "2021-05-31", site_id=s, fields={"result": "合格"})
    event(db, "concrete_sampling", "2021-06-10", site_id=s, fields={"result": "不合格"})
    event(db, "concrete_sampling", "2021-06-20", site_id=s, fields={"result": "合格"})
    # As of 15 June: May from the tallies, 1–15 June from the events.
    rows, _, _ = compute(db, "2021-06-15")
    assert (rows["concrete_pass_rate"].actual_text, rows["concrete_pass_rate"].detail) == ("50.0%", "1/2")
    rows, _, _ = compute(db, "2021-06-30")
    assert rows["concrete_pass_rate"].detail == "2/3"
