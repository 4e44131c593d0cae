"""Spreadsheet cells both ways: typed values on export, the text a person sees on import.

An xlsx export writes money and numbers as number cells and dates as date cells, so a
finance team can SUM an amount column and sort by a due date; everything else stays a
text cell (a phone, an id number, "=1+2" are never numbers or formulas). A number cell
is a binary double, and a date cell has no time zone, so both are written only where they
come back exactly: a number of at most 15 significant digits (what Excel keeps; a longer
one stays text), its decimals in the cell's format (`#,##0.00` for 1234.50), and a moment
in local time, the time the person who made the export lives in.

Reading, `text` gives the cell as the person sees it, and so as import's parsers expect
it: 13800138000, not 13800138000.0; 1234.50 from a number cell formatted with two
decimals (the format only adds the zeros a float drops, it never rounds a value away); a
date cell as the day, or the day and time when its format shows a time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from crmcli.io import ooxml

EXCEL_DIGITS = 15  # Excel shows and saves numbers to 15 significant digits
DATE_FORMAT = "yyyy-mm-dd"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm:ss"
KINDS = ("money", "number", "date", "moment")
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_DECIMALS = re.compile(r"[0#?]\.([0#?]*)")


def typed(value: Any, kind: str) -> tuple[Any, str] | None:
    """(cell value, number format) for a machine value of a `kind` column (one of KINDS),
    or None where it is to stay text: empty, not of its kind, or not exact as a cell."""
    if value is None or value == "":
        return None
    if kind in ("money", "number"):
        return _number(str(value), "#,##0" if kind == "money" else "0")
    try:
        if kind == "date":
            return date.fromisoformat(str(value)), DATE_FORMAT
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone().replace(tzinfo=None), MOMENT_FORMAT


def _number(text: str, integer_format: str) -> tuple[Any, str] | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or (number.is_zero() and number.is_signed()):  # -0: a cell has none
        return None
    _, digits, exponent = number.as_tuple()
    if len(digits) > EXCEL_DIGITS:
        return None
    if exponent >= 0:
        return int(number), integer_format
    return float(number), f"{integer_format}.{'0' * -exponent}"


def text(value: Any, number_format: str | None = None) -> str:
    """A cell as the text a person sees (see the module's docstring); ESC, not the
    `_x001B_` the file holds it as."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time() and not _shows_time(number_format):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return ooxml.unescape(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _shown_number(value, number_format)
    return str(value)


def _shown_number(value: int | float, number_format: str | None) -> str:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        number = Decimal(int(value))
    places = _decimals(number_format)
    if places is not None and -number.as_tuple().exponent < places:
        number = number.quantize(Decimal(1).scaleb(-places))
    return format(number, "f") if abs(number.adjusted()) < 20 else str(value)


def _decimals(number_format: str | None) -> int | None:
    """How many decimals a number format shows (`#,##0.00` → 2), or None if it is no
    plain number format (General, a percentage, scientific, text)."""
    if not number_format or number_format in ("General", "@"):
        return None
    section = _QUOTED.sub("", number_format.split(";", 1)[0])
    if "%" in section or "E" in section.upper():
        return None
    found = _DECIMALS.search(section)
    if found:
        return len(found.group(1))
    return 0 if re.search(r"[0#]", section) else None


def _shows_time(number_format: str | None) -> bool:
    section = _QUOTED.sub("", (number_format or "").split(";", 1)[0]).lower()
    return "h" in section or "s" in section
