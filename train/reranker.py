"""Train the answer reranker: a MiniLM cross-encoder that reads a question and a sentence together
and gives one logit for "this sentence answers the question".

One command reproduces the shipped weights (CPU or GPU, same script, same data, fixed seed):

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python train/reranker.py            # writes qa/models/reranker/

Data: `../shared/data/train` only (SQuAD 2.0 parts, QNLI, SelQA; see its README for licences).
The dev sets (news-dev, squad2-normans) are never read here. Part of the training data is held
out by article (`validation_split`) to choose the epoch; `train/fit_answering.py` fits the
answer-time rule on the same held-out part.

Pairs: each answer sentence is a positive; negatives are the sentences MiniLM retrieval ranks
highest in the same article (`--negatives mined`, what answering will face) or random sentences
of the same paragraph (`--negatives paragraph`). Every sentence near an unanswerable SQuAD 2.0
question is a negative.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.append(str(ROOT))
if str(ROOT / "train") not in sys.path:
    sys.path.append(str(ROOT / "train"))

from qa.chunking import sentence_spans  # noqa: E402  the sentences answering will see

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "train"
DEFAULT_OUT = ROOT / "qa" / "models" / "reranker"
DEFAULT_BASE = ROOT / "train" / "checkpoints" / "reranker-public"   # the public stage's weights (committed: ~50 min of CPU)
PUBLIC_EPOCHS = 2
PUBLIC_LR = 3e-5
NEWS_LR = 2e-5            # fine-tuning a trained reranker: a smaller step than from the embedder
NEWS_EPOCHS = 1           # a second epoch gained 0.2-0.9 points held out and cost 2.7 on the public check (docs/answering.md, N)
NEWS_PUBLIC_MIX = 1.0     # public pairs per news pair in the news stage
NEWS_NEGATIVES = 6        # retrieved non-evidence sentences per news question
PUBLIC_CHECK = 500        # public validation questions checked after each news epoch
SEED = 13
CANDIDATES = 30           # validation ranks the retrieval's top 30 of the article, as answering does
NEGATIVES_PER_QUESTION = 4
VALIDATION_SQUAD_ARTICLES = 3     # of squad2-dev-half's 15 (they hold unanswerable questions for fitting)
VALIDATION_SELQA_SHARE = 0.10


@dataclass
class Question:
    group: str                     # the article: the unit of the train/validation split
    question: str
    paragraph: list[str]           # the sentences of its own paragraph (SQuAD) or candidate list (SelQA)
    positives: set[int]            # indexes into `paragraph`; empty for unanswerable questions
    answers: list[str] = field(default_factory=list)
    paragraph_text: str = ""       # the paragraph as one text (what an index of it would store)


def split(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def load_squad(path: Path, tag: str) -> list[Question]:
    out = []
    for article in json.loads(path.read_text())["data"]:
        group = f"{tag}:{article['title']}"
        for para in article["paragraphs"]:
            context = para["context"]
            spans = sentence_spans(context)
            sentences = [context[a:b] for a, b in spans]
            for qa in para["qas"]:
                positives = set()
                answers = [a["text"] for a in qa.get("answers", [])]
                for a in qa.get("answers", []):
                    lo, hi = a["answer_start"], a["answer_start"] + len(a["text"])
                    positives |= {i for i, (s, e) in enumerate(spans) if s < hi and e > lo}
                if qa.get("is_impossible"):
                    positives, answers = set(), []
                elif not positives:
                    continue
                out.append(Question(group, qa["question"].strip(), sentences, positives, answers, context))
    return out


def load_selqa(path: Path) -> list[Question]:
    out = []
    for item in json.loads(path.read_text()):
        if item["answers"]:
            out.append(Question(f"selqa:{item['article']}", item["question"].strip(), item["candidates"],
                                set(item["answers"]), paragraph_text=" ".join(item["candidates"])))
    return out


def load_qnli(path: Path) -> list[tuple[str, str, float]]:
    with path.open(newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r["question"], r["sentence"], 1.0 if r["label"] == "entailment" else 0.0) for r in rows]


def load_all(data: Path) -> tuple[list[Question], list[tuple[str, str, float]]]:
    questions = (
        load_squad(data / "squad2-train-11.json", "squad-train")
        + load_squad(data / "squad2-dev-half.json", "squad-dev")
        + load_selqa(data / "selqa-ass-dev.json")
        + load_selqa(data / "selqa-ass-test.json")
    )
    return questions, load_qnli(data / "qnli-dev.tsv")


def validation_split(questions: list[Question], seed: int = SEED) -> set[str]:
    """The held-out articles: a few of squad2-dev-half (with their unanswerable questions) and a share
    of SelQA's. Fixed by the seed, so training and fitting scripts agree."""
    rng = random.Random(seed)
    squad = sorted({q.group for q in questions if q.group.startswith("squad-dev:")})
    selqa = sorted({q.group for q in questions if q.group.startswith("selqa:")})
    held = set(rng.sample(squad, VALIDATION_SQUAD_ARTICLES))
    held |= set(rng.sample(selqa, max(1, round(len(selqa) * VALIDATION_SELQA_SHARE))))
    return held


