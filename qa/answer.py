"""Extractive answers: the corpus's own sentences, each with a pinpoint citation.

An answer is built only from sentences of the retrieved passages, copied verbatim; the
only text qa adds is the ``[n]`` markers and the spaces that join the sentences. When
no sentence answers the question well enough, the answer abstains and lists the closest
passages instead of presenting unrelated sentences as an answer.

How a sentence is scored (see ``rank_sentences``)::

    score = cosine(question, sentence) + LEXICAL_WEIGHT * overlap(question, sentence)

``overlap`` is the share of the question's content words (weighted by how rare they are
among the candidate sentences, names and numbers counting double) that the sentence
contains. ``LEXICAL_WEIGHT`` and ``ABSTAIN_BELOW`` were calibrated on SQuAD 2.0 by
``bench/bench_squad.py``; the numbers are in docs/benchmarks.md.

Follow-up questions (see ``resolve_query``): a question that refers back ("he",
"them", "there", "else", ...) or has at most one content word is searched together
with the content words of the previous turn's search query and the names in the
previous answer, so "What else did he say about them?" after "Who did Tokayev ask to
assist Kazakhstan?" searches for Tokayev, Kazakhstan and the CSTO again. When it asks
for something "else"/"more"/"other", sentences already cited in the conversation are
left out.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date as _date
from typing import TYPE_CHECKING

from qa.errors import InvalidInputError
from qa.retrieval import Filters, Passage, check_query

if TYPE_CHECKING:
    import numpy as np

    from qa.documents import Document
    from qa.embedding import Embedder
    from qa.index import Index

__all__ = ["ABSTAIN_BELOW", "ABSTENTION", "Answer", "Candidate", "Citation", "LEXICAL_WEIGHT",
           "SentenceVectors", "answer", "make_filters", "rank_sentences", "resolve_query"]

# Calibrated on the first half of the SQuAD 2.0 dev articles (bench/bench_squad.py).
LEXICAL_WEIGHT = 0.5
ABSTAIN_BELOW = 0.65
# Further sentences join the best one only when they score nearly as well: a weaker
# sentence is more likely to be about something else than to add to the answer.
CLOSE_TO_BEST = 0.1
NEAR_DUPLICATE = 90  # rapidfuzz ratio (0-100) above which two sentences say the same
# Passages retrieved per question. Their sentences are embedded per question, which is
# most of an answer's time; on SQuAD the cited sentence came from the first 4 passages as
# often as from the first 12 (docs/benchmarks.md, section "squad").
PASSAGES = 4
RELATED = 3          # closest passages listed with an answer or an abstention
CONTEXT = 1000       # characters read around a passage to finish its cut sentences
CARRIED = 12         # words a follow-up question takes over from the conversation
NAMES = 4            # of which names from the previous answer, lest a list of names swamp it

ABSTENTION = "The documents do not answer this question."

_STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each else few for
from further had has have having he her here hers herself him himself his how i if in into
is it its itself just me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom whose why will with would you your yours yourself
say said says tell told many much one two way ways thing things kind type get got make made
""".split())
# Words that point back to something said earlier in the conversation.
_REFERRING = frozenset("""
he him his she her hers it its they them their theirs this that these those there then
else also more other another same such former latter
""".split())
_ASKS_FOR_MORE = frozenset({"else", "more", "other", "another", "also"})
_WORD = re.compile(r"[\w’'-]+")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _cited_text(citations: Sequence[Citation]) -> str:
    return " ".join(f"{c.quote} [{c.n}]" for c in citations)


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Citation:
    """A cited sentence: ``stored_text[start:end] == quote`` in document ``doc_id``."""

    n: int
    doc_id: str
    path: str
    title: str
    date: str | None
    source: str | None
    start: int
    end: int
    quote: str
    score: float = 0.0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"citation number {self.n} must be 1 or more")
        if not 0 <= self.start < self.end or self.end - self.start != len(self.quote):
            raise ValueError(f"citation offsets ({self.start}, {self.end}) do not fit its quote")

    def as_json(self) -> dict:
        return {"n": self.n, "doc_id": self.doc_id, "path": self.path, "title": self.title,
                "date": self.date, "source": self.source, "start": self.start,
                "end": self.end, "quote": self.quote}


