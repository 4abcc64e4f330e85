"""The public entry points: `answer()` and `article_text()`, over indexes loaded once per process."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

from . import answering, config, markdown, store
from .embedding import Embedder, load_embedder
from .reranker import load_reranker
from .errors import IndexMismatchError, ModelError, QAError, QuestionError
from .store import StoredIndex
from .types import Answer

_lock = threading.Lock()
_open: dict[Path, StoredIndex] = {}


def open_index(index: str | Path | None = None) -> StoredIndex:
    """The current generation of an index, loaded once and reloaded when a rebuild swaps in a new one."""
    index_dir = config.resolve_index(index).resolve()
    gen = store.current_generation(index_dir)
    with _lock:
        cached = _open.get(index_dir)
        if cached is not None and gen is not None and cached.path == gen:
            return cached
        loaded = store.load(index_dir)
        _open[index_dir] = loaded
        return loaded


def embedder_for(idx: StoredIndex) -> Embedder:
    try:
        embedder = load_embedder(idx.manifest["model"])
    except ModelError:
        raise IndexMismatchError(
            f"index {idx.path.parent} was built with model {idx.manifest['model']!r}, which cannot be loaded here: "
            f"run `qa rebuild --full --index {idx.path.parent}` (add --model NAME_OR_PATH for another model)"
        ) from None
    if embedder.dimension != idx.manifest["dimension"]:
        raise IndexMismatchError(
            f"index {idx.path.parent} holds {idx.manifest['dimension']}-d vectors but model {embedder.name} makes "
            f"{embedder.dimension}-d ones: run `qa rebuild --full --index {idx.path.parent}`"
        )
    return embedder


def check_question(question: str) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())
    if not cleaned:
        raise QuestionError("the question is empty: ask something about the articles")
    if len(cleaned) > config.MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(cleaned):,} characters long; ask in at most {config.MAX_QUESTION_CHARS:,}"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError("the question has no words in it: ask something about the articles")
    return cleaned


_FOLLOW_UP_START = re.compile(r"^(and|but|also|what about|how about|then|so)\b", re.I)
_PRONOUN = re.compile(r"\b(he|she|they|him|her|them|his|hers|their|it|its|that|this|those|these)\b", re.I)


def follow_up_query(question: str, previous: str | None) -> str:
    """The text to retrieve on: the question alone, or joined to the previous one when it leans on it
    ("and what did Zelensky say?", "why did he do it?")."""
    if not previous:
        return question
    words = re.findall(r"\w+", question)
    if len(words) <= 4 or _FOLLOW_UP_START.match(question) or (len(words) <= 8 and _PRONOUN.search(question)):
        return f"{previous} {question}"
    return question


def answer(
    question: str,
    index: str | os.PathLike[str] | None = None,
    *,
    k: int = config.DEFAULT_TOP_K,
    previous: str | None = None,
    rerank: bool | str | os.PathLike[str] = True,
) -> Answer:
    """Answer `question` with verbatim quotes from the indexed articles (at most `k` quotes).

    `previous` is the question before it in a conversation: a short follow-up is retrieved together
    with it. `rerank=False` skips the trained reranker (faster, and worse on paraphrased questions);
    a folder instead of True uses the reranker in it (weights, tokenizer and calibration.json, as
    train/reranker.py and train/fit_answering.py write them) in place of the shipped one."""
    t0 = time.perf_counter()
    cleaned = follow_up_query(check_question(question), check_question(previous) if previous else None)
    idx = open_index(index)
    embedder = embedder_for(idx)
    reranker = (load_reranker() if rerank is True else load_reranker(Path(rerank))) if rerank else None
    t1 = time.perf_counter()
    query = embedder.encode_queries([cleaned])[0]
    t2 = time.perf_counter()
    ranked = answering.score_sentences(idx, query, cleaned, reranker)
    t3 = time.perf_counter()
    found = answering.is_answered(idx, cleaned, ranked, reranker)
    keep = reranker.calibration.keep_within if reranker else answering.KEEP_WITHIN
    quotes = answering.select_quotes(idx, ranked, k if found else min(k, 3), embedder.encode_queries, keep)
    citations = answering.cite(idx, quotes)
    t4 = time.perf_counter()
    timings = {
        "load": round((t1 - t0) * 1000, 2),
        "embed": round((t2 - t1) * 1000, 2),
        "rank": round((t3 - t2) * 1000, 2),  # vector search, and the reranker when on
        "select": round((t4 - t3) * 1000, 2),
        "total": round((t4 - t0) * 1000, 2),
    }
    return Answer(
        question=question,
        found=found,
        text=markdown.render(citations, found=found),
        citations=citations if found else [],
        nearest=[] if found else citations,
        timings_ms=timings,
    )


def article_text(article_id: str, index: str | os.PathLike[str] | None = None) -> str:
    """The text the index stored for an article: what every quote of it is cut from."""
    idx = open_index(index)
    meta = idx.find_article(article_id)
    if meta is None:
        raise QAError(f"no article {article_id!r} in index {idx.path.parent}")
    return idx.text(meta.row)
