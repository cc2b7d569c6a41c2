"""Pacing of the year: each annual quantity of the target table against what should be reached by today."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog.errors import NotFound


@dataclass
class PaceRow:
    """One annual quantity: target, actual as of a date, the amount expected by then, and whether it lags."""

    key: str
    name: str
    kind: str | None
    target_text: str
    comparator: str
    target: float
    unit: str
    actual: float
    actual_text: str
    expected: Decimal
    behind: bool
    source: str

    @property
    def expected_text(self) -> str:
        """The expected amount as shown."""
        return f"{self.expected:f}"

    @property
    def share(self) -> float:
        """actual / target (0 when the target is 0)."""
        return self.actual / self.target if self.target else 0.0


@dataclass
class Pacing:
    """The year's quantities as of a date."""

    year: int
    as_of: date
    fraction: float
    rows: list[PaceRow]

    @property
    def behind(self) -> list[PaceRow]:
        """The rows behind pace."""
        return [r for r in self.rows if r.behind]


def elapsed_fraction(year: int, as_of: date) -> float:
    """Share of the year's days that have passed by the end of as_of (0 before it starts, 1 after it ends)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if as_of < first:
        return 0.0
    if as_of >= last:
        return 1.0
    return ((as_of - first).days + 1) / ((last - first).days + 1)


def decimals_of(text: str) -> int:
    """How many decimals a shown figure has (the expected amount is shown the same way)."""
    digits = "".join(c for c in text if c.isdigit() or c == ".")
    return len(digits.split(".", 1)[1]) if "." in digits else 0


def expected_amount(target: float, fraction: float, decimals: int) -> Decimal:
    """target × fraction, cut down to the shown decimals (a whole patrol is expected only once it is due)."""
    step = Decimal(1).scaleb(-decimals)
    return (Decimal(str(target)) * Decimal(str(fraction))).quantize(step, rounding=ROUND_FLOOR)


def is_behind(comparator: str, actual: float, expected: Decimal) -> bool:
    """Behind pace: below the expected amount, or above it for a ≤ (spending cap) row."""
    value = Decimal(str(actual))
    return value > expected if comparator == "<=" else value < expected


def pace_row(result, row, fraction: float) -> PaceRow | None:
    """A PaceRow from one roll-up result and its table row (pure); None for rows that are not annual quantities."""
    if not row.cumulative or row.target.value is None or not isinstance(result.actual, (int, float)):
        return None
    expected = expected_amount(row.target.value, fraction, decimals_of(result.actual_text))
    return PaceRow(row.key, row.level3, row.params.get("kind"), row.target_text, row.target.comparator,
                   row.target.value, row.target.unit, float(result.actual), result.actual_text, expected,
                   is_behind(row.target.comparator, result.actual, expected), result.source)


def for_year(db: Database, year: int, today: date, tz: ZoneInfo | None = None) -> Pacing:
    """Pacing of `year` as of today (capped to the year's end), from the indicator roll-up; no rows without a table."""
    from fieldlog.indicators import rollup, tables

    as_of = min(today, date(year, 12, 31))
    fraction = elapsed_fraction(year, as_of)
    try:
        table = tables.table_for_year(db, year)
    except NotFound:
        return Pacing(year, as_of, fraction, [])
    # Only the quantity rows go through the roll-up: the other rows (rates, per-period quotas) cost time here.
    wanted = replace(table, rows=[row for row in table.rows if row.cumulative])
    results = {r.key: r for r in rollup.compute(db, wanted, as_of, tz)}
    rows = [pace_row(results[row.key], row, fraction) for row in wanted.rows]
    return Pacing(year, as_of, fraction, [r for r in rows if r])
