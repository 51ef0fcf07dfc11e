"""SIGKILL during real `qa index` runs: the index is always exactly the old or the new one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from qa.index import Index

pytestmark = pytest.mark.slow

# Where a kill can land, in the order an update goes through them; each is aimed at
# TRIALS / len(PHASES) times, and the test checks where the kills really landed.
PHASES = ("import", "read", "embed", "write", "switch")
TRIALS = 20
STAGES = {"Reading documents": "read", "Embedding chunks": "embed",
          "Switching to the new version": "switch"}  # every other stage is "write"

# A real update in its own process that logs each stage it enters, line-buffered, so the
# test knows where the kill landed.
CHILD = """
import os, sys
from pathlib import Path
log = open(sys.argv[1], "a", buffering=1)
log.write("import\\n")
from qa.embedding import load_embedder
from qa.index import update
update(Path(os.environ["QA_CORPUS"]), Path(os.environ["QA_INDEX"]), model="all-MiniLM-L6-v2",
       load_embedder=load_embedder,
       on_progress=lambda stage, done, total: log.write(stage + "\\n"))
"""


def start_index(env, log):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(log)], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def phases(log) -> list[str]:
    """The phases the child has entered, in order."""
    return [line if line == "import" else STAGES.get(line, "write")
            for line in log.read_text().splitlines()]


def kill_in(proc, log, phase: str, rng) -> str:
    """SIGKILL ``proc`` soon after it enters ``phase``; where the kill landed, or
    "finished" when the update ended first."""
    deadline = time.monotonic() + 300
    while phase not in phases(log) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 1.0) if phase == "import" else rng.uniform(0.0, 0.02))
    if proc.poll() is not None:
        return "finished"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return (phases(log) or ["import"])[-1]


def snapshot(index_dir):
    index = Index.load(index_dir, verify=True)
    assert len(index.store) == index.chunks.count() == index.manifest.chunks
    assert {d.doc_id for d in index.chunks.documents()} == set(index.manifest.documents)
    return frozenset(index.manifest.documents), index


def corpus_bytes(corpus):
    """Every file of the corpus and its bytes: a failed run must leave them as they were."""
    return {p.relative_to(corpus).as_posix(): p.read_bytes()
            for p in sorted(corpus.rglob("*")) if p.is_file()}


def test_sigkill_at_random_moments_never_mixes_versions(seed_corpus, tmp_path, real_embedder):
    from qa.retrieval import search

    env = {"QA_CORPUS": str(seed_corpus), "QA_INDEX": str(tmp_path / "index")}
    assert subprocess.run([sys.executable, "-m", "qa", "index"], env={**os.environ, **env},
                          capture_output=True).returncode == 0
    rng = random.Random(7)
    # A batch of new documents makes each update read, embed and write for a while.
    for i in range(40):
        (seed_corpus / f"extra-{i:02}.txt").write_text(
            f"Report {i}. " + " ".join(f"Sentence {j} of report {i} about Almaty."
                                       for j in range(60)), encoding="utf-8")
    assert subprocess.run([sys.executable, "-m", "qa", "index"], env={**os.environ, **env},
                          capture_output=True).returncode == 0
    new_docs, _ = snapshot(tmp_path / "index")

    outcomes = {"old": 0, "new": 0}
    landed = []
    for trial in range(TRIALS):
        # Restore the old version: index only the seed, then add the extras back.
        extras = sorted(seed_corpus.glob("extra-*.txt"))
        hidden = tmp_path / "hidden"
        hidden.mkdir(exist_ok=True)
        for p in extras:
            p.rename(hidden / p.name)
        subprocess.run([sys.executable, "-m", "qa", "index"], env={**os.environ, **env},
                       capture_output=True, check=True)
        old_docs, _ = snapshot(tmp_path / "index")
        for p in hidden.iterdir():
            p.rename(seed_corpus / p.name)

        before = corpus_bytes(seed_corpus)
        log = tmp_path / f"phases-{trial}.log"
        log.touch()
        proc = start_index(env, log)
        landed.append(kill_in(proc, log, PHASES[trial % len(PHASES)], rng))
        assert corpus_bytes(seed_corpus) == before, f"trial {trial}: the corpus changed"

        docs, index = snapshot(tmp_path / "index")
        assert docs in (old_docs, new_docs), f"trial {trial}: a mix of versions"
        outcomes["old" if docs == old_docs else "new"] += 1
        assert search(index, real_embedder, "Security Council session", k=1)

    # After the last kill, a normal run completes and cleans up after the killed ones.
    assert subprocess.run([sys.executable, "-m", "qa", "index"], env={**os.environ, **env},
                          capture_output=True).returncode == 0
    docs, _ = snapshot(tmp_path / "index")
    assert docs == new_docs
    leftovers = [p.name for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []
    # the kills landed in every phase, the short writing and switching ones included, and
    # both outcomes occurred: a kill before the switch keeps the old version, after it the new
    assert set(landed) >= {"read", "embed", "write", "switch"}, landed
    assert outcomes["old"] and outcomes["new"], (outcomes, landed)
