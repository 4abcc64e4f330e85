"""Fit how answering uses the reranker, on the training data held out from it (never on a dev set).

    .venv/bin/python train/fit_answering.py          # writes qa/models/reranker/calibration.json

The held-out articles of `train/reranker.py` (`validation_split`) become a real index, built by the
project's own `rebuild`; their questions run through the project's own search and reranker. Half of
the held-out SelQA articles are left out of the index, and their questions become questions the
articles do not answer (the "not covered" kind), beside SQuAD 2.0's unanswerable ones (the
"near miss" kind). On that data it fits, and prints:
- how many vector candidates to rerank (the fewest within half a point of the best hit@5),
- P(answers) from the reranker's logit and the vector score (logistic regression, per sentence),
- abstention: logistic regression over `reranked_abstention_features`, cut where at most 5% of the
  answerable held-out questions of each group would be abstained on: each source (SQuAD, SelQA), and
  the paraphrased third (the questions sharing fewest rare words with their answer sentence; news
  readers paraphrase more than these crowd workers did),
- how many quotes to show (`keep_within`).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "train"))

from reranker import DEFAULT_DATA, SEED, load_all, validation_split  # noqa: E402

from qa import open_index, rebuild  # noqa: E402
from qa import answering, lexical  # noqa: E402
from qa.api import embedder_for  # noqa: E402
from qa.reranker import MODEL_DIR, Calibration, Reranker  # noqa: E402

CANDIDATE_CHOICES = (10, 15, 20, 30, 40)
FALSE_ABSTAIN = 0.05
KEEP_WITHIN = 0.5  # provisional only; fitted below
FEATURES = ("logit", "cosine", "overlap", "kind")  # answering.candidate_features(), in order
# candidate feature sets for abstention, as columns of answering.reranked_abstention_features()
ABSTAIN_SUBSETS = {"all": [0, 1, 2, 3, 4], "without best cosine": [0, 1, 2, 3], "reranker only": [0, 1, 2]}


def fit_corpus(data: Path, seed: int) -> tuple[list[dict], list[dict]]:
    """Articles (as `qa rebuild` reads them from JSONL) and questions with what answers them."""
    questions, _ = load_all(data)
    held = validation_split(questions, seed)
    selqa = sorted(g for g in held if g.startswith("selqa:"))
    absent = set(random.Random(seed).sample(selqa, len(selqa) // 2))
    articles: dict[str, dict] = {}
    out = []
    for q in questions:
        if q.group not in held:
            continue
        text = q.paragraph_text
        key = f"{q.group}|{text[:80]}"
        if q.group not in absent and key not in articles:
            articles[key] = {"id": f"p{len(articles)}", "title": q.group.split(":", 1)[1], "text": text}
        answerable = bool(q.positives) and q.group not in absent
        out.append({
            "question": q.question,
            "answerable": answerable,
            "source": q.group.split(":", 1)[0],
            "kind": "answerable" if answerable else ("not covered" if q.group in absent else "near miss"),
            "article": articles[key]["id"] if q.group not in absent else None,
            "answers": [q.paragraph[i] for i in sorted(q.positives)] if answerable else [],
        })
    return list(articles.values()), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--model", type=Path, default=MODEL_DIR)
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args()

    articles, questions = fit_corpus(args.data, args.seed)
    kinds = {k: sum(q["kind"] == k for q in questions) for k in ("answerable", "near miss", "not covered")}
    print(f"{len(articles)} held-out articles indexed; questions: {kinds}", flush=True)
    provisional = Calibration((1.0, 0.0, 0.0, 0.0), 0.0, (0.0,) * 5, 0.0, 1.0, max(CANDIDATE_CHOICES), KEEP_WITHIN)
    reranker = Reranker(args.model, provisional)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "held-out.jsonl"
        source.write_text("".join(json.dumps(a) + "\n" for a in articles))
        rebuild(source=source, index=Path(tmp) / "index")
        idx = open_index(Path(tmp) / "index")
        vectors = embedder_for(idx).encode_queries([q["question"] for q in questions])
        by_id = {m.id: m.row for m in idx.articles}
        runs = []  # per question: candidates (with logits) and which of them answer
        for n, (q, v) in enumerate(zip(questions, vectors)):
            cands = answering.search(idx, v, max(CANDIDATE_CHOICES))  # vector order: each N below takes a prefix
            texts = [idx.text(s.article)[s.start:s.end] for s in cands]
            logits = reranker.logits(q["question"], texts)
            feats = answering.candidate_features(idx, q["question"], texts, cands, logits)
            cands = [replace(s, logit=float(z), overlap=f[2]) for s, z, f in zip(cands, logits, feats)]
            row = by_id.get(q["article"]) if q["article"] else None
            labels = [row is not None and s.article == row and _answers(t, q["answers"]) for s, t in zip(cands, texts)]
            runs.append((q, cands, labels, feats))
            if n % 200 == 0:
                print(f"  {n}/{len(questions)} questions", flush=True)

        answerable = [r for r in runs if r[0]["answerable"]]
        # 1. P(answers) from the candidate features, over every candidate of answerable questions
        x = np.array([f for _, _, _, fs in answerable for f in fs])
        y = np.array([lab for _, _, l, _ in answerable for lab in l])
        fusion = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
        weights = [float(w) for w in fusion.coef_[0]]
        bias = float(fusion.intercept_[0])
        print("P(answers) = sigmoid(" + " + ".join(f"{w:.3f} * {n}" for w, n in zip(weights, FEATURES)) + f" + {bias:.3f})")
        only = LogisticRegression(C=10.0, max_iter=1000).fit(x[:, :2], y)  # logit and vector alone, to compare

        def ranks(n: int, key) -> tuple[float, float]:
            h1 = h5 = 0
            for _, c, l, fs in answerable:
                order = sorted(range(min(n, len(c))), key=lambda i: -key(fs[i]))
                h1 += bool(order) and l[order[0]]
                h5 += any(l[i] for i in order[:5])
            return h1 / len(answerable), h5 / len(answerable)

        fused = lambda f: float(np.dot(weights, f))  # noqa: E731
        two = lambda f: float(np.dot(only.coef_[0], f[:2]))  # noqa: E731
        print(f"{'candidates':>10} {'vector hit@1/5':>16} {'logit hit@1/5':>15} {'logit+vector':>15} {'all features':>15}")
        table = {}
        for n in CANDIDATE_CHOICES:
            table[n] = ranks(n, fused)
            v, lg, tw = ranks(n, lambda f: f[1]), ranks(n, lambda f: f[0]), ranks(n, two)
            print(f"{n:>10} {v[0]:>8.3f}/{v[1]:.3f} {lg[0]:>7.3f}/{lg[1]:.3f} {tw[0]:>7.3f}/{tw[1]:.3f} "
                  f"{table[n][0]:>7.3f}/{table[n][1]:.3f}")
        top5 = max(h5 for _, h5 in table.values())
        candidates = min(n for n, (_, h5) in table.items() if h5 >= top5 - 0.005)
        print(f"rerank the best {candidates} vector candidates")

        # 2. abstention over the features answering computes, with the fitted P(answers)
        cal = replace(provisional, fusion_weights=tuple(weights), fusion_bias=bias, candidates=candidates)
        feats, unanswerable, shown = [], [], []
        for q, c, l, fs in runs:
            order = sorted(range(min(candidates, len(c))), key=lambda i: -fused(fs[i]))
            ranked = [replace(c[i], score=answering._sigmoid(fused(fs[i]) + bias)) for i in order]
            feats.append(answering.reranked_abstention_features(idx, q["question"], ranked))
            unanswerable.append(not q["answerable"])
            if q["answerable"]:
                shown.append([(s.score, l[i]) for s, i in zip(ranked[:5], order)])
        fx, fy = np.array(feats), np.array(unanswerable)
        sources = np.array([q["source"] for q in questions])
        # which features: those whose rule moves least between the two sources (fit on one, cut at 5%
        # false-abstain there, count false abstentions on the other), the shift news will bring
        columns = min(ABSTAIN_SUBSETS, key=lambda name: _shifted_false_abstain(fx, fy, sources, ABSTAIN_SUBSETS[name]))
        for name, cols in ABSTAIN_SUBSETS.items():
            print(f"  abstention features {name}: worst false-abstain across sources "
                  f"{_shifted_false_abstain(fx, fy, sources, cols):.3f}")
        print(f"abstention features: {columns}")
        cols = ABSTAIN_SUBSETS[columns]
        abstain = LogisticRegression(class_weight="balanced", max_iter=1000).fit(fx[:, cols], fy)
        prob = abstain.predict_proba(fx[:, cols])[:, 1]
        # at most FALSE_ABSTAIN of the answerable questions of each group: each source (SQuAD, SelQA), and
        # the paraphrased third. The cut must hold across shifts of domain and wording, as between
        # Wikipedia and news, and between crowd workers looking at the paragraph and a news reader.
        groups = {src: ~fy & (sources == src) for src in sorted(set(sources[~fy]))}
        overlap = np.array([_answer_overlap(idx, q) if q["answerable"] else np.nan for q in questions])
        groups["paraphrased"] = ~fy & (overlap <= np.nanquantile(overlap, 1 / 3))
        cuts = {name: float(np.quantile(prob[sel], 1 - FALSE_ABSTAIN)) for name, sel in groups.items()}
        print("  cut for each group at", FALSE_ABSTAIN, "false-abstain:", {k: round(v, 3) for k, v in cuts.items()})
        cut = max(cuts.values())
        abstain_weights = [0.0] * fx.shape[1]  # a feature left out weighs nothing
        for c, w in zip(cols, abstain.coef_[0]):
            abstain_weights[c] = round(float(w), 4)
        print("abstention weights", abstain_weights, "bias", round(float(abstain.intercept_[0]), 3),
              f"cut {cut:.3f}")
        for kind in ("near miss", "not covered"):
            sel = np.array([q["kind"] == kind for q in questions])
            print(f"  abstains on {np.mean(prob[sel] >= cut):.2f} of '{kind}' questions")
        for name, sel in groups.items():
            print(f"  abstains on {np.mean(prob[sel] >= cut):.3f} of answerable {name} questions")

        # 3. how many quotes to show: further quotes need keep_within x the first one's P(answers);
        # the largest share that still finds the evidence as often as five quotes would, within a point
        def shown_hit5(share: float) -> tuple[float, float]:
            kept = [[(p, lab) for p, lab in top if p >= share * top[0][0]] for top in shown]
            return np.mean([any(lab for _, lab in k) for k in kept]), np.mean([len(k) for k in kept])
        all5 = shown_hit5(0.0)[0]
        for share in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7):
            h, n_shown = shown_hit5(share)
            print(f"  keep_within {share:.1f}: hit@5 {h:.3f} with {n_shown:.2f} quotes on average")
        keep_within = max(share for share in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7) if shown_hit5(share)[0] >= all5 - 0.01)
        print(f"keep_within {keep_within}")

    cal = replace(
        cal,
        fusion_weights=tuple(round(w, 4) for w in weights), fusion_bias=round(bias, 4),
        abstain_weights=tuple(abstain_weights),
        abstain_bias=round(float(abstain.intercept_[0]), 4),
        abstain_at=round(cut, 4),
        keep_within=keep_within,
    )
    record = asdict(cal) | {"fitted_on": kinds, "hit_at_1_5": {str(n): table[n] for n in CANDIDATE_CHOICES}}
    (args.model / "calibration.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.model / 'calibration.json'}")


def _shifted_false_abstain(fx: np.ndarray, fy: np.ndarray, sources: np.ndarray, cols: list[int]) -> float:
    worst = 0.0
    for fit_on in sorted(set(sources)):
        here, there = sources == fit_on, sources != fit_on
        model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(fx[here][:, cols], fy[here])
        cut = np.quantile(model.predict_proba(fx[here & ~fy][:, cols])[:, 1], 1 - FALSE_ABSTAIN)
        worst = max(worst, float(np.mean(model.predict_proba(fx[there & ~fy][:, cols])[:, 1] >= cut)))
    return worst


def _answer_overlap(idx, q: dict) -> float:
    """Share of the question's rare-word weight its answer sentence holds: low for a paraphrase."""
    wanted = lexical.terms(q["question"])
    return lexical.coverage(wanted, q["answers"][0], idx.document_frequencies(wanted), idx.sentence_count)


def _answers(sentence: str, answers: list[str]) -> bool:
    s = " ".join(sentence.split())
    return any(s and (s in " ".join(a.split()) or " ".join(a.split()) in s) for a in answers)


if __name__ == "__main__":
    main()
