from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qa import (
    IndexCorruptError,
    IndexMismatchError,
    RebuildBusyError,
    SourceError,
    answer,
    rebuild,
    store,
)
from qa.store import rebuild_lock


@pytest.fixture
def built(tmp_path, seed_copy):
    index = tmp_path / "index"
    rebuild(source=seed_copy, index=index)
    return seed_copy, index


def test_index_records_its_build(built):
    _, index = built
    gen = store.current_generation(index)
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["counts"]["articles"] == 1
    assert {"faiss-cpu", "sentence-transformers", "tiktoken"} <= set(manifest["versions"])
    assert (gen / "sentences.faiss").exists() and (gen / "store.sqlite").exists()
    assert not (gen / "chunks.faiss").exists()  # chunks are never searched: their vectors are kept for reuse only


def test_second_rebuild_reuses_unchanged_articles(built):
    source, index = built
    (source / "new.md").write_text("---\ntitle: Grain deal\n---\nThe grain deal was extended by 120 days on Monday.\n")
    stats = rebuild(source=source, index=index)
    assert stats.unchanged == 1 and stats.added == ["new.md"]
    assert answer("How long was the grain deal extended?", index=index).citations[0].article_id == "new.md"
    (source / "new.md").unlink()
    stats = rebuild(source=source, index=index)
    assert stats.removed == ["new.md"] and stats.unchanged == 1
    assert len(list(index.glob("gen-*"))) <= 2


def test_failed_rebuild_keeps_previous_index(built, tmp_path):
    _, index = built
    before = answer("what conditions did Putin set?", index=index)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "junk.txt").write_bytes(b"\x00\x01" * 100)
    with pytest.raises(SourceError, match="no readable articles"):
        rebuild(source=empty, index=index)
    assert answer("what conditions did Putin set?", index=index).citations == before.citations


def test_killed_build_leftovers_do_not_matter(built):
    source, index = built
    (index / ".tmp-gen-half-written").mkdir()
    (index / ".tmp-gen-half-written" / "sentences.faiss").write_bytes(b"partial")
    assert answer("what conditions did Putin set?", index=index).found
    rebuild(source=source, index=index, full=True)
    assert not list(index.glob(".tmp-*"))


def test_truncated_index_file_is_reported(built):
    _, index = built
    faiss_file = store.current_generation(index) / "sentences.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="rebuild --full"):
        answer("what conditions did Putin set?", index=index)


@pytest.mark.parametrize("damage", ["truncate", "other rows"])
def test_damaged_vector_file_is_reported(built, damage):
    _, index = built
    vectors = store.current_generation(index) / "chunks.npy"
    if damage == "truncate":
        vectors.write_bytes(vectors.read_bytes()[:60])
    else:
        np.save(vectors, np.zeros((np.load(vectors).shape[0] + 1, 384), np.float32))
    with pytest.raises(IndexCorruptError, match="rebuild --full"):
        answer("what conditions did Putin set?", index=index)


def test_missing_index_file_is_reported(built):
    _, index = built
    (store.current_generation(index) / "store.sqlite").unlink()
    with pytest.raises(IndexCorruptError, match="rebuild"):
        answer("what conditions did Putin set?", index=index)


def test_other_format_is_reported(built):
    _, index = built
    path = store.current_generation(index) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "format_version": 0}))
    with pytest.raises(IndexMismatchError, match="qa rebuild --full"):
        answer("what conditions did Putin set?", index=index)


def test_other_model_dimension_is_reported(built):
    _, index = built
    path = store.current_generation(index) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "dimension": 768}))
    with pytest.raises((IndexMismatchError, IndexCorruptError), match="rebuild"):
        answer("what conditions did Putin set?", index=index)


def test_concurrent_rebuild_is_refused(built):
    source, index = built
    with rebuild_lock(index):
        with pytest.raises(RebuildBusyError, match="another rebuild"):
            rebuild(source=source, index=index)


def test_index_folder_can_move(built, tmp_path):
    _, index = built
    moved = tmp_path / "moved"
    shutil.copytree(index, moved, symlinks=True)
    assert answer("what conditions did Putin set?", index=moved).found


def test_index_of_a_model_not_here_says_to_rebuild(built):
    _, index = built
    path = store.current_generation(index) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "model": "/nowhere/other-model"}))
    with pytest.raises(IndexMismatchError, match="built with model '/nowhere/other-model'.*qa rebuild --full"):
        answer("what conditions did Putin set?", index=index)