@dataclass(frozen=True)
class Answer:
    """An extractive answer, or an abstention with the closest passages as ``related``.

    ``query`` is what was actually searched for: the question itself, or the question
    expanded with the conversation when it was a follow-up.
    """

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Passage, ...] = ()
    query: str = ""
    score: float | None = None

    def __post_init__(self) -> None:
        numbers = [c.n for c in self.citations]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"citation numbers {numbers} repeat")
        if self.abstained and self.citations:
            raise ValueError("an abstention cites nothing")
        # The answer is its quotes, each followed by its marker, and nothing else. Checking
        # the whole text (not every "[n]" in it) lets a quote contain "[14]" of its own.
        if not self.abstained and self.answer != _cited_text(self.citations):
            raise ValueError("answer is not its cited quotes, each followed by its [n]: "
                             "a marker without a citation, or text the sources lack")

    def as_json(self) -> dict:
        return {"question": self.question, "answer": self.answer, "abstained": self.abstained,
                "citations": [c.as_json() for c in self.citations],
                "related": [p.as_json() for p in self.related]}


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    passage: Passage
    start: int
    end: int
    text: str
    cosine: float
    overlap: float
    score: float
    vector: np.ndarray = field(repr=False, compare=False, hash=False)


# ----------------------------------------------------------------------------- filters


