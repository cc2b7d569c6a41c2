"""Scoring of the self-evaluation: points per row, met / unmet / ≤ / qualitative rows, budget, grade bands."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fieldlog.indicators import scoring, tables
from fieldlog.indicators.tables import Target, TableRow
from fieldlog.messages import label

GRADES = {"met": 1.0, "partial": 0.8, "missed": 0.6}
SHIPPED = tables.TABLES_DIR / "hengdong-2021.toml"


def row(comparator: str, value: float | None, rule: str = "count") -> TableRow:
    return TableRow("r", "产出指标", "数量指标", "x", "", Target(comparator, value, ""), rule)


def test_weights_shared_equally_within_each_part():
    points = scoring.row_points(tables.parse_table(SHIPPED.read_text(encoding="utf-8")))
    # 34 产出 rows share 50.00: 147 hundredths each and 2 left over, to the first two rows.
    chanchu = [v for k, v in points.items() if k not in ("construction_quality_rate", "concrete_quality",
                                                          "accident_rate", "market_order", "satisfaction_rate")]
    assert chanchu[:2] == [Decimal("1.48")] * 2 and set(chanchu[2:]) == {Decimal("1.47")} and len(chanchu) == 34
    assert points["accident_rate"] == Decimal("7.50")          # 4 效益 rows share 30
    assert points["satisfaction_rate"] == Decimal("10.00")
    assert sum(points.values()) == Decimal("90.00")


def test_a_row_with_its_own_points_takes_them_first():
    text = SHIPPED.read_text(encoding="utf-8").replace('target_text = "500次"', 'target_text = "500次"\npoints = 16')
    points = scoring.row_points(tables.parse_table(text))
    assert points["safety_patrols"] == Decimal("16.00")
    assert points["staff"] == Decimal("1.04") and points["operations"] == Decimal("1.03")   # 3400 = 33 × 103 + 1
    assert sum(points.values()) == Decimal("90.00")


@pytest.mark.parametrize("r, actual, met, progress, grade, expected", [
    (row(">=", 500), 520, True, None, None, 1.5),                       # met: full points
    (row(">=", 500), 400, False, None, None, 1.2),                      # 1.5 × 400 / 500
    (row(">=", 100), 0, False, None, None, 0.0),
    (row("=", 100), 80, False, None, None, 1.2),                         # = scores like ≥
    (row("<=", 371.29), 350, True, None, None, 1.5),
    (row("<=", 371.29), 400, False, None, None, 1.5 * 371.29 / 400),   # 1.5 × A / B
    (row("<=", 1.5), 3.0, False, None, None, 0.75),
    (row("text", None, "manual_text"), "全年保障到位", True, None, "met", 1.5),
    (row("text", None, "manual_text"), "基本保障", False, None, "partial", 1.2),
    (row("text", None, "manual_text"), "未保障", False, None, "missed", 0.9),
    (row("text", None, "manual_text"), None, None, None, None, 0.0),   # not graded yet
    (row("text", None, "timeliness"), 100.0, True, 1.0, None, 1.5),    # 每月按时完成 at 100 %
    (row("text", None, "timeliness"), 75.0, False, 0.75, None, 1.125), # 9 of 12 months: 1.5 × 0.75
    (row("text", None, "reached_by"), None, False, 5000 / 6000, None, 1.25),
    (row("text", None, "threshold"), "未达到", False, None, None, 0.9),  # 达到国家质量标准 missed: as 未达成
    (row("text", None, "threshold"), "达到", True, None, None, 1.5),
    (row(">=", 95), None, None, None, None, 0.0),                       # no value yet
])
def test_row_score(r, actual, met, progress, grade, expected):
    assert scoring.row_score(r, 1.5, actual, met, progress, grade, GRADES) == pytest.approx(expected)


@pytest.mark.parametrize("budget, shown, score", [
    (None, None, "0.00"),
    ({"full_year_budget": 560.61, "executed": 540.0}, "96.32%", "9.63"),      # 96.3236…% cut; 10 × 0.9632
    ({"full_year_budget": 578.3, "executed": 561.24}, "97.04%", "9.70"),      # 97.0499…% (issue 13): cut, not 97.05
    ({"full_year_budget": 500.0, "executed": 520.0}, "104.00%", "10.00"),     # capped at 10
    ({"full_year_budget": 500.0, "executed": 0.0}, "0.00%", "0.00"),
    ({"full_year_budget": 0.3, "executed": 0.1}, "33.33%", "3.33"),           # entered decimals, not binary ones
])
def test_budget_block(budget, shown, score):
    block = scoring.budget_block(budget, 10)
    assert (block["rate_figure"].text if block["rate_figure"] else None) == shown
    assert block["score"] == Decimal(score)


@pytest.mark.parametrize("total, grade", [(100, "优"), (90, "优"), (89.999, "良"), (80, "良"), (79.99, "中"),
                                          (60, "中"), (59.99, "差"), (0, "差")])
def test_grade_bands(total, grade):
    bands = tables.DEFAULT_SCORING["bands"]
    assert label("score_band", scoring.grade_of(total, bands)) == grade
