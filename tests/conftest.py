"""Shared fixtures: the real model (loaded once per session) and small real indexes in tmp dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the project's own ./index: defaults point into a temp dir."""
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "default-index"))
    monkeypatch.setenv("QA_SOURCE", str(SEEDS))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the seed article, built once per session. Tests must not modify it."""
    from qa import rebuild

    index = tmp_path_factory.mktemp("seed") / "index"
    rebuild(source=SEEDS, index=index)
    return index


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of the seeds folder a test may change."""
    dest = tmp_path / "articles"
    shutil.copytree(SEEDS, dest)
    return dest
