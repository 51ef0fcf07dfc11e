"""Measuring retrieval on a BEIR-format dataset with the app's own indexing and search.

A BEIR dataset is a folder with ``corpus.jsonl`` (``_id``, ``title``, ``text``),
``queries.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``,
``corpus-id``, ``score`` with a header line). Each document becomes a ``.txt`` file
holding its title, a blank line and its text (so BM25 sees the title, as in BEIR), with
the title also in a ``.meta.json`` sidecar. The folder is indexed with ``qa.index.update``
and every query goes through ``qa.retrieval.search``: the numbers describe the code the
app runs, not a copy of it.

Metrics follow pytrec_eval as BEIR uses it: nDCG with the graded relevance as gain and a
``log2(rank + 1)`` discount, recall over documents with relevance > 0, and MRR as the
reciprocal rank of the first relevant document. A document's score is its best chunk's.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.chunking import ChunkerSettings
from qa.embedding import DEFAULT_MODEL
from qa.errors import InvalidInputError

if TYPE_CHECKING:
    from qa.embedding import Embedder

__all__ = ["Dataset", "EvalResult", "evaluate", "load_dataset", "ndcg_at", "recall_at",
           "mrr_at", "default_workdir"]

DEPTH = 100  # documents ranked per query: enough for recall@100


# --------------------------------------------------------------------------- metrics


def ndcg_at(ranked: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """nDCG@k with gain = graded relevance and discount ``log2(rank + 1)``."""
    dcg = sum(relevance.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in relevance.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents (relevance > 0) found in the top ``k``."""
    relevant = {d for d, r in relevance.items() if r > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top ``k``, else 0."""
    for i, d in enumerate(ranked[:k]):
        if relevance.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


# --------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class Dataset:
    """A BEIR dataset split in memory."""

    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text, only queries judged in the split
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> relevance


def load_dataset(root: Path, split: str = "test") -> Dataset:
    """Read a BEIR folder; only the queries judged in ``qrels/<split>.tsv`` are kept."""
    root = Path(root)
    files = {"corpus": root / "corpus.jsonl", "queries": root / "queries.jsonl",
             "qrels": root / "qrels" / f"{split}.tsv"}
    for path in files.values():
        if not path.is_file():
            raise InvalidInputError(
                f"{path} not found. Pass a BEIR dataset folder with corpus.jsonl, "
                f"queries.jsonl and qrels/{split}.tsv."
            )
    corpus = {str(r["_id"]): (r.get("title") or "", r.get("text") or "")
              for r in _jsonl(files["corpus"])}
    all_queries = {str(r["_id"]): r["text"] for r in _jsonl(files["queries"])}
    qrels: dict[str, dict[str, int]] = {}
    with open(files["qrels"], encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # the header
            if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
                raise InvalidInputError(f"{files['qrels']} line {n + 1} is not "
                                        "'query-id<TAB>corpus-id<TAB>score' with a whole-number "
                                        "score. Fix the file.")
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {q: all_queries[q] for q in qrels if q in all_queries}
    return Dataset(root.name, corpus, queries, {q: qrels[q] for q in queries})


def _jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as e:
                    raise InvalidInputError(f"{path} line {n + 1} is not JSON ({e}). "
                                            "Fix the file.") from e


def file_name(doc_id: str) -> str:
    """A safe, stable ``.txt`` name for a BEIR document id."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", doc_id)
    if safe != doc_id or safe.startswith("."):
        safe = f"{safe.lstrip('.')}-{hashlib.sha1(doc_id.encode()).hexdigest()[:8]}"
    return f"{safe}.txt"


def write_corpus(dataset: Dataset, folder: Path) -> dict[str, str]:
    """Write the documents as ``.txt`` files with title sidecars; return qa id -> BEIR id.

    Files whose content is already right are not touched, and files of documents no
    longer in the dataset are removed, so the index update after it does the least work.
    """
    from qa.documents import SIDECAR_SUFFIX, doc_id_for

    folder.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, str] = {}
    ids: dict[str, str] = {}
    for doc_id, (title, text) in dataset.corpus.items():
        name = file_name(doc_id)
        wanted[name] = f"{title}\n\n{text}" if title else text
        wanted[name + SIDECAR_SUFFIX] = json.dumps({"title": title}, ensure_ascii=False) \
            if title else "{}"
        ids[doc_id_for(name)] = doc_id
    for path in folder.iterdir():
        if path.is_file() and path.name not in wanted:
            path.unlink()
    for name, content in wanted.items():
        path = folder / name
        try:
            if path.read_text(encoding="utf-8") == content:
                continue
        except OSError:
            pass
        path.write_text(content, encoding="utf-8")
    return ids


