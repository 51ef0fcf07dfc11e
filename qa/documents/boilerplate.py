"""Boilerplate: site chrome (navigation lines, the header above the headline, footers).

The extracted ``Document.text`` is the reference every offset in qa points into, so site
chrome is never cut out of it: it is only listed in ``Document.boilerplate`` for the
chunker to skip. The same lines give a document without a headline its title.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from qa.dates import infer_date
from qa.documents._base import _clean
from qa.sentences import ends_sentence

__all__: list[str] = []

# Words that make up share bars and navigation. A line made only of them is chrome.
_NAV_WORDS = frozenset(
    "go back home menu search print share tweet twitter facebook telegram vk vkontakte "
    "whatsapp viber linkedin instagram youtube email e mail subscribe copy link read more "
    "next previous prev top to login logout rss "
    "назад вернуться главная меню поиск печать распечатать поделиться подписаться "
    "вконтакте вк одноклассники телеграм".split()
)
_SHORT_LINE = 80  # chrome lines are short; so are headlines, hence the other rules
_DATE_LINE = 60
_EDGE_LINES = 10  # how far into the top and bottom of a document headers/footers reach


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str  # stripped


def _boilerplate_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of site chrome in ``text``, merged across the blank lines between them.

    Marked: lines made only of navigation/share words; short non-sentence lines that
    occur twice or more; the block above the headline when it contains such chrome
    (so a lone "National Emblem" line goes with it); and the block after the last
    sentence from its first chrome line on. Never marked: sentences, date lines, or
    the headline.
    """
    lines = _nonblank_lines(text)
    counts = Counter(_key(line.text) for line in lines)
    content = [_is_sentence(line.text) or _is_date_line(line.text) for line in lines]
    first_content = content.index(True) if True in content else len(lines)
    top = range(min(first_content, _EDGE_LINES))
    anchored = _line_above_dateline(lines, top, first_content)
    chrome = [
        i != anchored
        and (
            _is_nav(line.text)
            or (
                counts[_key(line.text)] >= 2
                and len(line.text) < _SHORT_LINE
                and not content[i]
                and not line.text.endswith(":")  # speaker labels in transcripts are content
            )
        )
        for i, line in enumerate(lines)
    ]
    marked = chrome.copy()
    headline = _headline_index(top, chrome)
    if headline is not None:
        marked[:headline] = [True] * headline
    footer = _footer_start(content, chrome, headline)
    if footer is not None:
        marked[footer:] = [True] * (len(lines) - footer)
    spans = [
        (line.start, line.end)
        for i, line in enumerate(lines)
        if marked[i] and not content[i] and i != headline
    ]
    return _merge(text, spans)


def _line_above_dateline(lines: list[_Line], top: range, first_content: int) -> int | None:
    """The line right above a dateline that ends the top block, if it is a headline.

    It stays a headline even if it recurs later (say in a related-links list), unless
    it also recurs within the top block itself or is a navigation line.
    """
    if not top or top[-1] != first_content - 1 or first_content == len(lines):
        return None
    if not _is_date_line(lines[first_content].text):
        return None
    above = top[-1]
    top_counts = Counter(_key(lines[i].text) for i in top)
    if _is_nav(lines[above].text) or top_counts[_key(lines[above].text)] > 1:
        return None
    return above


def _headline_index(top: range, chrome: list[bool]) -> int | None:
    """First non-chrome line after the last chrome line of the top block, if any.

    That line is the headline and everything above it is the site header. Without
    chrome above a line there is no evidence of a header, so nothing is extended.
    """
    last_chrome = max((i for i in top if chrome[i]), default=None)
    if last_chrome is None:
        return None
    return next((i for i in top if i > last_chrome and not chrome[i]), None)


def _footer_start(content: list[bool], chrome: list[bool], headline: int | None) -> int | None:
    """First chrome line after the last sentence (and the headline), near the end."""
    last_content = max(
        [i for i, is_content in enumerate(content) if is_content]
        + ([headline] if headline is not None else [])
        + [-1]
    )
    tail = range(max(last_content + 1, len(chrome) - _EDGE_LINES), len(chrome))
    return next((i for i in tail if chrome[i]), None)


def _nonblank_lines(text: str) -> list[_Line]:
    lines = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        stripped = raw.strip()
        if stripped:
            start = offset + len(raw) - len(raw.lstrip())
            lines.append(_Line(start, start + len(stripped), stripped))
        offset += len(raw)
    return lines


def _merge(text: str, spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _key(line: str) -> str:
    return " ".join(line.casefold().split())


def _is_sentence(line: str) -> bool:
    return len(line) >= _SHORT_LINE or ends_sentence(line)


def _is_date_line(line: str) -> bool:
    return len(line) < _DATE_LINE and infer_date(line) is not None


def _is_nav(line: str) -> bool:
    words = re.findall(r"\w+", line.casefold())
    return (
        bool(words) and len(line) < _SHORT_LINE and not _is_sentence(line)
        and all(word in _NAV_WORDS for word in words)
    )  # fmt: skip


def _title_from_text(text: str, boilerplate: tuple[tuple[int, int], ...], markdown: bool) -> str:
    """First line that is neither boilerplate nor a date, or '' if there is none."""
    for line in _nonblank_lines(text):
        if any(start <= line.start < end for start, end in boilerplate):
            continue
        if _is_date_line(line.text):
            continue
        title = re.sub(r"^#+\s*", "", line.text) if markdown else line.text
        if cleaned := _clean(title):
            return cleaned
    return ""
