"""The `qa` command run as a user runs it: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def qa(*args: str, env_index=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, timeout=300)


def test_ask_json(seed_index):
    run = qa("ask", "what conditions did Putin set?", "--index", str(seed_index), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["found"] is True
    assert set(data) == {"question", "found", "text", "citations", "timings_ms"}
    assert len(data["citations"]) >= 2


def test_ask_text(seed_index):
    run = qa("ask", "what conditions did Putin set?", "--index", str(seed_index), "-k", "2")
    assert run.returncode == 0
    assert "[1]" in run.stdout and "[2]" in run.stdout and "[3]" not in run.stdout
    assert "Sources:" in run.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", ""], "question is empty"),
        (["ask", "hello?", "--index", "/nonexistent/index"], "no index at /nonexistent/index"),
        (["rebuild", "--source", "/nonexistent/articles", "--index", "/tmp/never"], "does not exist"),
    ],
)
def test_errors_are_one_line(seed_index, args, message):
    if args[0] == "ask" and "--index" not in args:
        args = [*args, "--index", str(seed_index)]
    run = qa(*args)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("qa: error:")
    assert "Traceback" not in run.stderr


def test_rebuild_reports_skipped_files(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "one.txt").write_text("Dam opens\nThe new dam opened on Tuesday in the north.")
    (tmp_path / "src" / "bad.txt").write_bytes(b"\x00\xff" * 50)
    run = qa("rebuild", "--source", str(tmp_path / "src"), "--index", str(tmp_path / "idx"))
    assert run.returncode == 0, run.stderr
    assert "1 added" in run.stdout and "skipped bad.txt: binary file" in run.stdout
