"""Answer generators, chosen by name in the settings. Each is a LangChain chat model."""

from __future__ import annotations

from typing import Any

from fundstelle.core.errors import BackendError
from fundstelle.core.settings import Settings
from langchain.chat_models import init_chat_model
from langchain_core.language_models import BaseChatModel

from .model_files import packaged_gguf


def backend_label(settings: Settings) -> str:
    """A short description of the generator in use, for reports and the UI."""
    if settings.backend == "extractive":
        return "extractive (no LLM)"
    if settings.backend == "llamacpp":
        return f"llamacpp: {settings.llm_model or 'Qwen2.5-Coder-1.5B-Instruct Q4_K_M (packaged)'}"
    return f"{settings.backend}: {settings.llm_model or '?'} at {settings.llm_base_url or 'default URL'}"


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model for ``settings.backend``; ``None`` for the extractive backend. Served
    models come from LangChain's ``init_chat_model`` (``langchain-openai``, ``langchain-ollama``
    underneath)."""
    backend = settings.backend
    if backend == "extractive":
        return None
    if backend == "llamacpp":
        from .llamacpp import LlamaCppChat

        path = settings.llm_model or str(packaged_gguf(settings.model_cache))
        return LlamaCppChat(
            model_path=path,
            n_ctx=settings.llm_context,
            n_threads=settings.llm_threads,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
        )
    if backend == "openai":
        if not settings.llm_base_url and not settings.llm_api_key:
            raise BackendError(
                "the openai backend needs FUNDSTELLE_LLM_BASE_URL (an OpenAI-compatible server) "
                "or FUNDSTELLE_LLM_API_KEY (for api.openai.com)"
            )
        kwargs: dict[str, Any] = {
            "model": settings.llm_model or "default",
            "api_key": settings.llm_api_key or "not-needed",
            "temperature": settings.llm_temperature,
            "max_tokens": settings.llm_max_tokens,
            "timeout": settings.llm_timeout_s,
            "max_retries": 0,
        }
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
        return init_chat_model(model_provider="openai", **kwargs)
    if backend == "ollama":
        if not settings.llm_model:
            raise BackendError(
                "the ollama backend needs a model: FUNDSTELLE_LLM_MODEL=llama3.2 (say)"
            )
        return init_chat_model(
            model=settings.llm_model,
            model_provider="ollama",
            base_url=settings.llm_base_url or "http://127.0.0.1:11434",
            temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens,
            client_kwargs={"timeout": settings.llm_timeout_s},
        )
    raise BackendError(f"unknown backend {backend!r}; use llamacpp, openai, ollama or extractive")