def default_workdir(dataset_dir: Path) -> Path:
    """``~/.cache/qa-eval/<dataset folder name>``."""
    return Path.home() / ".cache" / "qa-eval" / Path(dataset_dir).resolve().name


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class EvalResult:
    """Mean metrics over the judged queries; ``as_json`` is the ``qa eval --json`` contract."""

    mode: str
    ndcg10: float
    recall10: float
    recall100: float
    mrr10: float
    queries: int
    documents: int
    index_seconds: float
    query_ms_p50: float
    query_ms_p95: float

    def as_json(self) -> dict:
        return {"mode": self.mode, "ndcg@10": round(self.ndcg10, 4),
                "recall@10": round(self.recall10, 4), "recall@100": round(self.recall100, 4),
                "mrr@10": round(self.mrr10, 4), "queries": self.queries,
                "documents": self.documents, "index_seconds": round(self.index_seconds, 2),
                "query_ms_p50": round(self.query_ms_p50, 1),
                "query_ms_p95": round(self.query_ms_p95, 1)}


def evaluate(dataset_dir: Path, *, mode: str = "hybrid", split: str = "test",
             limit: int | None = None, workdir: Path | None = None,
             model: str = DEFAULT_MODEL, precision: str = "auto",
             chunker: ChunkerSettings = ChunkerSettings(),
             embedder: Embedder | None = None, progress: bool = False,
             runs: dict[str, list[str]] | None = None) -> EvalResult:
    """Index a BEIR dataset with the app's code (reusing a cached build) and score ``mode``.

    Args:
        dataset_dir: the BEIR folder.
        mode: ``bm25``, ``dense`` or ``hybrid``, as in ``qa.retrieval.search``.
        split: which ``qrels/<split>.tsv`` to score.
        limit: score only the first ``limit`` judged queries.
        workdir: where the corpus files and the index are kept between runs
            (default ``~/.cache/qa-eval/<dataset name>``).
        model: embedding model name or path; ``embedder`` overrides loading it.
        chunker: chunk settings; each model and chunker gets its own cached index.
        progress: show progress bars on stderr.
        runs: when given, filled with each query's ranked BEIR document ids.
    """
    from qa.index import Index, update
    from qa.retrieval import MODES, search

    if mode not in MODES:
        raise InvalidInputError(f"Invalid mode {mode!r}. Choose from {', '.join(MODES)}.")
    if limit is not None and limit < 1:
        raise InvalidInputError(f"Invalid limit {limit}. Pass at least 1 query.")
    dataset = load_dataset(dataset_dir, split)
    if not dataset.queries:
        raise InvalidInputError(f"No judged queries in {dataset_dir}/qrels/{split}.tsv "
                                "match queries.jsonl. Check the split name.")
    workdir = Path(workdir) if workdir else default_workdir(dataset_dir)
    corpus_dir = workdir / "corpus"
    slug = re.sub(r"[^A-Za-z0-9]+", "-", Path(model).name).strip("-").lower()
    index_dir = workdir / f"index-{slug}-{chunker.size}-{chunker.overlap}"

    loaded: dict[str, Embedder] = {}

    def load(name: str) -> Embedder:
        if name not in loaded:
            if embedder is not None:
                loaded[name] = embedder
            else:
                from qa.embedding import load_embedder

                loaded[name] = load_embedder(name, precision)  # type: ignore[arg-type]
        return loaded[name]

    ids = write_corpus(dataset, corpus_dir)
    model_name = embedder.name if embedder is not None else model
    report = update(corpus_dir, index_dir, model=model_name, load_embedder=load,
                    chunker=chunker, progress=progress)
    index = Index.load(index_dir, model=model_name)
    query_embedder = load(model_name) if mode != "bm25" else None

    queries = list(dataset.queries.items())[:limit]
    totals = {"ndcg": 0.0, "r10": 0.0, "r100": 0.0, "mrr": 0.0}
    times = []
    for query_id, text in _progress(queries, progress):
        started = time.perf_counter()
        ranked = _rank_documents(lambda k, q=text: search(index, query_embedder, q, k,
                                                          mode=mode), DEPTH)
        times.append((time.perf_counter() - started) * 1000)
        ranked = [ids.get(d, d) for d in ranked]
        if runs is not None:
            runs[query_id] = ranked
        relevance = dataset.qrels[query_id]
        totals["ndcg"] += ndcg_at(ranked, relevance, 10)
        totals["r10"] += recall_at(ranked, relevance, 10)
        totals["r100"] += recall_at(ranked, relevance, 100)
        totals["mrr"] += mrr_at(ranked, relevance, 10)
    n = len(queries)
    return EvalResult(mode, totals["ndcg"] / n, totals["r10"] / n, totals["r100"] / n,
                      totals["mrr"] / n, n, report.documents, report.seconds,
                      _percentile(times, 50), _percentile(times, 95))


def _rank_documents(search_chunks: Callable[[int], list], depth: int) -> list[str]:
    """The first ``depth`` distinct documents, each ranked by its best chunk."""
    k = depth * 3
    while True:
        passages = search_chunks(k)
        ranked = list(dict.fromkeys(p.doc_id for p in passages))
        if len(ranked) >= depth or len(passages) < k:
            return ranked[:depth]
        k *= 2


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else 0.0


def _progress(items, enabled: bool):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="queries", unit="query")
