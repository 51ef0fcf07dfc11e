"""Retrieval on the seed with the packaged model and real FAISS."""

from __future__ import annotations

import pytest

from qa.index import Index, update
from qa.retrieval import Filters, search


def test_real_model_embeds_normalised_384_dim_vectors(real_embedder):
    import numpy as np

    vectors = real_embedder.embed(["Almaty airport", "CSTO"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


def test_large_calls_compile_the_model_in_bf16_close_to_fp32():
    import numpy as np

    from qa.embedding import COMPILE_MIN_BATCH, SentenceTransformerEmbedder, cpu_has_bf16

    if not cpu_has_bf16():
        pytest.skip("this CPU has no fast bfloat16")
    texts = [f"Report {i}: the Security Council met in Akorda on day {i}."
             for i in range(COMPILE_MIN_BATCH)]
    fp32 = SentenceTransformerEmbedder(precision="fp32").embed(texts)
    bf16 = SentenceTransformerEmbedder(precision="bf16")
    # a mid-sized call before any large one runs in fp32: no compiling for a one-off answer
    assert np.allclose(bf16.embed(texts[:30]), fp32[:30], atol=1e-5)
    assert bf16._compiled is None
    bulk = bf16.embed(texts)
    assert type(bf16._compiled[0].model).__name__ == "_OpenVINOForward"
    assert not list(bf16._compiled.parameters())  # the copy holds no torch weights
    cosines = (fp32 * bulk).sum(axis=1)
    assert (cosines >= 0.998).all()
    assert not np.allclose(cosines, 1, atol=1e-7)  # the compiled path really ran in bf16
    # once compiled, every call uses it, a single query too
    for n in (30, 1):
        cosines = (bf16.embed(texts[:n]) * fp32[:n]).sum(axis=1)
        assert (cosines >= 0.998).all() and not np.allclose(cosines, 1, atol=1e-7)
    # and the PyTorch model is untouched: it still embeds as before
    assert np.allclose(bf16.model.encode(texts[:3], normalize_embeddings=True), fp32[:3],
                       atol=1e-5)


def test_calls_of_int8_size_run_quantised_and_the_encoder_is_cached(tmp_path, monkeypatch):
    import numpy as np

    from qa import embedding

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(embedding, "INT8_MIN_BATCH", 64)
    texts = [f"On day {i} the council in Akorda discussed item {i * 7} of the agenda, "
             f"aircraft at Almaty airport and the {i}th regional report." for i in range(64)]
    fp32 = embedding.SentenceTransformerEmbedder(precision="fp32").embed(texts)
    first = embedding.SentenceTransformerEmbedder()
    vectors = first.embed(texts)
    cosines = (vectors * fp32).sum(axis=1)
    assert cosines.mean() >= 0.99 and cosines.min() >= 0.97
    assert not np.allclose(cosines, 1, atol=1e-5)  # really quantised
    assert first._compiled is None  # int8 alone: no bf16 compile for an indexing run
    [folder] = (tmp_path / "cache" / "int8").iterdir()
    assert {p.name for p in folder.iterdir()} == {"encoder.xml", "encoder.bin",
                                                 "calibration.json"}

    # another process loads the cached encoder: the same vectors, nothing quantised again
    import nncf

    def refuse(*_args, **_kwargs):
        raise AssertionError("the cached int8 encoder must be reused")

    monkeypatch.setattr(nncf, "quantize", refuse)
    again = embedding.SentenceTransformerEmbedder().embed(texts)
    assert np.allclose(again, vectors, atol=1e-6)
    # smaller calls stay off int8
    assert np.allclose(first.embed(texts[:5]), fp32[:5], atol=1e-5)


def test_fp32_precision_never_leaves_pytorch_fp32(monkeypatch):
    import numpy as np

    from qa import embedding

    monkeypatch.setattr(embedding, "INT8_MIN_BATCH", embedding.COMPILE_MIN_BATCH)
    texts = [f"Day {i} of the session in Akorda." for i in range(embedding.COMPILE_MIN_BATCH)]
    fp32 = embedding.SentenceTransformerEmbedder(precision="fp32")
    first = fp32.embed(texts)
    assert fp32._compiled is None and fp32._int8 is None
    reference = fp32.model.encode(texts, normalize_embeddings=True)
    assert np.allclose(first, reference, atol=1e-5)


def test_a_model_openvino_cannot_convert_gets_a_pytorch_bf16_copy(monkeypatch, real_embedder):
    import numpy as np
    import torch

    from qa import embedding

    def refuse(*_args, **_kwargs):
        raise RuntimeError("unsupported operation")

    monkeypatch.setattr(embedding._OpenVINOForward, "graph", refuse)
    copy = embedding.compiled_copy(real_embedder.model, bf16=True)
    assert next(copy.parameters()).dtype == torch.bfloat16
    texts = ["The Security Council met in Akorda.", "Aircraft landed in Almaty."]
    vectors = copy.encode(texts, normalize_embeddings=True).astype(np.float32)
    reference = real_embedder.model.encode(texts, normalize_embeddings=True)
    assert ((vectors * reference).sum(axis=1) > 0.99).all()


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


# -- hybrid retrieval: names and numbers ---------------------------------------------------

DISTRACTORS = {
    "alliance.txt": "Allied states agreed on collective defence. The treaty partners promised "
                    "military assistance to any member attacked by armed groups.",
    "airport.txt": "Flights were cancelled at the international airport. Several planes and "
                   "jets stayed grounded on the runway while the terminal was closed.",
    "city.txt": "The country's largest city, in the mountains of the south-east, hosted a "
                "festival; residents filled the streets of the old capital.",
}


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, real_embedder):
    """The seed among documents that mean nearly the same without the names."""
    from tests.conftest import copy_seed

    root = tmp_path_factory.mktemp("mixed")
    corpus = copy_seed(root / "corpus")
    for name, text in DISTRACTORS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    update(corpus, root / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    return Index.load(root / "index", model=real_embedder.name)


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CSTO", "CSTO"),
        ("Almaty", "Almaty"),
        ("five aircraft", "five aircrafts"),
        ("Akorda", "Akorda Palace"),
    ],
)
def test_names_and_numbers_are_found(mixed_index, real_embedder, mode, query, expected):
    [first] = search(mixed_index, real_embedder, query, k=1, mode=mode)
    assert expected in first.text
    assert first.title.startswith("President Kassym-Jomart Tokayev")


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_filters_apply_in_every_mode(mixed_index, real_embedder, mode):
    docs = {d.path: d.doc_id for d in mixed_index.chunks.documents()}
    assert search(mixed_index, real_embedder, "airport", mode=mode,
                  filters=Filters(since="2023-01-01")) == []
    only = search(mixed_index, real_embedder, "Almaty airport aircraft", k=5, mode=mode,
                  filters=Filters(doc_ids=(docs["airport.txt"],)))
    assert only and {p.doc_id for p in only} == {docs["airport.txt"]}
    dated = search(mixed_index, real_embedder, "airport", k=10, mode=mode,
                   filters=Filters(until="2022-12-31"))
    assert dated and {p.date for p in dated} == {"2022-01-06"}


