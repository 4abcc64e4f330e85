"""Distil the answer reranker into a smaller one: fewer layers of the same model, trained to give the
logits the shipped reranker (the teacher) gives, on the pairs answering puts to it.

    .venv/bin/python train/distill.py --out train/.cache/reranker-small     # ~30 min on 2 CPU cores
    .venv/bin/python tools/export_onnx.py --reranker train/.cache/reranker-small   # its graph, to answer with it
    .venv/bin/python train/distill.py --reworded train/news-train/reworded.jsonl --out DIR   # same size, reworded

With `--reworded`, the student keeps every layer and learns wording instead: on each question as
another reader worded it, the logits the teacher gives the question as asked, on the same candidates
(its evidence and the first others answering gathers); a share of the questions as asked too, and
public pairs, keep what it had. A reranker fitted on one writer's questions drops its logit for the
evidence when the same need is worded otherwise (docs/answering.md, section ZD); the teacher's own
judgment of the asked question is the target that says "the same".

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
REWORDED_LR = 1e-5      # a student with all the teacher's layers is a fine-tune
REWORDED_NEGATIVES, ASKED_SHARE, REWORDED_PUBLIC = 4, 0.35, 6_000


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


def reworded_pairs(mined, logits, words: dict[str, str], picked: list[list[str]], rng: random.Random,
                   asked_share: float) -> list[tuple[str, str, float]]:
    """Each question's picked candidates with the teacher's logits for it as asked, read with its
    rewording; and for `asked_share` of the questions, as asked too."""
    out = []
    for m, inputs, z in zip(mined, picked, logits):
        q = m.question
        out += [(words[q.id], s, float(v)) for s, v in zip(inputs, z)]
        if rng.random() < asked_share:
            out += [(q.question, s, float(v)) for s, v in zip(inputs, z)]
    return out


def reworded_candidates(m, negatives: int) -> list[str]:
    """What the reranker reads for a question's evidence (up to two of its candidates) and its first
    `negatives` other candidates in answering's order."""
    positives = [c.input for c in m.candidates if c.positive][:2] or m.evidence_inputs[:1]
    others = [c.input for c in m.candidates if not c.positive and not c.ambiguous][:negatives]
    return list(dict.fromkeys(positives + others))


