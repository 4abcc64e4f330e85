"""The index on disk: generations swapped in atomically, made of segments, and loaded with checks.

    index/
      current -> gen-<time>-<pid>     symlink, replaced in one rename when a build completes
      gen-.../manifest.json           model, dimension, chunking, versions, live counts, segments
      gen-.../store.sqlite            articles' metadata, their stored texts, word document frequencies
      gen-.../chunk_spans.npy         (article, start, end) per chunk row, int32, memory-mapped
      gen-.../sentence_spans.npy      (article, chunk, start, end) per sentence row, int32, memory-mapped
      gen-.../articles.npy            per article row: the row whose stored text it has (itself, or a
                                      twin), and where its chunk and sentence rows end (rows run article by article)
      gen-.../chunks.npy, sentences.npy     unit vectors, rows aligned with the span files
      gen-.../sentences.faiss         inner-product index over the sentence vectors (type by size);
                                      chunk vectors are kept only to be reused by later rebuilds
      gen-.../seg-<time>/...          a segment appended by a later, small rebuild: the same files
      .lock                           held by the one rebuild that may run at a time

A generation is one or more segments: the files at its top, and `seg-*` folders appended after.
A full build writes one segment. A small change (a few articles added, edited or removed) writes
only a new segment holding the new and edited articles; the new generation hard-links the
previous one's segment files (no byte copied) and lists the articles that are gone (edited or
removed) as deleted rows of their segments, never searched or cited again. When appending stops
paying (too many segments, too much deleted), the next rebuild writes one segment again.

Loading reads only what answering needs in memory (the FAISS index, one int per article); spans
and vectors are memory-mapped and metadata is read by row, so a 10M-sentence index answers within
a few hundred MB.

A build writes a hidden `.tmp-*` folder, renames it to `gen-*` and only then points `current` at
it, so a killed build leaves the previous index untouched and answering.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import config, lexical, vector_index
from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, RebuildBusyError
from .types import Article

Span = tuple[int, int]
CURRENT = "current"
MANIFEST = "manifest.json"
DB = "store.sqlite"


def content_hash(article: Article) -> str:
    h = hashlib.sha256()
    for part in (article.text, article.title, article.url, article.date, article.source):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ArticleEntry:
    """Everything the index keeps for one article, ready to be written."""

    article: Article
    hash: str
    chunks: list[Span]
    sentences: list[Span]
    sentence_chunk: list[int]          # for each sentence, the index of its chunk in `chunks`
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    same_text_as: str | None = None    # id of an earlier article with this exact text: stored once, there


def alias_entry(article: Article, digest: str, same_text_as: str) -> ArticleEntry:
    empty = np.zeros((0, 0), np.float32)
    return ArticleEntry(article, digest, [], [], [], empty, empty, same_text_as)


@dataclass(frozen=True)
class ArticleMeta:
    row: int
    id: str
    title: str
    url: str
    date: str
    source: str
    path: str
    hash: str
    text_hash: str
    text_of: int  # the row whose stored text this article has (its own row, unless a duplicate)


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
    segment = _write_segment(tmp, entries, int(manifest["dimension"]), index_type)
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
        segments.append({**_write_segment(tmp / path, entries, int(manifest["dimension"]), requested), "path": path})
    counts = {"articles": 0, "chunks": 0, "sentences": 0}
    for seg, info in zip([*previous.segments, None], segments):
        live = seg.live_counts(info["deleted"]) if seg else info["counts"]
        counts = {k: counts[k] + live[k] for k in counts}
    manifest = {**manifest, "index_type": previous.manifest["index_type"], "counts": counts, "segments": segments}
    return _swap_in(index_dir, tmp, name, manifest)


SEGMENT_FILES = (DB, "chunk_spans.npy", "sentence_spans.npy", "articles.npy", "chunks.npy", "sentences.npy", "sentences.faiss")
SPAN_LIMIT = 2**31 - 1  # rows and character offsets are stored as int32


def _new_generation(index_dir: Path) -> tuple[Path, str]:
    for stale in index_dir.glob(".tmp-*"):  # left by a killed build
        shutil.rmtree(stale, ignore_errors=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    return tmp, name


def _write_segment(folder: Path, entries: list[ArticleEntry], dim: int, index_type: str) -> dict[str, Any]:
    """One segment's files (tables, spans, vectors, FAISS index) in `folder`; what the manifest
    records of it. Article rows, and the rows an alias points at, are the segment's own. Vectors are
    written entry by entry into memory-mapped files, never stacked in memory: an entry's vectors may
    themselves be views of another segment's files (compaction, or an index of 10^7 sentences)."""
    import faiss

    n_chunks = sum(len(e.chunks) for e in entries)
    n_sentences = sum(len(e.sentences) for e in entries)
    chunk_spans = np.zeros((n_chunks, 3), np.int64)
    sentence_spans = np.zeros((n_sentences, 4), np.int64)
    articles = np.zeros((len(entries), 3), np.int64)  # text_of, end of its chunk rows, end of its sentence rows
    chunk_vectors = _vector_file(folder / "chunks.npy", n_chunks, dim)
    sentence_vectors = _vector_file(folder / "sentences.npy", n_sentences, dim)

    db = sqlite3.connect(folder / DB)
    db.executescript(
        """
        CREATE TABLE articles (row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, hash TEXT NOT NULL,
            title TEXT, url TEXT, date TEXT, source TEXT, path TEXT, text_hash TEXT NOT NULL,
            text_of INTEGER NOT NULL);
        -- texts apart: a rebuild scans the articles' metadata without reading every text
        CREATE TABLE texts (row INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
        """
    )
    c = n = 0
    rows = {e.article.id: r for r, e in enumerate(entries)}
    for a_row, e in enumerate(entries):
        a = e.article
        text_of = rows[e.same_text_as] if e.same_text_as else a_row
        db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
            (a_row, a.id, e.hash, a.title, a.url, a.date, a.source, a.path, text_hash(a.text), text_of),
        )
        if not e.same_text_as:
            db.execute("INSERT INTO texts VALUES (?,?)", (a_row, a.text))
        if e.chunks:
            chunk_spans[c:c + len(e.chunks)] = [(a_row, s, t) for s, t in e.chunks]
            chunk_vectors[c:c + len(e.chunks)] = e.chunk_vectors
        if e.sentences:
            sentence_spans[n:n + len(e.sentences)] = [(a_row, c + k, s, t) for (s, t), k in zip(e.sentences, e.sentence_chunk)]
            sentence_vectors[n:n + len(e.sentences)] = e.sentence_vectors
        c += len(e.chunks)
        n += len(e.sentences)
        articles[a_row] = (text_of, c, n)
    # Document frequencies over sentences, for weighting the question's words by rarity.
    df = lexical.document_frequencies(e.article.text[a:b] for e in entries for a, b in e.sentences)
    db.executemany("INSERT INTO terms VALUES (?,?)", df.items())
    db.commit()
    db.close()

    if max(int(chunk_spans.max(initial=0)), int(sentence_spans.max(initial=0))) > SPAN_LIMIT:
        raise ValueError("an article longer than 2 GB cannot be indexed")
    np.save(folder / "chunk_spans.npy", chunk_spans.astype(np.int32))
    np.save(folder / "sentence_spans.npy", sentence_spans.astype(np.int32))
    np.save(folder / "articles.npy", articles.astype(np.int32))
    for vectors in (chunk_vectors, sentence_vectors):
        if isinstance(vectors, np.memmap):
            vectors.flush()
    del chunk_vectors, sentence_vectors
    index, chosen = vector_index.build(np.load(folder / "sentences.npy", mmap_mode="r"), index_type)
    faiss.write_index(index, str(folder / "sentences.faiss"))
    counts = {"articles": len(entries), "chunks": n_chunks, "sentences": n_sentences}
    return {"path": ".", "counts": counts, "index": chosen, "deleted": []}


