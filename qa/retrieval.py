"""Finding the passages that best match a query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.errors import InvalidInputError

if TYPE_CHECKING:
    from qa.embedding import Embedder
    from qa.index import Index

__all__ = ["Filters", "Passage", "check_query", "search", "MAX_QUERY_CHARS"]

MAX_QUERY_CHARS = 2000  # the model reads ~256 tokens; the rest would be cut anyway


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
    """A ranked chunk with its document's metadata: ``stored_text[start:end] == text``."""

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


def search(index: Index, embedder: Embedder, query: str, k: int = 5,
           filters: Filters = Filters()) -> list[Passage]:
    """The ``k`` passages closest in meaning to ``query``, best first."""
    query = check_query(query, k)
    allowed = index.chunks.chunk_ids(since=filters.since, until=filters.until,
                                     sources=filters.sources,
                                     doc_ids=filters.doc_ids) if filters else None
    if allowed is not None and not allowed:
        return []
    vector = embedder.embed([query[:MAX_QUERY_CHARS]])
    scores, ids = index.store.search(vector, k, allowed=allowed)
    hits = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=False) if i >= 0]
    chunks = index.chunks.chunks(i for _, i in hits)
    docs = index.documents_by_id()
    passages = []
    for score, chunk_id in hits:
        chunk = chunks[chunk_id]
        doc = docs[chunk.doc_id]
        passages.append(Passage(len(passages) + 1, score, doc.doc_id, doc.path, doc.title,
                                doc.date, doc.source, chunk.start, chunk.end, chunk.text))
    return passages
