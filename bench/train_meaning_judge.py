"""Train the meaning judge (``bench/meaning_judge.py``, not shipped) on data licensed for shipping.

Data: PAWS-Wiki dev (free for any purpose), STS-B train and dev (scores CC BY-SA 4.0) and
word-swap pairs made from TyDi QA's English passages (Apache-2.0, ``bench/meaning_data.py``).
PAWS dev is split by a fixed seed into 7,000 training pairs and 1,000 calibration pairs;
PAWS test is never read here (bench/bench_paraphrase.py scores on it). STS-B pairs scored
4 or more mean the same, 3 or less do not, and the band between is left out. Never MRPC,
SICK or WikiQA (their licences allow evaluation only).

Model: the packaged all-MiniLM-L6-v2 with a one-logit classifier on its [CLS] vector,
reading ``passage [SEP] quote`` (each pair in a random, seeded order). Word embeddings
stay frozen (the shipped weights reuse the packaged model's); AdamW, linear warm-up and
decay, binary cross-entropy. Loss and calibration accuracy are printed per epoch, and
the calibration accuracy again after int8 quantisation. The threshold is the one with the
best calibration accuracy.

Usage: ``python bench/train_meaning_judge.py [--write]``: ``--write`` saves the weights
in ``bench/.cache/meaning/`` (their metadata hold the seed, the inputs' sha256s and the
figures of every epoch) and writes section ``meaning-judge`` of docs/benchmarks.md; ``--report`` only rewrites that section from saved weights. About an
hour on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import require_data, write_section  # noqa: E402

SEED = 13
EPOCHS = 3
BATCH = 16
RATE = 5e-5
WARMUP = 0.1
WEIGHT_DECAY = 0.01
CALIBRATION = 1000
SAME, DIFFERENT = 4.0, 3.0  # STS-B score bands
SWAPS = 8000


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def paws_dev() -> list[tuple[str, str, float]]:
    lines = require_data("paws", "dev.tsv").read_text(encoding="utf-8-sig").splitlines()[1:]
    rows = [line.split("\t") for line in lines if line.strip()]
    return [(r[1], r[2], float(r[3].strip() == "1")) for r in rows if len(r) >= 4]


def stsb(split: str) -> list[tuple[str, str, float]]:
    out = []
    for line in require_data("stsb", f"sts-{split}.csv").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 7:
            continue
        score = float(fields[4])
        if score >= SAME or score <= DIFFERENT:
            out.append((fields[5], fields[6], float(score >= SAME)))
    return out


def batches(pairs, tokenizer, size: int, rng: random.Random | None):
    from qa.meaning import MAX_LENGTH

    order = list(range(len(pairs)))
    if rng is not None:
        rng.shuffle(order)
    for i in range(0, len(order), size):
        chunk = [pairs[j] for j in order[i:i + size]]
        flip = [rng is not None and rng.random() < 0.5 for _ in chunk]
        first = [b if f else a for (a, b, _), f in zip(chunk, flip, strict=True)]
        second = [a if f else b for (a, b, _), f in zip(chunk, flip, strict=True)]
        encoded = tokenizer(first, second, padding=True, truncation=True,
                            max_length=MAX_LENGTH, return_tensors="pt")
        yield encoded, [label for *_, label in chunk]


def probabilities(model, tokenizer, pairs) -> list[float]:
    import torch

    model.eval()
    out: list[float] = []
    with torch.inference_mode():
        for encoded, _ in batches(pairs, tokenizer, 64, None):
            out += torch.sigmoid(model(**encoded).logits[:, 0]).tolist()
    model.train()
    return out


def accuracy(probs, pairs, threshold: float) -> float:
    return sum((p >= threshold) == bool(y) for p, (*_, y) in zip(probs, pairs, strict=True)) \
        / len(pairs)


def auc(probs, pairs) -> float:
    pos = [p for p, (*_, y) in zip(probs, pairs, strict=True) if y]
    neg = [p for p, (*_, y) in zip(probs, pairs, strict=True) if not y]
    ranked = sorted([(p, 1) for p in pos] + [(p, 0) for p in neg])
    rank_sum = sum(i + 1 for i, (_, y) in enumerate(ranked) if y)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def report(name, model, tokenizer, calibration) -> dict:
    figures = {}
    for set_name, pairs in calibration.items():
        probs = probabilities(model, tokenizer, pairs)
        figures[set_name] = {"accuracy": round(accuracy(probs, pairs, 0.5), 4),
                             "auc": round(auc(probs, pairs), 4)}
    print(name, json.dumps(figures), flush=True)
    return figures


def best_threshold(model, tokenizer, calibration) -> float:
    pairs = [p for ps in calibration.values() for p in ps]
    probs = probabilities(model, tokenizer, pairs)
    return max((accuracy(probs, pairs, t / 100), -abs(t - 50), t / 100)
               for t in range(5, 96))[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="save the weights and report")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the benchmark section from saved weights")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--swaps", type=int, default=SWAPS,
                        help="word-swap pairs from TyDi QA passages (0: none)")
    args = parser.parse_args()

    import torch
    from safetensors.torch import save_file

    from bench.meaning_judge import WEIGHTS, _metadata, dequantise, quantise, sentence_model

    if args.report:
        return report_section(WEIGHTS)

    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    paws = paws_dev()
    random.Random(SEED).shuffle(paws)
    from bench.meaning_data import pairs as swap_pairs

    swaps = swap_pairs(args.swaps, SEED) if args.swaps else []
    train = paws[CALIBRATION:] + stsb("train") + swaps
    calibration = {"PAWS dev (held out)": paws[:CALIBRATION], "STS-B dev": stsb("dev")}
    inputs = {str(p.relative_to(p.parents[1])): sha256(p) for p in
              (require_data("paws", "dev.tsv"), require_data("stsb", "sts-train.csv"),
               require_data("stsb", "sts-dev.csv"),
               require_data("tydiqa", "english_tydiqa_train.json"))}
    print("inputs", json.dumps(inputs), f"train {len(train)} pairs, {len(swaps)} swaps",
          flush=True)

    model, tokenizer = sentence_model()
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=RATE, weight_decay=WEIGHT_DECAY)
    steps = args.epochs * math.ceil(len(train) / BATCH)
    warmup = max(1, int(WARMUP * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(SEED)
    epochs = []
    report("epoch 0 (untrained head)", model, tokenizer, calibration)
    for epoch in range(1, args.epochs + 1):
        started, total, n = time.perf_counter(), 0.0, 0
        for encoded, labels in batches(train, tokenizer, BATCH, rng):
            logits = model(**encoded).logits[:, 0]
            loss = loss_fn(logits, torch.tensor(labels))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            total, n = total + loss.item() * len(labels), n + len(labels)
            if n % (BATCH * 100) == 0:
                print(f"  epoch {epoch}: {n}/{len(train)} pairs, loss {total / n:.4f}",
                      flush=True)
        figures = report(f"epoch {epoch}: loss {total / n:.4f}, "
                         f"{time.perf_counter() - started:.0f} s", model, tokenizer, calibration)
        epochs.append({"epoch": epoch, "loss": round(total / n, 4), **figures})

    stored = quantise(model.state_dict())
    shared = model.bert.embeddings.word_embeddings.weight.detach().clone()
    model.load_state_dict(dequantise(stored), strict=False)
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, shared)
    int8 = report("after int8 quantisation", model, tokenizer, calibration)
    threshold = best_threshold(model, tokenizer, calibration)
    print("threshold", threshold, flush=True)
    if not args.write:
        return
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    save_file(stored, str(WEIGHTS), metadata=_metadata(
        base="all-MiniLM-L6-v2", threshold=threshold, seed=SEED, inputs=inputs,
        epochs=epochs, int8=int8))
    report_section(WEIGHTS)


def report_section(weights: Path) -> None:
    """Section ``meaning-judge`` of docs/benchmarks.md, from the weights' own metadata."""
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        meta = f.metadata()
    epochs, int8 = json.loads(meta["epochs"]), json.loads(meta["int8"])
    inputs = json.loads(meta["inputs"])
    sets = list(int8)
    rows = ["| epoch | loss | " + " | ".join(f"{s} acc / AUC" for s in sets) + " |",
            "|" + "---|" * (2 + len(sets))]
    for e in epochs:
        rows.append(f"| {e['epoch']} | {e['loss']} | " + " | ".join(
            f"{e[s]['accuracy']:.3f} / {e[s]['auc']:.3f}" for s in sets) + " |")
    rows.append("| int8 | | " + " | ".join(
        f"{int8[s]['accuracy']:.3f} / {int8[s]['auc']:.3f}" for s in sets) + " |")
    write_section("meaning-judge", "\n".join([
        "## Meaning judge (trained, not shipped)",
        "",
        "A cross-encoder fine-tuned from the packaged all-MiniLM-L6-v2 to read a quote and a "
        "passage together (`bench/meaning_judge.py`), on PAWS dev, STS-B and word-swap pairs "
        f"made from TyDi QA passages (inputs: {', '.join(f'`{k}`' for k in inputs)}; seed "
        f"{meta['seed']}). Accuracy at 0.5 and AUC on calibration pairs it did not train on, "
        f"per epoch; threshold {meta['threshold']} (best calibration accuracy); "
        f"{weights.stat().st_size / 1e6:.1f} MB in int8.",
        "",
        *rows,
        "",
        "As a second gate on the paraphrase verdict it is scored beside the alignment alone "
        "in sections `paraphrase` and `verify`; qa does not use it.",
    ]), command="python bench/train_meaning_judge.py --write --epochs 4")


if __name__ == "__main__":
    main()
