"""Reliability: hostile files, oversized and empty input, and SIGKILL during indexing.

Everything goes through the real `qa` command with the packaged model, as a user runs it:

* hostile files: each input of tests/test_hostile.py's ``HOSTILE`` list is put beside the
  seed document in a corpus of its own and ``qa index --corpus C --index I`` is run.
  Recorded: the line printed about the file (or whether it was indexed or left out),
  whether the seed was indexed, the exit code and the run's peak resident memory (from
  ``wait4``). A last run indexes all of them together;
* a 100 kB query and quote, and empty ones, through ``qa search`` and ``qa verify``;
* SIGKILL trials as in tests/test_crash.py: ``qa index`` adding 40 documents is killed at a
  random moment, then the index must load with every checksum verified and be exactly
  the old or the new version, and answer a search.

Usage: ``python bench/bench_reliability.py [--trials K]``. Needs nothing outside this
repository; takes about ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import REPORT, write_section  # noqa: E402
from tests.conftest import SEED, copy_seed  # noqa: E402
from tests.test_hostile import HOSTILE, INDEXED, NOT_LISTED, Hostile, hostile_corpus  # noqa: E402

HUGE_TEXT = "Almaty airport aircraft " * 4300  # about 100 kB, as in tests/test_hostile.py


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    peak_mb: float
    seconds: float


def qa(*args: str, cwd: Path | None = None) -> Run:
    """Run ``qa ARGS`` (in ``cwd``) to the end: exit code, output, peak resident memory."""
    environment = {k: v for k, v in os.environ.items() if k != "QA_MAX_DOCUMENT_MB"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "qa", *args], stdout=out, stderr=err,
                                env=environment, cwd=cwd)
        # wait4 gives this child's own rusage, where RUSAGE_CHILDREN would give the
        # largest of every child so far
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"), usage.ru_maxrss / 1024, seconds)


def stored(index_dir: Path) -> dict[str, str]:
    """Path -> stored text of every document in the index (empty when there is none)."""
    from qa.index import Index

    if not (index_dir / "manifest.json").exists():
        return {}
    index = Index.load(index_dir, verify=True)
    return {d.path: index.chunks.document(d.doc_id).text for d in index.chunks.documents()}


def cell(text: str, limit: int = 150) -> str:
    """One table cell: control characters escaped, pipes escaped, long text cut."""
    text = text.encode("unicode_escape").decode() if not text.isprintable() else text
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace("|", "\\|")


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# -- hostile files --------------------------------------------------------------------


def outcome(item: Hostile, run: Run, docs: dict[str, str]) -> tuple[str, bool]:
    """What ``qa index`` made of ``item``, and whether that is what the tests expect."""
    lines = [line for line in run.stderr.splitlines() if line.startswith("Skipped ")]
    if item.expected == NOT_LISTED:
        listed = [p for p in docs if p.split("/")[0] == item.path]
        return ("left out (not listed)" if not listed else f"indexed as {listed}"), not listed
    if item.path in docs:
        text = docs[item.path]
        got = f"indexed; stored text starts “{cell(' '.join(text.split())[:60])}”"
        return got, item.expected == INDEXED and item.phrase in text
    if len(lines) == 1:
        return f"`{cell(lines[0], 400)}`", lines[0].startswith("Skipped corpus/") and \
            item.expected in lines[0]
    return f"not indexed; printed {len(lines)} lines", False


INDEX = ("index", "--corpus", "corpus", "--index", "index")


def hostile_runs(work: Path) -> tuple[str, dict]:
    rows, figures = [], {}
    copy_seed(work / "seed" / "corpus")
    baseline = qa(*INDEX, cwd=work / "seed")
    assert baseline.code == 0, baseline.stderr
    figures["baseline"] = baseline
    rows.append(["(seed alone, for reference)", "indexed", "yes", baseline.code,
                 f"{baseline.peak_mb:.0f}", f"{baseline.seconds:.1f}", "yes"])
    for number, item in enumerate(HOSTILE):
        folder = work / f"hostile-{number:02d}"
        corpus = hostile_corpus(folder / "corpus", folder / "outside", [item])
        run = qa(*INDEX, cwd=folder)
        docs = stored(folder / "index")
        got, as_expected = outcome(item, run, docs)
        figures[item.label] = run
        if item.path == "mixed.txt":
            figures["mixed_utf8_line_kept"] = "Заявление министерства." in docs.get(item.path, "")
        rows.append([item.label, got, "yes" if SEED.name in docs else "**no**", run.code,
                     f"{run.peak_mb:.0f}", f"{run.seconds:.1f}",
                     "yes" if as_expected else "**no**"])
        print(f"{item.label}: {got} (exit {run.code}, {run.peak_mb:.0f} MB)", flush=True)
        if item.path == "huge.txt":
            (corpus / "huge.txt").unlink()  # sparse, but not everywhere
    everything = hostile_corpus(work / "all" / "corpus", work / "all" / "outside")
    together = qa(*INDEX, cwd=work / "all")
    docs = stored(work / "all" / "index")
    skipped = [line for line in together.stderr.splitlines() if line.startswith("Skipped ")]
    expected_docs = 1 + sum(item.expected == INDEXED for item in HOSTILE)
    expected_skips = sum(item.expected not in (INDEXED, NOT_LISTED) for item in HOSTILE)
    figures["together"] = (together, len(docs), expected_docs, len(skipped), expected_skips)
    rows.append([f"all {len(HOSTILE)} together", f"{len(skipped)} `Skipped` lines, "
                 f"{len(docs)} documents indexed", "yes" if SEED.name in docs else "**no**",
                 together.code, f"{together.peak_mb:.0f}", f"{together.seconds:.1f}",
                 "yes" if (len(docs), len(skipped)) == (expected_docs, expected_skips)
                 else "**no**"])
    (everything / "huge.txt").unlink()
    header = ["input (beside the seed)", "what `qa index` did", "seed indexed", "exit code",
              "peak RSS (MB)", "time (s)", "as the tests expect"]
    return table(header, rows), figures


# -- queries and quotes ---------------------------------------------------------------


def input_runs(folder: Path) -> str:
    cases = [
        ("search", "100 kB query", HUGE_TEXT),
        ("search", "empty query", ""),
        ("search", "blank query (spaces and a newline)", "  \n "),
        ("verify", "100 kB quote", HUGE_TEXT),
        ("verify", "empty quote", ""),
        ("verify", "quote of punctuation only", "... — «»"),
    ]
    rows = []
    for command, label, text in cases:
        run = qa(command, text, "--corpus", "corpus", "--index", "index", cwd=folder)
        out = (run.stderr.strip() if run.code else run.stdout.strip()).splitlines()
        first = out[0] if out else ""
        rows.append([f"`qa {command}`", label, f"`{cell(first, 220)}`" if first else "(nothing)",
                     len(run.stderr.strip().splitlines()) if run.code else "-", run.code,
                     f"{run.peak_mb:.0f}", "no" if "Traceback" in run.stderr else "yes"])
        print(f"qa {command} {label}: exit {run.code}: {first[:100]}", flush=True)
    return table(["command", "input", "first line printed", "error lines", "exit code",
                  "peak RSS (MB)", "no traceback"], rows)


# -- SIGKILL trials -------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    killed_at: float  # seconds after the start of `qa index`
    outcome: str  # "old", "new" or what went wrong
    searchable: bool


def snapshot(index_dir: Path):
    """The documents of the current version, after checking every file's checksum."""
    from qa.index import Index

    index = Index.load(index_dir, verify=True)
    if not len(index.store) == index.chunks.count() == index.manifest.chunks:
        raise AssertionError("vectors, chunks and manifest disagree")
    if {d.doc_id for d in index.chunks.documents()} != set(index.manifest.documents):
        raise AssertionError("stored documents and manifest disagree")
    return frozenset(index.manifest.documents), index


