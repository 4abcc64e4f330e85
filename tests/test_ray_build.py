"""Rebuilds on Ray (the `ray` extra): a real local Ray, started by the build as `qa rebuild --ray` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import answer, open_index, rebuild, store
from qa.errors import QAError

from test_robustness import QUESTION, make_corpus

pytest.importorskip("ray", reason="the ray extra is not installed: pip install '.[ray]'")

ROOT = Path(__file__).resolve().parent.parent
NEWS_DEV = ROOT.parent / "shared" / "data" / "news-dev"


def cited(a) -> list[tuple[str, str]]:
    return [(c.article_id, c.quote) for c in a.citations + a.nearest]


def test_ray_build_answers_exactly_as_the_in_process_build(tmp_path):
    # news-dev where it is beside the checkout, else a corpus made from the seed article
    if (NEWS_DEV / "corpus.jsonl").exists():
        source = NEWS_DEV / "corpus.jsonl"
        questions = [json.loads(line)["question"] for line in (NEWS_DEV / "questions.jsonl").read_text().splitlines()]
    else:
        source = make_corpus(tmp_path / "articles", 30)
        questions = [QUESTION, "who attacked Kursk?", "what did Zelensky say?", "when will the talks happen?"]
    local = rebuild(source=source, index=tmp_path / "local")
    on_ray = rebuild(source=source, index=tmp_path / "ray", ray=True)
    assert (on_ray.articles, on_ray.chunks, on_ray.sentences) == (local.articles, local.chunks, local.sentences)
    a, b = open_index(tmp_path / "local"), open_index(tmp_path / "ray")
    assert np.allclose(a.vectors("sentences"), b.vectors("sentences"), atol=1e-5)
    assert b.manifest["model"] == a.manifest["model"] and b.manifest["dimension"] == a.manifest["dimension"]
    for q in questions:
        x, y = answer(q, tmp_path / "local"), answer(q, tmp_path / "ray")
        assert (x.found, cited(x)) == (y.found, cited(y)), q


def test_incremental_ray_build_embeds_only_what_changed(tmp_path):
    source = make_corpus(tmp_path / "articles", 12)
    index = tmp_path / "index"
    rebuild(source=source, index=index, ray=True)
    before = open_index(index)
    old_vectors = {m.id: np.array(before.vectors("sentences")[before.sentence_article == m.row]) for m in before.articles}
    edited = source / "story-0003.txt"
    edited.write_text(edited.read_text() + "A closing line added by an editor.\n")
    stats = rebuild(source=source, index=index, ray=True)
    assert stats.updated == ["story-0003.txt"] and stats.unchanged == 11 and not stats.added
    after = open_index(index)
    for m in after.articles:
        vectors = np.array(after.vectors("sentences")[after.sentence_article == m.row])
        if m.id != "story-0003.txt":  # kept byte for byte, not embedded again
            assert np.array_equal(vectors, old_vectors[m.id])
    assert len(after.vectors("sentences")) > len(before.vectors("sentences"))
    gen = store.current_generation(index)
    assert rebuild(source=source, index=index, ray=True).unchanged == 12  # nothing to embed: no new generation
    assert store.current_generation(index) == gen


def _ray_workers() -> list[int]:
    """Process ids of Ray Data's embedding actors on this machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"MapWorker" in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def test_a_worker_killed_mid_build_leaves_a_complete_index(tmp_path):
    index = tmp_path / "index"
    rebuild(source=ROOT / "seeds", index=index)
    first = answer(QUESTION, index)
    source = make_corpus(tmp_path / "articles", 240)  # embedding outlasts the kill below
    # Embedding actors already running (of an earlier test's Ray) are not this build's: never count those
    earlier = set(_ray_workers())
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "rebuild", "--ray", "--source", str(source), "--index", str(index), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    started = time.time()
    while not (seen := set(_ray_workers()) - earlier) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    seen_after = time.time() - started
    time.sleep(1)  # the actor is loading its model or embedding
    killed = sorted(set(_ray_workers()) - earlier)
    if not killed:  # say why: the build ended first, or Ray never started an actor in time
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"no Ray worker to kill (workers {sorted(seen)} seen after {seen_after:.1f} s; "
                             f"rebuild exit {proc.returncode}): {err.decode()[-2000:]}")
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
        assert answer(QUESTION, index).citations == first.citations  # still the previous index, answering
    out, err = proc.communicate(timeout=300)
    if proc.returncode == 0:  # Ray restarted the actor and ran its batch again: the complete new index
        assert json.loads(out)["articles"] == 240
        assert open_index(index).manifest["counts"]["articles"] == 240
    else:  # or it failed cleanly: one line, and the previous index untouched
        lines = err.decode().strip().splitlines()
        assert "Ray build failed" in lines[-1]
        assert answer(QUESTION, index).citations == first.citations
    assert answer(QUESTION, index).found


def test_without_the_ray_extra_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: `import ray` raises ImportError
    source = make_corpus(tmp_path / "articles", 2)
    with pytest.raises(QAError, match=r"pip install 'article-qa\[ray\]'"):
        rebuild(source=source, index=tmp_path / "index", ray=True)
    assert store.current_generation(tmp_path / "index") is None
