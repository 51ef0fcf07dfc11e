"""Finding the passages that best match a query: dense, lexical (BM25) or both fused.

Hybrid search takes the best ``CANDIDATES`` chunks from each side and adds their scores,
each divided by the best score of its side for this query, weighted
``DENSE_WEIGHT * cosine / best cosine + LEXICAL_WEIGHT * bm25 / best bm25``. Dividing by
the best puts cosine similarities and BM25 scores, which live on unrelated scales, on a
common 0..1 scale. On SciFact's train queries this beat reciprocal rank fusion (nDCG@10
0.732 against 0.715 for RRF with k=60 and 0.717 for the best RRF setting tried), and
0.6/0.4 was the best split; docs/benchmarks.md has the test numbers
(``bench/bench_fusion.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np

    from qa.embedding import Embedder
    from qa.index import Index

__all__ = ["Filters", "Passage", "check_query", "search", "fuse", "MAX_QUERY_CHARS", "MODES"]

MAX_QUERY_CHARS = 2000  # the model reads ~256 tokens; the rest would be cut anyway
MODES = ("bm25", "dense", "hybrid")
CANDIDATES = 300  # chunks taken from each side before fusing; more barely changes ranks
DENSE_WEIGHT = 0.6
LEXICAL_WEIGHT = 0.4


@dataclass(frozen=True)
class Filters:
    """Which documents a search may return. Dates are ISO ``YYYY-MM-DD``, inclusive."""

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.sources or self.doc_ids)


@dataclass(frozen=True)
class Passage:
    """A ranked chunk with its document's metadata: ``stored_text[start:end] == text``.

    ``score`` depends on the mode: cosine similarity for ``dense``, the BM25 score for
    ``bm25``, and for ``hybrid`` the fused score between 0 and 1: ``0.6 * cosine / best
    cosine + 0.4 * bm25 / best bm25`` of this query, a side counting 0 where the chunk is
    not among its best ``CANDIDATES``. 1 means best on both sides. Higher is better in
    every mode, but scores only compare within one mode and one query.
    """

    rank: int
    score: float
    doc_id: str
    path: str
    title: str
    date: str | None
    source: str | None
    start: int
    end: int
    text: str

    def as_json(self) -> dict:
        return {"rank": self.rank, "score": round(float(self.score), 4), "doc_id": self.doc_id,
                "path": self.path, "title": self.title, "date": self.date,
                "source": self.source, "start": self.start, "end": self.end, "text": self.text}


def check_query(query: str, k: int = 1) -> str:
    """The query stripped, or an error when there is nothing to search for."""
    query = query.strip()
    if not query:
        raise InvalidInputError("The query is empty. Type some words to search for.")
    if k < 1:
        raise InvalidInputError(f"Invalid k {k}. Ask for at least 1 result.")
    return query


def search(index: Index, embedder: Embedder | None, query: str, k: int = 5,
           filters: Filters = Filters(), mode: str = "hybrid", *,
           vector: np.ndarray | None = None) -> list[Passage]:
    """The ``k`` passages that best match ``query``, best first.

    Args:
        index: the loaded index.
        embedder: the model the index was built with; unused (may be None) for ``bm25``.
        query: what to search for.
        k: how many passages to return.
        filters: which documents may be returned; applied before ranking in every mode.
        mode: ``dense`` (meaning), ``bm25`` (exact words: names, numbers) or ``hybrid``
            (both, scores fused; see the module docstring).
        vector: ``embedder``'s vector of ``query``, when the caller has it already.
    """
    query = check_query(query, k)
    if mode not in MODES:
        raise InvalidInputError(f"Invalid search mode {mode!r}. Choose from {', '.join(MODES)}.")
    allowed = index.chunks.chunk_ids(since=filters.since, until=filters.until,
                                     sources=filters.sources,
                                     doc_ids=filters.doc_ids) if filters else None
    if allowed is not None and not allowed:
        return []
    if mode == "dense":
        hits = _dense(index, embedder, query, k, allowed, vector)
    elif mode == "bm25":
        hits = _lexical(index, query, k, allowed)
    else:
        n = max(k, CANDIDATES)
        hits = fuse([_dense(index, embedder, query, n, allowed, vector),
                     _lexical(index, query, n, allowed)],
                    [DENSE_WEIGHT, LEXICAL_WEIGHT])[:k]
    chunks = index.chunks.chunks(i for _, i in hits)
    docs = index.documents_by_id()
    passages = []
    for score, chunk_id in hits:
        chunk = chunks[chunk_id]
        doc = docs[chunk.doc_id]
        passages.append(Passage(len(passages) + 1, score, doc.doc_id, doc.path, doc.title,
                                doc.date, doc.source, chunk.start, chunk.end, chunk.text))
    return passages


def fuse(rankings: list[list[tuple[float, int]]],
         weights: list[float]) -> list[tuple[float, int]]:
    """Weighted sum of max-normalised ``(score, id)`` rankings, best first.

    Each ranking's scores are divided by its best score, so every side contributes at
    most its weight; negative scores count as 0. Ties keep the order of first appearance.
    """
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        best = max((score for score, _ in ranking), default=0.0)
        for score, chunk_id in ranking:
            part = weight * max(score, 0.0) / best if best > 0 else 0.0
            fused[chunk_id] = fused.get(chunk_id, 0.0) + part
    return sorted(((score, i) for i, score in fused.items()), key=lambda h: -h[0])


def _dense(index: Index, embedder: Embedder | None, query: str, k: int,
           allowed: list[int] | None, vector: np.ndarray | None = None,
           ) -> list[tuple[float, int]]:
    if embedder is None:
        raise InvalidInputError("Dense and hybrid search need the embedding model. "
                                "Pass an embedder or use mode 'bm25'.")
    if vector is None:
        vector = embedder.embed([query[:MAX_QUERY_CHARS]])
    scores, ids = index.store.search(vector, k, allowed=allowed)
    return [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=False) if i >= 0]


def _lexical(index: Index, query: str, k: int,
             allowed: list[int] | None) -> list[tuple[float, int]]:
    scores, ids = index.lexical.search(query, k, allowed=allowed)
    return [(float(s), int(i)) for s, i in zip(scores, ids, strict=True)]
