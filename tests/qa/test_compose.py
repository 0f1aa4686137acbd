"""Composing answers from spans: which spans are translated for the question's language."""

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
