"""Answer-sentence accuracy on TyDi QA GoldP English dev (information-seeking questions).

TyDi's questions were written by people who had not seen the answer's passage, which
makes them closer to a reporter's than SQuAD's. For each of the 440 dev questions, the
gold passage's sentences are scored with the features ``qa.answer.rank_sentences``
computes (``qa.judge``; the article title as the document title), by every scorer
compared; a question is right when the top sentence holds an annotated answer. Every dev
question has an answer, so abstention is not measured here. The judge is trained on
TyDi English *train* (no question overlap with dev).

Usage: ``python bench/bench_tydi.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.answer_data import VectorCache, featurise, scorers, sha256, tydi  # noqa: E402
from bench.report import require_data, write_section  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/qa-tydi-vectors.npz"))
    args = parser.parse_args()
    path = require_data("tydiqa") / "english_tydiqa_dev.json"

    from qa.embedding import load_embedder

    items = tydi(path)
    cache = VectorCache(load_embedder(precision="fp32"), args.cache)
    rows = featurise(items, cache)
    cache.save()
    sentences = np.mean([len(y) for _, y in rows])
    lines = [
        f"TyDi QA GoldP English dev (`english_tydiqa_dev.json`, sha256 "
        f"`{sha256(path)[:12]}…`): {len(rows)} questions whose answer lies in a sentence of "
        f"the gold passage ({sentences:.1f} sentences per passage on average, so picking "
        f"one at random is right {100 * np.mean([y.mean() for _, y in rows]):.1f}% of the "
        "time).",
        "",
        "| scorer | answer-sentence accuracy |",
        "| --- | --- |",
    ]
    for name, (score, _) in scorers().items():
        accuracy = np.mean([y[int(np.argmax(score(x)))] for x, y in rows])
        lines.append(f"| {name} | {100 * accuracy:.1f}% |")
        print(lines[-1], flush=True)
    write_section("tydi", "## Answer sentences on TyDi QA English dev\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
