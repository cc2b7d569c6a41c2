"""The roll-up: every row of a year's table computed as of a date, with met, source, score and evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog.indicators import entries, figures, scoring
from fieldlog.indicators.rules import RULES, Context, Outcome
from fieldlog.indicators.tables import Target, TableRow, TargetTable
from fieldlog.messages import label, t


@dataclass
class RowResult:
    """One row of the table with its actual value as of a date."""

    key: str
    level1: str
    level2: str
    level3: str
    target_text: str
    target: Target
    rule: str
    actual: float | str | None
    actual_text: str
    met: bool | None
    source: str                      # computed | manual
    detail: str = ""
    points: Decimal = Decimal("0.00")   # 分值 as shown (figures.share: each part sums exactly to its weight)
    score: Decimal = Decimal("0.00")    # 得分 as shown, computed from the points and the figure shown
    grade: str | None = None         # the chief's grade of a qualitative row (met/partial/missed)
    progress: float | None = None
    manual: dict | None = None       # newest manual entry (who, when, source document, note)
    outcome: Outcome | None = field(default=None, repr=False)
    year: int = 0

    @property
    def completion(self) -> str:
        """完成情况 as a LABELS["completion"] value: the chief's grade, else met or missed (pending while unknown)."""
        return self.grade or {True: "met", False: "missed", None: "pending"}[self.met]

    @property
    def completion_text(self) -> str:
        """完成情况 as shown (达成, 部分达成, 未达成 or —)."""
        return label("completion", self.completion)

    @property
    def figure(self) -> figures.Figure | None:
        """The actual as every output shows it (None for a text actual or none yet)."""
        return self.outcome.figure if self.outcome is not None else None

    def as_dict(self) -> dict:
        """JSON-ready view (API, json export): grades as their labels, the English completion value beside them."""
        manual = None
        if self.manual:
            manual = {k: self.manual[k] for k in ("value_number", "value_text", "grade", "source_document", "note",
                                                  "entered_by_name", "entered_at")}
            manual["grade"] = _grade_text(manual["grade"])
        return {
            "key": self.key, "level1": self.level1, "level2": self.level2, "level3": self.level3,
            "target_text": self.target_text, "target": self.target.as_dict(), "rule": self.rule,
            # actual: the figure shown on every output (the same digits); actual_exact: the value `met` compares.
            "actual": self.figure.number if self.figure else self.actual, "actual_exact": self.actual,
            "actual_text": self.actual_text, "unit": self.figure.unit if self.figure else "",
            "decimals": self.figure.decimals if self.figure else None, "met": self.met, "source": self.source,
            "detail": self.detail, "points": float(self.points), "score": float(self.score),
            "grade": _grade_text(self.grade), "completion": self.completion, "manual": manual,
        }


def _grade_text(grade: str | None) -> str | None:
    return label("grade", grade) if grade else grade


def judge(target: Target, actual) -> bool | None:
    """Whether a numeric actual meets a numeric target (None when either is missing or textual)."""
    if target.comparator == "text" or target.value is None or not isinstance(actual, (int, float)):
        return None
    a, b = figures.exact(target.value), figures.exact(actual)
    return b <= a if target.comparator == "<=" else b >= a


def _manual_outcome(row: TableRow, entry: dict | None) -> tuple[Outcome, str | None]:
    if entry is None:
        return Outcome(None, t("indicators.pending_entry")), None
    if row.qualitative or entry["value_number"] is None:
        return Outcome(entry["value_text"], entry["value_text"] or "",
                       met=None if not entry["grade"] else entry["grade"] == "met"), entry["grade"]
    value = entry["value_number"]
    unit = row.target.unit
    # An entered figure keeps the decimals it was typed with, at least its unit's (2 for 万元: 360.5 -> 360.50万元).
    decimals = min(6, max(figures.UNIT_DECIMALS.get(unit, 0), -Decimal(repr(value)).normalize().as_tuple().exponent))
    fig = figures.figure(value, decimals, unit)
    return Outcome(value, fig.text, figure=fig), entry["grade"]


def _rule_outcome(ctx: Context, row: TableRow) -> Outcome:
    """What the row's rule makes of the events."""
    params = {k: v for k, v in row.params.items() if k != "manual_override"}
    return RULES[row.rule].fn(ctx, row.target, **params)


def compute_row(ctx: Context, row: TableRow, entry: dict | None) -> RowResult:
    """One row: the chief's entry for manual rows (or an override), else the rule over the events."""
    overridable = row.params.get("manual_override", False)
    if row.manual or (overridable and entry is not None):
        outcome, grade = _manual_outcome(row, entry)
        source = "manual"
    else:
        outcome, grade, source = _rule_outcome(ctx, row), None, "computed"
    met = outcome.met if outcome.met is not None or outcome.actual is None else judge(row.target, outcome.actual)
    return RowResult(row.key, row.level1, row.level2, row.level3, row.target_text, row.target, row.rule,
                     outcome.actual, outcome.actual_text, met, source, outcome.detail, grade=grade,
                     progress=outcome.progress, manual=entry, outcome=outcome, year=ctx.year)


@dataclass
class RowEvidence:
    """A row's result, the outcome its evidence shows, and the context (closed) whose windows select its events."""

    result: RowResult
    outcome: Outcome
    ctx: Context


def explain_row(db: Database, row: TableRow, year: int, as_of: date, tz: ZoneInfo | None = None) -> RowEvidence:
    """One row as of a date with the outcome behind it: the rule's own even where the chief's override stands."""
    ctx = Context(db, year, as_of, tz)
    try:
        result = compute_row(ctx, row, entries.latest_manual_values(db, year).get(row.key))
        # The override hides the computed figure; the evidence still shows what the events say.
        overridden = result.source == "manual" and not row.manual
        outcome = _rule_outcome(ctx, row) if overridden else result.outcome
    finally:
        ctx.close()
    return RowEvidence(result, outcome, ctx)


def compute(db: Database, table: TargetTable, as_of: date, tz: ZoneInfo | None = None) -> list[RowResult]:
    """Every row of `table` as of `as_of`, in printed order, with points and score."""
    ctx = Context(db, table.year, as_of, tz)
    manual = entries.latest_manual_values(db, table.year)
    points = scoring.row_points(table)
    grades = table.scoring["grades"]
    out = []
    try:
        for row in table.rows:
            result = compute_row(ctx, row, manual.get(row.key))
            result.points = points[row.key]
            shown_actual = result.figure.value if result.figure is not None else result.actual
            result.score = figures.points(scoring.row_score(row, result.points, shown_actual, result.met,
                                                            result.progress, result.grade, grades))
            out.append(result)
    finally:
        ctx.close()
    return out


def totals(db: Database, table: TargetTable, results: list[RowResult]) -> scoring.Totals:
    """Row scores plus the budget block and the grade band."""
    return scoring.totals(table, [r.score for r in results], entries.latest_budget(db, table.year))


def fmt_score(value) -> str:
    """A 分值 or 得分 as shown: cut (not rounded) to 2 decimals (already so for the roll-up's own)."""
    return figures.text(figures.points(value), 2)
