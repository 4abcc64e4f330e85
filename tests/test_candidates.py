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


def _index_with_brief(tmp_path, brief: str, question: str):
    """Forty stories retelling the seed's Putin sentences and one brief; the index and the question's vector."""
    source = make_corpus(tmp_path / "articles", 40)
    (source / "brief.txt").write_text(f"Talks to resume\n{brief}\n")
    rebuild(source=source, index=tmp_path / "index")
    idx = open_index(tmp_path / "index")
    return idx, embedder_for(idx).encode_queries([question])[0]


def test_a_sentence_sharing_the_questions_rare_words_is_a_candidate_the_vectors_missed(tmp_path):
    """Forty stories retelling the seed's Putin sentences and one brief naming an aide: asked
    about Putin and the aide, the vectors fill their few places with Putin's retold sentences;
    the brief is among the candidates because it shares the question's rarest word."""
    brief = "Kremlin aide Yuri Ushakov said truce talks would resume in Moscow on Thursday."
    question = "Did Putin discuss ceasefire conditions with Ushakov?"
    idx, query = _index_with_brief(tmp_path, brief, question)
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


def test_a_name_typed_without_its_accents_finds_the_articles_spelling(tmp_path):
    """Readers type "Vucic" for the "Vučić" of the articles (and outlets print either): the rare-word
    candidates and the check that the articles name who the question names read both as one."""
    assert lexical.terms("Babiš, Wałęsa and Kılıçdaroğlu") == lexical.terms("Babis, Walesa and Kilicdaroglu")
    assert answering.question_mentions("What did Vučić tell Šefčovič about Zelenskyy’s plan?") == ["vucic", "sefcovic", "zelenskyy"]
    brief = "Serbian President Aleksandar Vučić said truce talks would resume in Belgrade on Thursday."
    question = "Did Putin discuss ceasefire conditions with Vucic?"
    idx, query = _index_with_brief(tmp_path, brief, question)
    got = answering.candidates_for(idx, query, question, 5, 3)
    texts = [idx.text(s.article)[s.start:s.end] for s in got]
    assert brief in texts[5:]
    assert answering.mention_coverage(idx, question, got[5:]) == 1.0
