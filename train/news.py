"""news-train for training and fitting: real news articles, reader questions with verbatim evidence
from every outlet that states the answer, the story of each article, and folds by story.

    python3 ../shared/data/news-train/build.py train/news-train     # merge and check the parts first

Candidates come from the project's own retrieval over an index of news-train built with `rebuild`
(what the reranker sees at answer time). A candidate is a positive when it overlaps the evidence of
its question in its article (how `qa eval` counts a hit); one holding the answer's words elsewhere is
neither positive nor negative for training (an outlet the annotation may have missed). Folds hold out
whole parts (each part is two or three stories): questions on one story share facts, so a question
split would leak them.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from qa.chunking import sentence_spans  # noqa: E402

NEWS_DIR = ROOT / "train" / "news-train"
HEADLINE = NEWS_DIR / "headline.jsonl"
HEADLINE2 = NEWS_DIR / "headline2.jsonl"  # a second set: 12 more a story, more of them on who said what
HEADLINE3 = NEWS_DIR / "headline3.jsonl"  # a third: 12 more, more on why, who said what, who and when
HEADLINE_SETS = {"headline": HEADLINE, "headline2": HEADLINE2, "headline3": HEADLINE3}  # by their rows' names in bench/quality.py
INDEX_CACHE = ROOT / "train" / ".cache" / "news-index"
FOLDS = 2
SEED = 13


@dataclass
class NewsQuestion:
    id: str
    question: str
    answerable: bool
    evidence: list[tuple[str, str]]    # (article id, verbatim quote)
    answer: str | None
    kind: str
    part: str                          # the part it came from: the unit of the folds
    story: str = ""                    # its evidence's story (unanswerable: the story retrieval lands on)


@dataclass
class Candidate:
    article: str
    start: int
    end: int
    text: str
    vector: float                      # cosine of the question and the sentence's in-context vector
    positive: bool                     # overlaps the question's evidence in this article
    ambiguous: bool = False            # not evidence, but holds the answer's words: kept out of training
    sentence: object = None            # the answering.ScoredSentence it came from
    input: str = ""                    # what the reranker reads for it (qa.reranker.reranker_input); default the text

    def __post_init__(self) -> None:
        self.input = self.input or self.text


@dataclass
class Mined:
    question: NewsQuestion
    candidates: list[Candidate]                                # retrieval order
    evidence_sentences: list[str] = field(default_factory=list)  # every sentence overlapping evidence
    evidence_inputs: list[str] = field(default_factory=list)     # the same, as the reranker reads them
    # the sentence right after each piece of evidence, as the reranker reads it: with context, its
    # context holds the answer, so it is the negative that teaches "the answer is the sentence itself"
    after_inputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.evidence_inputs = self.evidence_inputs or list(self.evidence_sentences)  # read alone by default


def load(news: Path = NEWS_DIR) -> tuple[list[dict], list[NewsQuestion], dict[str, str]]:
    if not (news / "questions.jsonl").exists():
        sys.exit(f"{news}/questions.jsonl is missing: run `python3 ../shared/data/news-train/build.py {news}` first")
    articles = [json.loads(line) for line in (news / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    stories: dict[str, str] = json.loads((news / "stories.json").read_text(encoding="utf-8"))
    questions = []
    for line in (news / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        evidence = [(e["article"], e["quote"]) for e in q["evidence"]]
        story = Counter(stories[a] for a, _ in evidence).most_common(1)[0][0] if evidence else ""
        questions.append(NewsQuestion(q["id"], q["question"], bool(q["answerable"]), evidence, q.get("answer"),
                                      q.get("kind", ""), q["id"].split("-")[0], story))
    return articles, questions, stories


def folds(questions: list[NewsQuestion], n: int = FOLDS, seed: int = SEED) -> dict[str, int]:
    """part -> fold, parts shuffled by the seed and dealt round-robin."""
    parts = sorted({q.part for q in questions})
    random.Random(seed).shuffle(parts)
    return {p: i % n for i, p in enumerate(parts)}


def held_out_model(folds_dir: Path, part: str, fold: dict[str, int]) -> Path:
    """The fold model under `folds_dir` that never saw `part`, by the parts its training.json says
    it was trained on (news_parts): the split moves when news-train grows, so today's fold of a part
    says nothing about a model trained before. A part new to every model goes to its fold of today."""
    for k in (fold[part], *sorted(set(fold.values()) - {fold[part]})):
        model = folds_dir / f"reranker-fold{k}"
        trained_on = json.loads((model / "training.json").read_text()).get("news_parts")
        if trained_on is None:
            raise SystemExit(f"{model}/training.json does not list the parts it was trained on (news_parts): "
                             "retrain it with train/reranker.py --holdout-fold, or add the list")
        if part not in trained_on:
            return model
    raise SystemExit(f"every fold model under {folds_dir} was trained on part {part}")


def unseen_parts(model: Path, parts) -> list[str]:
    """The parts among `parts` that `model` was never trained on, by its training.json (news_parts):
    news-train grown after a model was trained, on which that very model is held out."""
    record = json.loads((Path(model) / "training.json").read_text())
    trained = [] if record.get("stage") == "public" else record.get("news_parts")  # the public stage saw no news
    if trained is None:
        raise SystemExit(f"{model}/training.json does not list the parts it was trained on (news_parts)")
    return sorted(set(parts) - set(trained))


def rewordings(path: Path) -> dict[str, str]:
    """Question id -> the same question as another reader would type it (jsonl of id, paraphrase)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {item["id"]: item["paraphrase"] for item in map(json.loads, filter(str.strip, lines))}


