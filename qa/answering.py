"""From a question to quotes: retrieve sentences, score them, pick the quotes, cite them.

Scoring (see docs/answering.md for the numbers behind it): each sentence has a vector pooled
inside its chunk, so it carries its surroundings; the question is matched against those, and
the best few are read together with the question by the trained reranker (qa/reranker.py),
whose logit and the vector score give each a probability of answering. A rule over those
scores, fitted on held-out training data, decides when the articles do not answer: then the
closest passages are returned as `nearest`, labelled, never as an answer. A sentence of
another article that says what a chosen quote says becomes another source of that quote
rather than a quote of its own.

Without the reranker (`answer(..., rerank=False)`, kept for comparison and for speed) the vector
score gets a bonus for sentences holding the kind of answer asked for, the best five are
reordered by rare-word overlap, and a rule fitted on the dev sets decides abstention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import lexical
from .reranker import Reranker
from .store import StoredIndex
from .types import Citation, Source

SENTENCE_CANDIDATES = 64
# A word more sentences hold than this is not read to find candidates: it weighs least and costs
# most (a cost bound for indexes of millions of sentences; news indexes have no such word).
LEXICAL_MAX_ROWS = 100_000
# Not answered when this logistic model says "unanswerable" with probability >= ABSTAIN_AT.
# Fitted on both dev sets by bench/calibrate_abstention.py (which also checks it across sets);
# features in the order of abstention_features().
ABSTAIN_WEIGHTS = (-1.75, -0.96, -1.97, 0.24, -0.52)
ABSTAIN_BIAS = 3.07
ABSTAIN_AT = 0.68
KEEP_WITHIN = 0.80      # further quotes must score at least this share of the best
MIN_QUOTE_CHARS = 25    # shorter sentences (datelines, "Ceasefire deal") are not quotes alone
# Two sentences of different articles report one fact when their stored (in-context) vectors
# are this close, and the sentences embedded on their own are too: context alone makes two
# sentences of one story look alike. Chosen on news-dev pairs, see docs/answering.md.
SAME_FACT_IN_CONTEXT = 0.80
SAME_FACT_ALONE = 0.78


@dataclass(frozen=True)
class ScoredSentence:
    row: int
    article: int
    start: int
    end: int
    score: float          # P(answers) when reranked, else the vector score with bonuses
    overlap: float = 0.0  # rare-word overlap with the question; set for the top RERANK_TOP only
    vector: float = 0.0   # cosine of the question and the sentence's in-context vector
    logit: float = 0.0    # the reranker's logit, when reranked


# What kind of answer a question asks for, and what a sentence holding one looks like.
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
ANSWER_KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "condition": (
        re.compile(r"\b(conditions?|terms|demands?|requirements?|prerequisites?)\b", re.I),
        re.compile(r"\b(if|unless|provided|conditions?|as long as|only when|in exchange|on condition|demands?|must)\b", re.I),
    ),
    "number": (
        re.compile(r"\b(how (many|much|long|far|big|large|old|often)|what (number|percentage|share|amount|price))\b", re.I),
        re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|millions?|billions?|half)\b", re.I),
    ),
    "date": (
        re.compile(r"\b(when|what (year|date|day|month|time))\b", re.I),
        re.compile(rf"\b(\d{{4}}|{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|ago|century|centuries)\b", re.I),
    ),
    # A yes/no question is answered by a sentence that says no or yes outright; a "yes" usually
    # restates the question and ranks high anyway, a "no" often words it differently.
    "yes_no": (
        re.compile(r"^\s*(did|does|do|is|are|was|were|has|have|had|can|could|will|would)\b", re.I),
        re.compile(r"\b(not|no|never|unable|refused|denied|declined|rejected|yes|confirmed)\b|n[’']t\b", re.I),
    ),
    "quotation": (
        re.compile(r"\b(say|said|says|tell|told|respond|responded|react|reacted|statement|call(ed)? for|warn(ed)?)\b", re.I),
        re.compile(r"[\"“”]|\b(said|says|told|stated|added|warned)\b"),
    ),
}
KIND_BONUS = 0.12  # chosen on the dev sets: 0.05-0.15 all help hit@1; see docs/answering.md
RERANK_TOP = 5     # the best few sentences are reordered by rare-word overlap with the question
W_OVERLAP = 0.15


def answer_kinds(question: str) -> list[str]:
    return [kind for kind, (asks, _) in ANSWER_KINDS.items() if asks.search(question)]


def score_sentences(
    idx: StoredIndex, query: np.ndarray, question: str = "", reranker: Reranker | None = None
) -> list[ScoredSentence]:
    """Candidate sentences for a unit query vector, best first."""
    if reranker is not None:
        cal = reranker.calibration
        return rerank(idx, candidates_for(idx, query, question, cal.candidates, cal.lexical_candidates), question, reranker)
    kinds = [ANSWER_KINDS[k][1] for k in answer_kinds(question)]
    out = search(idx, query, SENTENCE_CANDIDATES)
    if kinds:
        out = [
            replace(s, score=s.score + KIND_BONUS * sum(1 for looks in kinds if looks.search(idx.text(s.article)[s.start:s.end])))
            for s in out
        ]
    out.sort(key=lambda x: -x.score)
    return _rerank_by_overlap(idx, out, question)


def search(idx: StoredIndex, query: np.ndarray, k: int) -> list[ScoredSentence]:
    """The k sentences whose in-context vectors are closest to the query, best first."""
    n = idx.sentence_count
    if n == 0:
        return []
    scores, rows = idx.search(query.reshape(1, -1), min(k, n))
    found = rows[0] >= 0
    spans = idx.sentences_at(rows[0][found])
    return [
        ScoredSentence(int(r), int(article), int(start), int(end), float(score), vector=float(score))
        for r, score, (article, _, start, end) in zip(rows[0][found], scores[0][found], spans)
    ]


def candidates_for(idx: StoredIndex, query: np.ndarray, question: str, k: int, lexical_k: int) -> list[ScoredSentence]:
    """The k sentences closest to the query, then the `lexical_k` sentences holding most of the
    question's rare words among those the vectors missed. A question and its answer can be far
    apart as vectors and still share a name, a figure or a rare word: measured on news-train,
    the answer is among the 30 closest sentences for 90% of the questions, among the 20 closest
    and the 10 sharing most rare words for 92.5% (docs/answering.md, section Y)."""
    out = search(idx, query, k)
    if lexical_k <= 0:
        return out
    wanted = lexical.terms(question)
    weight = lexical.weights(wanted, idx.document_frequencies(wanted), idx.sentence_count)
    have = {s.row for s in out}
    best = lexical.best_holding(idx.postings(wanted, LEXICAL_MAX_ROWS), weight, lexical_k + len(have))
    rows = np.array([r for r in best if r not in have][:lexical_k], np.int64)
    if not len(rows):
        return out
    cosines = idx.sentence_vectors_at(rows) @ query.reshape(-1)
    return out + [
        ScoredSentence(int(r), int(article), int(start), int(end), float(v), vector=float(v))
        for r, v, (article, _, start, end) in zip(rows, cosines, idx.sentences_at(rows))
    ]


def rerank(idx: StoredIndex, candidates: list[ScoredSentence], question: str, reranker: Reranker) -> list[ScoredSentence]:
    """The candidates read with the question by the reranker; score = P(the sentence answers it),
    from the reranker's logit and the other features of candidate_features(). With a first pass
    (calibration), the later candidates are read only when no first one is decisive; each
    candidate's P depends on it alone, so the ones read score as in a single pass."""
    cal = reranker.calibration
    first = cal.first_pass if 0 < cal.first_pass < len(candidates) else len(candidates)
    best_vector = max((s.vector for s in candidates), default=0.0)
    out = _reranked(idx, candidates[:first], question, reranker, best_vector)
    if first < len(candidates) and max(s.score for s in out) < cal.decisive_at:
        out += _reranked(idx, candidates[first:], question, reranker, best_vector)
    return sorted(out, key=lambda x: -x.score)


