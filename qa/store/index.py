"""A loaded generation: its segments searchable and readable as one index, with global row numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .. import config, lexical, vector_index
from ..errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .entries import ArticleMeta
from .generations import MANIFEST, current_generation
from .rows import RowView
from .segments import DB, Segment, load_segment


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
    _words: dict[int, tuple[frozenset[str], str]] = field(default_factory=dict, repr=False)
    # answering.written_as_names, per question: how the articles write its lower-case words
    names_written: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict, repr=False)

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

    def postings(self, terms: set[str], max_rows: int) -> dict[str, np.ndarray]:
        """The live sentence rows (global) holding each of these words. A word more than `max_rows`
        sentences of one segment hold is not read: it weighs little, and reading it costs most."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        found: dict[str, list[np.ndarray]] = {}
        for seg in self.segments:
            gone = seg.deleted_sentences
            sql = f"SELECT term, rows FROM terms WHERE term IN ({marks}) AND df <= ?"
            for term, blob in seg.query(sql, [*sorted(terms), max_rows]):
                rows = np.frombuffer(blob, np.int32).astype(np.int64)
                if len(gone):
                    rows = rows[~np.isin(rows, gone)]
                found.setdefault(term, []).append(rows + seg.sentence_offset)
        return {t: np.concatenate(parts) for t, parts in found.items()}

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

    def article_words(self, article_row: int) -> tuple[frozenset[str], str]:
        """An article's words as lexical.terms reads them, and its folded text (lexical.fold): what
        answering looks a question's words and names up in, for every candidate of that article."""
        words = self._words.get(article_row)
        if words is None:
            text = self.text(article_row)
            if len(self._words) > 4096:
                self._words.clear()
            words = self._words[article_row] = (frozenset(lexical.terms(text)), lexical.fold(text))
        return words

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
            segments.append(load_segment(gen / info["path"], info, manifest, index_dir, fix, search))
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
