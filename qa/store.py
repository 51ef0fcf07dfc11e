"""Vector stores: the ``VectorStore`` protocol and its FAISS implementation.

Nothing outside this module knows that the vectors live in FAISS.

Up to ``EXACT_UP_TO`` vectors the store is exact: a flat scan of float32 vectors. Above
it, scanning every vector costs too much time (a query reads all 1.5 kB of every vector:
about 45 ms at 100k on this project's 2-core machine) and memory, so ``fit()`` turns the
store into an inverted file (IVF) of 8-bit scalar-quantised vectors: 400 bytes per vector,
and a query scans the lists nearest to it, an eighth of them. The list count and ``nprobe`` were
chosen for recall@10 of at least 0.95 against exact search on SciFact queries
(docs/benchmarks.md, section "scale").

A store can be loaded with deleted ids (the index version's tombstones): their vectors
stay in the file but are never returned and not counted, until ``remove`` takes them out
for real. Excluding them keeps an IVF search on its usual lists, unlike an ``allowed``
filter, because the live vectors near the query are still in the lists nearest to it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from qa.errors import IndexCorruptError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["EXACT_UP_TO", "VectorStore", "FaissStore"]

EXACT_UP_TO = 50_000  # vectors searched exactly; above this, approximately (IVF-SQ8)
LISTS_PER_ROOT = 2     # IVF lists: LISTS_PER_ROOT * sqrt(vectors)
PROBE_SHARE = 8        # a query scans 1/PROBE_SHARE of the lists
TRAIN_PER_LIST = 40    # training sample: this many vectors per list (FAISS asks for 39)


class VectorStore(Protocol):
    """Normalised vectors under int64 ids, searched by inner product."""

    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def fit(self) -> None:
        """Reorganise for the current number of vectors; called before ``save``."""
        ...

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids, each ``(len(queries), k)``; missing hits have id -1."""
        ...

    def save(self, path: Path) -> None: ...


