"""The benchmarks' report: rows reach the screen as they are measured and land in the doc once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import report  # noqa: E402


def test_rows_show_while_the_benchmark_runs_and_are_recorded_once(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(report, "DOC", doc)
    with report.recorded("Answer quality"):
        print("news-dev  after  95  0.610")
        shown = capsys.readouterr().out  # read before the benchmark is over
        assert "news-dev  after  95  0.610" in shown
        print("squad2-normans  after  208  0.792")
    assert capsys.readouterr().out == "squad2-normans  after  208  0.792\n"  # not printed a second time
    text = doc.read_text()
    assert "## Answer quality" in text
    block = text[text.index("<!-- Answer quality:start -->"):text.index("<!-- Answer quality:end -->")]
    assert "news-dev  after  95  0.610\nsquad2-normans  after  208  0.792\n```" in block
