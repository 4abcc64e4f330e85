"""Word overlap between a question and a sentence, weighted by how rare each word is.

Used only to reorder the few best sentences the vectors found: a sentence holding the
question's rare words ("gambling", "dissented") beats one that is merely on topic. Words
are lower-cased, stop words dropped, and plural/verb endings stripped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[A-Za-z0-9]+")
STOP_WORDS = frozenset(
    """a an the of in on at to for and or is are was were be been being did does do done what who whom whose
    when where which how why has have had by with from as that this these those it its into than then there their
    his her they he she we you i us our your about after before over under up down out not no yes can could would
    should will shall may might must also just more most such so if but because while during between against any
    all each other some only own same too very now said says say""".split()
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    return {_stem(w) for w in (m.lower() for m in _WORD.findall(text)) if w not in STOP_WORDS}


def document_frequencies(texts: Iterable[str]) -> Counter[str]:
    df: Counter[str] = Counter()
    for text in texts:
        df.update(terms(text))
    return df


def coverage(question_terms: set[str], sentence: str, df: dict[str, int], n_docs: int) -> float:
    """Share of the question's IDF weight that the sentence holds (0 to 1)."""
    if not question_terms:
        return 0.0
    weight = {t: math.log((n_docs + 1) / (df.get(t, 0) + 0.5)) for t in question_terms}
    held = terms(sentence)
    return sum(w for t, w in weight.items() if t in held) / (sum(weight.values()) or 1.0)
