"""Ingest and ask against a real Chroma server (chroma run on loopback)."""

from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.bm25 import bm25_folder
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Citation

from tests.conftest import CORPUS
from tests.helpers.servers import chroma_server
from tests.ingest.test_pipeline import _assert_consistent

pytestmark = [pytest.mark.slow, pytest.mark.chroma_server]

BASES = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."
GERMAN = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
ENGLISH = "Which countries plan bases in Ukraine?"


def _where(citation: Citation) -> tuple[str, str, int, int]:
    return citation.quote, citation.source, citation.start, citation.end


def test_ingest_and_ask_through_a_chroma_server(tmp_path: Path) -> None:
    with chroma_server(tmp_path / "chroma-data") as url:
        machine_a = Settings(store_path=tmp_path / "a", chroma_url=url, backend="extractive")
        report = ingest([CORPUS], machine_a)
        assert report.added == 1 and not report.failed
        assert ingest([CORPUS], machine_a).chunks == 0, (
            "re-ingest through the server embeds nothing"
        )
        _assert_consistent(machine_a)
        # nothing of the store is local: only the BM25 cache, in a folder named after the server
        assert not (tmp_path / "a" / "chroma").exists()
        assert bm25_folder(machine_a.store_path, url, machine_a.collection).exists()
        # the server store answers as the embedded one does: same quotes, same offsets
        engine_a = Engine(machine_a)
        local = Settings(store_path=tmp_path / "local", backend="extractive")
        ingest([CORPUS], local)
        engine_local = Engine(local)
        served = {q: engine_a.answer(q) for q in (GERMAN, ENGLISH)}
        for question, answer in served.items():
            embedded = engine_local.answer(question)
            assert answer.citations and [_where(c) for c in answer.citations] == [
                _where(c) for c in embedded.citations
            ]
        # the extractive backend quotes the best sentence as it is: asked in the sources' language
        assert served[GERMAN].citation(1).quote == BASES
        assert BASES in [c.quote for c in served[ENGLISH].evidence]

        # a second machine shares the server: it sees the documents, and its own BM25 cache
        # catches up when machine A adds a document
        machine_b = Settings(store_path=tmp_path / "b", chroma_url=url, backend="extractive")
        engine_b = Engine(machine_b)
        assert any(
            BASES in p.chunk.text
            for p in engine_b.retriever.search("Stützpunkte Ukraine Frankreich").passages
        )
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "penguins.txt").write_text("Pinguine leben in der Antarktis und fressen Krill.")
        ingest([extra], machine_a)
        hits = engine_b.retriever.search("Pinguine Krill", mode="bm25").passages
        assert hits and "Krill" in hits[0].chunk.text
        assert len(Store.open(machine_b).documents()) == 2


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path) -> None:
    from fundstelle.core.errors import StoreError

    with pytest.raises(StoreError, match=r"cannot reach the Chroma server at http://127.0.0.1:9"):
        Store.open(Settings(store_path=tmp_path, chroma_url="http://127.0.0.1:9"))