def _reranked(idx: StoredIndex, candidates: list[ScoredSentence], question: str, reranker: Reranker,
              best_vector: float) -> list[ScoredSentence]:
    cal = reranker.calibration
    texts = [idx.text(s.article)[s.start:s.end] for s in candidates]
    logits = reranker.logits(question, [reranker.input_text(idx.text(s.article), s.start, s.end) for s in candidates])
    out = []
    for s, z, features in zip(candidates, logits, candidate_features(idx, question, texts, candidates, logits, best_vector)):
        p = _sigmoid(cal.fusion_bias + sum(w * f for w, f in zip(cal.fusion_weights, features)))
        out.append(replace(s, score=p, logit=float(z), overlap=features[2]))
    return out


def candidate_features(
    idx: StoredIndex, question: str, texts: list[str], candidates: list[ScoredSentence], logits: np.ndarray,
    best_vector: float | None = None,
) -> list[list[float]]:
    """Per candidate: reranker logit, vector score, rare-word overlap with the question, whether it
    holds the kind of answer asked for (0 or 1), the share of the question's names and numbers
    the sentence itself holds, whether the sentence reports the words of someone the question
    does not name (a sentence-level reranker cannot tell whose words "he is setting conditions"
    are; the attribution beside the quote can), and how far its vector score is behind the best
    candidate's (`best_vector`: of the whole list, default the given ones'; a question worded like
    its answer puts that answer far ahead, whatever the level of the scores). Then the same two
    lookups over the sentence's whole article: the share of the question's rare-word weight and
    of its names that the article holds. A sentence often leaves out what its article is about
    ("The curfew runs from 8 p.m."), and one from another story can match the question's words
    better than the answer does. Their weights are fitted, not chosen. Words and names are looked
    up without the question's dates (without_dates)."""
    looked_up = without_dates(question)
    wanted = lexical.terms(looked_up)
    df = idx.document_frequencies(wanted)
    weight = lexical.weights(wanted, df, idx.sentence_count)
    kinds = [ANSWER_KINDS[k][1] for k in answer_kinds(question)]
    mentions = question_mentions(looked_up, idx)

    def names(folded: str) -> float:
        return sum(m in folded for m in mentions) / len(mentions) if mentions else 1.0

    if best_vector is None:
        best_vector = max((s.vector for s in candidates), default=0.0)
    out = []
    for s, z, text in zip(candidates, logits, texts):
        article_terms, article_folded = idx.article_words(s.article)
        out.append([float(z), s.vector, lexical.share(weight, lexical.terms(text)), float(any(k.search(text) for k in kinds)),
                    names(lexical.fold(text)), float(other_speaker(text, mentions)), s.vector - best_vector,
                    lexical.share(weight, article_terms), names(article_folded)])
    return out


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, z))))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)  # the sigmoid saturates at 1.0 in floats; the logit stays finite
    return math.log(p / (1 - p))


