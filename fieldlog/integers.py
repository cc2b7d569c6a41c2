"""Numbers from outside: SQLite's integer range, the one bound on every integer fieldlog takes, and the one
parser of decimal numbers (finite ones only: SQLite stores NaN as NULL, and infinity is no measurement).

sqlite3 cannot bind an int beyond 64 bits (OverflowError), so an id, a page or a count from a request is
refused here, as bad input naming its field, before it reaches a query. The web layer's parameter type
(web.Int64) and the events' integer parser (events.validation) both take their bound from here.
"""

from __future__ import annotations

import math
import re

INT64_MIN = -2**63
INT64_MAX = 2**63 - 1

_DECIMAL = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: str.isdigit() also takes '²', which int() refuses


def fits(number: int) -> bool:
    """Whether an int can be stored in (and compared against) an SQLite INTEGER column."""
    return INT64_MIN <= number <= INT64_MAX


def parse(text, low: int = INT64_MIN, high: int = INT64_MAX) -> int | None:
    """The integer a decimal text (or an int) stands for when it lies in low…high; None for anything else.

    For hand-parsed query and form values that are ignored or refused when not a usable number:
    blank, '²', '1e3', '3.0' and 10**20 all give None.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        number = text
    else:
        stripped = str(text if text is not None else "").strip()
        if not _DECIMAL.fullmatch(stripped) or len(stripped) > 40:
            return None
        number = int(stripped)
    return number if low <= number <= high else None


def finite(value) -> float | None:
    """The finite number a text (or an int or float) stands for; None for anything else.

    Blank, 'abc', 'nan', 'inf', '1e999' and a bool all give None; the caller names the field in its message.
    """
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) else float(str(value if value is not None else "").strip())
    except (ValueError, OverflowError):  # OverflowError: an int too large for a float (JSON allows 10**400)
        return None
    return number if math.isfinite(number) else None
