"""A LangChain chat model over ``llama_cpp.Llama`` (in process, streaming, grammar-constrained JSON).

langchain-community's ``ChatLlamaCpp`` is being sunset; this adapter is small and ours.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ingest.errors import BackendError

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@lru_cache(maxsize=2)
def load_llama(model_path: str, n_ctx: int, n_threads: int | None) -> Any:
    """Load a GGUF model once per process."""
    try:
        from llama_cpp import Llama
    except ImportError as exc:  # pragma: no cover - part of the install
        raise BackendError(
            "llama-cpp-python is not installed; pip install llama-cpp-python"
        ) from exc
    # llama-cpp-python defaults to half the cores; on a 2-core laptop that halves the speed
    threads = n_threads or os.cpu_count() or 1
    try:
        llama = Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, OSError, RuntimeError) as exc:
        raise BackendError(f"cannot load the GGUF model {model_path}: {exc}") from exc
    # freed before interpreter teardown: Llama.__del__ at exit finds its C bindings gone and
    # prints a TypeError traceback after every command that loaded the model
    atexit.register(llama.close)
    return llama


class LlamaCppChat(BaseChatModel):
    """Chat completions from a local GGUF model through llama.cpp."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 256

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "messages": [
                {"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages
            ],
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "stop": stop or kwargs.get("stop"),
            "response_format": kwargs.get("response_format"),
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        llm = load_llama(self.model_path, self.n_ctx, self.n_threads)
        out = llm.create_chat_completion(**self._request(messages, stop, kwargs))
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llm = load_llama(self.model_path, self.n_ctx, self.n_threads)
        for part in llm.create_chat_completion(
            stream=True, **self._request(messages, stop, kwargs)
        ):
            delta = part["choices"][0]["delta"].get("content")
            if delta:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk
