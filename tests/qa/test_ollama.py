"""The ollama backend against a stand-in server that speaks Ollama's HTTP API (``POST /api/chat``,
streamed as JSON lines), on the real store: the request carries the reader's schema as
``format``, the streamed reply becomes a verified, cited answer, and a server error is a clear
answer error with the sources' own words still shown."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from fundstelle.core.settings import Settings
from fundstelle.qa.chain import AnswerChain

BASES = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."


class _Ollama(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    reply = ""
    status = 200

    def log_message(self, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        if self.path != "/api/chat" or self.status != 200:
            self.send_response(self.status if self.path == "/api/chat" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "model \\"tiny\\" not found, try pulling it first"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        reply = type(self).reply
        pieces = [reply[i : i + 7] for i in range(0, len(reply), 7)]
        for piece in pieces:
            line = {
                "model": body["model"],
                "created_at": "2026-01-07T00:00:00Z",
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self.wfile.write((json.dumps(line) + "\n").encode())
        done = {
            "model": body["model"],
            "created_at": "2026-01-07T00:00:01Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1000,
            "prompt_eval_count": 10,
            "eval_count": len(pieces),
        }
        self.wfile.write((json.dumps(done) + "\n").encode())


@pytest.fixture
def ollama() -> Iterator[str]:
    _Ollama.requests = []
    _Ollama.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ollama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_ollama_backend_answers_through_the_chat_api(seed_settings: Settings, ollama: str) -> None:
    settings = seed_settings.with_overrides(
        backend="ollama", llm_model="tiny", llm_base_url=ollama, translate_queries=False
    )
    chain = AnswerChain.from_settings(settings)
    question = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
    evidence = chain.engine.evidence(question, chain.engine.retrieve(question).passages)
    n = next(ev.n for ev in evidence if ev.text == BASES)
    _Ollama.reply = json.dumps({"sentence": n, "answer": "Großbritannien und Frankreich"})
    *parts, answer = list(chain.stream(question))
    deltas = [p for p in parts if isinstance(p, str)]
    assert "".join(deltas).startswith("Großbritannien und Frankreich")
    assert answer.kind == "answer" and answer.error is None
    assert answer.text == "Großbritannien und Frankreich [1]"
    assert answer.citations[0].quote == BASES and answer.backend == "ollama"
    (request,) = _Ollama.requests
    body = request["body"]
    assert request["path"] == "/api/chat" and body["model"] == "tiny" and body["stream"] is True
    # the reply's shape is requested as a JSON schema naming the sentences it may choose
    seen = evidence[: settings.reader_sentences]
    assert body["format"]["properties"]["sentence"]["enum"] == [0, *[ev.n for ev in seen]]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user"] and "Stützpunkte" in body["messages"][1]["content"]


def test_an_ollama_error_is_an_answer_error_not_a_crash(
    seed_settings: Settings, ollama: str
) -> None:
    _Ollama.status = 404
    settings = seed_settings.with_overrides(backend="ollama", llm_model="tiny", llm_base_url=ollama)
    answer = AnswerChain.from_settings(settings).invoke("Which countries plan bases in Ukraine?")
    assert answer.kind == "quotes" and answer.error
    assert "ollama backend at " + ollama in answer.error and "not found" in answer.error
    assert answer.citations, "the sources' own words are still shown"
