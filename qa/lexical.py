"""Word overlap between a question and a sentence, weighted by how rare each word is.

A sentence holding the question's rare words ("gambling", "dissented", a name, a figure) is
likely about what it asks. Used to find candidates the vectors miss (the sentences with the
most overlap, from the index's postings), as a feature of each candidate, and without the
reranker to reorder the few best. Words are lower-cased and folded to plain letters (fold), stop
words dropped, and plural/verb endings stripped.
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections.abc import Iterable

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9]+")
STOP_WORDS = frozenset(
    """a an the of in on at to for and or is are was were be been being did does do done what who whom whose
    when where which how why has have had by with from as that this these those it its into than then there their
    his her they he she we you i us our your about after before over under up down out not no yes can could would
    should will shall may might must also just more most such so if but because while during between against any
    all each other some only own same too very now said says say""".split()
)


# Letters that carry no accent to take off but are read as plain ones ("Wałęsa", "Kılıçdaroğlu"),
# and typographic quotes and dashes, which most news text has (so that it stays on the fast path).
_PLAIN = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ı": "i", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th",
                        "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_ACCENTS = re.compile(r"[\u0300-\u036f]")  # combining marks, as NFKD splits them off their letters


def fold(text: str) -> str:
    """Lower case without diacritics, and one apostrophe: a reader types "Babis", "Vucic" or
    "Sanchez" for the "Babiš", "Vučić" and "Sánchez" of the articles, and outlets spell them
    either way. Without it a name with one accented letter splits in two ("babi", "vu")."""
    text = text.lower()
    if text.isascii():
        return text
    text = text.translate(_PLAIN)
    return text if text.isascii() else _ACCENTS.sub("", unicodedata.normalize("NFKD", text))


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(fold(text)) if w not in STOP_WORDS}


def postings(texts: Iterable[str]) -> dict[str, array]:
    """Each word -> the positions (in `texts`) of the texts holding it, ascending, int32."""
    out: dict[str, array] = {}
    for n, text in enumerate(texts):
        for t in terms(text):
            rows = out.get(t)
            if rows is None:
                rows = out[t] = array("i")
            rows.append(n)
    return out


def weights(question_terms: set[str], df: dict[str, int], n_docs: int) -> dict[str, float]:
    """Each word's inverse document frequency: rare words weigh most."""
    return {t: math.log((n_docs + 1) / (df.get(t, 0) + 0.5)) for t in question_terms}


def share(weight: dict[str, float], held: set[str] | frozenset[str]) -> float:
    """Share of the question's word weight (weights()) that these words hold (0 to 1)."""
    return sum(w for t, w in weight.items() if t in held) / (sum(weight.values()) or 1.0)


def coverage(question_terms: set[str], sentence: str, df: dict[str, int], n_docs: int) -> float:
    """Share of the question's IDF weight that the sentence holds (0 to 1)."""
    if not question_terms:
        return 0.0
    return share(weights(question_terms, df, n_docs), terms(sentence))


def best_holding(postings: dict[str, np.ndarray], weight: dict[str, float], k: int) -> np.ndarray:
    """The k rows holding the most weight of the question's words (by the rows that hold each word,
    `postings`), best first; ties in row order."""
    held = [(rows, weight[t]) for t, rows in postings.items() if len(rows)]
    if not held or k <= 0:
        return np.zeros(0, np.int64)
    rows, inverse = np.unique(np.concatenate([r for r, _ in held]), return_inverse=True)
    score = np.bincount(inverse, np.concatenate([np.full(len(r), w) for r, w in held]))
    return rows[np.argsort(-score, kind="stable")[:k]]