def crash_trials(work: Path, trials: int, seed: int = 7) -> tuple[list[Trial], dict]:
    """SIGKILL ``qa index`` at random moments while it adds 40 documents to the seed."""
    from qa.embedding import load_embedder
    from qa.retrieval import search

    embedder = load_embedder()
    corpus = copy_seed(work / "corpus")
    index_dir = work / "index"
    args = ("index", "--corpus", str(corpus), "--index", str(index_dir))
    assert qa(*args).code == 0
    for i in range(40):
        (corpus / f"extra-{i:02}.txt").write_text(
            f"Report {i}. " + " ".join(f"Sentence {j} of report {i} about Almaty."
                                       for j in range(60)), encoding="utf-8")
    full = qa(*args)
    new_docs, _ = snapshot(index_dir)
    rng = random.Random(seed)
    hidden = work / "hidden"
    hidden.mkdir()
    results = []
    for trial in range(trials):
        for path in sorted(corpus.glob("extra-*.txt")):  # back to the old version
            path.rename(hidden / path.name)
        assert qa(*args).code == 0
        old_docs, _ = snapshot(index_dir)
        for path in sorted(hidden.iterdir()):
            path.rename(corpus / path.name)

        environment = {k: v for k, v in os.environ.items() if k != "QA_MAX_DOCUMENT_MB"}
        proc = subprocess.Popen([sys.executable, "-m", "qa", *args], env=environment,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.perf_counter()
        time.sleep(rng.uniform(0.2, full.seconds * 1.1))
        proc.send_signal(signal.SIGKILL)
        killed_at = time.perf_counter() - started
        proc.wait()
        try:
            docs, index = snapshot(index_dir)
            found = "old" if docs == old_docs else "new" if docs == new_docs else "a mix"
            searchable = bool(search(index, embedder, "Security Council session", k=1))
        except Exception as exc:  # noqa: BLE001 - any failure is the finding to record
            found, searchable = f"unreadable: {type(exc).__name__}: {exc}", False
        results.append(Trial(killed_at, found, searchable))
        print(f"trial {trial + 1}: killed at {killed_at:.1f} s -> {found}", flush=True)
    final = qa(*args)
    final_docs, _ = snapshot(index_dir)
    leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-")]
    return results, {"full": full, "final": final, "final_is_new": final_docs == new_docs,
                     "leftovers": leftovers}


def crash_section(results: list[Trial], info: dict) -> str:
    kept = sum(r.outcome in ("old", "new") for r in results)
    olds = sum(r.outcome == "old" for r in results)
    news = sum(r.outcome == "new" for r in results)
    searchable = sum(r.searchable for r in results)
    full = info["full"].seconds
    moments = ", ".join(f"{r.killed_at:.1f}" for r in sorted(results, key=lambda r: r.killed_at))
    rows = [[i + 1, f"{r.killed_at:.1f}", f"{100 * r.killed_at / full:.0f}%", r.outcome,
             "yes" if r.searchable else "**no**"] for i, r in enumerate(results)]
    return (
        f"`qa index` adding 40 documents (about {full:.0f} s uninterrupted, model loading "
        f"included) to an index of the seed was killed with SIGKILL at a random moment "
        f"between 0.2 s and 110% of that time, {len(results)} times. After each kill the "
        f"index was loaded with every file's sha256 checked against the manifest.\n\n"
        f"- **{kept} of {len(results)}** trials left exactly the old or the new version "
        f"({olds} old, {news} new, "
        f"{len(results) - kept} anything else); {searchable} of {len(results)} answered a "
        f"search straight after the kill.\n"
        f"- Kill moments (s): {moments}.\n"
        f"- The next normal run exited with code {info['final'].code}, "
        f"{'reached' if info['final_is_new'] else 'did **not** reach'} the new version, and "
        f"left {len(info['leftovers'])} temporary folders behind.\n\n"
        + table(["trial", "killed at (s)", "of a full run", "index afterwards", "searchable"],
                rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="SIGKILL trials (default 20)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qa-reliability-") as folder:
        work = Path(folder)
        hostile_table, figures = hostile_runs(work / "hostile")
        inputs_table = input_runs(work / "hostile" / "seed")
        shutil.rmtree(work / "hostile")
        results, info = crash_trials(work / "crash", args.trials)

    baseline = figures["baseline"].peak_mb
    huge = figures[next(item.label for item in HOSTILE if item.path == "huge.txt")].peak_mb
    mixed_note = "" if figures.get("mixed_utf8_line_kept", True) else (
        "A file mixing encodings is read with one encoding for the whole file: in the mixed "
        "file above the cp1251 line reads right and the UTF-8 line comes out garbled "
        "(mojibake), so it is indexed but that line cannot be found by its words.\n\n")
    body = f"""## Reliability

What tests/test_hostile.py and tests/test_crash.py establish, measured on the real `qa`
command with the packaged model (`python -m qa`, one process per run).

### Hostile files

Each input is put beside the seed document in a corpus of its own and indexed with
`qa index --corpus C --index I`; the last row indexes all of them in one corpus. A file
qa cannot use is reported on one line starting `Skipped`, the rest is indexed, and the
exit code is 1 so that scripts notice. Peak RSS is the whole process (model included).

{hostile_table}

{mixed_note}The 200 MB file is sparse (a line of text, then zeros): the limit is checked from the
file's size before it is read, and change detection hashes it in 1 MB blocks, so its run
peaked at **{huge:.0f} MB against {baseline:.0f} MB** for the seed alone
({huge - baseline:+.0f} MB). One document may be at most 50 MB (`QA_MAX_DOCUMENT_MB`);
see [security.md](security.md#size-limit).

### Oversized and empty queries and quotes

On an index of the seed. Errors are one line on stderr, without a traceback.

{inputs_table}

### SIGKILL during `qa index`

{crash_section(results, info)}
"""
    write_section("reliability", body)
    text = REPORT.read_text(encoding="utf-8")
    if "<!-- bench:reliability -->" not in text or "### SIGKILL during" not in text:
        sys.exit(f"the reliability section is missing from {REPORT} after writing it")
    print(f"wrote the reliability section of {REPORT}")


if __name__ == "__main__":
    main()
