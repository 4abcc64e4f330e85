"""How the news stage of train/reranker.py labels its pairs (no model: the labelling rules only)."""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "train"))

import news  # noqa: E402


def _mined() -> news.Mined:
    q = news.NewsQuestion("t1-q1", "what conditions did Putin set?", True, [("a1", "Putin said Ukraine must leave.")],
                          "leave", "what", "t1", "story")
    texts = ["Zelenskyy called the conditions unacceptable.", "Putin said Ukraine must leave.",
             "The talks were held in Istanbul.", "Officials said they would leave it to the envoys.",
             "Rain fell in Kyiv."]
    cands = [news.Candidate("a1", i, i + 1, t, 0.5, positive=(i == 1), ambiguous=(i == 3)) for i, t in enumerate(texts)]
    return news.Mined(q, cands, ["Putin said Ukraine must leave."])


def test_negatives_are_the_ones_the_reranker_ranks_highest_never_evidence_or_ambiguous():
    m = _mined()
    hardness = [np.array([0.1, 3.0, 0.9, 5.0, 2.0])]  # the ambiguous sentence scores highest: still left out
    pairs = news.training_pairs([m], 2, random.Random(0), hardness)
    negatives = {s for _, s, y in pairs if y == 0.0}
    assert negatives == {"Rain fell in Kyiv.", "The talks were held in Istanbul."}
    assert {s for _, s, y in pairs if y == 1.0} == {"Putin said Ukraine must leave."}


def test_without_scores_negatives_follow_retrieval_order():
    pairs = news.training_pairs([_mined()], 2, random.Random(0))
    assert {s for _, s, y in pairs if y == 0.0} == {"Zelenskyy called the conditions unacceptable.",
                                                    "The talks were held in Istanbul."}


def test_a_model_is_held_out_on_exactly_the_parts_it_was_never_trained_on(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "training.json").write_text(json.dumps({"news_parts": ["t1", "t2"]}))
    assert news.unseen_parts(model, ["t1", "t2", "t3", "t4"]) == ["t3", "t4"]
    (model / "training.json").write_text(json.dumps({"stage": "public"}))  # the public stage saw no news
    assert news.unseen_parts(model, ["t2", "t1"]) == ["t1", "t2"]
    (model / "training.json").write_text(json.dumps({"stage": "news"}))  # trained before parts were listed
    with pytest.raises(SystemExit, match="news_parts"):
        news.unseen_parts(model, ["t1"])


def test_parts_kept_out_of_training_leave_no_question_and_no_candidate_sentence():
    assert news.parts_range("t69-t72") == {"t69", "t70", "t71", "t72"}
    assert news.parts_range("t5, t7-t8") == {"t5", "t7", "t8"}
    kept, other = _mined(), _mined()
    other.question.part = "t70"
    kept.candidates[2].article = "t70-a01"  # a sentence of a kept-out story, retrieved for another story's question
    left = news.without_parts([kept, other], news.parts_range("t69-t72"))
    assert [m.question.part for m in left] == ["t1"]
    assert "The talks were held in Istanbul." not in {c.text for c in left[0].candidates}
    assert len(left[0].candidates) == 4


def test_a_student_learns_the_teachers_logit_on_its_best_candidates_and_a_few_others():
    """train/distill.py: the teacher's top candidates of each question (where ranking is decided) and
    some of the rest at random, each labelled with the teacher's own logit, not with the evidence."""
    import distill

    m = _mined()
    logits = np.array([0.1, 3.0, 0.9, 5.0, 2.0])
    pairs = distill.news_pairs([m], [logits], random.Random(0), top=2, others=1)
    texts = [c.text for c in m.candidates]
    assert pairs[:2] == [(m.question.question, texts[3], 5.0), (m.question.question, texts[1], 3.0)]
    assert len(pairs) == 3 and pairs[2][1] in {texts[0], texts[2], texts[4]}
    assert pairs[2][2] == float(logits[texts.index(pairs[2][1])])


