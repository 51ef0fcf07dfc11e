"""Shared fixtures: a deterministic fake embedder for logic tests, and the seed corpus."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "2022-01-06-tokayev-security-council-session.txt"


class FakeEmbedder:
    """Bag of hashed words: texts sharing words get close vectors. Fast and deterministic."""

    name = "fake"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts, *, progress=False):
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0
            out[row, -1] += 1e-3  # no zero vectors
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Compiled encoders go to a folder of this run (subprocesses inherit it), not ~/.cache."""
    os.environ["QA_CACHE_DIR"] = str(tmp_path_factory.mktemp("qa-cache"))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def copy_seed(corpus: Path) -> Path:
    """Create ``corpus`` holding the seed document and its metadata sidecar."""
    corpus.mkdir(parents=True, exist_ok=True)
    for src in (SEED, SEED.with_name(SEED.name + ".meta.json")):
        shutil.copy(src, corpus / src.name)
    return corpus


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A corpus folder holding the seed document and its metadata sidecar."""
    return copy_seed(tmp_path / "corpus")


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    from qa.embedding import load_embedder

    return load_embedder()


def build_index(corpus: Path, index: Path, embedder):
    """Index ``corpus`` into ``index`` with ``embedder`` and load it."""
    from qa.index import Index, update

    update(corpus, index, model=embedder.name, load_embedder=lambda _: embedder)
    return Index.load(index, model=embedder.name)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, real_embedder):
    """The seed indexed once with the packaged model, for read-only tests."""
    root = tmp_path_factory.mktemp("seed-index")
    return build_index(copy_seed(root / "corpus"), root / "index", real_embedder)