def _rerank_by_overlap(idx: StoredIndex, ranked: list[ScoredSentence], question: str) -> list[ScoredSentence]:
    """Reorder only the top RERANK_TOP: which sentences are candidates stays the vectors' call."""
    head, tail = ranked[:RERANK_TOP], ranked[RERANK_TOP:]
    wanted = lexical.terms(question)
    if not wanted or not head:
        return ranked
    df = idx.document_frequencies(wanted)
    n = idx.sentence_count
    # Scores stay as they were: abstention and quote selection read the vectors' scores.
    head = [replace(s, overlap=lexical.coverage(wanted, idx.text(s.article)[s.start:s.end], df, n)) for s in head]
    return sorted(head, key=lambda x: -(x.score + W_OVERLAP * x.overlap)) + tail


_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"        # March 18, March 18th, 2025
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"  # 18 March, 18th of March 2025
    rf"|{_MONTH}\s+(?:of\s+)?\d{{4}}"                                       # August 2024
    r"|january|february|april|june|july|august|september|october|november|december"
    r"|(?<=\s)(?-i:March|May)"  # bare, only capitalised past the first word: else "march", "may" are other words
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b", re.I)


def without_dates(question: str) -> str:
    """The question without the dates a reader anchors it with ("after the March 18 call", "in
    August 2024", "on Monday"): articles date events from the day they were written ("on Tuesday",
    "last month"), so such a date is seldom in them word for word, and looking it up as a word or
    name takes an answering sentence for a near miss. Bare years stay ("the 2025 final")."""
    return re.sub(r"\s{2,}", " ", _DATE.sub(" ", question)).strip()


