"""Warm answer() and search latency by index size, exact vs the chosen index; the cost of adding
1,000 articles to the largest full index against rebuilding it; the vector layer at 10M.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--vectors-only 10000000]

Real text cannot be embedded at a million sentences in reasonable time on 2 cores, so the
vectors are drawn from the real model's output distribution: a Gaussian with the mean and
covariance of all-MiniLM-L6-v2 sentence vectors of the dev corpora, re-normed. The texts are
real sentences of those corpora. Queries are the dev sets' real questions, embedded. Each
index of --sizes is a real on-disk index written by the same code `qa rebuild` uses, and
`answer()` runs on it with the reranker.

At the largest of --sizes, 1,000 new articles (real sentences, really embedded) are added with
`rebuild()`: its time and bytes read and written (/proc/self/io) beside what writing the whole
index took, with and without the embedding of the new articles (timed apart on the same articles).

--vectors-only sizes measure the vector layer alone (too large for this machine's 24 GiB as
article entries): vectors written to disk in slices, the index `auto` chooses built from the
memory-mapped file, its resident memory, recall@10 against exact search, and search latency
with re-scoring; `answer()` there is projected as the largest full index's `answer()` with its
search time replaced by this one's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402

from qa import answer, open_index, rebuild, store, vector_index
from qa.api import embedder_for
from qa.build import _manifest, embed_articles
from qa.embedding import load_embedder
from qa.store import ArticleEntry
from qa.types import Article

ROOT = Path(__file__).resolve().parent.parent
SENTENCES_PER_ARTICLE = 10
SENTENCES_PER_CHUNK = 5
NEW_ARTICLES = 1000


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
        article = Article(id=f"s{a}", text=text, title=f"Synthetic {a}")
        entries.append(
            ArticleEntry(article, store.content_hash(article), chunks, spans,
                         [i // SENTENCES_PER_CHUNK for i in range(len(spans))], cv, sv)
        )
    return entries


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def io_bytes() -> tuple[int, int]:
    """Bytes this process has read and written through system calls so far."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def search_timings(idx_search, qv: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    ms, hits = [], []
    for q, t in zip(qv, truth):
        start = time.perf_counter()
        _, found = idx_search(q[None, :], 64)
        ms.append((time.perf_counter() - start) * 1000)
        hits.append(len(set(t[:10]) & set(found[0][:10])) / 10)
    return *percentiles(ms), float(np.mean(hits))