def reworded(questions: list[NewsQuestion], path: Path) -> list[NewsQuestion]:
    """Those of `questions` that `path` rewords, as questions of their own with the same evidence
    (id + "~r")."""
    text = rewordings(path)
    return [replace(q, id=f"{q.id}~r", question=text[q.id]) for q in questions if q.id in text]


def with_rewordings(questions: list[NewsQuestion], path: Path, instead: bool = False, share: float = 1.0,
                    seed: int = 0) -> list[NewsQuestion]:
    """`questions` and their rewordings: of each part's questions that `path` rewords, a seeded `share`;
    with `instead`, a reworded question replaces its question as asked, so that each is trained on
    once, in one of its wordings (about as many pairs as without)."""
    copies = reworded(questions, path)
    rng = random.Random(seed)
    chosen = set()
    for part in sorted({q.part for q in questions}):
        ids = sorted(c.id.removesuffix("~r") for c in copies if c.part == part)
        rng.shuffle(ids)
        chosen.update(ids[: round(share * len(ids))])
    return [q for q in questions if not (instead and q.id in chosen)] + [
        c for c in copies if c.id.removesuffix("~r") in chosen]


def headline_questions(path: Path, articles: list[dict], stories: dict[str, str]) -> list[NewsQuestion]:
    """Questions written by readers who saw only the stories' headlines, never the articles
    (train/news-train/headline-brief.md), their evidence found afterwards in every outlet, or none
    (headline-evidence-brief.md): other readers' wording and the questions the articles really leave
    open, not near misses made up beside a known answer. Same format as questions.jsonl, plus `story`.
    Every quote is checked to stand verbatim in an article (of `articles`, as news.load gives them) of its story."""
    texts = {a["id"]: a["text"] for a in articles}
    out = []
    for q in map(json.loads, filter(str.strip, path.read_text(encoding="utf-8").splitlines())):
        evidence = [(e["article"], e["quote"]) for e in q["evidence"]]
        for art, quote in evidence:
            if stories.get(art) != q["story"] or quote not in texts[art]:
                raise ValueError(f"{path}: {q['id']}: the quote is not verbatim in {art} of its story {q['story']}")
        if bool(q["answerable"]) != bool(evidence):
            raise ValueError(f"{path}: {q['id']}: answerable must have evidence, unanswerable none")
        out.append(NewsQuestion(q["id"], q["question"], bool(q["answerable"]), evidence, q.get("answer"),
                                q.get("kind", ""), q["id"].split("-")[0], q["story"]))
    return out


