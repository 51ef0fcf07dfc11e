"""Dates in text: the date a document carries, and the dates a question names.

``infer_date`` finds a document's date in its text ("January 6, 2022", "06.01.2022",
"6 января 2022"); ``iso_date`` checks one given in metadata.

``named_dates`` reads the dates named in a question: "on 7 January", "January 6, 2022",
"in his February address". The question is read by ``dateparser`` (imported only when the question holds a month
name or a year, since loading it takes a quarter of a second). Each date found becomes a
``NamedDate``, the range of days it covers: one day, a month or a year. A date without a
year ("on 7 January") takes the year that puts it closest to a date of the corpus's own
documents, not today's year: a newsroom asks about the documents it has.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["NamedDate", "infer_date", "iso_date", "named_dates", "spoken"]

_MONTHS = ("january february march april may june july august september october november "
           "december").split()
# month words of document dates: English names and abbreviations, and the Russian
# genitive ("6 января 2022")
_MONTH_NUMBERS = ({m: i for i, m in enumerate(_MONTHS, 1)}
                  | {m[:3]: i for i, m in enumerate(_MONTHS, 1)} | {"sept": 9}
                  | {m: i for i, m in enumerate(
                      "января февраля марта апреля мая июня июля августа сентября октября "
                      "ноября декабря".split(), 1)})
_SHORT = {m[:3]: i for i, m in enumerate(_MONTHS, 1)} | {"sept": 9}
_MONTH = re.compile(r"\b(" + "|".join(_MONTHS + list(_SHORT)) + r")\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_DAY = re.compile(r"\b([12]?\d|3[01])(st|nd|rd|th)?\b")
_ABBREVIATED = re.compile(r"\b(jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.", re.IGNORECASE)
# "may" is a month only next to a day or a year ("on 4 May", "May 2021")
_MAY_ALONE = re.compile(r"^\W*may\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class NamedDate:
    """A date the question names, as the inclusive ISO range ``first``..``last``."""

    text: str
    first: str
    last: str

    def __post_init__(self) -> None:
        if not self.first <= self.last:
            raise ValueError(f"date range {self.first}..{self.last} is reversed")

    def holds(self, iso: str | None) -> bool:
        return iso is not None and self.first <= iso[:10] <= self.last

    @property
    def label(self) -> str:
        """The range said plainly: "7 January 2022", "February 2022" or "2021"."""
        first, last = date.fromisoformat(self.first), date.fromisoformat(self.last)
        if first == last:
            return spoken(self.first)
        if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) \
                and first.year == last.year:
            return str(first.year)
        if first.day == 1 and (first.year, first.month) == (last.year, last.month):
            return f"{_MONTHS[first.month - 1].capitalize()} {first.year}"
        return f"{spoken(self.first)} to {spoken(self.last)}"


def _might_name_a_date(question: str) -> bool:
    return bool(_MONTH.search(question) or _YEAR.search(question))


def _closest_year(month: int, day: int | None, corpus_dates: list[date]) -> int | None:
    if not corpus_dates:
        return None
    years = sorted({d.year for d in corpus_dates} | {d.year - 1 for d in corpus_dates}
                   | {d.year + 1 for d in corpus_dates})

    def distance(year: int) -> int:
        last = calendar.monthrange(year, month)[1]
        probe = date(year, month, min(day or 15, last))
        return min(abs((probe - d).days) for d in corpus_dates)

    return min(years, key=lambda y: (distance(y), -y))


def _parse_corpus_dates(dates: Iterable[str | None]) -> list[date]:
    out = []
    for d in dates:
        try:
            out.append(date.fromisoformat(d[:10])) if d else None
        except ValueError:
            continue
    return out


def named_dates(question: str, corpus_dates: Iterable[str | None] = ()) -> tuple[NamedDate, ...]:
    """The dates ``question`` names, each as a range of days; () when it names none.

    ``corpus_dates``: the documents' ISO dates, which give a year-less date its year.
    """
    if not _might_name_a_date(question):
        return ()
    from dateparser.search import search_dates

    known = _parse_corpus_dates(corpus_dates)
    question = _ABBREVIATED.sub(r"\1", question)  # "Jan. 5": the dot would end the date
    found = search_dates(question, languages=["en"],
                         settings={"PREFER_DAY_OF_MONTH": "first",
                                   "RETURN_AS_TIMEZONE_AWARE": False}) or []
    out: list[NamedDate] = []
    for text, parsed in found:
        month_words = _MONTH.findall(text)
        years = _YEAR.findall(text)
        if not month_words and not years:
            continue  # "now", "second", "today": not a date the question names
        if _MAY_ALONE.match(text):
            continue
        rest = _YEAR.sub(" ", text)
        day = parsed.day if month_words and _DAY.search(rest) else None
        if month_words and day is None:  # dateparser sometimes drops the day: "9 January"
            near = re.search(rf"\b([12]?\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?{month_words[0]}\b"
                             rf"|\b{month_words[0]}\s+([12]?\d|3[01])\b(?!\d)", question,
                             re.IGNORECASE)
            day = int(near.group(1) or near.group(2)) if near else None
        month = parsed.month if month_words else None
        year = int(years[0]) if years else _closest_year(month or 1, day, known)
        if year is None:
            year = parsed.year
        if month is None:
            first, last = date(year, 1, 1), date(year, 12, 31)
        elif day is None:
            first = date(year, month, 1)
            last = date(year, month, calendar.monthrange(year, month)[1])
        else:
            first = last = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        named = NamedDate(text.strip(), first.isoformat(), last.isoformat())
        if named not in out:
            out.append(named)
    return tuple(out)


def spoken(iso: str) -> str:
    """``2022-01-06`` as "6 January 2022"."""
    d = date.fromisoformat(iso[:10])
    return f"{d.day} {_MONTHS[d.month - 1].capitalize()} {d.year}"


# -- the date of a document -------------------------------------------------------

_ANY_MONTH = "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE_RE = re.compile(
    rf"(?<!\d)(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{2}})-(?P<iso_d>\d{{2}})(?!\d)"
    rf"|(?<![\d.])(?P<dot_d>\d{{1,2}})\.(?P<dot_m>\d{{1,2}})\.(?P<dot_y>\d{{4}})(?!\.?\d)"
    rf"|(?<!\w)(?P<mdy_m>{_ANY_MONTH})\.?\s+(?P<mdy_d>\d{{1,2}}){_ORDINAL},?\s+(?P<mdy_y>\d{{4}})(?!\d)"
    rf"|(?<![\w.])(?P<dmy_d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<dmy_m>{_ANY_MONTH})\b\.?,?\s+"
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
            number = int(month) if month.isdigit() else _MONTH_NUMBERS[month.lower()]
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


def iso_date(value: str) -> str | None:
    """``value`` when it is a real ``YYYY-MM-DD`` day (any year), as sidecars and HTML
    metadata give it; else None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None