class FaissStore:
    """Inner-product search in FAISS: exact (``IndexFlatIP``) or IVF-SQ8 when large."""

    FILENAME = "vectors.faiss"

    def __init__(self, dim: int, index=None, deleted: np.ndarray | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else _exact(dim)
        self._hide(deleted)

    def __len__(self) -> int:
        """Live vectors: deleted ones are not counted."""
        return int(self._index.ntotal) - len(self._deleted)

    def _hide(self, deleted: np.ndarray | None) -> None:
        """Hide ``deleted`` (ids the index holds) from search and ``len``."""
        import faiss
        import numpy as np

        self._deleted = np.asarray(deleted if deleted is not None else [], dtype=np.int64)
        # the selector of the live ids is made once here rather than at every query
        self._excluded = faiss.IDSelectorNot(faiss.IDSelectorBatch(self._deleted)) if len(
            self._deleted) else None

    @property
    def kind(self) -> str:
        """``exact`` or ``ivf<lists>-sq8``."""
        ivf = _ivf(self._index)
        return "exact" if ivf is None else f"ivf{ivf.nlist}-sq8"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        import numpy as np

        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        import numpy as np

        if len(ids):
            ids = np.asarray(ids, dtype=np.int64)
            self._index.remove_ids(ids)
            if len(self._deleted):
                self._hide(np.setdiff1d(self._deleted, ids))

    def fit(self) -> None:
        """Exact up to ``EXACT_UP_TO`` vectors, IVF-SQ8 above, with lists for the size.

        Switching or re-training reads the vectors back out of the store, so nothing is
        re-embedded. Shrinking back to exact only below half the threshold keeps a store
        near it from switching at every update.
        """
        n, ivf = len(self), _ivf(self._index)
        if ivf is None and n > EXACT_UP_TO:
            self._rebuild(_trained_ivf(*self.vectors()))
        elif ivf is not None and n < EXACT_UP_TO // 2:
            ids, vectors = self.vectors()
            self._rebuild(_exact(self.dim))
            self.add(ids, vectors)
        elif ivf is not None and _lists_for(n) >= 2 * ivf.nlist:
            self._rebuild(_trained_ivf(*self.vectors()))

    def _rebuild(self, index) -> None:
        """Switch to ``index``, made from ``vectors()``: the deleted ones are not in it."""
        self._index = index
        self._hide(None)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every live ``(ids, vectors)`` in the store, as stored (IVF: decoded, approximate)."""
        import numpy as np

        ids, vectors = self._stored()
        if not len(self._deleted):
            return ids, vectors
        live = ~np.isin(ids, self._deleted)
        return ids[live], vectors[live]

    def _stored(self) -> tuple[np.ndarray, np.ndarray]:
        import faiss
        import numpy as np

        ivf = _ivf(self._index)
        if ivf is None:
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return ids, faiss.downcast_index(self._index.index).reconstruct_n(0, len(ids))
        lists, all_ids, all_vectors = ivf.invlists, [], []
        for number in range(ivf.nlist):
            size = lists.list_size(number)
            if size == 0:
                continue
            all_ids.append(faiss.rev_swig_ptr(lists.get_ids(number), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(number), size * lists.code_size)
            vectors = ivf.sq.decode(codes.copy().reshape(size, lists.code_size))
            if ivf.by_residual:
                vectors += ivf.quantizer.reconstruct(number)
            all_vectors.append(vectors)
        if not all_ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.concatenate(all_ids), np.concatenate(all_vectors)

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss
        import numpy as np

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            return (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        if allowed is None:
            selector = self._excluded
        else:
            allowed = np.asarray(allowed, dtype=np.int64)
            if len(self._deleted):
                allowed = np.setdiff1d(allowed, self._deleted)
            selector = faiss.IDSelectorBatch(allowed)
        ivf = _ivf(self._index)
        if ivf is None:
            params = None if selector is None else faiss.SearchParameters(sel=selector)
        else:
            # A filter may keep vectors far from the query's nearest lists, so filtered
            # searches scan every list; only the allowed ids are scored. Leaving deleted
            # ids out moves no live vector, so the usual lists still hold the nearest.
            nprobe = ivf.nlist if allowed is not None else _probes(ivf.nlist)
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        return self._index.search(queries, k, params=params)

    def save(self, path: Path) -> None:
        import faiss

        if len(self._deleted):
            # the file would bring the deleted vectors back for whoever loads it plainly
            raise ValueError("remove the deleted ids before saving the store")
        faiss.write_index(self._index, str(path / self.FILENAME))

    @classmethod
    def load(cls, path: Path, dim: int, *, deleted: np.ndarray | None = None) -> FaissStore:
        """Open ``vectors.faiss`` in ``path``; ``deleted`` ids (held in it) are hidden."""
        import faiss

        file = path / cls.FILENAME
        try:
            index = faiss.read_index(str(file))
        except RuntimeError as e:
            raise IndexCorruptError(
                f"{file} cannot be read ({str(e).splitlines()[0][:80]}).", fix="rebuild"
            ) from e
        if index.d != dim:
            raise IndexCorruptError(f"{file} holds {index.d}-dimensional vectors, expected {dim}.",
                                    fix="rebuild")
        return cls(dim, index, deleted)


def _exact(dim: int):
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _ivf(index):
    """The IVF index, or None for an exact one."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    return None if ivf is None else faiss.downcast_index(ivf)


def _lists_for(n: int) -> int:
    return max(1, min(round(LISTS_PER_ROOT * math.sqrt(n)), n // TRAIN_PER_LIST))


def _probes(lists: int) -> int:
    return max(1, math.ceil(lists / PROBE_SHARE))


def _trained_ivf(ids: np.ndarray, vectors: np.ndarray):
    """An IVF-SQ8 index trained on a sample of ``vectors``, holding all of them."""
    import faiss
    import numpy as np

    dim, lists = vectors.shape[1], _lists_for(len(vectors))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    sample = min(len(vectors), TRAIN_PER_LIST * lists)
    chosen = np.random.default_rng(0).choice(len(vectors), sample, replace=False)
    index.train(np.ascontiguousarray(vectors[np.sort(chosen)]))
    index.add_with_ids(np.ascontiguousarray(vectors), ids)
    return index
