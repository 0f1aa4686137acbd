"""Likelihood: the best sentences ordered by log P(question | sentence) beside the ranking."""

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.types import Chunk
from fundstelle.qa import likelihood
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Evidence, Passage
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from tests.helpers.scripted import ScriptedChatModel


def _ev(n: int, text: str, score: float, lang: str = "de") -> Evidence:
    chunk = Chunk(f"d{n}", 0, text, 0, len(text), f"s{n}.txt", "Brücken", lang=lang)
    return Evidence(n, text, 0, len(text), score, Passage(chunk, 1.0))


def test_a_sentence_the_question_fits_moves_ahead_of_one_ranked_slightly_better() -> None:
    first = _ev(1, "Die Brücke ist 300 Meter lang.", 0.90)
    second = _ev(2, "Die Brücke wurde 1999 eröffnet.", 0.88)
    third = _ev(3, "Brücken verbinden Ufer.", 0.70)
    # "When was the bridge opened?" is far likelier after the second sentence
    ordered = likelihood.order([first, second, third], [-40.0, -25.0], 0.02)
    assert [ev.n for ev in ordered] == [2, 1, 3]
    # a small difference in likelihood does not outweigh a clear lead in the ranking
    far = _ev(2, "Die Brücke wurde 1999 eröffnet.", 0.50)
    assert [ev.n for ev in likelihood.order([first, far], [-40.0, -25.0], 0.02)] == [1, 2]
    # only the sentences with a likelihood are ordered: the third keeps its place
    assert likelihood.order([first, second, third], [-40.0, -25.0], 0.02)[2] is third


def test_without_a_likelihood_or_weight_the_ranking_order_stays() -> None:
    a, b = _ev(1, "A.", 0.9), _ev(2, "B.", 0.8)
    assert likelihood.order([a, b], [-50.0, None], 0.02) == [a, b]
    assert likelihood.order([a, b], [-50.0, -10.0], 0.0) == [a, b]
    assert likelihood.order([a, b], [], 0.02) == [a, b]


def test_by_default_it_applies_only_across_languages() -> None:
    german = [_ev(1, "Die Brücke.", 0.9), _ev(2, "Der Fluss.", 0.8)]
    assert likelihood.applies(german, "en", "cross-lingual")
    assert not likelihood.applies(german, "de", "cross-lingual")
    assert likelihood.applies(german, "de", "always")
    mixed = [german[0], _ev(3, "The river.", 0.7, lang="en")]
    assert likelihood.applies(mixed, "de", "cross-lingual")


def test_the_question_follows_the_sentence_in_the_prompt() -> None:
    msgs = likelihood.messages(_ev(1, "Die Brücke wurde 1999 eröffnet.", 0.9))
    assert msgs[-1].content.startswith("Passage: Die Brücke wurde 1999 eröffnet.")
    assert "question" in msgs[-1].content


def test_a_backend_without_token_probabilities_gives_no_likelihood() -> None:
    model = FakeListChatModel(responses=["x"])
    ev = _ev(1, "Die Brücke.", 0.9)
    assert likelihood.question_logprob(model, "custom", "When?", ev) is None
    assert likelihood.question_logprob(model, "llamacpp", "When?", ev) is None  # no method


def test_the_engine_judges_and_reads_in_the_likelihood_order(
    seed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An English question over the German store: the sentence the likelihood puts first is
    the one the reader reads, not the ranking's first (the judge is off here; it takes the
    same list)."""
    q = "Which countries plan bases in Ukraine?"
    settings = seed_settings.with_overrides(
        translate_queries=False,
        reader_sentences=1,
        reader_tries=1,
        judge_threshold=None,
        likelihood_sentences=2,
    )
    probe = Engine(settings.with_overrides(backend="extractive"))
    evidence = probe.evidence(q, probe.retrieve(q).passages)
    second = evidence[1]
    scored: list[str] = []

    def logprob(model, kind, question, ev):  # type: ignore[no-untyped-def]
        scored.append(ev.text)
        return -10.0 if ev.n == second.n else -200.0

    monkeypatch.setattr(likelihood, "question_logprob", logprob)
    word = second.text.split()[0]
    model = ScriptedChatModel(replies=[f'{{"sentence": {second.n}, "answer": "{word}"}}', "1. x"])
    engine = Engine(settings, chat_model=model)
    answer = engine.answer(q)
    assert scored == [evidence[0].text, evidence[1].text]  # the best two, once each
    assert f"[{second.n}] " in model.calls[0]["messages"][1][1]
    assert f"[{evidence[0].n}] " not in model.calls[0]["messages"][1][1]
    assert "likelihood" in answer.timings
    # the same question in the store's language keeps the ranking's order (scope cross-lingual)
    scored.clear()
    Engine(settings, chat_model=ScriptedChatModel(replies=["{}"] * 3)).answer(
        "Welche Länder planen Stützpunkte in der Ukraine?"
    )
    assert scored == []
    # and with likelihood_sentences 0 (the default) nothing is scored at all
    off = settings.with_overrides(likelihood_sentences=Settings().likelihood_sentences)
    assert off.likelihood_sentences == 0
    Engine(off, chat_model=ScriptedChatModel(replies=["{}"] * 3)).answer(q)
    assert scored == []
