"""Vector stores: the ``VectorStore`` protocol and its FAISS implementation.

Nothing outside this module knows that the vectors live in FAISS.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from qa.errors import IndexCorruptError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["VectorStore", "FaissStore"]


class VectorStore(Protocol):
    """Normalised vectors under int64 ids, searched by inner product."""

    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids, each ``(len(queries), k)``; missing hits have id -1."""
        ...

    def save(self, path: Path) -> None: ...


class FaissStore:
    """Exact inner-product search in a FAISS ``IndexIDMap2`` over ``IndexFlatIP``."""

    FILENAME = "vectors.faiss"

    def __init__(self, dim: int, index=None) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        import numpy as np

        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        import numpy as np

        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss
        import numpy as np

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            return (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(
                np.asarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path / self.FILENAME))

    @classmethod
    def load(cls, path: Path, dim: int) -> FaissStore:
        import faiss

        file = path / cls.FILENAME
        try:
            index = faiss.read_index(str(file))
        except RuntimeError as e:
            raise IndexCorruptError(
                f"{file} cannot be read ({str(e).splitlines()[0][:80]}). "
                "Run `qa index --rebuild`."
            ) from e
        if index.d != dim:
            raise IndexCorruptError(f"{file} holds {index.d}-dimensional vectors, expected {dim}. "
                                    "Run `qa index --rebuild`.")
        return cls(dim, index)
