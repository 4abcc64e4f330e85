"""The FAISS side: which index type for how many vectors, built and tuned to a measured recall.

Exact search (flat inner product) while it is fast: up to FLAT_MAX vectors it costs under
~20 ms a query on 2 cores. Beyond, an IVF index whose `nprobe` is the smallest that finds
>= TARGET_RECALL of the exact top 10 on probe queries (stored vectors plus noise, re-normed,
about as far from their neighbours as real questions are). HNSW is there on request.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

INDEX_TYPES = ("auto", "flat", "ivf", "hnsw")
FLAT_MAX = 250_000
TARGET_RECALL = 0.95
PROBE_QUERIES = 200


def choose(index_type: str, n: int) -> str:
    if index_type not in INDEX_TYPES:
        raise ValueError(f"index type {index_type!r} is not one of {', '.join(INDEX_TYPES)}")
    if index_type != "auto":
        return index_type
    return "flat" if n <= FLAT_MAX else "ivf"


def build(vectors: np.ndarray, index_type: str) -> tuple[Any, dict[str, Any]]:
    """A searchable index over unit `vectors`, and what was chosen and measured (for the manifest)."""
    import faiss

    n, dim = vectors.shape if vectors.ndim == 2 else (0, 0)
    kind = choose(index_type, n)
    if kind == "flat" or n < 1000:  # approximate indexes need data to train on
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index, {"type": "flat", "vectors": n}
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(vectors)
        knob = "efSearch"
        settings = [16, 32, 64, 128, 256, 512]
    else:
        nlist = max(64, int(4 * math.sqrt(n)))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, 40 * nlist), replace=False)]
        index.train(np.ascontiguousarray(sample))
        index.add(vectors)
        knob = "nprobe"
        settings = [s for s in (4, 8, 16, 32, 64, 128, 256) if s <= nlist] or [nlist]
    value, recall = _tune(index, vectors, knob, settings)
    return index, {"type": kind, "vectors": n, knob: value, "recall_at_10": round(recall, 4)}


def configure(index: Any, info: dict[str, Any]) -> None:
    """Set the search knob the build chose (it is not always kept in the saved file)."""
    if "nprobe" in info:
        index.nprobe = int(info["nprobe"])
    if "efSearch" in info:
        index.hnsw.efSearch = int(info["efSearch"])


def _tune(index: Any, vectors: np.ndarray, knob: str, settings: list[int]) -> tuple[int, float]:
    import faiss

    rng = np.random.default_rng(1)
    picks = vectors[rng.choice(len(vectors), size=min(PROBE_QUERIES, len(vectors)), replace=False)]
    # Noise of norm ~1.2 leaves a probe at cosine ~0.65 from its source, about where real questions
    # sit from their best sentence; nearer probes would overstate recall.
    noisy = picks + rng.normal(scale=1.2 / math.sqrt(vectors.shape[1]), size=picks.shape).astype(np.float32)
    queries = np.ascontiguousarray(noisy / np.linalg.norm(noisy, axis=1, keepdims=True), dtype=np.float32)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    recall = 0.0
    for value in settings:
        configure(index, {knob: value})
        _, found = index.search(queries, 10)
        recall = float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]))
        if recall >= TARGET_RECALL:
            return value, recall
    return settings[-1], recall