_MENTION = re.compile(r"[^\W_][\w’'-]*")  # from any letter or digit: "Šefčovič" whole


def question_mentions(question: str, idx: StoredIndex | None = None) -> list[str]:
    """Names and numbers in a question: capitalised words past the first, and anything with a digit;
    folded (lexical.fold) as the texts they are looked for in. With `idx`, also the words the
    question writes in lower case (or first) that the articles write as names (written_as_names):
    readers often type a whole question in lower case ("how much bail was set for nikolai durov")."""
    words = _MENTION.findall(question)
    folded = [_mention_form(w) for w in words]
    unsure = [f for i, (w, f) in enumerate(zip(words, folded))
              if (i == 0 or not w[0].isupper()) and not any(ch.isdigit() for ch in w)]
    named = written_as_names(idx, tuple(sorted(set(unsure)))) if idx is not None and unsure else set()
    return [
        f for i, (w, f) in enumerate(zip(words, folded))
        if (i > 0 and w[0].isupper()) or any(ch.isdigit() for ch in w) or f in named
    ]


def _mention_form(word: str) -> str:
    return re.sub(r"'s$", "", lexical.fold(word)).rstrip("'")


NAME_EVIDENCE_ROWS = 16  # sentences read per word to see how the articles write it


def written_as_names(idx: StoredIndex, words: tuple[str, ...]) -> frozenset[str]:
    """Of these folded words, those the articles write capitalised more often than not where no
    sentence starts: a name ("durov", "san remigio", "iran"), as against a word that only opens
    sentences. A stop word, or a word the index does not hold (or holds in too many sentences to
    read), is not taken for one. Kept per index: answering asks it of one question up to three times."""
    if words in idx.names_written:
        return idx.names_written[words]
    if len(idx.names_written) > 4096:
        idx.names_written.clear()
    terms_of = {w: lexical.terms(w) for w in words}
    postings = idx.postings(set().union(*terms_of.values()), LEXICAL_MAX_ROWS)
    named = set()
    for word, terms in terms_of.items():
        rows = np.array([r for t in terms for r in postings.get(t, ())[:NAME_EVIDENCE_ROWS]], np.int64)
        capitalised = lower = 0
        for article, _, start, end in idx.sentences_at(rows):
            sentence = idx.text(int(article))[start:end]
            for m in _MENTION.finditer(sentence):
                if _mention_form(m.group()) == word and sentence[:m.start()].strip(" \"'“‘(«-—"):
                    capitalised += m.group()[0].isupper()
                    lower += m.group()[0].islower()
        if capitalised > lower:
            named.add(word)
    idx.names_written[words] = frozenset(named)
    return idx.names_written[words]


_NAME = r"[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*"
_SPEECH = r"(?:said|says|told|wrote|added|posted|stated|warned|insisted|argued)"
_SPEAKER = re.compile(rf"({_NAME})\s+{_SPEECH}\b|\b{_SPEECH}\s+({_NAME})|\b[Aa]ccording to\s+(?:the\s+)?({_NAME})")


def speakers(sentence: str) -> list[str]:
    """The named people or bodies a sentence attributes words to ("..., Zelenskyy said",
    "said Peskov", "according to the Kremlin"), lower case; pronouns ("he said") name no one."""
    return [lexical.fold(w) for m in _SPEAKER.finditer(sentence) for g in m.groups() if g for w in g.split()]


def other_speaker(sentence: str, mentions: list[str]) -> bool:
    """The sentence reports the words of someone, none of whom the question names (only for
    questions that name someone or something)."""
    named = speakers(sentence)
    return bool(mentions) and bool(named) and not any(m in named for m in mentions)


def mention_coverage(idx: StoredIndex, question: str, ranked: list[ScoredSentence], top: int = 5,
                     numbers: bool = True) -> float:
    """Share of the question's names and numbers (only its names, with `numbers=False`) found in
    the articles of its best sentences. A question about someone or something no retrieved article
    mentions is not answered by them."""
    mentions = [m for m in question_mentions(question, idx) if numbers or not any(ch.isdigit() for ch in m)]
    if not mentions:
        return 1.0
    texts = [idx.article_words(a)[1] for a in {s.article for s in ranked[:top]}]  # folded, kept per article
    return sum(any(m in t for t in texts) for m in mentions) / len(mentions)


