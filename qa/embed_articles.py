"""Articles to index entries: split into sentences and chunks, then embedded (the one step a Ray build
distributes). Both the in-process build (qa/build.py) and the Ray workers (qa/ray_build.py) use it,
so neither imports the other.
"""

from __future__ import annotations

import sys
import time
from importlib import metadata

import numpy as np

from . import chunking, config
from .embedding import Embedder
from .store import ArticleEntry
from .types import Article


def manifest(embedder: Embedder) -> dict:
    """What the index records of its build: format, model, chunking, versions."""
    versions = {}
    for package in ("article-qa", "sentence-transformers", "faiss-cpu", "torch", "onnxruntime", "tiktoken", "transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "format_version": config.FORMAT_VERSION,
        "model": embedder.name,
        "dimension": embedder.dimension,
        "max_seq_length": embedder.max_tokens,
        "chunk_tokens": config.CHUNK_TOKENS,
        "chunk_overlap": config.CHUNK_OVERLAP,
        "token_encoding": config.TOKEN_ENCODING,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions,
    }


def split(embedder: Embedder, text: str) -> tuple[list[chunking.Span], list[chunking.ChunkSpan]]:
    limit = embedder.max_tokens

    def both_counts(texts: list[str]) -> list[int]:
        # A sentence must fit both budgets: chunk size in cl100k tokens and the embedder's word pieces.
        return [max(t, w * config.CHUNK_TOKENS // limit) for t, w in zip(chunking.count_tokens(texts), embedder.count_tokens(texts))]

    sentences = chunking.split_long(text, chunking.sentence_spans(text), both_counts, config.CHUNK_TOKENS)
    counts = chunking.count_tokens([text[a:b] for a, b in sentences])
    chunks = chunking.chunk_spans(sentences, counts)
    return sentences, chunking.fit_to_embedder(chunks, sentences, text, embedder.count_tokens, limit)


def embed_articles(embedder: Embedder, items: list[tuple[Article, str]], progress: bool) -> list[ArticleEntry]:
    """Split and embed articles (each with its content hash), in order."""
    if not items:
        return []
    from tqdm import tqdm

    bar_args = dict(file=sys.stderr, disable=not progress, unit="article", dynamic_ncols=True)
    plans = []
    for article, _ in tqdm(items, desc="Splitting", **bar_args):
        sentences, chunks = split(embedder, article.text)
        # Each sentence is embedded in the first chunk that holds it.
        owner = []
        c = 0
        for a, b in sentences:
            while not (chunks[c].start <= a and b <= chunks[c].end):
                c += 1
            owner.append(c)
        plans.append((sentences, chunks, owner))
    texts, spans = [], []
    for (article, _), (sentences, chunks, owner) in zip(items, plans):
        per_chunk: list[list[chunking.Span]] = [[] for _ in chunks]
        for (a, b), o in zip(sentences, owner):
            per_chunk[o].append((a - chunks[o].start, b - chunks[o].start))
        texts += [article.text[ch.start:ch.end] for ch in chunks]
        spans += per_chunk
    with tqdm(total=len(texts), desc="Embedding", **{**bar_args, "unit": "chunk"}) as bar:
        vectors = embedder.encode_chunks(texts, spans, on_progress=bar.update)
    entries = []
    k = 0
    for (article, digest), (sentences, chunks, owner) in zip(items, plans):
        n = len(chunks)
        per_chunk = vectors.sentences[k:k + n]
        # `owner` never decreases, so pooling chunk by chunk already gives sentence order.
        sentence_vectors = np.vstack(per_chunk) if per_chunk else np.zeros((0, vectors.chunks.shape[1]), np.float32)
        entries.append(
            ArticleEntry(
                article=article,
                hash=digest,
                chunks=[(c.start, c.end) for c in chunks],
                sentences=sentences,
                sentence_chunk=owner,
                chunk_vectors=vectors.chunks[k:k + n],
                sentence_vectors=sentence_vectors,
            )
        )
        k += n
    return entries
