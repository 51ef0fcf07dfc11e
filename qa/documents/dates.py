"""Dates found in text: the first calendar date in a document, and ISO dates in metadata."""

from __future__ import annotations

import re
from datetime import date

__all__ = ["infer_date"]

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # Russian sources write dates with the genitive: "6 января 2022".
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6,
    "июля": 7, "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE_RE = re.compile(
    rf"(?<!\d)(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{2}})-(?P<iso_d>\d{{2}})(?!\d)"
    rf"|(?<![\d.])(?P<dot_d>\d{{1,2}})\.(?P<dot_m>\d{{1,2}})\.(?P<dot_y>\d{{4}})(?!\.?\d)"
    rf"|(?<!\w)(?P<mdy_m>{_MONTH})\.?\s+(?P<mdy_d>\d{{1,2}}){_ORDINAL},?\s+(?P<mdy_y>\d{{4}})(?!\d)"
    rf"|(?<![\w.])(?P<dmy_d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<dmy_m>{_MONTH})\b\.?,?\s+"
    rf"(?P<dmy_y>\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_YEARS = range(1900, 2101)


def infer_date(text: str) -> str | None:
    """Find the first plausible calendar date in ``text``.

    Recognised: ``January 6, 2022`` (also ``Jan. 6th 2022``), ``6 January 2022``,
    ``06.01.2022`` (day.month.year), ``2022-01-06`` and Russian ``6 января 2022``.
    Slashed dates are ignored because ``01/06/2022`` means different days in
    different countries. Impossible dates and years outside 1900-2100 are skipped.

    Args:
        text: Any text.

    Returns:
        The date as ``YYYY-MM-DD``, or None.
    """
    for match in _DATE_RE.finditer(text):
        for form in ("iso", "dot", "mdy", "dmy"):
            if match[f"{form}_y"] is None:
                continue
            month = match[f"{form}_m"]
            number = int(month) if month.isdigit() else _MONTHS[month.lower()]
            found = _valid_date(int(match[f"{form}_y"]), number, int(match[f"{form}_d"]))
            if found:
                return found
    return None


def _valid_date(year: int, month: int, day: int) -> str | None:
    if year not in _YEARS:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _iso_date(value: str) -> str | None:
    """``value`` when it is a real ``YYYY-MM-DD`` day (any year), as sidecars and HTML
    metadata give it; else None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None
