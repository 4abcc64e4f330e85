"""Read a folder (recursively) or a single file into Articles.

Bad files are reported as SkippedFile and never abort the walk. The text each Article
keeps is the text quotes are cut from, so it is only decoded and newline-normalised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .errors import SourceError
from .types import Article, SkippedFile

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
MAX_FILE_BYTES = 512 * 1024 * 1024      # a .jsonl file of many articles may be large
MAX_ARTICLE_CHARS = 2_000_000           # one article: news runs to tens of kilobytes; 2 MB takes minutes to embed
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)


class BadFile(Exception):
    """Raised inside ingest for one file; becomes a SkippedFile."""


def read_source(source: Path) -> tuple[list[Article], list[SkippedFile]]:
    """All articles under `source`, plus the files (or records) skipped and why."""
    if not source.exists():
        raise SourceError(f"source {source} does not exist: give a folder or file of articles with --source")
    files = [source] if source.is_file() else sorted(_walk(source))
    base = source.parent if source.is_file() else source
    articles: list[Article] = []
    skipped: list[SkippedFile] = []
    seen: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            found = []
            for article in read_file(path, rel, skipped):
                if len(article.text) > MAX_ARTICLE_CHARS:
                    where = rel if article.id == rel else f"{rel} ({article.id})"
                    skipped.append(SkippedFile(where, f"article of {len(article.text) / 1e6:.1f} million characters; "
                                                      f"the limit is {MAX_ARTICLE_CHARS / 1e6:.0f} million: split it into several files"))
                    continue
                found.append(article)
        except BadFile as e:
            skipped.append(SkippedFile(rel, str(e)))
            continue
        except OSError as e:
            skipped.append(SkippedFile(rel, f"cannot read: {e.strerror or e}"))
            continue
        for article in found:
            if article.id in seen:
                skipped.append(SkippedFile(rel, f"duplicate id {article.id!r} (first in {seen[article.id]})"))
                continue
            seen[article.id] = rel
            articles.append(article)
    return articles, skipped


def _walk(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # hidden files and folders (.git, .DS_Store) are not articles
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield path


def read_file(path: Path, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > MAX_FILE_BYTES or (suffix not in (".json", ".jsonl") and size > 4 * MAX_ARTICLE_CHARS):
        raise BadFile(f"file of {size / 2**20:.0f} MB is too large to be one article; split it into several files")
    text = decode(path.read_bytes())
    if suffix in (".json", ".jsonl"):
        yield from _records(text, rel, suffix, skipped)
        return
    if suffix in (".html", ".htm"):
        article = _html(text, rel)
    else:
        article = _plain(text, rel, markdown=suffix == ".md")
    if not article.text.strip():
        raise BadFile("no text")
    yield article


def decode(data: bytes) -> str:
    """Bytes to text: BOMs honoured, UTF-8 first, then Windows-1252/Latin-1; binary refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        if b"\x00" in data[:8192]:
            raise BadFile("binary file, not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if sample and controls / len(sample) > 0.05:
        raise BadFile("binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[match.end():]


def _plain(text: str, rel: str, *, markdown: bool) -> Article:
    meta, body = _front_matter(text)
    title = _str(meta.get("title"))
    if not title:
        title = _headline(body) or Path(rel).stem
    return Article(
        id=_str(meta.get("id")) or rel,
        text=body,
        title=title,
        url=_str(meta.get("url")),
        date=_str(meta.get("date")),
        source=_str(meta.get("source")),
        path=rel,
    )


def _headline(body: str) -> str:
    """The first line, if it reads like a headline: short, and not a finished sentence."""
    first = body.lstrip().split("\n", 1)[0].strip().lstrip("#").strip()
    if 2 <= len(first.split()) <= 20 and len(first) <= 150 and not first.endswith((".", "?", "!", ",", ";", ":")):
        return first
    return ""


def _html(html: str, rel: str) -> Article:
    import trafilatura  # heavy import: only when there is HTML to read

    extracted = trafilatura.extract(html, output_format="json", with_metadata=True, include_comments=False)
    if not extracted:
        raise BadFile("no article text found in the HTML")
    data = json.loads(extracted)
    return Article(
        id=rel,
        text=data.get("text") or "",
        title=_str(data.get("title")) or Path(rel).stem,
        url=_str(data.get("source")),
        date=_str(data.get("date")),
        source=_str(data.get("hostname")),
        path=rel,
    )


def _records(text: str, rel: str, suffix: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise BadFile(f"not valid JSON (line {e.lineno}: {e.msg})") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise BadFile("JSON must be a list of articles with a 'text' field")
        rows = [(n, row, f"record {n}") for n, row in enumerate(data, 1)]
    else:
        rows = []
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                rows.append((len(rows) + 1, json.loads(line), f"line {n}"))
            except json.JSONDecodeError as e:
                skipped.append(SkippedFile(rel, f"line {n}: not valid JSON ({e.msg})"))
    for n, row, where in rows:
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
            skipped.append(SkippedFile(rel, f"{where}: no 'text' field"))
            continue
        body = row["text"].replace("\r\n", "\n").replace("\r", "\n")
        yield Article(
            id=_str(row.get("id")) or f"{rel}#{n}",
            text=body,
            title=_str(row.get("title")) or _headline(body) or f"{Path(rel).stem} #{n}",
            url=_str(row.get("url")),
            date=_str(row.get("date")),
            source=_str(row.get("source")),
            path=rel,
        )


def _str(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()
