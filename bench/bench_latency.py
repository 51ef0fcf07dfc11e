"""Query latency, memory and index size at 10k, 100k and 1M chunks.

The chunks are SciFact's: the index that ``bench_scifact.py`` (``qa eval``) caches holds
17,243 real chunks with their vectors. Each size is measured in a fresh subprocess:

- below 17,243 chunks: the first N real chunks (vectors, chunk rows, BM25 over them);
- above: all real chunks, plus copies of real chunk rows under new ids (same document,
  offsets and text) until there are N rows. BM25 is built over all N rows, so its posting
  lists grow as in a real corpus of that size. The copies' vectors are random unit
  vectors: exact FAISS search scans every vector whatever it holds, and random
  vectors keep the real chunks on top, so ``answer`` still reads and embeds real,
  distinct sentences.

Timed per query, with the model and index loaded and warmed up: hybrid retrieval
(``qa.retrieval.search``, k=5, which embeds the query) and ``qa.answer.answer`` end to
end (with an empty sentence-vector cache at the start of each size).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import require_data, write_section  # noqa: E402

TARGETS = {100_000: (50, 300), 1_000_000: (150, None)}  # retrieval p95 ms, ask p95 ms


def source_index() -> Path:
    from qa.eval import default_workdir

    workdir = default_workdir(require_data("scifact"))
    found = sorted(workdir.glob("index-all-minilm-l6-v2-800-120"))
    if not found:
        sys.exit(f"No cached SciFact index under {workdir}. Run bench/bench_scifact.py first.")
    return found[0]


def _rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
              if line.startswith(("VmRSS", "VmHWM"))}
    return values["VmRSS"] / 1024, values["VmHWM"] / 1024


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def measure(size: int, queries: int, asks: int) -> dict:
    """Build the index of ``size`` chunks in a temporary folder and time queries on it."""
    import faiss
    import numpy as np

    from qa.answer import SentenceVectors, answer
    from qa.chunkstore import FILENAME, ChunkStore
    from qa.embedding import load_embedder
    from qa.eval import load_dataset
    from qa.index import Index, Manifest
    from qa.lexical import LexicalIndex
    from qa.retrieval import search
    from qa.store import FaissStore

    src = source_index()
    manifest = Manifest.read(src)
    version = src / manifest.directory
    real = FaissStore.load(version, manifest.dim)._index
    real_ids = faiss.vector_to_array(real.id_map).astype(np.int64)
    real_vectors = faiss.downcast_index(real.index).reconstruct_n(0, real.ntotal)
    order = np.argsort(real_ids)
    real_ids, real_vectors = real_ids[order], real_vectors[order]

    tmp = Path(tempfile.mkdtemp(prefix=f"qa-latency-{size}-"))
    try:
        shutil.copyfile(version / FILENAME, tmp / FILENAME)
        # the cached eval index may predate stored quotations; opening it writable
        # extracts them, as `qa index` would
        ChunkStore(tmp, readonly=False).close()
        db = sqlite3.connect(tmp / FILENAME)
        rows = len(real_ids)
        last_real = int(real_ids[-1])
        while rows < size:
            db.execute('INSERT INTO chunks (doc_id, start, "end", text) '
                       'SELECT doc_id, start, "end", text FROM chunks '
                       'WHERE id <= ? ORDER BY id LIMIT ?', (last_real, size - rows))
            rows = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        db.commit()
        ids = np.asarray([r[0] for r in db.execute(
            "SELECT id FROM chunks ORDER BY id LIMIT ?", (size,))], dtype=np.int64)
        db.close()

        store = FaissStore(manifest.dim)
        n_real = min(size, len(real_ids))
        store.add(real_ids[:n_real], real_vectors[:n_real])
        rng = np.random.default_rng(0)
        for start in range(n_real, size, 100_000):
            block = rng.standard_normal((min(100_000, size - start), manifest.dim),
                                        dtype=np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            store.add(ids[start:start + len(block)], block)
        chunks = ChunkStore(tmp, readonly=True)
        wanted = set(ids.tolist()) if size < len(real_ids) else None
        started = time.perf_counter()
        lexical = LexicalIndex.build((i, t) for i, t in chunks.iter_chunks()
                                     if wanted is None or i in wanted)
        lexical_seconds = time.perf_counter() - started
        lexical.save(tmp)
        store.save(tmp)
        disk = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        del lexical, real_vectors
        index = Index(tmp, manifest, FaissStore.load(tmp, manifest.dim), chunks,
                      LexicalIndex.load(tmp, mmap=True))

        embedder = load_embedder()
        dataset = load_dataset(require_data("scifact"), "test")
        texts = list(dataset.queries.values())
        def ask(q: str, cache: SentenceVectors) -> bool:
            # Answer() rejects a cited sentence that contains "[14]"-style text of its
            # own (a bug in qa.answer, common in SciFact); the work is done by then.
            try:
                answer(index, embedder, q, cache=cache)
            except ValueError as e:
                if "without a citation" not in str(e):
                    raise
                return False
            return True

        for q in texts[:5]:  # warm-up: first calls allocate and build kernels
            search(index, embedder, q)
            ask(q, SentenceVectors())
        retrieval_ms = []
        for q in texts[5:5 + queries]:
            started = time.perf_counter()
            search(index, embedder, q, k=5)
            retrieval_ms.append((time.perf_counter() - started) * 1000)
        cache = SentenceVectors()
        ask_ms, failed = [], 0
        for q in texts[5 + queries:5 + queries + asks]:
            started = time.perf_counter()
            failed += not ask(q, cache)
            ask_ms.append((time.perf_counter() - started) * 1000)
        rss, peak = _rss_mb()
        return {"size": size, "real": n_real, "disk_bytes": disk,
                "lexical_build_s": lexical_seconds, "rss_mb": rss, "peak_mb": peak,
                "retrieval_p50": _percentile(retrieval_ms, 50),
                "retrieval_p95": _percentile(retrieval_ms, 95),
                "ask_p50": _percentile(ask_ms, 50), "ask_p95": _percentile(ask_ms, 95),
                "queries": len(retrieval_ms), "asks": len(ask_ms),
                "ask_failed": failed}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100, help="retrieval queries per size")
    parser.add_argument("--asks", type=int, default=50, help="answer() questions per size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: measure one size
    args = parser.parse_args()

    if args.one:
        print(json.dumps(measure(args.one, args.queries, args.asks)))
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--queries",
                              str(args.queries), "--asks", str(args.asks)],
                             capture_output=True, text=True, env=os.environ)
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
            results.append({"size": size, "error": out.stderr.strip().splitlines()[-1]})
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], file=sys.stderr)

    rows = ["| chunks | real chunks | retrieval p50 / p95 ms | answer p50 / p95 ms | "
            "RSS MB (peak) | bytes/chunk on disk | BM25 build s |",
            "|---|---|---|---|---|---|---|"]
    notes = []
    for r in results:
        if "error" in r:
            rows.append(f"| {r['size']:,} | failed: {r['error'][:80]} | | | | | |")
            continue
        rows.append(f"| {r['size']:,} | {r['real']:,} | {r['retrieval_p50']:.0f} / "
                    f"**{r['retrieval_p95']:.0f}** | {r['ask_p50']:.0f} / "
                    f"**{r['ask_p95']:.0f}** | {r['rss_mb']:.0f} ({r['peak_mb']:.0f}) | "
                    f"{r['disk_bytes'] / r['size']:,.0f} | {r['lexical_build_s']:.1f} |")
        retrieval_target, ask_target = TARGETS.get(r["size"], (None, None))
        if retrieval_target:
            ok = r["retrieval_p95"] <= retrieval_target
            notes.append(f"- {r['size']:,}: retrieval p95 target ≤ {retrieval_target} ms "
                         f"{'met' if ok else '**not met**'} ({r['retrieval_p95']:.0f} ms)")
        if ask_target:
            ok = r["ask_p95"] <= ask_target
            notes.append(f"- {r['size']:,}: answer p95 target ≤ {ask_target} ms "
                         f"{'met' if ok else '**not met**'} ({r['ask_p95']:.0f} ms)")
    done = [r for r in results if "error" not in r]
    failed = ", ".join(f"{r['ask_failed']} of {r['asks']} at {r['size']:,}" for r in done)
    if any(r["ask_failed"] for r in done):
        notes.append(f"- `answer` raised ValueError (\"answer cites [N] without a "
                     f"citation\") on {failed} questions: a cited SciFact sentence holds a "
                     "reference marker like `[14]` of its own, which `Answer` takes for a "
                     "citation marker. These are timed up to the error, which comes after "
                     "all the work.")
    counts = (f"{done[0]['queries']} SciFact test queries for retrieval and "
              f"{done[0]['asks']} others for `answer` per size") if done else ""
    body = f"""## Query latency by index size

{counts}; each size in a fresh process, model and index loaded and warmed up first.
How the larger indexes were made (see `bench/bench_latency.py`): the 17,243 real SciFact
chunks, then copies of real chunk rows under new ids up to the size, with BM25 built over
every row and **random unit vectors** for the copies in FAISS (exact `IndexFlatIP`
search scans all vectors whatever they hold). `answer` embeds the sentences of its 12
passages; copies share text with real chunks, so they hit the sentence cache — at the
larger sizes this makes `answer` slightly optimistic.
RSS is the whole process after the run (model, index, SQLite cache); bytes/chunk is the
index on disk (vectors + chunk store + BM25) over the chunk count.

{chr(10).join(rows)}

{chr(10).join(notes)}
"""
    write_section("latency", body)
    print(body)


if __name__ == "__main__":
    main()