def with_context(questions: list[Question], words: int) -> tuple[list[Question], dict[str, str]]:
    """The questions with each paragraph sentence as a reranker reading `words` words of context gets
    it (qa.reranker.reranker_input over the paragraph's text), and a map from sentence to that."""
    from qa.reranker import reranker_input

    if words <= 0:
        return questions, {}
    out, inputs = [], {}
    for q in questions:
        at, read = 0, []
        for sentence in q.paragraph:
            start = q.paragraph_text.find(sentence, at)
            if start < 0:  # not found verbatim: read alone
                read.append(sentence)
                continue
            at = start + len(sentence)
            read.append(reranker_input(q.paragraph_text, start, at, words))
            inputs.setdefault(sentence, read[-1])
        out.append(Question(q.group, q.question, read, q.positives, q.answers, q.paragraph_text))
    return out, inputs


def article_pools(questions: list[Question]) -> dict[str, list[str]]:
    """Every distinct sentence of each article: what retrieval picks candidates from."""
    pools: dict[str, dict[str, None]] = defaultdict(dict)
    for q in questions:
        for s in q.paragraph:
            pools[q.group][s] = None
    return {g: list(p) for g, p in pools.items()}


class Retrieval:
    """MiniLM sentence search within one article: the candidates answering would see."""

    def __init__(self, embedder_path: str, questions: list[Question], pools: dict[str, list[str]], device: str):
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(embedder_path, device=device)
        texts = sorted({s for p in pools.values() for s in p})
        print(f"embedding {len(texts):,} sentences and {len(questions):,} questions for retrieval", flush=True)
        vectors = model.encode(texts, batch_size=128, normalize_embeddings=True, show_progress_bar=False)
        self.row = {t: i for i, t in enumerate(texts)}
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.pools = pools
        qv = model.encode([q.question for q in questions], batch_size=128, normalize_embeddings=True, show_progress_bar=False)
        self.question_vectors = {id(q): v for q, v in zip(questions, np.asarray(qv, dtype=np.float32))}

    def top(self, q: Question, k: int) -> list[tuple[str, float]]:
        pool = self.pools[q.group]
        scores = self.vectors[[self.row[s] for s in pool]] @ self.question_vectors[id(q)]
        order = np.argsort(-scores)[:k]
        return [(pool[i], float(scores[i])) for i in order]


def is_positive(q: Question, sentence: str) -> bool:
    if any(q.paragraph[i] == sentence for i in q.positives):
        return True
    # the same answer said in another sentence of the article is not a negative
    return any(a.lower() in sentence.lower() for a in q.answers if len(a) > 3)


