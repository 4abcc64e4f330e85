"""The FAISS side: which index type for how many vectors, built and tuned to a measured recall.

Exact search (flat inner product) while it is fast: up to FLAT_MAX vectors it costs under
~20 ms a query on 2 cores. Beyond, an IVF index whose `nprobe` is the smallest that finds
>= TARGET_RECALL of the exact top 10 on probe queries (stored vectors plus noise, re-normed,
about as far from their neighbours as real questions are). Past IVF_MAX vectors, whose float32
copies would not fit a query machine's memory, IVF-PQ: 48-byte codes in memory, of vectors first
rotated by OPQ (a learned rotation that spreads the variance evenly over the code's pieces), and
the best RESCORE x k of its candidates re-scored exactly from the full vectors on disk
(sentences.npy), so recall stays where IVF's is. HNSW is there on request.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

INDEX_TYPES = ("auto", "flat", "ivf", "ivfpq", "hnsw")
FLAT_MAX = 250_000
IVF_MAX = 1_000_000   # 1.5 GB of float32 vectors at 384-d: beyond, compressed codes
PQ_BYTES = 48         # bytes per compressed vector (8-bit codes of 8-d pieces at 384-d)
RESCORE = 10          # candidates re-scored exactly from disk, per result asked for (docs/scaling.md: how it was measured)
RESCORE_WITHOUT_OPQ = 100  # what IVF-PQ indexes built before the rotation need (their manifests name no factor)
TARGET_RECALL = 0.95
PROBE_QUERIES = 200
ADD_BATCH = 200_000


def choose(index_type: str, n: int) -> str:
    if index_type not in INDEX_TYPES:
        raise ValueError(f"index type {index_type!r} is not one of {', '.join(INDEX_TYPES)}")
    if index_type != "auto":
        return index_type
    return "flat" if n <= FLAT_MAX else "ivf" if n <= IVF_MAX else "ivfpq"


def build(vectors: np.ndarray, index_type: str) -> tuple[Any, dict[str, Any]]:
    """A searchable index over unit `vectors`, and what was chosen and measured (for the manifest)."""
    import faiss

    n, dim = vectors.shape if vectors.ndim == 2 else (0, 0)
    kind = choose(index_type, n)
    if kind == "flat" or n < 1000:  # approximate indexes need data to train on
        index = faiss.IndexFlatIP(dim)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))  # may be memory-mapped
        return index, {"type": "flat", "vectors": n}
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        knob = "efSearch"
        settings = [16, 32, 64, 128, 256, 512]
    else:
        if kind == "ivfpq":
            # fewer lists than IVF-Flat's: k-means over 10^7 vectors must stay minutes on a few cores
            nlist = max(64, int(math.sqrt(n)))
            pieces = PQ_BYTES if dim % PQ_BYTES == 0 else dim // 8
            # Without the rotation, a code's ranking was so rough that 100 x k candidates had to be
            # re-scored (read from disk) for the recall 10 x k reach with it (docs/scaling.md)
            index = faiss.index_factory(dim, f"OPQ{pieces},IVF{nlist},PQ{pieces}", faiss.METRIC_INNER_PRODUCT)
        else:
            nlist = max(64, int(4 * math.sqrt(n)))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        # 40 per list for k-means; PQ's 256 codes per piece want at least ~40 points each as well
        wanted = 40 * nlist if kind == "ivf" else max(40 * nlist, 64 * 256)
        sample = vectors[np.sort(rng.choice(n, size=min(n, wanted), replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        for lo in range(0, n, ADD_BATCH):  # in slices: `vectors` may be memory-mapped and larger than memory
            index.add(np.ascontiguousarray(vectors[lo:lo + ADD_BATCH], dtype=np.float32))
        knob = "nprobe"
        settings = [s for s in (4, 8, 16, 32, 64, 128, 256) if s <= nlist] or [nlist]
    info = {"type": kind, "vectors": n} | ({"rescore": RESCORE} if kind == "ivfpq" else {})
    value, recall = _tune(index, info, vectors, knob, settings)
    return index, {**info, knob: value, "recall_at_10": round(recall, 4)}


def search(
    index: Any, info: dict[str, Any], vectors: RowFile | np.ndarray | None, query: np.ndarray, k: int, params: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and rows of the k nearest stored vectors to each query row (rows -1 where none), never
    rows that `params` (from search_parameters) leaves out. For compressed codes, the RESCORE x k
    best by code are re-scored with their full `vectors` from disk (read only for those)."""
    k = min(k, index.ntotal)
    if k == 0:
        return np.zeros((len(query), 0), np.float32), np.zeros((len(query), 0), np.int64)
    if info.get("type") != "ivfpq":
        return index.search(query, k, params=params)
    _, rows = index.search(query, min(k * info.get("rescore", RESCORE_WITHOUT_OPQ), index.ntotal), params=params)
    scores = np.full((len(query), k), -np.inf, np.float32)
    best = np.full((len(query), k), -1, np.int64)
    for q, found in enumerate(rows):
        found = np.sort(found[found >= 0])  # ascending rows: the file is read in order
        # einsum's own loop, not BLAS: a BLAS product this size wakes OpenBLAS's threads, whose
        # spinning afterwards took the cores from the reranker (measured at 10M: +100 ms a question)
        exact = np.einsum("ij,j->i", np.asarray(vectors[found], dtype=np.float32), query[q])
        top = np.argsort(-exact)[:k]
        scores[q, :len(top)], best[q, :len(top)] = exact[top], found[top]
    return scores, best


