"""Extractive answers: the corpus's own sentences, each with a pinpoint citation.

An answer is built only from sentences of the retrieved passages, copied verbatim; the
only text qa adds is the ``[n]`` markers and the spaces that join the sentences. When
no sentence answers the question well enough, the answer abstains and lists the closest
passages instead of presenting unrelated sentences as an answer.

How a sentence is scored (see ``rank_sentences``): ``qa.judge`` describes it by its
cosine with the question, the question's words it and its document's title hold, its
neighbours' cosines, whether it holds the kind of answer asked for (a date for "when",
a number for "how many": ``qa.kinds``), its position and length, and a logistic
regression trained on TyDi QA and COVID-QA turns that into the probability that it
answers. ``ABSTAIN_BELOW`` was calibrated on SQuAD 2.0 by ``bench/bench_squad.py``; the
numbers are in docs/benchmarks.md.

Dates in the question (see ``qa.dates``): "What did he say on 7 January?" is answered
from the documents dated 7 January when one of them answers; otherwise from the whole
corpus, and ``Answer.note`` says which dates the answer comes from. A "when" question
answered by a sentence that gives no date of its own ("today I appealed...") gets a note
with its document's date.

Follow-up questions (see ``resolve_query``): a question that refers back ("he",
"them", "there", "else", ...) or has at most one content word is searched together
with the content words of the previous turn's search query and the names in the
previous answer, so "What else did he say about them?" after "Who did Tokayev ask to
assist Kazakhstan?" searches for Tokayev, Kazakhstan and the CSTO again. When it asks
for something "else"/"more"/"other", sentences already cited in the conversation are
left out.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date as _date
from typing import TYPE_CHECKING

from qa.dates import NamedDate, named_dates, spoken
from qa.errors import InvalidInputError
from qa.judge import STOPWORDS as _STOPWORDS
from qa.judge import content_terms
from qa.judge import words as _words
from qa.retrieval import Filters, Passage, check_query

if TYPE_CHECKING:
    import numpy as np

    from qa.documents import Document
    from qa.embedding import Embedder
    from qa.index import Index
    from qa.judge import Judge
    from qa.reader import ReaderConfig

__all__ = ["ABSTAIN_BELOW", "ABSTENTION", "Answer", "Candidate", "Citation", "SentenceVectors",
           "answer", "content_terms", "make_filters", "rank_sentences", "resolve_query"]

# The judge's probability below which an answer abstains, calibrated on the first half of
# the SQuAD 2.0 dev articles (bench/bench_squad.py).
ABSTAIN_BELOW = 0.15
# Further sentences join the best one only when they score nearly as well: a weaker
# sentence is more likely to be about something else than to add to the answer.
CLOSE_TO_BEST = 0.1
NEAR_DUPLICATE = 90  # rapidfuzz ratio (0-100) above which two sentences say the same
# Passages retrieved per question. Their sentences are embedded per question, which is
# most of an answer's time; on SQuAD the cited sentence came from the first 4 passages as
# often as from the first 12 (docs/benchmarks.md, section "squad").
PASSAGES = 4
READER_CANDIDATES = 8  # the judge's best sentences an LLM reader chooses among
RELATED = 3          # closest passages listed with an answer or an abstention
CONTEXT = 1000       # characters read around a passage to finish its cut sentences
CARRIED = 12         # words a follow-up question takes over from the conversation
NAMES = 4            # of which names from the previous answer, lest a list of names swamp it

ABSTENTION = "The documents do not answer this question."

# Words that point back to something said earlier in the conversation.
_REFERRING = frozenset("""
he him his she her hers it its they them their theirs this that these those there then
else also more other another same such former latter
""".split())
_ASKS_FOR_MORE = frozenset({"else", "more", "other", "another", "also"})


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
    # Said beside the answer: which dates it used when the question named others, or the
    # date of the document whose sentence answers a "when" question without one.
    note: str = ""
    names_date: bool = False  # the question named a date ("on 7 January")

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
                "related": [p.as_json() for p in self.related], "note": self.note,
                "source_line": self.source_line}

    @property
    def source_line(self) -> str:
        """For a question that names a date, the document and date the answer comes from,
        said first ("From “…”, 7 January 2022:"); otherwise ''."""
        if not self.names_date or not self.citations:
            return ""
        first = self.citations[0]
        when = spoken(first.date) if first.date else "undated"
        return f"From “{first.title}”, {when}:"


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    passage: Passage
    start: int
    end: int
    text: str
    cosine: float
    overlap: float
    score: float  # the judge's probability that the sentence answers
    vector: np.ndarray = field(repr=False, compare=False, hash=False)
    features: tuple[float, ...] = field(default=(), repr=False, compare=False)


# ----------------------------------------------------------------------------- filters


def make_filters(since: str | None = None, until: str | None = None,
                 sources: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> Filters:
    """Checked ``Filters``: dates must be real ISO ``YYYY-MM-DD`` dates, in order."""
    for name, value in (("start", since), ("end", until)):
        if value is None:
            continue
        try:
            if not _ISO_DATE.fullmatch(value):
                raise ValueError
            _date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(
                f"Invalid {name} date {value!r}. Give a date as YYYY-MM-DD, e.g. 2022-01-06."
            ) from None
    if since and until and since > until:
        raise InvalidInputError(f"The start date {since} is after the end date {until}. "
                                "Swap them or widen the range.")
    return Filters(since=since, until=until, sources=tuple(sources), doc_ids=tuple(doc_ids))


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




def _worth_citing(text: str) -> bool:
    """Headings, datelines and menu crumbs are not answers.

    A line without final punctuation is a heading; its content is normally said again
    in the body, in a sentence that makes a better citation.
    """
    from qa.sentences import ends_sentence

    return len(content_terms(text)) >= 3 and ends_sentence(text)


def rank_sentences(index: Index, embedder: Embedder, question: str, *,
                   query: str | None = None, filters: Filters = Filters(),
                   passages: int = PASSAGES, cache: SentenceVectors | None = None,
                   words_of: str | None = None, judge: Judge | None = None,
                   ) -> tuple[list[Candidate], list[Passage]]:
    """Every citable sentence of the passages retrieved for ``query``, best first.

    Args:
        question: scored against the sentences.
        query: searched for; defaults to ``question`` (a follow-up passes its expansion).
        passages: how many passages to retrieve.
        words_of: the question whose words and kind of answer the judge reads; defaults
            to ``question``.
        judge: scores the sentences; defaults to the shipped ``qa.judge.load_judge()``.

    Returns:
        The scored candidate sentences and the retrieved passages.
    """
    from qa.judge import FEATURES, Sentence, features, load_judge
    from qa.retrieval import MAX_QUERY_CHARS, search

    judge = judge or load_judge()
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
    cosines = [float(c) for c in vectors @ q]
    # Words inside a quotation belong to its speaker: "Whom did Tokayev ask…" should find
    # "today I appealed…" in his quote, so the speaker's name counts as one of its words.
    said_by = _speakers(index, docs)
    firsts = {doc_id: _first_citable(doc) for doc_id, doc in docs.items()}
    neighbours = _neighbour_cosines(docs, spans, cosines)
    sentences = [
        Sentence(t, c, p.title, n, s == firsts[p.doc_id],
                 f"{t} {_speaker_at(said_by.get(p.doc_id, []), s, e)}")
        for (p, s, e, t), c, n in zip(spans, cosines, neighbours, strict=True)
    ]
    rows = features(words_of or question, sentences)
    scores = judge.score(rows)
    overlap = FEATURES.index("overlap")
    candidates = [
        Candidate(p, s, e, t, c, float(row[overlap]), float(score), v, tuple(row))
        for (p, s, e, t), c, row, score, v in zip(spans, cosines, rows, scores, vectors,
                                                   strict=True)
    ]
    candidates.sort(key=lambda c: -c.score)
    return candidates, found


def _neighbour_cosines(docs: dict[str, Document], spans: list[tuple[Passage, int, int, str]],
                       cosines: list[float]) -> list[float | None]:
    """For each candidate, the best cosine of the candidates right before and after it."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0].doc_id, spans[i][1]))
    best: list[float | None] = [None] * len(spans)
    for a, b in zip(order, order[1:], strict=False):
        (pa, _, ea, _), (pb, sb, _, _) = spans[a], spans[b]
        if pa.doc_id == pb.doc_id and not docs[pa.doc_id].text[ea:sb].strip():
            for i, j in ((a, b), (b, a)):
                best[i] = cosines[j] if best[i] is None else max(best[i], cosines[j])
    return best


