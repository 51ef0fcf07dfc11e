"""The assistant: one corpus, its index and its model, ready to answer.

The CLI and the page both talk to an ``Assistant``. It loads the model only when a
query needs it, and picks up a new index version as soon as one is switched in.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from qa.config import Settings
from qa.errors import NotFoundError

if TYPE_CHECKING:
    from qa.chunkstore import IndexedDocument
    from qa.documents import Document
    from qa.embedding import Embedder
    from qa.index import Index, UpdateReport
    from qa.retrieval import Filters, Passage

__all__ = ["Assistant"]


class Assistant:
    """Search, answers and index updates over one corpus."""

    def __init__(self, settings: Settings | None = None, *,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._embedder = embedder
        self._index: Index | None = None
        self._index_lock = threading.Lock()
        self._model_lock = threading.Lock()

    # -- components ------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        return self._load_embedder(self.settings.model)

    @property
    def index(self) -> Index:
        """The current index version, reloaded when an update has switched in a new one."""
        from qa.index import Index

        with self._index_lock:
            if self._index is None or not self._index.is_current():
                self._index = Index.load(self.settings.index, model=self.settings.model)
            return self._index

    def _load_embedder(self, model: str) -> Embedder:
        with self._model_lock:
            if self._embedder is None or self._embedder.name != model:
                from qa.embedding import load_embedder

                self._embedder = load_embedder(model, self.settings.precision)
            return self._embedder

    def warm_up(self) -> None:
        """Load the model and the index now, so the first question does not wait."""
        self._load_embedder(self.settings.model)
        _ = self.index

    # -- operations ------------------------------------------------------------------

    def update(self, *, rebuild: bool = False, progress: bool = False) -> UpdateReport:
        """Bring the index in line with the corpus folder."""
        from qa.index import update

        return update(self.settings.corpus, self.settings.index, model=self.settings.model,
                      load_embedder=self._load_embedder, rebuild=rebuild, progress=progress)

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        from qa.retrieval import Filters, check_query, search

        check_query(query, k)
        return search(self.index, self.embedder, query, k, filters or Filters())

    def documents(self) -> list[IndexedDocument]:
        return self.index.chunks.documents()

    def document(self, doc_id: str) -> Document:
        """A stored document by id, unique id prefix, or corpus-relative path."""
        index = self.index
        docs = index.documents_by_id()
        matches = [d for d in docs if d == doc_id] or [
            d for d, info in docs.items() if info.path == doc_id
        ] or [d for d in docs if d.startswith(doc_id)]
        if len(matches) != 1:
            problem = "matches several documents" if matches else "is not in the index"
            raise NotFoundError(f"Document {doc_id!r} {problem}. Run `qa docs` to list them.")
        doc = index.chunks.document(matches[0])
        assert doc is not None
        return doc
