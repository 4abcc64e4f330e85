"""From a question to quotes: retrieve sentences, score them, pick the quotes, cite them.

Scoring (see docs/answering.md for the numbers behind it): each sentence has a vector pooled
inside its chunk, so it carries its surroundings; the question is matched against those,
with a bonus for sentences holding the kind of answer asked for, and the best five are
reordered by rare-word overlap. A calibrated rule decides when the articles do not answer:
then the closest passages are returned as `nearest`, labelled, never as an answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from . import lexical
from .store import StoredIndex
from .types import Citation

SENTENCE_CANDIDATES = 64
# Not answered when this logistic model says "unanswerable" with probability >= ABSTAIN_AT.
# Fitted on both dev sets by bench/calibrate_abstention.py (which also checks it across sets);
# features in the order of abstention_features().
ABSTAIN_WEIGHTS = (-1.75, -0.96, -1.97, 0.24, -0.52)
ABSTAIN_BIAS = 3.07
ABSTAIN_AT = 0.68
KEEP_WITHIN = 0.80      # further quotes must score at least this share of the best
MIN_QUOTE_CHARS = 25    # shorter sentences (datelines, "Ceasefire deal") are not quotes alone


@dataclass(frozen=True)
class ScoredSentence:
    row: int
    article: int
    start: int
    end: int
    score: float
    overlap: float = 0.0  # rare-word overlap with the question; set for the top RERANK_TOP only


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


def score_sentences(idx: StoredIndex, query: np.ndarray, question: str = "") -> list[ScoredSentence]:
    """Candidate sentences for a unit query vector, best first."""
    n = idx.sentence_index.ntotal
    if n == 0:
        return []
    scores, rows = idx.sentence_index.search(query.reshape(1, -1), min(SENTENCE_CANDIDATES, n))
    kinds = [ANSWER_KINDS[k][1] for k in answer_kinds(question)]
    out = []
    for r, score in zip(rows[0], scores[0]):
        if r < 0:
            continue
        article, start, end = int(idx.sentence_article[r]), int(idx.sentence_spans[r, 0]), int(idx.sentence_spans[r, 1])
        if kinds:
            text = idx.text(article)[start:end]
            score += KIND_BONUS * sum(1 for looks in kinds if looks.search(text))
        out.append(ScoredSentence(int(r), article, start, end, float(score)))
    out.sort(key=lambda x: -x.score)
    return _rerank_by_overlap(idx, out, question)


def _rerank_by_overlap(idx: StoredIndex, ranked: list[ScoredSentence], question: str) -> list[ScoredSentence]:
    """Reorder only the top RERANK_TOP: which sentences are candidates stays the vectors' call."""
    head, tail = ranked[:RERANK_TOP], ranked[RERANK_TOP:]
    wanted = lexical.terms(question)
    if not wanted or not head:
        return ranked
    df = idx.document_frequencies(wanted)
    n = len(idx.sentence_spans)
    # Scores stay as they were: abstention and quote selection read the vectors' scores.
    head = [replace(s, overlap=lexical.coverage(wanted, idx.text(s.article)[s.start:s.end], df, n)) for s in head]
    return sorted(head, key=lambda x: -(x.score + W_OVERLAP * x.overlap)) + tail


_MENTION = re.compile(r"[A-Za-z0-9][\w’'-]*")


def question_mentions(question: str) -> list[str]:
    """Names and numbers in a question: capitalised words past the first, and anything with a digit."""
    words = _MENTION.findall(question)
    return [
        re.sub(r"(’s|'s)$", "", w).lower()
        for i, w in enumerate(words)
        if (i > 0 and w[0].isupper()) or any(ch.isdigit() for ch in w)
    ]


def mention_coverage(idx: StoredIndex, question: str, ranked: list[ScoredSentence], top: int = 5) -> float:
    """Share of the question's names and numbers found in the articles of its best sentences.
    A question about someone or something no retrieved article mentions is not answered by them."""
    mentions = question_mentions(question)
    if not mentions:
        return 1.0
    texts = [idx.text(a).lower() for a in {s.article for s in ranked[:top]}]
    return sum(any(m in t for t in texts) for m in mentions) / len(mentions)


def abstention_features(idx: StoredIndex, question: str, ranked: list[ScoredSentence]) -> list[float]:
    """Best score, its lead over the fifth, name coverage, and rare-word overlap of the first and best."""
    head = ranked[:RERANK_TOP]  # overlaps were computed when score_sentences reordered these
    best = max(s.score for s in head)
    overlap = [s.overlap for s in head]
    return [best, best - head[-1].score, mention_coverage(idx, question, ranked), overlap[0], max(overlap)]


def unanswerable_probability(idx: StoredIndex, question: str, ranked: list[ScoredSentence]) -> float:
    if not ranked:
        return 1.0
    z = ABSTAIN_BIAS + sum(w * f for w, f in zip(ABSTAIN_WEIGHTS, abstention_features(idx, question, ranked)))
    return 1 / (1 + math.exp(-z))


def is_answered(idx: StoredIndex, question: str, ranked: list[ScoredSentence]) -> bool:
    return unanswerable_probability(idx, question, ranked) < ABSTAIN_AT


def select_quotes(idx: StoredIndex, ranked: list[ScoredSentence], limit: int) -> list[ScoredSentence]:
    """The best sentence and those close to it, distinct, adjacent ones of one article merged."""
    if not ranked:
        return []
    best = max(s.score for s in ranked[:RERANK_TOP])
    picked: list[ScoredSentence] = []
    seen_text: set[str] = set()
    for s in ranked:
        if len(picked) >= limit:
            break
        if s.score < best * KEEP_WITHIN:
            continue
        text = idx.text(s.article)[s.start:s.end]
        key = _normal(text)
        if len(text) < MIN_QUOTE_CHARS or key in seen_text:
            continue
        seen_text.add(key)
        picked.append(s)
    return _merge_adjacent(idx, picked)


def _merge_adjacent(idx: StoredIndex, picked: list[ScoredSentence]) -> list[ScoredSentence]:
    merged: list[ScoredSentence] = []
    for s in picked:
        for i, m in enumerate(merged):
            if m.article == s.article and abs(m.row - s.row) == 1:
                text = idx.text(s.article)
                lo, hi = min(m.start, s.start), max(m.end, s.end)
                if "\n" not in text[lo:hi]:  # one paragraph only: never stitch across a break
                    merged[i] = ScoredSentence(min(m.row, s.row), m.article, lo, hi, max(m.score, s.score))
                    break
        else:
            merged.append(s)
    return merged


def cite(idx: StoredIndex, quotes: list[ScoredSentence]) -> list[Citation]:
    citations = []
    for n, s in enumerate(quotes, 1):
        meta = idx.articles[s.article]
        text = idx.text(s.article)
        citations.append(
            Citation(
                n=n,
                article_id=meta.id,
                title=meta.title,
                url=meta.url,
                date=meta.date,
                quote=text[s.start:s.end],
                start=s.start,
                end=s.end,
                score=round(s.score, 4),
                also=tuple(idx.articles[r].id for r in idx.same_text.get(s.article, [])),
            )
        )
    return citations


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
