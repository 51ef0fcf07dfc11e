"""`qa eval`: metric definitions by hand, and a tiny BEIR dataset through the real stack."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import InvalidInputError
from qa.eval import evaluate, file_name, load_dataset, mrr_at, ndcg_at, recall_at

# -- metrics ---------------------------------------------------------------------------

RANKED = ["d1", "d2", "d3"]
GRADED = {"d2": 2, "d3": 1, "d9": 1, "d0": 0}  # d9 is relevant but never retrieved


@pytest.mark.parametrize(
    ("metric", "ranked", "relevance", "k", "expected"),
    [
        # DCG = 0/log2(2) + 2/log2(3) + 1/log2(4); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4)
        (ndcg_at, RANKED, GRADED, 10,
         (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3) + 1 / 2)),
        (ndcg_at, RANKED, GRADED, 1, 0.0),
        (ndcg_at, ["d2", "d3", "d9"], GRADED, 10, 1.0),
        (ndcg_at, ["d3", "d2"], {"d2": 1, "d3": 1}, 10, 1.0),  # equal grades: any order
        (ndcg_at, RANKED, {"d1": 0}, 10, 0.0),  # nothing relevant: 0, not a division error
        (recall_at, RANKED, GRADED, 2, 1 / 3),
        (recall_at, RANKED, GRADED, 3, 2 / 3),
        (recall_at, RANKED, {"d0": 0}, 3, 0.0),
        (mrr_at, RANKED, GRADED, 10, 1 / 2),
        (mrr_at, RANKED, GRADED, 1, 0.0),
        (mrr_at, ["d0", "d1", "d3"], GRADED, 10, 1 / 3),  # relevance 0 does not count
    ],
)
def test_metrics_match_hand_computed_values(metric, ranked, relevance, k, expected):
    assert metric(ranked, relevance, k) == pytest.approx(expected)


def test_hand_computed_ndcg_value():
    assert ndcg_at(RANKED, GRADED, 10) == pytest.approx(0.5627, abs=1e-4)


# -- a tiny BEIR dataset -----------------------------------------------------------------

DOCS = {
    "cats": ("Domestic cats", "Cats purr, sleep sixteen hours a day and hunt mice at night."),
    "volcano": ("Volcanoes", "Magma rises through the crust and erupts as lava and ash."),
    "bread": ("Baking bread", "Knead the dough, let the yeast rise, then bake it in an oven."),
    "chess": ("Chess openings", "The Sicilian Defence answers 1.e4 with c5 on the board."),
    "whales": ("Blue whales", "The blue whale is the largest animal; it feeds on krill."),
    "tax": ("Income tax", "Residents file an income tax return every April."),
    "mars": ("Mars rover", "The rover drilled red Martian rock looking for ancient water."),
    "coffee": ("Espresso", "Hot water is forced through finely ground coffee beans."),
    "bikes": ("Bicycle repair", "To fix a flat tyre, patch the inner tube and pump it up."),
    "piano": ("Piano practice", "Play scales slowly with both hands to build finger strength."),
    "glacier": ("Glaciers", "Glaciers are rivers of ice that carve valleys over millennia."),
    "x/odd id": ("", "A document with an awkward id and no title about tulip bulbs."),
}
QUERIES = {
    "q1": "why do cats purr and hunt mice",
    "q2": "how is lava erupted from a volcano",
    "q3": "what do blue whales eat",
    "q4": "fixing a flat bicycle tyre",
    "q5": "tulip bulbs",
    "q9": "a query nobody judged",
}
QRELS = {"q1": {"cats": 2}, "q2": {"volcano": 1, "glacier": 0}, "q3": {"whales": 1},
         "q4": {"bikes": 1}, "q5": {"x/odd id": 1}}


def make_dataset(root: Path) -> Path:
    root.mkdir(parents=True)
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as f:
        for doc_id, (title, text) in DOCS.items():
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with open(root / "queries.jsonl", "w", encoding="utf-8") as f:
        for query_id, text in QUERIES.items():
            f.write(json.dumps({"_id": query_id, "text": text, "metadata": {}}) + "\n")
    (root / "qrels").mkdir()
    lines = ["query-id\tcorpus-id\tscore"] + [
        f"{q}\t{d}\t{r}" for q, judged in QRELS.items() for d, r in judged.items()
    ]
    (root / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("beir")
    return make_dataset(root / "tiny"), root / "work"


def test_dataset_keeps_only_judged_queries_and_reads_grades(tmp_path):
    dataset = load_dataset(make_dataset(tmp_path / "d"))
    assert set(dataset.queries) == set(QRELS) and dataset.qrels == QRELS
    assert dataset.corpus["cats"][0] == "Domestic cats" and len(dataset.corpus) == len(DOCS)
    assert file_name("x/odd id") != file_name("x_odd_id")
    with pytest.raises(InvalidInputError, match=r"qrels/dev.tsv"):
        load_dataset(tmp_path / "d", split="dev")


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_trivially_distinguishable_documents_are_ranked_first(tiny, real_embedder, mode):
    dataset, workdir = tiny
    runs: dict[str, list[str]] = {}
    result = evaluate(dataset, mode=mode, workdir=workdir, embedder=real_embedder, runs=runs)
    assert {q: ranked[0] for q, ranked in runs.items()} == {
        q: max(judged, key=judged.get) for q, judged in QRELS.items()
    }
    assert result.ndcg10 == result.mrr10 == result.recall10 == result.recall100 == 1.0
    assert (result.queries, result.documents) == (len(QRELS), len(DOCS))
    assert 0 < result.query_ms_p50 <= result.query_ms_p95
    # Each document is ranked once; dense search reaches every one of them.
    assert all(len(set(ranked)) == len(ranked) for ranked in runs.values())
    if mode != "bm25":
        assert all(sorted(ranked) == sorted(DOCS) for ranked in runs.values())


def test_second_run_reuses_the_index_and_limit_cuts_queries(tiny, real_embedder):
    dataset, workdir = tiny
    evaluate(dataset, mode="bm25", workdir=workdir, embedder=real_embedder)
    [index_dir] = workdir.glob("index-*")
    before = json.loads((index_dir / "manifest.json").read_text())["version"]
    result = evaluate(dataset, mode="bm25", workdir=workdir, embedder=real_embedder, limit=2)
    assert json.loads((index_dir / "manifest.json").read_text())["version"] == before
    assert result.queries == 2


def qa(*args: str):
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=300)


def test_cli_json_contract_and_human_table(tiny):
    dataset, workdir = tiny
    result = qa("eval", str(dataset), "--workdir", str(workdir), "--mode", "hybrid", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"mode", "ndcg@10", "recall@10", "recall@100", "mrr@10", "queries",
                         "documents", "index_seconds", "query_ms_p50", "query_ms_p95"}
    assert data["mode"] == "hybrid" and data["ndcg@10"] == 1.0 and data["queries"] == 5

    result = qa("eval", str(dataset), "--workdir", str(workdir), "--mode", "bm25",
                "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert "nDCG@10" in result.stdout and "1.000" in result.stdout and "bm25" in result.stdout


def test_cli_missing_dataset_is_one_line_error(tmp_path):
    result = qa("eval", str(tmp_path), "--workdir", str(tmp_path / "w"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error:") and "corpus.jsonl" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
