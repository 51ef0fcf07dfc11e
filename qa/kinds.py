"""Kinds of answers: what a question asks for, and whether a sentence holds it.

"When"/"at what time" want a date or a time, "how many"/"how much" a number, "who"/"whom"
a person or an organisation, "where" a place. A sentence without the kind of answer asked
for does not answer the question; ``qa.judge`` counts that as one of its features. Other
questions ("what", "why", "how", "which") ask for no kind that words alone can check.

The rules are small on purpose: capitalised words stand for names, digits and number
words for numbers, month names, years and clock times for dates. They read English.
"""

from __future__ import annotations

import re

__all__ = ["KINDS", "asks_for", "has_date", "has_explicit_date", "has_kind", "has_number",
           "has_person", "has_place", "is_list_question"]

KINDS = ("date", "number", "person", "place")

_WORD = re.compile(r"[\w’'-]+")
_MONTHS = ("january february march april may june july august september october november "
           "december jan feb mar apr jun jul aug sep sept oct nov dec").split()
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_NUMBER_WORDS = frozenset("""
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
hundred hundreds thousand thousands million millions billion billions dozen dozens half
several few percent per cent
""".split())
# Words that say when, relative to the document's date ("today I appealed...").
_RELATIVE_DAYS = frozenset("today yesterday tomorrow tonight morning evening".split())
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b"                                  # a year
    r"|\b\d{1,2}[:.]\d{2}\s*(am|pm|a\.m\.|p\.m\.)?"                # a clock time
    r"|\b\d{1,2}\s*(am|pm|a\.m\.|p\.m\.)"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
    r"|\b(" + "|".join(_MONTHS + _WEEKDAYS) + r")\b"
    r"|\b(century|centuries|decade|decades)\b",
    re.IGNORECASE)
# Capitalised words that do not make a sentence name someone or somewhere.
_NOT_NAMES = frozenset(_MONTHS + _WEEKDAYS + """
i the a an this that these those he she it they we you his her their our its my in on at
of for and but or as by with from to mr mrs ms dr
""".split())
_PLACE_PREPOSITIONS = frozenset("in at near from into to across outside inside throughout".split())
_PLACE_WORDS = frozenset("""
city cities town capital country region province state district street square palace
airport building village island river mountain border abroad north south east west
""".split())


def _words(text: str) -> list[str]:
    return [w.strip("’'-") for w in _WORD.findall(text) if w.strip("’'-")]


def asks_for(question: str) -> str | None:
    """The kind of answer ``question`` asks for: one of ``KINDS``, or None."""
    q = " ".join(_words(question.lower()))
    if re.search(r"\b(how many|how much|what number|what percentage|what share|how long|"
                 r"how old|how far|how big|how large)\b", q):
        return "number"
    if re.search(r"\b(when|what time|what date|what day|what year|which year|which day|"
                 r"what month|which month)\b", q):
        return "date"
    if re.search(r"\b(who|whom|whose)\b", q):
        return "person"
    if re.search(r"\b(where|what city|which city|what country|which country|what place)\b", q):
        return "place"
    return None


def is_list_question(question: str) -> bool:
    """A question that asks for several things ("Which officials...", "Who attended...")."""
    words = _words(question.lower())
    if len(words) < 2:
        return False
    plural = words[1].endswith("s") and not words[1].endswith("ss")
    return (words[0] in ("which", "what") and plural) or " ".join(words[:2]) in (
        "who attended", "who were", "who are", "name the", "list the")


def _names(text: str) -> list[str]:
    words = _words(text)
    return [w for i, w in enumerate(words)
            if w[:1].isupper() and w.lower() not in _NOT_NAMES
            and (i > 0 or (len(w) > 1 and w.isupper()))]


def has_explicit_date(text: str) -> bool:
    """A date, a year, a month, a weekday or a time of day, written out."""
    return bool(_DATE.search(text))


def has_date(text: str) -> bool:
    """An explicit date, or a word placing it relative to its document's date ("today")."""
    return has_explicit_date(text) or any(w.lower() in _RELATIVE_DAYS for w in _words(text))


def has_number(text: str) -> bool:
    return any(any(c.isdigit() for c in w) or w.lower() in _NUMBER_WORDS for w in _words(text))


def has_person(text: str) -> bool:
    """A name or an organisation: a capitalised word inside the sentence, or an acronym.

    Pronouns such as "I" or "we" do not count: in a quotation they stand for the
    speaker, whom the answer code counts separately.
    """
    return bool(_names(text))


def has_place(text: str) -> bool:
    """A capitalised word after "in"/"at"/"near"..., or a word that names a kind of place."""
    words = _words(text)
    for before, word in zip(words, words[1:], strict=False):
        if before.lower() in _PLACE_PREPOSITIONS and word[:1].isupper() \
                and word.lower() not in _NOT_NAMES:
            return True
    return any(w.lower() in _PLACE_WORDS for w in words)


_CHECKS = {"date": has_date, "number": has_number, "person": has_person, "place": has_place}


def has_kind(text: str, kind: str | None) -> bool:
    """Whether ``text`` holds an answer of ``kind`` (always True when no kind is asked)."""
    return True if kind is None else _CHECKS[kind](text)
