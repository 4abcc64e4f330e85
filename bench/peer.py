"""Article QA against LlamaIndex's VectorStoreIndex, same articles, same model, one run.

    make bench-peer        (creates .venv-peer with llama-index, then runs this)

Build time excludes loading the model on both sides; query latency is warm: our `answer()`
(retrieval, quote selection and citations) against LlamaIndex retrieval of the top 5 nodes.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402
from rebuild import sentences_from, write_corpus  # noqa: E402

from qa import answer, rebuild  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--peer-python", default=str(ROOT / ".venv-peer" / "bin" / "python"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    data = Path(args.data)
    questions = [json.loads(line)["question"] for line in (data / "news-dev" / "questions.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles"
        source.mkdir()
        write_corpus(source, args.n, sentences_from(data), random.Random(0))
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps(questions))
        load_embedder()
        t = time.perf_counter()
        stats = rebuild(source, Path(tmp) / "index")
        ours_build = time.perf_counter() - t
        for q in questions[:5]:
            answer(q, Path(tmp) / "index")
        times = sorted(answer(q, Path(tmp) / "index").timings_ms["total"] for q in questions)
        ours_p50, ours_p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        run = subprocess.run([args.peer_python, str(ROOT / "bench" / "peer_llamaindex.py"), str(source), str(qfile)],
                             capture_output=True, text=True, check=True)
        peer = json.loads(run.stdout.strip().splitlines()[-1])
    with recorded("Against LlamaIndex"):
        print(f"\n{args.n} articles, {len(questions)} questions (news-dev), all-MiniLM-L6-v2 on both sides")
        print(f"{'':28} {'Article QA':>12} {'LlamaIndex':>12} {'ratio':>8}")
        print(f"{'build, s':28} {ours_build:>12.1f} {peer['build_s']:>12.1f} {peer['build_s'] / ours_build:>7.2f}x")
        print(f"{'query p50, ms':28} {ours_p50:>12.1f} {peer['query_p50_ms']:>12.1f} {peer['query_p50_ms'] / ours_p50:>7.2f}x")
        print(f"{'query p95, ms':28} {ours_p95:>12.1f} {peer['query_p95_ms']:>12.1f} {peer['query_p95_ms'] / ours_p95:>7.2f}x")
        print(f"units: {stats.chunks} chunks + {stats.sentences} sentence vectors (ours), {peer['nodes']} nodes (LlamaIndex)")
        print(f"text never embedded (past the model's 256 word pieces): 0% (ours), {peer['truncated_share']:.0%} (LlamaIndex)")
        print("ratio > 1: Article QA is faster")


if __name__ == "__main__":
    main()
