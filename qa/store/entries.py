"""What the index keeps of one article: the entry a build writes and the metadata a reader gets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..types import Article

Span = tuple[int, int]


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
