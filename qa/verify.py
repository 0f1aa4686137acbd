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

import re
from dataclasses import dataclass

from fundstelle.ingest import lexicon

from .grounding import Claim, claims, ungrounded_claims, with_provenance
from .question import expected_kind
from .types import Evidence, Span


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""


OK = Check(True)

_WORD = re.compile(r"[^\W_][\w'’-]*")
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"\b\d{3,4}\b")

# closed classes: negation, and the prepositions and conjunctions that open a time expression
_NEGATION = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "without",
        "cannot",
        "n't",
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keinem",
        "keiner",
        "keines",
        "nie",
        "niemals",
        "niemand",
        "nichts",
        "weder",
        "ohne",
    ]
)
_TEMPORAL = frozenset(
    [
        "before",
        "after",
        "since",
        "until",
        "till",
        "during",
        "when",
        "while",
        "from",
        "ago",
        "vor",
        "nach",
        "seit",
        "bis",
        "während",
        "als",
        "wenn",
        "ab",
        "nachdem",
        "bevor",
        "zwischen",
    ]
)
# nouns of time and of fractions, in both languages (a "when" may be answered "three years
# later", a "how many" by "half of them")
_TIME_NOUN = re.compile(
    r"^(year|month|week|day|hour|minute|century|decade|morning|evening|night|season|"
    r"jahr|monat|woche|tag|stunde|minute|jahrhundert|jahrzehnt|morgen|abend|nacht|"
    r"frühjahr|frühling|sommer|herbst|winter|spring|summer|autumn|fall|uhr)",
    re.IGNORECASE,
)
_FRACTION = re.compile(
    r"^(half|third|quarter|percent|per cent|dozen|hälfte|drittel|viertel|prozent|dutzend|%)",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return [w.strip("'’-") for w in _WORD.findall(text)]


def negated(text: str) -> bool:
    """The text says no: a negation word of either language ("nicht", "never", "keine")."""
    return any(w.lower() in _NEGATION for w in words(text)) or "n't" in text.lower()


def _is_number_word(w: str) -> bool:
    return lexicon.number_value(w) is not None or lexicon.magnitude(w) is not None


def holds_kind(text: str, kind: str) -> bool:
    """Whether ``text`` holds what a question of ``kind`` asks for (:func:`expected_kind`)."""
    ws = words(text)
    if kind == "number":
        return bool(_DIGITS.search(text)) or any(
            _is_number_word(w) or _FRACTION.match(w) for w in ws
        )
    if kind == "date":
        if _YEAR.search(text) or _DIGITS.search(text):
            return True
        months = lexicon.month_numbers()
        return any(
            w.lower() in months
            or lexicon.keys(w) & {f"D:{d}" for d in range(7)}
            or _TIME_NOUN.match(w)
            or _is_number_word(w)
            for w in ws
        ) or bool(ws and ws[0].lower() in _TEMPORAL)
    if kind in ("agent", "place"):
        # a name or (German) a noun: a capitalised word that is not a pronoun
        return any(w[:1].isupper() and w.lower() not in _PRONOUNS for w in ws) or any(
            w.isupper() and len(w) > 1 for w in ws
        )
    return True


_PRONOUNS = frozenset(
    [
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "him",
        "her",
        "them",
        "his",
        "its",
        "their",
        "this",
        "that",
        "these",
        "those",
        "ich",
        "du",
        "er",
        "sie",
        "es",
        "wir",
        "ihr",
        "ihm",
        "ihn",
        "ihnen",
        "sein",
        "seine",
        "ihre",
        "dies",
        "diese",
        "dieser",
        "dieses",
        "das",
        "der",
        "die",
        "dem",
        "den",
    ]
)


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
    # the sentence's passage (its document's title, publisher and date included)
    names = question_names(question)
    if names:
        missing = ungrounded_claims(names, [with_provenance(ev.chunk, ev.chunk.text)])
        if missing:
            return Check(False, f"its passage does not name {', '.join(missing)}")
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


def _negation_near(ev: Evidence, span: Span) -> bool:
    """A negation inside the span or among the two words before it ("nicht in Berlin")."""
    if negated(span.words):
        return True
    before = words(ev.text[: max(0, span.start - ev.start)])[-2:]
    return any(w.lower() in _NEGATION for w in before)


def translation_kept(original: str, translation: str, language: str | None = None) -> bool:
    """A translation (into ``language``) of ``original`` whose names and numbers all stand in
    it."""
    return not ungrounded_claims(claims(translation, language), [original])
