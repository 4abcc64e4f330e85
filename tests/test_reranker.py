"""The shipped answer reranker: real weights from the package, real scoring, and what answering does with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa import ModelError, answer, article_text
from qa.reranker import MODEL_DIR, Reranker, load_reranker


def test_weights_model_card_and_calibration_ship_inside_the_package():
    files = {p.name for p in MODEL_DIR.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "calibration.json", "README.md"} <= files
    assert (MODEL_DIR / "model.safetensors").stat().st_size < 50 * 1024 * 1024
    card = (MODEL_DIR / "README.md").read_text()
    for needed in ("CC BY-SA 4.0", "Apache-2.0", "train/reranker.py", "hit@1"):
        assert needed in card
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"models/reranker/*"' in pyproject  # `pip install .` carries them as package data


def test_a_sentence_that_answers_outscores_one_that_only_shares_the_words():
    reranker = load_reranker()
    question = "What did the council decide about the library?"
    answers = "The council voted on Monday to keep the library open on Saturdays."
    shares_words = "Council members said the library question would be discussed another time."
    unrelated = "Heavy rain is expected across the valley on Thursday."
    logits = reranker.logits(question, [unrelated, shares_words, answers])
    assert logits[2] > logits[1] > logits[0]
    assert load_reranker() is reranker  # loaded once per process
    assert reranker.logits(question, []).shape == (0,)


def test_flagship_question_quotes_putins_own_conditions_first(seed_index):
    a = answer("what conditions did Putin set?", index=seed_index)
    assert a.found
    first = a.citations[0].quote
    # Zelenskyy's complaint about "unacceptable conditions" shares the words; it must not come first
    assert "Zelensk" not in first and "unacceptable" not in first
    assert "Putin" in first or "Russian leader" in first
    assert any(word in first for word in ("condition", "If they", "set out"))


def test_reranked_scores_are_probabilities_and_timed(seed_index):
    a = answer("what conditions did Putin set?", index=seed_index)
    assert all(0.0 < c.score < 1.0 for c in a.citations)
    assert a.citations[0].score == max(c.score for c in a.citations)
    assert {"embed", "rank", "select", "total"} <= set(a.timings_ms)


def test_without_the_reranker_answers_still_cite_verbatim(seed_index):
    a = answer("what conditions did Putin set?", index=seed_index, rerank=False)
    assert a.found and a.citations
    for c in a.citations:
        assert c.quote == article_text(c.article_id, index=seed_index)[c.start:c.end]


def test_damaged_reranker_files_give_one_clear_error(tmp_path):
    broken = tmp_path / "reranker"
    shutil.copytree(MODEL_DIR, broken)
    (broken / "calibration.json").write_text(json.dumps({"logit_weight": 1.0}))
    with pytest.raises(ModelError, match="cannot load the answer reranker.*reinstall"):
        Reranker(broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ModelError) as info:
        Reranker(broken)
    assert "\n" not in str(info.value)


def test_a_reranker_folder_of_ones_own_is_used_with_its_own_calibration(seed_index, tmp_path):
    own = tmp_path / "retrained"
    shutil.copytree(MODEL_DIR, own)
    calibration = json.loads((own / "calibration.json").read_text())
    (own / "calibration.json").write_text(json.dumps(calibration | {"abstain_at": 0.0}))  # abstains on everything
    question = "what conditions did Putin set?"
    assert answer(question, index=seed_index).found
    assert answer(question, index=seed_index, rerank=MODEL_DIR).citations == answer(question, index=seed_index).citations
    mine = answer(question, index=seed_index, rerank=own)
    assert not mine.found and mine.nearest  # its rule, not the shipped one, decided


def test_shipped_calibration_weighs_every_abstention_feature(seed_index):
    from qa import answering, open_index
    from qa.api import embedder_for

    cal = load_reranker().calibration
    idx = open_index(seed_index)
    question = "what conditions did Putin set?"
    ranked = answering.score_sentences(idx, embedder_for(idx).encode_queries([question])[0], question, load_reranker())
    assert len(cal.abstain_weights) == len(answering.reranked_abstention_features(idx, question, ranked))
    assert len(cal.fusion_weights) == len(answering.candidate_features(idx, question, ["x"], ranked[:1], [0.0])[0])


def test_each_candidate_is_scored_by_how_far_it_is_behind_the_best_vector_score(seed_index):
    from qa import answering, open_index
    from qa.api import embedder_for

    idx = open_index(seed_index)
    question = "what conditions did Putin set?"
    found = answering.search(idx, embedder_for(idx).encode_queries([question])[0], 10)
    texts = [idx.text(s.article)[s.start:s.end] for s in found]
    behind = [f[6] for f in answering.candidate_features(idx, question, texts, found, [0.0] * len(found))]
    assert behind[0] == 0.0 and all(b <= 0.0 for b in behind) and behind[-1] < 0.0
    # a later pass over the rest of the list measures against the whole list's best, not its own
    later = answering.candidate_features(idx, question, texts[5:], found[5:], [0.0] * 5, best_vector=found[0].vector)
    assert [f[6] for f in later] == behind[5:]
    # whether the shipped rule weighs it is fitted (train/fit_answering.py), not a property to test


def test_two_passes_read_the_rest_only_when_no_first_candidate_is_decisive(seed_index):
    from dataclasses import replace

    from qa import answering, open_index
    from qa.api import embedder_for

    shipped = load_reranker()
    idx = open_index(seed_index)
    question = "what conditions did Putin set?"
    query = embedder_for(idx).encode_queries([question])[0]
    one_pass = answering.score_sentences(idx, query, question, Reranker(MODEL_DIR, shipped.calibration))
    stop_early = Reranker(MODEL_DIR, replace(shipped.calibration, first_pass=5, decisive_at=0.0))
    read_all = Reranker(MODEL_DIR, replace(shipped.calibration, first_pass=5, decisive_at=1.01))
    early = answering.score_sentences(idx, query, question, stop_early)
    assert len(early) == 5 < len(one_pass)
    both = answering.score_sentences(idx, query, question, read_all)
    assert [(s.row, round(s.score, 6)) for s in both] == [(s.row, round(s.score, 6)) for s in one_pass]
    # a sentence read in the first pass scores as it does in one pass over all
    scores = {s.row: s.score for s in one_pass}
    assert all(abs(s.score - scores[s.row]) < 1e-6 for s in early)


def test_words_of_someone_the_question_does_not_name_are_told_apart():
    from qa.answering import other_speaker, question_mentions, speakers

    putin = question_mentions("what conditions did Putin set?")
    complaint = ("“He is now doing everything he can to sabotage diplomacy by setting extremely difficult and "
                 "unacceptable conditions right from the start even before a ceasefire,” Zelenskyy said in a post on X.")
    assert speakers(complaint) == ["zelenskyy"] and other_speaker(complaint, putin)
    assert not other_speaker("“If they lay down their arms, they will be guaranteed life,” Putin added.", putin)
    assert not other_speaker("Putin had also expressed support for a ceasefire but with conditions.", putin)
    assert speakers("According to the Kremlin, talks went well.") == ["kremlin"]
    assert not other_speaker("“We will not stop,” he said.", putin)          # a pronoun names no one
    assert not other_speaker(complaint, question_mentions("what conditions were set?"))  # the question names no one


def test_the_reranker_reads_a_sentence_with_the_words_before_it():
    from qa.reranker import reranker_input

    text = "Cars overturned,” Asheville Mayor Esther Manheimer said Monday.\n“The power lines look like spaghetti."
    start = text.index("“The")
    read = reranker_input(text, start, len(text), 4)
    assert read == "“The power lines look like spaghetti. [SEP] Esther Manheimer said Monday."
    assert reranker_input(text, start, len(text), 0) == text[start:]   # a model trained on sentences alone
    assert reranker_input(text, 0, 10, 4) == text[:10]                  # an article's first words have none before


CURFEW_ELSEWHERE = {
    "madagascar.txt": '''---
title: "Army takes charge in Antananarivo as protests over power cuts grow"
date: 2025-10-02
---
Thousands of young protesters marched through Antananarivo on Wednesday for a third day, angered by water and power cuts that leave parts of Madagascar's capital dark for hours.
Police fired tear gas near the central square, and shops along the main avenue stayed shut.
General Andry Ravelona, head of the joint security command, announced a curfew from 7 p.m. to 5 a.m. "until public order is restored".
Hospitals reported at least a dozen people injured in the clashes.
The president dismissed the energy minister on Tuesday and promised an inquiry into the utility company.
''',
    "losangeles.txt": '''---
title: "Los Angeles mayor orders downtown curfew after nights of looting"
date: 2025-06-10
---
Los Angeles Mayor Karen Bass ordered a curfew for a one-square-mile area of downtown on Tuesday after several nights of looting and vandalism.
The curfew, running from 8 p.m. to 6 a.m., is expected to remain in place for several days.
Residents, the homeless, journalists and emergency workers are exempt from the order.
The police chief said officers had made more than 200 arrests since Friday.
''',
}


def test_a_question_about_one_story_is_not_answered_from_another_storys_sentence(tmp_path):
    # Neither curfew sentence names its city; the Los Angeles one fits "how long ... last" better
    # word for word. What the sentence leaves out, its article says: the question's names and rare
    # words looked up in the candidate's whole article (answering.candidate_features).
    from qa import rebuild

    (tmp_path / "articles").mkdir()
    for name, text in CURFEW_ELSEWHERE.items():
        (tmp_path / "articles" / name).write_text(text)
    rebuild(source=tmp_path / "articles", index=tmp_path / "index")
    for question, story in (("How long will the Antananarivo curfew last?", "madagascar"),
                            ("How long is the curfew in Madagascar's capital meant to last?", "madagascar"),
                            ("How long will the Los Angeles curfew last?", "losangeles")):
        a = answer(question, index=tmp_path / "index")
        assert a.found and a.citations[0].article_id.startswith(story), (question, a.citations[0].quote)
        assert "curfew" in a.citations[0].quote


def test_article_features_look_the_question_up_in_the_candidates_whole_article(seed_index):
    from qa import answering, open_index
    from qa.api import embedder_for

    idx = open_index(seed_index)
    question = "what did Putin say about Kursk?"
    found = answering.search(idx, embedder_for(idx).encode_queries([question])[0], 10)
    texts = [idx.text(s.article)[s.start:s.end] for s in found]
    features = answering.candidate_features(idx, question, texts, found, [0.0] * len(found))
    # one article: every candidate shares its article's two values, and the article holds both names
    assert {tuple(f[-2:]) for f in features} == {(1.0, 1.0)}
    assert any(f[4] < 1.0 for f in features)  # while some sentences alone miss a name


def test_a_date_the_reader_adds_is_not_looked_up_as_a_word():
    from qa.answering import question_mentions, without_dates

    assert without_dates("What did Putin agree to when he spoke with Trump on March 18?") == \
        "What did Putin agree to when he spoke with Trump on ?"
    assert without_dates("Which districts saw attacks in August 2024, and on the 18th of March?") == \
        "Which districts saw attacks in , and on the ?"
    assert without_dates("number of injured in the cebu quake by thursday") == "number of injured in the cebu quake by"
    # years, figures and the other words "march" and "may" stay
    for kept in ("Who won the 2025 Champions League final?", "How many people joined the march?",
                 "May the 737 MAX 10 fly yet?"):
        assert without_dates(kept) == kept
    assert question_mentions(without_dates("Who met Witkoff in Moscow on Thursday, March 13?")) == ["witkoff", "moscow"]


def test_a_question_dated_by_the_reader_is_answered_from_an_article_that_words_the_date_otherwise(seed_index):
    # The article says "On Thursday" and "On Friday" (it is dated 2025-03-14); a reader asks with the
    # calendar date. Until the dates were taken out of the lookups, both were "not found".
    for question, said in (("What conditions did Putin set for a ceasefire on March 13, 2025?", "with conditions"),
                           ("Who did Putin ask on March 14 to convey messages to Trump?", "Putin asked Witkoff")):
        a = answer(question, index=seed_index)
        assert a.found and said in a.citations[0].quote, (question, (a.citations or a.nearest)[0].quote)
    assert not answer("Who won the 2022 World Cup?", index=seed_index).found


FOOTBALL = """Mbappe scores twice as Madrid beat Sevilla