def test_a_reworded_question_learns_the_teachers_logits_for_the_question_as_asked():
    """train/distill.py --reworded: the evidence and the first other candidates (never an ambiguous
    one), each read with the question's rewording and labelled with the teacher's logit for it as asked."""
    import distill

    m = _mined()
    picked = distill.reworded_candidates(m, negatives=2)
    texts = [c.text for c in m.candidates]
    assert picked == [texts[1], texts[0], texts[2]]  # the evidence first; texts[3] is ambiguous
    asked = np.array([3.0, -1.0, -2.5])
    words = {"t1-q1": "putin demands for a ceasefire"}
    only_reworded = distill.reworded_pairs([m], [asked], words, [picked], random.Random(0), asked_share=0.0)
    assert only_reworded == [("putin demands for a ceasefire", texts[1], 3.0),
                             ("putin demands for a ceasefire", texts[0], -1.0),
                             ("putin demands for a ceasefire", texts[2], -2.5)]
    both = distill.reworded_pairs([m], [asked], words, [picked], random.Random(0), asked_share=1.0)
    assert both[3:] == [(m.question.question, s, z) for _, s, z in only_reworded]


def test_a_reworded_question_keeps_its_evidence_and_story_under_an_id_of_its_own(tmp_path):
    q = _mined().question
    other = news.NewsQuestion("t1-q2", "who hosted the talks?", False, [], None, "unanswerable", "t1", "story")
    words = tmp_path / "reworded.jsonl"
    words.write_text(json.dumps({"id": "t1-q1", "paraphrase": "putin demands for a ceasefire"}) + "\n")
    [r] = news.reworded([q, other], words)  # a question nobody reworded adds nothing
    assert (r.id, r.question) == ("t1-q1~r", "putin demands for a ceasefire")
    assert (r.evidence, r.answer, r.answerable, r.part, r.story) == (q.evidence, q.answer, True, "t1", "story")
    # trained on in one wording or in both
    assert [x.id for x in news.with_rewordings([q, other], words)] == ["t1-q1", "t1-q2", "t1-q1~r"]
    assert [x.question for x in news.with_rewordings([q, other], words, instead=True)] == [
        "who hosted the talks?", "putin demands for a ceasefire"]
    assert news.with_rewordings([q, other], words, instead=True, share=0.0) == [q, other]


def test_questions_written_from_the_headlines_keep_their_story_and_need_verbatim_evidence(tmp_path):
    articles = [{"id": "t1-a01", "text": "Putin said Ukraine must leave."}]
    stories = {"t1-a01": "kursk"}
    path = tmp_path / "headline.jsonl"
    lines = [{"id": "t1-h101", "story": "kursk", "question": "putin terms", "answerable": True, "answer": "leave",
              "kind": "condition", "evidence": [{"article": "t1-a01", "quote": "Ukraine must leave"}]},
             {"id": "t1-h102", "story": "kursk", "question": "who hosted the talks?", "answerable": False,
              "answer": None, "kind": "unanswerable", "evidence": []}]
    path.write_text("".join(json.dumps(q) + "\n" for q in lines))
    asked, left_open = news.headline_questions(path, articles, stories)
    assert (asked.part, asked.story, asked.evidence) == ("t1", "kursk", [("t1-a01", "Ukraine must leave")])
    assert (left_open.answerable, left_open.story) == (False, "kursk")  # its story as written, not retrieval's guess
    assert [news.wording(i) for i in ("t1-h101", "t1-q001", "t1-q001~r")] == ["headline", "asked", "reworded"]
    lines[0]["evidence"][0]["quote"] = "Ukraine must withdraw"  # retyped, not copied: refused
    path.write_text("".join(json.dumps(q) + "\n" for q in lines))
    with pytest.raises(ValueError, match="t1-h101"):
        news.headline_questions(path, articles, stories)


def test_headline_questions_join_the_parts_trained_on_even_where_a_base_saw_those_as_asked():
    def q(i, part):
        return news.NewsQuestion(i, "q", True, [], None, "", part)

    asked = [q("t1-q001", "t1"), q("t2-q001", "t2")]
    written = [q("t1-h101", "t1"), q("t2-h101", "t2"), q("t9-h101", "t9")]  # t9: held out, never trained on
    ids = lambda qs: [x.id for x in qs]  # noqa: E731
    assert ids(news.with_headline(asked, written)) == ["t1-q001", "t2-q001", "t1-h101", "t2-h101"]
    assert ids(news.with_headline(asked, written, frozenset({"t2"}))) == ["t2-q001", "t1-h101", "t2-h101"]
    assert ids(news.with_headline(asked, written, headline_only=True)) == ["t1-h101", "t2-h101"]


