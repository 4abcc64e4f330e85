"""Distil the answer reranker into a smaller one: fewer layers of the same model, trained to give the
logits the shipped reranker (the teacher) gives, on the pairs answering puts to it.

    .venv/bin/python train/distill.py --out train/.cache/reranker-small     # ~30 min on 2 CPU cores
    .venv/bin/python tools/export_onnx.py --reranker train/.cache/reranker-small   # its graph, to answer with it

The student starts as the teacher with only some of its layers (`--layers`, e.g. 1,3,5 of 0-5) and
learns the teacher's logit for each pair (mean squared error): its logits keep the teacher's scale,
so the rules fitted for the teacher (calibration.json, copied beside it) read them as they are.

Pairs: for every news-train question of the parts the teacher was trained on (`--exclude-parts`
keeps the others out entirely: a student must be measured on stories neither model saw), the
candidates answering reranks (answering.candidates_for with the teacher's pool), the teacher's
`--top` best and `--others` more at random; and public (Wikipedia) pairs as the news stage mixes them.
Validation: hit@1 / hit@5 over the candidates of the `--validate-parts` questions (never trained
on), teacher and student side by side, and how close the student's logits are to the teacher's.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "train"))

import news  # noqa: E402
from reranker import (  # noqa: E402
    DEFAULT_DATA, SEED, _cross_encoder, _setup, load_all, predict, predict_groups, save, training_pairs, validation_split,
)

from qa.reranker import MODEL_DIR, Calibration, native_dtype  # noqa: E402

LAYERS = "1,3,5"
TOP, OTHERS = 8, 4      # per news question: the teacher's best candidates (where ranking is decided), and some of the rest
PUBLIC_PAIRS = 30_000
LR = 8e-5               # a student with half its layers re-wired learns from further away than a fine-tune


def student_of(teacher: Path, layers: list[int], max_length: int, device: str):
    """The teacher's model with only the given encoder layers, in that order."""
    import torch

    model = _cross_encoder(str(teacher), max_length, device)
    bert = model.model.bert
    bert.encoder.layer = torch.nn.ModuleList([bert.encoder.layer[i] for i in layers])
    model.model.config.num_hidden_layers = len(layers)
    return model


def news_pairs(mined, logits, rng: random.Random, top: int, others: int) -> list[tuple[str, str, float]]:
    out = []
    for m, z in zip(mined, logits):
        order = list(np.argsort(-z))
        rest = order[top:]
        rng.shuffle(rest)
        out += [(m.question.question, m.candidates[i].input, float(z[i])) for i in order[:top] + rest[:others]]
    return out


