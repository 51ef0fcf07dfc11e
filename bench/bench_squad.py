"""Extractive answers and abstention on SQuAD 2.0 (the shared half of the dev set).

Every paragraph becomes a document (``ARTICLE/pNNN.txt``, so its source is the article)
in a temporary corpus indexed by ``qa.index.update`` with the packaged model. The
articles are split in two: the first half calibrates the judge's abstention threshold,
the second half reports. The judge (``qa.judge``) is trained elsewhere, on TyDi QA and
COVID-QA only (``bench/train_answer_judge.py``), so SQuAD is held out for it entirely.
Every scorer compared (the one ``qa.answer`` used before, rules added to it, the learned
variants, the shipped judge) scores the same candidate sentences, from the same features
``qa.answer.rank_sentences`` computes. For each question the answer code runs with
``max_sentences=1`` over the whole corpus, and:

* answerable questions: is the cited sentence one that contains a gold answer string?
* SQuAD 2.0 unanswerable questions (adversarial: written on the same paragraph to look
  answerable): does the answer abstain?
* out-of-corpus questions: answerable questions asked with ``--source`` filters that
  leave out their own article, the newsroom case of a question the corpus does not
  cover at all: does the answer abstain?

Usage: ``python bench/bench_squad.py [--limit N]`` (N questions per split, for a quick run).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import require_data, write_section  # noqa: E402

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.65, 0.7)
BEFORE = "before: cosine + 0.5 overlap"
JUDGE = "learned judge (shipped)"
PASSAGE_SWEEP = (1, 2, 3, 4, 6, 8, 12)  # passages read per question; candidates keep ranks


@dataclass
class Question:
    text: str
    article: str
    golds: tuple[str, ...]  # empty for unanswerable questions


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def load(path: Path) -> tuple[list[tuple[str, str]], list[str], list[Question]]:
    """Paragraphs as (relpath, text), article names in order, and questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs, articles, questions = [], [], []
    for article in data:
        name = article["title"]
        articles.append(name)
        for i, p in enumerate(article["paragraphs"]):
            paragraphs.append((f"{name}/p{i:03d}.txt", p["context"]))
            for qa in p["qas"]:
                golds = () if qa.get("is_impossible") else tuple(
                    {a["text"] for a in qa["answers"]})
                questions.append(Question(qa["question"], name, golds))
    return paragraphs, articles, questions


def build(paragraphs, root: Path, embedder):
    from qa.index import Index, update

    corpus = root / "corpus"
    for relpath, text in paragraphs:
        file = corpus / relpath
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text + "\n", encoding="utf-8")
        file.with_name(file.name + ".meta.json").write_text(
            json.dumps({"title": relpath, "publisher": relpath.split("/")[0]}), encoding="utf-8")
    update(corpus, root / "index", model=embedder.name, load_embedder=lambda _: embedder)
    return Index.load(root / "index", model=embedder.name)


def collect(index, embedder, questions, split_articles):
    """Per question: every candidate sentence's (features, contains-gold, passage rank).

    Sentences come from the first ``max(PASSAGE_SWEEP)`` passages; ``metrics`` keeps those
    of the first ``passages``, which is what reading fewer passages would have scored.
    """
    from qa.answer import make_filters, rank_sentences

    def scored(cands, found, golds):
        rank = {id(p): r for r, p in enumerate(found)}
        return [(list(c.features), _contains(c.text, golds), rank[id(c.passage)])
                for c in cands]

    rows, most = [], max(PASSAGE_SWEEP)
    for q in questions:
        cands, found = rank_sentences(index, embedder, q.text, passages=most)
        rows.append(("unanswerable" if not q.golds else "answerable", q.text,
                     scored(cands, found, q.golds)))
        if q.golds:
            others = make_filters(sources=[a for a in split_articles if a != q.article])
            cands, found = rank_sentences(index, embedder, q.text, filters=others,
                                          passages=most)
            rows.append(("out-of-corpus", q.text, scored(cands, found, ())))
    return rows


