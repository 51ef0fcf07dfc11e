"""Checking a quote against the documents, word by word.

``verify`` finds where the documents say the quoted words and names what differs:

* candidates come from an exact scan of every stored document (after normalising
  typography) and from the index's ranked passages (``qa.retrieval.search``);
* the quote is located in each candidate region with ``rapidfuzz``'s partial alignment,
  then compared word by word with Levenshtein opcodes, so every changed, added or
  dropped word is listed: a word change is never hidden by normalisation;
* when the words are not close, the meaning is compared with the embedding model on
  the candidate sentences (a paraphrase);
* the matched span is looked up among the quotations extracted at index time to say who
  the source attributes the words to.

Normalisation ignores case, punctuation (so curly and straight quotes, «guillemets»,
hyphens, en and em dashes and the ellipsis character), and whitespace. Elisions marked
``...``, ``…``, ``[...]`` or ``[…]`` split the quote into parts that must appear in order,
each within a few sentences of the previous one.
"""

from __future__ import annotations

import bisect
import re
import weakref
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from qa.align import (
    ARTICLES,
    NEGATIONS,
    NUMBER_WORDS,
    STOPWORDS,
    TOKEN,
    Reading,
    key,
    read,
    read_many,
)
from qa.errors import InvalidInputError

if TYPE_CHECKING:
    from qa.chunkstore import IndexedDocument
    from qa.embedding import Embedder
    from qa.index import Index
    from qa.quotes import Quotation
    from qa.reader import ReaderConfig
    from qa.retrieval import Filters

__all__ = ["Difference", "Match", "Verdict", "VERDICTS", "verify", "normalise_words",
           "only_meaning_changes", "read_batch", "report_row", "REPORT_COLUMNS",
           "ALTERED_MIN", "MAX_QUOTE_CHARS"]

VERDICTS = ("verbatim", "altered", "paraphrase", "stitched", "not_found", "misattributed")
# Word similarity (rapidfuzz Indel over normalised words, 0-1) from which differing words
# are an altered quote rather than other words. On tests/gold/verify.csv, altered quotes
# whose change is not a number or negation score 0.93-0.97 and the best alignments of
# paraphrases and invented quotes 0.20-0.61; any value in 0.65-0.90 classifies them alike
# (bench/bench_verify.py), and 0.75 leaves room on both sides.
ALTERED_MIN = 0.75
MAX_QUOTE_CHARS = 5000
# An elided part must start within this many sentences after the previous part ends.
MAX_ELISION_SENTENCES = 3
# A piece of a stitched quote is a run of at least this many words (articles aside) that
# the documents have in a row: fewer would find common phrases everywhere.
STITCH_MIN_WORDS = 3
CONTEXT_CHARS = 200
# Passages closest to the quote by sentence vector whose words are aligned to it.
PARAPHRASE_CANDIDATES = 6

ELISION = re.compile(r"[\[(]\s*(?:\.\s*){3}[\])]|[\[(]\s*…\s*[\])]|(?:\.\s*){3}|…")
@dataclass(frozen=True)
class Difference:
    """One change between the quote and the source, in the words as each wrote them.

    ``op`` is from the quote's side: ``replace`` (the quote has other words),
    ``insert`` (the quote adds words the source lacks), ``delete`` (the quote drops
    source words without marking an elision). ``start`` and ``end`` are where in the quote
    the change is, ``quote_text[start:end] == quote`` (an empty span for a delete, at the
    place the source's words would be), so the page draws the same changes in the quote.
    """

    op: str
    quote: str
    source: str
    # where the change is in the quote: for drawing it, not part of what the change is
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.op not in ("replace", "insert", "delete"):
            raise ValueError(f"unknown difference op {self.op!r}")
        if not 0 <= self.start <= self.end:
            raise ValueError(f"difference span ({self.start}, {self.end}) is not a span")

    def as_json(self) -> dict:
        return {"op": self.op, "quote": self.quote, "source": self.source}