def ranking(mined, scores) -> dict[str, float]:
    return {k: round(v, 4) for k, v in news.rank_metrics(mined, scores, candidates=10_000).items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", type=Path, default=MODEL_DIR)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--layers", default=None, help=f"the teacher's encoder layers the student keeps (default {LAYERS}; "
                                                  "with --reworded all)")
    p.add_argument("--exclude-parts", default="t69-t100", help="news-train parts never trained on (measured on later)")
    p.add_argument("--validate-parts", default="t85-t100", help="of those, the ones validated on here")
    p.add_argument("--top", type=int, default=TOP)
    p.add_argument("--others", type=int, default=OTHERS)
    p.add_argument("--public-pairs", type=int, default=None, help=f"default {PUBLIC_PAIRS:,} ({REWORDED_PUBLIC:,} with --reworded)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=None, help=f"default {LR} ({REWORDED_LR} with --reworded)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--limit", type=int, default=0, help="this many questions of each kind only (a smoke run)")
    p.add_argument("--reworded", type=Path, default=None,
                   help="news-train's questions as other readers worded them: keep every layer and learn the wording")
    p.add_argument("--negatives", type=int, default=REWORDED_NEGATIVES, help="with --reworded: other candidates a question")
    p.add_argument("--asked-share", type=float, default=ASKED_SHARE, help="with --reworded: questions also kept as asked")
    args = p.parse_args()
    # defaults left unset (None): with --reworded those of a fine-tune (every layer, a small step, fewer public pairs)
    if args.layers is None:
        depth = json.loads((args.teacher / "config.json").read_text())["num_hidden_layers"]
        args.layers = ",".join(map(str, range(depth))) if args.reworded else LAYERS
    if args.lr is None:
        args.lr = REWORDED_LR if args.reworded else LR
    if args.public_pairs is None:
        args.public_pairs = REWORDED_PUBLIC if args.reworded else PUBLIC_PAIRS
    started = time.time()
    _, device = _setup(args.seed)
    rng = random.Random(args.seed)
    layers = [int(x) for x in args.layers.split(",")]
    words = news.rewordings(args.reworded) if args.reworded else {}

    articles, questions, _ = news.load()
    excluded = news.parts_range(args.exclude_parts)
    validate_on = news.parts_range(args.validate_parts)
    cal = Calibration.load(args.teacher / "calibration.json")
    train_q = [q for q in questions if q.part not in excluded and (not words or q.id in words)]
    val_q = [q for q in questions if q.part in validate_on and (not words or q.id in words)]
    if args.limit:
        train_q, val_q = rng.sample(train_q, min(args.limit, len(train_q))), rng.sample(val_q, min(args.limit, len(val_q)))
    index = news.build_index(articles)
    mined = news.without_parts(news.mine(train_q, index, k=cal.candidates, lexical_k=cal.lexical_candidates), excluded)
    val_mined = news.mine(val_q, index, k=cal.candidates, lexical_k=cal.lexical_candidates)

    teacher = _cross_encoder(str(args.teacher), args.max_length, device)
    picked = [reworded_candidates(m, args.negatives) if words else [c.input for c in m.candidates] for m in mined]
    print(f"teacher {args.teacher}: scoring {sum(map(len, picked)):,} news candidates", flush=True)
    taught = predict_groups(teacher, [(m.question.question, inputs) for m, inputs in zip(mined, picked)])
    pairs = (reworded_pairs(mined, taught, words, picked, rng, args.asked_share) if words
             else news_pairs(mined, taught, rng, args.top, args.others))
    public_q, qnli = load_all(DEFAULT_DATA)
    held = validation_split(public_q, args.seed)
    public = training_pairs([q for q in public_q if q.group not in held], qnli, None, rng)[: args.limit or args.public_pairs]
    public_logits = predict(teacher, [(q, s) for q, s, _ in public])
    pairs += [(q, s, float(z)) for (q, s, _), z in zip(public, public_logits)]
    rng.shuffle(pairs)
    # with --reworded, validated as reworded: what the teacher reads worst, on candidates gathered as asked
    val_groups = [(words.get(m.question.id, m.question.question), [c.input for c in m.candidates]) for m in val_mined]
    teacher_val = predict_groups(teacher, val_groups)
    del teacher
    print(f"pairs: {len(pairs):,} ({len(pairs) - len(public):,} news from {len(mined):,} questions, {len(public):,} public); "
          f"validation: {len(val_mined):,} questions of {args.validate_parts}; teacher {ranking(val_mined, teacher_val)} "
          f"({time.time() - started:.0f} s)", flush=True)

    print(f"student: the teacher's layers {layers}", flush=True)
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
        "stage": "reworded" if words else "distilled", "teacher": str(args.teacher.relative_to(ROOT)) if args.teacher.is_relative_to(ROOT) else str(args.teacher),
        "layers": layers, "epochs": args.epochs, "lr": args.lr, "batch": args.batch, "max_length": args.max_length,
        "seed": args.seed, **({} if words else {"top": args.top, "others": args.others}), "news_pairs": len(pairs) - len(public),
        "public_pairs": len(public), "news_questions": len(mined),
        # the teacher's: the student learnt from its logits on these parts, and on the same ones itself
        "news_parts": sorted(set(teacher_record.get("news_parts", [])) | {m.question.part for m in mined}),
        "excluded_parts": sorted(excluded), "context_words": 0,
        **({"reworded": str(args.reworded), "negatives": args.negatives, "asked_share": args.asked_share} if words else {}),
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