def abstention_features(idx: StoredIndex, question: str, ranked: list[ScoredSentence]) -> list[float]:
    """Best score, its lead over the fifth, name coverage, and rare-word overlap of the first and best."""
    head = ranked[:RERANK_TOP]  # overlaps were computed when score_sentences reordered these
    best = max(s.score for s in head)
    overlap = [s.overlap for s in head]
    return [best, best - head[-1].score, mention_coverage(idx, question, ranked), overlap[0], max(overlap)]


def reranked_abstention_features(idx: StoredIndex, question: str, ranked: list[ScoredSentence]) -> list[float]:
    """Best logit, its lead over the second, how many candidates the reranker believes (P >= 0.5),
    name coverage, the best vector score, how many outlets (articles) those believed candidates
    come from, whether the question asks for a kind of answer (a number, a date...) that the
    best candidate does not hold; then the best candidate's P(answers) as a logit (all the rules
    read, not the reranker alone), and name coverage without the question's dates (without_dates)
    or numbers: a figure can be spelt otherwise ("Super Bowl LIX", "1.5 hours"), so one the
    articles do not hold word for word says little about whether they answer.
    Which of them count is fitted (train/fit_answering.py)."""
    logits = sorted((s.logit for s in ranked), reverse=True)
    second = logits[1] if len(logits) > 1 else logits[0] - 1.0
    believed = [s for s in ranked if s.score >= 0.5]
    best = max(ranked, key=lambda s: s.score)
    kinds = [ANSWER_KINDS[k][1] for k in answer_kinds(question)]
    kind_missing = bool(kinds) and not any(k.search(idx.text(best.article)[best.start:best.end]) for k in kinds)
    return [
        logits[0], logits[0] - second, float(len(believed)),
        mention_coverage(idx, question, ranked), max(s.vector for s in ranked),
        float(len({s.article for s in believed})), float(kind_missing),
        _logit(best.score), mention_coverage(idx, without_dates(question), ranked, numbers=False),
    ]


def unanswerable_probability(
    idx: StoredIndex, question: str, ranked: list[ScoredSentence], reranker: Reranker | None = None
) -> float:
    if not ranked:
        return 1.0
    if reranker is not None:
        cal = reranker.calibration
        weights, bias, features = cal.abstain_weights, cal.abstain_bias, reranked_abstention_features(idx, question, ranked)
    else:
        weights, bias, features = ABSTAIN_WEIGHTS, ABSTAIN_BIAS, abstention_features(idx, question, ranked)
    return _sigmoid(bias + sum(w * f for w, f in zip(weights, features)))


def is_answered(idx: StoredIndex, question: str, ranked: list[ScoredSentence], reranker: Reranker | None = None) -> bool:
    cut = reranker.calibration.abstain_at if reranker is not None else ABSTAIN_AT
    return unanswerable_probability(idx, question, ranked, reranker) < cut


@dataclass(frozen=True)
class Quote:
    """One fact of the answer: its best sentence, and sentences of other articles saying the same."""

    main: ScoredSentence
    also: tuple[ScoredSentence, ...] = ()


Encoder = Callable[[list[str]], np.ndarray]