def test_hybrid_score_is_the_weighted_sum_of_normalised_scores(mixed_index, real_embedder):
    from qa import retrieval

    query = "CSTO assistance"
    results = search(mixed_index, real_embedder, query, k=5)
    dense = search(mixed_index, real_embedder, query, k=50, mode="dense")
    lexical = search(mixed_index, real_embedder, query, k=50, mode="bm25")
    expected: dict[tuple[str, int], float] = {}
    for weight, ranking in ((retrieval.DENSE_WEIGHT, dense), (retrieval.LEXICAL_WEIGHT, lexical)):
        for p in ranking:
            key = (p.doc_id, p.start)
            expected[key] = expected.get(key, 0.0) + weight * max(p.score, 0) / ranking[0].score
    assert [r.rank for r in results] == list(range(1, len(results) + 1))
    for r in results:
        assert r.score == pytest.approx(expected[(r.doc_id, r.start)], rel=1e-5)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert 0 <= results[-1].score <= results[0].score <= 1


def test_bm25_mode_needs_no_model_and_unknown_mode_is_refused(mixed_index):
    from qa.errors import InvalidInputError

    assert search(mixed_index, None, "CSTO", mode="bm25")
    with pytest.raises(InvalidInputError, match="Choose from bm25, dense, hybrid"):
        search(mixed_index, None, "CSTO", mode="sparse")


def test_queries_do_not_wait_while_an_int8_encoder_is_being_made(monkeypatch):
    import threading

    from qa import embedding

    embedder = embedding.SentenceTransformerEmbedder()
    embedder._compiled = embedder.model  # as if compiled: queries take the compiled path
    monkeypatch.setattr(embedding, "INT8_MIN_BATCH", 20)
    quantising, query_done = threading.Event(), threading.Event()
    timed_out = []

    def slow_int8_copy(model, _location, _texts):
        quantising.set()
        timed_out.append(not query_done.wait(timeout=30))
        return model

    monkeypatch.setattr(embedding, "int8_copy", slow_int8_copy)
    indexing = threading.Thread(target=embedder.embed, args=(["a chunk"] * 20,))
    indexing.start()
    assert quantising.wait(timeout=30)
    assert embedder.embed(["a query"]).shape == (1, 384)
    query_done.set()
    indexing.join()
    assert timed_out == [False]  # the query finished while the encoder was still being made
