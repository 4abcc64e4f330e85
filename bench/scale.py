"""Warm answer() latency, memory and recall by index size, up to 10M sentences; the cost of adding
1,000 articles to a 1M-sentence index against rebuilding it.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000,10000000] [--add-at 1000000]

Real text cannot be embedded at millions of sentences in reasonable time on 2 cores, so the
vectors are drawn from the real model's output distribution: a Gaussian with the mean and
covariance of all-MiniLM-L6-v2 sentence vectors of the dev corpora, re-normed. The texts are
real sentences of those corpora. Queries are the dev sets' real questions, embedded. Each
index is a real on-disk index written by the same code `qa rebuild` uses (the vectors
generated into a memory-mapped file in slices, and streamed from it into the index).

Per size, in a fresh process (so that memory is the index's, not this builder's): the models
are loaded, then the index is opened and `answer()` runs with the reranker on every question;
resident memory is read before and after (anonymous memory, and file pages mapped from the
index's memory-mapped files, which the kernel can reclaim). Recall@10 of the index's search
against exact search is measured here. The answering is then probed once more with the page cache
emptied first (root only): every file the index reads, the re-scored vectors above all, comes from
disk, as on a query machine whose memory does not hold the 15 GB of full vectors.

Each index is written by a process of its own, which exits before serving: the builder's ~9 GB of
articles at 10M would otherwise crowd the served index.

At --add-at, 1,000 new articles (real sentences, really embedded) are added with `rebuild()`:
its time and bytes read and written (/proc/self/io) beside what writing the whole index took,
with and without the embedding of the new articles (timed apart on the same articles).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402

from qa import answer, open_index, rebuild, store, vector_index
from qa.api import embedder_for
from qa.embed_articles import embed_articles, manifest as _manifest
from qa.embedding import load_embedder
from qa.store import ArticleEntry
from qa.types import Article

ROOT = Path(__file__).resolve().parent.parent
SENTENCES_PER_ARTICLE = 10
SENTENCES_PER_CHUNK = 5
NEW_ARTICLES = 1000
SLICE = 500_000


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


def synthetic_entries(n: int, real: np.ndarray, texts: list[str], rng: np.random.Generator, folder: Path) -> list[ArticleEntry]:
    """Articles of real sentences with vectors from the real vectors' distribution. The vectors are
    generated into memory-mapped files in slices; each entry's vectors are views of them."""
    folder.mkdir()
    dim = real.shape[1]
    mean, lower = real.mean(axis=0).astype(np.float32), np.linalg.cholesky(np.cov(real, rowvar=False)).astype(np.float32)
    sentence_vectors = np.lib.format.open_memmap(folder / "s.npy", mode="w+", dtype=np.float32, shape=(n, dim))
    chunk_vectors = np.lib.format.open_memmap(folder / "c.npy", mode="w+", dtype=np.float32, shape=(n // SENTENCES_PER_CHUNK, dim))
    for lo in range(0, n, SLICE):
        x = rng.standard_normal((min(SLICE, n - lo), dim), dtype=np.float32) @ lower.T + mean
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        sentence_vectors[lo:lo + len(x)] = x
        c = x.reshape(-1, SENTENCES_PER_CHUNK, dim).mean(axis=1)
        chunk_vectors[lo // SENTENCES_PER_CHUNK:(lo + len(x)) // SENTENCES_PER_CHUNK] = c / np.linalg.norm(c, axis=1, keepdims=True)
    sentence_vectors.flush(), chunk_vectors.flush()
    sentence_vectors, chunk_vectors = np.load(folder / "s.npy", mmap_mode="r"), np.load(folder / "c.npy", mmap_mode="r")
    chunks_per_article = SENTENCES_PER_ARTICLE // SENTENCES_PER_CHUNK
    sentence_chunk = [i // SENTENCES_PER_CHUNK for i in range(SENTENCES_PER_ARTICLE)]
    entries = []
    for a in range(n // SENTENCES_PER_ARTICLE):
        picked = [texts[i] for i in rng.integers(0, len(texts), SENTENCES_PER_ARTICLE)]
        spans, pos = [], 0
        for t in picked:
            spans.append((pos, pos + len(t)))
            pos += len(t) + 1
        chunks = [(spans[i][0], spans[i + SENTENCES_PER_CHUNK - 1][1]) for i in range(0, len(spans), SENTENCES_PER_CHUNK)]
        article = Article(id=f"s{a}", text="\n".join(picked), title=f"Synthetic {a}")
        entries.append(
            ArticleEntry(article, store.content_hash(article), chunks, spans, sentence_chunk,
                         chunk_vectors[a * chunks_per_article:(a + 1) * chunks_per_article],
                         sentence_vectors[a * SENTENCES_PER_ARTICLE:(a + 1) * SENTENCES_PER_ARTICLE])
        )
    return entries


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def io_bytes() -> tuple[int, int]:
    """Bytes this process has read and written through system calls so far."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def resident_mb() -> dict[str, float]:
    """This process's resident memory: anonymous, and file pages mapped in (MB)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {k: int(fields[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile")}


def search_timings(idx_search, qv: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    ms, hits = [], []
    for q, t in zip(qv, truth):
        start = time.perf_counter()
        _, found = idx_search(q[None, :], 64)
        ms.append((time.perf_counter() - start) * 1000)
        hits.append(len(set(t[:10]) & set(found[0][:10])) / 10)
    return *percentiles(ms), float(np.mean(hits))


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (needs root), so that the index's files are read from disk
    as on a query machine whose memory does not hold them. False where not allowed."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError:
        return False


def probe(index: Path, questions: list[str], cold: bool = False) -> dict:
    """In a fresh process: the models loaded and warm, then (`cold`: with the page cache emptied)
    the index opened and every question answered. Memory before and after, load time, answer()
    latency."""
    from qa.reranker import load_reranker

    load_embedder().encode_queries(["warm up"])
    load_reranker().logits("warm up", ["a sentence"])
    if cold and not drop_page_cache():
        return {}
    before = resident_mb()
    start = time.perf_counter()
    open_index(index)
    open_s = time.perf_counter() - start
    opened = resident_mb()
    for q in questions[:5]:
        answer(q, index=index)  # warm
    timings = [answer(q, index=index).timings_ms for q in questions]
    after = resident_mb()
    stages = {stage: percentiles([t[stage] for t in timings]) for stage in timings[0]}  # where the time goes
    return {"open_s": open_s, "answer": stages.pop("total"), "stages": stages, "before": before, "opened": opened, "after": after}


def probe_in_fresh_process(index: Path, questions: list[str], tmp: Path, cold: bool = False) -> dict:
    qfile = tmp / "questions.json"
    qfile.write_text(json.dumps(questions))
    out = subprocess.run([sys.executable, __file__, "--probe", str(index), str(qfile)] + ["--cold"] * cold,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def write_source(entries: list[ArticleEntry], source: Path) -> None:
    """The articles already indexed, as `qa rebuild` reads them (to be found unchanged)."""
    with source.open("w") as f:
        for e in entries:
            f.write(json.dumps({"id": e.article.id, "title": e.article.title, "text": e.article.text}) + "\n")


def add_articles(index: Path, existing: int, source: Path, pool: list[str]) -> dict[str, float]:
    """Add 1,000 real articles to `index` (built from the `existing` articles in `source`) with
    rebuild(); what it cost."""
    with source.open("a") as f:
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
    assert stats.added == [a.id for a in new] and stats.unchanged == existing, f"the rebuild did not only add: {stats.summary()}"
    segments = json.loads((store.current_generation(index) / "manifest.json").read_text())["segments"]
    return {"add_s": add_s, "embed_s": embed_s, "read": read1 - read0, "written": written1 - written0,
            "segments": len(segments), "new_sentences": sum(len(e.sentences) for e in embedded)}


def write_index(n: int, index: Path, material: Path, source: Path | None) -> dict:
    """Generate `n` synthetic sentences and write them as an index at `index`, as `qa rebuild` writes
    one; with `source`, the articles as a source file too (for adding to the index later)."""
    real, texts = np.load(material / "real.npy"), json.loads((material / "texts.json").read_text())
    manifest = json.loads((material / "manifest.json").read_text())
    start = time.perf_counter()
    entries = synthetic_entries(n, real, texts, np.random.default_rng(n), index.parent / f"vectors-{n}")
    generate_s = time.perf_counter() - start
    index.mkdir()
    _, written0 = io_bytes()
    start = time.perf_counter()
    with store.rebuild_lock(index):
        store.write_generation(index, entries, manifest)
    write_s = time.perf_counter() - start
    write_bytes = io_bytes()[1] - written0
    if source:
        write_source(entries, source)
    shutil.rmtree(index.parent / f"vectors-{n}")
    return {"generate_s": generate_s, "write_s": write_s, "write_bytes": write_bytes, "existing": len(entries)}


def write_in_fresh_process(n: int, index: Path, material: Path, source: Path | None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--write", str(n), str(index), str(material), str(source or "")],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cold_cell(row: dict) -> str:
    cold = row.get("cold_answer")
    return f"{cold[0]:.1f} / {cold[1]:.1f}" if cold else "n/a (not root)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000,10000000")
    ap.add_argument("--add-at", type=int, default=1_000_000, help="the size to which 1,000 articles are added")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--probe", nargs=2, metavar=("INDEX", "QUESTIONS_JSON"), help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--write", nargs=4, metavar=("N", "INDEX", "MATERIAL", "SOURCE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        n, index, material, source = args.write
        print(json.dumps(write_index(int(n), Path(index), Path(material), Path(source) if source else None)))
        return
    if args.probe:
        print(json.dumps(probe(Path(args.probe[0]), json.loads(Path(args.probe[1]).read_text()), args.cold)))
        return
    rows, added = [], None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        real, texts, questions = real_material(Path(args.data), tmp)
        questions = questions[: args.queries]
        manifest = _manifest(embedder_for(open_index(tmp / "news-dev")))
        qv = load_embedder().encode_queries(questions)
        material = tmp / "material"
        material.mkdir()
        np.save(material / "real.npy", real)
        (material / "texts.json").write_text(json.dumps(texts))
        (material / "manifest.json").write_text(json.dumps(manifest))
        for n in [int(s) for s in args.sizes.split(",")]:
            index = tmp / f"scale-{n}"
            # Written by a process of its own that exits before serving: the builder's articles (~9 GB
            # at 10M) and generated vectors do not compete with the served index for memory.
            written = write_in_fresh_process(n, index, material, tmp / "source.jsonl" if n == args.add_at else None)
            generate_s, write_s, write_bytes, existing = (written[k] for k in ("generate_s", "write_s", "write_bytes", "existing"))
            idx = open_index(index)
            info = idx.manifest["index_type"]["sentences"]
            vectors = idx.vectors("sentences")
            t = time.perf_counter()
            truth = vector_index._exact_top10(vectors, qv)
            exact_ms = (time.perf_counter() - t) * 1000 / len(qv)  # exact search, batched, over the memory-mapped vectors
            s50, s95, recall = search_timings(idx.search, qv, truth)
            served = probe_in_fresh_process(index, questions, tmp)
            cold = probe_in_fresh_process(index, questions, tmp, cold=True)
            disk = sum(f.stat().st_size for f in store.current_generation(index).rglob("*") if f.is_file())
            rows.append(dict(n=n, type=info["type"], generate_s=generate_s, write_s=write_s, exact_ms=exact_ms,
                             search=(s50, s95), recall=recall, disk_gb=disk / 2**30,
                             cold_answer=cold.get("answer"), cold_stages=cold.get("stages"), **served))
            print(rows[-1], flush=True)
            if n == args.add_at:
                added = add_articles(index, existing, tmp / "source.jsonl", texts) | {"write_s": write_s, "write_bytes": write_bytes, "n": n}
                print(added, flush=True)
            del vectors, idx
            from qa import api
            api._open.clear()
            shutil.rmtree(index)
    with recorded("Latency by size"):
        print(f"{'sentences':>10} {'type':>5} {'write s':>8} {'exact ms':>8} {'search p50/p95 ms':>18} "
              f"{'recall@10':>9} {'answer() p50/p95 ms':>20} {'cold p50/p95 ms':>16} {'open s':>6}  index resident MB (anon + file)")
        for r in rows:
            anon = r["after"]["RssAnon"] - r["before"]["RssAnon"]
            file = r["after"]["RssFile"] - r["before"]["RssFile"]
            print(f"{r['n']:>10,} {r['type']:>5} {r['write_s']:>8.1f} {r['exact_ms']:>8.1f} {r['search'][0]:>9.1f} / {r['search'][1]:<6.1f} "
                  f"{r['recall']:>9.3f} {r['answer'][0]:>10.1f} / {r['answer'][1]:<6.1f} {cold_cell(r):>16} {r['open_s']:>6.2f}  "
                  f"{anon + file:>6.0f} ({anon:.0f} + {file:.0f}); on disk {r['disk_gb']:.1f} GB")
        for r in rows:
            for label, stages in (("warm", r.get("stages")), ("cold", r.get("cold_stages"))):
                if stages:
                    print(f"{r['n']:>10,} {label} answer() stages p50/p95 ms: "
                          + ", ".join(f"{k} {v[0]:.1f}/{v[1]:.1f}" for k, v in stages.items()))
        print("cold: in a fresh process with the page cache emptied before the index is opened (every file read from disk)")
        print("index resident: growth of the answering process from models loaded to 200 questions answered;"
              " file pages are the memory-mapped spans and vectors read, reclaimable by the kernel")
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


if __name__ == "__main__":
    main()