def select_quotes(
    idx: StoredIndex,
    ranked: list[ScoredSentence],
    limit: int,
    encode: Encoder | None = None,
    keep_within: float = KEEP_WITHIN,
) -> list[Quote]:
    """The best sentence and those close to it, distinct, adjacent ones of one article merged.
    A candidate saying what a picked quote says, in another article, joins that quote as another
    source instead of taking a place of its own; all candidates are looked at for that.
    `encode` embeds sentences on their own (for that check); without it nothing is grouped."""
    if not ranked:
        return []
    best = max(s.score for s in ranked[:RERANK_TOP])
    if max(s.vector for s in ranked) <= 0:  # nothing is even loosely related: no passage is worth showing
        return []
    same_fact = _SameFact(idx, ranked, encode)
    picked: list[int] = []  # positions in `ranked`
    also: dict[int, list[int]] = {}
    seen_text: set[str] = set()

    def quotable(i: int) -> bool:
        s = ranked[i]
        text = idx.text(s.article)[s.start:s.end]
        key = _normal(text)
        if len(text) < MIN_QUOTE_CHARS or key in seen_text:
            return False
        seen_text.add(key)
        return True

    for i, s in enumerate(ranked):  # the quotes; the first in rank order always, though the
        # rare-word rerank may have lifted it over sentences with higher vector scores
        if len(picked) < limit and (not picked or s.score >= best * keep_within) and quotable(i):
            same = same_fact.of(i, picked, also)
            if same is None:
                picked.append(i)
                also[i] = []
            else:
                also[same].append(i)
    used = set(picked) | {j for js in also.values() for j in js}
    for i in range(len(ranked)):  # and any other candidate that reports one of them
        if i not in used and quotable(i):
            same = same_fact.of(i, picked, also)
            if same is not None:
                also[same].append(i)
    quotes = [Quote(ranked[i], tuple(ranked[j] for j in also[i])) for i in picked]
    return _merge_adjacent(idx, quotes)


class _SameFact:
    """Which picked quote a candidate restates from another article, if any."""

    def __init__(self, idx: StoredIndex, ranked: list[ScoredSentence], encode: Encoder | None) -> None:
        self.idx, self.ranked, self.encode = idx, ranked, encode
        rows = np.array([s.row for s in ranked])
        self.in_context = idx.sentence_vectors_at(rows) if encode else None
        self.alone: dict[int, np.ndarray] = {}

    def _alone(self, positions: list[int]) -> list[np.ndarray]:
        missing = [i for i in positions if i not in self.alone]
        if missing:
            texts = [self.idx.text(self.ranked[i].article)[self.ranked[i].start:self.ranked[i].end] for i in missing]
            self.alone.update(zip(missing, self.encode(texts)))
        return [self.alone[i] for i in positions]

    def of(self, i: int, picked: list[int], also: dict[int, list[int]]) -> int | None:
        if self.in_context is None:
            return None
        article = self.ranked[i].article
        for p in picked:  # one sentence per article in a group
            if article in {self.ranked[p].article} | {self.ranked[j].article for j in also[p]}:
                continue
            if float(self.in_context[i] @ self.in_context[p]) < SAME_FACT_IN_CONTEXT:
                continue
            a, b = self._alone([i, p])
            if float(a @ b) >= SAME_FACT_ALONE:
                return p
        return None


def _merge_adjacent(idx: StoredIndex, quotes: list[Quote]) -> list[Quote]:
    merged: list[Quote] = []
    for q in quotes:
        s = q.main
        for i, m in enumerate(merged):
            if m.main.article == s.article and abs(m.main.row - s.row) == 1:
                text = idx.text(s.article)
                lo, hi = min(m.main.start, s.start), max(m.main.end, s.end)
                if "\n" not in text[lo:hi]:  # one paragraph only: never stitch across a break
                    main = ScoredSentence(min(m.main.row, s.row), s.article, lo, hi, max(m.main.score, s.score))
                    merged[i] = Quote(main, m.also + q.also)
                    break
        else:
            merged.append(q)
    return merged


def cite(idx: StoredIndex, quotes: list[Quote]) -> list[Citation]:
    citations = []
    for n, q in enumerate(quotes, 1):
        s = q.main
        meta = idx.article(s.article)
        also = [src for a in q.also for src in _sources(idx, a)]
        citations.append(
            Citation(
                n=n,
                article_id=meta.id,
                title=meta.title,
                url=meta.url,
                date=meta.date,
                quote=idx.text(s.article)[s.start:s.end],
                start=s.start,
                end=s.end,
                score=round(s.score, 4),
                also=tuple(_sources(idx, s)[1:] + also),
            )
        )
    return citations


def _sources(idx: StoredIndex, s: ScoredSentence) -> list[Source]:
    """The sentence's own article, then the articles stored with exactly the same text."""
    quote = idx.text(s.article)[s.start:s.end]
    rows = [s.article, *idx.same_text(s.article)]
    return [Source(m.id, m.title, m.url, m.date, quote, s.start, s.end) for m in map(idx.article, rows)]


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