def ranking(mined, scores) -> dict[str, float]:
    return {k: round(v, 4) for k, v in news.rank_metrics(mined, scores, candidates=10_000).items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", type=Path, default=MODEL_DIR)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--layers", default=LAYERS, help="the teacher's encoder layers the student keeps")
    p.add_argument("--exclude-parts", default="t69-t100", help="news-train parts never trained on (measured on later)")
    p.add_argument("--validate-parts", default="t85-t100", help="of those, the ones validated on here")
    p.add_argument("--top", type=int, default=TOP)
    p.add_argument("--others", type=int, default=OTHERS)
    p.add_argument("--public-pairs", type=int, default=PUBLIC_PAIRS)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--limit", type=int, default=0, help="this many questions of each kind only (a smoke run)")
    args = p.parse_args()
    started = time.time()
    _, device = _setup(args.seed)
    rng = random.Random(args.seed)
    layers = [int(x) for x in args.layers.split(",")]

    articles, questions, _ = news.load()
    excluded = news.parts_range(args.exclude_parts)
    validate_on = news.parts_range(args.validate_parts)
    cal = Calibration.load(args.teacher / "calibration.json")
    train_q = [q for q in questions if q.part not in excluded]
    val_q = [q for q in questions if q.part in validate_on]
    if args.limit:
        train_q, val_q = rng.sample(train_q, min(args.limit, len(train_q))), rng.sample(val_q, min(args.limit, len(val_q)))
    index = news.build_index(articles)
    mined = news.without_parts(news.mine(train_q, index, k=cal.candidates, lexical_k=cal.lexical_candidates), excluded)
    val_mined = news.mine(val_q, index, k=cal.candidates, lexical_k=cal.lexical_candidates)

    teacher = _cross_encoder(str(args.teacher), args.max_length, device)
    print(f"teacher {args.teacher}: scoring {sum(len(m.candidates) for m in mined):,} news candidates", flush=True)
    taught = predict_groups(teacher, [(m.question.question, [c.input for c in m.candidates]) for m in mined])
    pairs = news_pairs(mined, taught, rng, args.top, args.others)
    public_q, qnli = load_all(DEFAULT_DATA)
    held = validation_split(public_q, args.seed)
    public = training_pairs([q for q in public_q if q.group not in held], qnli, None, rng)[: args.limit or args.public_pairs]
    public_logits = predict(teacher, [(q, s) for q, s, _ in public])
    pairs += [(q, s, float(z)) for (q, s, _), z in zip(public, public_logits)]
    rng.shuffle(pairs)
    val_groups = [(m.question.question, [c.input for c in m.candidates]) for m in val_mined]
    teacher_val = predict_groups(teacher, val_groups)
    del teacher
    print(f"pairs: {len(pairs):,} ({len(pairs) - len(public):,} news from {len(mined):,} questions, {len(public):,} public); "
          f"validation: {len(val_mined):,} questions of {args.validate_parts}; teacher {ranking(val_mined, teacher_val)} "
          f"({time.time() - started:.0f} s)", flush=True)

    student = student_of(args.teacher, layers, args.max_length, device)
    train(student, pairs, args, device)
    student_val = predict_groups(student, val_groups)
    flat_t, flat_s = np.concatenate(teacher_val), np.concatenate(student_val)
    closeness = {"logit_mae": round(float(np.abs(flat_t - flat_s).mean()), 4),
                 "logit_corr": round(float(np.corrcoef(flat_t, flat_s)[0, 1]), 4)}
    print(f"student (layers {layers}): {ranking(val_mined, student_val)} {closeness}", flush=True)

    save(student, args.out)
    shutil.copy(args.teacher / "calibration.json", args.out / "calibration.json")
    teacher_record = json.loads((args.teacher / "training.json").read_text())
    summary = {
        "stage": "distilled", "teacher": str(args.teacher.relative_to(ROOT)) if args.teacher.is_relative_to(ROOT) else str(args.teacher),
        "layers": layers, "epochs": args.epochs, "lr": args.lr, "batch": args.batch, "max_length": args.max_length,
        "seed": args.seed, "top": args.top, "others": args.others, "news_pairs": len(pairs) - len(public),
        "public_pairs": len(public), "news_questions": len(mined),
        # the teacher's: the student learnt from its logits on these parts, and on the same ones itself
        "news_parts": sorted(set(teacher_record.get("news_parts", [])) | {m.question.part for m in mined}),
        "excluded_parts": sorted(excluded), "context_words": 0,
        "validation": {"parts": args.validate_parts, "teacher": ranking(val_mined, teacher_val),
                       "student": ranking(val_mined, student_val), **closeness},
        "device": device, "seconds": round(time.time() - started),
    }
    (args.out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out} in {time.time() - started:.0f} s; to answer with it, first: "
          f"python tools/export_onnx.py --reranker {args.out}")


def train(model, pairs: list[tuple[str, str, float]], args, device: str) -> None:
    import os

    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import MSELoss

    dataset = Dataset.from_dict({"question": [q for q, _, _ in pairs], "sentence": [s for _, s, _ in pairs],
                                 "label": [z for *_, z in pairs]})
    training_args = CrossEncoderTrainingArguments(
        output_dir=str(Path(os.environ.get("TMPDIR", "/tmp")) / "distill-run"),
        num_train_epochs=args.epochs, per_device_train_batch_size=args.batch, learning_rate=args.lr,
        warmup_ratio=0.1, seed=args.seed,
        bf16=device == "cuda" or native_dtype() == torch.bfloat16, use_cpu=device == "cpu",
        logging_steps=100, save_strategy="no", report_to="none",
    )
    CrossEncoderTrainer(model=model, args=training_args, train_dataset=dataset, loss=MSELoss(model)).train()


if __name__ == "__main__":
    main()