def training_pairs(
    questions: list[Question], qnli: list[tuple[str, str, float]], retrieval: Retrieval | None, rng: random.Random,
    after_negatives: bool = False,
) -> list[tuple[str, str, float]]:
    """`after_negatives` (inputs with context): the sentence right after each answer sentence is a
    negative too, since its context holds the answer (news.training_pairs says why)."""
    pairs: list[tuple[str, str, float]] = []
    for q in questions:
        pairs += [(q.question, q.paragraph[i], 1.0) for i in sorted(q.positives)]
        if after_negatives:
            pairs += [(q.question, q.paragraph[i + 1], 0.0) for i in sorted(q.positives)
                      if i + 1 < len(q.paragraph) and i + 1 not in q.positives and not is_positive(q, q.paragraph[i + 1].split(" [SEP] ")[0])]
        if retrieval is not None:
            negatives = [s for s, _ in retrieval.top(q, NEGATIVES_PER_QUESTION * 3) if not is_positive(q, s)]
        else:
            negatives = [s for i, s in enumerate(q.paragraph) if i not in q.positives and not is_positive(q, s)]
            rng.shuffle(negatives)
        pairs += [(q.question, s, 0.0) for s in negatives[:NEGATIVES_PER_QUESTION]]
    pairs += qnli
    rng.shuffle(pairs)
    return pairs


@dataclass
class ValidationQuestion:
    question: str
    candidates: list[str]
    retrieval_scores: list[float]
    positives: set[int]            # indexes into candidates; empty when unanswerable


def validation_questions(questions: list[Question], retrieval: Retrieval, inputs: dict[str, str] | None = None
                         ) -> list[ValidationQuestion]:
    """`inputs`: what the reranker reads for a sentence (with_context), where not the sentence alone."""
    out = []
    for q in questions:
        top = retrieval.top(q, CANDIDATES)
        out.append(ValidationQuestion(
            q.question, [(inputs or {}).get(s, s) for s, _ in top], [x for _, x in top],
            {i for i, (s, _) in enumerate(top) if q.positives and is_positive(q, s)},
        ))
    return out


def validate(model, items: list[ValidationQuestion]) -> dict[str, float]:
    """hit@1 / hit@5 of retrieval order and reranked order over answerable questions, and how well
    the best logit separates answerable from unanswerable ones (AUC)."""
    logits = predict(model, [(v.question, c) for v in items for c in v.candidates])
    at = 0
    hits = defaultdict(float)
    best_answerable, best_unanswerable = [], []
    for v in items:
        scores = np.asarray(logits[at:at + len(v.candidates)])
        at += len(v.candidates)
        if not v.positives:
            best_unanswerable.append(float(scores.max()))
            continue
        best_answerable.append(float(scores.max()))
        reranked = list(np.argsort(-scores))
        hits["answerable"] += 1
        hits["retrieval_hit1"] += 0 in v.positives
        hits["retrieval_hit5"] += bool(v.positives & set(range(5)))
        hits["hit1"] += int(reranked[0]) in v.positives
        hits["hit5"] += bool(v.positives & {int(i) for i in reranked[:5]})
    n = max(hits["answerable"], 1)
    a, u = np.array(best_answerable), np.array(best_unanswerable)
    auc = float((a[:, None] > u[None, :]).mean()) if len(a) and len(u) else float("nan")
    return {
        "answerable": hits["answerable"], "unanswerable": len(u),
        "retrieval_hit1": hits["retrieval_hit1"] / n, "retrieval_hit5": hits["retrieval_hit5"] / n,
        "hit1": hits["hit1"] / n, "hit5": hits["hit5"] / n, "abstain_auc": auc,
    }


