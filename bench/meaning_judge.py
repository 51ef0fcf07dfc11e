"""An experiment that did not ship: a cross-encoder judge of "quote and passage mean the same".

``qa.align`` checks that every word of a quote has a counterpart in the passage, but it
reads words, not sentences: "the troops fired on the crowd" and "the crowd fired on the
troops" align word for word. ``MeaningJudge`` reads quote and passage together (one
transformer over both) and gives the probability that they mean the same.

It is the packaged all-MiniLM-L6-v2 fine-tuned as a pair classifier by
``bench/train_meaning_judge.py`` on PAWS dev, STS-B and word-swap pairs (data licensed for
shipping), kept in ``bench/.cache/meaning/`` (not in git). Its word embeddings stay those of
the packaged model; every other matrix is stored as int8 with one scale per row (11 MB).

It is not part of qa: gating the paraphrase verdict with it lowered MRPC and WiCE test
accuracy and rejected real paraphrases of the gold quotes, and it does not tell swapped
roles apart ("the police detained the protesters" / "the protesters detained the
police": 0.99). bench/bench_paraphrase.py and bench/bench_verify.py score it as a loser
row when its weights are there (docs/benchmarks.md, sections ``paraphrase``, ``verify``
and ``meaning-judge``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.embedding import DEFAULT_MODEL, model_location

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = ["WEIGHTS", "MeaningJudge", "dequantise", "load_meaning_judge", "quantise",
           "sentence_model"]

WEIGHTS = Path(__file__).resolve().parent / ".cache" / "meaning" / "model.safetensors"
FORMAT = 1
MAX_LENGTH = 128
_SHARED = "bert.embeddings.word_embeddings.weight"  # loaded from the packaged model


def quantise(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` without the shared word embeddings, every matrix as int8 rows + scales."""
    import torch

    out = {}
    for name, tensor in state.items():
        if name == _SHARED:
            continue
        tensor = tensor.detach().float().contiguous()
        if tensor.dim() == 2 and min(tensor.shape) > 16:
            scale = tensor.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / 127
            out[name + ".int8"] = torch.round(tensor / scale).to(torch.int8).contiguous()
            out[name + ".scale"] = scale.squeeze(1).contiguous()
        else:
            out[name] = tensor
    return out


def dequantise(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float state dict ``quantise`` stored (still without the word embeddings)."""
    out = {}
    for name, tensor in tensors.items():
        if name.endswith(".scale"):
            continue
        if name.endswith(".int8"):
            base = name[: -len(".int8")]
            out[base] = tensor.float() * tensors[base + ".scale"].unsqueeze(1)
        else:
            out[name] = tensor
    return out


def sentence_model(name: str = DEFAULT_MODEL):
    """A pair classifier (one logit) made from the packaged model, and its tokeniser."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    transformers.logging.set_verbosity_error()  # "newly initialised classifier" is expected
    transformers.logging.disable_progress_bar()
    location = model_location(name)
    model = AutoModelForSequenceClassification.from_pretrained(
        location, num_labels=1, local_files_only=True)
    return model, AutoTokenizer.from_pretrained(location, local_files_only=True)


class MeaningJudge:
    """The probability that a passage and a quote mean the same (``same``)."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        import torch
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata() or {}
        if int(meta.get("format", 0)) != FORMAT:
            raise ValueError(f"{weights} has format {meta.get('format')!r}, not {FORMAT}")
        model, tokenizer = sentence_model(meta.get("base", DEFAULT_MODEL))
        missing, unexpected = model.load_state_dict(dequantise(load_file(str(weights))),
                                                    strict=False)
        if unexpected or set(missing) - {_SHARED}:
            raise ValueError(f"{weights} does not fit the packaged model")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.threshold = float(meta["threshold"])
        self._torch = torch
        self._lock = threading.Lock()

    def same(self, pairs: Sequence[tuple[str, str]], *, batch_size: int = 32) -> np.ndarray:
        """For each ``(passage, quote)``, the probability that they mean the same."""
        import numpy as np

        torch = self._torch
        out = []
        with self._lock, torch.inference_mode():
            for i in range(0, len(pairs), batch_size):
                chunk = pairs[i:i + batch_size]
                batch = self.tokenizer([p for p, _ in chunk], [q for _, q in chunk],
                                       padding=True, truncation=True, max_length=MAX_LENGTH,
                                       return_tensors="pt")
                out.append(torch.sigmoid(self.model(**batch).logits[:, 0]).float().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def load_meaning_judge(weights: Path = WEIGHTS) -> MeaningJudge | None:
    """The trained judge, or None when bench/train_meaning_judge.py has not been run."""
    return MeaningJudge(weights) if weights.is_file() else None


def _metadata(**fields) -> dict[str, str]:
    return {"format": str(FORMAT), **{k: json.dumps(v) if not isinstance(v, str) else v
                                      for k, v in fields.items()}}
