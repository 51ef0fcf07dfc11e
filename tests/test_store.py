"""The FAISS vector store: exact when small, IVF-SQ8 when large, same answers either way."""

from __future__ import annotations

import numpy as np
import pytest

import qa.store
from qa.index import Index, update
from qa.store import FaissStore

DIM = 64


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres, like embeddings of texts on a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, DIM), dtype=np.float32)
    vectors = centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, DIM),
                                                                         dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(qa.store, "EXACT_UP_TO", 2_000)


def recall_at_10(store: FaissStore, exact: FaissStore, queries: np.ndarray) -> float:
    _, got = store.search(queries, 10)
    _, want = exact.search(queries, 10)
    return float(np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)]))


def test_small_store_stays_exact(small_threshold):
    store = FaissStore(DIM)
    store.add(np.arange(1_500), clustered(1_500))
    store.fit()
    assert store.kind == "exact"


def test_large_store_turns_approximate_with_high_recall(small_threshold, tmp_path):
    vectors, ids = clustered(8_000), np.arange(8_000, dtype=np.int64) * 7 + 3
    exact, store = FaissStore(DIM), FaissStore(DIM)
    exact.add(ids, vectors)
    store.add(ids, vectors)
    store.fit()
    assert store.kind.startswith("ivf") and len(store) == 8_000
    queries = clustered(200, seed=1)
    assert recall_at_10(store, exact, queries) >= 0.95

    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, DIM)
    assert loaded.kind == store.kind
    assert recall_at_10(loaded, exact, queries) >= 0.95


def test_approximate_store_reads_its_vectors_back(small_threshold):
    vectors, ids = clustered(5_000), np.arange(5_000, dtype=np.int64) * 2
    store = FaissStore(DIM)
    store.add(ids, vectors)
    store.fit()
    got_ids, got = store.vectors()
    order = np.argsort(got_ids)
    assert np.array_equal(got_ids[order], ids)
    # 8-bit codes: each vector comes back within a small angle of the original
    assert np.min(np.sum(got[order] * vectors, axis=1)) > 0.99


def test_approximate_store_adds_removes_and_filters(small_threshold):
    vectors, ids = clustered(6_000), np.arange(6_000, dtype=np.int64)
    store = FaissStore(DIM)
    store.add(ids[:5_000], vectors[:5_000])
    store.fit()
    store.add(ids[5_000:], vectors[5_000:])
    store.remove(ids[:100])
    assert len(store) == 5_900
    _, found = store.search(vectors[:100], 1)
    assert not set(found.ravel()) & set(ids[:100].tolist())
    _, found = store.search(vectors[5_500:5_510], 1)
    assert found.ravel().tolist() == ids[5_500:5_510].tolist()

    # a filter far from the query's nearest lists still finds its own vectors
    allowed = ids[3_000:3_020]
    _, found = store.search(vectors[:5], 5, allowed=allowed)
    assert set(found.ravel()) <= set(allowed.tolist())
    assert (found >= 0).all()


def test_deleted_ids_are_never_found_and_k_live_hits_remain(tmp_path):
    vectors, ids = clustered(600), np.arange(600, dtype=np.int64) * 3
    store = FaissStore(DIM)
    store.add(ids, vectors)
    store.save(tmp_path)
    deleted = ids[::4]
    loaded = FaissStore.load(tmp_path, DIM, deleted=deleted)
    live = sorted(set(ids.tolist()) - set(deleted.tolist()))
    assert len(loaded) == len(live) == 450

    _, found = loaded.search(vectors[::4][:20], 10)  # the deleted vectors themselves
    assert found.shape == (20, 10) and (found >= 0).all()
    assert not set(found.ravel().tolist()) & set(deleted.tolist())
    _, found = loaded.search(vectors[:1], 1_000)  # k above the count: every live one, once
    assert sorted(found.ravel().tolist()) == live
    _, found = loaded.search(vectors[:3], 5, allowed=ids[:12])  # 3 of the 12 are deleted
    assert set(found.ravel().tolist()) <= set(ids[:12].tolist()) - set(deleted.tolist())
    assert (found >= 0).all()

    with pytest.raises(ValueError, match="remove the deleted ids"):
        loaded.save(tmp_path)
    loaded.remove(deleted)  # for real now: the count stays and the store saves whole
    assert len(loaded) == 450 and sorted(loaded.vectors()[0].tolist()) == live
    loaded.save(tmp_path)
    assert len(FaissStore.load(tmp_path, DIM)) == 450


