from __future__ import annotations

import pytest

from qa import chunking, config
from qa.embed_articles import split as _split
from qa.embedding import load_embedder


@pytest.fixture(scope="module")
def embedder():
    return load_embedder()


def test_sentences_keep_abbreviations_and_exact_offsets():
    text = "The U.S. said Mr. Smith met Dr. Jones at 3 p.m. on Jan. 5. Then he left.\nHeadline here\n“A quote.” He said."
    spans = chunking.sentence_spans(text)
    sentences = [text[a:b] for a, b in spans]
    assert sentences[0] == "The U.S. said Mr. Smith met Dr. Jones at 3 p.m. on Jan. 5."
    assert "Then he left." in sentences
    assert "Headline here" in sentences
    assert all("\n" not in s for s in sentences)


def test_no_chunk_is_truncated_by_the_embedder(embedder):
    # Long sentences, a run-on without full stops, numbers and non-Latin text: all word-piece heavy.
    text = "\n".join(
        [
            "Officials said the talks would resume. " * 40,
            " ".join(f"item{i}, 3.{i}% of GDP; ref #{i * 7919}" for i in range(400)),
            "Москва и Киев обсудили условия перемирия в долгих переговорах без результата " * 30,
            "東京で会議が開かれた。" * 80,
        ]
    )
    sentences, chunks = _split(embedder, text)
    counts = embedder.count_tokens([text[c.start:c.end] for c in chunks])
    assert max(counts) <= embedder.max_tokens
    # Chunks cover every sentence and never cut a word.
    covered = {i for c in chunks for i in range(c.first, c.last + 1)}
    assert covered == set(range(len(sentences)))
    for a, b in sentences:
        assert a == 0 or not (text[a - 1].isalnum() and text[a].isalnum())
        assert b == len(text) or not (text[b - 1].isalnum() and text[b].isalnum())


def test_chunks_are_sized_in_tokens_with_small_overlap(embedder):
    text = " ".join(f"Sentence number {i} tells a short part of the story." for i in range(200))
    sentences, chunks = _split(embedder, text)
    sizes = chunking.count_tokens([text[c.start:c.end] for c in chunks])
    assert len(chunks) > 5
    assert max(sizes) <= config.CHUNK_TOKENS + 5
    overlaps = [a.last - b.first + 1 for a, b in zip(chunks, chunks[1:])]
    assert all(0 <= o <= 1 for o in overlaps)
    assert any(o == 1 for o in overlaps)
