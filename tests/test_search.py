"""Retrieval on the seed with the packaged model and real FAISS."""

from __future__ import annotations

import pytest

from qa.index import Index, update
from qa.retrieval import Filters, search


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory, real_embedder):
    from tests.conftest import SEED

    root = tmp_path_factory.mktemp("seed")
    corpus = root / "corpus"
    corpus.mkdir()
    for src in (SEED, SEED.with_name(SEED.name + ".meta.json")):
        (corpus / src.name).write_bytes(src.read_bytes())
    update(corpus, root / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    return Index.load(root / "index", model=real_embedder.name)


def test_real_model_embeds_normalised_384_dim_vectors(real_embedder):
    import numpy as np

    vectors = real_embedder.embed(["Almaty airport", "CSTO"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


def test_bf16_matches_fp32(real_embedder):
    from qa.embedding import SentenceTransformerEmbedder, cpu_has_bf16

    if not cpu_has_bf16():
        pytest.skip("this CPU has no fast bfloat16")
    texts = ["The Security Council met in Akorda.", "Terrorist gangs seized the airport."]
    fp32 = SentenceTransformerEmbedder(precision="fp32").embed(texts)
    bf16 = SentenceTransformerEmbedder(precision="bf16").embed(texts)
    assert ((fp32 * bf16).sum(axis=1) >= 0.998).all()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("asking the Collective Security Treaty allies for help",
         "appealed to the heads of the CSTO states"),
        ("Almaty airport seized with aircraft", "Almaty airport along with about five aircrafts"),
        ("who attended the meeting", "The meeting was attended by the speakers"),
    ],
)
def test_the_passage_that_says_so_ranks_first(seed_index, real_embedder, query, expected):
    results = search(seed_index, real_embedder, query, k=3)
    assert expected in results[0].text
    doc = seed_index.chunks.document(results[0].doc_id)
    for r in results:
        assert doc.text[r.start:r.end] == r.text
        assert r.date == "2022-01-06"
        assert r.title.startswith("President Kassym-Jomart Tokayev")


def test_filters_exclude_documents(seed_index, real_embedder):
    assert search(seed_index, real_embedder, "CSTO", filters=Filters(since="2023-01-01")) == []
    assert search(seed_index, real_embedder, "CSTO", filters=Filters(until="2022-01-06"))
    assert search(seed_index, real_embedder, "CSTO", filters=Filters(doc_ids=("x",))) == []