def _first_citable(doc: Document) -> int:
    """Where the first sentence of ``doc`` worth citing starts (-1: none near the top)."""
    from qa.sentences import sentence_spans

    spans = (_document_sentences(doc) if len(doc.text) <= _SPLIT_WHOLE
             else sentence_spans(doc.text, 0, min(len(doc.text), 5 * CONTEXT)))
    return next((s for s, e in spans if _worth_citing(doc.text[s:e])), -1)


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
           threshold: float = ABSTAIN_BELOW, passages: int = PASSAGES,
           cache: SentenceVectors | None = None, judge: Judge | None = None,
           reader: ReaderConfig | None = None) -> Answer:
    """Answer ``question`` with up to ``max_sentences`` verbatim sentences, or abstain.

    Args:
        history: the conversation's earlier answers, oldest first; a follow-up question
            is searched together with the previous turn's topic (``resolve_query``).
        filters: which documents may answer.
        max_sentences: at most this many sentences; only those scoring within
            ``CLOSE_TO_BEST`` of the best are added to it.
        threshold: abstain when the best sentence scores below this.
        judge: scores the sentences; defaults to the shipped one.
        reader: an LLM server that picks, among the judge's best ``READER_CANDIDATES``
            sentences, those that answer (``qa.reader``); when it cannot be used the judge
            answers, and the ``note`` says why.

    A question naming a date ("on 7 January") is answered from the documents of that
    date when one of them answers well enough, else from all, with a ``note`` saying so.
    The sentences are grouped by document (the document with the best sentence first)
    and kept in document order within each, so sentences from one text read as they were
    written; the best answer is always in the first group.
    """
    from rapidfuzz import fuzz

    from qa.kinds import asks_for

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

    def ranked(within: Filters, dates: Sequence[NamedDate] = ()) -> tuple[list[Candidate],
                                                                      list[Passage]]:
        searched, words = query, own_words
        for n in dates:  # the date chose the documents; left in, its words would outweigh
            searched = " ".join(searched.replace(n.text, " ").split()) or searched
            words = " ".join(words.replace(n.text, " ").split()) or words
        return rank_sentences(index, embedder, searched, query=searched, filters=within,
                              passages=passages, cache=cache, words_of=words, judge=judge)

    candidates, found, note = None, [], ""
    named = _named_dates(index, question)
    if named:
        dated = _dated_filters(index, filters, named)
        if dated is not None:
            candidates, found = ranked(dated, named)
            if not candidates or candidates[0].score < threshold:
                candidates = None
        if candidates is None:
            wanted = " or ".join(n.label for n in named)
            note = (f"No document dated {wanted} answers this" if dated is not None else
                    f"No document is dated {wanted}")
    if candidates is None:
        # In a dated corpus the question's date is about the documents, not their words;
        # in an undated one ("in 1066") it may be what the answer says.
        dated_corpus = any(d.date for d in index.documents_by_id().values())
        candidates, found = ranked(filters, named if dated_corpus else ())
    if query != question and _asks_for_more(question):
        cited = {(c.doc_id, c.start, c.end) for turn in history for c in turn.citations}
        candidates = [c for c in candidates if (c.passage.doc_id, c.start, c.end) not in cited]
    related = tuple(found[:RELATED])
    best = candidates[0].score if candidates else None
    picked, notice = _read(reader, question, candidates)
    if picked == [] or (picked is None and (best is None or best < threshold)):
        note = " ".join(x for x in (f"{note}." if note else "", notice) if x)
        return Answer(question, ABSTENTION, True, (), related, query, best, note, bool(named))

    chosen: list[Candidate] = []
    for c in picked or candidates:
        if len(chosen) == max_sentences or (
                picked is None and c.score < max(threshold, best - CLOSE_TO_BEST)):
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
    if note:
        used = sorted({c.date for c in citations if c.date})
        note += ("; the answer comes from the document" + ("s" if len(used) > 1 else "")
                 + " of " + ", ".join(spoken(d) for d in used) + "." if used else
                 "; the answer comes from undated documents.")
    elif asks_for(own_words) == "date":
        note = _date_note(citations[0])
    note = " ".join(x for x in (note, notice) if x)
    text = _cited_text(citations)
    return Answer(question, text, False, citations, related, query, best, note, bool(named))


