"""The judge of "does this sentence answer the question": features and shipped weights.

Every candidate sentence of a question is described by a few numbers (``FEATURES``):

* ``cosine``: the embedder's cosine of question and sentence, and ``cosine_gap``, how far
  it is below the best candidate's;
* ``overlap``: the weighted share of the question's content words the sentence holds
  (words rare among the candidates count more, names and numbers double), and
  ``title_overlap``, the same share found in its document's title;
* ``neighbour``: the best cosine of the sentences just before and after it;
* ``kind_missing``: the question asks for a kind of answer (``qa.kinds``) the sentence
  lacks, and ``list_words``: how long it is, when the question asks for a list;
* ``first``: it opens its document, and ``log_words``: its length.

The score is a logistic regression over them, the probability that the sentence answers.
Its weights live in ``qa/weights/answer_judge.json``, trained by
``bench/train_answer_judge.py`` on TyDi QA English train and COVID-QA only (data licensed
for shipping), with the held-out figures in ``qa/weights/MODEL_CARD.md``.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QAError
from qa.kinds import asks_for, has_kind, is_list_question

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FEATURES", "WEIGHTS", "Judge", "JudgeLoadError", "Sentence", "content_terms",
           "features", "load_judge", "overlaps", "words"]

WEIGHTS = Path(__file__).resolve().parent / "weights" / "answer_judge.json"
FORMAT = 1
FEATURES = ("cosine", "cosine_gap", "overlap", "title_overlap", "neighbour", "kind_missing",
            "list_words", "first", "log_words")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each else few for
from further had has have having he her here hers herself him himself his how i if in into
is it its itself just me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom whose why will with would you your yours yourself
say said says tell told many much one two way ways thing things kind type get got make made
""".split())
_WORD = re.compile(r"[\w’'-]+")
# Words a question and its answer use for the same act: a reporter asks "Whom did he ask
# for help?" of "I appealed to ... to assist". Each class counts as one word.
_SAME_ACT = {w: cls.split()[0] for cls in (
    "ask asked asks asking appeal appealed appeals request requested requests",
    "help helped helps helping assist assisted assists assistance aid aided",
    "meet met meets meeting session sessions",
    "order ordered orders instruct instructed instructs",
) for w in cls.split()}


class JudgeLoadError(QAError):
    """The answer judge's weights file is missing or damaged."""


# ----------------------------------------------------------------------------- words


def words(text: str) -> list[str]:
    return [w.strip("’'-") for w in _WORD.findall(text) if w.strip("’'-")]


def stem(word: str) -> str:
    """A crude stem: the first five letters keep 'attacked'/'attack', 'aircrafts'/'aircraft'.

    Words of one ``_SAME_ACT`` class ("appealed", "asked") share the class's stem.
    """
    word = word.lower()
    word = _SAME_ACT.get(word, word)
    return word if word.isdigit() else word[:5]


def content_terms(text: str) -> dict[str, float]:
    """Stems of the content words of ``text``: names and numbers weigh 2, other words 1."""
    terms: dict[str, float] = {}
    for i, word in enumerate(words(text)):
        lower = word.lower()
        if lower in STOPWORDS or (len(lower) < 2 and not lower.isdigit()):
            continue
        # a capital inside the sentence (not its first word) or a digit marks a name/number
        special = any(c.isdigit() for c in word) or (i > 0 and word[0].isupper())
        s = stem(lower)
        terms[s] = max(terms.get(s, 0.0), 2.0 if special else 1.0)
    return terms


def overlaps(question: str, texts: Sequence[str], among: Sequence[str] | None = None,
             ) -> list[float]:
    """Weighted share of the question's content words found in each of ``texts``.

    Rarity is measured among ``among`` (default: ``texts``), the candidate sentences: a
    word every candidate shares (the corpus's main subject, say) says little about which
    one answers.
    """
    wanted = content_terms(question)
    if not wanted:
        return [0.0] * len(texts)
    stems = [{stem(w) for w in words(s)} for s in texts]
    pool = stems if among is None else [{stem(w) for w in words(s)} for s in among]
    n = len(pool)
    weight = {t: w * math.log(1 + (n + 1) / (1 + sum(t in s for s in pool)))
              for t, w in wanted.items()}
    total = sum(weight.values())
    return [sum(w for t, w in weight.items() if t in s) / total for s in stems]


# ----------------------------------------------------------------------------- features


@dataclass(frozen=True)
class Sentence:
    """What the judge knows of one candidate sentence.

    ``lexical_text`` is what the word overlap reads: the sentence, plus the name of the
    speaker when it is inside an attributed quotation. ``neighbour`` is the best cosine
    of the sentences next to it (None: none was scored).
    """

    text: str
    cosine: float
    title: str = ""
    neighbour: float | None = None
    first: bool = False
    lexical_text: str = ""


def features(question: str, sentences: Sequence[Sentence]) -> np.ndarray:
    """One row of ``FEATURES`` per sentence, for the candidates of one question."""
    import numpy as np

    if not sentences:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    kind = asks_for(question)
    listing = is_list_question(question)
    lexical = [s.lexical_text or s.text for s in sentences]
    over = overlaps(question, lexical)
    titles = {s.title for s in sentences}
    title_over = dict(zip(titles, overlaps(question, list(titles), among=lexical),
                          strict=True))
    best = max(s.cosine for s in sentences)
    rows = []
    for s, o in zip(sentences, over, strict=True):
        n_words = len(words(s.text))
        rows.append((
            s.cosine, best - s.cosine, o, title_over[s.title],
            s.cosine if s.neighbour is None else s.neighbour,
            float(not has_kind(lexical[len(rows)], kind)),
            math.log1p(n_words) if listing else 0.0,
            float(s.first), math.log1p(n_words),
        ))
    return np.asarray(rows, dtype=np.float64)


# ----------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class Judge:
    """A logistic regression over standardised ``FEATURES``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    name: str = "answer_judge"

    def __post_init__(self) -> None:
        n = len(FEATURES)
        if not len(self.mean) == len(self.scale) == len(self.weights) == n:
            raise ValueError(f"a judge needs {n} means, scales and weights")
        if any(not s > 0 for s in self.scale):
            raise ValueError("feature scales must be positive")

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The probability that each sentence answers, from its ``features`` row."""
        import numpy as np

        if len(rows) == 0:
            return np.zeros(0)
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(
            self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def as_json(self) -> dict:
        return {"format": FORMAT, "features": list(FEATURES), "mean": list(self.mean),
                "scale": list(self.scale), "weights": list(self.weights), "bias": self.bias}


_LOADED: dict[Path, Judge] = {}
_LOCK = threading.Lock()


def load_judge(path: Path | str = WEIGHTS) -> Judge:
    """The judge stored at ``path`` (default: the shipped one), read once per process."""
    path = Path(path)
    with _LOCK:
        if path in _LOADED:
            return _LOADED[path]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or tuple(data["features"]) != FEATURES:
                raise ValueError("it was written for other features")
            judge = Judge(tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                          tuple(map(float, data["weights"])), float(data["bias"]))
        except FileNotFoundError:
            raise JudgeLoadError(f"The answer judge's weights file {path} is missing. "
                                 "Reinstall qa to restore it.") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise JudgeLoadError(f"The answer judge's weights file {path} is damaged "
                                 f"({e}). Reinstall qa to restore it.") from None
        _LOADED[path] = judge
        return judge
