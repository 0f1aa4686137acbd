"""A scripted chat model for unit tests of our own logic (like Haystack's MockChatGenerator):
it replies from a queue, streams word by word, and records every call it received.

Never used outside tests; every feature also has a test on a real model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    replies: list[str] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    error: Exception | None = None  # raised on every call when set
    # response metadata of a reply, by its text (e.g. token log-probabilities)
    metadata: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        self.calls.append(
            {"messages": [(m.type, str(m.content)) for m in messages], "kwargs": kwargs}
        )
        if self.error is not None:
            raise self.error
        if not self.replies:
            raise AssertionError("ScriptedChatModel ran out of replies")
        return self.replies.pop(0)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._next(messages, kwargs)
        message = AIMessage(content=text, response_metadata=self.metadata.get(text, {}))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self._next(messages, kwargs)
        for i, word in enumerate(text.split(" ")):
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=word if i == 0 else " " + word)
            )