def _vector_file(path: Path, rows: int, dim: int) -> np.ndarray:
    """A float32 .npy file of `rows` x `dim`, open for writing row slices."""
    if rows == 0:  # nothing to map: write the empty array as it is
        np.save(path, np.zeros((0, dim), np.float32))
        return np.zeros((0, dim), np.float32)
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))


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


@dataclass
class Segment:
    """One immutable part of a generation: its own SQLite file, span and vector files and FAISS index.
    Rows in its files are its own; the generation adds the offsets where its rows start."""

    path: Path
    info: dict[str, Any]      # its entry in the manifest: path, counts, index type, deleted article rows
    db: sqlite3.Connection
    articles: np.ndarray      # per article row (the segment's own): text_of, chunk rows' end, sentence rows' end
    chunks: np.ndarray        # (article, start, end) per chunk row, memory-mapped
    sentences: np.ndarray     # (article, chunk, start, end) per sentence row, memory-mapped
    article_offset: int = 0
    sentence_offset: int = 0
    chunk_offset: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def article_count(self) -> int:
        return len(self.articles)

    @property
    def text_of(self) -> np.ndarray:
        return self.articles[:, 0]

    @cached_property
    def index(self) -> Any:
        """The segment's FAISS index, read on first use: a rebuild that only appends never reads it."""
        import faiss

        index = faiss.read_index(str(self.path / "sentences.faiss"))
        vector_index.configure(index, self.info.get("index", {}))
        return index

    @cached_property
    def search_parameters(self) -> Any:
        """FAISS parameters that leave the deleted sentences out; built once, not per question."""
        return vector_index.search_parameters(self.info.get("index", {}), self.deleted_sentences)

    def vectors(self, kind: str) -> np.ndarray:
        """The segment's unit vectors ("chunks" or "sentences"), memory-mapped once."""
        cache = self.__dict__.setdefault("_vectors", {})
        if kind not in cache:
            cache[kind] = np.load(self.path / f"{kind}.npy", mmap_mode="r")
        return cache[kind]

    @cached_property
    def sentence_rows(self) -> vector_index.RowFile:
        """The sentence vectors read row by row (positional reads): for the few rows a question needs,
        without mapping the file's pages around them (gigabytes over many questions at 10^7 rows)."""
        return vector_index.RowFile(self.path / "sentences.npy")

    @property
    def rescore_rows(self) -> vector_index.RowFile | None:
        """Where compressed codes' candidates are re-scored from: the full vectors, read row by row.
        None for exact and IVF-Flat indexes, whose scores need no re-scoring."""
        return self.sentence_rows if self.info.get("index", {}).get("type") == "ivfpq" else None

    def holds_article(self, row: int) -> bool:
        return self.article_offset <= row < self.article_offset + self.article_count

    def runs(self, kind: str, article_rows: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the chunk or sentence rows of these article rows start and end (the segment's own
        numbering). Rows are written article by article: each article's rows are one run."""
        ends = self.articles[:, 1 if kind == "chunks" else 2].astype(np.int64)
        rows = np.asarray(article_rows, np.int64)
        starts = np.where(rows > 0, ends[np.maximum(rows - 1, 0)], 0)
        return starts, ends[rows]

    def rows_of(self, kind: str, article_rows: list[int] | np.ndarray) -> np.ndarray:
        """The segment's chunk or sentence rows of these article rows."""
        starts, ends = self.runs(kind, article_rows)
        return np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)] + [np.zeros(0, np.int64)])

    @cached_property
    def deleted_sentences(self) -> np.ndarray:
        """The segment's sentence rows of articles deleted since it was written (never searched)."""
        return self.rows_of("sentences", self.info.get("deleted", []))

    def live_counts(self, deleted: list[int]) -> dict[str, int]:
        """Articles, chunks and sentences of this segment that are not among `deleted` article rows."""
        gone = sorted(set(deleted))
        live = {"articles": self.article_count - len(gone)}
        for kind in ("chunks", "sentences"):
            starts, ends = self.runs(kind, gone)
            live[kind] = len(getattr(self, kind)) - int((ends - starts).sum())
        return live

    def query(self, sql: str, params: tuple | list) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def meta(self, where: str, params: tuple | list) -> list[ArticleMeta]:
        """Article metadata from the segment's table, with the generation's row numbers."""
        rows = self.query(f"SELECT {META_COLUMNS} FROM articles {where}", params)
        return [ArticleMeta(r[0] + self.article_offset, *r[1:9], r[9] + self.article_offset) for r in rows]


