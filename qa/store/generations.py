"""Generations: a rebuild writes a hidden folder, renames it and swaps the `current` link in one
rename, under a lock that lets one rebuild run at a time. A generation is one segment (a full build)
or the previous generation's segments, hard-linked, plus one appended."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RebuildBusyError
from .entries import ArticleEntry
from .segments import SEGMENT_FILES, write_segment

if TYPE_CHECKING:
    from .index import StoredIndex

CURRENT = "current"
MANIFEST = "manifest.json"


@contextlib.contextmanager
def rebuild_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RebuildBusyError(
                f"another rebuild of {index_dir} is running: wait for it to finish, then run qa rebuild again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def current_generation(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.is_symlink():
        return None
    return index_dir / os.readlink(link)


def write_generation(
    index_dir: Path, entries: list[ArticleEntry], manifest: dict[str, Any], *, index_type: str = "auto"
) -> Path:
    """Write a complete new generation, all in one segment, and swap it in. Call with the rebuild lock
    held. This is a full build, and the compaction of an index grown by appended segments."""
    tmp, name = _new_generation(index_dir)
    segment = write_segment(tmp, entries, int(manifest["dimension"]), index_type)
    manifest = {
        **manifest,
        "index_type": {"requested": index_type, "sentences": segment["index"]},
        "counts": dict(segment["counts"]),
        "segments": [segment],
    }
    return _swap_in(index_dir, tmp, name, manifest)


def append_generation(
    index_dir: Path, previous: "StoredIndex", entries: list[ArticleEntry], deleted: list[int], manifest: dict[str, Any]
) -> Path:
    """A new generation that keeps `previous`'s segments (hard links: no byte copied), marks the
    articles at `deleted` rows (changed or removed) as gone, and adds `entries` as one new segment.
    Its cost grows with the change, not with the index. Call with the rebuild lock held."""
    tmp, name = _new_generation(index_dir)
    segments = []
    gone = set(deleted)
    for seg in previous.segments:
        folder = tmp / seg.info["path"]
        folder.mkdir(parents=True, exist_ok=True)
        for file in SEGMENT_FILES:
            os.link(seg.path / file, folder / file)
        rows = set(seg.info.get("deleted", [])) | {r - seg.article_offset for r in gone if seg.holds_article(r)}
        segments.append({**seg.info, "deleted": sorted(int(r) for r in rows)})
    if entries:  # only removals: no new segment
        requested = previous.manifest["index_type"]["requested"]
        path = f"seg-{name.removeprefix('gen-')}"
        (tmp / path).mkdir()
        segments.append({**write_segment(tmp / path, entries, int(manifest["dimension"]), requested), "path": path})
    counts = {"articles": 0, "chunks": 0, "sentences": 0}
    for seg, info in zip([*previous.segments, None], segments):
        live = seg.live_counts(info["deleted"]) if seg else info["counts"]
        counts = {k: counts[k] + live[k] for k in counts}
    manifest = {**manifest, "index_type": previous.manifest["index_type"], "counts": counts, "segments": segments}
    return _swap_in(index_dir, tmp, name, manifest)


def _new_generation(index_dir: Path) -> tuple[Path, str]:
    for stale in index_dir.glob(".tmp-*"):  # left by a killed build
        shutil.rmtree(stale, ignore_errors=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    return tmp, name


def _swap_in(index_dir: Path, tmp: Path, name: str, manifest: dict[str, Any]) -> Path:
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync_tree(tmp)

    final = index_dir / name
    os.rename(tmp, final)
    link_tmp = index_dir / f".tmp-link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link_tmp.unlink()
    previous = current_generation(index_dir)
    os.symlink(name, link_tmp)
    os.replace(link_tmp, index_dir / CURRENT)  # the atomic moment: readers see old or new, never a mix
    _fsync_dir(index_dir)
    # Keep the generation just replaced (a reader may be opening it); drop older ones. Files shared
    # with a kept generation (hard links) live on through it.
    for old in index_dir.glob("gen-*"):
        if old.name not in (name, previous.name if previous else None):
            shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            _fsync_tree(path)
            continue
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