def test_approximate_store_excludes_deleted_ids_with_the_usual_probes(small_threshold,
                                                                     tmp_path, monkeypatch):
    import faiss

    vectors, ids = clustered(8_000), np.arange(8_000, dtype=np.int64)
    store = FaissStore(DIM)
    store.add(ids, vectors)
    store.fit()
    store.save(tmp_path)
    plain = FaissStore.load(tmp_path, DIM)
    deleted = ids[::3]
    loaded = FaissStore.load(tmp_path, DIM, deleted=deleted)
    assert loaded.kind == plain.kind and loaded.kind.startswith("ivf")
    lists = faiss.extract_index_ivf(loaded._index).nlist

    probes = []
    real = faiss.SearchParametersIVF
    monkeypatch.setattr(faiss, "SearchParametersIVF",
                        lambda **kw: probes.append(kw["nprobe"]) or real(**kw))
    queries = clustered(200, seed=1)
    _, found = loaded.search(queries, 10)
    assert probes == [qa.store._probes(lists)] and probes[0] < lists
    assert (found >= 0).all() and not set(found.ravel().tolist()) & set(deleted.tolist())
    # the same lists as a search without tombstones, so the same live vectors come first
    _, wide = plain.search(queries, 60)
    for got, candidates in zip(found, wide, strict=True):
        assert got.tolist() == [i for i in candidates if i % 3][:10]

    # a filter still scans every list, and the tombstones still apply within it
    probes.clear()
    allowed = ids[3_000:3_020]
    _, found = loaded.search(vectors[:5], 5, allowed=allowed)
    assert probes == [lists]
    assert set(found.ravel().tolist()) <= {i for i in allowed.tolist() if i % 3}
    assert (found >= 0).all()


def test_store_grows_its_lists_and_shrinks_back_to_exact(small_threshold):
    store = FaissStore(DIM)
    store.add(np.arange(2_500), clustered(2_500))
    store.fit()
    first = store.kind
    store.add(np.arange(2_500, 12_000), clustered(9_500, seed=2))
    store.fit()
    assert store.kind != first and store.kind.startswith("ivf")  # re-trained with more lists
    store.remove(np.arange(11_500))
    store.fit()
    assert store.kind == "exact" and len(store) == 500
    _, found = store.search(store.vectors()[1][:3], 1)
    assert found.ravel().tolist() == store.vectors()[0][:3].tolist()


def test_index_above_the_threshold_is_approximate_and_says_so(fake_embedder, tmp_path,
                                                              monkeypatch):
    from qa.retrieval import search

    monkeypatch.setattr(qa.store, "EXACT_UP_TO", 100)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(40):
        words = " ".join(f"topic{n} word{w} detail{n * w}." for w in range(60))
        (corpus / f"doc{n:02d}.txt").write_text(f"Document {n}\n\n{words}\n", encoding="utf-8")
    load = lambda name: fake_embedder  # noqa: E731
    report = update(corpus, tmp_path / "index", model=fake_embedder.name, load_embedder=load)
    index = Index.load(tmp_path / "index")
    assert report.chunks > 100
    assert index.manifest.vector_index == index.store.kind
    assert index.store.kind.startswith("ivf")
    hits = search(index, fake_embedder, "topic7 word3 detail21", k=3)
    assert hits[0].path == "doc07.txt"

    (corpus / "doc07.txt").unlink()
    update(corpus, tmp_path / "index", model=fake_embedder.name, load_embedder=load)
    index = Index.load(tmp_path / "index")
    assert len(index.store) == index.chunks.count()
    assert all(h.path != "doc07.txt" for h in search(index, fake_embedder, "topic7", k=10))
