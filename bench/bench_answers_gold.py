"""Reporter-style questions on the seed and the test statements in tests/gold/answers/.

``tests/gold/questions.csv`` holds questions written in a reporter's own words, many
naming a day or a speech, with the document and the first words of the sentence that
answers, or ``abstain``. The seed and the statements are indexed with the packaged model
and each question goes through ``qa.answer.answer`` (one sentence), with the judge it
ships and, for comparison, the scorer it used before (cosine + 0.5 overlap, abstaining
below 0.65, no date handling). Nothing is tuned on these questions.

Usage: ``python bench/bench_answers_gold.py``.
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import ROOT, write_section  # noqa: E402

GOLD = ROOT / "tests" / "gold"
SEED = ROOT / "corpus" / "2022-01-06-tokayev-security-council-session.txt"


class _Before:
    """The scorer qa.answer used before the judge: cosine + 0.5 overlap."""

    def score(self, rows):
        from qa.judge import FEATURES

        return rows[:, FEATURES.index("cosine")] + 0.5 * rows[:, FEATURES.index("overlap")]


def right(a, row) -> bool:
    if row["expected_doc"] == "abstain":
        return a.abstained
    return (not a.abstained and Path(a.citations[0].path).name == row["expected_doc"]
            and a.citations[0].quote.lstrip("“\"«").startswith(row["expected_start"]))


def main() -> None:
    from qa.answer import ABSTAIN_BELOW, answer
    from qa.embedding import load_embedder
    from qa.index import Index, update

    rows = list(csv.DictReader((GOLD / "questions.csv").open(encoding="utf-8")))
    embedder = load_embedder(precision="fp32")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for src in [SEED, *sorted((GOLD / "answers").glob("*.txt"))]:
            for f in (src, src.with_name(src.name + ".meta.json")):
                shutil.copy(f, corpus / f.name)
        update(corpus, Path(tmp) / "index", model=embedder.name,
               load_embedder=lambda _: embedder)
        index = Index.load(Path(tmp) / "index", model=embedder.name)
        results = []
        for row in rows:
            now = answer(index, embedder, row["question"], max_sentences=1)
            before = _answer_before(index, embedder, row["question"])
            results.append((row, now, before))
    lines = [
        f"{len(rows)} questions (`tests/gold/questions.csv`) over the seed and "
        f"{len(list((GOLD / 'answers').glob('*.txt')))} statements of 5 and 7 January 2022 "
        "(`tests/gold/answers/`); a question is right when the one cited sentence is the "
        "expected one of the expected document, or when it abstains where it should.",
        "",
        "| scorer | right | answerable right | abstentions right |",
        "| --- | --- | --- | --- |",
    ]
    for name, pick in ((f"judge (shipped, abstain below {ABSTAIN_BELOW}, dates)", 1),
                       ("before: cosine + 0.5 overlap, abstain below 0.65, no dates", 2)):
        ok = [right(r[pick], r[0]) for r in results]
        ans = [o for o, r in zip(ok, results, strict=True) if r[0]["expected_doc"] != "abstain"]
        abst = [o for o, r in zip(ok, results, strict=True) if r[0]["expected_doc"] == "abstain"]
        lines.append(f"| {name} | {sum(ok)}/{len(ok)} | {sum(ans)}/{len(ans)} | "
                     f"{sum(abst)}/{len(abst)} |")
    lines += ["", "| question | judge | before |", "| --- | --- | --- |"]
    for row, now, before in results:
        lines.append(f"| {row['question']} | {_cell(now, row)} | {_cell(before, row)} |")
    body = "\n".join(lines)
    print(body)
    write_section("answers-gold", "## Reporter-style questions (tests/gold/questions.csv)\n\n"
                  + body)


def _answer_before(index, embedder, question):
    from unittest import mock

    from qa.answer import answer

    # no date handling: the question is answered as if it named no date
    with mock.patch("qa.answer.named_dates", lambda *a, **k: ()):
        return answer(index, embedder, question, max_sentences=1, threshold=0.65,
                      judge=_Before())


def _cell(a, row) -> str:
    mark = "right" if right(a, row) else "wrong"
    if a.abstained:
        return f"{mark}: abstains"
    c = a.citations[0]
    words = " ".join(c.quote.split()[:6])
    return f"{mark}: {Path(c.path).name[:10]} “{words}…”" + (f" ({a.note})" if a.note else "")


if __name__ == "__main__":
    main()
