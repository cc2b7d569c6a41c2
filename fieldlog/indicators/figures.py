"""One number, one rounding: every figure of the table is rounded here, once, and every output shows that figure.

The page, the print, the XLSX, the CSV, the JSON export and `GET /api/v1/indicators` all take a row's `Figure`
(its shown value, unit and decimals) instead of formatting numbers of their own. The rule (docs/rules.md,
"Figures"): the exact value — entered numbers taken as the decimals they were typed as, never their binary
neighbour (561.24 is 561.24, not 561.2399999…) — is cut to the figure's decimals toward the safe side: down for
what should reach a target (rates, means, scores, the budget execution rate), up for what should stay under
one ("≤" rows: costs, ‰). Points are shared in 0.01 units by the largest remainder, so they sum exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

# Units as the table file writes them (parsed from target texts such as ≤371.29万元).
WAN_YUAN = "万元"  # zh: data
# Decimals shown per unit when a rule says nothing else; counts are whole numbers.
UNIT_DECIMALS = {"%": 1, "‰": 2, WAN_YUAN: 2}
# Units written after the figure on the page (counts print bare, as the table's 实际完成值 column always did).
SHOWN_UNITS = ("%", "‰", WAN_YUAN)
CENT = Decimal("0.01")


def exact(value) -> Fraction:
    """The exact value of a number: a float as the decimal it prints as (what was typed), others as they are."""
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return Fraction(value)
    return Fraction(value)


def shown(value, decimals: int, up: bool = False) -> Decimal:
    """The exact value cut to `decimals` toward the safe side (down, or up when `up`)."""
    scaled = exact(value) * 10 ** decimals
    n = math.ceil(scaled) if up else math.floor(scaled)
    return Decimal(n).scaleb(-decimals) if decimals else Decimal(n)


def text(value: Decimal, decimals: int) -> str:
    """A shown value as digits with exactly `decimals` decimals."""
    return f"{value:.{decimals}f}"


@dataclass(frozen=True)
class Figure:
    """A figure as every output shows it: the value (already rounded), its unit and decimals."""

    value: Decimal
    unit: str = ""
    decimals: int = 0

    @property
    def digits(self) -> str:
        """The figure's digits without unit: '97.04'."""
        return text(self.value, self.decimals)

    @property
    def text(self) -> str:
        """The figure as printed: '97.04%', '0.47万元', '512'."""
        return self.digits + (self.unit if self.unit in SHOWN_UNITS else "")

    @property
    def number(self) -> float:
        """The shown value as a JSON number (97.04 for a rate of 97.04 %)."""
        return float(self.value)

    @property
    def cell(self) -> float:
        """The value an XLSX cell holds: a rate as the fraction Excel's % format expects (0.9704), else the number."""
        return float(self.value / 100) if self.unit == "%" else float(self.value)

    @property
    def number_format(self) -> str:
        """The XLSX number format that shows `cell` as `text` shows the figure."""
        zeros = "0." + "0" * self.decimals if self.decimals else "0"
        if self.unit == "%":
            return zeros + "%"
        if self.unit in ("‰", WAN_YUAN):
            return f'{zeros}"{self.unit}"'
        return zeros


def figure(value, decimals: int | None = None, unit: str = "", up: bool = False) -> Figure:
    """The Figure of an exact value: cut once to its decimals (the unit's by default) toward the safe side."""
    decimals = UNIT_DECIMALS.get(unit, 0) if decimals is None else decimals
    return Figure(shown(value, decimals, up), unit, decimals)


def points(value) -> Decimal:
    """分值 or 得分 as shown: cut to 0.01."""
    return shown(value, 2)


def share(weight, n: int, taken=0) -> list[Decimal]:
    """`weight` minus what rows with their own points `taken`, shared among `n` rows in 0.01 units so that the
    shares sum exactly: each gets the floor of its share and the largest remainders (the first rows, as all
    remainders are equal) one unit more."""
    if n <= 0:
        return []
    units = max(0, math.floor(exact(weight) * 100) - math.ceil(exact(taken) * 100))
    base, extra = divmod(units, n)
    return [Decimal(base + (1 if i < extra else 0)) * CENT for i in range(n)]