def _contains(sentence: str, golds) -> bool:
    s = _norm(sentence)
    return any(_norm(g) in s for g in golds)


def metrics(rows, score, threshold: float, passages: int | None = None) -> dict:
    """Accuracy, coverage and abstention precision/recall at one operating point.

    ``score``: feature rows -> scores; ``passages``: score only sentences of the first
    this many passages (default: as many as ``qa.answer`` reads).
    """
    import numpy as np

    from qa.answer import PASSAGES

    passages = passages or PASSAGES
    counts = {"answerable": 0, "correct": 0, "answered": 0, "unanswerable": 0,
              "abst_unans": 0, "out-of-corpus": 0, "abst_ooc": 0, "abst_answerable": 0,
              "sentences": 0}
    for kind, _, cands in rows:
        cands = [c for c in cands if c[2] < passages]
        counts["sentences"] += len(cands)
        if cands:
            scores = score(np.asarray([c[0] for c in cands], dtype=float))
            best = int(np.argmax(scores))
            top, gold = float(scores[best]), cands[best][1]
        else:
            top, gold = float("-inf"), False
        abstain = top < threshold
        counts[kind] += 1
        if kind == "answerable":
            counts["answered"] += not abstain
            counts["correct"] += (not abstain) and gold
            counts["abst_answerable"] += abstain
        elif kind == "unanswerable":
            counts["abst_unans"] += abstain
        else:
            counts["abst_ooc"] += abstain
    return _rates(counts)


def recall_at_precision(rows, score, floor: float = 0.8) -> float:
    """The best SQuAD2 abstention recall any threshold reaches at precision >= ``floor``."""
    import numpy as np

    tops = []
    for kind, _, cands in rows:
        if kind == "out-of-corpus":
            continue
        cands = [c for c in cands if c[2] < 4]
        top = float(score(np.asarray([c[0] for c in cands])).max()) if cands else -1e9
        tops.append((top, kind == "unanswerable"))
    n_unans = sum(u for _, u in tops)
    best = 0.0
    for t in sorted({t for t, _ in tops}):
        abst = [u for top, u in tops if top < t + 1e-12]
        if abst and sum(abst) / len(abst) >= floor:
            best = max(best, sum(abst) / n_unans)
    return best


def _rates(c: dict) -> dict:
    def div(a, b):
        return a / b if b else float("nan")

    return {
        "accuracy": div(c["correct"], c["answerable"]),            # of all answerable
        "precision_answered": div(c["correct"], c["answered"]),     # of those answered
        "coverage": div(c["answered"], c["answerable"]),
        # abstention on SQuAD2 unanswerables vs answerable questions of the same set
        "abst_precision": div(c["abst_unans"], c["abst_unans"] + c["abst_answerable"]),
        "abst_recall": div(c["abst_unans"], c["unanswerable"]),
        "ooc_recall": div(c["abst_ooc"], c["out-of-corpus"]),
        "ooc_precision": div(c["abst_ooc"], c["abst_ooc"] + c["abst_answerable"]),
        "n_answerable": c["answerable"], "n_unanswerable": c["unanswerable"],
        "n_ooc": c["out-of-corpus"],
        "sentences": div(c["sentences"], c["answerable"] + c["unanswerable"]
                         + c["out-of-corpus"]),
    }


def choose(rows, score) -> float:
    """The calibration split's best abstention threshold for ``score``.

    The objective weighs the two mistakes a newsroom cares about equally: an answerable
    question not answered by its sentence, and an uncovered (out-of-corpus) question
    answered anyway. SQuAD2's adversarial unanswerables are reported but not optimised.
    """
    def objective(m):
        return m["accuracy"] + m["ooc_recall"]

    return max(THRESHOLDS, key=lambda t: (objective(metrics(rows, score, t)), -t))


def agreement(index, embedder, questions, threshold) -> tuple[int, int]:
    """How often ``qa.answer.answer`` cites the sentence the tables' ranking picks."""
    from qa.answer import answer, rank_sentences

    same = 0
    for q in questions:
        a = answer(index, embedder, q.text, max_sentences=1, threshold=threshold)
        cands, _ = rank_sentences(index, embedder, q.text)
        top = None if not cands or cands[0].score < threshold else cands[0].text
        same += (a.citations[0].quote if a.citations else None) == top
    return same, len(questions)


def pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _table(rows, score, chosen: float | None = None) -> list[str]:
    lines = [
        "| abstain below | accuracy | precision answered | coverage | abstention P (SQuAD2) "
        "| abstention R (SQuAD2) | out-of-corpus recall |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in THRESHOLDS:
        m = metrics(rows, score, t)
        mark = " **(chosen)**" if t == chosen else ""
        lines.append(f"| {t}{mark} | {pct(m['accuracy'])} | {pct(m['precision_answered'])} | "
                     f"{pct(m['coverage'])} | {pct(m['abst_precision'])} | "
                     f"{pct(m['abst_recall'])} | {pct(m['ooc_recall'])} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="questions per split (0: all)")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and index here")
    parser.add_argument("--check", type=int, default=200,
                        help="held-out questions also run through qa.answer.answer")
    args = parser.parse_args()
    path = require_data("squad2-dev-half") / "dev-v2.0.json"

    from bench.answer_data import scorers
    from qa.answer import ABSTAIN_BELOW, PASSAGES
    from qa.embedding import load_embedder

    paragraphs, articles, questions = load(path)
    half = len(articles) // 2
    calib_articles, test_articles = articles[:half], articles[half:]
    calib = [q for q in questions if q.article in calib_articles]
    test = [q for q in questions if q.article in test_articles]
    if args.limit:  # an even sample across the articles, not the first few
        calib = calib[:: max(1, len(calib) // args.limit)]
        test = test[:: max(1, len(test) // args.limit)]
    # fp32: on this shared machine one-query bf16 calls are several times slower, and
    # the two agree to a cosine of 0.998 (tests/test_search.py)
    embedder = load_embedder(precision="fp32")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index = build(paragraphs, args.workdir or Path(tmp), embedder)
        build_s = time.perf_counter() - started
        print(f"indexed {len(paragraphs)} paragraphs in {build_s:.0f} s", flush=True)
        # the scored candidates are kept beside the index, so changing the operating
        # point only re-renders the tables (delete the file after changing the features)
        cached = (args.workdir / f"rows-v3-{args.limit}.json") if args.workdir else None
        if cached and cached.exists():
            saved = json.loads(cached.read_text())
            rows, test_rows, ms = saved["calib"], saved["test"], saved["ms"]
        else:
            rows = collect(index, embedder, calib, calib_articles)
            print(f"calibration rows: {len(rows)}", flush=True)
            started = time.perf_counter()
            test_rows = collect(index, embedder, test, test_articles)
            ms = 1000 * (time.perf_counter() - started) / max(len(test_rows), 1)
            if cached:
                cached.write_text(json.dumps({"calib": rows, "test": test_rows, "ms": ms}))
        same, checked = agreement(index, embedder, test[:args.check], ABSTAIN_BELOW)

    every = scorers()
    judge = every[JUDGE][0]
    threshold = choose(rows, judge)
    if threshold != ABSTAIN_BELOW:
        print(f"NOTE: calibration chose threshold {threshold}; qa.answer uses {ABSTAIN_BELOW}",
              flush=True)
    held = metrics(test_rows, judge, ABSTAIN_BELOW)
    how = f"index built in {build_s:.0f} s" if build_s > 30 else "index reused from --workdir"
    comparison = []
    for name, (score, own) in every.items():
        cal = own if own is not None else choose(rows, score)
        m = metrics(test_rows, score, cal)
        never = metrics(test_rows, score, float("-inf"))
        comparison.append(
            f"| {name} | {pct(never['accuracy'])} | {cal} | {pct(m['accuracy'])} | "
            f"{pct(m['abst_precision'])} / {pct(m['abst_recall'])} | "
            f"{pct(recall_at_precision(test_rows, score))} | {pct(m['ooc_recall'])} |")
    lines = [
        f"SQuAD 2.0 dev (shared half): {len(articles)} articles, {len(paragraphs)} paragraphs "
        f"indexed as documents ({how}). Calibration on the first "
        f"{len(calib_articles)} articles ({len(calib)} questions), report on the other "
        f"{len(test_articles)} ({len(test)} questions)"
        + (f", an even sample of {args.limit} per split" if args.limit else "") +
        f". One sentence per answer (`max_sentences=1`), from the sentences of the first "
        f"{PASSAGES} passages retrieved (hybrid) from the whole corpus, with the features "
        "`qa.answer.rank_sentences` computes. The learned scorers were trained on TyDi QA "
        "English train and COVID-QA only (`bench/train_answer_judge.py`); SQuAD only sets "
        "their abstention threshold, on the calibration split.",
        "",
        "- *accuracy*: answerable questions whose cited sentence contains a gold answer "
        "(abstaining counts as wrong); *precision answered*: the same among the questions "
        "answered; *coverage*: answerable questions answered.",
        "- *abstention P/R (SQuAD2)*: abstaining on SQuAD2's unanswerable questions (written "
        "on the same paragraph to look answerable), against abstaining on answerable ones; "
        "*best R at P >= 80%*: the highest recall any threshold reaches at precision >= 80% "
        "(how well the scores separate; not an operating point).",
        "- *out-of-corpus recall*: answerable questions asked with `--source` filters that "
        "exclude their own article, so the corpus does not cover them: share abstained.",
        "",
        "### Every scorer on the held-out split",
        "",
        "Each abstains below its own threshold: the one `qa.answer` used (before: 0.65; the "
        "judge: `ABSTAIN_BELOW`), or for the variants the calibration split's best.",
        "",
        "| scorer | accuracy, never abstaining | abstain below | accuracy | abstention P / R "
        "(SQuAD2) | best R at P >= 80% | out-of-corpus recall |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *comparison,
        "",
        "### Judge thresholds, calibration split",
        "",
        *_table(rows, judge, ABSTAIN_BELOW),
        "",
        f"Calibration picks threshold {threshold} (maximising accuracy + out-of-corpus "
        f"recall); `qa.answer` uses `ABSTAIN_BELOW = {ABSTAIN_BELOW}`.",
        "",
        f"### Passages read per question (calibration split, judge, abstain below "
        f"{ABSTAIN_BELOW})",
        "",
        "Each passage's sentences are embedded per question, which is most of an answer's "
        "time, so the cost grows with the sentences scored.",
        "",
        "| passages | accuracy | out-of-corpus recall | sentences scored per question |",
        "| --- | --- | --- | --- |",
        *[f"| {n}{' **(qa.answer)**' if n == PASSAGES else ''} | {pct(m['accuracy'])} | "
          f"{pct(m['ooc_recall'])} | {m['sentences']:.1f} |"
          for n in PASSAGE_SWEEP
          for m in [metrics(rows, judge, ABSTAIN_BELOW, passages=n)]],
        "",
        "### Judge thresholds, held-out split",
        "",
        *_table(test_rows, judge, ABSTAIN_BELOW),
        "",
        f"### Operating point on the held-out split: the judge, abstain below {ABSTAIN_BELOW}",
        "",
        f"- answer-sentence accuracy {pct(held['accuracy'])} of {held['n_answerable']} "
        f"answerable questions (precision {pct(held['precision_answered'])} on the "
        f"{pct(held['coverage'])} answered)",
        f"- SQuAD2 unanswerable: abstention precision {pct(held['abst_precision'])}, recall "
        f"{pct(held['abst_recall'])} ({held['n_unanswerable']} questions)",
        f"- out-of-corpus: abstention recall {pct(held['ooc_recall'])} "
        f"({held['n_ooc']} questions)",
        f"- `qa.answer.answer` cites the same sentence as the table's ranking on {same} of "
        f"{checked} held-out questions; {ms:.0f} ms per question on this shared machine",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("squad", "## Extractive answers and abstention (SQuAD 2.0)\n\n" + body)


if __name__ == "__main__":
    main()