def with_headline(asked: list[NewsQuestion], written: list[NewsQuestion], asked_parts: frozenset[str] = frozenset(),
                  headline_only: bool = False) -> list[NewsQuestion]:
    """A news stage's training questions: those as asked, and the headline questions (`written`) on
    the same parts. `asked_parts`: only these parts' questions as asked (a news-stage base was trained
    on the others already), the headline questions still from every part; `headline_only`: none as asked."""
    parts = {q.part for q in asked}
    kept = [] if headline_only else [q for q in asked if not asked_parts or q.part in asked_parts]
    return kept + [q for q in written if q.part in parts]


def open_as_asked(written: list[NewsQuestion], asked: list[NewsQuestion], seed: int) -> list[NewsQuestion]:
    """`written` with its open questions sampled down (seeded, order kept) to the open share of the
    questions as `asked`: trained on a wording that is mostly open, the reranker learns that a question
    worded so is usually open and scores every such question lower (section ZK)."""
    share = sum(not q.answerable for q in asked) / max(len(asked), 1)
    answerable = [q for q in written if q.answerable]
    left_open = [q for q in written if not q.answerable]
    keep = min(len(left_open), round(share / (1 - share) * len(answerable))) if share < 1 else len(left_open)
    kept = {q.id for q in random.Random(seed).sample(left_open, keep)}
    return [q for q in written if q.answerable or q.id in kept]


def wording(question_id: str) -> str:
    """How a question of news-train was written: "asked" by a reader of the article, "reworded" by
    another reader (id + "~r"), or from the "headline" alone (id "<part>-h...")."""
    if question_id.endswith("~r"):
        return "reworded"
    return "headline" if question_id.split("-")[1].startswith("h") else "asked"


def parts_range(text: str) -> frozenset[str]:
    """'t69-t84' or 't69,t70' -> the part names."""
    parts = set()
    for item in text.split(","):
        first, _, last = item.strip().partition("-")
        prefix = first.rstrip("0123456789")
        numbers = range(int(first[len(prefix):]), int(last.removeprefix(prefix)) + 1) if last else [first[len(prefix):]]
        parts.update(f"{prefix}{n}" for n in numbers)
    return frozenset(parts)


def without_parts(mined: list[Mined], parts: frozenset[str]) -> list[Mined]:
    """Questions and candidate sentences of `parts` left out: stories a model must never see, not even
    as another question's negative, so that it can be measured on them later."""
    kept = [m for m in mined if m.question.part not in parts]
    for m in kept:
        m.candidates = [c for c in m.candidates if c.article.split("-")[0] not in parts]
    return kept


def build_index(articles: list[dict], cache: Path = INDEX_CACHE) -> Path:
    """An index of news-train built by the project's own rebuild (incremental: cheap when unchanged)."""
    from qa import rebuild

    cache.mkdir(parents=True, exist_ok=True)
    source = cache.parent / "news-train.jsonl"
    body = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles)
    if not source.exists() or source.read_text(encoding="utf-8") != body:
        source.write_text(body, encoding="utf-8")
    rebuild(source=source, index=cache / "index")
    return cache / "index"