def add_articles(index: Path, entries: list[ArticleEntry], pool: list[str], tmp: Path) -> dict[str, float]:
    """Add 1,000 real articles to `index` (built from `entries`) with rebuild(); what it cost."""
    source = tmp / "source.jsonl"
    with source.open("w") as f:  # the articles already indexed, as `qa rebuild` reads them: unchanged
        for e in entries:
            f.write(json.dumps({"id": e.article.id, "title": e.article.title, "text": e.article.text}) + "\n")
        rng = random.Random(1)
        new = [Article(id=f"new-{i}", title=f"New {i}", text=" ".join(rng.sample(pool, 12))) for i in range(NEW_ARTICLES)]
        for a in new:
            f.write(json.dumps({"id": a.id, "title": a.title, "text": a.text}) + "\n")
    embedder = load_embedder()
    embed_articles(embedder, [(a, "") for a in new[:20]], progress=False)  # warm
    start = time.perf_counter()
    embedded = embed_articles(embedder, [(a, "") for a in new], progress=False)
    embed_s = time.perf_counter() - start
    read0, written0 = io_bytes()
    start = time.perf_counter()
    stats = rebuild(source, index)
    add_s = time.perf_counter() - start
    read1, written1 = io_bytes()
    assert stats.added == [a.id for a in new] and stats.unchanged == len(entries), f"the rebuild did not only add: {stats.summary()}"
    segments = json.loads((store.current_generation(index) / "manifest.json").read_text())["segments"]
    return {"add_s": add_s, "embed_s": embed_s, "read": read1 - read0, "written": written1 - written0,
            "segments": len(segments), "new_sentences": sum(len(e.sentences) for e in embedded)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--vectors-only", default="10000000")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows, large, added = [], [], None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        real, texts, questions = real_material(Path(args.data), tmp)
        questions = questions[: args.queries]
        manifest = _manifest(embedder_for(open_index(tmp / "news-dev")))
        qv = load_embedder().encode_queries(questions)
        sizes = [int(s) for s in args.sizes.split(",")]
        for n in sizes:
            entries = synthetic_entries(n, real, texts, rng)
            index = tmp / f"scale-{n}"
            index.mkdir()
            _, written0 = io_bytes()
            t = time.perf_counter()
            with store.rebuild_lock(index):
                store.write_generation(index, entries, manifest)
            write_s = time.perf_counter() - t
            write_bytes = io_bytes()[1] - written0
            idx = open_index(index)
            info = idx.manifest["index_type"]["sentences"]
            vectors = np.asarray(idx.vectors("sentences"))
            truth = vector_index._exact_top10(vectors, qv)
            e50, e95 = exact_timings(vectors, qv)
            del vectors
            s50, s95, recall = search_timings(idx.search, qv, truth)
            for q in questions[:5]:
                answer(q, index=index)  # warm
            answer_ms = [answer(q, index=index).timings_ms["total"] for q in questions]
            rows.append((n, info["type"], write_s, e50, e95, s50, s95, recall, *percentiles(answer_ms)))
            print(rows[-1], flush=True)
            if n == max(sizes):
                added = add_articles(index, entries, texts, tmp) | {"write_s": write_s, "write_bytes": write_bytes, "n": n}
                print(added, flush=True)
            del entries
        for n in [int(s) for s in args.vectors_only.split(",") if s]:
            large.append(vectors_only(n, real, qv, tmp / f"vectors-{n}.npy", rng))
            print(large[-1], flush=True)
    with recorded("Latency by size"):
        header = (f"{'sentences':>10} {'type':>5} {'build s':>8} {'exact p50/p95 ms':>17} {'search p50/p95 ms':>18} "
                  f"{'recall@10':>9} {'answer() p50/p95 ms':>20}")
        print(header)
        for n, kind, build_s, e50, e95, s50, s95, rec, a50, a95 in rows:
            print(f"{n:>10,} {kind:>5} {build_s:>8.1f} {e50:>8.1f} / {e95:<6.1f} {s50:>9.1f} / {s95:<6.1f} {rec:>9.3f} {a50:>10.1f} / {a95:<6.1f}")
        s50_full, a50_full, a95_full = rows[-1][5], rows[-1][8], rows[-1][9]
        for r in large:
            print(f"{r['n']:>10,} {r['type']:>5} {r['build_s']:>8.1f} {r['exact_p50']:>8.1f} / {r['exact_p95']:<6.1f} "
                  f"{r['search_p50']:>9.1f} / {r['search_p95']:<6.1f} {r['recall']:>9.3f} "
                  f"{a50_full - s50_full + r['search_p50']:>10.1f} / {a95_full - s50_full + r['search_p95']:<6.1f} (projected)")
            print(f"    {r['n']:,} vectors: index resident {r['resident_mb']:.0f} MB, file {r['index_mb']:.0f} MB; "
                  f"full vectors on disk {r['vectors_gb']:.1f} GB (memory-mapped, only re-scored rows read)")
        if added:
            per_sentence = added["embed_s"] / added["new_sentences"]
            full_s = added["write_s"] + per_sentence * added["n"]
            beyond = added["add_s"] - added["embed_s"]
            print(f"\nadding {NEW_ARTICLES:,} articles ({added['new_sentences']:,} sentences) to the {added['n']:,}-sentence index: "
                  f"{added['add_s']:.1f} s, of which embedding them {added['embed_s']:.1f} s; "
                  f"{added['segments']} segments after")
            print(f"  beyond the embedding: {beyond:.1f} s = {100 * beyond / full_s:.1f}% of a full rebuild's time "
                  f"({added['write_s']:.1f} s writing + {per_sentence * added['n'] / 60:.0f} min embedding at the same rate); "
                  f"{100 * beyond / added['write_s']:.1f}% of the writing alone")
            print(f"  bytes written {added['written'] / 2**20:.1f} MB = {100 * added['written'] / added['write_bytes']:.2f}% "
                  f"of the full write ({added['write_bytes'] / 2**20:.0f} MB); bytes read {added['read'] / 2**20:.1f} MB "
                  f"(the source's {NEW_ARTICLES + added['n'] // SENTENCES_PER_ARTICLE:,} articles included)")


def exact_timings(vectors: np.ndarray, qv: np.ndarray) -> tuple[float, float]:
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    ms = []
    for q in qv:
        start = time.perf_counter()
        exact.search(q[None, :], 64)
        ms.append((time.perf_counter() - start) * 1000)
    return percentiles(ms)


def vectors_only(n: int, real: np.ndarray, qv: np.ndarray, path: Path, rng: np.random.Generator) -> dict:
    import faiss

    mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)
    lower = np.linalg.cholesky(cov).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, real.shape[1]))
    for lo in range(0, n, 500_000):
        z = rng.standard_normal((min(500_000, n - lo), real.shape[1]), dtype=np.float32)
        x = z @ lower.T + mean.astype(np.float32)
        out[lo:lo + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    out.flush()
    del out
    vectors = np.load(path, mmap_mode="r")
    t = time.perf_counter()
    index, info = vector_index.build(vectors, "auto")
    build_s = time.perf_counter() - t
    faiss.write_index(index, str(path.with_suffix(".faiss")))
    del index
    # resident memory of the index alone, in a fresh process (this one's allocator keeps freed memory)
    probe = ("import faiss, os, pathlib; statm = lambda: int(pathlib.Path('/proc/self/statm').read_text().split()[1]); "
             f"b = statm(); i = faiss.read_index({str(path.with_suffix('.faiss'))!r}); "
             "print((statm() - b) * os.sysconf('SC_PAGE_SIZE') / 2**20)")
    resident = float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    index = faiss.read_index(str(path.with_suffix(".faiss")))
    vector_index.configure(index, info)
    truth = vector_index._exact_top10(vectors, qv)
    t = time.perf_counter()
    vector_index._exact_top10(vectors, qv[:20])
    exact_ms = (time.perf_counter() - t) * 1000 / 20
    s50, s95, recall = search_timings(lambda q, k: vector_index.search(index, info, vectors, q, k), qv, truth)
    return {"n": n, "type": info["type"], "build_s": build_s, "exact_p50": exact_ms, "exact_p95": exact_ms,
            "search_p50": s50, "search_p95": s95, "recall": recall, "tuned_recall": info["recall_at_10"],
            "resident_mb": resident, "index_mb": path.with_suffix(".faiss").stat().st_size / 2**20,
            "vectors_gb": path.stat().st_size / 2**30}


if __name__ == "__main__":
    main()
