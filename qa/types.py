"""Frozen result types. Each turns into JSON-ready data with `.to_dict()`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One article as stored: `text` is exactly what quotes are cut from."""

    id: str
    text: str
    title: str = ""
    url: str = ""
    date: str = ""
    source: str = ""
    path: str = ""


@dataclass(frozen=True)
class Source:
    """Another article reporting a citation's fact, in its own words: `quote == article_text(article_id)[start:end]`."""

    article_id: str
    title: str
    url: str
    date: str
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class Citation:
    """One quote: `quote == article_text(article_id)[start:end]`, always."""

    n: int
    article_id: str
    title: str
    url: str
    date: str
    quote: str
    start: int
    end: int
    score: float
    # The same fact as reported by other articles: the same text under other ids, or other
    # outlets' sentences that say the same thing (see docs/answering.md, "Same fact, several outlets").
    also: tuple[Source, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["also"] = [asdict(s) for s in self.also]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Citation:
        return cls(**{**d, "also": tuple(Source(**s) for s in d.get("also", ()))})

    def sources(self) -> list[Citation]:
        """This citation and each other source of its fact, as citations under the same number."""
        return [self] + [
            Citation(self.n, s.article_id, s.title, s.url, s.date, s.quote, s.start, s.end, self.score) for s in self.also
        ]


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    text: str
    citations: list[Citation] = field(default_factory=list)
    # Closest passages shown when nothing answers (found is False); never cited as an answer.
    nearest: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "nearest": [c.to_dict() for c in self.nearest],
            "timings_ms": dict(self.timings_ms),
        }


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class RebuildStats:
    index: str
    articles: int
    chunks: int
    sentences: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [
            f"Indexed {self.articles} articles ({self.chunks} chunks, {self.sentences} sentences) "
            f"into {self.index} in {self.seconds:.1f}s: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged, {len(self.skipped)} skipped."
        ]
        lines += [f"  skipped {s.path}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)
