from __future__ import annotations

from qa import Answer, Citation
from ui.render import chat_markdown, source_html


def cite(n, article_id="a1", start=0, end=5, url="https://news.example/story", also=()):
    return Citation(n, article_id, "Title", url, "2025-03-14", "Hello", start, end, 0.5, also)


def test_sources_list_gives_title_link_outlet_and_date_once_per_article():
    a = Answer("q", True, "", [cite(1), cite(2, start=6, end=11), cite(3, "b2", url="javascript:alert(1)", also=("b3",))])
    text = chat_markdown(a, {"a1": "Reuters", "b2": ""})
    assert "- [1][2] [Title](https://news.example/story), Reuters, 2025\\-03\\-14" in text
    assert "javascript" not in text  # only http(s) links are links, and unsafe ones are dropped
    assert "the same text also in: b3" in text


def test_source_view_highlights_every_quote_of_the_article():
    text = "Hello world. <b>Bold</b> claim here."
    chosen = cite(2, start=13, end=24)
    html = source_html(text, chosen, [cite(1, start=0, end=12), chosen, cite(3, "other", start=0, end=5)])
    assert html.count("<mark") == 2
    assert '<mark class="quote current" data-n="2">&lt;b&gt;Bold&lt;/b&gt;</mark>' in html
    assert "<b>" not in html
