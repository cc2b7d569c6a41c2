"""Self-evaluation scoring: every number is a setting of the table file (defaults: tables.DEFAULT_SCORING).

- a part's weight is shared equally among its rows, after rows that carry their own 分值 have taken theirs;
- a "≥ A" or "= A" row: full points when met, else points × B / A (B the actual);
- a "≤ A" row: full points when met, else points × A / B;
- a qualitative row (manual_text): points × the share of the chief's grade (met/partial/missed: 达成/部分达成/未达成);
- a text-target row measured by a rate (每月按时完成, 按工程竣工后及时完成, 年度内完成): met (100 %)
  gets full points, else points × the share reached (the `progress` of its rule);
- a text-target row with a yes/no outcome (达到国家质量标准): 达到 is full points, 未达到 is graded
  like a qualitative 未达成 (missed);
- a row without a value yet scores 0;
- budget execution: budget_points × 执行率, at most budget_points.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldlog.indicators.tables import TableRow, TargetTable
from fieldlog.messages import label, t


def row_points(table: TargetTable) -> dict[str, float]:
    """{row key: 分值}: a row's own points, or an equal share of what its part has left."""
    weights = table.scoring["weights"]
    out: dict[str, float] = {}
    for part, weight in weights.items():
        rows = [r for r in table.rows if r.level1 == part]
        fixed = sum(r.points for r in rows if r.points is not None)
        free = [r for r in rows if r.points is None]
        share = max(0.0, weight - fixed) / len(free) if free else 0.0
        for r in rows:
            out[r.key] = r.points if r.points is not None else share
    return out


def row_score(row: TableRow, points: float, actual, met: bool | None, progress: float | None,
              grade: str | None, grades: dict[str, float]) -> float:
    """得分 of one row (see the module docstring)."""
    if row.qualitative:
        return points * grades[grade] if grade in grades else 0.0
    if met is None:
        return 0.0
    if met:
        return points
    target = row.target
    if target.comparator == "text" or not isinstance(actual, (int, float)):
        if progress is not None:
            return points * max(0.0, min(1.0, progress))
        return points * grades["missed"]
    a, b = target.value, float(actual)
    if target.comparator == "<=":
        return points * min(1.0, a / b) if b > 0 else points
    return points * max(0.0, min(1.0, b / a)) if a > 0 else points


def budget_block(budget: dict | None, points: float) -> dict:
    """执行率 (全年执行数 / 全年预算数) and its score, capped at `points`."""
    if not budget or not budget.get("full_year_budget"):
        return {"rate": None, "points": points, "score": 0.0, "entry": budget}
    rate = budget["executed"] / budget["full_year_budget"]
    return {"rate": rate, "points": points, "score": min(points, points * rate), "entry": budget}


def grade_of(total: float, bands: list[dict]) -> str:
    """The band of a total score (excellent/good/fair/poor by default; bands from the table file, highest first)."""
    for b in sorted(bands, key=lambda b: -b["min"]):
        if total >= b["min"]:
            return b["grade"]
    return bands[-1]["grade"] if bands else ""


def band_legend(bands: list[dict], top: float) -> str:
    """The bands as the printed table explains them: '90–100 优，80–89 良，60–79 中，60 以下差'."""
    ordered = sorted(bands, key=lambda b: -b["min"])
    parts = []
    for i, b in enumerate(ordered):
        above, band = (ordered[i - 1]["min"] if i else None), band_label(b["grade"])
        if above is None:
            parts.append(t("scoring.band_range", low=f"{b['min']:g}", high=f"{top:g}", band=band))
        elif b["min"] <= 0:
            parts.append(t("scoring.band_below", above=f"{above:g}", band=band))
        else:
            parts.append(t("scoring.band_range", low=f"{b['min']:g}", high=f"{above - 1:g}", band=band))
    return t("scoring.legend_separator").join(parts)


def band_label(band: str) -> str:
    """What a band is called: the label of a default band, a station's own band name as written."""
    return label("score_band", band)


@dataclass
class Totals:
    rows_score: float
    budget: dict
    total: float
    band: str                        # the band value of the total (grade_of)
    legend: str = ""                 # what the bands mean (band_legend)

    @property
    def grade(self) -> str:
        """等级 as printed: the band's label."""
        return band_label(self.band)


def totals(table: TargetTable, scores: list[float], budget: dict | None) -> Totals:
    """Sum of row scores plus the budget block, with its grade band."""
    block = budget_block(budget, float(table.scoring["budget_points"]))
    rows_score = sum(scores)
    # Banded on the exact total; pages show it cut (not rounded) to 2 decimals, so 89.996 reads 89.99 (良).
    total = rows_score + block["score"]
    top = sum(table.scoring["weights"].values()) + block["points"]
    bands = table.scoring["bands"]
    return Totals(rows_score, block, total, grade_of(total, bands), band_legend(bands, top))
