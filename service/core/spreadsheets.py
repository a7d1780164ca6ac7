"""Cells of the CSV and XLSX exports, safe to open in Excel or WPS: text that a spreadsheet would read as a formula
(starting with = + - @, or a tab or carriage return before one) is written with a leading apostrophe.

A clerk types the names, villages and townships these exports carry; `=HYPERLINK(…)` or `=cmd|…` in a township
would otherwise run in the office spreadsheet of whoever opens the statistics (OWASP: CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return the value as a spreadsheet cell: text starting like a formula gets a leading apostrophe; numbers,
    dates and empty cells stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Return a row of safe cells."""
    return [safe_cell(v) for v in row]


def csv_text(rows: Iterable[Sequence[Any]], lineterminator: str = "\r\n") -> str:
    """Return rows as CSV text with every cell made safe."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    w.writerows(safe_row(r) for r in rows)
    return buf.getvalue()
