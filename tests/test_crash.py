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

TRIALS = 20


def start_index(env):
    return subprocess.Popen([sys.executable, "-m", "qa", "index"], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
    started = time.perf_counter()
    proc = start_index(env)
    proc.wait(timeout=600)
    full = time.perf_counter() - started
    new_docs, _ = snapshot(tmp_path / "index")

    outcomes = {"old": 0, "new": 0}
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
        proc = start_index(env)
        time.sleep(rng.uniform(0.2, full * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
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
    assert sum(outcomes.values()) == TRIALS
