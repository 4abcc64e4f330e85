"""Fit the abstention rule of qa/answering.py on the dev sets, and check it across them.

    .venv/bin/python bench/calibrate_abstention.py

A logistic regression over abstention_features() (best score, its lead over the fifth, name
coverage, rare-word overlap of the first and of the best sentence), fitted on every dev
set together with balanced classes. Before trusting it, it is fitted on each set alone and
scored on the other: the gain must hold on data it never saw. Prints the constants to put
in qa/answering.py and the recall / false-abstain rate at a few cut-offs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa import answering, open_index, rebuild
from qa.api import embedder_for

ROOT = Path(__file__).resolve().parent.parent


def features(data: Path, tmp: Path) -> tuple[np.ndarray, np.ndarray]:
    index = tmp / data.name
    rebuild(data / "corpus.jsonl", index)
    idx = open_index(index)
    questions = [json.loads(line) for line in (data / "questions.jsonl").read_text().splitlines() if line.strip()]
    vectors = embedder_for(idx).encode_queries([q["question"] for q in questions])
    x, y = [], []
    for q, v in zip(questions, vectors):
        ranked = answering.score_sentences(idx, v, q["question"])
        x.append(answering.abstention_features(idx, q["question"], ranked))
        y.append(0 if q["answerable"] else 1)
    return np.array(x), np.array(y)


def rates(model: LogisticRegression, x: np.ndarray, y: np.ndarray, cut: float) -> str:
    p = model.predict_proba(x)[:, 1]
    return f"recall {np.mean(p[y == 1] >= cut):.2f} false-abstain {np.mean(p[y == 0] >= cut):.3f}"


def main() -> None:
    sets = sorted(p for p in (ROOT.parent / "shared" / "data").iterdir() if (p / "questions.jsonl").exists())
    with tempfile.TemporaryDirectory() as tmp:
        data = {s.name: features(s, Path(tmp)) for s in sets}
    cuts = (0.6, 0.64, 0.68, 0.72)
    for train in data:
        model = LogisticRegression(class_weight="balanced").fit(*data[train])
        for test in data:
            if test != train:
                print(f"fit on {train}, scored on {test}: " + "; ".join(f"@{c} {rates(model, *data[test], c)}" for c in cuts))
    x = np.vstack([d[0] for d in data.values()])
    y = np.concatenate([d[1] for d in data.values()])
    model = LogisticRegression(class_weight="balanced").fit(x, y)
    print(f"\nABSTAIN_WEIGHTS = {tuple(round(float(w), 2) for w in model.coef_[0])}")
    print(f"ABSTAIN_BIAS = {round(float(model.intercept_[0]), 2)}")
    for name, (xs, ys) in data.items():
        print(f"{name}: " + "; ".join(f"@{c} {rates(model, xs, ys, c)}" for c in cuts))


if __name__ == "__main__":
    main()
