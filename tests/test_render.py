from __future__ import annotations

from qa import Answer, Citation, Source
from ui.render import chat_markdown, source_choices, source_html


def cite(n, article_id="a1", start=0, end=5, url="https://news.example/story", also=()):
    return Citation(n, article_id, "Title", url, "2025-03-14", "Hello", start, end, 0.5, also)


def test_sources_list_gives_title_link_outlet_and_date_once_per_article():
    other = Source("b3", "Other title", "https://other.example/x", "2025-03-15", "Hi there", 4, 12)
    a = Answer("q", True, "", [cite(1), cite(2, start=6, end=11), cite(3, "b2", url="javascript:alert(1)", also=(other,))])
    text = chat_markdown(a, {"a1": "Reuters", "b2": ""})
    assert "- [1][2] [Title](https://news.example/story), Reuters, 2025\\-03\\-14" in text
    assert "javascript" not in text  # only http(s) links are links, and unsafe ones are dropped
    assert "> Hello **[3]** _(also reported by other.example)_" in text
    assert "- [3] [Other title](https://other.example/x), other.example, 2025\\-03\\-15" in text


def test_citation_round_trips_through_json_with_its_other_sources():
    other = Source("b3", "Other title", "", "", "Hi there", 4, 12)
    c = cite(1, also=(other,))
    assert Citation.from_dict(c.to_dict()) == c
    assert [(s.n, s.article_id, s.quote) for s in c.sources()] == [(1, "a1", "Hello"), (1, "b3", "Hi there")]


def test_source_view_highlights_every_quote_of_the_article():
    text = "Hello world. <b>Bold</b> claim here."
    chosen = cite(2, start=13, end=24)
    html = source_html(text, chosen, [cite(1, start=0, end=12), chosen, cite(3, "other", start=0, end=5)])
    assert html.count("<mark") == 2
    assert '<mark class="quote current" data-n="2">&lt;b&gt;Bold&lt;/b&gt;</mark>' in html
    assert "<b>" not in html


def test_picker_lists_every_source_and_marks_other_outlets():
    other = Source("b3", "Other title", "", "", "Hi there", 4, 12)
    labels = [label for label, _ in source_choices([cite(1, also=(other,)), cite(2, start=6, end=11)])]
    assert labels == ["[1] Hello · Title", "[1] also Hi there · Other title", "[2] Hello · Title"]