def _read(reader: ReaderConfig | None, question: str, candidates: list[Candidate]
          ) -> tuple[list[Candidate] | None, str]:
    """The candidates an LLM reader picks (``[]``: none answers), or None and the notice
    of why the judge answers instead; ``(None, "")`` without a reader."""
    if reader is None or not candidates:
        return None, ""
    from qa.reader import choose

    shown = candidates[:READER_CANDIDATES]
    reading = choose(question, [c.text for c in shown], reader)
    if reading.chosen is None:
        return None, reading.notice or ""
    return [shown[i] for i in reading.chosen], ""


def _named_dates(index: Index, question: str) -> tuple[NamedDate, ...]:
    return named_dates(question, (d.date for d in index.documents_by_id().values()))


def _dated_filters(index: Index, filters: Filters,
                   named: Sequence[NamedDate]) -> Filters | None:
    """``filters`` narrowed to the documents of the named dates; None when there are none."""
    ids = [d.doc_id for d in index.documents_by_id().values()
           if any(n.holds(d.date) for n in named)
           and (not filters.doc_ids or d.doc_id in filters.doc_ids)]
    if not ids:
        return None
    return Filters(filters.since, filters.until, filters.sources, tuple(ids))


def _date_note(citation: Citation) -> str:
    """For a "when" question: the document's date, when the sentence gives none itself."""
    from qa.kinds import has_explicit_date

    if citation.date and not has_explicit_date(citation.quote):
        return f"The cited document is dated {spoken(citation.date)}."
    return ""
