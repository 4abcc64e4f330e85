"""`rebuild()`: from a source of articles to a new index generation.

Incremental by default: an article whose id and content hash match the current index
keeps its chunks and vectors; only new or changed articles are split and embedded, in this
process or, with `ray=`, on a Ray cluster (qa/ray_build.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from . import config, store, vector_index
from .embed_articles import embed_articles
from .embed_articles import manifest as build_manifest
from .embedding import load_embedder, model_name
from .errors import QAError, SourceError
from .ingest import read_source
from .store import ArticleEntry, StoredIndex
from .types import Article, RebuildStats


def rebuild(
    source: str | Path | None = None,
    index: str | Path | None = None,
    *,
    model: str = config.DEFAULT_MODEL,
    full: bool = False,
    index_type: str = "auto",
    progress: bool = False,
    ray: str | bool | None = None,
) -> RebuildStats:
    """Build or update the index at `index` from the articles at `source`.

    `ray`: embed on Ray instead of in this process. True (or "") starts a local Ray on this
    machine, or joins $RAY_ADDRESS; "auto" or "ray://HOST:PORT" joins that cluster."""
    started = time.perf_counter()
    source_path = config.resolve_source(source)
    index_dir = config.resolve_index(index)
    vector_index.choose(index_type, 0)  # an unknown type fails here, before any work
    articles, skipped = read_source(source_path)
    if not articles:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3]) or "no .txt, .md, .html, .json or .jsonl files"
        raise SourceError(f"no readable articles in {source_path} ({reasons}); the index was left as it was")
    with store.rebuild_lock(index_dir):
        current = _current(index_dir)
        previous = None if full or current is None or not _reusable(current, model) else current
        live = current.live_articles if current else []
        old = {a.id: a for a in live}
        # Vectors are keyed by text: an article renamed, or the same text under another id, is not embedded again.
        old_by_text = {a.text_hash: a.row for a in live if a.text_of == a.row} if previous else {}
        digests = [(store.content_hash(a), store.text_hash(a.text)) for a in articles]
        changed = [a.id not in old or old[a.id].hash != d for a, (d, _) in zip(articles, digests)]
        added = [a.id for a, c in zip(articles, changed) if c and a.id not in old]
        updated = [a.id for a, c in zip(articles, changed) if c and a.id in old]
        kept = {a.id for a in articles}
        removed = [a.id for a in live if a.id not in kept]
        stats = dict(added=added, updated=updated, removed=removed, unchanged=len(articles) - sum(changed), skipped=skipped)
        same_type = current is not None and current.manifest.get("index_type", {}).get("requested") == index_type
        if previous and same_type and not (added or updated or removed):
            m = previous.manifest["counts"]
            return RebuildStats(str(index_dir), m["articles"], m["chunks"], m["sentences"], **stats,
                                seconds=round(time.perf_counter() - started, 3))
        deleted = [old[i].row for i in updated + removed]
        append = previous is not None and same_type and _appends(previous, deleted, sum(changed))
        entries: list[ArticleEntry | None] = []
        fresh: list[tuple[int, Article, str]] = []
        canonical: dict[str, str] = {}  # text hash -> id of the first article with that text
        for article, (digest, text_digest), is_changed in zip(articles, digests, changed):
            if append and not is_changed:
                continue  # stays where it is, in the segment that holds it
            if text_digest in canonical:
                entries.append(store.alias_entry(article, digest, canonical[text_digest]))
                continue
            canonical[text_digest] = article.id
            if previous and text_digest in old_by_text:
                entries.append(_reuse(previous, old_by_text[text_digest], article, digest))
            else:
                entries.append(None)
                fresh.append((len(entries) - 1, article, digest))
        if fresh and ray not in (None, False):
            from .ray_build import embed_on_ray

            address = None if ray is True else ray
            vectors, manifest = embed_on_ray(model, [(a, d) for _, a, d in fresh], address, progress)
        elif fresh:
            embedder = load_embedder(model)
            vectors = embed_articles(embedder, [(a, d) for _, a, d in fresh], progress)
            manifest = build_manifest(embedder)
        if fresh:
            for (slot, _, _), entry in zip(fresh, vectors):
                entries[slot] = entry
        else:  # only removals or metadata edits: no model needed
            manifest = {**previous.manifest, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            manifest = {k: v for k, v in manifest.items() if k not in ("segments", "counts", "index_type")}
        done = [e for e in entries if e is not None]
        if append:
            gen = store.append_generation(index_dir, previous, done, deleted, manifest)
        else:
            gen = store.write_generation(index_dir, done, manifest, index_type=index_type)
    counts = json.loads((gen / store.MANIFEST).read_text())["counts"]
    return RebuildStats(
        index=str(index_dir),
        articles=counts["articles"],
        chunks=counts["chunks"],
        sentences=counts["sentences"],
        **stats,
        seconds=round(time.perf_counter() - started, 3),
    )


MAX_SEGMENTS = 8          # searched one after another: more would slow every question
MAX_DEAD_SHARE = 0.2      # stored sentences of deleted articles: beyond, compacting reclaims the space
APPEND_BELOW = 0.25       # a change of at least this share of the articles rewrites the index


def _appends(previous: StoredIndex, deleted: list[int], changed: int) -> bool:
    """Whether the change goes into a new segment (cost grows with the change) rather than a
    rewrite of the whole index into one segment (cost grows with the index; it compacts too)."""
    if len(previous.segments) >= MAX_SEGMENTS or changed >= APPEND_BELOW * max(1, int(previous.live.sum())):
        return False
    gone = np.zeros(len(previous.live), bool)
    gone[deleted] = True
    # an article kept as an alias of a deleted one would lose the sentences it shares: rewrite instead
    if (previous.live & ~gone & gone[previous.text_of]).any():
        return False
    dead = np.flatnonzero(~previous.live | gone)
    stored = previous.sentence_count
    lost = 0
    for seg in previous.segments:
        mine = dead[(dead >= seg.article_offset) & (dead < seg.article_offset + seg.article_count)]
        starts, ends = seg.runs("sentences", mine - seg.article_offset)
        lost += int((ends - starts).sum())
    return (lost / stored if stored else 0.0) <= MAX_DEAD_SHARE


def _current(index_dir: Path) -> StoredIndex | None:
    if store.current_generation(index_dir) is None:
        return None
    try:
        return store.load(index_dir, search=False)  # its tables: the FAISS index is never needed here
    except QAError:
        return None  # damaged or from another format: build everything again


def _reusable(current: StoredIndex, model: str) -> bool:
    """Whether the current index's vectors can be kept for this build (same model and chunking)."""
    m = current.manifest
    return (m.get("model"), m.get("chunk_tokens"), m.get("chunk_overlap")) == (
        model_name(model), config.CHUNK_TOKENS, config.CHUNK_OVERLAP
    )


def _reuse(previous: StoredIndex, row: int, article: Article, digest: str) -> ArticleEntry:
    """An unchanged article's entry from the index that holds it. Its vectors stay views of the
    memory-mapped files (read only when the new generation is written), so rewriting a large index
    does not hold its vectors in memory."""
    seg = previous.segment_of(row)
    local = row - seg.article_offset
    (c0,), (c1,) = seg.runs("chunks", [local])
    (s0,), (s1,) = seg.runs("sentences", [local])
    sentences = np.asarray(seg.sentences[s0:s1])
    return ArticleEntry(
        article=article,
        hash=digest,
        chunks=[(int(a), int(b)) for a, b in seg.chunks[c0:c1, 1:3]],
        sentences=[(int(a), int(b)) for a, b in sentences[:, 2:4]],
        sentence_chunk=(sentences[:, 1] - c0).tolist(),
        chunk_vectors=seg.vectors("chunks")[c0:c1],
        sentence_vectors=seg.vectors("sentences")[s0:s1],
    )
