"""`qa eval`: evidence hit@1/@5, MRR, abstention and latency over a questions.jsonl file.

A citation hits an evidence item when it cites the same article and its [start, end)
overlaps the evidence span (the quote's `start` if given, else its first occurrence).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .api import answer, open_index
from .errors import QAError
from .types import Answer


@dataclass(frozen=True)
class Failure:
    id: str
    question: str
    answerable: bool
    found: bool
    expected: list[str]
    quoted: list[str]


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    abstain_precision: float
    abstain_recall: float
    false_abstain: float
    verbatim: float
    latency_p50_ms: float
    latency_p95_ms: float
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        rows = [
            ("questions", f"{self.questions} ({self.answerable} answerable, {self.unanswerable} not)"),
            ("evidence hit@1", f"{self.hit_at_1:.3f}"),
            ("evidence hit@5", f"{self.hit_at_5:.3f}"),
            ("MRR", f"{self.mrr:.3f}"),
            ("abstention precision", f"{self.abstain_precision:.3f}"),
            ("abstention recall", f"{self.abstain_recall:.3f}"),
            ("false-abstain rate", f"{self.false_abstain:.3f}"),
            ("verbatim quotes", f"{self.verbatim:.3f}"),
            ("latency p50 / p95", f"{self.latency_p50_ms:.1f} / {self.latency_p95_ms:.1f} ms"),
        ]
        return "\n".join(f"{name:<22} {value}" for name, value in rows)


def load_questions(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise QAError(f"cannot read questions file {path}: {e.strerror or e}") from None
    questions = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
            q["question"], q["answerable"]  # noqa: B018 - both fields are required
        except (ValueError, KeyError, TypeError):
            raise QAError(f"{path} line {n}: not a question object with 'question' and 'answerable'") from None
        questions.append(q)
    return questions


def evidence_spans(q: dict[str, Any], text_of) -> list[tuple[str, int, int]]:
    spans = []
    for ev in q.get("evidence", []):
        start = ev.get("start")
        if start is None:
            start = text_of(ev["article"]).find(ev["quote"])
            if start < 0:
                continue
        spans.append((ev["article"], start, start + len(ev["quote"])))
    return spans


def first_hit(a: Answer, spans: list[tuple[str, int, int]]) -> int | None:
    """1-based rank of the first citation that overlaps an evidence span, if any (any of its sources)."""
    for rank, c in enumerate(a.citations, 1):
        if any(s.article_id == art and s.start < end and start < s.end for s in c.sources() for art, start, end in spans):
            return rank
    return None


def evaluate(
    questions_path: str | Path, index: str | Path | None = None, *, k: int = 5, rerank: bool | str | Path = True,
    warm: bool = True,
) -> EvalReport:
    """`warm`: answer the first question once untimed first, so latency is per question, not model
    loading (a caller evaluating many small files against one warm process passes False after the first)."""
    questions = load_questions(Path(questions_path))
    idx = open_index(index)

    def text_of(article_id: str) -> str:
        meta = idx.find_article(article_id)
        return idx.text(meta.row) if meta else ""

    if warm and questions:
        answer(questions[0]["question"], index=index, k=k, rerank=rerank)
    ranks, latencies, failures = [], [], []
    verbatim_ok = verbatim_all = 0
    abstained_unanswerable = abstained_answerable = unanswerable = 0
    for q in questions:
        a = answer(q["question"], index=index, k=k, rerank=rerank)
        latencies.append(a.timings_ms["total"])
        for c in (s for c in a.citations + a.nearest for s in c.sources()):
            verbatim_all += 1
            verbatim_ok += c.quote == text_of(c.article_id)[c.start:c.end]
        spans = evidence_spans(q, text_of)
        if q["answerable"]:
            rank = first_hit(a, spans) if a.found else None
            ranks.append(rank)
            abstained_answerable += not a.found
            wrong = rank != 1
        else:
            unanswerable += 1
            abstained_unanswerable += not a.found
            wrong = a.found
        if wrong:
            failures.append(
                Failure(
                    q.get("id", ""),
                    q["question"],
                    bool(q["answerable"]),
                    a.found,
                    [f"{art}: {text_of(art)[s:e]}" for art, s, e in spans],
                    [f"{c.article_id}: {c.quote}" for c in (a.citations or a.nearest)],
                )
            )
    answerable = len(ranks)
    abstained = abstained_answerable + abstained_unanswerable

    def share(n: int, d: int) -> float:
        return round(n / d, 4) if d else 0.0

    latencies.sort()
    return EvalReport(
        questions=len(questions),
        answerable=answerable,
        unanswerable=unanswerable,
        hit_at_1=share(sum(r == 1 for r in ranks), answerable),
        hit_at_5=share(sum(r is not None and r <= 5 for r in ranks), answerable),
        mrr=round(sum(1 / r for r in ranks if r) / answerable, 4) if answerable else 0.0,
        abstain_precision=share(abstained_unanswerable, abstained),
        abstain_recall=share(abstained_unanswerable, unanswerable),
        false_abstain=share(abstained_answerable, answerable),
        verbatim=share(verbatim_ok, verbatim_all) if verbatim_all else 1.0,
        latency_p50_ms=round(statistics.median(latencies), 2) if latencies else 0.0,
        latency_p95_ms=round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2) if latencies else 0.0,
        failures=failures,
    )
