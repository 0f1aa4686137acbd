"""Fundstelle inside LangChain: the retriever as a ``BaseRetriever`` and the answer pipeline as a
``Runnable``.

The ``fundstelle`` command (``ask``, ``batch``) and the chat page go through :class:`AnswerChain`
too, so there is one pipeline. Both wrap an :class:`~qa.engine.Engine` and change nothing in it::

    from fundstelle.qa.chain import AnswerChain, FundstelleRetriever

    retriever = FundstelleRetriever.from_settings(settings)
    docs = retriever.invoke("Which countries plan bases in Ukraine?")   # Documents
    chain = AnswerChain.from_settings(settings)
    answer = chain.invoke("Which countries plan bases in Ukraine?")     # an Answer
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypedDict

from fundstelle.core.settings import Settings
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import ensure_config, get_callback_manager_for_config
from pydantic import ConfigDict

from .engine import Engine, Event
from .question import check_question
from .types import Answer, Filters, Passage, Sources, Turn, Waiting


class QuestionInput(TypedDict, total=False):
    """The dict form of the chain's input; a plain string is the question alone."""

    question: str
    history: Sequence[Turn]
    filters: Filters | None
    k: int | None


ChainInput = str | QuestionInput


def passage_document(passage: Passage) -> Document:
    """A retrieved passage as a LangChain ``Document``: the chunk's text, and in ``metadata``
    where it comes from (chunk and document id, source file, title, date, publisher, url,
    language, page), its character offsets in the document and its score."""
    meta = passage.to_dict()
    text = meta.pop("text")
    meta["named_matches"] = passage.named_matches
    return Document(page_content=text, metadata=meta, id=passage.chunk.chunk_id)


class FundstelleRetriever(BaseRetriever):
    """Fundstelle's retrieval (hybrid search, then the re-rank by best sentence) as a LangChain
    retriever. ``k`` and ``filters`` default to the engine's settings and no filter."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Engine
    k: int | None = None
    filters: Filters | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> FundstelleRetriever:
        return cls(engine=Engine(settings), **kwargs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        retrieval = self.engine.retrieve(query, k=self.k, filters=self.filters)
        return [passage_document(p) for p in retrieval.passages]


def _unpack(value: ChainInput) -> tuple[str, Sequence[Turn], Filters | None, int | None]:
    if isinstance(value, str):
        return value, (), None, None
    return (
        value.get("question", ""),
        value.get("history") or (),
        value.get("filters"),
        value.get("k"),
    )


class AnswerChain(RunnableSerializable[ChainInput, Answer]):
    """Question in, checked :class:`~qa.types.Answer` out: retrieve, pick evidence, read, compose,
    verify, decide. Input: the question as a string, or a dict with ``question`` and optionally
    ``history`` (earlier :class:`~qa.types.Turn`s), ``filters`` and ``k``.

    ``invoke`` and ``batch`` return ``Answer`` objects; ``stream`` yields, in order, the
    evidence as :class:`~qa.types.Sources` (before any model call; where the question is first
    translated, an ``early`` one for the question as asked, then the one the answer is drawn
    from), :class:`~qa.types.Waiting`
    while other questions hold the generator, the answer's text as it comes (``str`` deltas),
    and then the final ``Answer``; LangChain callbacks see the whole run. :meth:`events` yields
    the engine's events.

    An empty or overlong question raises :class:`~core.errors.InputError` before any work;
    ``batch(..., return_exceptions=True)`` turns that into that item's result.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Engine

    @classmethod
    def from_settings(
        cls, settings: Settings, *, chat_model: BaseChatModel | None = None
    ) -> AnswerChain:
        """A chain on the store and generator of ``settings``; ``chat_model`` replaces the
        configured generator."""
        return cls(engine=Engine(settings, chat_model=chat_model))

    @property
    def retriever(self) -> FundstelleRetriever:
        """The same engine's retrieval as a LangChain retriever."""
        return FundstelleRetriever(engine=self.engine)

    def events(self, value: ChainInput) -> Iterator[Event]:
        """The engine's events for one question; closing the iterator stops the generation and
        frees the model (the chat page does so when a reader stops or leaves)."""
        question, history, filters, k = _unpack(value)
        question = check_question(question, self.engine.settings)
        return self.engine.stream(question, history, filters, k)

    def _answer(self, value: ChainInput) -> Answer:
        final: Answer | None = None
        for event in self.events(value):
            if event.kind == "answer":
                final = event.answer
        assert final is not None
        return final

    def invoke(
        self, input: ChainInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        return self._call_with_config(self._answer, input, config)

    def stream(
        self, input: ChainInput, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> Iterator[str | Sources | Waiting | Answer]:  # type: ignore[override]
        # LangChain's default stream would yield the whole Answer once; a reader wants the
        # sources at once and the text as it comes. Closing this iterator (a page whose reader
        # stopped or left) closes the engine's stream, which frees the generator.
        config = ensure_config(config)
        run_manager = get_callback_manager_for_config(config).on_chain_start(
            None, input, name=config.get("run_name") or self.get_name()
        )
        events = None
        final: Answer | None = None
        try:
            events = self.events(input)
            for event in events:
                if event.kind == "evidence":
                    yield Sources(list(event.evidence or []), early=event.early)
                elif event.kind == "waiting":
                    yield Waiting(event.ahead)
                elif event.kind == "token" and event.text:
                    yield event.text
                elif event.kind == "answer":
                    final = event.answer
        except BaseException as exc:
            run_manager.on_chain_error(exc)
            raise
        finally:
            if events is not None:
                events.close()
        assert final is not None
        run_manager.on_chain_end(final)
        yield final
