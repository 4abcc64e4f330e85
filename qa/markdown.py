"""The Markdown of an answer. Article text is data: escaped so it shows literally, never as
links, images or HTML."""

from __future__ import annotations

import re

from .types import Citation, Source

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")


def escape_markdown(text: str) -> str:
    """Article text is data: shown literally, never as links, images or HTML."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def render(citations: list[Citation], *, found: bool) -> str:
    if not found:
        lines = ["The articles do not answer this question."]
        if citations:
            lines += ["", "Closest passages (not an answer):"]
            lines += [f"- {escape_markdown(c.quote)} ({escape_markdown(c.title)})" for c in citations]
        return "\n".join(lines)
    lines = [f"> {escape_markdown(c.quote)} [{c.n}]\n" for c in citations]
    lines.append("Sources:")
    for c in citations:
        lines.append(f"[{c.n}] {_source(c)}")
        lines += [f"    also reported by {_source(s)}: {escape_markdown(s.quote)}" for s in c.also]
    return "\n".join(lines)


def _source(c: Citation | Source) -> str:
    where = ", ".join(x for x in (c.date, c.url) if x)
    return escape_markdown(c.title or c.article_id) + (f" ({escape_markdown(where)})" if where else "")