class RowFile:
    """Rows of a float32 .npy file, read with positional reads for re-scoring. A memory map would
    fault each row in, mapping (and, cold, reading ahead) neighbouring pages never used: at 10^7
    vectors that made a fresh process's re-scoring ~10x slower and mapped gigabytes of the file.
    Here each row costs one read of its own bytes, and the kernel is told access is random.

    Rows not in the page cache come from disk, one random read each (~80 us here). A disk serves
    many such reads at once, so large requests are split over READ_THREADS threads (the reads
    release the GIL): 3,000 cold rows of the 10M file took 243 ms in one thread, 51 in 16."""

    READ_THREADS = 16
    PARALLEL_FROM = 256  # fewer rows than this are read in the calling thread
    _pool = None

    def __init__(self, path: str | os.PathLike[str]) -> None:
        mapped = np.load(path, mmap_mode="r")  # for its header: shape, type, where the data starts
        if mapped.dtype != np.float32 or mapped.ndim != 2 or not mapped.flags.c_contiguous:
            raise ValueError(f"{path} is not a C-ordered float32 matrix")
        self.shape, self.offset = mapped.shape, mapped.offset
        del mapped
        self.row_bytes = self.shape[1] * 4
        self.fd = os.open(path, os.O_RDONLY)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_RANDOM)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        out = np.empty((len(rows), self.shape[1]), np.float32)
        if len(rows) < self.PARALLEL_FROM:
            self._read(rows, out)
            return out
        if RowFile._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            RowFile._pool = ThreadPoolExecutor(self.READ_THREADS, thread_name_prefix="qa-rows")
        parts = np.array_split(np.arange(len(rows)), self.READ_THREADS)
        # list() waits for every part and raises the first part's error, if any
        list(RowFile._pool.map(lambda part: self._read(rows[part], out[part[0]:part[-1] + 1]), parts))
        return out

    def _read(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Rows `rows` into `out` (a C-ordered block of as many rows)."""
        view = memoryview(out).cast("B")
        size = self.row_bytes
        for i, r in enumerate(rows.tolist()):
            if os.preadv(self.fd, [view[i * size:(i + 1) * size]], self.offset + r * size) != size:
                raise OSError(f"short read at row {r}: the vector file is truncated")

    def __del__(self) -> None:
        fd = getattr(self, "fd", None)
        if fd is not None:
            os.close(fd)


def search_parameters(info: dict[str, Any], skip: np.ndarray | None) -> Any:
    """FAISS search parameters leaving out the rows in `skip` (None when there are none)."""
    if skip is None or not len(skip):
        return None
    import faiss

    selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.ascontiguousarray(skip, dtype=np.int64)))
    if "nprobe" in info:  # parameters given per search replace the index's own: carry the tuned knob
        params = faiss.SearchParametersIVF(sel=selector, nprobe=int(info["nprobe"]))
    elif "efSearch" in info:
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=int(info["efSearch"]))
    else:
        params = faiss.SearchParameters(sel=selector)
    params.keep_alive = selector  # the C++ parameters do not own the selector: keep it alive with them
    return params


def configure(index: Any, info: dict[str, Any]) -> None:
    """Set the search knob the build chose (it is not always kept in the saved file)."""
    if "nprobe" in info:
        import faiss

        ivf = faiss.extract_index_ivf(index)  # the IVF inside a rotation, if any
        ivf.nprobe = int(info["nprobe"])
        # Split each query's lists over the threads: FAISS's default splits queries, which leaves a
        # question (one query) on one core. At 10M, search 20-24 -> 11 ms on 2 cores.
        ivf.parallel_mode = 1
    if "efSearch" in info:
        index.hnsw.efSearch = int(info["efSearch"])


def _tune(index: Any, info: dict[str, Any], vectors: np.ndarray, knob: str, settings: list[int]) -> tuple[int, float]:
    rng = np.random.default_rng(1)
    picks = np.asarray(vectors[np.sort(rng.choice(len(vectors), size=min(PROBE_QUERIES, len(vectors)), replace=False))])
    # Noise of norm ~1.2 leaves a probe at cosine ~0.65 from its source, about where real questions
    # sit from their best sentence; nearer probes would overstate recall.
    noisy = picks + rng.normal(scale=1.2 / math.sqrt(vectors.shape[1]), size=picks.shape).astype(np.float32)
    queries = np.ascontiguousarray(noisy / np.linalg.norm(noisy, axis=1, keepdims=True), dtype=np.float32)
    truth = _exact_top10(vectors, queries)
    recall = 0.0
    for value in settings:
        configure(index, {knob: value})
        _, found = search(index, info, vectors, queries, 10)
        recall = float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]))
        if recall >= TARGET_RECALL:
            return value, recall
    return settings[-1], recall


def _exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The exact 10 nearest rows for each query, reading `vectors` (possibly memory-mapped) in slices."""
    best_scores = np.full((len(queries), 0), -np.inf, np.float32)
    best_rows = np.zeros((len(queries), 0), np.int64)
    for lo in range(0, len(vectors), ADD_BATCH):
        scores = queries @ np.asarray(vectors[lo:lo + ADD_BATCH], dtype=np.float32).T
        top = np.argpartition(-scores, min(10, scores.shape[1] - 1), axis=1)[:, :10]
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, 1)])
        best_rows = np.hstack([best_rows, top + lo])
        keep = np.argsort(-best_scores, axis=1)[:, :10]
        best_scores, best_rows = np.take_along_axis(best_scores, keep, 1), np.take_along_axis(best_rows, keep, 1)
    return best_rows
