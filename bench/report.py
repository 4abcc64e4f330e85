"""Benchmarks print their tables and record them in docs/benchmarks.md, each in its own
marked section, with the machine they ran on."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import time
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.machine()}, Python {platform.python_version()}"


def record(section: str, lines: list[str]) -> None:
    """Print `lines` and put them in docs/benchmarks.md between this section's markers."""
    text = "\n".join(lines)
    print(text)
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    block = f"{start}\n```\n{text}\n```\n_{machine()}; run {time.strftime('%Y-%m-%d %H:%M')}_\n{end}"
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + f"\n\n## {section}\n\n{block}\n"
    DOC.write_text(doc)


@contextlib.contextmanager
def recorded(section: str):
    """Everything printed inside goes to the screen and into the doc's section."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield
    record(section, buf.getvalue().strip("\n").splitlines())
