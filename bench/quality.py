"""Answer quality on every dev set in ../shared/data, one table.

    .venv/bin/python bench/quality.py [--data ../shared/data]

Rebuilds an index for each set (its corpus.jsonl) in a temp dir and runs `qa eval` on it, with the
trained reranker (what `answer()` does) and without it (`rerank=False`), side by side in one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402

from qa import rebuild
from qa.evaluation import evaluate

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    sets = sorted(p for p in Path(args.data).iterdir() if (p / "questions.jsonl").exists() and (p / "corpus.jsonl").exists())
    with recorded("Answer quality"):
        header = f"{'set':<16} {'reranker':>8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'abstP':>6} {'abstR':>6} {'FA':>6} {'verb':>5} {'p50ms':>6} {'p95ms':>6} {'build s':>8}"
        print(header)
        print("-" * len(header))
        with tempfile.TemporaryDirectory() as tmp:
            for data in sets:
                t0 = time.perf_counter()
                index = Path(tmp) / data.name
                rebuild(source=data / "corpus.jsonl", index=index)
                built = time.perf_counter() - t0
                for rerank in (False, True):
                    r = evaluate(data / "questions.jsonl", index, rerank=rerank)
                    print(
                        f"{data.name:<16} {'on' if rerank else 'off':>8} {r.hit_at_1:>6.3f} {r.hit_at_5:>6.3f} {r.mrr:>6.3f} {r.abstain_precision:>6.3f} "
                        f"{r.abstain_recall:>6.3f} {r.false_abstain:>6.3f} {r.verbatim:>5.2f} {r.latency_p50_ms:>6.1f} "
                        f"{r.latency_p95_ms:>6.1f} {built:>8.1f}"
                    )


if __name__ == "__main__":
    main()