def mine(questions: list[NewsQuestion], index: Path, k: int = 40, context_words: int = 0,
         lexical_k: int = 0) -> list[Mined]:
    """Each question's candidates as answering gathers them (answering.candidates_for: the k best
    sentences by the project's vector search, then `lexical_k` sharing most of its rare words),
    labelled; each with what a reranker reading `context_words` words of context gets for it."""
    from qa import answering, open_index
    from qa.api import embedder_for
    from qa.reranker import reranker_input

    idx = open_index(index)
    rows = {m.id: m.row for m in idx.articles}
    vectors = embedder_for(idx).encode_queries([q.question for q in questions])
    out = []
    for q, v in zip(questions, vectors):
        spans: dict[str, list[tuple[int, int]]] = {}
        for art, quote in q.evidence:
            text = idx.text(rows[art])
            at = text.find(quote)
            if at >= 0:
                spans.setdefault(art, []).append((at, at + len(quote)))
        answer_words = (q.answer or "").lower() if q.answer and len(q.answer) > 3 else None
        cands = []
        for s in answering.candidates_for(idx, v, q.question, k, lexical_k):
            meta = idx.article(s.article)
            text = idx.text(s.article)[s.start:s.end]
            positive = any(a < s.end and s.start < b for a, b in spans.get(meta.id, []))
            ambiguous = not positive and answer_words is not None and answer_words in text.lower()
            cands.append(Candidate(meta.id, s.start, s.end, text, s.vector, positive, ambiguous, s,
                                   reranker_input(idx.text(s.article), s.start, s.end, context_words)))
        evidence_sentences, evidence_inputs, after = [], [], []
        for art, art_spans in spans.items():
            text = idx.text(rows[art])
            sentences = sentence_spans(text)
            for i, (a, b) in enumerate(sentences):
                if any(x < b and a < y for x, y in art_spans) and text[a:b] not in evidence_sentences:
                    evidence_sentences.append(text[a:b])
                    evidence_inputs.append(reranker_input(text, a, b, context_words))
                    if context_words > 0 and i + 1 < len(sentences):
                        na, nb = sentences[i + 1]
                        if not any(x < nb and na < y for x, y in art_spans):
                            after.append((text[na:nb], reranker_input(text, na, nb, context_words)))
        if not q.answerable and not q.story:  # the story of its own part that retrieval lands on first
            own = [c.article for c in cands if c.article.split("-")[0] == q.part]
            q.story = _story_of(own[0]) if own else ""
        after_inputs = [read for sentence, read in after if sentence not in evidence_sentences
                        and not (answer_words is not None and answer_words in sentence.lower())]
        out.append(Mined(q, cands, evidence_sentences, evidence_inputs, after_inputs))
    return out


_stories: dict[str, str] = {}


def _story_of(article: str) -> str:
    if not _stories:
        _stories.update(json.loads((NEWS_DIR / "stories.json").read_text(encoding="utf-8")))
    return _stories.get(article, "")


def training_pairs(mined: list[Mined], negatives: int, rng: random.Random,
                   hardness: list[np.ndarray] | None = None) -> list[tuple[str, str, float]]:
    """Every evidence sentence a positive; the hardest others (never an ambiguous one) negatives:
    those the given scores (the reranker before this stage) rank highest, else retrieval's order.
    Pairs hold what the reranker reads (Candidate.input: the sentence, with context if mined so)."""
    pairs = []
    for i, m in enumerate(mined):
        q = m.question.question
        evidence = set(m.evidence_sentences) | {c.text for c in m.candidates if c.positive}
        positives = set(m.evidence_inputs) | {c.input for c in m.candidates if c.positive}
        order = range(len(m.candidates)) if hardness is None else np.argsort(-hardness[i], kind="stable")
        negs = [m.candidates[j].input for j in order
                if not m.candidates[j].positive and not m.candidates[j].ambiguous and m.candidates[j].text not in evidence]
        pairs += [(q, s, 1.0) for s in sorted(positives)]
        pairs += [(q, s, 0.0) for s in list(dict.fromkeys(negs))[:negatives]]
        pairs += [(q, s, 0.0) for s in dict.fromkeys(m.after_inputs) if s not in positives and s not in negs[:negatives]]
    rng.shuffle(pairs)
    return pairs


def rank_metrics(mined: list[Mined], scores: list[np.ndarray], candidates: int = 30) -> dict[str, float]:
    """hit@1 / hit@5 of the given scores over each answerable question's first `candidates`."""
    h1 = h5 = n = 0
    for m, s in zip(mined, scores):
        if not m.question.answerable:
            continue
        n += 1
        top = np.argsort(-np.asarray(s[:candidates]))
        labels = [m.candidates[i].positive for i in top]
        h1 += bool(labels) and labels[0]
        h5 += any(labels[:5])
    return {"answerable": n, "hit1": h1 / max(n, 1), "hit5": h5 / max(n, 1)}
