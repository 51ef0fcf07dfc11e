"""SciFact (BEIR) retrieval quality and speed of the three search modes, via `qa eval`.

The index is built once under ``~/.cache/qa-eval/scifact`` (or ``--workdir``) and reused
by later runs; ``--fresh`` rebuilds it in a new folder so the build time is measured.
Also times the rebuild of the lexical index alone, which every index update pays, and
measures what int8 and bfloat16 indexing cost in quality: the dense and hybrid modes again
on indexes embedded in bf16 and in float32 (``precision="bf16"`` and ``"fp32"``, cached in
``<workdir>/bf16`` and ``<workdir>/fp32``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import require_data, write_section  # noqa: E402

REFERENCES = [
    ("BM25 (BEIR paper, Thakur et al. 2021)", 0.665),
    ("all-MiniLM-L6-v2 dense (MTEB results)", 0.645),
    ("bm25s baseline (MTEB results)", 0.687),
    ("BM25 top-100 + MiniLM cross-encoder (BEIR paper)", 0.688),
]


def lexical_rebuild_seconds(index_dir: Path) -> tuple[float, int]:
    """Seconds to rebuild the BM25 index from every stored chunk, as an update does."""
    from qa.index import Index
    from qa.lexical import LexicalIndex

    index = Index.load(index_dir)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        LexicalIndex.build(index.chunks.iter_chunks()).save(Path(tmp))
    return time.perf_counter() - started, index.manifest.chunks


def main() -> None:
    from qa.eval import default_workdir, evaluate
    from qa.retrieval import CANDIDATES, DENSE_WEIGHT, LEXICAL_WEIGHT

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, help="cache folder for corpus and index")
    parser.add_argument("--fresh", action="store_true", help="build the index from scratch")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    data = require_data("scifact")
    workdir = args.workdir or default_workdir(data)
    if args.fresh:
        workdir = Path(tempfile.mkdtemp(prefix="qa-eval-scifact-"))
    results = [evaluate(data, mode=mode, split=args.split, workdir=workdir,
                        progress=sys.stderr.isatty())
               for mode in ("bm25", "dense", "hybrid")]
    others = {precision: [evaluate(data, mode=mode, split=args.split,
                                   workdir=workdir / precision, precision=precision,
                                   progress=sys.stderr.isatty())
                          for mode in ("dense", "hybrid")]
              for precision in ("bf16", "fp32")}
    built = results[0].index_seconds  # the first run builds (or checks) the index
    [index_dir] = workdir.glob("index-all-minilm-l6-v2-*")
    rebuild, chunks = lexical_rebuild_seconds(index_dir)

    rows = ["| mode | nDCG@10 | recall@10 | recall@100 | MRR@10 | p50 ms | p95 ms |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| qa {r.mode} | **{r.ndcg10:.3f}** | {r.recall10:.3f} | "
                    f"{r.recall100:.3f} | {r.mrr10:.3f} | {r.query_ms_p50:.0f} | "
                    f"{r.query_ms_p95:.0f} |")
    for precision, rs in others.items():
        for r in rs:
            rows.append(f"| qa {r.mode}, index embedded in {precision} | {r.ndcg10:.3f} | "
                        f"{r.recall10:.3f} | {r.recall100:.3f} | {r.mrr10:.3f} | "
                        f"{r.query_ms_p50:.0f} | {r.query_ms_p95:.0f} |")
    for name, ndcg in REFERENCES:
        rows.append(f"| {name} | {ndcg:.3f} | | | | | |")
    fresh = "built from scratch" if args.fresh else "reused from the cache when already built"
    body = f"""## SciFact retrieval ({args.split} split)

{results[0].queries} queries over {results[0].documents:,} abstracts ({chunks:,} chunks),
through the app's own indexing and `qa.retrieval.search`; a document's score is its best
chunk's. The qa rows index as qa does by default (the model compiled by OpenVINO and
quantised to int8 for the build's large calls; queries in float32); the "bf16" and "fp32"
rows use indexes embedded in OpenVINO bfloat16 and in PyTorch float32, to show what int8
and bf16 cost in quality. Published references below the qa rows are from
`bench-data/README.md`.

{chr(10).join(rows)}

- Index update in this run: {built:.1f} s ({fresh}; a first build embeds every chunk,
  run with `--fresh` to time it). Rebuilding the BM25 index alone from all {chunks:,}
  chunks, which every `qa index` does: {rebuild:.1f} s.
- Query times include embedding the query and ranking 100 distinct documents
  (about 300 chunks), so they are higher than for the page's top-5 search.
- Hybrid = `{DENSE_WEIGHT} * cosine / best cosine + {LEXICAL_WEIGHT} * BM25 / best BM25`
  over the best {CANDIDATES} chunks of each side (`qa/retrieval.py`); the weights were tuned on the train split
  (see the fusion section), then measured here.
"""
    write_section("scifact", body)
    print(body)


if __name__ == "__main__":
    main()
