"""What the llama.cpp adapter keeps of a loaded model must not keep the model alive: a model
evicted from the loader's cache is freed (issue 22: ``_PREFIXES`` and the exit handler held
every model ever loaded). No real model: small stand-ins."""

from __future__ import annotations

import gc
import sys
import threading
import time
import types
import weakref
from typing import Any

import pytest
from fundstelle.qa.backends import llamacpp


class _FakeLlama:
    """What PrefixStates and the loader look at of a ``llama_cpp.Llama``."""

    chat_handler = None
    chat_format = "chat_template.default"
    closed = 0

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.metadata: dict[str, str] = {}  # no chat template: prefix reuse stays off

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return [len(text)]

    def close(self) -> None:
        type(self).closed += 1


def test_prefix_states_do_not_keep_the_model_alive() -> None:
    llm = _FakeLlama()
    states = llamacpp.prefix_states(llm)
    assert llamacpp.prefix_states(llm) is states  # one per model while it is loaded
    assert llamacpp._first_token(llm, "yes") == 3
    gone = weakref.ref(llm)
    del llm
    gc.collect()
    assert gone() is None


def test_a_model_evicted_from_the_loader_is_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("llama_cpp")
    fake.Llama = _FakeLlama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    monkeypatch.setattr(llamacpp, "amx_safe", lambda path: True)
    monkeypatch.setattr(llamacpp.cpu.WATCH, "start", lambda: None)
    llamacpp._load_llama.cache_clear()
    try:
        first = llamacpp.load_llama("/models/a.gguf", 512, 1)
        llamacpp.prefix_states(first)
        gone = weakref.ref(first)
        del first
        for name in ("b", "c"):  # the cache holds two: a third load evicts the first
            llamacpp.load_llama(f"/models/{name}.gguf", 512, 1)
        gc.collect()
        assert gone() is None
    finally:
        llamacpp._load_llama.cache_clear()


def test_at_exit_models_are_freed_after_the_call_in_progress_and_never_used_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exit handler (issue 22: the page died with SIGSEGV at exit after an answer) waits
    for a call in progress, revokes every other ticket, and frees the sampler chain, then the
    model."""
    from fundstelle.qa.gate import Gate, TicketRevoked

    freed: list[str] = []
    calling = threading.Event()

    class Sampler:
        def close(self) -> None:
            freed.append("sampler")

    class Model(_FakeLlama):
        def close(self) -> None:
            freed.append("model")

    llm = Model()
    llm._sampler = Sampler()  # type: ignore[attr-defined]
    gate = Gate(1)
    monkeypatch.setattr(llamacpp, "LLAMA_GATE", gate)
    monkeypatch.setattr(llamacpp, "_LOADED", weakref.WeakSet([llm]))
    generating = gate.enter()

    def call() -> None:
        with generating.using():
            calling.set()
            time.sleep(0.3)
            freed.append("call ended")

    thread = threading.Thread(target=call)
    thread.start()
    calling.wait(5)
    waiting = gate.enter()
    llamacpp._close_loaded(timeout=5)
    thread.join(5)
    assert freed == ["call ended", "sampler", "model"]
    with pytest.raises(TicketRevoked):
        waiting.wait(0)
    with pytest.raises(TicketRevoked), generating.using():
        pass  # the open stream's next call: refused, not a call into a freed model
    assert not gate.enter().wait(0.05)  # and nobody gets the model any more
