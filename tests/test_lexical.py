"""The BM25 index on its own and inside index versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexCorruptError
from qa.index import Index, update
from qa.lexical import LexicalIndex

CHUNKS = [
    (3, "The CSTO sent peacekeepers to Kazakhstan."),
    (7, "Terrorist gangs seized the Almaty airport with five aircrafts."),
    (8, "The budget grew by five percent this year."),
    (12, "Parliament met in Astana to discuss the budget."),
]


@pytest.fixture
def lexical(tmp_path) -> LexicalIndex:
    LexicalIndex.build(CHUNKS).save(tmp_path)
    return LexicalIndex.load(tmp_path)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CSTO", [3]),
        ("Almaty", [7]),
        ("aircraft", [7]),  # stemmed: "aircrafts" in the text
        ("budget", [12, 8]),  # the shorter chunk first (BM25 length normalisation)
        ("five aircraft", [7, 8]),  # both words beat one
        ("the and of", []),  # stopwords only
        ("zebra", []),  # not in the vocabulary
    ],
)
def test_search_ranks_chunk_ids_by_bm25(lexical, query, expected):
    scores, ids = lexical.search(query, k=10)
    assert ids.tolist() == expected
    assert (np.diff(scores) <= 0).all() and (scores > 0).all()


def test_search_keeps_only_allowed_ids_and_cuts_at_k(lexical):
    assert lexical.search("budget", k=10, allowed=[8, 3])[1].tolist() == [8]
    assert lexical.search("budget", k=10, allowed=[3])[1].tolist() == []
    assert lexical.search("budget", k=1)[1].tolist() == [12]


def test_deleted_rows_are_never_returned_and_keep_counting_in_idf(tmp_path):
    LexicalIndex.build(CHUNKS).save(tmp_path)
    full = LexicalIndex.load(tmp_path)
    index = LexicalIndex.load(tmp_path, deleted=np.array([12]))
    assert len(index) == 3 and len(full) == 4
    assert index.search("budget", k=10)[1].tolist() == [8]
    assert index.search("Parliament Astana", k=10)[1].tolist() == []
    assert index.search("budget", k=10, allowed=[12, 8])[1].tolist() == [8]
    assert index.search("budget", k=10, allowed=[12])[1].tolist() == []
    # until the next rebuild, chunk 12 still counts in "budget"'s document frequency
    assert index.search("budget", k=10)[0][0] == full.search("budget", k=10)[0][1]


def test_saved_index_is_memory_mapped_and_scores_like_the_built_one(tmp_path):
    built = LexicalIndex.build(CHUNKS)
    built.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, mmap=True)
    assert {"ids.npy", "params.index.json", "vocab.index.json"} <= {
        p.name for p in (tmp_path / "bm25").iterdir()}
    assert isinstance(loaded._model.scores["data"], np.memmap)
    for query in ("five aircraft", "budget Astana"):
        ours, theirs = built.search(query, 10), loaded.search(query, 10)
        assert ours[1].tolist() == theirs[1].tolist() and np.allclose(ours[0], theirs[0])


def test_empty_index_finds_nothing(tmp_path):
    LexicalIndex.build([]).save(tmp_path)
    index = LexicalIndex.load(tmp_path)
    assert len(index) == 0 and index.search("anything", 5)[1].tolist() == []


def test_ids_out_of_order_are_refused():
    with pytest.raises(ValueError, match="ascending"):
        LexicalIndex.build([(2, "a b"), (1, "c d")])


def test_damaged_lexical_files_are_reported(tmp_path):
    LexicalIndex.build(CHUNKS).save(tmp_path)
    (tmp_path / "bm25" / "ids.npy").write_bytes(b"junk")
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        LexicalIndex.load(tmp_path)


# -- inside the index --------------------------------------------------------------------


def build(corpus: Path, index: Path, embedder, **kw):
    return update(corpus, index, model=embedder.name, load_embedder=lambda _: embedder, **kw)


def never_load(_name):
    raise AssertionError("the model must not be loaded")


def test_update_writes_bm25_with_checksums_and_deletes_follow(seed_corpus, tmp_path,
                                                               fake_embedder):
    index_dir = tmp_path / "index"
    (seed_corpus / "planes.txt").write_text("Zebra aircraft landed at the airfield.",
                                            encoding="utf-8")
    build(seed_corpus, index_dir, fake_embedder)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    lexical_files = [f for f in manifest["files"] if f.startswith("bm25/")]
    assert "bm25/ids.npy" in lexical_files and "bm25/params.index.json" in lexical_files
    assert all(len(manifest["files"][f]["sha256"]) == 64 for f in lexical_files)

    index = Index.load(index_dir, verify=True)
    assert len(index.lexical) == len(index.store) == manifest["chunks"]
    [planes_id] = index.lexical.search("zebra", 5)[1].tolist()
    assert index.chunks.chunks([planes_id])[planes_id].text.startswith("Zebra")

    (seed_corpus / "planes.txt").unlink()
    build(seed_corpus, index_dir, fake_embedder)
    index = Index.load(index_dir, verify=True)
    assert index.lexical.search("zebra", 5)[1].tolist() == []
    assert len(index.lexical) == len(index.store) == index.manifest.chunks
    assert index.lexical.search("CSTO", 5)[1].size > 0


def test_damaged_bm25_file_is_detected_by_verify(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    path = index_dir / manifest["directory"] / "bm25" / "data.csc.index.npy"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # same size, one score changed
    Index.load(index_dir, verify=False)  # size checks pass
    with pytest.raises(IndexCorruptError, match="data.csc.index.npy"):
        Index.load(index_dir)
    path.unlink()
    with pytest.raises(IndexCorruptError, match="is missing"):
        Index.load(index_dir)
