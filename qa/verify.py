"""Verify: does a copied span answer *this* question, as its sentence states it?

A span is verbatim, so its words are in the source by construction; what can still go wrong is
that the sentence is about something else (the year *he* began his studies given for the year
*she* won a prize), that the span is not the kind of thing asked for (a year for "who"), that
the sentence says the opposite (a negated sentence behind a "yes"), or that a translation of the
span changed a name or a number. Each check below is a general rule of the two languages (their
closed word classes, CLDR's names, num2words' numbers), not a list of one corpus's words; the
thresholds are settings with a per-embedder calibration (:mod:`qa.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fundstelle.ingest import lexicon
from fundstelle.ingest.language import question_language

from .grounding import Claim, added_name_words, claims, ungrounded_claims, with_provenance
from .question import _NEGATION, expected_kind, holds_kind, negated, words
from .types import Evidence, Span


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""


OK = Check(True)


def question_names(question: str) -> list[Claim]:
    """The names a question states (the thing it asks about), numbers left out."""
    return [c for c in claims(question) if c.kind == "name"]


def check_span(
    span: Span,
    ev: Evidence,
    question: str,
    best_score: float,
    *,
    margin: float,
    verdict: str | None = None,
    language: str | None = None,
) -> Check:
    """Whether ``span`` (copied from ``ev``) answers ``question`` (one part of the question
    asked): its kind fits, its sentence is about the question's subject and close to the best
    evidence, no negation turns it around, and a translation kept its names and numbers."""
    kind = expected_kind(question)
    if verdict is None and kind and not holds_kind(span.words, kind):
        return Check(False, f"not a {kind}: {span.words!r}")
    q_words = {w.lower() for w in words(question)}
    s_words = [w.lower() for w in words(span.words)]
    if verdict is None and s_words and all(w in q_words for w in s_words):
        return Check(False, "repeats the question")
    # the sentence must be about what the question names: each name of the question stands in
    # the sentence or the one before it (which a pronoun of the sentence may refer to), or in
    # what its document says about itself (title, publisher, date)
    names = question_names(question)
    if names:
        missing = ungrounded_claims(names, [with_provenance(ev.chunk, window(ev))])
        if missing:
            return Check(False, f"its sentence does not name {', '.join(missing)}")
    if ev.score < best_score - margin:
        return Check(False, f"sentence {ev.n} is far from the best evidence")
    if verdict is not None:
        same = negated(ev.text) == negated(question)
        if (verdict == "yes") != same:
            return Check(False, f"the sentence does not say {verdict}")
    elif _negation_near(ev, span):
        return Check(False, "negated in its sentence")
    if span.translated and not translation_kept(span.words, span.text, language):
        return Check(False, "the translation changed a name or a number")
    return OK


def window(ev: Evidence) -> str:
    """The evidence sentence with the sentence before it in its passage."""
    from fundstelle.ingest.chunker import sentence_units

    c = ev.chunk
    at = ev.start - c.start
    before = [(s, e) for s, e in sentence_units(c.text, 400) if e <= at]
    start = before[-1][0] if before else at
    return c.text[start : ev.end - c.start]


def _negation_near(ev: Evidence, span: Span) -> bool:
    """A negation inside the span or among the two words before it ("nicht in Berlin"); a span
    that is its whole sentence carries its own negation, so it cannot be turned around."""
    if span.start <= ev.start and span.end >= ev.end:
        return False
    if negated(span.words):
        return True
    before = words(ev.text[: max(0, span.start - ev.start)])[-2:]
    return any(w.lower() in _NEGATION for w in before)


def translation_kept(original: str, translation: str, language: str | None = None) -> bool:
    """A translation (into ``language``) of ``original`` that keeps its names and numbers: each
    of the translation's stands in the original, and each of the original's in the
    translation (a name dropped is as wrong as one added)."""
    # the other way only numbers and the names the tables know ("Frankreich"): German
    # capitalises every noun, and "Elektrizität" rightly becomes "electricity"
    kept = [c for c in claims(original) if c.kind != "name" or lexicon.keys(c.text)]
    said = claims(translation, language)
    return (
        not ungrounded_claims(said, [original])
        and not ungrounded_claims(kept, [translation])
        and not added_name_words(said, original, language or question_language(translation) or "en")
    )