Kylian Mbappe scored twice on Sunday as Real Madrid beat Sevilla 3-1 at the Bernabeu. Mbappe opened the
scoring after ten minutes with a low shot. Jude Bellingham added a third late in the game, and Carlo
Ancelotti praised his side's pressing after the match.
"""


@pytest.fixture
def seed_and_football(tmp_path: Path, seed_copy: Path) -> Path:
    """The seed and a football report: names the index holds, that the Putin story does not."""
    from qa import rebuild

    (seed_copy / "football.txt").write_text(FOOTBALL)
    rebuild(source=seed_copy, index=tmp_path / "two")
    return tmp_path / "two"


def test_a_question_typed_in_lower_case_names_whom_the_articles_name(seed_and_football):
    from qa import open_index
    from qa.answering import question_mentions

    idx = open_index(seed_and_football)
    # a word the articles write capitalised where no sentence starts is a name, however it is typed
    assert question_mentions("what did witkoff tell putin in moscow", idx) == ["witkoff", "putin", "moscow"]
    assert question_mentions("What did Witkoff tell Putin in Moscow?", idx) == ["witkoff", "putin", "moscow"]
    assert question_mentions("Witkoff met whom?", idx) == ["witkoff"]  # a first word too
    assert question_mentions("who did bellingham ask to convey messages to trump", idx) == ["bellingham", "trump"]
    assert question_mentions("what did witkoff tell putin in moscow") == []  # without the index: its casing alone
    # words the articles write in lower case, or that only open their sentences, are not names
    assert question_mentions("what conditions were set for the talks on the ceasefire", idx) == []


def test_a_lower_case_question_about_someone_the_story_does_not_name_is_not_answered(seed_and_football):
    # Bellingham is in the index, but in none of the articles the best candidates come from: the
    # capitalised question was "not found"; typed in lower case, it was answered with Putin's words.
    for question in ("Who did Bellingham ask to convey messages to Trump?", "who did bellingham ask to convey messages to trump",
                     "how many ukrainian soldiers did bellingham say were surrounded in kursk"):
        a = answer(question, index=seed_and_football)
        assert not a.found, (question, a.citations[0].quote)
    a = answer("who did putin ask to convey messages to trump", index=seed_and_football)
    assert a.found and "Putin asked Witkoff" in a.citations[0].quote
