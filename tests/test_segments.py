"""Small changes to a larger index append a segment instead of rewriting the index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa import QAError, answer, article_text, build, open_index, rebuild, store

from test_robustness import make_corpus

GRAIN = "The grain corridor deal was extended by 120 days on Monday, the port authority said."


def segments(index) -> list[dict]:
    return json.loads((store.current_generation(index) / "manifest.json").read_text())["segments"]


def cited_ids(a) -> list[str]:
    return [s.article_id for c in a.citations for s in c.sources()]


@pytest.fixture
def grown(tmp_path):
    """An index of 40 articles, then 2 more added: the second build appends a segment."""
    source = make_corpus(tmp_path / "articles", 40)
    index = tmp_path / "index"
    rebuild(source=source, index=index)
    first = store.current_generation(index)
    (source / "grain.txt").write_text(f"Grain deal extended\n{GRAIN}\n")
    (source / "ports.txt").write_text("Ports reopen\nThree Black Sea ports reopened to cargo ships on Tuesday.\n")
    stats = rebuild(source=source, index=index)
    return source, index, first, stats


def test_adding_a_few_articles_writes_only_them(grown):
    source, index, first, stats = grown
    assert stats.added == ["grain.txt", "ports.txt"] and stats.unchanged == 40 and stats.articles == 42
    parts = segments(index)
    assert [p["counts"]["articles"] for p in parts] == [40, 2]
    gen = store.current_generation(index)
    for name in store.SEGMENT_FILES:  # the 40 articles' files are the previous generation's, not copies
        assert (gen / name).stat().st_ino == (first / name).stat().st_ino
    a = answer("How long was the grain deal extended?", index=index)
    assert a.found and cited_ids(a)[0] == "grain.txt"
    assert answer("what conditions did Putin set?", index=index).found


def test_appended_index_answers_as_a_full_rebuild_does(grown, tmp_path):
    source, index, _, _ = grown
    full = tmp_path / "full"
    rebuild(source=source, index=full)
    assert len(segments(full)) == 1
    for q in ("How long was the grain deal extended?", "what conditions did Putin set?", "Which ports reopened?",
              "who attacked Kursk?"):
        a, b = answer(q, index=index), answer(q, index=full)
        assert (a.found, [(c.article_id, c.quote) for c in a.citations]) == (b.found, [(c.article_id, c.quote) for c in b.citations])


def test_an_edited_or_removed_article_is_never_quoted_in_its_old_form(grown):
    source, index, _, _ = grown
    (source / "grain.txt").write_text("Grain deal ended\nThe grain corridor deal collapsed on Friday after talks failed.\n")
    (source / "ports.txt").unlink()
    stats = rebuild(source=source, index=index)
    assert stats.updated == ["grain.txt"] and stats.removed == ["ports.txt"] and stats.articles == 41
    assert len(segments(index)) == 3 and segments(index)[1]["deleted"] == [0, 1]
    a = answer("What happened to the grain corridor deal?", index=index, k=10)
    quotes = [c.quote for c in a.citations + a.nearest]
    assert any("collapsed" in q for q in quotes) and not any("120 days" in q for q in quotes)
    assert not any("ports.txt" in cited_ids(answer(q, index=index)) for q in ("Which ports reopened?", "cargo ships"))
    assert "collapsed" in article_text("grain.txt", index)
    with pytest.raises(QAError, match="no article 'ports.txt'"):
        article_text("ports.txt", index)


def test_words_find_the_live_sentences_holding_them_in_every_segment(grown):
    """The postings that find candidates by rare words: global rows, in any segment, and never a
    sentence of a removed or edited article."""
    source, index, _, _ = grown

    def holding(word: str) -> list[str]:
        idx = open_index(index)
        rows = idx.postings({word}, 1000).get(word, np.zeros(0, np.int64))
        return [idx.text(int(a))[s:e] for a, _, s, e in idx.sentences_at(rows)]

    assert holding("cargo") == ["Three Black Sea ports reopened to cargo ships on Tuesday."]
    assert holding("corridor") == [GRAIN]
    assert len(holding("putin")) > 40  # the first segment's: every story holds the seed's sentences about him
    (source / "grain.txt").write_text("Grain deal ended\nThe grain corridor deal collapsed on Friday after talks failed.\n")
    (source / "ports.txt").unlink()
    rebuild(source=source, index=index)
    assert holding("cargo") == []
    assert holding("corridor") == ["The grain corridor deal collapsed on Friday after talks failed."]
    assert holding("putin") and open_index(index).postings({"putin"}, 3) == {}  # too common to read


def test_removing_an_article_alone_adds_no_segment(grown):
    source, index, _, _ = grown
    (source / "ports.txt").unlink()
    stats = rebuild(source=source, index=index)
    assert stats.removed == ["ports.txt"] and stats.articles == 41
    assert len(segments(index)) == 2 and segments(index)[1]["deleted"] == [1]
    assert "ports.txt" not in cited_ids(answer("Which ports reopened to cargo ships?", index=index))
    assert cited_ids(answer("How long was the grain deal extended?", index=index))[0] == "grain.txt"


def test_segments_are_compacted_when_appending_stops_paying(grown, monkeypatch):
    source, index, _, _ = grown
    monkeypatch.setattr(build, "MAX_SEGMENTS", 3)
    (source / "extra-1.txt").write_text("Extra one\nA third segment holds this sentence about wheat prices.\n")
    rebuild(source=source, index=index)
    assert len(segments(index)) == 3
    (source / "extra-2.txt").write_text("Extra two\nA fourth build compacts the index into one segment.\n")
    stats = rebuild(source=source, index=index)
    assert len(segments(index)) == 1 and stats.articles == 44
    assert not list(store.current_generation(index).glob("seg-*"))
    assert cited_ids(answer("How long was the grain deal extended?", index=index))[0] == "grain.txt"
    # a change to a quarter of the articles or more rewrites the index rather than appending
    for path in sorted(source.glob("story-*.txt"))[:12]:
        path.write_text(path.read_text() + "An editor's note was added.\n")
    rebuild(source=source, index=index)
    assert len(segments(index)) == 1
    assert open_index(index).manifest["counts"]["articles"] == 44


def test_answering_reads_metadata_by_row_and_keeps_spans_on_disk(grown):
    """What lets one machine serve 10^7 sentences: answering loads no per-sentence table and no
    article list into memory; spans stay memory-mapped and metadata is read for the cited rows."""
    source, index, first, stats = grown
    a = answer("How long was the grain corridor deal extended?", index=index)
    assert a.found and a.citations[0].article_id == "grain.txt" and "120 days" in a.citations[0].quote
    idx = open_index(index)
    assert "articles" not in idx.__dict__ and "_sentence_table" not in idx.__dict__
    assert all(isinstance(seg.sentences, np.memmap) and isinstance(seg.chunks, np.memmap) for seg in idx.segments)
    assert idx.find_article("grain.txt").title == "Grain deal extended" and idx.find_article("nope.txt") is None
    # the vectors of the sentences a question ranks are read by row, never through a memory map
    assert "_vectors" not in idx.segments[0].__dict__ and "_vectors" not in idx.segments[1].__dict__
    rows = np.array([idx.sentence_count - 1, 0, 5, idx.sentence_count - 1])  # both segments, any order
    assert np.array_equal(idx.sentence_vectors_at(rows), np.asarray(idx.vectors("sentences")[rows]))
