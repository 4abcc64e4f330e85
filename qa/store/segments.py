"""One segment of a generation: its files written (tables, spans, vectors, FAISS index) and read back
with checks. Rows in a segment's files are its own; the generation adds the offsets where they start."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .. import lexical, vector_index
from ..errors import IndexCorruptError
from .entries import ArticleEntry, ArticleMeta, text_hash

DB = "store.sqlite"
SEGMENT_FILES = (DB, "chunk_spans.npy", "sentence_spans.npy", "articles.npy", "chunks.npy", "sentences.npy", "sentences.faiss")
SPAN_LIMIT = 2**31 - 1  # rows and character offsets are stored as int32


def write_segment(folder: Path, entries: list[ArticleEntry], dim: int, index_type: str) -> dict[str, Any]:
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
        -- per word: how many sentences hold it, and which (the segment's sentence rows, int32)
        CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL, rows BLOB NOT NULL) WITHOUT ROWID;
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
    # The sentences holding each word: its rarity weighs the question's words, and the rare words
    # a question shares with a sentence find it when its vector does not (qa.answering.candidates_for).
    postings = lexical.postings(e.article.text[a:b] for e in entries for a, b in e.sentences)
    db.executemany("INSERT INTO terms VALUES (?,?,?)", ((t, len(r), r.tobytes()) for t, r in postings.items()))
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


def load_segment(
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
        if search:
            # Opened now, not on a question's first use: an open file outlives the rebuild that
            # deletes this generation, so a reader holding it never meets a missing file.
            segment.sentence_rows
    except (RuntimeError, OSError, ValueError) as e:
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
