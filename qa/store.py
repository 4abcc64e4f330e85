"""The index on disk: generations swapped in atomically, and loaded with checks.

    index/
      current -> gen-<time>-<pid>     symlink, replaced in one rename when a build completes
      gen-.../manifest.json           model, dimension, chunking, versions, counts
      gen-.../store.sqlite            articles (with their stored text), chunks, sentences
      gen-.../chunks.npy, sentences.npy     unit vectors, rows aligned with the tables
      gen-.../sentences.faiss         inner-product index over the sentence vectors (type by size);
                                      chunk vectors are kept only to be reused by later rebuilds
      .lock                           held by the one rebuild that may run at a time

A build writes a hidden `.tmp-*` folder, renames it to `gen-*` and only then points
`current` at it, so a killed build leaves the previous index untouched and answering.
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
from dataclasses import dataclass, field
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
    """Write a complete new generation and swap it in. Call with the rebuild lock held."""
    import faiss

    for stale in index_dir.glob(".tmp-*"):  # left by a killed build
        shutil.rmtree(stale, ignore_errors=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    dim = int(manifest["dimension"])
    chunk_vectors = _stack([e.chunk_vectors for e in entries], dim)
    sentence_vectors = _stack([e.sentence_vectors for e in entries], dim)

    db = sqlite3.connect(tmp / DB)
    db.executescript(
        """
        CREATE TABLE articles (row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, hash TEXT NOT NULL,
            title TEXT, url TEXT, date TEXT, source TEXT, path TEXT, text_hash TEXT NOT NULL,
            text_of INTEGER NOT NULL, text TEXT);
        CREATE TABLE chunks (row INTEGER PRIMARY KEY, article INTEGER NOT NULL, start INTEGER, end INTEGER);
        CREATE TABLE sentences (row INTEGER PRIMARY KEY, article INTEGER NOT NULL, chunk INTEGER NOT NULL,
            start INTEGER, end INTEGER);
        CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
        """
    )
    chunk_row = 0
    sentence_row = 0
    rows = {e.article.id: n for n, e in enumerate(entries)}
    for a_row, e in enumerate(entries):
        a = e.article
        text_of = rows[e.same_text_as] if e.same_text_as else a_row
        db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (a_row, a.id, e.hash, a.title, a.url, a.date, a.source, a.path, text_hash(a.text), text_of,
             None if e.same_text_as else a.text),
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?)",
            [(chunk_row + i, a_row, s, t) for i, (s, t) in enumerate(e.chunks)],
        )
        db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?)",
            [(sentence_row + i, a_row, chunk_row + c, s, t) for i, ((s, t), c) in enumerate(zip(e.sentences, e.sentence_chunk))],
        )
        chunk_row += len(e.chunks)
        sentence_row += len(e.sentences)
    # Document frequencies over sentences, for weighting the question's words by rarity.
    df = lexical.document_frequencies(e.article.text[a:b] for e in entries for a, b in e.sentences)
    db.executemany("INSERT INTO terms VALUES (?,?)", df.items())
    db.commit()
    db.close()

    np.save(tmp / "chunks.npy", chunk_vectors)
    np.save(tmp / "sentences.npy", sentence_vectors)
    index, chosen = vector_index.build(sentence_vectors, index_type)
    faiss.write_index(index, str(tmp / "sentences.faiss"))
    manifest = {
        **manifest,
        "index_type": {"requested": index_type, "sentences": chosen},
        "counts": {"articles": len(entries), "chunks": chunk_row, "sentences": sentence_row},
    }
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
    # Keep the generation just replaced (a reader may be opening it); drop older ones.
    for old in index_dir.glob("gen-*"):
        if old.name not in (name, previous.name if previous else None):
            shutil.rmtree(old, ignore_errors=True)
    return final


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros((0, dim), np.float32)
    return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
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
class StoredIndex:
    """One loaded generation: vectors searchable, sentence spans in memory, texts from SQLite."""

    path: Path
    manifest: dict[str, Any]
    sentence_index: Any
    articles: list[ArticleMeta]
    chunk_article: np.ndarray
    chunk_spans: np.ndarray
    sentence_article: np.ndarray
    sentence_chunk: np.ndarray
    sentence_spans: np.ndarray
    # One connection, opened at load: it keeps the file readable even after a later rebuild
    # deletes this generation, for readers still holding it. Queries are tiny; a lock serialises them.
    db: sqlite3.Connection | None = field(default=None, repr=False)
    _db_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _texts: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def by_id(self) -> dict[str, ArticleMeta]:
        if not hasattr(self, "_by_id"):
            self._by_id = {a.id: a for a in self.articles}
        return self._by_id

    def _query(self, sql: str, params: tuple | list) -> list[tuple]:
        with self._db_lock:
            return self.db.execute(sql, params).fetchall()

    @property
    def same_text(self) -> dict[int, list[int]]:
        """For an article row, the other articles that have exactly its text."""
        if not hasattr(self, "_same_text"):
            groups: dict[int, list[int]] = {}
            for a in self.articles:
                if a.text_of != a.row:
                    groups.setdefault(a.text_of, []).append(a.row)
            self._same_text = groups
        return self._same_text

    def document_frequencies(self, terms: set[str]) -> dict[str, int]:
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        return dict(self._query(f"SELECT term, df FROM terms WHERE term IN ({marks})", sorted(terms)))

    def text(self, article_row: int) -> str:
        article_row = self.articles[article_row].text_of
        text = self._texts.get(article_row)
        if text is None:
            rows = self._query("SELECT text FROM articles WHERE row = ?", (article_row,))
            row = rows[0] if rows else None
            if row is None:
                raise IndexCorruptError(f"article row {article_row} missing from {self.path / DB}: run qa rebuild --full")
            text = row[0]
            if len(self._texts) > 4096:
                self._texts.clear()
            self._texts[article_row] = text
        return text

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and sentence rows of the k nearest sentence vectors to each query row."""
        info = self.manifest.get("index_type", {}).get("sentences", {})
        return vector_index.search(self.sentence_index, info, self.vectors("sentences"), queries, k)

    def vectors(self, kind: str) -> np.ndarray:
        """The stored unit vectors ("chunks" or "sentences"), memory-mapped once."""
        cache = self.__dict__.setdefault("_vectors", {})
        if kind not in cache:
            cache[kind] = np.load(self.path / f"{kind}.npy", mmap_mode="r")
        return cache[kind]