def test_headline_questions_mostly_open_are_sampled_down_to_the_open_share_of_those_as_asked():
    def q(i, answerable):
        return news.NewsQuestion(i, "q", answerable, [], None, "", "t1")

    asked = [q(f"t1-q{i:03}", i % 4 != 0) for i in range(40)]  # a quarter open
    written = [q(f"t1-h{i:03}", i % 3 == 0) for i in range(90)]  # 30 answerable, 60 open
    kept = news.open_as_asked(written, asked, seed=13)
    assert [x for x in kept if x.answerable] == [x for x in written if x.answerable]
    assert sum(not x.answerable for x in kept) == 10  # 10 open of 40 kept: a quarter, as asked
    assert [x.id for x in kept] == sorted(x.id for x in kept)  # order kept
    assert kept == news.open_as_asked(written, asked, seed=13)  # seeded


def test_every_committed_headline_set_asks_twelve_a_story_with_verbatim_evidence_under_ids_of_its_own(tmp_path):
    # the articles as build.py merges them, from the parts on disk (t1-t11 link to ../shared, which a
    # machine may lack: their questions' quotes are then checked where that machine has them)
    parts = [p for p in sorted((news.NEWS_DIR / "parts").iterdir()) if (p / "corpus.jsonl").exists()]
    assert len(parts) >= 87
    articles, stories = [], {}
    for part in parts:
        named = json.loads((part / "stories.json").read_text()) if (part / "stories.json").exists() else {}
        for a in map(json.loads, filter(str.strip, (part / "corpus.jsonl").read_text(encoding="utf-8").splitlines())):
            articles.append(a)
            stories[a["id"]] = named.get(a["id"], part.name)
    on_disk = {p.name for p in parts}
    seen: set[str] = set()
    story_sets = []
    for name, path in news.HEADLINE_SETS.items():
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        per_story = Counter(q["story"] for q in lines)
        assert set(per_story.values()) == {12}, name
        story_sets.append(set(per_story))
        ids = {q["id"] for q in lines}
        assert len(ids) == len(lines) and not ids & seen, name  # the sets load side by side
        assert {news.wording(i) for i in ids} == {"headline"}
        seen |= ids
        here = tmp_path / f"{name}.jsonl"
        here.write_text("".join(json.dumps(q) + "\n" for q in lines if q["id"].split("-")[0] in on_disk))
        assert len(news.headline_questions(here, articles, stories)) >= 0.85 * len(lines)  # refuses a quote not verbatim
    assert all(s == story_sets[0] for s in story_sets) and len(story_sets[0]) >= 196


def test_weights_trained_on_from_a_news_stage_list_the_parts_their_base_saw_too(tmp_path):
    import reranker

    base = tmp_path / "base"
    base.mkdir()
    (base / "training.json").write_text(json.dumps({"stage": "news", "news_parts": ["t1", "t2"]}))
    assert reranker.base_parts(base) == {"t1", "t2"}
    (base / "training.json").write_text(json.dumps({"stage": "public"}))
    assert reranker.base_parts(base) == set()


def test_the_abstention_cut_keeps_false_abstain_at_five_percent_in_every_wording():
    import fit_answering

    # P(unanswerable) of 100 answerable questions as asked (low) and 100 reworded (higher: another
    # reader's words lower every logit), and 20 unanswerable ones
    asked, reworded = np.linspace(0.0, 0.6, 100), np.linspace(0.2, 0.9, 100)
    p = np.concatenate([asked, reworded, np.full(20, 0.95)])
    unanswerable = np.array([False] * 200 + [True] * 20)
    wording = np.array(["asked"] * 100 + ["reworded"] * 100 + ["asked"] * 20)
    cut = fit_answering.cut_in_every_group(p, unanswerable, wording)
    assert np.mean(reworded >= cut) <= fit_answering.FALSE_ABSTAIN
    assert np.mean(asked >= cut) == 0.0          # the stricter group decides
    assert np.all(p[unanswerable] >= cut)
    # one group: the 95th percentile of all answerable questions, as before
    pooled = fit_answering.cut_in_every_group(p, unanswerable, np.zeros(len(p)))
    assert pooled < cut and np.mean(p[~unanswerable] >= pooled) <= fit_answering.FALSE_ABSTAIN + 0.005
