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


def test_eval_reports_metrics_and_failures(seed_index, tmp_path):
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "q1", "question": "What did Zelenskyy accuse Putin of on Friday?", "answerable": True,
         "evidence": [{"article": "000_6c8cb92d9d303011.txt", "quote": "accused Putin on Friday of sabotaging diplomatic efforts"}]},
        {"id": "q2", "question": "Who won the 2022 World Cup?", "answerable": False, "evidence": []},
        {"id": "q3", "question": "What did Peskov say about cautious optimism?", "answerable": True,
         "evidence": [{"article": "000_6c8cb92d9d303011.txt", "quote": "not in the article at all"}]},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run = qa("eval", str(questions), "--index", str(seed_index), "--json", "--failures")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["questions"], report["answerable"], report["unanswerable"]) == (3, 2, 1)
    assert report["hit_at_1"] == 0.5 and report["hit_at_5"] == 0.5  # q3's evidence is not in the text
    assert report["abstain_recall"] == 1.0 and report["false_abstain"] == 0.0
    assert report["verbatim"] == 1.0
    assert [f["id"] for f in report["failures"]] == ["q3"]
    text = qa("eval", str(questions), "--index", str(seed_index))
    assert "evidence hit@1" in text.stdout and "0.500" in text.stdout
