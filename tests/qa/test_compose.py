"""Composing answers from spans: which spans are translated for the question's language."""

import pytest
from fundstelle.ingest.types import Chunk
from fundstelle.qa import compose
from fundstelle.qa.types import Evidence, Passage, Span

TEXT = "Die Brücke über den Öresund wurde 1.388 Tage lang gebaut und im Jahr 2000 eröffnet."


def _by_n(lang: str) -> dict[int, Evidence]:
    chunk = Chunk("d", 0, TEXT, 0, len(TEXT), "s.txt", "Öresund", lang=lang)
    return {1: Evidence(1, TEXT, 0, len(TEXT), 0.9, Passage(chunk, 1.0))}


def _span(words: str) -> Span:
    start = TEXT.index(words)
    return Span(1, words, start, start + len(words), words)


def test_only_spans_in_another_language_than_the_question_are_translated() -> None:
    german = _by_n("de")
    assert compose.needs_translation(_span("im Jahr 2000"), german, "en")
    assert not compose.needs_translation(_span("im Jahr 2000"), german, "de")
    assert not compose.needs_translation(_span("im Jahr 2000"), _by_n(""), "en")


def test_bare_digits_are_written_alike_in_every_language() -> None:
    german = _by_n("de")
    assert not compose.needs_translation(_span("2000"), german, "en")
    # a separator means different numbers in German and English: translated
    assert compose.needs_translation(_span("1.388"), german, "en")
    assert compose.needs_translation(_span("1.388 Tage"), german, "en")


def test_each_translated_line_gets_the_mean_log_probability_of_its_own_tokens() -> None:
    def tok(text: str, lp: float) -> dict[str, object]:
        return {"token": text, "logprob": lp}

    reply = [
        tok("1", -0.5), tok(".", -0.5), tok(" Green", -0.2), tok("land", -0.4), tok(".\n", -0.3),
        tok("2", 0.0), tok(")", 0.0), tok(" Benny", -1.2),
    ]  # fmt: skip
    first, second = compose.translation_confidences(reply, 2)
    assert first == pytest.approx((-0.2 - 0.4 - 0.3) / 3)  # the line's number left out
    assert second == pytest.approx(-1.2)
    # a line the reply lacks, and a reply without probabilities
    assert compose.translation_confidences(reply[:5], 2)[1] is None
    assert compose.translation_confidences(None, 1) == [None]
    # one unnumbered line is line 1, as parse_translations reads it
    assert compose.translation_confidences([tok("Green", -0.2), tok("land", 0.0)], 1) == [
        pytest.approx(-0.1)
    ]


def test_the_confidence_is_that_of_the_line_the_translation_is_read_from() -> None:
    def tok(text: str, lp: float) -> dict[str, object]:
        return {"token": text, "logprob": lp}

    # a line before the numbered one is no translation: its tokens do not count
    reply = [
        tok("Here", -3.0),
        tok(" is:\n", -3.0),
        tok("1", 0.0),
        tok(".", 0.0),
        tok(" Yes", -0.2),
    ]
    assert compose.parse_translations("Here is:\n1. Yes", 1) == ["Yes"]
    assert compose.translation_confidences(reply, 1) == [pytest.approx(-0.2)]
    # the last line of a number is read, and scored
    reply = [tok("1. A", -0.1), tok("\n", 0.0), tok("1. B", -2.0)]
    assert compose.parse_translations("1. A\n1. B", 1) == ["B"]
    assert compose.translation_confidences(reply, 1) == [pytest.approx(-2.0)]
    # a token that ends one line and starts the next counts for both
    reply = [tok("1", 0.0), tok(".", 0.0), tok(" A", -0.1), tok("\n2", -2.0), tok(".", 0.0)]
    reply += [tok(" B", -1.0)]
    assert compose.translation_confidences(reply, 2) == [pytest.approx(-0.1), pytest.approx(-1.0)]
