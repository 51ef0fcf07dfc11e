"""Word-swap sentence pairs made from TyDi QA's English Wikipedia passages (Apache-2.0).

PAWS shows that a model which has only seen pairs differing in their words learns that
the same words mean the same thing. These pairs keep every word and change only where
they stand, the way a quote can swap who did what:

* **different meaning**: two names (capitalised runs inside the sentence) or two numbers
  trade places ("born in Sweden in 1947, moved to France" / "born in France in 1947,
  moved to Sweden");
* **same meaning**: an opening phrase moves to the end ("In 1901, the prize went to X" /
  "The prize went to X in 1901"), two phrases after a verb that both start with a
  place and a year trade places ("born in Sweden in 1947" / "born in 1947 in Sweden"), or
  the two sides of "A and B" trade places when both are single names.

A name swap counts only when a word that gives the names roles stands between them
("Detroit had defeated Pittsburgh"), not list glue alone ("Germany and the United
States", "Jones, Luna, Yen").

Every rule is deterministic; a seeded generator picks the sentences and the swaps.
"""

from __future__ import annotations

import json
import random
import re

from bench.report import require_data

_CITATION = re.compile(r"\[\d+\](?::\d+)?")
_NAME = re.compile(r"(?<![\w-])(?:[A-Z][a-z]+(?:\s+(?:of\s+)?[A-Z][a-z]+)*)(?![\w-])")
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})*(?:\.\d+)?(?![\w])")
_OPENING = re.compile(r"^((?:In|On|At|During|By|After|Before|Since) [^,]{3,40}), (\w)(.*)\.$")
_YEAR = r"in \d{4}"
_PLACE = r"(?:in|at) (?:the )?[A-Z][a-z]+(?: [A-Z][a-z]+)*"
_TWO_PHRASES = (re.compile(rf"\b({_YEAR}) ({_PLACE})(?=[,.;])"),
                re.compile(rf"\b({_PLACE}) ({_YEAR})(?=[,.;])"))
# between two swapped names there must be a word that gives them roles ("defeated"), not
# only list glue: "Germany and the United States" means what its swap means
_GLUE = frozenset({"and", "or", "the", "of", "a", "an", "as", "well", "also", "both"})
_AND = re.compile(r"(?<![\w-])([A-Z][a-z]+) and ([A-Z][a-z]+)(?![\w-])")


def sentences(limit_words: tuple[int, int] = (8, 40)) -> list[str]:
    """Plain sentences of TyDi QA English train passages, citation marks removed."""
    from qa.sentences import sentence_spans

    data = json.loads(require_data("tydiqa", "english_tydiqa_train.json").read_text("utf-8"))
    seen: dict[str, None] = {}
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            text = _CITATION.sub("", paragraph["context"])
            for s, e in sentence_spans(text):
                sentence = " ".join(text[s:e].split())
                n = len(sentence.split())
                if limit_words[0] <= n <= limit_words[1] and sentence.endswith("."):
                    seen.setdefault(sentence)
    return list(seen)


def _swap(sentence: str, a: re.Match, b: re.Match) -> str:
    return (sentence[:a.start()] + b.group() + sentence[a.end():b.start()] + a.group()
            + sentence[b.end():])


def different(sentence: str, rng: random.Random) -> str | None:
    """The sentence with two names or two numbers swapped, or None."""
    for pattern in rng.sample([_NAME, _NUMBER], 2):
        found = [m for m in pattern.finditer(sentence)
                 if m.start() > 0 and m.group() not in _MONTHS]
        options = [(a, b) for i, a in enumerate(found) for b in found[i + 1:]
                   if a.group() != b.group() and _roles_between(sentence[a.end():b.start()])]
        if options:
            return _swap(sentence, *rng.choice(options))
    return None


_MONTHS = frozenset("January February March April May June July August September October "
                    "November December".split())


def _roles_between(text: str) -> bool:
    return any(w.islower() and len(w) > 2 and w not in _GLUE for w in re.findall(r"\w+", text))


def same(sentence: str, rng: random.Random) -> str | None:
    """The sentence with its words moved but its meaning kept, or None."""
    rules = [_opening_to_end, _two_phrases, _and]
    rng.shuffle(rules)
    for rule in rules:
        out = rule(sentence)
        if out and out != sentence:
            return out
    return None


def _opening_to_end(sentence: str) -> str | None:
    m = _OPENING.match(sentence)
    if not m:
        return None
    phrase, first, rest = m.groups()
    if first.isdigit():  # "On October 16, 1955, ..." is cut at its first comma
        return None
    return f"{first.upper()}{rest} {phrase[0].lower()}{phrase[1:]}."


def _two_phrases(sentence: str) -> str | None:
    for pattern in _TWO_PHRASES:
        m = pattern.search(sentence)
        if m:
            return sentence[:m.start()] + f"{m.group(2)} {m.group(1)}" + sentence[m.end():]
    return None


def _and(sentence: str) -> str | None:
    m = _AND.search(sentence)
    if not m or m.start() == 0 or m.group(1) == m.group(2):
        return None
    return sentence[:m.start()] + f"{m.group(2)} and {m.group(1)}" + sentence[m.end():]


def pairs(n: int, seed: int) -> list[tuple[str, str, float]]:
    """About ``n`` pairs, half of each label where the rules allow."""
    rng = random.Random(seed)
    pool = sentences()
    rng.shuffle(pool)
    out_same, out_different = [], []
    for sentence in pool:
        if len(out_same) < n // 2:
            moved = same(sentence, rng)
            if moved:
                out_same.append((sentence, moved, 1.0))
                continue
        if len(out_different) < n // 2:
            swapped = different(sentence, rng)
            if swapped:
                out_different.append((sentence, swapped, 0.0))
        if len(out_same) >= n // 2 and len(out_different) >= n // 2:
            break
    return out_same + out_different
