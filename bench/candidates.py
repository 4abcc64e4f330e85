"""How often the evidence is among the candidates answering reranks: the vector search's best k,
and with the sentences sharing most of the question's rare words that those miss
(answering.candidates_for), over news-train's answerable questions, by kind.

    .venv/bin/python bench/candidates.py [--parts t69-t100]

No reranker can put first what is not among its candidates: this is the ceiling of hit@5.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "train"))
import news  # noqa: E402

POOLS = ((20, 0), (30, 0), (40, 0), (20, 10), (30, 10))  # (vector, rare words)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="t69-t100", help="news-train parts (default: those the shipped weights never saw)")
    args = ap.parse_args()
    articles, questions, _ = news.load()
    chosen = news.parts_range(args.parts)
    questions = [q for q in questions if q.part in chosen and q.answerable]
    index = news.build_index(articles)
    found: dict[tuple[int, int], dict[str, list[bool]]] = {}
    for vector, lexical in POOLS:
        t = time.perf_counter()
        mined = news.mine(questions, index, k=vector, lexical_k=lexical)
        by_kind = defaultdict(list)
        for m in mined:
            if m.evidence_sentences:  # evidence found in the stored text
                by_kind[m.question.kind].append(any(c.positive for c in m.candidates))
                by_kind["all"].append(by_kind[m.question.kind][-1])
        found[(vector, lexical)] = by_kind
        print(f"vector {vector} + rare words {lexical}: {sum(by_kind['all']) / len(by_kind['all']):.3f} "
              f"of {len(by_kind['all'])} ({time.perf_counter() - t:.0f} s)", flush=True)
    kinds = sorted(found[POOLS[0]], key=lambda k: -len(found[POOLS[0]][k]))
    print(f"\n{'kind':<12} {'q':>5} " + " ".join(f"{f'{v}+{x}':>7}" for v, x in POOLS))
    for kind in kinds:
        print(f"{kind:<12} {len(found[POOLS[0]][kind]):>5} "
              + " ".join(f"{sum(found[p][kind]) / len(found[p][kind]):>7.3f}" for p in POOLS))


if __name__ == "__main__":
    main()