def load(index_dir: Path) -> StoredIndex:
    import faiss

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
    counts = manifest.get("counts", {})
    try:
        sentence_index = faiss.read_index(str(gen / "sentences.faiss"))
        stored = {kind: np.load(gen / f"{kind}.npy", mmap_mode="r").shape[0] for kind in ("chunks", "sentences")}
        db = sqlite3.connect(f"file:{gen / DB}?mode=ro", uri=True, check_same_thread=False)
        try:
            articles = [
                ArticleMeta(*row)
                for row in db.execute("SELECT row, id, title, url, date, source, path, hash, text_hash, text_of FROM articles ORDER BY row")
            ]
            chunks = np.array(db.execute("SELECT article, start, end FROM chunks ORDER BY row").fetchall(), dtype=np.int64).reshape(-1, 3)
            sents = np.array(
                db.execute("SELECT article, chunk, start, end FROM sentences ORDER BY row").fetchall(), dtype=np.int64
            ).reshape(-1, 4)
        except BaseException:
            db.close()
            raise
    except (RuntimeError, sqlite3.DatabaseError, OSError, ValueError) as e:
        raise IndexCorruptError(f"index {index_dir} is damaged ({str(e).splitlines()[0][:120]}): {fix}") from None
    types = manifest.get("index_type", {})
    vector_index.configure(sentence_index, types.get("sentences", {}))
    if not (
        stored["chunks"] == len(chunks) == counts.get("chunks")
        and stored["sentences"] == sentence_index.ntotal == len(sents) == counts.get("sentences")
        and len(articles) == counts.get("articles")
        and sentence_index.d == manifest.get("dimension")
    ):
        raise IndexCorruptError(f"index {index_dir} is incomplete (its files disagree on their sizes): {fix}")
    return StoredIndex(
        path=gen,
        db=db,
        manifest=manifest,
        sentence_index=sentence_index,
        articles=articles,
        chunk_article=chunks[:, 0],
        chunk_spans=chunks[:, 1:3],
        sentence_article=sents[:, 0],
        sentence_chunk=sents[:, 1],
        sentence_spans=sents[:, 2:4],
    )
