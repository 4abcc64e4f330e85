"""HTML and Markdown for the chat window. Article text is data: every piece of it is escaped."""

from __future__ import annotations

import html
from urllib.parse import urlparse

from qa import Answer, Citation
from qa.markdown import escape_markdown


def safe_url(url: str) -> str:
    """Only http(s) links are shown as links; anything else (javascript:, data:) is dropped."""
    return url if urlparse(url).scheme in ("http", "https") else ""


def chat_markdown(a: Answer, outlets: dict[str, str] | None = None) -> str:
    """The reply; `outlets` maps article ids to their outlet (the article's `source`), where known."""
    outlets = outlets or {}
    if not a.found:
        lines = ["**The articles do not answer this question.**"]
        if a.nearest:
            lines += ["", "_Closest passages, not an answer:_"]
            lines += [f"- {escape_markdown(c.quote)} ({escape_markdown(c.title)})" for c in a.nearest]
        return "\n".join(lines)
    lines = []
    for c in a.citations:
        also = ""
        if c.also:
            names = [outlets.get(s.article_id) or urlparse(safe_url(s.url)).netloc or s.title or s.article_id for s in c.also]
            also = f" _(also reported by {escape_markdown(', '.join(dict.fromkeys(names)))})_"
        lines.append(f"> {escape_markdown(c.quote)} **[{c.n}]**{also}\n")
    lines.append("**Sources**")
    by_article: dict[str, list[Citation]] = {}
    for c in (s for c in a.citations for s in c.sources()):
        by_article.setdefault(c.article_id, []).append(c)
    for cites in by_article.values():
        marks = "".join(dict.fromkeys(f"[{c.n}]" for c in cites))
        lines.append(f"- {marks} {source_line(cites[0], outlets.get(cites[0].article_id, ''))}")
    return "\n".join(lines)


def source_line(c: Citation, outlet: str = "") -> str:
    title = escape_markdown(c.title or c.article_id)
    url = safe_url(c.url)
    parts = [f"[{title}]({url.replace('(', '%28').replace(')', '%29')})" if url else title]
    if outlet or url:
        parts.append(escape_markdown(outlet or urlparse(url).netloc))
    if c.date:
        parts.append(escape_markdown(c.date))
    return ", ".join(parts)


def citation_label(c: Citation, *, also: bool = False) -> str:
    quote = c.quote if len(c.quote) <= 70 else c.quote[:67].rsplit(" ", 1)[0] + "…"
    title = c.title or c.article_id
    title = title if len(title) <= 48 else title[:45].rsplit(" ", 1)[0] + "…"
    return f"[{c.n}]{' also' if also else ''} {quote} · {title}"


def source_choices(citations: list[Citation]) -> list[tuple[str, Citation]]:
    """Every source of every citation, labelled for the picker: a quote's other outlets say "also"."""
    return [(citation_label(s, also=k > 0), s) for c in citations for k, s in enumerate(c.sources())]


def source_html(text: str, citation: Citation, same_article: list[Citation]) -> str:
    """The cited article with every quote of it highlighted; the chosen one marked `current`."""
    spans = sorted({(c.start, c.end, c.n) for c in same_article if c.article_id == citation.article_id})
    out, pos = [], 0
    for start, end, n in spans:
        if start < pos:  # overlapping quotes: highlight from where the last one ended
            start = pos
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        current = " current" if n == citation.n else ""
        out.append(f'<mark class="quote{current}" data-n="{n}">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    url = safe_url(citation.url)
    link = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(url)}</a>' if url else ""
    meta = " · ".join(x for x in (html.escape(citation.date), link) if x)
    return (
        f'<div class="source"><h3 class="source-title">{html.escape(citation.title or citation.article_id)}</h3>'
        f'<div class="source-meta">{meta}</div>'
        f'<div class="source-text">{"".join(out)}</div></div>'
    )


def index_markdown(manifest: dict) -> str:
    counts = manifest.get("counts", {})
    return (
        f"**{counts.get('articles', 0)}** articles, **{counts.get('chunks', 0)}** chunks, "
        f"**{counts.get('sentences', 0)}** sentences  \n"
        f"Model: `{manifest.get('model', '?')}` ({manifest.get('dimension', '?')}-d)  \n"
        f"Built: {manifest.get('built_at', '?')}"
    )
