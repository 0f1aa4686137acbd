"""Fundstelle inside LangChain: the retriever and the answer chain on the real store and embedding
model, with the extractive backend or a scripted chat model."""

import json

import pytest
from fundstelle.core.errors import InputError
from fundstelle.core.settings import Settings
from fundstelle.qa.chain import AnswerChain, FundstelleRetriever
from fundstelle.qa.types import Answer, Filters, Sources
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from tests.helpers.scripted import ScriptedChatModel

BASES = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."
QUESTION = "Which countries plan bases in Ukraine?"
# the extractive backend quotes the best sentences as they are: asked in the sources' language
QUESTION_DE = "Welche Länder könnten Stützpunkte in der Ukraine planen?"


@pytest.fixture
def extractive(seed_settings: Settings) -> Settings:
    return seed_settings.with_overrides(backend="extractive")


def test_retriever_returns_documents_with_provenance_and_offsets(extractive: Settings) -> None:
    retriever = FundstelleRetriever.from_settings(extractive, k=3)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    # the re-ranked pool, as Engine.retrieve gives it: the answer sentence is in the top 3
    top = next(d for d in docs if BASES in d.page_content)
    meta = top.metadata
    assert meta["chunk_id"] == top.id and meta["doc_id"]
    assert meta["source"].endswith(".txt") and meta["date"] == "2026-01-07"
    assert "Koalition der Willigen" in meta["title"] and meta["lang"] == "de"
    assert {"publisher", "url", "page"} <= set(meta)
    assert isinstance(meta["score"], float)
    # the offsets index the stored document text: the page_content is exactly that span
    store_text = retriever.engine.retriever.store.document_text(meta["doc_id"])
    assert store_text[meta["start"] : meta["end"]] == top.page_content
    # filters apply: no English sources in the shipped corpus
    assert (
        FundstelleRetriever(engine=retriever.engine, filters=Filters(languages=("en",))).invoke(
            QUESTION
        )
        == []
    )


def test_chain_invoke_and_batch_return_checked_answers(extractive: Settings) -> None:
    chain = AnswerChain.from_settings(extractive)
    answer = chain.invoke(QUESTION_DE)
    assert isinstance(answer, Answer) and not answer.refused
    assert answer.citations[0].quote == BASES
    again = chain.invoke({"question": QUESTION_DE, "k": 2})
    assert len(again.passages) == 2
    answers = chain.batch([QUESTION_DE, "Wer vertrat die USA?"])
    assert [type(a) for a in answers] == [Answer, Answer]
    assert answers[0].text == answer.text
    # an empty question is an error before any work; in a batch, that item's result
    with pytest.raises(InputError, match="empty"):
        chain.invoke("   ")
    mixed = chain.batch(["?", QUESTION], return_exceptions=True)
    assert isinstance(mixed[0], InputError) and isinstance(mixed[1], Answer)


def test_chain_streams_sources_then_text_then_the_answer(seed_settings: Settings) -> None:
    engine = AnswerChain.from_settings(seed_settings.with_overrides(backend="extractive")).engine
    n = next(
        ev.n
        for ev in engine.evidence(QUESTION_DE, engine.retrieve(QUESTION_DE).passages)
        if ev.text == BASES
    )
    reply = json.dumps({"sentence": n, "answer": "Großbritannien und Frankreich"})
    model = ScriptedChatModel(replies=[reply])
    chain = AnswerChain.from_settings(seed_settings, chat_model=model)
    first, *deltas, final = list(chain.stream(QUESTION_DE))
    assert isinstance(first, Sources) and any(c.quote == BASES for c in first.citations)
    assert isinstance(final, Answer) and final.kind == "answer"
    assert deltas and all(isinstance(d, str) for d in deltas)
    # the words as the reader copies them, then their citation: the streamed text is the answer
    assert deltas[0].startswith("Groß") and "".join(deltas) == final.text
    assert final.text == "Großbritannien und Frankreich [1]"
    assert final.citations[0].quote == BASES


def test_chain_composes_with_langchain_runnables(extractive: Settings) -> None:
    """A LangChain application: the retriever's documents and the chain's answer in one pipe."""
    chain = AnswerChain.from_settings(extractive)
    app = RunnableLambda(lambda q: {"question": q}) | chain | RunnableLambda(lambda a: a.text)
    assert "Stützpunkte" in app.invoke(QUESTION_DE)
    docs = chain.retriever.invoke(QUESTION)
    assert docs[0].page_content and docs[0].metadata["end"] > docs[0].metadata["start"]


def test_chain_streams_the_early_sources_of_a_translated_question(seed_settings: Settings) -> None:
    model = ScriptedChatModel(
        replies=["Welche Länder planen Stützpunkte in der Ukraine?", '{"sentence": 0}']
    )
    settings = seed_settings.with_overrides(translate_queries=True)
    chain = AnswerChain.from_settings(settings, chat_model=model)
    parts = list(chain.stream(QUESTION))
    sources = [p for p in parts if isinstance(p, Sources)]
    # the question as asked first (before any model call), then with its translation
    assert [s.early for s in sources] == [True, False]
    assert all(s.citations for s in sources)
    assert isinstance(parts[-1], Answer) and parts[-1].translations