META_COLUMNS = "row, id, title, url, date, source, path, hash, text_hash, text_of"


class RowView:
    """Rows of a vector file split over segments, read as if one array (global row numbers)."""

    def __init__(self, parts: list[np.ndarray], dim: int) -> None:
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.shape = (int(self.offsets[-1]), dim)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        if isinstance(rows, slice) and rows.step in (None, 1):
            lo, hi, _ = rows.indices(len(self))
            p = int(np.searchsorted(self.offsets, lo, side="right") - 1)
            if hi <= self.offsets[p + 1]:  # within one segment (as one article's rows always are): a view, no copy
                return self.parts[p][lo - self.offsets[p]:hi - self.offsets[p]]
        rows = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        out = np.empty((len(rows), self.shape[1]), np.float32)
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        for p in np.unique(part):
            here = part == p
            out[here] = self.parts[p][rows[here] - self.offsets[p]]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.vstack([np.asarray(p) for p in self.parts]).astype(dtype or np.float32, copy=False)


@dataclass
class StoredIndex:
    """One loaded generation: its segments searchable as one, with global row numbers (segments in
    order). In memory: the FAISS indexes and one int per article. Spans and vectors are memory-mapped;
    metadata and texts are read from SQLite by row, when a question cites them."""

    path: Path
    manifest: dict[str, Any]
    segments: list[Segment]
    live: np.ndarray          # per article row: not deleted by a later segment
    text_of: np.ndarray       # per article row, the row whose stored text it has
    _texts: dict[int, str] = field(default_factory=dict, repr=False)
    _metas: dict[int, ArticleMeta] = field(default_factory=dict, repr=False)

    @property
    def sentence_count(self) -> int:
        """Sentence rows stored (deleted ones included): what word rarity is counted over."""
        return sum(len(seg.sentences) for seg in self.segments)

    def article(self, row: int) -> ArticleMeta:
        """One article's metadata, by its row."""
        meta = self._metas.get(row)
        if meta is None:
            seg = self.segment_of(row)
            found = seg.meta("WHERE row = ?", (row - seg.article_offset,))
            if not found:
                raise IndexCorruptError(f"article row {row} missing from {seg.path / DB}: run qa rebuild --full")
            meta = found[0]
            if len(self._metas) > 4096:
                self._metas.clear()
            self._metas[row] = meta
        return meta

    def find_article(self, article_id: str) -> ArticleMeta | None:
        """The live article with this id, if the index holds one."""
        for seg in reversed(self.segments):  # an edited article lives in the latest segment that has it
            for meta in seg.meta("WHERE id = ?", (article_id,)):
                if self.live[meta.row]:
                    return meta
        return None

    @cached_property
    def articles(self) -> list[ArticleMeta]:
        """Every stored article row, deleted ones included (`live` says which): read in full, for a rebuild."""
        return [m for seg in self.segments for m in seg.meta("ORDER BY row", ())]

    @property
    def live_articles(self) -> list[ArticleMeta]:
        return [a for a in self.articles if self.live[a.row]]

    def same_text(self, row: int) -> list[int]:
        """The other live articles that have exactly this article's text."""
        if "_twins" not in self.__dict__:
            rows = np.flatnonzero((self.text_of != np.arange(len(self.text_of))) & self.live)
            twins: dict[int, list[int]] = {}
            for r in rows.tolist():
                twins.setdefault(int(self.text_of[r]), []).append(r)
            self.__dict__["_twins"] = twins
        return self.__dict__["_twins"].get(row, [])

    def segment_of(self, article_row: int) -> Segment:
        return next(seg for seg in self.segments if seg.holds_article(article_row))

    def document_frequencies(self, terms: set[str]) -> dict[str, int]:
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        df: dict[str, int] = {}
        for seg in self.segments:  # summed over segments (articles deleted later still count: a close estimate)
            for term, n in seg.query(f"SELECT term, df FROM terms WHERE term IN ({marks})", sorted(terms)):
                df[term] = df.get(term, 0) + n
        return df

    def text(self, article_row: int) -> str:
        article_row = int(self.text_of[article_row])
        text = self._texts.get(article_row)
        if text is None:
            seg = self.segment_of(article_row)
            rows = seg.query("SELECT text FROM texts WHERE row = ?", (article_row - seg.article_offset,))
            row = rows[0] if rows else None
            if row is None:
                raise IndexCorruptError(f"article row {article_row} missing from {seg.path / DB}: run qa rebuild --full")
            text = row[0]
            if len(self._texts) > 4096:
                self._texts.clear()
            self._texts[article_row] = text
        return text

    def sentences_at(self, rows: np.ndarray) -> np.ndarray:
        """(article, chunk, start, end) of these global sentence rows, in global numbering."""
        rows = np.asarray(rows, np.int64)
        out = np.zeros((len(rows), 4), np.int64)
        for seg, here in self._holding_sentences(rows):
            out[here] = seg.sentences[rows[here] - seg.sentence_offset] + [seg.article_offset, seg.chunk_offset, 0, 0]
        return out

    def sentence_vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """The stored unit vectors of these global sentence rows, in their order (read, not mapped)."""
        rows = np.asarray(rows, np.int64)
        out = np.zeros((len(rows), int(self.manifest["dimension"])), np.float32)
        for seg, here in self._holding_sentences(rows):
            out[here] = seg.sentence_rows[rows[here] - seg.sentence_offset]
        return out

    def _holding_sentences(self, rows: np.ndarray) -> Iterator[tuple[Segment, np.ndarray]]:
        """Each segment holding some of these global sentence rows, with the mask of those rows."""
        for seg in self.segments:
            here = (rows >= seg.sentence_offset) & (rows < seg.sentence_offset + len(seg.sentences))
            if here.any():
                yield seg, here

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and global sentence rows of the k nearest live sentence vectors to each query row."""
        found = [
            vector_index.search(seg.index, seg.info["index"], seg.rescore_rows, queries, k,
                                params=seg.search_parameters)
            for seg in self.segments
        ]
        if len(found) == 1:
            return found[0]
        scores = np.hstack([f[0] for f in found])
        rows = np.hstack([np.where(f[1] >= 0, f[1] + seg.sentence_offset, -1) for f, seg in zip(found, self.segments)])
        scores = np.where(rows >= 0, scores, -np.inf)
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, best, 1), np.take_along_axis(rows, best, 1)

    def vectors(self, kind: str) -> np.ndarray | RowView:
        """The stored unit vectors ("chunks" or "sentences") by global row, memory-mapped once."""
        parts = [seg.vectors(kind) for seg in self.segments]
        return parts[0] if len(parts) == 1 else RowView(parts, int(self.manifest["dimension"]))

    # Whole columns in global numbering, read in full: for a rebuild, tests and tools, not for answering.
    @cached_property
    def _sentence_table(self) -> np.ndarray:
        return _global(self.segments, "sentences", lambda s: [s.article_offset, s.chunk_offset, 0, 0])

    @cached_property
    def _chunk_table(self) -> np.ndarray:
        return _global(self.segments, "chunks", lambda s: [s.article_offset, 0, 0])

    @property
    def sentence_article(self) -> np.ndarray:
        return self._sentence_table[:, 0]

    @property
    def sentence_chunk(self) -> np.ndarray:
        return self._sentence_table[:, 1]

    @property
    def sentence_spans(self) -> np.ndarray:
        return self._sentence_table[:, 2:4]

    @property
    def chunk_article(self) -> np.ndarray:
        return self._chunk_table[:, 0]

    @property
    def chunk_spans(self) -> np.ndarray:
        return self._chunk_table[:, 1:3]


def _global(segments: list[Segment], kind: str, offsets) -> np.ndarray:
    return np.vstack([np.asarray(getattr(seg, kind), np.int64) + offsets(seg) for seg in segments])


def load(index_dir: Path, *, search: bool = True) -> StoredIndex:
    """The current generation, checked. `search=False` (for a rebuild) leaves the FAISS indexes
    unread: appending a segment needs only the tables."""
    gen = current_generation(index_dir)
    fix = f"run `qa rebuild --full --index {index_dir}`"
    if gen is None:
        raise IndexNotFoundError(f"no index at {index_dir}: build one with `qa rebuild --index {index_dir}`")
    if not gen.is_dir():
        raise IndexCorruptError(f"index {index_dir} points at missing {gen.name}: {fix}")
    try:
        manifest = json.loads((gen / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"index manifest {gen / MANIFEST} is unreadable ({e.__class__.__name__}): {fix}") from None
    if manifest.get("format_version") != config.FORMAT_VERSION:
        raise IndexMismatchError(
            f"index {index_dir} has format {manifest.get('format_version')}, this version reads {config.FORMAT_VERSION}: {fix}"
        )
    segments: list[Segment] = []
    try:
        for info in manifest.get("segments") or []:
            segments.append(_load_segment(gen / info["path"], info, manifest, index_dir, fix, search))
    except BaseException:
        for seg in segments:
            seg.db.close()
        raise
    if not segments:
        raise IndexCorruptError(f"index {index_dir} lists no segments: {fix}")
    a = c = n = 0
    for seg in segments:
        seg.article_offset, seg.chunk_offset, seg.sentence_offset = a, c, n
        a, c, n = a + seg.article_count, c + len(seg.chunks), n + len(seg.sentences)
    live = np.ones(a, bool)
    for seg in segments:
        live[np.asarray(seg.info.get("deleted", []), np.int64) + seg.article_offset] = False
    if int(live.sum()) != manifest.get("counts", {}).get("articles"):
        raise IndexCorruptError(f"index {index_dir} is incomplete (its files disagree on their sizes): {fix}")
    text_of = np.concatenate([seg.text_of.astype(np.int64) + seg.article_offset for seg in segments])
    return StoredIndex(path=gen, manifest=manifest, segments=segments, live=live, text_of=text_of)


def _load_segment(
    folder: Path, info: dict[str, Any], manifest: dict[str, Any], index_dir: Path, fix: str, search: bool
) -> Segment:
    counts = info.get("counts", {})
    try:
        if (folder / "sentences.faiss").stat().st_size == 0:
            raise ValueError("sentences.faiss is empty")
        stored = {kind: np.load(folder / f"{kind}.npy", mmap_mode="r").shape[0] for kind in ("chunks", "sentences")}
        chunks = np.load(folder / "chunk_spans.npy", mmap_mode="r")
        sents = np.load(folder / "sentence_spans.npy", mmap_mode="r")
        articles = np.load(folder / "articles.npy")
        # One connection, opened at load: it keeps the file readable even after a later rebuild
        # deletes this generation, for readers still holding it. Queries are tiny; a lock serialises them.
        db = sqlite3.connect(f"file:{folder / DB}?mode=ro", uri=True, check_same_thread=False)
        try:
            (in_table,) = db.execute("SELECT count(*) FROM articles").fetchone()
        except BaseException:
            db.close()
            raise
    except (RuntimeError, sqlite3.DatabaseError, OSError, ValueError) as e:
        raise IndexCorruptError(f"index {index_dir} is damaged ({str(e).splitlines()[0][:120]}): {fix}") from None
    segment = Segment(path=folder, info=info, db=db, articles=articles, chunks=chunks, sentences=sents)
    try:
        index = segment.index if search else None
    except RuntimeError as e:
        db.close()
        raise IndexCorruptError(f"index {index_dir} is damaged ({str(e).splitlines()[0][:120]}): {fix}") from None
    if not (
        stored["chunks"] == len(chunks) == counts.get("chunks")
        and stored["sentences"] == len(sents) == counts.get("sentences")
        and len(articles) == in_table == counts.get("articles")
        and chunks.shape[1:] == (3,) and sents.shape[1:] == (4,) and articles.shape[1:] == (3,)
        and (not len(articles) or tuple(articles[-1, 1:]) == (len(chunks), len(sents)))
        and (index is None or (index.ntotal == len(sents) and index.d == manifest.get("dimension")))
    ):
        db.close()
        raise IndexCorruptError(f"index {index_dir} is incomplete (its files disagree on their sizes): {fix}")
    return segment
