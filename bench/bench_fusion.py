"""How hybrid search fuses dense and BM25 rankings: tuned on SciFact train, checked on test.

Takes the best 300 chunks of each side for every query once, then scores fusion settings
offline: reciprocal rank fusion (RRF, ``sum(w / (k + rank))``) and the weighted sum of
max-normalised scores that ``qa.retrieval`` uses. Reuses the index `qa eval` caches.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import require_data, write_section  # noqa: E402

DEPTH = 300


def rrf(rankings, weights, k):
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (_, chunk_id) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return sorted(((s, i) for i, s in fused.items()), key=lambda h: -h[0])


def main() -> None:
    from qa.documents import doc_id_for
    from qa.embedding import load_embedder
    from qa.eval import default_workdir, evaluate, file_name, load_dataset, ndcg_at
    from qa.index import Index
    from qa.retrieval import DENSE_WEIGHT, _dense, _lexical, fuse

    data = require_data("scifact")
    workdir = default_workdir(data)
    evaluate(data, mode="bm25", limit=1, workdir=workdir)  # builds the index if needed
    [index_dir] = workdir.glob("index-all-minilm-l6-v2-800-120")
    index = Index.load(index_dir)
    embedder = load_embedder()

    runs = {}
    for split in ("train", "test"):
        dataset = load_dataset(data, split)
        beir_id = {doc_id_for(file_name(d)): d for d in dataset.corpus}
        lists = {q: (_dense(index, embedder, text, DEPTH, None), _lexical(index, text, DEPTH, None))
                 for q, text in dataset.queries.items()}
        chunk_ids = {c for pair in lists.values() for side in pair for _, c in side}
        doc_of = {c: beir_id[ch.doc_id] for c, ch in index.chunks.chunks(chunk_ids).items()}
        runs[split] = (dataset, lists, doc_of)

    def ndcg(split, fusion) -> float:
        dataset, lists, doc_of = runs[split]
        total = 0.0
        for q, (dense, lexical) in lists.items():
            ranked = list(dict.fromkeys(doc_of[c] for _, c in fusion(dense, lexical)))
            total += ndcg_at(ranked, dataset.qrels[q], 10)
        return total / len(lists)

    settings = {"dense only": lambda d, lx: d, "BM25 only": lambda d, lx: lx}
    for k in (10, 20, 60):
        for w in (1.0, 1.5):
            settings[f"RRF k={k}, BM25 weight {w}"] = \
                lambda d, lx, k=k, w=w: rrf([d, lx], [1.0, w], k)
    for a in (0.5, 0.55, 0.6, 0.65, 0.7):
        settings[f"normalised sum, dense weight {a}"] = \
            lambda d, lx, a=a: fuse([d, lx], [a, 1 - a])
    rows = ["| fusion | train nDCG@10 | test nDCG@10 |", "|---|---|---|"]
    scored = [(name, ndcg("train", f), ndcg("test", f)) for name, f in settings.items()]
    best = max(scored[2:], key=lambda r: r[1])
    for name, train, test in scored:
        used = " (used)" if name == f"normalised sum, dense weight {DENSE_WEIGHT}" else ""
        rows.append(f"| {name}{used} | {train:.4f} | {test:.4f} |")
    body = f"""## Hybrid fusion (SciFact, tuned on train)

The best {DEPTH} chunks from each side, fused per query; a document's score is its best
chunk's. The setting with the best train nDCG@10 is "{best[0]}"; `qa/retrieval.py` uses
the one marked (used). Test numbers are for reference only, not for choosing.

{chr(10).join(rows)}
"""
    write_section("fusion", body)
    print(body)


if __name__ == "__main__":
    main()
