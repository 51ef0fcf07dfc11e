"""Quote verification and quote extraction, measured on the gold sets in tests/gold/.

The corpus is the seed document plus the short made-up news texts in tests/gold/docs/,
indexed with the packaged model. Reports:

* verdict accuracy over tests/gold/verify.csv, with a confusion table;
* how the two thresholds were calibrated: every case is run once to get its best word
  similarity and once to get its best model similarity, then each pair of thresholds is
  scored on the same cases; the table shows the accuracy around the chosen values;
* quote-extraction precision and recall (and speaker accuracy) on tests/gold/quotations.csv.

Runs offline and needs nothing outside this repository.
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402

GOLD = ROOT / "tests" / "gold"
SEED = ROOT / "corpus" / "2022-01-06-tokayev-security-council-session.txt"


def build(folder: Path):
    from qa.embedding import load_embedder
    from qa.index import Index, update

    corpus = folder / "corpus"
    corpus.mkdir()
    for src in (SEED, SEED.with_name(SEED.name + ".meta.json"), *sorted(GOLD.glob("docs/*"))):
        shutil.copy(src, corpus / src.name)
    embedder = load_embedder()
    update(corpus, folder / "index", model=embedder.name, load_embedder=lambda _: embedder)
    return Index.load(folder / "index", model=embedder.name), embedder


def read(name: str) -> list[dict[str, str]]:
    with open(GOLD / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def extraction(index) -> tuple[str, dict]:
    from qa.verify import normalise_words

    gold = read("quotations.csv")
    paths = {d.path: d.doc_id for d in index.chunks.documents()}
    found = index.chunks.quotations()
    matched_gold, matched_found, right_speaker = set(), set(), 0
    for g_number, g in enumerate(gold):
        begins, ends = normalise_words(g["begins"]), normalise_words(g["ends"])
        for f_number, q in enumerate(found):
            words = normalise_words(q.text)
            if (q.doc_id == paths[g["doc"]] and words[:len(begins)] == begins
                    and words[-len(ends):] == ends and f_number not in matched_found):
                matched_gold.add(g_number)
                matched_found.add(f_number)
                right_speaker += q.speaker == g["speaker"]
                break
    precision = len(matched_found) / len(found) if found else 0.0
    recall = len(matched_gold) / len(gold)
    speaker = right_speaker / len(matched_gold) if matched_gold else 0.0
    numbers = {"precision": precision, "recall": recall, "speaker": speaker}
    body = (f"Quote extraction on {len(paths)} documents ({len(gold)} annotated quotations, "
            f"{len(found)} extracted): precision **{precision:.2f}**, recall "
            f"**{recall:.2f}**, right speaker on **{speaker:.2f}** of the found ones.")
    return body, numbers


def verdicts(index, embedder) -> tuple[str, dict]:
    from qa.verify import ALTERED_MIN, PARAPHRASE_MIN, VERDICTS, verify

    gold = read("verify.csv")
    started = time.perf_counter()
    results = [verify(index, embedder, g["quote"], g["speaker"] or None) for g in gold]
    seconds = (time.perf_counter() - started) / len(gold)
    confusion = Counter((g["verdict"], r.verdict) for g, r in zip(gold, results, strict=True))
    right = sum(confusion[(v, v)] for v in VERDICTS)
    meaning = sum((g["meaning_changed"] == "true") == r.meaning_changed
                  for g, r in zip(gold, results, strict=True))
    speakers = [(g, r) for g, r in zip(gold, results, strict=True)
                if g["verdict"] != "not_found"]
    speaker_right = sum((g["source_speaker"] or None) == r.speaker for g, r in speakers)
    wrong = [f"`{g['id']}`: expected {g['verdict']}, got {r.verdict} ({r.score:.3f})"
             for g, r in zip(gold, results, strict=True) if g["verdict"] != r.verdict]

    rows = [[f"**{e}**", *[confusion[(e, p)] or "·" for p in VERDICTS],
             sum(confusion[(e, p)] for p in VERDICTS)] for e in VERDICTS]
    body = [
        f"Verdicts on {len(gold)} gold cases (tests/gold/verify.csv): accuracy "
        f"**{right}/{len(gold)} = {right / len(gold):.2f}**; meaning_changed right on "
        f"{meaning}/{len(gold)}; source speaker right on {speaker_right}/{len(speakers)}; "
        f"{seconds:.2f} s per quote (model and index loaded). Thresholds: "
        f"ALTERED_MIN={ALTERED_MIN}, PARAPHRASE_MIN={PARAPHRASE_MIN}.",
        "",
        "Rows: expected verdict; columns: verdict given.",
        "",
        table(["expected \\ given", *VERDICTS, "cases"], rows),
    ]
    if wrong:
        body += ["", "Wrong: " + "; ".join(wrong) + "."]
    body += ["", calibration(index, embedder, gold)]
    return "\n".join(body), {"accuracy": right / len(gold)}


def calibration(index, embedder, gold: list[dict[str, str]]) -> str:
    """Accuracy of each pair of thresholds on the gold cases, from two runs per case."""
    from qa.quotes import same_speaker
    from qa.verify import ALTERED_MIN, PARAPHRASE_MIN, only_meaning_changes, verify

    cases = []
    for g in gold:
        words = verify(index, embedder, g["quote"], altered_min=0.0)  # best word similarity
        meaning = verify(index, embedder, g["quote"], altered_min=2.0, paraphrase_min=-1.0)
        exact = words.verdict == "verbatim"
        # the rule that keeps a changed number or negation "altered" at any similarity
        similarity = words.score if words.match else 0.0
        if only_meaning_changes(words.differences, len(g["quote"].split())):
            similarity = 1.0
        cases.append((g, exact, similarity, meaning.score, words.speaker, meaning.speaker))

    def accuracy(altered_min: float, paraphrase_min: float) -> float:
        right = 0
        for g, exact, similarity, cosine, by_words, by_meaning in cases:
            if exact:
                verdict, said = "verbatim", by_words
            elif similarity >= altered_min:
                verdict, said = "altered", by_words
            elif cosine >= paraphrase_min:
                verdict, said = "paraphrase", by_meaning
            else:
                verdict, said = "not_found", None
            if g["speaker"] and said and verdict != "not_found" \
                    and not same_speaker(g["speaker"], said):
                verdict = "misattributed"
            right += verdict == g["verdict"]
        return right / len(cases)

    altered = [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]
    paraphrase = [0.5, 0.55, 0.58, 0.6, 0.62, 0.65, 0.7, 0.75, 0.8]
    rows = [[f"**{a}**", *[f"{accuracy(a, p):.2f}" for p in paraphrase]] for a in altered]
    sims = {v: sorted(round(c[3], 2) for c in cases if c[0]["verdict"] == v)
            for v in ("paraphrase", "not_found")}
    words = {v: sorted(round(c[2], 2) for c in cases if c[0]["verdict"] == v and not c[1])
             for v in ("altered", "paraphrase", "not_found")}
    return "\n".join([
        f"Calibration (chosen: ALTERED_MIN={ALTERED_MIN}, PARAPHRASE_MIN={PARAPHRASE_MIN}). "
        "Accuracy by threshold pair; rows ALTERED_MIN, columns PARAPHRASE_MIN. The thresholds "
        "sit inside the widest plateau; the gold set is small, so treat them as provisional.",
        "",
        table(["altered \\ paraphrase", *map(str, paraphrase)], rows),
        "",
        "Best word similarity by expected verdict (1.0 where only a number or a negation "
        f"changed, which is altered at any similarity): altered {words['altered']}; "
        f"paraphrase {words['paraphrase']}; not_found {words['not_found']}.",
        f"Best model similarity: paraphrase {sims['paraphrase']}; "
        f"not_found {sims['not_found']}.",
    ])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index, embedder = build(Path(tmp))
        extraction_body, extraction_numbers = extraction(index)
        verdict_body, verdict_numbers = verdicts(index, embedder)
    body = "## Quote verification\n\n" + verdict_body + "\n\n" + extraction_body
    print(body)
    write_section("verify", body)


if __name__ == "__main__":
    main()
