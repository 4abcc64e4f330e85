"""Benchmarks print their tables and record them in docs/benchmarks.md, each in its own
marked section, with the machine they ran on."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import time
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.machine()}, Python {platform.python_version()}"


def record(section: str, lines: list[str]) -> None:
    """Put `lines` in docs/benchmarks.md between this section's markers (recorded() has already
    shown them)."""
    text = "\n".join(lines)
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    block = f"{start}\n```\n{text}\n```\n_{machine()}; run {time.strftime('%Y-%m-%d %H:%M')}_\n{end}"
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + f"\n\n## {section}\n\n{block}\n"
    DOC.write_text(doc)


class _Tee(io.TextIOBase):
    """Writes through to the screen at once and keeps a copy: a benchmark that runs for an hour
    shows each row as it is measured, also when its output goes to a file."""

    def __init__(self, screen) -> None:
        self.screen, self.copy = screen, io.StringIO()

    def write(self, text: str) -> int:
        self.screen.write(text)
        self.screen.flush()
        return self.copy.write(text)

    def flush(self) -> None:
        self.screen.flush()


@contextlib.contextmanager
def recorded(section: str):
    """Everything printed inside goes to the screen as it is printed, and into the doc's section."""
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    record(section, tee.copy.getvalue().strip("\n").splitlines())


# The last commit that answered and rebuilt in torch: benchmarks run it beside the working tree,
# so "before" and "after" are measured in one run on one machine.
BEFORE = "a185c64"


@contextlib.contextmanager
def tree_at(rev: str):
    """The qa/ and ui/ packages as they were at `rev`, in a temp dir: run them with PYTHONPATH set to it
    (a path entry wins over the editable install's finder). Same venv, same index format."""
    import subprocess
    import tarfile
    import tempfile

    root = DOC.parent.parent
    with tempfile.TemporaryDirectory(prefix="before-") as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", rev, "qa", "ui"], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def env_for(tree: Path) -> dict[str, str]:
    """The environment a subprocess needs to import qa from `tree`. PYTHONSAFEPATH: `python -m` and
    `python -c` otherwise put the current directory first on sys.path, so a run from the checkout
    imported the working tree's qa whatever PYTHONPATH said (every "before" until 2026-12-04 was
    the working tree)."""
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1", "HF_HUB_OFFLINE": "1"}
