"""A real store of the shipped corpus, built once for the qa tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest

from tests.conftest import CORPUS


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("seed") / "store"
    report = ingest([CORPUS], Settings(store_path=store))
    assert report.added == 1 and not report.failed
    return store


@pytest.fixture
def seed_settings(seed_store: Path) -> Settings:
    return Settings(store_path=seed_store)
