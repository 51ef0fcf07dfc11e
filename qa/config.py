"""Settings: where the corpus and index live and which model to use."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from qa.embedding import DEFAULT_MODEL, PRECISIONS
from qa.errors import InvalidInputError

__all__ = ["Settings"]

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. ``from_env`` fills what is not given from ``QA_*`` variables.

    Attributes:
        corpus: folder of source documents (``QA_CORPUS``, default ``corpus/``).
        index: folder of the built index (``QA_INDEX``, default ``index/``).
        model: embedding model name or path (``QA_MODEL``, default the packaged MiniLM).
        precision: ``auto``, ``bf16`` or ``fp32`` (``QA_PRECISION``).
        read_only: refuse uploads and deletions (``QA_READ_ONLY``).
        llm_url: an OpenAI-compatible server for the optional LLM reader (``QA_LLM_URL``;
            empty: no LLM reader).
        llm_model: the model name that server knows (``QA_LLM_MODEL``).
        llm_timeout: seconds to wait for that server (``QA_LLM_TIMEOUT``, default 10).
    """

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    precision: str = "auto"
    read_only: bool = False
    llm_url: str = ""
    llm_model: str = "default"
    llm_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise InvalidInputError(f"Invalid precision {self.precision!r}. "
                                    f"Choose from {', '.join(PRECISIONS)}.")

    @classmethod
    def from_env(cls, **given: object) -> Settings:
        env = os.environ
        settings = cls(
            corpus=Path(env.get("QA_CORPUS") or "corpus"),
            index=Path(env.get("QA_INDEX") or "index"),
            model=env.get("QA_MODEL") or DEFAULT_MODEL,
            precision=env.get("QA_PRECISION") or "auto",
            read_only=env.get("QA_READ_ONLY", "").strip().lower() in _TRUE,
            llm_url=env.get("QA_LLM_URL", "").strip(),
            llm_model=env.get("QA_LLM_MODEL", "").strip() or "default",
            llm_timeout=_seconds("QA_LLM_TIMEOUT", env.get("QA_LLM_TIMEOUT", ""), 10.0),
        )
        return replace(settings, **{k: v for k, v in given.items() if v is not None})


def _seconds(name: str, raw: str, default: float) -> float:
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise InvalidInputError(f"{name}={raw!r} is not a positive number of seconds. "
                                f"Set it like {name}={default:g}, or unset it.")
    return value
