"""Candidates to rerank: the sentences closest to the question as vectors, and those sharing most of
its rare words that the vectors missed."""

from __future__ import annotations

import numpy as np

from qa import answering, lexical, open_index, rebuild
from qa.api import embedder_for

from test_robustness import make_corpus


def test_the_rows_holding_the_most_rare_word_weight_come_first():
    postings = {"kursk": np.array([4, 9]), "attack": np.array([1, 4, 7]), "troops": np.array([7, 9]),
                "ceasefire": np.array([2])}
    weight = {"kursk": 5.0, "attack": 1.0, "troops": 2.0, "ceasefire": 3.0}
    assert lexical.best_holding(postings, weight, 3).tolist() == [9, 4, 2]  # 7, 6, then 3 (row 2 before row 7)
    assert lexical.best_holding(postings, weight, 10).tolist() == [9, 4, 2, 7, 1]
    assert lexical.best_holding({}, weight, 3).tolist() == []


def test_a_sentence_sharing_the_questions_rare_words_is_a_candidate_the_vectors_missed(tmp_path):
    """Forty stories retelling the seed's Putin sentences and one brief naming an aide: asked
    about Putin and the aide, the vectors fill their few places with Putin's retold sentences;
    the brief is among the candidates because it shares the question's rarest word."""
    source = make_corpus(tmp_path / "articles", 40)
    brief = "Kremlin aide Yuri Ushakov said truce talks would resume in Moscow on Thursday."
    (source / "aide.txt").write_text(f"Talks to resume\n{brief}\n")
    rebuild(source=source, index=tmp_path / "index")
    idx = open_index(tmp_path / "index")
    question = "Did Putin discuss ceasefire conditions with Ushakov?"
    query = embedder_for(idx).encode_queries([question])[0]
    vector_only = answering.search(idx, query, 5)
    got = answering.candidates_for(idx, query, question, 5, 3)

    def text(s):
        return idx.text(s.article)[s.start:s.end]

    assert brief not in [text(s) for s in vector_only]
    assert got[:5] == vector_only and len(got) == 8 and len({s.row for s in got}) == 8
    assert brief in [text(s) for s in got[5:]]
    extra = got[5:]
    cosines = idx.sentence_vectors_at(np.array([s.row for s in extra])) @ query
    assert np.allclose([s.vector for s in extra], cosines, atol=1e-5)  # scored as the vectors score them
    assert answering.candidates_for(idx, query, question, 5, 0) == vector_only
