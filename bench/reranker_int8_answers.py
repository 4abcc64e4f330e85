"""Does an int8 reranker keep the answers? Every news-dev and squad2-normans question ranked by the
shipped fp32 session and by the int8 form of the fused graph (bench/reranker_speed.py's "ort int8"),
same question vectors: how many first citations and abstain decisions change, and the largest
logit difference. int8 is adopted only at 0 and 0.

    .venv/bin/python bench/reranker_int8_answers.py            # every op the quantizer takes
    .venv/bin/python bench/reranker_int8_answers.py --matmul   # only the MatMuls outside Attention
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reranker_speed import _Fused  # noqa: E402

from qa import answering, open_index, rebuild
from qa.api import check_question
from qa.embedding import load_embedder
from qa.reranker import load_reranker

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matmul", action="store_true", help="quantise only MatMul nodes")
    args = p.parse_args()
    fp32, int8 = load_reranker(), _Fused(int8=True, ops=["MatMul"] if args.matmul else None).reranker
    embedder = load_embedder()
    for name in ("news-dev", "squad2-normans"):
        with tempfile.TemporaryDirectory() as tmp:
            rebuild(source=DATA / name / "corpus.jsonl", index=Path(tmp) / "index")
            idx = open_index(Path(tmp) / "index")
            lines = (DATA / name / "questions.jsonl").read_text().splitlines()
            questions = [check_question(json.loads(line)["question"]) for line in lines if line.strip()]
            first = decided = 0
            worst = 0.0
            for q, v in zip(questions, embedder.encode_queries(questions)):
                a, b = answering.score_sentences(idx, v, q, fp32), answering.score_sentences(idx, v, q, int8)
                decided += answering.is_answered(idx, q, a, fp32) != answering.is_answered(idx, q, b, int8)
                first += (a[0].article, a[0].start, a[0].end) != (b[0].article, b[0].start, b[0].end)
                by_row = {s.row: s.logit for s in a}
                worst = max(worst, max(abs(s.logit - by_row[s.row]) for s in b if s.row in by_row))
        print(f"{name}: {len(questions)} questions, first citation changed {first}, abstain decision changed {decided}, "
              f"max |dlogit| {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
