"""The optional LLM reader: an OpenAI-compatible server picks which candidate sentences answer.

Given a question and numbered candidate sentences, ``choose`` asks the server (a newsroom's own
Ollama, vLLM or llama.cpp server) for the numbers of the sentences that answer, or "none". The
reader only ever returns indices into the candidates it was given, so an answer built from it
is still the documents' own sentences with their exact offsets: whatever else the server says
is ignored.

The server is never trusted to be there: a server that is down, slow, answers an HTTP error,
sends something that is not a chat completion, or names no candidate, gives a ``Reading``
whose ``chosen`` is None and whose ``notice`` says in one line why, so the caller answers with
its own scorer. Only a configuration that cannot work (a URL that is not http/https, a timeout
that is not a positive number) raises, when the ``ReaderConfig`` is made.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from qa.errors import InvalidInputError

__all__ = ["EXAMPLES", "ReaderConfig", "Reading", "choose", "parse_reply", "prompt"]

SYSTEM = ("You choose which numbered sentences answer a question. Reply with the numbers of "
          "the sentences that answer it, separated by commas, or with the word none if no "
          "sentence answers it. Reply with nothing else.")
# Two worked exchanges before the question: small models then reply with numbers or "none"
# instead of reciting the list (bench/bench_reader.py measures both ways).
EXAMPLES: tuple[tuple[str, Sequence[str], str], ...] = (
    ("What colour is the sky?",
     ["Grass is green.", "The sky is blue on a clear day.", "Clouds are white."], "2"),
    ("Who wrote Hamlet?", ["Paris is in France.", "The Seine flows through Paris."], "none"),
)
_MAX_REPLY_BYTES = 1 << 20  # a chat completion naming a few numbers is far smaller
_MAX_SENTENCE_CHARS = 600  # keeps a prompt of ten long sentences inside a small model's context
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?![\w.]\d)")
_NONE = re.compile(r"\b(none|no sentence|neither)\b", re.I)
_LIST_ITEM = re.compile(r"^\s*\d+[.)]\s+\S", re.M)


@dataclass(frozen=True)
class ReaderConfig:
    """Where the LLM server is and how long to wait for it.

    Attributes:
        url: the server's base address, ``http://host:port`` (``/v1`` may follow).
        model: the model name the server knows (llama.cpp's server ignores it).
        timeout: seconds to wait for the connection and for each read of the reply.
        max_tokens: the longest reply asked for; a list of a few numbers needs few.
    """

    url: str
    model: str = "default"
    timeout: float = 10.0
    max_tokens: int = 16

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(f"The LLM server address {self.url!r} is not an http:// or "
                                    "https:// URL. Give one like http://127.0.0.1:11434.")
        if not (isinstance(self.timeout, int | float) and 0 < self.timeout < math.inf):
            raise InvalidInputError(f"The LLM server timeout {self.timeout!r} is not a positive "
                                    "number of seconds.")
        if not self.model.strip():
            raise InvalidInputError("The LLM model name is empty. Give the name the server "
                                    "knows the model by.")
        if self.max_tokens < 1:
            raise InvalidInputError(f"max_tokens {self.max_tokens!r} must be at least 1.")

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


@dataclass(frozen=True)
class Reading:
    """What the reader made of one question.

    Attributes:
        chosen: 0-based indices into the candidates, the reader's first choice first; ``()``
            when it says none answers; None when it could not be used, so the caller falls
            back to its own scorer.
        notice: one line for people when it fell back, else None.
    """

    chosen: tuple[int, ...] | None
    notice: str | None = None

    def __post_init__(self) -> None:
        if (self.chosen is None) != (self.notice is not None):
            raise ValueError("a Reading falls back (chosen None) exactly when it has a notice")
        if self.notice is not None and ("\n" in self.notice or "\r" in self.notice):
            raise ValueError("a notice is one line")


def prompt(question: str, sentences: Sequence[str]) -> list[dict[str, str]]:
    """The chat messages that ask which of ``sentences`` (numbered from 1) answer.

    The system instruction, then ``EXAMPLES`` as past exchanges, then the question.
    """
    messages = [{"role": "system", "content": SYSTEM}]
    for example, candidates, reply in EXAMPLES:
        messages += [{"role": "user", "content": _ask(example, candidates)},
                     {"role": "assistant", "content": reply}]
    return [*messages, {"role": "user", "content": _ask(question, sentences)}]


def _ask(question: str, sentences: Sequence[str]) -> str:
    lines = []
    for number, sentence in enumerate(sentences, 1):
        text = " ".join(sentence.split())
        if len(text) > _MAX_SENTENCE_CHARS:
            text = text[:_MAX_SENTENCE_CHARS] + "…"
        lines.append(f"{number}. {text}")
    return (f"Question: {' '.join(question.split())}\n\nSentences:\n" + "\n".join(lines)
            + "\n\nWhich sentences answer the question? Reply with their numbers, or none.")


def parse_reply(text: str, count: int) -> tuple[int, ...] | None:
    """The 0-based indices a reply names among ``count`` candidates.

    Numbers that are not candidates (0, negative, too large, part of a decimal) are ignored;
    each index appears once, in the order named. A reply that names no candidate is ``()``
    when it is empty or says "none", and None (unusable) otherwise; so is a reply that
    recites the numbered list (two or more lines like "1. text") instead of choosing.
    """
    if len(_LIST_ITEM.findall(text)) >= 2:
        return None
    chosen: list[int] = []
    for match in _NUMBER.finditer(text):
        number = int(match.group())
        if 1 <= number <= count and number - 1 not in chosen:
            chosen.append(number - 1)
    if chosen:
        return tuple(chosen)
    if not text.strip(" \t\r\n.,;:\"'`[](){}") or _NONE.search(text):
        return ()
    return None


def choose(question: str, sentences: Sequence[str], config: ReaderConfig) -> Reading:
    """Ask the server at ``config.url`` which of ``sentences`` answer ``question``.

    Never raises for trouble with the server: a fallback ``Reading`` (``chosen`` None, with a
    one-line ``notice``) comes back instead.
    """
    if not sentences:
        return Reading(())
    body = json.dumps({
        "model": config.model,
        "messages": prompt(question, sentences),
        "temperature": 0,
        "max_tokens": config.max_tokens,
        "stream": False,
    }).encode("utf-8")
    request = urllib.request.Request(config.endpoint, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
    where = f"The LLM server at {config.url}"
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            raw = response.read(_MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as e:
        return _fallback(f"{where} answered HTTP {e.code}")
    except (TimeoutError, urllib.error.URLError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError):
            return _fallback(f"{where} did not answer within {config.timeout:g} s")
        return _fallback(f"{where} could not be reached ({_one_line(reason)})")
    except (OSError, http.client.HTTPException) as e:
        return _fallback(f"{where} broke off its reply ({_one_line(e) or type(e).__name__})")
    if time.monotonic() - started > config.timeout:
        return _fallback(f"{where} did not answer within {config.timeout:g} s")
    if len(raw) > _MAX_REPLY_BYTES:
        return _fallback(f"{where} sent a reply too long to be a chat completion")
    content = _content(raw)
    if content is None:
        return _fallback(f"{where} sent a reply that is not a chat completion")
    chosen = parse_reply(content, len(sentences))
    if chosen is None:
        return _fallback(f"{where} named no candidate sentence in its reply")
    return Reading(chosen)


def _content(raw: bytes) -> str | None:
    """The first choice's message text of an OpenAI chat completion, or None."""
    try:
        reply = json.loads(raw.decode("utf-8"))
        content = reply["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _fallback(what: str) -> Reading:
    return Reading(None, f"{what}; answered with the local scorer.")


def _one_line(reason: object) -> str:
    return " ".join(str(reason).split())[:200]