@dataclass(frozen=True)
class Match:
    """The source span the quote was matched to: ``stored_text[start:end] == text``."""

    doc_id: str
    path: str
    title: str
    date: str | None
    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end or self.end - self.start != len(self.text):
            raise ValueError(f"match offsets ({self.start}, {self.end}) do not fit its text")

    def as_json(self) -> dict:
        return {"doc_id": self.doc_id, "path": self.path, "title": self.title,
                "date": self.date, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Verdict:
    """What the documents say about a quote. ``as_json`` is the ``qa verify --json`` contract.

    Attributes:
        verdict: one of ``VERDICTS``.
        score: 1.0 for verbatim; word similarity for altered; the model's cosine
            similarity for paraphrase and not_found.
        meaning_changed: a number changed or a negation was added or removed.
        speaker: who the source attributes the matched words to (None for narration or
            when nobody is named).
        direct_quote: the matched words are inside quote marks in the source.
        cue: the attribution as written in the source ("the Head of State said").
        message: one line for people, e.g. where the corpus ends for ``not_found``.
        no_counterpart: for paraphrase and altered, the quote's words with no counterpart
            in the matched passage (``qa.align``), as written in the quote.
        pieces: for stitched, where each piece of the quote is, in the quote's order.
        closest: for not_found, the passage nearest the quote's meaning; for a
            ``secondary_only`` verdict, the primary passage nearest it. It does not say
            what the quote says, so it is never ``match``.
        secondary_only: no primary source has the quote; the verdict is against a
            secondary one (a report that printed it), so it confirms only that it was
            printed.
        reprints: secondary documents that print the quote word for word, oldest first
            (for a verdict against a primary source: who printed it, and since when).
    """

    quote: str
    verdict: str
    score: float
    meaning_changed: bool = False
    match: Match | None = None
    differences: tuple[Difference, ...] = ()
    speaker: str | None = None
    direct_quote: bool = False
    cue: str | None = None
    context_before: str = ""
    context_after: str = ""
    message: str = field(default="", compare=False)
    no_counterpart: tuple[str, ...] = ()
    pieces: tuple[Match, ...] = ()
    closest: Match | None = None
    secondary_only: bool = False
    reprints: tuple[Match, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; use one of {VERDICTS}")
        if self.verdict in ("not_found", "stitched") and self.match is not None:
            raise ValueError(f"a {self.verdict} verdict confirms no passage; use closest")

    def as_json(self) -> dict:
        return {
            "quote": self.quote, "verdict": self.verdict, "score": round(float(self.score), 4),
            "meaning_changed": self.meaning_changed,
            "match": self.match.as_json() if self.match else None,
            "differences": [d.as_json() for d in self.differences],
            "speaker": self.speaker, "direct_quote": self.direct_quote, "cue": self.cue,
            "context": {"before": self.context_before, "after": self.context_after},
            "no_counterpart": list(self.no_counterpart),
            "pieces": [p.as_json() for p in self.pieces],
            # the nearest passage of a not_found quote: shown, but it does not say this
            "closest": {**self.closest.as_json(), "confirms_quote": False,
                        "note": "closest, but it does not say this"} if self.closest else None,
            "secondary_only": self.secondary_only,
            "reprints": [r.as_json() for r in self.reprints],
        }


# -- words -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    norm: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    return [_Token(key(m.group()), m.start(), m.end()) for m in TOKEN.finditer(text)]


def normalise_words(text: str) -> list[str]:
    """The words of ``text`` as compared: lower case, no punctuation, typography unified."""
    return [t.norm for t in _tokens(text)]


@dataclass
class _Doc:
    """A stored document prepared for matching."""

    info: IndexedDocument
    text: str
    tokens: list[_Token]
    joined: str  # " w1 w2 ... " for substring search
    token_at: list[int]  # start offset in ``joined`` of each token
    bare: str  # ``joined`` without articles: a doubled or dropped article is typography
    bare_at: list[int]  # start offset in ``bare`` of each word that is not an article
    bare_token: list[int]  # index in ``tokens`` of each of those words
    _sentence_starts: list[int] | None = None

    def sentence_of(self, offset: int) -> int:
        if self._sentence_starts is None:
            from qa.sentences import sentence_spans

            self._sentence_starts = [s for s, _ in sentence_spans(self.text)]
        return bisect.bisect_right(self._sentence_starts, offset)

    def token_index(self, offset: int) -> int:
        """Index of the first token starting at or after char ``offset`` of the text."""
        return bisect.bisect_left(self.tokens, offset, key=lambda t: t.start)

    def find(self, words: list[str], after: int = 0) -> list[tuple[int, int]]:
        """Token ranges where ``words`` (no articles) appear in a row, articles aside,
        starting at token ``after`` or later."""
        needle = " " + " ".join(words) + " "
        first = bisect.bisect_left(self.bare_token, after)
        at = self.bare.find(needle, self.bare_at[first] - 1) if first < len(self.bare_at) else -1
        found = []
        while at >= 0:
            i = bisect.bisect_left(self.bare_at, at + 1)
            found.append((self.bare_token[i], self.bare_token[i + len(words) - 1] + 1))
            at = self.bare.find(needle, at + 1)
        return found


def _joined(words: list[str]) -> tuple[str, list[int]]:
    at, pieces, position = [], [" "], 1
    for w in words:
        at.append(position)
        pieces.append(w + " ")
        position += len(w) + 1
    return "".join(pieces), at


def _bare(words: list[_Token]) -> list[str]:
    """The words without articles (all of them when there is nothing else)."""
    return [t.norm for t in words if t.norm not in ARTICLES] or [t.norm for t in words]


def _prepare(info: IndexedDocument, text: str) -> _Doc:
    tokens = _tokens(text)
    joined, token_at = _joined([t.norm for t in tokens])
    bare_token = [i for i, t in enumerate(tokens) if t.norm not in ARTICLES]
    bare, bare_at = _joined([tokens[i].norm for i in bare_token])
    return _Doc(info, text, tokens, joined, token_at, bare, bare_at, bare_token)


# Prepared documents and quotations per loaded index version; versions never change.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _corpus(index: Index) -> dict[str, _Doc]:
    cached = _CACHE.get(index)
    if cached is None:
        docs = {}
        for doc_id, info in index.documents_by_id().items():
            doc = index.chunks.document(doc_id)
            if doc is not None:
                docs[doc_id] = _prepare(info, doc.text)
        cached = _CACHE[index] = {"docs": docs, "quotations": {}}
    return cached["docs"]


def _quotations(index: Index, doc_id: str) -> list[Quotation]:
    _corpus(index)
    by_doc = _CACHE[index]["quotations"]
    if doc_id not in by_doc:
        by_doc[doc_id] = index.chunks.quotations(doc_id)
    return by_doc[doc_id]


# -- the quote -------------------------------------------------------------------------


def _parts(quote: str) -> list[list[_Token]]:
    """The quote's word tokens, split at marked elisions; offsets point into ``quote``."""
    parts, position = [], 0
    for m in [*ELISION.finditer(quote), None]:
        end = m.start() if m else len(quote)
        words = [_Token(t.norm, t.start + position, t.end + position)
                 for t in _tokens(quote[position:end])]
        if words:
            parts.append(words)
        position = m.end() if m else len(quote)
    return parts


@dataclass(frozen=True)
class _Alignment:
    doc: _Doc
    spans: tuple[tuple[int, int], ...]  # token ranges in doc, one per quote part
    similarity: float

    @property
    def start(self) -> int:
        return self.doc.tokens[self.spans[0][0]].start

    @property
    def end(self) -> int:
        return self.doc.tokens[self.spans[-1][1] - 1].end


# -- matching --------------------------------------------------------------------------


def _exact(docs: dict[str, _Doc], parts: list[list[_Token]]) -> list[_Alignment]:
    """Every place where all parts appear word for word, in order, close together."""
    found = []
    words = [_bare(part) for part in parts]
    for doc in docs.values():
        for first in doc.find(words[0]):
            spans = [first]
            for part in words[1:]:
                last = spans[-1][1] - 1
                nxt = doc.find(part, spans[-1][1])
                if not nxt or (doc.sentence_of(doc.tokens[nxt[0][0]].start)
                               - doc.sentence_of(doc.tokens[last].end)) > MAX_ELISION_SENTENCES:
                    break
                spans.append(nxt[0])
            if len(spans) == len(parts):
                spans = [_with_articles(doc, span, part)
                         for span, part in zip(spans, parts, strict=True)]
                # where the articles match too, the place is the better one
                same = all([t.norm for t in doc.tokens[a:b]] == [t.norm for t in part]
                           for (a, b), part in zip(spans, parts, strict=True))
                found.append(_Alignment(doc, tuple(spans), 1.0 if same else 0.999))
    return found


def _with_articles(doc: _Doc, span: tuple[int, int], part: list[_Token]) -> tuple[int, int]:
    """``span`` widened to the articles that the quote part starts or ends with, where the
    source has them too."""
    a, b = span
    if part[0].norm in ARTICLES and a > 0 and doc.tokens[a - 1].norm == part[0].norm:
        a -= 1
    if part[-1].norm in ARTICLES and b < len(doc.tokens) and doc.tokens[b].norm == part[-1].norm:
        b += 1
    return a, b


def _fuzzy(doc: _Doc, lo: int, hi: int, parts: list[list[_Token]]) -> _Alignment | None:
    """The best word alignment of the quote's parts inside tokens ``[lo, hi)``."""
    from rapidfuzz.distance import Indel

    spans, cursor = [], lo
    for number, part in enumerate(parts):
        limit = hi
        if number:
            # an elided part must follow within a few sentences of the previous one
            previous_sentence = doc.sentence_of(doc.tokens[cursor - 1].end)
            limit = cursor
            while limit < hi and (doc.sentence_of(doc.tokens[limit].start) - previous_sentence
                                  <= MAX_ELISION_SENTENCES):
                limit += 1
        span = _locate(doc, cursor, limit, [t.norm for t in part])
        if span is None:
            return None
        spans.append(span)
        cursor = span[1]
    quote_words = _bare([t for part in parts for t in part])
    source_words = _bare([doc.tokens[i] for a, b in spans for i in range(a, b)])
    return _Alignment(doc, tuple(spans), Indel.normalized_similarity(quote_words, source_words))


def _locate(doc: _Doc, lo: int, hi: int, words: list[str]) -> tuple[int, int] | None:
    """Token range in ``[lo, hi)`` most similar to ``words``."""
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Levenshtein

    if hi <= lo:
        return None
    region = doc.joined[doc.token_at[lo] - 1:doc.token_at[hi - 1] + len(doc.tokens[hi - 1].norm)
                        + 1]
    needle = " " + " ".join(words) + " "
    if len(needle) <= len(region):
        hit = fuzz.partial_ratio_alignment(needle, region)
        a_char, b_char = hit.dest_start, hit.dest_end
    else:
        a_char, b_char = 0, len(region)
    base = doc.token_at[lo] - 1
    a = bisect.bisect_right(doc.token_at, base + a_char) - 1
    b = bisect.bisect_left(doc.token_at, base + b_char)
    a, b = max(lo, a), min(hi, max(b, a + 1))
    # partial_ratio works on characters; settle the edges on whole words. Levenshtein,
    # not Indel, so that a replaced word costs one edit like a dropped one and the window
    # keeps the source word a quote replaced ("lose" for "win") instead of dropping it
    reach = max(2, len(words) // 4)
    best, best_key = (a, b), (-1.0, 0, 0)
    for start in range(max(lo, a - reach), min(hi, a + reach + 1)):
        for end in range(max(start + 1, b - reach), min(hi, b + reach) + 1):
            window = [doc.tokens[i].norm for i in range(start, end)]
            score = Levenshtein.normalized_similarity(words, window)
            # on a tie, the window whose edges are the quote's own first and last words,
            # then the one as long as the quote
            key = (score, (window[0] == words[0]) + (window[-1] == words[-1]),
                   -abs(len(window) - len(words)))
            if key > best_key:
                best, best_key = (start, end), key
    return best


def _regions(index: Index, embedder: Embedder, quote: str, docs: dict[str, _Doc],
             width: int) -> list[tuple[_Doc, int, int]]:
    """Token ranges around the passages the index ranks closest to the quote."""
    from qa.retrieval import Filters, search

    spans: dict[str, list[list[int]]] = {}
    # only the documents being checked against (primary ones, say) may give regions
    within = Filters() if len(docs) == len(_corpus(index)) else Filters(doc_ids=tuple(docs))
    for passage in search(index, embedder, quote, k=5, filters=within):
        spans.setdefault(passage.doc_id, []).append(
            [max(0, passage.start - width), passage.end + width])
    regions = []
    for doc_id, ranges in spans.items():
        doc = docs.get(doc_id)
        if doc is None or not doc.tokens:
            continue
        ranges.sort()
        merged = [ranges[0]]
        for r in ranges[1:]:
            if r[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], r[1])
            else:
                merged.append(r)
        for a, b in merged:
            lo, hi = doc.token_index(a), doc.token_index(b)
            if hi > lo:
                regions.append((doc, lo, hi))
    return regions


def _differences(alignment: _Alignment, parts: list[list[_Token]],
                 quote: str) -> tuple[list[Difference], bool]:
    """Word changes from the source to the quote, and whether they change the meaning."""
    from rapidfuzz.distance import Levenshtein

    doc = alignment.doc
    differences, meaning_changed = [], False
    for part, (a, b) in zip(parts, alignment.spans, strict=True):
        # a doubled or dropped article is typography, not a change
        source = [t for t in doc.tokens[a:b] if t.norm not in ARTICLES] or doc.tokens[a:b]
        part = [t for t in part if t.norm not in ARTICLES] or part
        ops = [op for op in Levenshtein.opcodes([t.norm for t in source], [t.norm for t in part])
               if op.tag != "equal"]
        # adjacent edits read as one change: "five aircrafts" -> "six planes"
        groups: list[list[int]] = []
        for op in ops:
            if groups and op.src_start <= groups[-1][1] and op.dest_start <= groups[-1][3]:
                groups[-1][1], groups[-1][3] = op.src_end, op.dest_end
            else:
                groups.append([op.src_start, op.src_end, op.dest_start, op.dest_end])
        for s0, s1, q0, q1 in groups:
            source_words, quote_words = source[s0:s1], part[q0:q1]
            op = "replace" if source_words and quote_words else (
                "insert" if quote_words else "delete")
            if quote_words:
                start, end = quote_words[0].start, quote_words[-1].end
            else:  # dropped words: the gap before the quote's next word, or after its last
                start = end = part[q0].start if q0 < len(part) else part[-1].end
            differences.append(Difference(
                op, quote[start:end],
                doc.text[source_words[0].start:source_words[-1].end] if source_words else "",
                start, end))
            meaning_changed |= _changes_meaning([t.norm for t in quote_words],
                                                [t.norm for t in source_words])
    return differences, meaning_changed


def only_meaning_changes(differences: list[Difference] | tuple[Difference, ...],
                         quote_words: int) -> bool:
    """True when every difference changes a number or a negation, each is a single word
    on either side, and at least two of the quote's words are unchanged."""
    if not differences:
        return False
    changed = 0
    for d in differences:
        quote_side, source_side = normalise_words(d.quote), normalise_words(d.source)
        if len(quote_side) > 1 or len(source_side) > 1 \
                or not _changes_meaning(quote_side, source_side):
            return False
        changed += len(quote_side)
    return quote_words - changed >= 2


def _changes_meaning(quote_words: list[str], source_words: list[str]) -> bool:
    def negations(words: list[str]) -> int:
        return sum(w in NEGATIONS or w.endswith("n't") for w in words)

    def numbers(words: list[str]) -> list[str]:
        return [w for w in words if any(c.isdigit() for c in w) or w in NUMBER_WORDS]

    return (negations(quote_words) != negations(source_words)
            or numbers(quote_words) != numbers(source_words))


# -- stitched quotes --------------------------------------------------------------------


def _stitched(docs: dict[str, _Doc], parts: list[list[_Token]]) -> list[tuple[_Doc, int, int]]:
    """The pieces of a quote joined from words said in separate places, or [].

    The quote's words (elision marks aside) are covered from left to right by the longest
    runs of at least ``STITCH_MIN_WORDS`` words found in a row in some document, each
    occurrence taken as near the previous piece as possible; a single stopword may join
    two pieces. It is stitched when every other word is covered by two pieces or more and
    two neighbouring pieces are far apart: in other documents, out of order, or more than
    ``MAX_ELISION_SENTENCES`` sentences from each other.
    """
    words = [t for part in parts for t in part if t.norm not in ARTICLES]
    pieces: list[tuple[_Doc, int, int]] = []
    i, skipped = 0, -1
    while i < len(words):
        j, best = i + 1, None
        while j <= len(words):
            run = [t.norm for t in words[i:j]]
            hits = [(doc, a, b) for doc in docs.values() for a, b in doc.find(run)]
            if not hits:
                break
            best, j = (j, hits), j + 1
        if best is None or best[0] - i < min(STITCH_MIN_WORDS, len(words) - i):
            if words[i].norm in STOPWORDS and pieces and i + 1 < len(words) \
                    and skipped != i - 1:
                skipped, i = i, i + 1
                continue
            return []
        end, hits = best
        if pieces:
            doc, _, last = pieces[-1]
            hits.sort(key=lambda h: (h[0] is not doc, abs(h[1] - last)))
        pieces.append(hits[0])
        i = end
    if len(pieces) < 2:
        return []
    for (doc_a, _, end_a), (doc_b, start_b, _) in zip(pieces, pieces[1:], strict=False):
        if doc_a is not doc_b or start_b < end_a or (
                doc_b.sentence_of(doc_b.tokens[start_b].start)
                - doc_a.sentence_of(doc_a.tokens[end_a - 1].end)) > MAX_ELISION_SENTENCES:
            return pieces
    return []


# -- paraphrase ------------------------------------------------------------------------


def _candidates(embedder: Embedder, quote: str, regions: list[tuple[_Doc, int, int]]
                ) -> list[tuple[float, _Doc, int, int]]:
    """Source sentences (one to three in a row) near the quote, closest in meaning first."""
    import numpy as np

    from qa.sentences import sentence_spans

    sentences: dict[tuple[str, int], tuple[_Doc, list[tuple[int, int]], int]] = {}
    for doc, lo, hi in regions:
        spans = sentence_spans(doc.text, doc.tokens[lo].start, doc.tokens[hi - 1].end)
        for i, (s, _) in enumerate(spans):
            sentences.setdefault((doc.info.doc_id, s), (doc, spans, i))
    if not sentences:
        return []
    # single sentences first, then runs of two or three around the best few: a quote
    # often condenses neighbouring sentences, and this embeds far fewer texts
    items = [(doc, spans[i][0], spans[i][1]) for doc, spans, i in sentences.values()]
    vectors = embedder.embed([quote] + [doc.text[s:e] for doc, s, e in items])
    scores = [float(x) for x in vectors[1:] @ vectors[0]]
    runs = []
    for best in np.argsort(scores)[::-1][:3]:
        doc, spans, i = list(sentences.values())[int(best)]
        for a, b in ((i - 1, i), (i, i + 1), (i - 1, i + 1), (i, i + 2), (i - 2, i)):
            if 0 <= a and b < len(spans):
                runs.append((doc, spans[a][0], spans[b][1]))
    runs = list({(doc.info.doc_id, s, e): (doc, s, e) for doc, s, e in runs}.values())
    if runs:
        more = embedder.embed([doc.text[s:e] for doc, s, e in runs])
        items += runs
        scores += [float(x) for x in more @ vectors[0]]
    return sorted(((score, doc, s, e) for score, (doc, s, e) in zip(scores, items,
                                                                     strict=True)),
                  key=lambda c: -c[0])


def _paraphrase(embedder: Embedder, quote: str, regions: list[tuple[_Doc, int, int]],
                **thresholds) -> tuple[Reading | None, tuple[_Doc, int, int] | None]:
    """The passage that carries the quote's meaning best (``qa.align``), and its reading.

    Only the ``PARAPHRASE_CANDIDATES`` passages closest by sentence vector are aligned.
    When none carries the meaning, the reading is of the closest one, whose ``carries``
    is False.
    """
    candidates = _candidates(embedder, quote, regions)[:PARAPHRASE_CANDIDATES]
    if not candidates:
        return None, None
    readings = read_many(quote, [doc.text[s:e] for _, doc, s, e in candidates], embedder,
                         cosines=[c[0] for c in candidates], **thresholds)
    best = max(range(len(candidates)),
               key=lambda n: (readings[n].carries, readings[n].coverage + readings[n].cosine))
    return readings[best], candidates[best][1:]


# -- the verdict -----------------------------------------------------------------------


def verify(index: Index, embedder: Embedder, quote: str, speaker: str | None = None, *,
           filters: Filters | None = None, reader: ReaderConfig | None = None,
           altered_min: float = ALTERED_MIN, **thresholds: float) -> Verdict:
    """Check ``quote`` against the indexed documents, primary sources first.

    The verdict is decided against the primary documents (transcripts, statements,
    speeches: ``kind`` in their metadata). Only when none of them has the quote is it
    decided against the secondary ones (reports that quote someone), and then it says so
    (``secondary_only``). Either way, the secondary documents that print the quote word
    for word are listed, oldest first (``reprints``).

    Args:
        index: a loaded index.
        embedder: the model the index was built with.
        quote: the quoted words, with or without quote marks; ``...``, ``…`` or ``[...]``
            mark elisions.
        speaker: who the quote is attributed to; when the source attributes the words
            to someone else the verdict is ``misattributed``.
        filters: which documents to check against (dates, sources, document ids).
        reader: an LLM server asked for a second opinion on a ``paraphrase``
            (``qa.reader``). It can only make the verdict more cautious: when it says the
            passage does not say this, the verdict is ``not_found`` with that passage as
            ``closest``; when it cannot be used, the verdict stands and says so.
        altered_min: word similarity from which differing words are ``altered``.
        thresholds: ``qa.align.read_many``'s thresholds for a ``paraphrase``. Both are for
            calibration (bench/bench_verify.py); keep the defaults.

    Returns:
        The verdict, with the matched span, the word differences and the attribution.

    Raises:
        InvalidInputError: the quote has no words or is too long.
    """
    quote = quote.strip()
    if len(quote) > MAX_QUOTE_CHARS:
        raise InvalidInputError(f"The quote is {len(quote)} characters long. Check at most "
                                f"{MAX_QUOTE_CHARS} characters at a time.")
    parts = _parts(quote)
    if not parts:
        raise InvalidInputError("The quote has no words. Give the words to check, e.g. "
                                "qa verify \"we will win\".")
    speaker = speaker.strip() if speaker and speaker.strip() else None
    docs = _within(_corpus(index), filters)
    primary = {k: d for k, d in docs.items() if d.info.kind == "primary"}
    secondary = {k: d for k, d in docs.items() if d.info.kind != "primary"}
    decide = partial(_decide, index, embedder, quote, parts, speaker, altered_min=altered_min,
                     not_found=_not_found(docs), **thresholds)
    verdict = decide(primary)
    if verdict.verdict == "not_found" and secondary:
        reported = decide(secondary)
        if reported.verdict != "not_found":
            # what the primary sources come closest to saying stays beside it
            verdict = replace(reported, secondary_only=True, closest=verdict.closest,
                              message=f"{reported.message} That source is secondary (a report "
                                      "that printed it); no primary source has it.")
    if reader is not None and verdict.verdict == "paraphrase" and verdict.match is not None:
        verdict = _second_opinion(verdict, _plain(quote, parts), reader)
    return replace(verdict, reprints=_reprints(secondary, parts))


def _plain(quote: str, parts: list[list[_Token]]) -> str:
    """The quote's words without its elision marks."""
    return " ".join(quote[p[0].start:p[-1].end] for p in parts)


def _second_opinion(verdict: Verdict, quote: str, reader: ReaderConfig) -> Verdict:
    """The paraphrase ``verdict`` as the LLM reader sees it: kept, or made not_found."""
    from qa.reader import choose

    reading = choose(f"Which sentences say that “{quote}”?", [verdict.match.text], reader)
    if reading.chosen is None:
        notice = reading.notice.removesuffix("; answered with the local scorer.")
        return replace(verdict, message=f"{verdict.message} No second opinion: {notice}.")
    if reading.chosen:
        return verdict
    return Verdict(verdict.quote, "not_found", verdict.score, closest=verdict.match,
                   no_counterpart=verdict.no_counterpart,
                   message="A passage comes close, but the LLM reader says it does not say "
                           "this.")


def _within(docs: dict[str, _Doc], filters: Filters | None) -> dict[str, _Doc]:
    """The documents that pass ``filters``."""
    if not filters:
        return docs
    return {k: d for k, d in docs.items()
            if (not filters.since or (d.info.date or "") >= filters.since)
            and (not filters.until or (d.info.date or "9999") <= filters.until)
            and (not filters.sources or d.info.source in filters.sources)
            and (not filters.doc_ids or k in filters.doc_ids)}


def _reprints(secondary: dict[str, _Doc], parts: list[list[_Token]]) -> tuple[Match, ...]:
    """One match per secondary document that has the quote word for word, oldest first."""
    first: dict[str, _Alignment] = {}
    for a in _exact(secondary, parts):
        first.setdefault(a.doc.info.doc_id, a)
    found = [Match(a.doc.info.doc_id, a.doc.info.path, a.doc.info.title, a.doc.info.date,
                   a.start, a.end, a.doc.text[a.start:a.end]) for a in first.values()]
    return tuple(sorted(found, key=lambda m: (m.date is None, m.date or "", m.path)))


def _decide(index: Index, embedder: Embedder, quote: str, parts: list[list[_Token]],
            speaker: str | None, docs: dict[str, _Doc], *, altered_min: float,
            not_found: str, **thresholds: float) -> Verdict:
    """The verdict of ``quote`` against ``docs`` alone."""
    plain = _plain(quote, parts)
    if not docs:
        return Verdict(quote, "not_found", 0.0, message=not_found)
    alignments = _exact(docs, parts)
    regions: list[tuple[_Doc, int, int]] = []
    if not alignments:
        pieces = _stitched(docs, parts)
        if pieces:
            return _stitched_verdict(quote, pieces)
        regions = _regions(index, embedder, plain, docs, width=len(quote) + 200)
        alignments = [a for a in (_fuzzy(doc, lo, hi, parts) for doc, lo, hi in regions) if a]
    best = max(alignments, key=lambda a: (a.similarity, _in_quotation(index, a) is not None),
               default=None)

    differences, meaning_changed = _differences(best, parts, quote) if best else ([], False)
    # a changed number or negation is "altered" even in a quote too short to reach the
    # threshold ("about six aircrafts"): the other words are the source's own
    if best is not None and (best.similarity >= min(altered_min, 1.0)
                             or only_meaning_changes(differences, len(plain.split()))):
        if not differences:
            return _attributed(index, quote, "verbatim", 1.0, False, best.doc, best.start,
                               best.end, [], speaker)
        missing = read(plain, best.doc.text[best.start:best.end], embedder).no_counterpart
        return _attributed(index, quote, "altered", best.similarity, meaning_changed,
                           best.doc, best.start, best.end, differences, speaker, missing)

    reading, where = _paraphrase(embedder, plain, regions, **thresholds)
    if reading is not None and reading.carries:
        doc, s, e = where
        return _attributed(index, quote, "paraphrase", reading.cosine, False, doc, s, e, [],
                           speaker, reading.no_counterpart)
    closest = None
    if where is not None:
        doc, s, e = where
        closest = Match(doc.info.doc_id, doc.info.path, doc.info.title, doc.info.date, s, e,
                        doc.text[s:e])
    return Verdict(quote, "not_found", reading.cosine if reading else 0.0,
                   message=not_found, closest=closest,
                   no_counterpart=reading.no_counterpart if reading else ())


def _stitched_verdict(quote: str, pieces: list[tuple[_Doc, int, int]]) -> Verdict:
    matches = tuple(Match(doc.info.doc_id, doc.info.path, doc.info.title, doc.info.date,
                          doc.tokens[a].start, doc.tokens[b - 1].end,
                          doc.text[doc.tokens[a].start:doc.tokens[b - 1].end])
                    for doc, a, b in pieces)
    return Verdict(quote, "stitched", 1.0, pieces=matches,
                   message=f"Every word is in the documents, but in {len(matches)} separate "
                           "places: joined, they make a sentence the source does not have.")


def _attributed(index: Index, quote: str, verdict: str, score: float, meaning_changed: bool,
                doc: _Doc, start: int, end: int, differences: list[Difference],
                speaker: str | None, no_counterpart: tuple[str, ...] = ()) -> Verdict:
    from qa.quotes import same_speaker

    info = doc.info
    match = Match(info.doc_id, info.path, info.title, info.date, start, end,
                  doc.text[start:end])
    quotation = _quotation_at(index, info.doc_id, start, end)
    said_by = quotation.speaker if quotation else None
    cue = quotation.cue_phrase if quotation else None
    message = {
        "verbatim": "The documents have these exact words.",
        "altered": f"Near-verbatim, with {len(differences)} change(s)"
                   + ("; the changes alter the meaning (a number or a negation)."
                      if meaning_changed else "."),
        "paraphrase": "Not these words, but the documents say something close in meaning.",
    }[verdict]
    if speaker and said_by and not same_speaker(speaker, said_by, cue):
        message = (f"The source attributes these words to {said_by}, not {speaker} "
                   f"(the match is {verdict}).")
        verdict = "misattributed"
    elif quotation is None:
        message += " In the source they are narration, not a direct quote."
    elif not quotation.direct_quote:
        message += f" In the source they are {said_by}'s own words (a speech), not a quotation."
    before = doc.text[max(0, start - CONTEXT_CHARS):start]
    after = doc.text[end:end + CONTEXT_CHARS]
    # cut the context at word boundaries so it never starts or ends mid-word
    before = before.split(None, 1)[-1] if start > CONTEXT_CHARS and " " in before else before
    after = after.rsplit(None, 1)[0] if end + CONTEXT_CHARS < len(doc.text) else after
    return Verdict(quote, verdict, score, meaning_changed, match, tuple(differences), said_by,
                   quotation is not None and quotation.direct_quote, cue, before.lstrip(),
                   after.rstrip(), message, no_counterpart)


def _quotation_at(index: Index, doc_id: str, start: int, end: int) -> Quotation | None:
    """The direct quotation that overlaps ``[start, end)`` most, if it overlaps enough."""
    best, best_overlap = None, 0
    for q in _quotations(index, doc_id):
        overlap = min(end, q.end) - max(start, q.start)
        if overlap > best_overlap:
            best, best_overlap = q, overlap
    # most of the span, or most of a short quotation inside a longer span (a paraphrase
    # matched to the sentence that holds both the quotation and its cue)
    if best is None or best_overlap * 2 <= min(end - start, best.end - best.start):
        return None
    return best


def _in_quotation(index: Index, alignment: _Alignment) -> Quotation | None:
    return _quotation_at(index, alignment.doc.info.doc_id, alignment.start, alignment.end)


def _not_found(docs: dict[str, _Doc]) -> str:
    dates = sorted(d.info.date for d in docs.values() if d.info.date)
    span = f"dated {dates[0]} to {dates[-1]}" if dates else "undated"
    # worded so that it cannot be read as "this was not said": only these documents lack it
    return (f"Not in these documents ({len(docs)} indexed, {span}); it may have been said "
            "elsewhere or at another time.")


# -- batches ---------------------------------------------------------------------------

REPORT_COLUMNS = ("quote", "speaker_given", "verdict", "score", "meaning_changed", "doc_id",
                  "path", "date", "start", "end", "match", "differences", "speaker",
                  "direct_quote", "cue", "no_counterpart", "pieces", "secondary_only",
                  "reprints")


def read_batch(path: Path) -> list[tuple[str, str | None]]:
    """``(quote, speaker)`` rows of a CSV file with a ``quote`` column and an optional
    ``speaker`` column (header row ``quote,speaker``)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
            if "quote" not in columns:
                raise InvalidInputError(
                    f"{path} has no 'quote' column (found {', '.join(columns) or 'nothing'}). "
                    "Start the file with the header row quote,speaker."
                )
            rows = []
            for row in reader:
                row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
                if row["quote"].strip():
                    rows.append((row["quote"].strip(), row.get("speaker", "").strip() or None))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InvalidInputError(f"{path} cannot be read as UTF-8 CSV ({e}). "
                                "Save it as CSV (UTF-8) with the header quote,speaker.") from e
    if not rows:
        raise InvalidInputError(f"{path} has no quotes. Put one quote per row under the "
                                "header quote,speaker.")
    return rows


def report_row(verdict: Verdict, speaker_given: str | None) -> dict[str, object]:
    """One row of the ``qa verify --file --out`` report."""
    m = verdict.match
    return {
        "quote": verdict.quote, "speaker_given": speaker_given or "",
        "verdict": verdict.verdict, "score": f"{verdict.score:.4f}",
        "meaning_changed": str(verdict.meaning_changed).lower(),
        "doc_id": m.doc_id if m else "", "path": m.path if m else "",
        "date": (m.date or "") if m else "", "start": m.start if m else "",
        "end": m.end if m else "", "match": m.text if m else "",
        "differences": "; ".join(f"{d.op}: {d.quote!r} / {d.source!r}"
                                 for d in verdict.differences),
        "speaker": verdict.speaker or "", "direct_quote": str(verdict.direct_quote).lower(),
        "cue": verdict.cue or "",
        "no_counterpart": ", ".join(verdict.no_counterpart),
        "pieces": "; ".join(f"{p.doc_id} {p.start}-{p.end}: {' '.join(p.text.split())!r}"
                            for p in verdict.pieces),
        "secondary_only": str(verdict.secondary_only).lower(),
        "reprints": "; ".join(f"{r.date or 'undated'} {r.doc_id} {r.start}-{r.end}"
                              for r in verdict.reprints),
    }