def make_filters(since: str | None = None, until: str | None = None,
                 sources: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> Filters:
    """Checked ``Filters``: dates must be real ISO ``YYYY-MM-DD`` dates, in order."""
    for name, value in (("since", since), ("until", until)):
        if value is None:
            continue
        try:
            if not _ISO_DATE.fullmatch(value):
                raise ValueError
            _date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(
                f"Invalid --{name} date {value!r}. Give a date as YYYY-MM-DD, e.g. 2022-01-06."
            ) from None
    if since and until and since > until:
        raise InvalidInputError(
            f"--since {since} is after --until {until}. Swap them or widen the range.")
    return Filters(since=since, until=until, sources=tuple(sources), doc_ids=tuple(doc_ids))


# ----------------------------------------------------------------------------- words


def _words(text: str) -> list[str]:
    return [w.strip("’'-") for w in _WORD.findall(text) if w.strip("’'-")]


def _stem(word: str) -> str:
    """A crude stem: the first five letters keep 'attacked'/'attack', 'aircrafts'/'aircraft'."""
    word = word.lower()
    return word if word.isdigit() else word[:5]


def content_terms(text: str) -> dict[str, float]:
    """Stems of the content words of ``text``: names and numbers weigh 2, other words 1."""
    terms: dict[str, float] = {}
    for i, word in enumerate(_words(text)):
        lower = word.lower()
        if lower in _STOPWORDS or (len(lower) < 2 and not lower.isdigit()):
            continue
        # a capital inside the sentence (not its first word) or a digit marks a name/number
        special = any(c.isdigit() for c in word) or (i > 0 and word[0].isupper())
        stem = _stem(lower)
        terms[stem] = max(terms.get(stem, 0.0), 2.0 if special else 1.0)
    return terms


def _overlaps(question: str, sentences: Sequence[str]) -> list[float]:
    """Weighted share of the question's content words found in each sentence.

    Rarity is measured among the candidate sentences themselves: a word every candidate
    shares (the corpus's main subject, say) says little about which one answers.
    """
    wanted = content_terms(question)
    if not wanted:
        return [0.0] * len(sentences)
    stems = [{_stem(w) for w in _words(s)} for s in sentences]
    n = len(sentences)
    weight = {t: w * math.log(1 + (n + 1) / (1 + sum(t in s for s in stems)))
              for t, w in wanted.items()}
    total = sum(weight.values())
    return [sum(w for t, w in weight.items() if t in s) / total for s in stems]


# ----------------------------------------------------------------------------- follow-ups


def _names(text: str) -> list[str]:
    """Capitalised words inside sentences and acronyms: the entities a pronoun may mean."""
    words = _words(text)
    return [w for i, w in enumerate(words)
            if (i > 0 and w[0].isupper() and w.lower() not in _STOPWORDS) or
            (len(w) > 1 and w.isupper())]


def resolve_query(question: str, history: Sequence[Answer] = ()) -> str:
    """What to search for: ``question``, plus the previous turn's topic when it is a follow-up.

    A question is a follow-up when there is a previous turn and the question refers
    back to it (a pronoun such as "he"/"them", "there", "else") or has at most one
    content word ("And Almaty?"). Its search query is the question followed by

    * the content words of the previous turn's search query, which itself may have been
      expanded, so a chain of follow-ups keeps its topic, and
    * the names in the previous answer's best sentence, which is what "them" or
      "there" most often points to;

    at most ``CARRIED`` words in all, so a long conversation does not drift.
    """
    question = question.strip()
    if not history:
        return question
    lowered = [w.lower() for w in _words(question)]
    refers_back = any(w in _REFERRING for w in lowered)
    if not refers_back and len(content_terms(question)) > 1:
        return question
    previous = history[-1]
    carried = [w for w in _words(previous.query or previous.question)
               if w.lower() not in _STOPWORDS]
    if previous.citations:
        best = max(previous.citations, key=lambda c: c.score)
        carried += list(dict.fromkeys(_names(best.quote)))[:NAMES]
    own = set(lowered)
    carried = [w for w in dict.fromkeys(carried) if w.lower() not in own][:CARRIED]
    return f"{question} {' '.join(carried)}".strip()


def _asks_for_more(question: str) -> bool:
    return any(w.lower() in _ASKS_FOR_MORE for w in _words(question))


# ----------------------------------------------------------------------------- sentences


class SentenceVectors:
    """A bounded cache of sentence embeddings, keyed by model and sentence text.

    Keyed by text, not offsets, so it stays right when a document changes. The page
    answers from several threads, hence the lock.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._embed(embedder, texts)

    def _embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        keys = [(embedder.name, t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if todo:
            for key, vector in zip(todo, embedder.embed([t for _, t in todo]), strict=True):
                self._vectors[key] = vector
        for key in keys:
            self._vectors.move_to_end(key)
        out = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros(
            (0, embedder.dim), dtype=np.float32)
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)
        return out


_DEFAULT_CACHE = SentenceVectors()


_SPANS: OrderedDict[tuple[str, str], list[tuple[int, int]]] = OrderedDict()
_SPANS_LOCK = threading.Lock()
_SPLIT_WHOLE = 200_000  # documents up to this many characters are split once, and cached


def _document_sentences(doc: Document) -> list[tuple[int, int]]:
    """Every sentence span of ``doc``; splitting is the slow part, so it is done once."""
    from qa.sentences import sentence_spans

    key = (doc.doc_id, doc.sha256)
    with _SPANS_LOCK:
        spans = _SPANS.get(key)
    if spans is None:
        spans = sentence_spans(doc.text)
    with _SPANS_LOCK:
        _SPANS[key] = spans
        _SPANS.move_to_end(key)
        while len(_SPANS) > 256:
            _SPANS.popitem(last=False)
    return spans


def passage_sentences(doc: Document, passage: Passage) -> list[tuple[int, int]]:
    """Spans of the sentences of ``passage`` in ``doc.text``, cut sentences made whole.

    The document is split as a whole (or, when very long, with some context on each
    side of the passage), so a sentence the chunk boundary cut is found whole in the
    document; only sentences overlapping the passage are kept.
    """
    from bisect import bisect_right

    from qa.sentences import sentence_spans

    if len(doc.text) <= _SPLIT_WHOLE:
        spans = _document_sentences(doc)
        found = []
        # the sentence holding the passage's first character starts at or before it
        for s, e in spans[max(0, bisect_right(spans, (passage.start, len(doc.text))) - 1):]:
            if s >= passage.end:
                break
            if e > passage.start:
                found.append((s, e))
        return found
    lo = max(0, passage.start - CONTEXT)
    hi = min(len(doc.text), passage.end + CONTEXT)
    spans = []
    for s, e in sentence_spans(doc.text, lo, hi):
        if e <= passage.start or s >= passage.end:
            continue
        # a sentence longer than the context window is kept as the passage cut it
        if (s == lo and lo > 0) or (e == hi and hi < len(doc.text)):
            s, e = max(s, passage.start), min(e, passage.end)
        spans.append((s, e))
    return spans


_ENDS_SENTENCE = re.compile(r"[.!?…][”\"»’')\]]*$")


def _worth_citing(text: str) -> bool:
    """Headings, datelines and menu crumbs are not answers.

    A line without final punctuation is a heading; its content is normally said again
    in the body, in a sentence that makes a better citation.
    """
    return len(content_terms(text)) >= 3 and bool(_ENDS_SENTENCE.search(text))


def rank_sentences(index: Index, embedder: Embedder, question: str, *,
                   query: str | None = None, filters: Filters = Filters(),
                   passages: int = PASSAGES, lexical_weight: float = LEXICAL_WEIGHT,
                   cache: SentenceVectors | None = None, words_of: str | None = None,
                   ) -> tuple[list[Candidate], list[Passage]]:
    """Every citable sentence of the passages retrieved for ``query``, best first.

    Args:
        question: scored against the sentences.
        query: searched for; defaults to ``question`` (a follow-up passes its expansion).
        passages: how many passages to retrieve.
        words_of: whose content words the lexical overlap counts; defaults to
            ``question``.

    Returns:
        The scored candidate sentences and the retrieved passages.
    """
    from qa.retrieval import MAX_QUERY_CHARS, search

    query = check_query(query or question)
    cache = cache or _DEFAULT_CACHE
    q = cache.embed(embedder, [question])[0]
    # the question's vector is also the search's, unless a follow-up searches for more
    same = query == question and len(question) <= MAX_QUERY_CHARS
    found = search(index, embedder, query, passages, filters,
                   vector=q[None, :] if same else None)
    docs: dict[str, Document] = {}
    seen: set[tuple[str, int, int]] = set()
    spans: list[tuple[Passage, int, int, str]] = []
    for p in found:
        if p.doc_id not in docs:
            doc = index.chunks.document(p.doc_id)
            if doc is None:
                continue
            docs[p.doc_id] = doc
        doc = docs[p.doc_id]
        for s, e in passage_sentences(doc, p):
            text = doc.text[s:e]
            if (p.doc_id, s, e) in seen or not _worth_citing(text):
                continue  # overlapping chunks share sentences; score each once
            seen.add((p.doc_id, s, e))
            spans.append((p, s, e, text))
    if not spans:
        return [], found
    texts = [t for *_, t in spans]
    vectors = cache.embed(embedder, texts)
    cosines = vectors @ q
    # Words inside a quotation belong to its speaker: "Whom did Tokayev ask…" should find
    # "today I appealed…" in his quote, so the speaker's name counts as one of its words.
    said_by = _speakers(index, docs)
    overlaps = _overlaps(words_of or question,
                         [f"{t} {_speaker_at(said_by.get(p.doc_id, []), s, e)}"
                          for p, s, e, t in spans])
    candidates = [
        Candidate(p, s, e, t, float(c), float(o), float(c) + lexical_weight * float(o), v)
        for (p, s, e, t), c, o, v in zip(spans, cosines, overlaps, vectors, strict=True)
    ]
    candidates.sort(key=lambda c: -c.score)
    return candidates, found


def _speakers(index: Index, docs: dict[str, Document]) -> dict[str, list]:
    """The attributed direct quotations of each document, by doc_id."""
    return {doc_id: [q for q in index.chunks.quotations(doc_id) if q.speaker]
            for doc_id in docs}


def _speaker_at(quotations: list, start: int, end: int) -> str:
    """The speaker of the quotation holding ``[start, end)``, or ''."""
    for q in quotations:
        if q.start - 2 <= start and end <= q.end + 2:  # the quote marks may be outside it
            return q.speaker
    return ""


# ----------------------------------------------------------------------------- answers


def answer(index: Index, embedder: Embedder, question: str, history: Sequence[Answer] = (),
           filters: Filters = Filters(), max_sentences: int = 3, *,
           threshold: float = ABSTAIN_BELOW, lexical_weight: float = LEXICAL_WEIGHT,
           passages: int = PASSAGES, cache: SentenceVectors | None = None) -> Answer:
    """Answer ``question`` with up to ``max_sentences`` verbatim sentences, or abstain.

    Args:
        history: the conversation's earlier answers, oldest first; a follow-up question
            is searched together with the previous turn's topic (``resolve_query``).
        filters: which documents may answer.
        max_sentences: at most this many sentences; only those scoring within
            ``CLOSE_TO_BEST`` of the best are added to it.
        threshold: abstain when the best sentence scores below this.

    The sentences are grouped by document (the document with the best sentence first)
    and kept in document order within each, so sentences from one text read as they were
    written; the best answer is always in the first group.
    """
    from rapidfuzz import fuzz

    question = check_query(question)
    if max_sentences < 1:
        raise InvalidInputError(f"Invalid max_sentences {max_sentences}. Ask for at least 1.")
    filters = make_filters(filters.since, filters.until, filters.sources, filters.doc_ids)
    history = tuple(history)
    query = resolve_query(question, history)
    # A follow-up is scored against its expanded query, since "he"/"them" alone match
    # nothing; but the words it counts are its own when it has any, so "What did they
    # discuss?" prefers a sentence about discussing to one repeating the last answer.
    own_words = question if content_terms(question) else query
    candidates, found = rank_sentences(index, embedder, query, query=query,
                                       filters=filters, passages=passages,
                                       lexical_weight=lexical_weight, cache=cache,
                                       words_of=own_words)
    if query != question and _asks_for_more(question):
        cited = {(c.doc_id, c.start, c.end) for turn in history for c in turn.citations}
        candidates = [c for c in candidates if (c.passage.doc_id, c.start, c.end) not in cited]
    related = tuple(found[:RELATED])
    best = candidates[0].score if candidates else None
    if best is None or best < threshold:
        return Answer(question, ABSTENTION, True, (), related, query, best)

    chosen: list[Candidate] = []
    for c in candidates:
        if len(chosen) == max_sentences or c.score < max(threshold, best - CLOSE_TO_BEST):
            break
        if any(fuzz.ratio(c.text, k.text) > NEAR_DUPLICATE or float(c.vector @ k.vector) > 0.9
               for k in chosen):
            continue
        chosen.append(c)
    doc_rank = {}
    for c in chosen:
        doc_rank.setdefault(c.passage.doc_id, len(doc_rank))
    chosen.sort(key=lambda c: (doc_rank[c.passage.doc_id], c.start))
    citations = tuple(
        Citation(n, c.passage.doc_id, c.passage.path, c.passage.title, c.passage.date,
                 c.passage.source, c.start, c.end, c.text, c.score)
        for n, c in enumerate(chosen, 1)
    )
    text = _cited_text(citations)
    return Answer(question, text, False, citations, related, query, best)
