"""Spreadsheet exports that cannot run code: every cell of every CSV and XLSX the app writes goes through `cell`.

A spreadsheet reads a cell that starts with = + - @ (or a tab or carriage return before one) as a formula:
the chief's note "=HYPERLINK(...)" or "-2+3" would run on the finance office's machine. `cell` puts a single
quote before such text (OWASP, CSV injection), so it shows as the text it is. Numbers stay numbers: an int
or float is written as a number, and text that is only a number ("-2", "+5", "-0.5%") is left as it is,
since no spreadsheet reads it as anything but that number.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, time
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")
# Characters XLSX (XML 1.0) cannot hold; openpyxl refuses a cell that has one, and the whole export with it.
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell(value):
    """`value` as an export writes it: None, numbers and dates as they are, any other value as text, with a
    single quote before text a spreadsheet would read as a formula."""
    if value is None or isinstance(value, (int, float, Decimal, date, datetime, time)):  # bool is an int
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def row(values) -> list:
    """Every value of a row through `cell`."""
    return [cell(v) for v in values]


class _SafeWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, values):
        return self._writer.writerow(row(values))

    def writerows(self, rows):
        for values in rows:
            self.writerow(values)


def csv_writer(stream, **options) -> _SafeWriter:
    """A csv.writer whose writerow and writerows put every cell through `cell`."""
    return _SafeWriter(csv.writer(stream, **options))


def append(ws, values) -> None:
    """Append a row to an openpyxl worksheet, every cell through `cell` (text never becomes a formula) and
    without the control characters XLSX cannot hold."""
    # Cleaned before `cell` looks at the start: "\x01=1+1" must not become "=1+1" after the check.
    ws.append(row(XLSX_ILLEGAL.sub("", v) if isinstance(v, str) else v for v in values))
