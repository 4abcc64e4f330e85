"""Sentences and chunks, as character spans of an article's stored text.

Sentences never cross a line break (news paragraphs are lines). A sentence longer than a
chunk is cut at whitespace into pieces that fit, so no span ever ends mid-word. Chunks are
runs of whole sentences of about CHUNK_TOKENS cl100k tokens; the last sentence of a chunk is
repeated at the start of the next when it is short (the overlap). `fit_to_embedder` then
splits any chunk the embedder would truncate, counted with the embedder's own tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import blingfire

from . import config

Span = tuple[int, int]
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkSpan:
    start: int
    end: int
    first: int  # index of its first sentence in the article's sentence list
    last: int   # index of its last sentence (inclusive)


@lru_cache(maxsize=1)
def token_encoding():
    import tiktoken

    return tiktoken.get_encoding(config.TOKEN_ENCODING)


def count_tokens(texts: Sequence[str]) -> list[int]:
    return [len(ids) for ids in token_encoding().encode_ordinary_batch(list(texts))]


def sentence_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            _, offsets = blingfire.text_to_sentences_and_offsets(line)
            for start, end in offsets:
                start, end = _trim(line, start, end)
                if end > start:
                    spans.append((offset + start, offset + end))
        offset += len(line) + 1
    return spans


def _trim(s: str, start: int, end: int) -> Span:
    while start < end and s[start].isspace():
        start += 1
    while end > start and s[end - 1].isspace():
        end -= 1
    return start, end


def split_long(text: str, spans: list[Span], count: Callable[[list[str]], list[int]], max_tokens: int) -> list[Span]:
    """Cut sentences over `max_tokens` (as `count` counts them) into whitespace-bounded pieces that fit."""
    out: list[Span] = []
    pending = list(spans)
    while pending:
        counts = count([text[a:b] for a, b in pending])
        too_long = []
        for span, n in zip(pending, counts):
            (too_long if n > max_tokens else out).append(span)
        pending = [half for span in too_long for half in _halve(text, span)]
    return sorted(out)


def _halve(text: str, span: Span) -> list[Span]:
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, span[0], span[1])]
    if len(words) < 2:  # one enormous "word": cut it anyway, the embedder would drop its tail
        mid = (span[0] + span[1]) // 2
        return [(span[0], mid), (mid, span[1])]
    mid = len(words) // 2
    return [(words[0][0], words[mid - 1][1]), (words[mid][0], words[-1][1])]


def chunk_spans(
    sentences: list[Span],
    token_counts: list[int],
    *,
    chunk_tokens: int = config.CHUNK_TOKENS,
    overlap_tokens: int = config.CHUNK_OVERLAP,
) -> list[ChunkSpan]:
    chunks: list[ChunkSpan] = []
    i = 0
    while i < len(sentences):
        j, size = i, token_counts[i]
        while j + 1 < len(sentences) and size + token_counts[j + 1] <= chunk_tokens:
            j += 1
            size += token_counts[j]
        chunks.append(ChunkSpan(sentences[i][0], sentences[j][1], i, j))
        # Carry the last sentence over when it is short, the chunk had more than it, and more follows.
        carry = j > i and j + 1 < len(sentences) and token_counts[j] <= overlap_tokens
        i = j if carry else j + 1
    return chunks


def fit_to_embedder(
    chunks: list[ChunkSpan],
    sentences: list[Span],
    text: str,
    count_embedder_tokens: Callable[[list[str]], list[int]],
    limit: int,
) -> list[ChunkSpan]:
    """Split, by sentences, every chunk the embedder would truncate (more than `limit` word pieces).

    Each sentence alone must already fit (see split_long)."""
    done: list[ChunkSpan] = []
    pending = list(chunks)
    while pending:
        counts = count_embedder_tokens([text[c.start:c.end] for c in pending])
        over = []
        for c, n in zip(pending, counts):
            (over if n > limit and c.first < c.last else done).append(c)
        pending = []
        for c in over:
            mid = (c.first + c.last + 1) // 2
            pending.append(ChunkSpan(sentences[c.first][0], sentences[mid - 1][1], c.first, mid - 1))
            pending.append(ChunkSpan(sentences[mid][0], sentences[c.last][1], mid, c.last))
    return sorted(done, key=lambda c: (c.start, c.end))
