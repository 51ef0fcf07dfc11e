"""The lexical index: BM25 over chunk texts, for names and numbers embeddings blur.

A dense model places "CSTO" or "five aircraft" near anything about alliances or planes;
BM25 matches the words themselves. The index is built with bm25s, English stopwords and
the Snowball English stemmer, and lives in the ``bm25/`` folder of an index version::

    bm25/
        params.index.json, vocab.index.json, *.csc.index.npy   bm25s's own files
        ids.npy                                               chunk id of each row

Row ``i`` of bm25s's matrix is chunk ``ids[i]``: the same int ids as the vector store and
the chunk store. bm25s cannot add or remove documents, so an index update that adds or
changes documents rebuilds it from every chunk: about 4 s for SciFact's 17,000 chunks
(docs/benchmarks.md).

An update that only removes documents leaves ``bm25/`` as it is, and the index loads it
with the removed chunks' ids as ``deleted``: their rows score zero. Until the next rebuild
they still count in the statistics BM25 weighs terms by (document frequencies, hence IDF,
and the average chunk length), as Lucene's deleted documents count until a merge, so
scores differ a little from those of an index built without them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import IndexCorruptError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LexicalIndex", "DIRNAME", "load_ids"]

DIRNAME = "bm25"
IDS = "ids.npy"
STOPWORDS = "english"
LANGUAGE = "english"
# np.load parses each .npy header with ast.literal_eval, and CPython before 3.11.8 and
# 3.12.2 may fail that with "SystemError: AST constructor recursion depth mismatch" when
# two threads parse at once (python/cpython#106905). One load at a time avoids it.
_LOADING = threading.Lock()


def load_ids(path: Path) -> np.ndarray:
    """An array of chunk ids saved with ``np.save``, loaded one at a time (see ``_LOADING``).

    The index loads its tombstones with this too: the lock only helps if every ``np.load``
    that may run beside a lexical load takes it.
    """
    import numpy as np

    with _LOADING:
        return np.load(path)


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer(LANGUAGE).stemWords


class LexicalIndex:
    """BM25 (Lucene variant, k1=1.5, b=0.75) over chunks, searched by chunk id.

    Build with ``LexicalIndex.build``, persist with ``save`` and open with ``load``; an
    index over no chunks is valid and finds nothing.
    """

    def __init__(self, ids: np.ndarray, model=None, deleted: np.ndarray | None = None) -> None:
        import numpy as np

        self.ids = ids  # sorted ascending, because chunks are read in id order
        self._model = model
        self._stem = _stemmer()
        # bm25s multiplies each row's score by this weight: deleted rows get 0
        self._live = None
        if deleted is not None and len(deleted):
            self._live = (~np.isin(ids, deleted)).astype(np.float32)

    def __len__(self) -> int:
        """Chunks that can be found: deleted rows are not counted."""
        return len(self.ids) if self._live is None else int(self._live.sum())

    @classmethod
    def build(cls, chunks: Iterable[tuple[int, str]]) -> LexicalIndex:
        """Index ``(chunk id, text)`` pairs, given in ascending id order."""
        import bm25s
        import numpy as np

        pairs = list(chunks)
        ids = np.asarray([i for i, _ in pairs], dtype=np.int64)
        if len(ids) > 1 and not (np.diff(ids) > 0).all():
            raise ValueError("chunks must be given in ascending id order")
        if not pairs:
            return cls(ids)
        tokens = bm25s.tokenize([text for _, text in pairs], stopwords=STOPWORDS,
                                stemmer=_stemmer(), show_progress=False)
        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        return cls(ids, model)

    def save(self, version_dir: Path) -> None:
        """Write ``bm25/`` into ``version_dir``."""
        import numpy as np

        folder = version_dir / DIRNAME
        folder.mkdir(exist_ok=True)
        np.save(folder / IDS, self.ids)
        if self._model is not None:
            self._model.save(folder, show_progress=False)

    @classmethod
    def load(cls, version_dir: Path, *, mmap: bool = True,
             deleted: np.ndarray | None = None) -> LexicalIndex:
        """Open ``bm25/`` of ``version_dir``; its score matrix is memory-mapped by default.

        ``deleted`` chunk ids are never returned by ``search``.
        """
        import bm25s
        import numpy as np

        folder = version_dir / DIRNAME
        try:
            with _LOADING:
                ids = np.load(folder / IDS)
                model = None
                if len(ids):
                    model = bm25s.BM25.load(folder, mmap=mmap, show_progress=False)
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorruptError(
                f"{folder} cannot be read ({type(e).__name__}).", fix="rebuild"
            ) from e
        return cls(ids, model, deleted)

    def tokens(self, query: str) -> list[str]:
        """The query's terms as the index knows them: lowercased, stemmed, no stopwords."""
        import bm25s

        [terms] = bm25s.tokenize([query], stopwords=STOPWORDS, stemmer=self._stem,
                                 return_ids=False, show_progress=False)
        return terms

    def search(self, query: str, k: int,
               allowed: Sequence[int] | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores and chunk ids of the ``k`` best chunks, best first.

        Only chunks that share at least one term with the query are returned, so there
        may be fewer than ``k``. ``allowed``, when given, restricts the result to those
        chunk ids. Deleted chunks are never returned.
        """
        import numpy as np

        empty = np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self._model is None:
            return empty
        vocab = self._model.vocab_dict
        terms = [t for t in self.tokens(query) if t in vocab]
        if not terms:
            return empty
        mask = self._live
        if allowed is not None:
            mask = np.isin(self.ids, np.asarray(allowed, dtype=np.int64)).astype(np.float32)
            if self._live is not None:
                mask *= self._live
        # Scoring every row for one query is what bm25s's retrieve does too; doing it here
        # lets the filter mask apply before the top-k cut.
        scores = np.asarray(self._model.get_scores(terms, weight_mask=mask), dtype=np.float32)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return empty
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], self.ids[top]
