"""The OpenAI-compatible backend against a real server on loopback: llama-cpp-python's server
with the packaged model."""

import json
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.qa.backends.model_files import packaged_gguf
from fundstelle.qa.batch import read_questions, run_batch
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Span

from tests.helpers.servers import llama_server

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def test_openai_backend_and_parallel_batch(seed_settings: Settings, tmp_path: Path) -> None:
    model = packaged_gguf(seed_settings.model_cache)
    with llama_server(model, tmp_path / "llama.log") as base_url:
        settings = seed_settings.with_overrides(
            backend="openai", llm_base_url=base_url, llm_model="qwen"
        )
        engine = Engine(settings)
        answer = engine.answer("Welche Länder könnten Stützpunkte in der Ukraine planen?")
        assert answer.error is None, answer.error
        assert not answer.refused
        assert "Frankreich" in answer.text
        assert any("Stützpunkte" in c.quote for c in answer.citations)
        # an answer's words translated by the server come with the translation's confidence
        span = Span(1, "Großbritannien und Frankreich", 0, 29, "Großbritannien und Frankreich")
        engine._translate_spans([span], "en")
        assert "France" in span.translation and span.translation_logprob is not None
        assert -5.0 < span.translation_logprob <= 0.0
        # llama.cpp's server takes the schema as a "json_object" response format
        questions = tmp_path / "q.txt"
        questions.write_text(
            "Wer vertrat die USA bei der Konferenz?\nIn which city did the coalition meet?\n"
        )
        out = tmp_path / "a.jsonl"
        counts = run_batch(engine, read_questions(questions), out, concurrency=2)
        assert counts["done"] == 2 and counts["failed"] == 0
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert all(r["answer"]["backend"] == "openai" for r in rows)
