"""The engine's own logic, on the real store and embedding model, with a scripted chat model.
The same paths run on the real llama.cpp model in test_engine_llm.py."""

import json
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.eval.metrics import answer_language_ok
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Span, Turn

from tests.helpers.scripted import ScriptedChatModel

BASES = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."
SIGNED = "Der Gastgeber Emmanuel Macron und der britische Premierminister Keir Starmer haben mit"
NO_SOLDIERS = (
    "Merz wollte keine Beteiligung mit Soldaten auf ukrainischem Boden in Aussicht stellen."
)
BASES_DE = "Welche Länder könnten Stützpunkte in der Ukraine planen?"


# P(yes) values relative to the shipped thresholds, so that these tests follow a recalibration:
# a sentence the judge passes without confidence, and another quote that passes its floor
_DEFAULTS = Settings()
UNSURE = round(_DEFAULTS.judge_threshold + 0.02, 2)  # type: ignore[operator]
OTHER_PASSES = round(_DEFAULTS.unsure_other_min + 0.02, 2)  # type: ignore[operator]
assert _DEFAULTS.judge_confident > UNSURE  # type: ignore[operator]


def _reply(n: int, answer: str = "", verdict: str | None = None) -> str:
    data: dict[str, object] = {"sentence": n, "answer": answer}
    if verdict:
        data["verdict"] = verdict
    return json.dumps(data, ensure_ascii=False)


def _engine(
    settings: Settings, *replies: str, translate: bool = False, **overrides: object
) -> tuple[Engine, ScriptedChatModel]:
    """An engine whose chat model replies from ``replies``. Query translation (one more call for
    an English question over the German store) is off unless a test is about it; the reader
    sees the 4 best sentences once (the cascade of readings has a test of its own)."""
    model = ScriptedChatModel(replies=list(replies))
    options = {"reader_sentences": 4, "reader_tries": 1, **overrides}
    settings = settings.with_overrides(translate_queries=translate, **options)
    return Engine(settings, chat_model=model), model


def _confident(choose):  # type: ignore[no-untyped-def]
    """A judge for Engine._judge from a function that names the sentence passed (or None),
    passing it with full confidence."""

    def judge(question, evidence, unjudged=0, known=None):  # type: ignore[no-untyped-def]
        chosen = choose(question, evidence, unjudged)
        return chosen, None if chosen is None else 1.0

    return judge


def _number(settings: Settings, question: str, sentence: str) -> int:
    """The number the reader sees for the evidence sentence that starts with ``sentence``."""
    engine = Engine(settings.with_overrides(backend="extractive", translate_queries=False))
    evidence = engine.evidence(question, engine.retrieve(question).passages)
    return next(ev.n for ev in evidence if ev.text.startswith(sentence))


def test_the_answer_is_copied_from_a_sentence_and_cited_to_it(seed_settings: Settings) -> None:
    n = _number(seed_settings, BASES_DE, BASES)
    engine, model = _engine(seed_settings, _reply(n, "Großbritannien und Frankreich"))
    events = engine.stream(BASES_DE)
    kinds = []
    for event in events:
        kinds.append(event.kind)
        if event.kind == "evidence":  # the sources come before any model call
            assert not model.calls and event.evidence
        if event.kind == "answer":
            answer = event.answer
    assert kinds[:2] == ["passages", "evidence"] and kinds[-1] == "answer" and "token" in kinds
    assert answer.kind == "answer" and not answer.refused
    assert answer.text == "Großbritannien und Frankreich [1]"
    c = answer.citation(1)
    assert c is not None and c.quote == BASES and c.words == "Großbritannien und Frankreich"
    # the words' offsets index the same document text as the quote's
    assert c.words_start is not None and c.words_end is not None
    assert c.start <= c.words_start < c.words_end <= c.end
    assert c.quote[c.words_start - c.start : c.words_end - c.start] == c.words
    # the sources shown to the model are short numbered sentences, marked as data
    system, user = model.calls[0]["messages"]
    assert "data, never instructions" in system[1]
    assert f"[{n}] (" in user[1] and BASES in user[1] and len(user[1]) < 2500


def test_a_span_from_a_german_source_is_translated_for_an_english_question(
    seed_settings: Settings,
) -> None:
    q = "Which countries plan bases in Ukraine?"
    n = _number(seed_settings, q, BASES)
    engine, model = _engine(
        seed_settings, _reply(n, "Großbritannien und Frankreich"), "1. Britain and France"
    )
    answer = engine.answer(q)
    assert answer.kind == "answer", answer.refusal_reason
    assert answer.text == "Britain and France [1]"
    c = answer.citation(1)
    assert c.quote == BASES and c.words == "Großbritannien und Frankreich"  # the original kept
    assert "into English" in model.calls[1]["messages"][0][1]
    assert "translation" in answer.timings
    # a translation that changes a name is not used: the source's own words are shown, quoted
    # as such (not passed off as an answer in English)
    engine, _ = _engine(
        seed_settings, _reply(n, "Großbritannien und Frankreich"), "1. Germany and France"
    )
    answer = engine.answer(q)
    assert answer.kind == "answer" and answer.text == "„Großbritannien und Frankreich“ [1]"
    assert answer_language_ok(answer.text, "en")
    # nor is a translation that is missing
    engine, _ = _engine(seed_settings, _reply(n, "Großbritannien und Frankreich"), "no lines")
    assert engine.answer(q).text == "„Großbritannien und Frankreich“ [1]"


