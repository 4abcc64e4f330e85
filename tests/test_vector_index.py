from __future__ import annotations

import json

import numpy as np
import pytest

from qa import answer, rebuild, store, vector_index


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors in clusters, like sentence embeddings of a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    x = centres[rng.integers(0, 50, n)] + rng.normal(scale=0.7, size=(n, dim))
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def test_auto_is_exact_while_small_and_approximate_beyond():
    assert vector_index.choose("auto", 10_000) == "flat"
    assert vector_index.choose("auto", vector_index.FLAT_MAX + 1) == "ivf"
    assert vector_index.choose("auto", vector_index.IVF_MAX + 1) == "ivfpq"
    with pytest.raises(ValueError, match="auto, flat, ivf, ivfpq, hnsw"):
        vector_index.choose("annoy", 10)


@pytest.mark.parametrize("kind, knob", [("ivf", "nprobe"), ("ivfpq", "nprobe"), ("hnsw", "efSearch")])
def test_approximate_indexes_are_tuned_to_the_target_recall(kind, knob):
    vectors = clustered(20_000)
    index, info = vector_index.build(vectors, kind)
    assert info["type"] == kind and info[knob] > 0
    assert info["recall_at_10"] >= vector_index.TARGET_RECALL
    # Recall measured independently, on other queries, agrees.
    import faiss

    rng = np.random.default_rng(5)
    picks = vectors[rng.choice(len(vectors), 300, replace=False)]
    queries = picks + rng.normal(scale=1.0 / np.sqrt(vectors.shape[1]), size=picks.shape)
    queries = np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype=np.float32)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    _, found = vector_index.search(index, info, vectors, queries, 10)
    assert np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]) >= 0.9
    # one question at a time, as answer() asks, finds what the batch finds
    for q, f in zip(queries[:20], found):
        assert set(vector_index.search(index, info, vectors, q[None], 10)[1][0]) == set(f)


def test_manifest_records_the_choice_and_a_new_type_rebuilds(tmp_path, seed_copy):
    index = tmp_path / "index"
    rebuild(source=seed_copy, index=index)
    manifest = json.loads((store.current_generation(index) / "manifest.json").read_text())
    assert manifest["index_type"]["requested"] == "auto"
    assert manifest["index_type"]["sentences"]["type"] == "flat"
    gen = store.current_generation(index)
    rebuild(source=seed_copy, index=index, index_type="hnsw")
    assert store.current_generation(index) != gen
    assert answer("what conditions did Putin set?", index=index).found


def test_compressed_codes_are_rescored_exactly_from_the_vectors_on_disk(tmp_path):
    vectors = clustered(20_000)
    np.save(tmp_path / "v.npy", vectors)
    on_disk = np.load(tmp_path / "v.npy", mmap_mode="r")
    index, info = vector_index.build(on_disk, "ivfpq")
    assert info["type"] == "ivfpq" and info["recall_at_10"] >= vector_index.TARGET_RECALL
    query = vectors[7:8]
    scores, rows = vector_index.search(index, info, on_disk, query, 5)
    assert rows[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)  # exact scores, not code estimates
    assert np.allclose(scores[0], vectors[rows[0]] @ query[0], atol=1e-6)
    assert list(scores[0]) == sorted(scores[0], reverse=True)
    # Re-scoring reads the rows with positional reads (what a loaded index does): the same answer.
    from_file = vector_index.search(index, info, vector_index.RowFile(tmp_path / "v.npy"), vectors[:50], 5)
    mapped = vector_index.search(index, info, on_disk, vectors[:50], 5)
    assert np.array_equal(from_file[1], mapped[1]) and np.array_equal(from_file[0], mapped[0])


def test_row_file_reads_rows_in_parallel_and_reports_a_truncated_file(tmp_path):
    vectors = clustered(5_000)
    np.save(tmp_path / "v.npy", vectors)
    rows = np.random.default_rng(3).choice(len(vectors), 2_000, replace=False)  # split over threads
    assert len(rows) >= vector_index.RowFile.PARALLEL_FROM
    assert np.array_equal(vector_index.RowFile(tmp_path / "v.npy")[rows], vectors[rows])
    assert np.array_equal(vector_index.RowFile(tmp_path / "v.npy")[rows[:5]], vectors[rows[:5]])
    opened = vector_index.RowFile(tmp_path / "v.npy")
    with open(tmp_path / "v.npy", "r+b") as f:  # the file cut short under an open index
        f.truncate(f.seek(0, 2) - 1000 * 4 * vectors.shape[1])
    with pytest.raises(OSError, match="truncated"):
        opened[np.array([len(vectors) - 1] * 300)]


def test_ivfpq_indexes_built_before_the_rotation_still_rescore_enough_candidates():
    import faiss

    vectors = clustered(20_000)
    index, info = vector_index.build(vectors, "ivfpq")
    assert info["rescore"] == vector_index.RESCORE and isinstance(faiss.downcast_VectorTransform(index.chain.at(0)), faiss.OPQMatrix)
    # A format-6 index written before OPQ: plain IVF-PQ codes, and a manifest naming no factor.
    old = faiss.index_factory(vectors.shape[1], "IVF141,PQ8", faiss.METRIC_INNER_PRODUCT)
    old.train(vectors)
    old.add(vectors)
    old_info = {"type": "ivfpq", "vectors": len(vectors), "nprobe": 16}
    vector_index.configure(old, old_info)
    queries = vectors[:100]
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    _, found = vector_index.search(old, old_info, vectors, queries, 10)  # 100 x k candidates, as it was built for
    assert np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]) >= 0.9