def predict(model, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Logits for many pairs: sorted by length (little padding), in bf16 where the CPU multiplies it
    natively (validation only chooses epochs; answering's own numbers come from its runtime)."""
    import torch

    from qa.reranker import native_dtype

    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    device_type = "cuda" if str(model.device).startswith("cuda") else "cpu"
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=device_type == "cuda" or native_dtype() == torch.bfloat16):
        # a progress bar for the long passes (a news stage's hard negatives: tens of thousands of pairs)
        out = model.predict([pairs[i] for i in order], batch_size=64, show_progress_bar=len(pairs) > 5000,
                            activation_fn=_identity())
    logits = np.zeros(len(pairs), np.float32)
    logits[order] = np.asarray(out, np.float32)
    return logits


def predict_groups(model, groups: list[tuple[str, list[str]]]) -> list[np.ndarray]:
    """Logits for each (question, sentences), all pairs in one length-sorted pass."""
    flat = predict(model, [(q, s) for q, sentences in groups for s in sentences])
    out, at = [], 0
    for _, sentences in groups:
        out.append(flat[at:at + len(sentences)])
        at += len(sentences)
    return out


def _identity():
    import torch

    return torch.nn.Identity()


def save(model, out: Path) -> None:
    """fp16 on disk (~45 MB); answering runs it in fp32 on the CPU."""
    out.mkdir(parents=True, exist_ok=True)
    copy.deepcopy(model.model).to("cpu").half().save_pretrained(out, safe_serialization=True)
    model.tokenizer.save_pretrained(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the training data folder (default ../shared/data/train)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the weights go (default qa/models/reranker)")
    p.add_argument("--init", default="default", help="starting weights: 'default' is the project's MiniLM embedder")
    p.add_argument("--negatives", choices=["mined", "paragraph"], default="paragraph")
    p.add_argument("--epochs", type=int, default=None, help=f"default {PUBLIC_EPOCHS} (public stage), {NEWS_EPOCHS} (news stage)")
    p.add_argument("--lr", type=float, default=None, help=f"default {PUBLIC_LR} (public stage), {NEWS_LR} (news stage)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--limit", type=int, default=0, help="use only this many questions (a quick smoke run)")
    p.add_argument("--news", type=Path, default=None,
                   help="fine-tune on news-train (train/news-train) after the public stage; without it, the public stage only")
    p.add_argument("--base", type=Path, default=DEFAULT_BASE,
                   help="the public stage's weights: trained there first when missing (default train/checkpoints/reranker-public, committed)")
    p.add_argument("--holdout-fold", type=int, default=None,
                   help="hold out this fold of news-train's stories for validation (choosing epochs and the mix)")
    p.add_argument("--train-parts", type=int, default=0,
                   help="train on only this many of the news parts not held out (a learning curve; 0: all)")
    p.add_argument("--exclude-parts", default="",
                   help="news parts kept out of training entirely, e.g. t69-t84: questions, and their articles' "
                        "sentences as candidates (stories the model must never see, to be measured on later)")
    p.add_argument("--public-mix", type=float, default=NEWS_PUBLIC_MIX,
                   help="public pairs kept in the news stage, per news pair (so nothing learned is forgotten)")
    p.add_argument("--news-negatives", type=int, default=NEWS_NEGATIVES)
    p.add_argument("--news-hard", choices=["model", "retrieval"], default="model",
                   help="news negatives: those the public-stage reranker ranks highest (default), or retrieval's best")
    p.add_argument("--lexical-candidates", type=int, default=0,
                   help="news stage: also mine the N sentences sharing most of each question's rare words that the "
                        "vector search misses (answering.candidates_for), as answering now reads them")
    p.add_argument("--context-words", type=int, default=0,
                   help="news stage: words before each sentence the reranker reads after it (default 0: the sentence "
                        "alone; 16 was tried and lost held-out hit@1, docs/answering.md section T)")
    p.add_argument("--reworded", type=Path, default=None,
                   help="news stage: also train on these rewordings of the training questions (jsonl of id, "
                        "paraphrase; train/news-train/reworded.jsonl), each with its question's evidence")
    p.add_argument("--reworded-instead", action="store_true",
                   help="with --reworded: a reworded question replaces its question as asked instead of joining it")
    p.add_argument("--reworded-share", type=float, default=1.0,
                   help="with --reworded: this share of each part's training questions (seeded) in their other wording")
    p.add_argument("--headline", type=Path, nargs="+", default=None,
                   help="news stage: also train on the questions readers wrote from the headlines alone on the training "
                        "parts (train/news-train/headline.jsonl, headline2.jsonl, headline3.jsonl: one set or more), with "
                        "the evidence found for them")
    p.add_argument("--headline-only", action="store_true",
                   help="with --headline: train on those questions alone (continuing weights that saw the others: --base)")
    p.add_argument("--headline-open-as-asked", action="store_true",
                   help="with --headline: sample the headline questions' open ones down to the open share of the "
                        "questions as asked on the training parts (seeded)")
    p.add_argument("--headline-without-kinds", nargs="+", default=[], metavar="KIND",
                   help="with --headline: leave out the headline questions of these kinds (e.g. quote: asked without the "
                        "article, \"what did X say\" has more right answers than its evidence lists, and the others, "
                        "unlisted, become hard negatives; docs/answering.md section ZN)")
    p.add_argument("--asked-parts", default="",
                   help="with --headline: the questions as asked only from these parts (e.g. t53-t68, those a news-stage "
                        "--base never saw), the headline questions from every part not excluded")
    p.add_argument("--save-epochs", action="store_true", help="also keep each epoch's weights in OUT-epochN")
    p.add_argument("--no-validation", action="store_true",
                   help="news stage: no validation before or after an epoch (epochs fixed beforehand; a fold model's "
                        "held-out stories are scored by train/fit_answering.py anyway), half the CPU time")
    args = p.parse_args(argv)
    if (args.asked_parts or args.headline_only or args.headline_open_as_asked or args.headline_without_kinds) and not args.headline:
        p.error("--asked-parts, --headline-only, --headline-open-as-asked and --headline-without-kinds choose among the "
                "headline questions: give --headline too")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.news is None:
        train_public(args, args.out, args.init, args.epochs or PUBLIC_EPOCHS, args.lr or PUBLIC_LR)
        return
    if not (args.base / "model.safetensors").exists():
        print(f"no public-stage weights in {args.base}: training them first (the shipped recipe, {PUBLIC_EPOCHS} epochs)", flush=True)
        train_public(args, args.base, args.init, PUBLIC_EPOCHS, PUBLIC_LR)
    args.lr = args.lr or NEWS_LR
    args.epochs = args.epochs or NEWS_EPOCHS
    train_news(args)


def train_public(args, out: Path, init_name: str, epochs: int, lr: float) -> None:
    """Stage 1: SQuAD 2.0 parts, QNLI and SelQA, from the project's embedder."""
    import torch

    from qa.embedding import model_path

    set_seed, device = _setup(args.seed)
    rng = random.Random(args.seed)
    init = model_path(init_name)
    started = time.time()

    questions, qnli = load_all(args.data)
    held = validation_split(questions, args.seed)
    if args.limit:
        questions = rng.sample(questions, min(args.limit, len(questions)))
        qnli = qnli[: args.limit // 4]
    train_q = [q for q in questions if q.group not in held]
    val_q = [q for q in questions if q.group in held]
    # QNLI comes from SQuAD 1.1, whose dev articles are squad2-dev-half's: drop pairs from held-out ones
    held_sentences = {s for q in val_q for s in q.paragraph}
    qnli = [x for x in qnli if x[1] not in held_sentences]
    retrieval = Retrieval(init, questions, article_pools(questions), device)
    pairs = training_pairs(train_q, qnli, retrieval if args.negatives == "mined" else None, rng)
    val = validation_questions(val_q, retrieval)
    positives = sum(1 for *_, y in pairs if y > 0)
    print(f"{len(train_q):,} training questions + {len(qnli):,} QNLI pairs -> {len(pairs):,} pairs ({positives:,} positive); "
          f"validation: {len(val_q):,} questions from {len(held)} held-out articles; device {device}", flush=True)

    model = _cross_encoder(init, args.max_length, device)
    before = validate(model, val)
    print("validation before training:", json.dumps({k: round(v, 4) for k, v in before.items()}), flush=True)
    best, _ = _fit(model, pairs, args, epochs, lr, out, device, lambda: {"public": validate(model, val)},
                   keep_by=lambda v: v["public"]["hit1"], started=started)
    final = validate(_cross_encoder(str(out), args.max_length, device), val)  # the weights as shipped
    summary = {
        "stage": "public", "epoch_kept": best, "epochs": epochs, "negatives": args.negatives, "lr": lr, "batch": args.batch,
        "max_length": args.max_length, "seed": args.seed, "pairs": len(pairs), "positives": positives,
        "validation_before": before, "validation": final, "device": device,
        "seconds": round(time.time() - started), "limit": args.limit,
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"kept epoch {best}; fp16 reload: {json.dumps(final)}")
    print(f"wrote {out} in {time.time() - started:.0f} s")


def train_news(args) -> None:
    """Stage 2: the public stage's weights fine-tuned on news-train, candidates from the project's own
    retrieval over an index of it, a share of the public pairs kept in the mix. With --holdout-fold,
    that fold's stories are validation only (hit@1/@5 of the reranked top 30, and the public
    validation as a check on forgetting)."""
    import news

    set_seed, device = _setup(args.seed)
    rng = random.Random(args.seed)
    started = time.time()
    articles, questions, stories = news.load(args.news)
    fold = news.folds(questions)
    if args.limit:  # a quick smoke run
        questions = random.Random(args.seed).sample(questions, min(args.limit, len(questions)))
    excluded = news.parts_range(args.exclude_parts) if args.exclude_parts else frozenset()
    questions = [q for q in questions if q.part not in excluded]
    train_m = [q for q in questions if fold[q.part] != args.holdout_fold]
    if args.train_parts:  # a learning curve: the first N training parts in the folds' seeded order
        kept = [part for part in fold if fold[part] != args.holdout_fold][: args.train_parts]
        train_m = [q for q in train_m if q.part in kept]
    val_m = [q for q in questions if fold[q.part] == args.holdout_fold]
    if args.reworded:  # the same questions as other readers word them: same evidence, new words
        train_m = news.with_rewordings(train_m, args.reworded, args.reworded_instead, args.reworded_share, args.seed)
    if args.headline:  # other readers' questions on the same training stories, written without the articles
        asked = news.parts_range(args.asked_parts) if args.asked_parts else frozenset()
        written = [q for path in args.headline for q in news.headline_questions(path, articles, stories)
                   if q.kind not in args.headline_without_kinds]
        if args.headline_open_as_asked:
            trained = {q.part for q in train_m}
            written = news.open_as_asked([q for q in written if q.part in trained], train_m, args.seed)
        train_m = news.with_headline(train_m, written, asked, args.headline_only)
    questions = train_m + val_m  # what is mined: the training questions as they now stand, and the held-out ones
    index = news.build_index(articles)
    mined = news.mine(questions, index, k=news_k(args), context_words=args.context_words,
                      lexical_k=args.lexical_candidates)
    mined = news.without_parts(mined, excluded)
    by_id = {m.question.id: m for m in mined}
    train_mined = [by_id[q.id] for q in train_m]
    val_mined = [by_id[q.id] for q in val_m]

    model = _cross_encoder(str(args.base), args.max_length, device)
    hardness = None
    if args.news_hard == "model":  # the negatives the reranker confuses most before this stage
        # read as the public stage was trained: the sentence alone
        hardness = predict_groups(model, [(m.question.question, [c.text for c in m.candidates]) for m in train_mined])
    news_pairs = news.training_pairs(train_mined, args.news_negatives, rng, hardness)

    public_q, qnli = load_all(args.data)
    held = validation_split(public_q, args.seed)
    train_q = [q for q in public_q if q.group not in held]
    val_q = [q for q in public_q if q.group in held]
    held_sentences = {s for q in val_q for s in q.paragraph}
    public = training_pairs(with_context(train_q, args.context_words)[0], [x for x in qnli if x[1] not in held_sentences], None, rng,
                            after_negatives=args.context_words > 0)
    public = public[: round(args.public_mix * len(news_pairs))]
    pairs = news_pairs + public
    rng.shuffle(pairs)
    # a seeded sample of the public validation questions is enough to see forgetting, at a third of the cost
    val_q = random.Random(args.seed).sample(val_q, min(args.limit or PUBLIC_CHECK, PUBLIC_CHECK, len(val_q)))
    public_val = [] if args.no_validation else validation_questions(
        val_q, Retrieval(model_path_default(), val_q, article_pools(val_q), device), with_context(val_q, args.context_words)[1])
    print(f"news: {len(train_mined):,} training questions from {len({q.story for q in train_m if q.answerable})} stories -> "
          f"{len(news_pairs):,} pairs ({sum(y > 0 for *_, y in news_pairs):,} positive); public: {len(public):,} pairs; "
          f"validation: {len(val_mined):,} news questions from {len({q.story for q in val_m if q.answerable})} held-out stories, "
          f"{len(public_val):,} public; device {device}", flush=True)


    def validation() -> dict:
        if args.no_validation:
            return {}
        out = {"public": validate(model, public_val)}
        if val_mined:
            out["news"] = validate_news(model, val_mined)
        return out

    before = validation()
    print("validation before the news stage:", _rounded(before), flush=True)
    # with held-out stories the best epoch by their hit@1 is kept; without, the last (epochs chosen on folds)
    keep_by = (lambda v: v["news"]["hit1"]) if val_mined and not args.no_validation else (lambda v: 0.0)
    best, final = _fit(model, pairs, args, args.epochs, args.lr, args.out, device, validation, keep_by, started)
    summary = {
        "stage": "news", "base": str(args.base.relative_to(ROOT)) if args.base.is_relative_to(ROOT) else str(args.base),
        "holdout_fold": args.holdout_fold, "epoch_kept": best, "epochs": args.epochs, "lr": args.lr,
        "batch": args.batch, "max_length": args.max_length, "seed": args.seed, "public_mix": args.public_mix,
        "news_negatives": args.news_negatives, "news_hard": args.news_hard, "context_words": args.context_words,
        "lexical_candidates": args.lexical_candidates, "news_pairs": len(news_pairs), "public_pairs": len(public),
        "news_questions": len(train_mined), "news_parts": sorted({q.part for q in train_m} | base_parts(args.base)),
        "reworded": str(args.reworded) if args.reworded else None, "reworded_instead": args.reworded_instead,
        "reworded_share": args.reworded_share, "headline": [str(path) for path in args.headline] if args.headline else None,
        "headline_only": args.headline_only, "headline_open_as_asked": args.headline_open_as_asked, "asked_parts": args.asked_parts or None,
        "headline_without_kinds": args.headline_without_kinds or None,
        "excluded_parts": sorted(excluded), "news_stories": len({q.story for q in train_m if q.answerable}),
        "validation_before": before, "validation": final, "device": device, "seconds": round(time.time() - started),
    }
    (args.out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"kept epoch {best}: {_rounded(final)}")
    print(f"wrote {args.out} in {time.time() - started:.0f} s")


def base_parts(base: Path) -> set[str]:
    """The news parts the starting weights were trained on already (a news-stage base), so that the
    new weights' training.json lists every part they have seen (news.unseen_parts reads it)."""
    record = json.loads((base / "training.json").read_text()) if (base / "training.json").exists() else {}
    return set(record.get("news_parts") or []) if record.get("stage") == "news" else set()


def news_k(args) -> int:
    return CANDIDATES + 10  # a few past what answering reranks, for negatives


def model_path_default() -> str:
    from qa.embedding import model_path

    return model_path("default")


def validate_news(model, mined) -> dict[str, float]:
    """hit@1 / hit@5 of the reranked top 30 on held-out news questions, and the best logit's AUC."""
    import news

    items = list(mined)
    scores = predict_groups(model, [(m.question.question, [c.input for c in m.candidates[:CANDIDATES]]) for m in items])
    out = news.rank_metrics(items, scores, CANDIDATES)
    a = np.array([s.max() for m, s in zip(items, scores) if m.question.answerable and len(s)])
    u = np.array([s.max() for m, s in zip(items, scores) if not m.question.answerable and len(s)])
    out["abstain_auc"] = float((a[:, None] > u[None, :]).mean()) if len(a) and len(u) else float("nan")
    return out


def _rounded(v: dict) -> str:
    return json.dumps({k: {n: round(x, 4) for n, x in d.items()} for k, d in v.items()})


def _setup(seed: int):
    import torch
    from transformers import set_seed

    set_seed(seed)
    return set_seed, "cuda" if torch.cuda.is_available() else "cpu"


def _cross_encoder(path: str, max_length: int, device: str):
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    # fp32 master weights whatever the checkpoint's dtype (transformers 5 keeps a checkpoint's fp16)
    return CrossEncoder(path, num_labels=1, max_length=max_length, device=device, model_kwargs={"dtype": torch.float32})


def _fit(model, pairs, args, epochs: int, lr: float, out: Path, device: str, validation, keep_by, started: float) -> int:
    """Train on the pairs; validate after each epoch and save the best epoch's weights at once (a run
    cut short still leaves its best). Returns the epoch kept."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import TrainerCallback

    from qa.reranker import native_dtype

    class KeepBest(TrainerCallback):
        best: tuple[float, int] | None = None

        def on_epoch_end(self, _args, state, control, **kwargs):
            scores = validation()
            epoch = round(state.epoch or 0)
            print(f"validation after epoch {epoch}:", _rounded(scores), f"({time.time() - started:.0f} s)", flush=True)
            if self.best is None or keep_by(scores) >= self.best[0]:
                self.best = (keep_by(scores), epoch)
                self.scores = scores
                save(model, out)
            if getattr(args, "save_epochs", False):  # every epoch's weights, to take the one the folds chose
                save(model, out.parent / f"{out.name}-epoch{epoch}")
            model.model.train()

    keep = KeepBest()
    dataset = Dataset.from_dict({
        "question": [q for q, _, _ in pairs], "sentence": [s for _, s, _ in pairs], "label": [y for *_, y in pairs],
    })
    training_args = CrossEncoderTrainingArguments(
        output_dir=str(Path(os.environ.get("TMPDIR", "/tmp")) / "reranker-run"),
        num_train_epochs=epochs,
        per_device_train_batch_size=args.batch,
        learning_rate=lr,
        warmup_ratio=0.1,
        seed=args.seed,
        # bf16 mixed precision on GPUs, and on CPUs that multiply bf16 natively (AMX, AVX512-BF16): ~2x faster there
        bf16=device == "cuda" or native_dtype() == torch.bfloat16,
        use_cpu=device == "cpu",
        logging_steps=100,
        save_strategy="no",
        report_to="none",
        dataloader_num_workers=2 if device == "cuda" else 0,
    )
    CrossEncoderTrainer(
        model=model, args=training_args, train_dataset=dataset, loss=BinaryCrossEntropyLoss(model), callbacks=[keep],
    ).train()
    assert keep.best is not None
    return keep.best[1], keep.scores


if __name__ == "__main__":
    main()
