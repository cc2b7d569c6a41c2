"""Self-evaluation scoring: every number is a setting of the table file (defaults: tables.DEFAULT_SCORING).

- a part's weight is shared equally among its rows, after rows that carry their own 分值 have taken theirs, in
  0.01 units (largest remainder), so the points shown sum exactly to the weight;
- every score is computed from the points and the actual figure as shown, then cut to 0.01; the total is the
  sum of the scores shown;
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
from decimal import Decimal
from fractions import Fraction

from fieldlog.indicators import figures
from fieldlog.indicators.tables import TableRow, TargetTable
from fieldlog.messages import label, t


def row_points(table: TargetTable) -> dict[str, Decimal]:
    """{row key: 分值 as shown}: a row's own points, or its share of what its part has left, in 0.01 units that
    sum exactly to the part's weight (figures.share: the largest remainder goes to the first rows)."""
    weights = table.scoring["weights"]
    out: dict[str, Decimal] = {}
    for part, weight in weights.items():
        rows = [r for r in table.rows if r.level1 == part]
        fixed = sum(figures.exact(r.points) for r in rows if r.points is not None)
        free = iter(figures.share(weight, sum(r.points is None for r in rows), fixed))
        for r in rows:
            out[r.key] = figures.points(r.points) if r.points is not None else next(free)
    return out


def row_score(row: TableRow, points, actual, met: bool | None, progress: float | None,
              grade: str | None, grades: dict[str, float]) -> Fraction:
    """得分 of one row, exact (see the module docstring); the roll-up shows it cut to 0.01."""
    pts = figures.exact(points)
    if row.qualitative:
        return pts * figures.exact(grades[grade]) if grade in grades else Fraction(0)
    if met is None:
        return Fraction(0)
    if met:
        return pts
    target = row.target
    if target.comparator == "text" or not isinstance(actual, (int, float, Decimal, Fraction)):
        if progress is not None:
            return pts * max(Fraction(0), min(Fraction(1), figures.exact(progress)))
        return pts * figures.exact(grades["missed"])
    a, b = figures.exact(target.value), figures.exact(actual)
    if target.comparator == "<=":
        return pts * min(Fraction(1), a / b) if b > 0 else pts
    return pts * max(Fraction(0), min(Fraction(1), b / a)) if a > 0 else pts


def budget_block(budget: dict | None, points: float) -> dict:
    """执行率 (全年执行数 / 全年预算数) shown in percent to 0.01 (cut), and the score computed from that shown rate,
    capped at `points` and cut to 0.01."""
    if not budget or not budget.get("full_year_budget"):
        return {"rate": None, "rate_figure": None, "points": points, "score": Decimal("0.00"), "entry": budget}
    exact_rate = figures.exact(budget["executed"]) / figures.exact(budget["full_year_budget"])
    shown = figures.figure(exact_rate * 100, 2, "%")
    score = figures.points(min(figures.exact(points), figures.exact(points) * figures.exact(shown.value) / 100))
    return {"rate": float(exact_rate), "rate_figure": shown, "points": points, "score": score, "entry": budget}


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
    rows_score: Decimal
    budget: dict
    total: Decimal
    band: str                        # the band value of the total (grade_of)
    legend: str = ""                 # what the bands mean (band_legend)

    @property
    def grade(self) -> str:
        """等级 as printed: the band's label."""
        return band_label(self.band)


def totals(table: TargetTable, scores: list[Decimal], budget: dict | None) -> Totals:
    """Sum of row scores plus the budget block, with its grade band."""
    block = budget_block(budget, float(table.scoring["budget_points"]))
    # The total is the sum of the scores shown (each already cut to 0.01), and banded on that same figure.
    rows_score = sum((figures.points(s) for s in scores), Decimal("0.00"))
    total = rows_score + block["score"]
    top = sum(table.scoring["weights"].values()) + block["points"]
    bands = table.scoring["bands"]
    return Totals(rows_score, block, total, grade_of(total, bands), band_legend(bands, top))
