from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import SourceError
from qa.ingest import read_source

HTML = """<html><head><title>Ports reopen after storm</title>
<meta property="article:published_time" content="2025-02-03">
<link rel="canonical" href="https://news.example/ports"></head>
<body><nav>Home | World | Sport</nav><article><h1>Ports reopen after storm</h1>
<p>The main ports reopened on Monday after a storm that closed them for three days, officials said.</p>
<p>Shipping companies expect delays to last until the end of the week as vessels queue to unload.</p>
</article><footer>Copyright</footer></body></html>"""


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_every_format_is_read(tmp_path):
    write(tmp_path, "a.txt", "Storm closes ports\nThe ports closed on Friday.\n")
    write(tmp_path, "sub/b.md", "---\ntitle: Markets rally\ndate: 2025-01-02\nurl: https://x.example/b\nsource: Wire\n---\nStocks rose.\n")
    write(tmp_path, "c.html", HTML)
    write(tmp_path, "d.jsonl", json.dumps({"id": "d1", "text": "One.", "title": "T1"}) + "\n" + json.dumps({"text": "Two."}) + "\n")
    write(tmp_path, "e.json", json.dumps([{"text": "Three.", "date": "2024-05-06"}]))
    articles, skipped = read_source(tmp_path)
    assert skipped == []
    by_id = {a.id: a for a in articles}
    assert set(by_id) == {"a.txt", "sub/b.md", "c.html", "d1", "d.jsonl#2", "e.json#1"}
    assert by_id["a.txt"].title == "Storm closes ports"
    assert by_id["a.txt"].text == "Storm closes ports\nThe ports closed on Friday.\n"
    b = by_id["sub/b.md"]
    assert (b.title, b.date, b.url, b.source, b.text) == ("Markets rally", "2025-01-02", "https://x.example/b", "Wire", "Stocks rose.\n")
    c = by_id["c.html"]
    assert c.title == "Ports reopen after storm"
    assert "reopened on Monday" in c.text and "Home | World" not in c.text
    assert c.date == "2025-02-03"
    assert by_id["e.json#1"].date == "2024-05-06"


def test_txt_title_falls_back_to_file_name(tmp_path):
    write(tmp_path, "plain-story.txt", "This first line is a full sentence, so it is not a headline.\nMore.")
    (article,), _ = read_source(tmp_path)
    assert article.title == "plain-story"


def test_bad_files_are_reported_and_skipped(tmp_path):
    write(tmp_path, "good.txt", "Good story\nIt rained.")
    write(tmp_path, "empty.txt", "")
    write(tmp_path, "binary.txt", bytes(range(256)) * 10)
    write(tmp_path, "broken.json", "{not json")
    write(tmp_path, "lines.jsonl", '{"text": "Fine."}\n{oops\n{"title": "no text"}\n')
    articles, skipped = read_source(tmp_path)
    assert sorted(a.id for a in articles) == ["good.txt", "lines.jsonl#1"]
    reasons = {(s.path, s.reason.split(":")[0]) for s in skipped}
    assert ("empty.txt", "no text") in reasons
    assert ("binary.txt", "binary file, not text") in reasons
    assert ("broken.json", "not valid JSON (line 1") in reasons
    assert ("lines.jsonl", "line 2") in reasons
    assert ("lines.jsonl", "line 3") in reasons


def test_legacy_encodings_are_decoded(tmp_path):
    write(tmp_path, "latin.txt", "Café crème à Zürich\nLe café a ouvert.".encode("latin-1"))
    write(tmp_path, "utf16.txt", "Über Nacht\nDie Straße war gesperrt.".encode("utf-16"))
    by_id = {a.id: a for a in read_source(tmp_path)[0]}
    assert by_id["latin.txt"].text.startswith("Café crème à Zürich")
    assert by_id["utf16.txt"].text == "Über Nacht\nDie Straße war gesperrt."


def test_unreadable_file_is_skipped_not_fatal(tmp_path):
    write(tmp_path, "ok.txt", "Fine story\nIt was fine.")
    locked = write(tmp_path, "locked.txt", "Secret\nText.")
    locked.chmod(0)
    try:
        articles, skipped = read_source(tmp_path)
    finally:
        locked.chmod(0o644)
    assert [a.id for a in articles] == ["ok.txt"] or "locked.txt" in [a.id for a in articles]  # root can read anything
    assert all(s.path == "locked.txt" for s in skipped)


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        read_source(tmp_path / "nope")
