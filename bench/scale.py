"""Warm answer() and search-only latency at 10k, 100k and 1M sentences, exact vs the chosen index.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000]

Real text cannot be embedded at a million sentences in reasonable time on 2 cores, so the
vectors are drawn from the real model's output distribution: a Gaussian with the mean and
covariance of all-MiniLM-L6-v2 sentence vectors of the dev corpora, re-normed. The texts are
real sentences of those corpora. Queries are the dev sets' real questions, embedded. Each
index is a real on-disk index written by the same code `qa rebuild` uses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402

from qa import answer, open_index, rebuild, store
from qa.api import embedder_for
from qa.build import _manifest
from qa.store import ArticleEntry
from qa.types import Article

ROOT = Path(__file__).resolve().parent.parent
SENTENCES_PER_ARTICLE = 10
SENTENCES_PER_CHUNK = 5


def real_material(data: Path, tmp: Path) -> tuple[np.ndarray, list[str], list[str]]:
    vectors, texts, questions = [], [], []
    for corpus in sorted(data.glob("*/corpus.jsonl")):
        index = tmp / corpus.parent.name
        rebuild(corpus, index)
        idx = open_index(index)
        vectors.append(np.asarray(idx.vectors("sentences")))
        texts += [idx.text(int(a))[s:e] for a, (s, e) in zip(idx.sentence_article, idx.sentence_spans)]
        questions += [json.loads(line)["question"] for line in (corpus.parent / "questions.jsonl").read_text().splitlines()]
    return np.vstack(vectors), texts, questions


def synthetic_entries(n: int, real: np.ndarray, texts: list[str], rng: np.random.Generator) -> list[ArticleEntry]:
    mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)
    vectors = rng.multivariate_normal(mean, cov, size=n, method="cholesky").astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    entries = []
    for a in range(n // SENTENCES_PER_ARTICLE):
        picked = [texts[i] for i in rng.integers(0, len(texts), SENTENCES_PER_ARTICLE)]
        body, spans, pos = [], [], 0
        for t in picked:
            spans.append((pos, pos + len(t)))
            body.append(t)
            pos += len(t) + 1
        text = "\n".join(body)
        chunks = [(spans[i][0], spans[min(i + SENTENCES_PER_CHUNK, len(spans)) - 1][1]) for i in range(0, len(spans), SENTENCES_PER_CHUNK)]
        sv = vectors[a * SENTENCES_PER_ARTICLE:(a + 1) * SENTENCES_PER_ARTICLE]
        cv = sv.reshape(len(chunks), -1, sv.shape[1]).mean(axis=1)
        cv /= np.linalg.norm(cv, axis=1, keepdims=True)
        entries.append(
            ArticleEntry(Article(id=f"s{a}", text=text, title=f"Synthetic {a}"), f"h{a}", chunks, spans,
                         [i // SENTENCES_PER_CHUNK for i in range(len(spans))], cv, sv)
        )
    return entries


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        real, texts, questions = real_material(Path(args.data), tmp)
        questions = questions[: args.queries]
        manifest = _manifest(embedder_for(open_index(tmp / "news-dev")))
        for n in [int(s) for s in args.sizes.split(",")]:
            entries = synthetic_entries(n, real, texts, rng)
            index = tmp / f"scale-{n}"
            index.mkdir()
            t = time.perf_counter()
            with store.rebuild_lock(index):
                store.write_generation(index, entries, manifest)
            write_s = time.perf_counter() - t
            del entries
            idx = open_index(index)
            info = idx.manifest["index_type"]["sentences"]
            qv = embedder_for(idx).encode_queries(questions)
            exact_vectors = np.asarray(idx.vectors("sentences"))
            search_ms, exact_ms, hits = [], [], []
            import faiss

            exact = faiss.IndexFlatIP(exact_vectors.shape[1])
            exact.add(exact_vectors)
            for q in qv:
                t = time.perf_counter()
                _, found = idx.sentence_index.search(q[None, :], 64)
                search_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                _, truth = exact.search(q[None, :], 64)
                exact_ms.append((time.perf_counter() - t) * 1000)
                hits.append(len(set(truth[0][:10]) & set(found[0][:10])) / 10)
            del exact, exact_vectors
            for q in questions[:5]:
                answer(q, index=index)  # warm
            answer_ms = [answer(q, index=index).timings_ms["total"] for q in questions]
            rows.append((n, info["type"], write_s, *percentiles(exact_ms), *percentiles(search_ms), float(np.mean(hits)),
                         *percentiles(answer_ms)))
            print(rows[-1], flush=True)
    with recorded("Latency by size"):
        header = (f"{'sentences':>10} {'type':>5} {'build s':>8} {'exact p50/p95 ms':>17} {'search p50/p95 ms':>18} "
                  f"{'recall@10':>9} {'answer() p50/p95 ms':>20}")
        print("\n" + header)
        for n, kind, build_s, e50, e95, s50, s95, rec, a50, a95 in rows:
            print(f"{n:>10,} {kind:>5} {build_s:>8.1f} {e50:>8.1f} / {e95:<6.1f} {s50:>9.1f} / {s95:<6.1f} {rec:>9.3f} {a50:>10.1f} / {a95:<6.1f}")


if __name__ == "__main__":
    main()