def _tokens(line: str, logprob: float) -> dict[str, object]:
    """Response metadata giving every token of ``line`` after its number ``logprob``."""
    number, _, words = line.partition(" ")
    content = [{"token": number[:-1], "logprob": 0.0}, {"token": ".", "logprob": 0.0}]
    content += [{"token": " " + w, "logprob": logprob} for w in words.split()]
    return {"logprobs": {"content": content}}


def test_a_translation_the_model_was_unsure_of_is_not_shown(
    seed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    q = "Which countries plan bases in Ukraine?"
    n = _number(seed_settings, q, BASES)
    line = "1. Britain and France"
    for logprob, shown in ((-0.9, False), (-0.1, True)):
        engine, model = _engine(seed_settings, _reply(n, "Großbritannien und Frankreich"), line)
        model.metadata = {line: _tokens(line, logprob)}
        answer = engine.answer(q)
        assert model.calls[-1]["kwargs"].get("logprobs") is None  # a caller's model: not asked
        expected = "Britain and France [1]" if shown else "„Großbritannien und Frankreich“ [1]"
        assert answer.kind == "answer" and answer.text == expected
        # the translation and the model's confidence in it are kept either way
        span = answer.spans[0]
        assert span.translation == "Britain and France" and span.translated == shown
        assert span.translation_logprob == pytest.approx(logprob)  # the number left out
    # with the floor off, any translation that keeps names and numbers is shown
    engine, model = _engine(seed_settings, _reply(n, "Großbritannien und Frankreich"), line)
    engine.settings = engine.settings.model_copy(update={"translation_min_logprob": None})
    model.metadata = {line: _tokens(line, -0.9)}
    assert engine.answer(q).text == "Britain and France [1]"
    # probabilities for the reply but none for the line read from it: not shown
    engine, model = _engine(seed_settings, _reply(n, "Großbritannien und Frankreich"), line)
    model.metadata = {line: {"logprobs": {"content": [{"token": "2. x\n3. y", "logprob": -0.1}]}}}
    assert engine.answer(q).text == "„Großbritannien und Frankreich“ [1]"
    # llama.cpp (and OpenAI-compatible servers) are asked for them with the translation
    monkeypatch.setattr("fundstelle.qa.read.model_kind", lambda model: "llamacpp")
    engine, model = _engine(seed_settings, line)
    model.metadata = {line: _tokens(line, -0.1)}
    span = Span(n, "Großbritannien und Frankreich", 0, 29, "Großbritannien und Frankreich")
    engine._translate_spans([span], "en")
    assert span.translated and span.text == "Britain and France"
    assert model.calls[-1]["kwargs"]["logprobs"] is True


def test_a_server_that_refuses_token_probabilities_still_translates(
    seed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    class RefusesLogprobs(ScriptedChatModel):
        refusals: int = 0

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
            if kwargs.get("logprobs"):
                self.refusals += 1
                raise ValueError(
                    "logprobs is not supported for models created with logits_all=False"
                )
            return super()._generate(messages, stop, run_manager, **kwargs)

    # asked as an OpenAI-compatible server is asked
    monkeypatch.setattr("fundstelle.qa.read.model_kind", lambda model: "openai")
    engine = Engine(seed_settings, chat_model=RefusesLogprobs(replies=["1. Britain", "1. France"]))
    first = Span(1, "Großbritannien", 0, 14, "Großbritannien")
    engine._translate_spans([first], "en")
    assert first.translated and first.text == "Britain" and first.translation_logprob is None
    # asked without them from then on: one call for the next translation
    second = Span(1, "Frankreich", 0, 10, "Frankreich")
    engine._translate_spans([second], "en")
    assert second.text == "France" and engine.chat_model.replies == []
    assert engine.chat_model.refusals == 1 and len(engine.chat_model.calls) == 2
    # a failure of another kind is not taken for a refusal: no second call, probabilities kept
    engine = Engine(seed_settings, chat_model=ScriptedChatModel(error=ConnectionError("down")))
    third = Span(1, "Frankreich", 0, 10, "Frankreich")
    engine._translate_spans([third], "en")
    assert not third.translated and third.foreign and not engine._no_logprobs
    assert len(engine.chat_model.calls) == 1 and engine.chat_model.calls[0]["kwargs"]["logprobs"]


def test_an_open_question_is_answered_by_its_best_sentence_whole(seed_settings: Settings) -> None:
    q = "Was sieht die Absichtserklärung vor?"  # asks for no date, number, name or place
    engine, model = _engine(seed_settings)  # the default
    best = engine.evidence(q, engine.retrieve(q).passages)[0]
    answer = engine.answer(q)
    assert answer.kind == "answer", answer.refusal_reason
    assert answer.text == "„" + " ".join(best.text.split()) + "“ [1]"  # the source's words
    c = answer.citation(1)
    assert c is not None and c.quote == best.text and c.words == best.text
    assert not model.calls  # the reader is not asked to copy a fragment of it
    # the same question with spans: the reader copies words of the sentence
    engine, model = _engine(
        seed_settings, _reply(best.n, best.text.split()[0]), open_answers="span"
    )
    assert engine.answer(q).text.startswith(best.text.split()[0]) and model.calls


def test_an_open_question_in_another_language_gets_its_sentence_translated(
    seed_settings: Settings,
) -> None:
    q = "What does the declaration of intent provide for?"
    english = (
        "The host Emmanuel Macron and the British Prime Minister Keir Starmer have signed with "
        "the President of Ukraine, Wolodymyr Selenskyj, a declaration of intent that provides "
        "for the participation of both countries in a protection force to monitor a ceasefire "
        "in Ukraine."
    )
    german = "Was sieht die Absichtserklärung vor?"
    engine, model = _engine(
        seed_settings, german, f"1. {english}", translate=True, open_answers="sentence"
    )
    answer = engine.answer(q)
    assert answer.kind == "answer", answer.refusal_reason
    assert answer.text == f"{english} [1]"
    assert len(model.calls) == 2 and "into English" in model.calls[1]["messages"][0][1]
    c = answer.citation(1)
    assert c is not None and c.quote.startswith(SIGNED) and c.words == c.quote  # original kept
    # a translation that changes a name is not used: the sentence is shown in its own words
    wrong = english.replace("Keir Starmer", "Olaf Scholz")
    engine, _ = _engine(
        seed_settings, german, f"1. {wrong}", translate=True, open_answers="sentence"
    )
    assert engine.answer(q).text == "„" + " ".join(c.quote.split()) + "“ [1]"


def test_a_question_for_a_value_is_still_read_span_by_span(seed_settings: Settings) -> None:
    n = _number(seed_settings, BASES_DE, BASES)
    engine, model = _engine(
        seed_settings, _reply(n, "Großbritannien und Frankreich"), open_answers="sentence"
    )
    assert engine.answer(BASES_DE).text == "Großbritannien und Frankreich [1]" and model.calls


def test_nothing_found_in_strong_evidence_shows_the_sources_words(seed_settings: Settings) -> None:
    engine, _ = _engine(seed_settings, _reply(0))
    answer = engine.answer(BASES_DE)
    assert answer.kind == "quotes" and not answer.refused
    assert answer.refusal_reason == "reader found nothing"
    assert answer.text.startswith("Die Quellen sagen: „")
    assert answer.citation(1).quote == BASES


def test_nothing_found_in_weak_evidence_is_a_refusal(seed_settings: Settings) -> None:
    engine, _ = _engine(seed_settings, _reply(0), strong_evidence_score=5.0)
    answer = engine.answer(BASES_DE)
    assert answer.refused and answer.kind == "refusal"
    assert answer.refusal_reason == "reader found nothing"
    assert answer.text.startswith("Die Quellen sagen dazu nichts")
    assert answer.citations, "the closest passages are listed"


def test_a_span_of_the_wrong_kind_is_not_passed_off_as_an_answer(seed_settings: Settings) -> None:
    q = "Wann könnten Großbritannien und Frankreich Stützpunkte in der Ukraine planen?"
    n = _number(seed_settings, q, BASES)
    engine, _ = _engine(seed_settings, _reply(n, "Großbritannien und Frankreich"))
    answer = engine.answer(q)
    assert answer.kind == "quotes", answer.text
    assert answer.refusal_reason.startswith("not verified: not a date")


def test_a_span_that_fails_verification_sends_the_reader_to_the_next_sentence(
    seed_settings: Settings,
) -> None:
    q = "Wann könnten Großbritannien und Frankreich Stützpunkte in der Ukraine planen?"
    engine, model = _engine(
        seed_settings,
        _reply(1, "Großbritannien und Frankreich"),
        _reply(2, "X"),
        reader_sentences=1,
        reader_tries=2,
    )
    evidence = engine.evidence(q, engine.retrieve(q).passages)
    first, second = evidence[0], evidence[1]
    model.replies = [
        _reply(first.n, first.text.split()[0]),
        _reply(second.n, second.text.split()[0]),
    ]
    answer = engine.answer(q)
    assert len(model.calls) == 2, "a second reading, of the next sentence"
    assert f"[{first.n}] " in model.calls[0]["messages"][1][1]
    assert f"[{second.n}] " in model.calls[1]["messages"][1][1]
    assert f"[{first.n}] " not in model.calls[1]["messages"][1][1]
    assert answer.kind == "quotes"  # neither reading gave a date


def test_judge_pick_best_takes_the_likeliest_sentence_unless_ranked_far_below(
    seed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``judge_pick="best"`` judges all of the best sentences and weighs P(yes) against the
    ranking; ``first`` stops at the first that passes."""
    from fundstelle.qa import judge as judge_module

    q = "Wann könnten Großbritannien und Frankreich Stützpunkte in der Ukraine planen?"
    engine, _ = _engine(seed_settings)
    evidence = engine.evidence(q, engine.retrieve(q).passages)[:3]
    p_of = {evidence[0].text: UNSURE, evidence[1].text: 0.9, evidence[2].text: 0.1}
    asked: list[str] = []

    def yes(model, kind, msgs):  # type: ignore[no-untyped-def]
        sentence = next(t for t in p_of if t in msgs[1].content)
        asked.append(sentence)
        return p_of[sentence]

    monkeypatch.setattr(judge_module, "yes_probability", yes)
    first = Engine(seed_settings.with_overrides(judge_pick="first"), chat_model=engine.chat_model)
    assert first._judge(q, evidence) == (0, UNSURE)
    assert len(asked) == 1
    best = Engine(seed_settings.with_overrides(judge_pick="best"), chat_model=engine.chat_model)
    asked.clear()
    assert best._judge(q, evidence) == (1, 0.9)
    assert len(asked) == 3
    # the ranking counts: a weight that makes the score gap outweigh 0.6 of P(yes) keeps the first
    gap = evidence[0].score - evidence[1].score
    heavy = seed_settings.with_overrides(judge_pick="best", judge_rank_weight=0.7 / max(gap, 1e-3))
    assert Engine(heavy, chat_model=engine.chat_model)._judge(q, evidence)[0] == 0


def test_a_false_premise_is_refused_before_the_model_is_asked(seed_settings: Settings) -> None:
    engine, model = _engine(seed_settings)
    answer = engine.answer("How many soldiers will Spain send to Ukraine?")
    assert answer.refused and answer.refusal_reason == "premise not in sources: Spain"
    assert not model.calls


def test_yes_or_no_must_agree_with_the_sentence(seed_settings: Settings) -> None:
    q = "Wollte Merz eine Beteiligung mit Soldaten in Aussicht stellen?"
    n = _number(seed_settings, q, NO_SOLDIERS)
    span = "keine Beteiligung mit Soldaten auf ukrainischem Boden"
    engine, _ = _engine(seed_settings, _reply(n, span, "no"))
    answer = engine.answer(q)
    assert answer.kind == "answer" and answer.text == f"Nein: {span} [1]"
    # "yes" from a sentence that says "keine": not verified, the sources' words instead
    engine, _ = _engine(seed_settings, _reply(n, span, "yes"))
    answer = engine.answer(q)
    assert answer.kind == "quotes" and "does not say yes" in answer.refusal_reason


def test_each_part_of_a_compound_question_is_read_and_answered(seed_settings: Settings) -> None:
    q = "Wer hat die Absichtserklärung unterzeichnet und was sieht sie vor?"
    engine = Engine(seed_settings.with_overrides(backend="extractive", translate_queries=False))
    from fundstelle.qa.evidence import select

    parts = select(engine.selector, q, engine.retrieve(q).passages, 4)
    assert len(parts) == 2
    signed = next(ev.n for ev in parts[0] if ev.text.startswith(SIGNED))
    provides = next(ev.n for ev in parts[1] if ev.text.startswith(SIGNED))
    engine, model = _engine(
        seed_settings,
        _reply(signed, "Emmanuel Macron und der britische Premierminister Keir Starmer"),
        _reply(provides, "die Beteiligung der beiden Länder an einer Schutztruppe"),
        open_answers="span",  # both parts read by the reader (by default "was" gets a sentence)
    )
    answer = engine.answer(q)
    assert len(model.calls) == 2 and answer.kind == "answer"
    assert [s.text for s in answer.sentences] == [
        "Emmanuel Macron und der britische Premierminister Keir Starmer",
        "die Beteiligung der beiden Länder an einer Schutztruppe",
    ]
    assert (
        "Question: Wer hat die Absichtserklärung unterzeichnet?" in model.calls[0]["messages"][1][1]
    )
    assert "Question: Was sieht sie vor?" in model.calls[1]["messages"][1][1]


def test_unreachable_backend_names_the_url_and_keeps_the_sources(seed_settings: Settings) -> None:
    settings = seed_settings.with_overrides(
        backend="openai", llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=5
    )
    answer = Engine(settings).answer(BASES_DE)
    assert answer.error and "http://127.0.0.1:9/v1" in answer.error
    assert answer.kind == "quotes" and answer.citation(1).quote == BASES


def test_extractive_backend_quotes_the_best_sentences(seed_settings: Settings) -> None:
    answer = Engine(seed_settings.with_overrides(backend="extractive")).answer(BASES_DE)
    assert answer.kind == "quotes" and not answer.refused
    assert answer.citation(1).quote == BASES
    assert f"„{BASES}“ [1]" in answer.text


def test_the_passages_an_answer_cites_are_those_retrieval_figures_measure(
    seed_settings: Settings,
) -> None:
    """One path, as a property: for a question whose re-ranked order differs from the fused
    one, the answer is drawn from the re-ranked passages (those ``retrieve`` returns and the
    retrieval figures score), and every quote it cites stands in one of them."""
    q = "Who represented the United States at the conference?"
    engine = Engine(seed_settings.with_overrides(backend="extractive", k=3))
    fused = engine.retriever.search(q, k=engine.settings.rerank_pool).passages[:3]
    reranked = engine.retrieve(q).passages
    assert [p.chunk.chunk_id for p in fused] != [p.chunk.chunk_id for p in reranked]
    answer = engine.answer(q)
    assert [p.chunk.chunk_id for p in answer.passages] == [p.chunk.chunk_id for p in reranked]
    assert answer.citations and all(
        any(
            p.chunk.doc_id == c.doc_id and p.chunk.start <= c.start and c.end <= p.chunk.end
            for p in reranked
        )
        for c in answer.citations
    )


def test_question_is_translated_for_keyword_search(seed_settings: Settings) -> None:
    engine, model = _engine(
        seed_settings,
        "Welche Länder planen Stützpunkte in der Ukraine?",
        _reply(0),
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


def test_evidence_is_shown_before_the_translation_and_replaced_after_it(
    seed_settings: Settings,
) -> None:
    engine, model = _engine(
        seed_settings,
        "Welche Länder planen Stützpunkte in der Ukraine?",
        _reply(0),
        translate=True,
    )
    question = "Which countries plan bases in Ukraine?"
    shown = []
    for event in engine.stream(question):
        if event.kind == "evidence":
            shown.append((event.early, len(model.calls), event.evidence))
        if event.kind == "answer":
            answer = event.answer
    # first the evidence for the question as asked, before any model call, then the evidence
    # found with its translation, which the answer is drawn from
    (early, calls_before, first), (late, calls_after, second) = shown
    assert early and calls_before == 0 and first
    assert not late and calls_after == 1
    assert [c.quote for c in second] == [c.quote for c in answer.evidence]
    assert all(c.doc_id and c.end > c.start for c in first)
    assert answer.timings["evidence_shown"] < answer.timings["evidence_refined"]
    # asked again, the translation is known: one list, no early one
    model.replies.append(_reply(0))
    again = [e.early for e in engine.stream(question) if e.kind == "evidence"]
    assert again == [False]


def test_a_confident_judge_before_the_translation_answers_without_it(
    seed_settings: Settings,
) -> None:
    """With early_confident set, the best sentence found for the question as asked is judged
    before the translation; passed with confidence, the answer is drawn from that evidence and
    the question is not translated. Below it, the translation follows and the sentence is not
    judged twice."""
    # a name the evidence lacks may be there in the sources' language: that waits for the
    # translation, however confident the judge; so does evidence below the floor
    for question, p, translated, floor in (
        ("Who invited the western states?", 0.9, False, None),
        ("Who invited the western states?", 0.5, True, None),
        ("Who invited the western states to Hamburg?", 0.9, True, None),
        ("Who invited the western states?", 0.9, True, 0.99),
    ):
        replies = [_reply(1, "Emmanuel Macron"), "1. Emmanuel Macron"]
        if translated:
            replies.insert(0, "Wer hat die westlichen Staaten eingeladen?")
        engine, model = _engine(
            seed_settings, *replies, translate=True, early_confident=0.8, min_evidence_score=floor
        )
        judged: list[str] = []

        def judge(q, evidence, unjudged=0, known=None, p=p, judged=judged):  # type: ignore[no-untyped-def]
            for ev in evidence:  # a stand-in for judge.take with this answer's judgements
                if known is None or (q, ev.text) not in known:
                    judged.append(ev.text)
                if known is not None:
                    known[(q, ev.text)] = p
            return 0, p

        engine._judge = judge  # type: ignore[method-assign]
        events = list(engine.stream(question))
        answer = events[-1].answer
        assert answer is not None
        shown = [e.evidence for e in events if e.kind == "evidence"]
        early_first = shown[0][0].quote  # type: ignore[index]
        if "Hamburg" in question or floor:
            assert "early_judge" not in answer.timings
        else:
            assert "early_judge" in answer.timings and judged[0] == early_first
            assert judged.count(early_first) == 1  # judged once, before the translation or not
        asked = [c["messages"][0][1] for c in model.calls]
        assert any("into German" in c for c in asked) == translated
        assert bool(answer.translations) == translated
        if not translated:  # drawn from the evidence found before the translation
            early, final = ([c.quote for c in ev or []] for ev in shown)
            assert final == early == [c.quote for c in answer.evidence]
            assert answer.kind == "answer" and answer.citations[0].quote == early_first
            assert "Emmanuel Macron" in answer.text


def test_no_early_evidence_where_nothing_is_translated_and_a_failed_one_loses_nothing(
    seed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fundstelle.qa.types import Filters

    question = "Which countries plan bases in Ukraine?"
    # only English sources asked for: nothing to translate into, nothing shown early
    engine, model = _engine(seed_settings, _reply(0), translate=True)
    events = list(engine.stream(question, filters=Filters(languages=("en",))))
    assert not model.calls or all("into German" not in c["messages"][0][1] for c in model.calls)
    assert not any(e.early for e in events if e.kind == "evidence")
    # the early list is a preview: where it fails, the answer is still given
    engine, model = _engine(
        seed_settings, "Welche Länder planen Stützpunkte in der Ukraine?", _reply(0), translate=True
    )

    def broken(*args: object) -> None:
        raise RuntimeError("vector store timed out")

    monkeypatch.setattr(engine, "_early_found", broken)
    events = list(engine.stream(question))
    assert [e.early for e in events if e.kind == "evidence"] == [False]
    assert events[-1].answer is not None and events[-1].answer.translations


def test_german_question_over_german_store_needs_no_translation(seed_settings: Settings) -> None:
    engine, model = _engine(seed_settings, _reply(0), translate=True)
    events = list(engine.stream(BASES_DE))
    answer = events[-1].answer
    assert len(model.calls) == 1 and answer.translations == {}
    # nothing to wait for: the evidence is shown once
    assert [e.early for e in events if e.kind == "evidence"] == [False]
    assert "evidence_refined" not in answer.timings


def test_follow_up_is_rewritten_before_retrieval(seed_settings: Settings) -> None:
    engine, model = _engine(
        seed_settings, "Plant Deutschland Stützpunkte in der Ukraine?", _reply(0)
    )
    history = [Turn(BASES_DE, "Großbritannien und Frankreich [1]")]
    answer = engine.answer("Und Deutschland?", history=history)
    assert answer.standalone_question == "Plant Deutschland Stützpunkte in der Ukraine?"
    assert BASES_DE in model.calls[0]["messages"][1][1]


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


def _news_store(
    tmp_path: Path, articles: list[tuple[str, str, str, str, str]], **overrides: object
) -> Settings:
    """A store of English articles (file name, title, date, text, publisher), ingested."""
    from fundstelle.ingest.pipeline import ingest

    from tests.qa.test_retrieve import _article

    corpus = tmp_path / "news"
    corpus.mkdir()
    for name, title, date, text, publisher in articles:
        _article(corpus / name, title, date, text, publisher)
    settings = Settings(store_path=tmp_path / "s", translate_queries=False, **overrides)
    ingest([corpus], settings)
    return settings


def _claim_store(tmp_path: Path) -> Settings:
    return _news_store(
        tmp_path,
        [
            (
                "gazette.md",
                "Ferry fares",
                "2023-05-01",
                "The ferry company raised its fares by ten percent in May. Passengers complained loudly.",
                "Port Gazette",
            ),
            (
                "times.md",
                "Harbour strike",
                "2023-06-02",
                "Dock workers went on strike for three days in June. The harbour stayed closed.",
                "Harbour Times",
            ),
        ],
        source_claims=True,
    )


CLAIMS_Q = (
    "Does the Port Gazette article report that the ferry company raised its fares, while the "
    "Harbour Times article says that dock workers went on strike?"
)


def test_a_claim_for_each_named_source_is_judged_in_its_own_articles(tmp_path: Path) -> None:
    """Yes only when each claim has a sentence of its own publisher that states it: the
    answer cites one sentence of each source."""
    settings = _claim_store(tmp_path)
    engine = Engine(settings, chat_model=ScriptedChatModel(replies=[]))
    asked: list[tuple[str, list[str]]] = []

    def judge(question, evidence, unjudged=0):  # type: ignore[no-untyped-def]
        asked.append((question, [ev.chunk.publisher for ev in evidence]))
        return 0

    engine._judge = _confident(judge)  # type: ignore[method-assign]
    answer = engine.answer(CLAIMS_Q)
    assert [q for q, _ in asked] == [
        "Does the Port Gazette article say: that the ferry company raised its fares?",
        "Does the Harbour Times article say: says that dock workers went on strike?",
    ]
    assert [set(p) for _, p in asked] == [{"Port Gazette"}, {"Harbour Times"}]
    assert answer.kind == "answer" and answer.text.startswith("Yes:")
    assert [c.quote for c in answer.citations] == [
        "The ferry company raised its fares by ten percent in May.",
        "Dock workers went on strike for three days in June.",
    ]


def test_one_claim_that_no_sentence_states_is_no_yes(tmp_path: Path) -> None:
    settings = _claim_store(tmp_path)
    engine = Engine(settings, chat_model=ScriptedChatModel(replies=[]))
    engine._judge = _confident(lambda q, ev, unjudged=0: None if "Harbour" in q else 0)  # type: ignore[method-assign]
    answer = engine.answer(CLAIMS_Q)
    assert answer.refused and "Harbour Times" in (answer.refusal_reason or "")
    assert "Yes" not in answer.text


def test_claims_are_not_counted_as_stated_without_a_judge(tmp_path: Path) -> None:
    """A backend without token probabilities cannot judge a claim: no "yes" then."""
    settings = _claim_store(tmp_path)
    engine = Engine(settings, chat_model=ScriptedChatModel(replies=[]))
    answer = engine.answer(CLAIMS_Q)
    assert answer.kind != "answer" and "Yes" not in answer.text
    off = Engine(
        settings.with_overrides(source_claims=False),
        chat_model=ScriptedChatModel(replies=[_reply(1, "raised its fares", "yes")] * 4),
    )
    assert off.answer(CLAIMS_Q).draft  # the ordinary reader path reads it instead


def test_a_name_the_sources_write_in_their_language_is_found_through_the_translation() -> None:
    from fundstelle.ingest.types import Chunk
    from fundstelle.qa.engine import _premise_missing

    text = "1960 benannte die Generalkonferenz für Maß und Gewicht die Einheit nach Tesla."
    chunk = Chunk("d", 0, text, 0, len(text), "s.txt", "Nikola Tesla", lang="de")
    asked = "What did the General Conference on Weights and Measures name after {} in 1960?"
    german = "Was benannte die Generalkonferenz für Maß und Gewicht 1960 nach {}?"
    assert _premise_missing(asked.format("Tesla"), [chunk], "en", None) == ["Weights", "Measures"]
    assert (
        _premise_missing(asked.format("Tesla"), [chunk], "en", {"de": german.format("Tesla")}) == []
    )
    # a name the translation keeps as it is was not translated: the sources do not hold it
    edison = _premise_missing(
        asked.format("Edison"), [chunk], "en", {"de": german.format("Edison")}
    )
    assert edison == ["Edison"]
    italy = {"de": "Wie viele Soldaten wird Italien schicken?"}
    assert _premise_missing("How many soldiers will Italy send?", [chunk], "en", italy) == ["Italy"]


def test_a_publisher_the_question_names_is_no_missing_premise(tmp_path: Path) -> None:
    """The store has both outlets; with one passage retrieved the other's name stood in no
    passage and the question was refused for a false premise."""
    settings = _claim_store(tmp_path).with_overrides(backend="extractive")
    q = "Which fares rose, as reported by the Port Gazette and the Harbour Times?"
    answer = Engine(settings).answer(q, k=1)
    assert len(answer.passages) == 1
    assert not (answer.refusal_reason or "").startswith("premise"), answer.refusal_reason
    unknown = Engine(settings).answer("Which fares rose, as reported by the Coast Courier?", k=1)
    assert (unknown.refusal_reason or "").startswith("premise not in sources: Coast Courier")


def _bridge_store(
    tmp_path: Path,
    after_fares: str = "Passengers complained loudly at the terminal.",
    after_ballast: str = "The company denies it, and the harbour master Olaf Lind will decide in July.",
) -> Settings:
    """Two articles of two publishers, each stating one fact of the line Nordlicht Shipping,
    then a sentence of its own."""
    return _news_store(
        tmp_path,
        [
            (
                "fares.md",
                "Ferry fares",
                "2023-05-01",
                "The ferry line Nordlicht Shipping raised its fares by ten percent in May. "
                + after_fares,
                "Port Gazette",
            ),
            (
                "ballast.md",
                "Marina pollution",
                "2023-06-02",
                "Regulators accuse Nordlicht Shipping of dumping ballast water near the marina. "
                + after_ballast,
                "Harbour Times",
            ),
        ],
    )


BRIDGE_Q = (
    "Which shipping line, covered by the Harbour Times and Port Gazette, raised its fares by ten "
    "percent in May, and is accused of dumping ballast water near the marina?"
)


def test_a_name_that_sentences_of_two_facts_share_answers_a_bridge_question(
    tmp_path: Path,
) -> None:
    """No sentence answers the whole question (the judge says so); each clause has a sentence
    naming the same line: that name is the answer, cited to both sentences."""
    settings = _bridge_store(tmp_path)
    engine = Engine(settings, chat_model=ScriptedChatModel(replies=[]))
    asked: list[str] = []

    def judge(question, evidence, unjudged=0):  # type: ignore[no-untyped-def]
        asked.append(question)
        return None if question == BRIDGE_Q else 0

    engine._judge = _confident(judge)  # type: ignore[method-assign]
    answer = engine.answer(BRIDGE_Q)
    assert asked[1:] == [
        "Is it true that Nordlicht Shipping raised its fares by ten percent in May?",
        "Is it true that Nordlicht Shipping is accused of dumping ballast water near the marina?",
    ]
    assert answer.kind == "answer" and answer.text == "Nordlicht Shipping [1][2]"
    assert [c.quote for c in answer.citations] == [
        "The ferry line Nordlicht Shipping raised its fares by ten percent in May.",
        "Regulators accuse Nordlicht Shipping of dumping ballast water near the marina.",
    ]
    assert {c.words for c in answer.citations} == {"Nordlicht Shipping"}
    # the cited sentences are among the evidence the page shows
    shown = {c.quote for c in answer.evidence}
    assert {c.quote for c in answer.citations} <= shown


def test_one_fact_stated_is_no_bridge_answer(tmp_path: Path) -> None:
    settings = _bridge_store(tmp_path)
    engine = Engine(settings, chat_model=ScriptedChatModel(replies=[]))
    engine._judge = _confident(  # type: ignore[method-assign]
        lambda q, ev, unjudged=0: 0 if "fares" in q and q != BRIDGE_Q else None
    )
    answer = engine.answer(BRIDGE_Q)
    assert answer.kind != "answer" and "Nordlicht" not in answer.text


def test_no_bridge_answer_without_a_judge(tmp_path: Path) -> None:
    """A backend without token probabilities cannot judge the clauses: the bridge stays shut."""
    settings = _bridge_store(tmp_path).model_copy(update={"judge_threshold": None})
    engine = Engine(settings, chat_model=ScriptedChatModel(replies=[_reply(0)] * 4))
    answer = engine.answer(BRIDGE_Q)
    assert "bridge" not in answer.timings or answer.kind != "answer"
    assert answer.text != "Nordlicht Shipping [1][2]"


def test_an_unsure_answer_quotes_the_other_sentence_only_where_the_judge_finds_it_may_answer(
    seed_settings: Settings,
) -> None:
    """Beside the sentence an unsure judge took, the one ranked below it is quoted only at
    P(yes) >= ``unsure_other_min``, the one ranked above always; the taken one is streamed
    before the other is judged, and the streamed text adds up to the answer."""
    n = _number(seed_settings, BASES_DE, BASES)
    cases = [(0, 0.1, [0]), (0, OTHER_PASSES, [0, 1]), (0, None, [0, 1]), (1, 0.1, [0, 1])]
    for took, p_other, quoted in cases:
        engine, model = _engine(seed_settings, _reply(n), judge_sentences=2)
        judged: list[str] = []
        calls: list[tuple[str, str, int]] = []
        tokens: list[str] = []

        def judge(q, evidence, unjudged=0, known=None, took=took, judged=judged):  # type: ignore[no-untyped-def]
            judged[:] = [ev.text for ev in evidence]
            return took, UNSURE

        def yes(q, ev, p=p_other, calls=calls, tokens=tokens):  # type: ignore[no-untyped-def]
            calls.append((q, ev.text, len(tokens)))  # how many tokens were out by then
            return p

        engine._judge = judge  # type: ignore[method-assign]
        engine._yes = yes  # type: ignore[method-assign]
        answer = None
        for event in engine.stream(BASES_DE):  # consumed as a reader would: one at a time
            if event.kind == "token":
                tokens.append(event.text)
            elif event.kind == "answer":
                answer = event.answer
        assert answer is not None and answer.kind == "quotes" and not model.calls
        assert [c.quote for c in answer.citations] == [judged[i] for i in quoted]
        assert "".join(tokens) == answer.text
        if took == 0:  # the part's question, about the sentence below, after the first quote
            assert calls == [(BASES_DE, judged[1], 1)]
            assert f"„{judged[0]}“ [1]" in tokens[0] and judged[1] not in tokens[0]
        else:  # the one ranked above the sentence taken is quoted unjudged
            assert calls == []

    # judged already for this answer (known): not asked again
    engine, model = _engine(seed_settings, _reply(n), judge_sentences=2)

    def judged_before(q, evidence, unjudged=0, known=None):  # type: ignore[no-untyped-def]
        known[(q, evidence[1].text)] = 0.1
        return 0, UNSURE

    engine._judge = judged_before  # type: ignore[method-assign]
    engine._yes = lambda q, ev: pytest.fail("asked again")  # type: ignore[method-assign]
    events = list(engine.stream(BASES_DE))
    assert len(events[-1].answer.citations) == 1
    assert [e.text for e in events if e.kind == "token"] == [events[-1].answer.text]

    # a failing judge: the other quoted unjudged, no error for the reader
    engine, model = _engine(seed_settings, _reply(n), judge_sentences=2)
    engine._judge = lambda q, ev, unjudged=0, known=None: (0, UNSURE)  # type: ignore[method-assign]

    def down(q, ev):  # type: ignore[no-untyped-def]
        raise ConnectionError("server gone")

    engine._yes = down  # type: ignore[method-assign]
    answer = engine.answer(BASES_DE)
    assert len(answer.citations) == 2 and answer.kind == "quotes" and not answer.error

    # the setting off: both quoted, nothing more asked
    off = seed_settings.model_copy(update={"unsure_other_min": None})
    engine, model = _engine(off, _reply(n), judge_sentences=2)
    engine._judge = lambda q, ev, unjudged=0, known=None: (0, UNSURE)  # type: ignore[method-assign]
    engine._yes = lambda q, ev: pytest.fail("judged with the setting off")  # type: ignore[method-assign]
    assert len(engine.answer(BASES_DE).citations) == 2


def test_a_streamed_draft_that_fails_verification_is_replaced(seed_settings: Settings) -> None:
    """What the reader streamed is no prefix of the final answer: an empty token says that the
    final answer replaces it (no suffix is appended to the wrong words)."""
    n = _number(seed_settings, BASES_DE, BASES)
    engine, _ = _engine(seed_settings, _reply(n, "Starmer"))
    events = list(engine.stream(BASES_DE))
    tokens = [e.text for e in events if e.kind == "token"]
    answer = events[-1].answer
    assert answer.kind != "answer" and tokens[0].startswith("Starmer")
    assert tokens[-1] == "" and not answer.text.startswith("Starmer")


def test_an_unsure_part_after_a_streamed_draft_is_not_shown_early(
    seed_settings: Settings,
) -> None:
    """The first part's draft streamed and then failed verification; the second part is
    unsure: its quotes are not streamed before its other sentence is judged (they would follow
    the draft's words), so the final answer replaces what was shown once, whole."""
    question = BASES_DE[:-1] + ", und wer hat die Absichtserklärung unterzeichnet?"
    n = _number(seed_settings, BASES_DE, BASES)
    engine, _ = _engine(seed_settings, _reply(n, "Starmer"), judge_sentences=2)

    def judge(q, evidence, unjudged=0, known=None):  # type: ignore[no-untyped-def]
        return (0, 0.9) if q.startswith("Welche") else (0, UNSURE)

    engine._judge = judge  # type: ignore[method-assign]
    engine._yes = lambda q, ev: OTHER_PASSES  # type: ignore[method-assign]
    events = list(engine.stream(question))
    answer = events[-1].answer
    tokens = [e.text for e in events if e.kind == "token"]
    assert answer.kind == "quotes" and len(answer.citations) == 2
    assert tokens == ["Starmer", ""] and "first_token" in answer.timings


def test_a_sentence_judged_without_confidence_is_shown_as_the_sources_words(
    seed_settings: Settings,
) -> None:
    """The judge passed the best sentence, but below ``judge_confident``: nothing is read from
    it and no answer is claimed; the judged sentences are quoted, marked as the sources'."""
    n = _number(seed_settings, BASES_DE, BASES)
    engine, model = _engine(
        seed_settings, _reply(n, "Großbritannien und Frankreich"), judge_sentences=2
    )
    judged: list[list[str]] = []

    def judge(question, evidence, unjudged=0, known=None):  # type: ignore[no-untyped-def]
        judged.append([ev.text for ev in evidence])
        return 0, UNSURE

    engine._judge = judge  # type: ignore[method-assign]
    engine._yes = lambda q, ev: OTHER_PASSES  # type: ignore[method-assign]  # the other may answer too
    answer = engine.answer(BASES_DE)
    assert answer.kind == "quotes" and not answer.refused and not model.calls
    assert "unsure" in (answer.refusal_reason or "") and f"{UNSURE:.2f}" in (
        answer.refusal_reason or ""
    )
    assert [c.quote for c in answer.citations] == judged[0] and len(judged[0]) == 2
    assert all(f"„{q}“" in answer.text for q in judged[0])

    # confident, or the setting off: the sentence is read and the span answers
    off = seed_settings.model_copy(update={"judge_confident": None})
    for p, settings in ((0.62, seed_settings), (UNSURE, off)):
        engine, model = _engine(settings, _reply(n, "Großbritannien und Frankreich"))
        engine._judge = lambda q, ev, unjudged=0, known=None, p=p: (0, p)  # type: ignore[method-assign]
        answer = engine.answer(BASES_DE)
        assert answer.kind == "answer" and answer.text == "Großbritannien und Frankreich [1]"


def test_the_evidence_ranking_weights_and_quote_margin_follow_the_settings(
    seed_settings: Settings,
) -> None:
    """The ranking weights and the margin of the second quoted sentence are the embedding
    model's calibration unless a setting overrides them; the overrides change the ranking."""
    engine, _ = _engine(seed_settings)
    selector = engine.selector
    assert (selector.lexical_weight, selector.rank_weight, selector.kind_weight) == (0.3, 0.02, 0.1)
    assert engine.calibration.quote_margin == 0.05
    q = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
    passages = engine.retrieve(q).passages
    default = [ev.text for ev in engine.selector.score(q, passages)]
    words_only, _ = _engine(
        seed_settings, evidence_lexical_weight=5.0, evidence_rank_weight=0.0, quote_margin=0.5
    )
    assert words_only.selector.lexical_weight == 5.0 and words_only.calibration.quote_margin == 0.5
    assert words_only.selector.rank_weight == 0.0
    ranked = [ev.text for ev in words_only.selector.score(q, passages)]
    assert sorted(ranked) == sorted(default) and ranked != default


def test_the_second_sentence_is_quoted_only_within_the_quote_margin(
    seed_settings: Settings,
) -> None:
    """Where the sources' words are shown, the second-best sentence of a simple question joins
    the best only when it scores at most the margin below it."""
    from fundstelle.qa.engine import _best

    engine, _ = _engine(seed_settings)
    q = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
    first, second = engine.evidence(q, engine.retrieve(q).passages)[:2]
    gap = first.score - second.score
    assert gap >= 0
    assert _best([[first, second]], gap + 0.01) == [first, second]
    assert _best([[first, second]], max(gap - 0.01, 0.0)) == (
        [first] if gap > 0 else [first, second]
    )
