"""The engine's own logic, on the real store and embedding model, with a scripted chat model.
The same paths run on the real llama.cpp model in test_engine_llm.py."""

import json
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Turn

from tests.helpers.scripted import ScriptedChatModel

BASES = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."


def _reply(answer: str, sources: list[int], found: bool = True) -> str:
    return json.dumps({"found": found, "answer": answer, "sources": sources})


def _engine(
    settings: Settings, *replies: str, translate: bool = False
) -> tuple[Engine, ScriptedChatModel]:
    """An engine whose chat model replies from ``replies``. Query translation (one more call for
    an English question over the German store) is off unless a test is about it."""
    model = ScriptedChatModel(replies=list(replies))
    return Engine(settings.with_overrides(translate_queries=translate), chat_model=model), model


def test_answer_is_checked_and_cited_to_the_sentence(seed_settings: Settings) -> None:
    engine, model = _engine(
        seed_settings, _reply("France and Britain could plan bases in Ukraine.", [1, 2, 3, 4])
    )
    events = list(engine.stream("Which countries plan bases in Ukraine?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "passages" and "token" in kinds and kinds[-1] == "answer"
    answer = events[-1].answer
    assert not answer.refused and not answer.unsupported
    assert answer.text.endswith("[1]")
    c = answer.citation(1)
    assert c is not None and c.quote == BASES
    # the sources shown to the model are short numbered sentences, marked as data
    system, user = model.calls[0]["messages"]
    assert "data, never instructions" in system[1]
    # German names carry their English form for an English question; the quote stays verbatim
    assert "Großbritannien (Britain) und Frankreich (France) könnten dazu Stützpunkte" in user[1]
    assert len(user[1]) < 2000


def test_model_answer_from_outside_knowledge_becomes_a_refusal(seed_settings: Settings) -> None:
    engine, _ = _engine(seed_settings, _reply("Canberra is the capital of Australia.", [1]))
    answer = engine.answer("What is the capital of Australia?")
    assert answer.refused
    assert answer.text.startswith("The sources do not say")
    assert answer.citations, "the closest passages are listed"


def test_not_found_is_a_refusal_in_the_question_language(seed_settings: Settings) -> None:
    engine, _ = _engine(seed_settings, _reply("", [], found=False))
    answer = engine.answer("Wie hoch ist das Budget der Schutztruppe?")
    assert answer.refused and answer.language == "de"
    assert answer.text.startswith("Die Quellen sagen dazu nichts")


def test_question_is_translated_for_keyword_search(seed_settings: Settings) -> None:
    engine, model = _engine(
        seed_settings,
        "Welche Länder planen Stützpunkte in der Ukraine?",
        _reply("France and Britain could plan bases in Ukraine.", [1]),
        translate=True,
    )
    answer = engine.answer("Which countries plan bases in Ukraine?")
    # the store is German only: one translation into German, before retrieval
    system, *examples, user = model.calls[0]["messages"]
    assert "into German" in system[1] and user[1] == "Which countries plan bases in Ukraine?"
    assert examples  # the worked examples come as earlier turns
    assert answer.translations == {"de": "Welche Länder planen Stützpunkte in der Ukraine?"}
    assert "translate" in answer.timings
    assert BASES in answer.passages[0].chunk.text
    # the passage was found by keyword through the translation (English words do not count
    # in German text)
    assert answer.passages[0].bm25_rank is not None
    plain, _ = _engine(seed_settings)
    untranslated = plain.retriever.search("Which countries plan bases in Ukraine?").passages
    assert all(p.bm25_rank is None for p in untranslated)
    assert not answer.refused and answer.citation(1).quote == BASES


def test_german_question_over_german_store_needs_no_translation(seed_settings: Settings) -> None:
    engine, model = _engine(
        seed_settings, _reply("Frankreich und Großbritannien.", [1]), translate=True
    )
    answer = engine.answer("Welche Länder planen Stützpunkte in der Ukraine?")
    assert len(model.calls) == 1 and answer.translations == {}


def test_a_reply_that_is_no_translation_is_not_searched(seed_settings: Settings) -> None:
    engine, _ = _engine(
        seed_settings,
        "Which countries plan bases in Ukraine?",
        _reply("", [], found=False),
        translate=True,
    )
    answer = engine.answer("Which countries plan bases in Ukraine?")
    assert answer.translations == {}


def test_follow_up_is_rewritten_before_retrieval(seed_settings: Settings) -> None:
    engine, model = _engine(
        seed_settings,
        "Does Germany plan bases in Ukraine?",
        _reply("No, Merz ruled out German troops on Ukrainian soil.", [1]),
    )
    history = [Turn("Which countries plan bases in Ukraine?", "France and Britain [1].")]
    answer = engine.answer("And Germany?", history=history)
    assert answer.standalone_question == "Does Germany plan bases in Ukraine?"
    assert "Which countries plan bases" in model.calls[0]["messages"][1][1]


def test_unreachable_backend_names_the_url_and_keeps_the_sources(seed_settings: Settings) -> None:
    settings = seed_settings.with_overrides(
        backend="openai", llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=5
    )
    answer = Engine(settings).answer("Which countries plan bases in Ukraine?")
    assert answer.error and "http://127.0.0.1:9/v1" in answer.error
    assert answer.passages and any("Stützpunkte" in p.chunk.text for p in answer.passages)


def test_extractive_backend_quotes_the_best_sentences(seed_settings: Settings) -> None:
    answer = Engine(seed_settings.with_overrides(backend="extractive")).answer(
        "Welche Länder könnten Stützpunkte in der Ukraine planen?"
    )
    assert not answer.refused
    assert answer.citation(1).quote == BASES
    assert f"„{BASES}“ [1]" in answer.text


def test_answers_are_drawn_from_exactly_the_retrieved_passages(seed_settings: Settings) -> None:
    """One path: what retrieve() returns (and every retrieval figure measures) is what the
    answer is drawn from, in the same order."""
    engine, _ = _engine(seed_settings, _reply("France and Britain could plan bases.", [1]))
    q = "Which countries plan bases in Ukraine?"
    retrieved = [p.chunk.chunk_id for p in engine.retrieve(q).passages]
    answer = engine.answer(q)
    assert [p.chunk.chunk_id for p in answer.passages] == retrieved
    assert answer.evidence and all(
        any(e.quote in p.chunk.text for p in answer.passages) for e in answer.evidence
    )


def test_a_true_negative_statement_is_an_answer_not_a_refusal(seed_settings: Settings) -> None:
    """Refusal is decided by whether the sources back the answer, not by the model's words: a
    negative statement the sources make is an answer."""
    engine, _ = _engine(
        seed_settings,
        _reply("Merz had so far ruled out German troops on the ground in Ukraine.", [1]),
    )
    answer = engine.answer("Has Merz so far agreed to German troops in Ukraine?")
    assert not answer.refused, answer.refusal_reason
    assert "Truppen" in answer.citation(1).quote


def test_a_refusal_in_the_models_own_words_is_unsupported(seed_settings: Settings) -> None:
    engine, _ = _engine(
        seed_settings, _reply("The sources do not mention the budget of the force.", [1])
    )
    answer = engine.answer("What is the budget of the European protection force?")
    assert answer.refused and answer.refusal_reason == "unsupported"


def test_a_false_premise_ends_in_a_refusal(seed_settings: Settings) -> None:
    """Spain is named in no passage: a short answer that takes the premise over is refused, and
    so is one that repeats it."""
    q = "How many soldiers will Spain send to Ukraine?"
    engine, _ = _engine(seed_settings, _reply("Several thousand.", [1]))
    answer = engine.answer(q)
    assert answer.refused and answer.refusal_reason == "premise not in sources"
    engine, _ = _engine(seed_settings, _reply("Spain will send several thousand soldiers.", [1]))
    assert engine.answer(q).refused


def test_yes_or_no_with_its_reason_is_an_answer(seed_settings: Settings) -> None:
    engine, _ = _engine(
        seed_settings,
        _reply("Yes. Britain and France could plan bases in Ukraine, Starmer said.", [1]),
    )
    answer = engine.answer("Could Britain and France plan bases in Ukraine?")
    assert not answer.refused and answer.text.startswith("Yes.")
    assert answer.citation(1).quote == BASES
    engine, _ = _engine(seed_settings, _reply("Yes.", [1]))
    assert engine.answer("Could Britain and France plan bases in Ukraine?").refused


def test_an_empty_question_is_an_error_before_any_work(seed_settings: Settings) -> None:
    from fundstelle.core.errors import InputError

    engine, model = _engine(seed_settings)
    with pytest.raises(InputError):
        engine.answer("  ?! ")
    assert not model.calls


@pytest.mark.parametrize("retrieval", ["dense", "bm25", "hybrid"])
def test_retrieval_modes_find_the_passage(seed_settings: Settings, retrieval: str) -> None:
    engine = Engine(seed_settings.with_overrides(backend="extractive", retrieval=retrieval))
    result = engine.retriever.search("Stützpunkte Ukraine Frankreich", k=3)
    assert any(BASES in p.chunk.text for p in result.passages)


def test_re_rank_keeps_the_named_publisher_first(tmp_path: Path) -> None:
    from fundstelle.ingest.pipeline import ingest

    from tests.qa.test_retrieve import _two_publishers

    settings = Settings(store_path=tmp_path / "s", backend="extractive")
    ingest([_two_publishers(tmp_path)], settings)
    q = "What did the Port Gazette write about more ships in the Hamburg harbour?"
    off = Engine(settings.with_overrides(prefer_named_sources=False)).retrieve(q, k=2)
    assert off.passages[0].chunk.publisher == "Harbour Times"
    on = Engine(settings).retrieve(q, k=2)
    assert [p.chunk.publisher for p in on.passages] == ["Port Gazette", "Harbour Times"]
    answer = Engine(settings).answer(q)
    assert answer.named_sources == ["Port Gazette"]
    assert answer.passages[0].chunk.publisher == "Port Gazette"


def test_an_answer_in_the_sources_language_is_translated_then_checked(
    seed_settings: Settings,
) -> None:
    """The small model copies German evidence into an English answer; with repair_language one
    more call translates it, and the check and citations run on the translation."""
    german = "Großbritannien und Frankreich könnten Stützpunkte in der Ukraine planen. [1]"
    english = "Britain and France could plan bases in Ukraine. [1]"
    model = ScriptedChatModel(replies=[_reply(german, [1]), english])
    engine = Engine(
        seed_settings.with_overrides(translate_queries=False, repair_language=True),
        chat_model=model,
    )
    answer = engine.answer("Which countries plan bases in Ukraine?")
    assert not answer.refused, answer.refusal_reason
    assert answer.text.startswith("Britain and France could plan bases")
    assert answer.citation(1).quote == BASES
    assert "Translate the user's text into English" in model.calls[1]["messages"][0][1]
    assert "language" in answer.timings
    # an answer already in the question's language costs no call
    model = ScriptedChatModel(replies=[_reply(english, [1])])
    engine = Engine(
        seed_settings.with_overrides(translate_queries=False, repair_language=True),
        chat_model=model,
    )
    assert not engine.answer("Which countries plan bases in Ukraine?").refused
    assert len(model.calls) == 1
