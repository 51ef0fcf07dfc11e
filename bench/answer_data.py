"""Answer-sentence data for the judge's training and benches: one ``Item`` per question.

Each item holds a question, its candidate sentences in document order, the title, and
which sentences answer. ``featurise`` embeds them (vectors cached on disk, keyed by model
and text) and turns them into ``qa.judge.features`` rows exactly as ``qa.answer`` does.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.report import SHARED as DATA  # noqa: F401 (read by train_answer_judge)

VARIANTS = Path(__file__).resolve().parent / "judge_variants.json"


@dataclass
class Item:
    question: str
    title: str
    sentences: list[str]
    labels: list[bool]
    first: int = 0  # index of the document's first sentence among ``sentences`` (-1: none)
    group: str = ""  # what a train/held-out split keeps together (COVID-QA: the article)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _spans(text: str) -> list[tuple[int, int]]:
    from qa.sentences import sentence_spans

    return sentence_spans(text)


def _labelled(context: str, starts_ends: list[tuple[int, int]]) -> tuple[list[str], list[bool]]:
    spans = _spans(context)
    labels = [any(s <= a < e for a, _ in starts_ends) for s, e in spans]
    return [context[s:e] for s, e in spans], labels


def tydi(path: Path) -> list[Item]:
    """TyDi QA GoldP (SQuAD format): the gold passage's sentences; answers mark theirs."""
    items = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for p in article["paragraphs"]:
            context = p["context"].replace("\ufeff", " ")
            for qa in p["qas"]:
                spans = [(a["answer_start"], a["answer_start"] + len(a["text"]))
                         for a in qa["answers"]]
                sentences, labels = _labelled(context, spans)
                if any(labels):
                    items.append(Item(qa["question"], article["title"], sentences, labels))
    return items


def covid(path: Path, window: int = 16, seed: int = 0) -> list[Item]:
    """COVID-QA: ``window`` consecutive sentences of the article around the answer.

    The article is too long to be a candidate set (the answer code reads about 16
    sentences), so a window placed at a random offset around the answer stands in for
    what retrieval returns. Offsets are re-anchored with ``context.find``.
    """
    rng = random.Random(seed)
    items = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for p in article["paragraphs"]:
            context = p["context"]
            spans = _spans(context)
            for qa in p["qas"]:
                text = qa["answers"][0]["text"]
                at = context.find(text)
                if at < 0:
                    continue
                hit = next((i for i, (s, e) in enumerate(spans) if s <= at < e), None)
                if hit is None:
                    continue
                lo = max(0, min(hit - rng.randrange(window), len(spans) - window))
                chosen = spans[lo:lo + window]
                items.append(Item(qa["question"], "", [context[s:e] for s, e in chosen],
                                  [s <= at < e for s, e in chosen], 0 if lo == 0 else -1,
                                  str(p.get("document_id", ""))))
    return items


def wikiqa(path: Path) -> OrderedDict[str, Item]:
    """WikiQA (tab-separated, CRLF): each question's summary sentences, by QuestionID."""
    items: OrderedDict[str, Item] = OrderedDict()
    lines = path.read_text(encoding="utf-8").split("\n")
    for line in lines[1:]:
        line = line.rstrip("\r\n")
        if not line:
            continue
        qid, question, _, title, _, sentence, label = line.split("\t")
        item = items.setdefault(qid, Item(question, title, [], []))
        item.sentences.append(sentence)
        item.labels.append(label == "1")
    return items


class VectorCache:
    """Embeddings kept in a ``.npz`` file beside the bench, keyed by model and text."""

    def __init__(self, embedder, path: Path) -> None:
        self.embedder = embedder
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.embedder.name}\0{text}".encode()).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        todo = list(dict.fromkeys((k, t) for k, t in zip(keys, texts, strict=True)
                                  if k not in self.vectors))
        for start in range(0, len(todo), 512):
            batch = todo[start:start + 512]
            for (k, _), v in zip(batch, self.embedder.embed([t for _, t in batch]),
                                 strict=True):
                self.vectors[k] = v
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 384))

    def save(self) -> None:
        keys = list(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k]
                                                                     for k in keys]))


def featurise(items: list[Item], cache: VectorCache) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(features, labels)`` per item, computed as ``qa.answer.rank_sentences`` does."""
    from qa.judge import Sentence, features

    cache.embed([it.question for it in items] + [s for it in items for s in it.sentences])
    out = []
    for it in items:
        q = cache.embed([it.question])[0]
        cos = cache.embed(it.sentences) @ q
        sentences = []
        for i, (text, c) in enumerate(zip(it.sentences, cos, strict=True)):
            near = [float(cos[j]) for j in (i - 1, i + 1) if 0 <= j < len(cos)]
            sentences.append(Sentence(text, float(c), it.title, max(near) if near else None,
                                      i == it.first))
        out.append((features(it.question, sentences), np.asarray(it.labels, dtype=bool)))
    return out


def scorers() -> dict[str, tuple[callable, float | None]]:
    """Every scorer the benches compare: name -> (score of feature rows, its threshold).

    The threshold is the one each scorer abstains below in ``qa.answer`` (today's scorer:
    0.65, the judge: ``ABSTAIN_BELOW``); None for the variants that are not shipped.
    """
    from qa.answer import ABSTAIN_BELOW
    from qa.judge import FEATURES, Judge, load_judge

    cos, over, kind = (FEATURES.index(f) for f in ("cosine", "overlap", "kind_missing"))
    out = {
        "cosine only": (lambda x: x[:, cos], None),
        "before: cosine + 0.5 overlap": (lambda x: x[:, cos] + 0.5 * x[:, over], 0.65),
        "before + answer-kind rule (-1 without the kind)":
            (lambda x: x[:, cos] + 0.5 * x[:, over] - x[:, kind], None),
    }
    if VARIANTS.exists():
        for name, v in json.loads(VARIANTS.read_text()).items():
            if name == "judge":
                continue
            j = v["judge"]
            judge = Judge(tuple(j["mean"]), tuple(j["scale"]), tuple(j["weights"]), j["bias"])
            out[f"learned, {name}"] = (judge.score, None)
    out["learned judge (shipped)"] = (load_judge().score, ABSTAIN_BELOW)
    return out
