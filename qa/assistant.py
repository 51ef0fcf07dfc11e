"""The assistant: one corpus, its index and its model, ready to answer.

The CLI and the page both talk to an ``Assistant``. It loads the model only when a
query needs it, and picks up a new index version as soon as one is switched in.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.config import Settings
from qa.errors import NotFoundError, ReadOnlyError

if TYPE_CHECKING:
    from qa.answer import Answer
    from qa.chunkstore import IndexedDocument
    from qa.documents import Document
    from qa.embedding import Embedder
    from qa.index import Index, Progress, UpdateReport
    from qa.quotes import Quotation
    from qa.reader import ReaderConfig
    from qa.retrieval import Filters, Passage
    from qa.verify import Verdict

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
        """Load the model and the index now, so the first question does not wait.

        One query-sized and one bulk-sized call prepare both embedding paths (the bulk
        one compiles the bulk copy of the model).
        """
        from qa.embedding import COMPILE_MIN_BATCH

        embedder = self._load_embedder(self.settings.model)
        embedder.embed(["warm up"])
        embedder.embed(["warm up"] * COMPILE_MIN_BATCH)
        _ = self.index

    # -- operations ------------------------------------------------------------------

    def update(self, *, rebuild: bool = False, progress: bool = False,
               on_progress: Progress | None = None) -> UpdateReport:
        """Bring the index in line with the corpus folder.

        Readers keep using the previous version until the new one is switched in.
        """
        from qa.index import update

        return update(self.settings.corpus, self.settings.index, model=self.settings.model,
                      load_embedder=self._load_embedder, rebuild=rebuild, progress=progress,
                      on_progress=on_progress)

    def add_file(self, name: str, data: bytes, *, overwrite: bool = False) -> Path:
        """Save an uploaded file into the corpus (run ``update`` to index it)."""
        from qa.uploads import save_upload

        self._check_writable("add documents")
        return save_upload(self.settings.corpus, name, data, overwrite=overwrite).path

    def delete_document(self, doc_id: str) -> None:
        """Delete a document's file from the corpus (run ``update`` to drop it)."""
        from qa.uploads import delete_file

        self._check_writable("delete documents")
        delete_file(self.settings.corpus, self.document(doc_id).path)

    def _check_writable(self, action: str) -> None:
        if self.settings.read_only:
            raise ReadOnlyError(f"This deployment is read-only; it cannot {action}.",
                                fix="read_only")

    def search(self, query: str, k: int = 5, filters: Filters | None = None,
               mode: str = "hybrid") -> list[Passage]:
        """Passages for ``query``: ``hybrid`` (default), ``dense`` or ``bm25``."""
        from qa.retrieval import Filters, check_query, search

        check_query(query, k)
        index = self.index  # first: a model mismatch is reported before loading the model
        embedder = None if mode == "bm25" else self.embedder  # BM25 needs no model
        return search(index, embedder, query, k, filters or Filters(), mode=mode)

    def answer(self, question: str, history: Sequence[Answer] = (),
               filters: Filters | None = None, max_sentences: int = 3) -> Answer:
        """An extractive answer with citations, or an abstention; see ``qa.answer.answer``."""
        from qa.answer import answer
        from qa.retrieval import Filters, check_query

        check_query(question)  # an empty question should not wait for the model
        return answer(self.index, self.embedder, question, history, filters or Filters(),
                      max_sentences, reader=self.reader)

    @property
    def reader(self) -> ReaderConfig | None:
        """The optional LLM reader the settings name, or None."""
        from qa.reader import ReaderConfig

        if not self.settings.llm_url:
            return None
        return ReaderConfig(self.settings.llm_url, self.settings.llm_model,
                            self.settings.llm_timeout)

    def documents(self) -> list[IndexedDocument]:
        return self.index.chunks.documents()

    def verify(self, quote: str, speaker: str | None = None,
               filters: Filters | None = None) -> Verdict:
        """Check a quote against the documents; see ``qa.verify.verify``."""
        from qa.verify import verify

        return verify(self.index, self.embedder, quote, speaker, filters=filters,
                      reader=self.reader)

    def quotations(self, speaker: str | None = None) -> list[Quotation]:
        """Every direct quotation in the corpus, or those whose speaker matches ``speaker``."""
        from qa.quotes import same_speaker

        # a speech's own text is attributed to its speaker, but it is not a quotation
        found = [q for q in self.index.chunks.quotations() if q.direct_quote]
        if speaker:
            found = [q for q in found if q.speaker and same_speaker(speaker, q.speaker)]
        return found

    def document(self, doc_id: str) -> Document:
        """A stored document by id, unique id prefix, or corpus-relative path."""
        index = self.index
        docs = index.documents_by_id()
        matches = [d for d in docs if d == doc_id] or [
            d for d, info in docs.items() if info.path == doc_id
        ] or [d for d in docs if d.startswith(doc_id)]
        if len(matches) != 1:
            problem = "matches several documents" if matches else "is not in the index"
            raise NotFoundError(f"Document {doc_id!r} {problem}.", fix="list_documents")
        doc = index.chunks.document(matches[0])
        assert doc is not None
        return doc
