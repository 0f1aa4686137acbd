"""Does a generated answer answer? Cheap checks that catch what a small model does instead:
saying in its own words that the sources are silent, or answering "how many" without a number."""

from __future__ import annotations

import re

_REFUSAL = re.compile(
    r"\b(no (specific )?information|not (mentioned|specified|stated|provided|given)|"
    r"(do|does) not (say|mention|state|specify|provide)|cannot be (found|determined|answered)|"
    r"(stated|given|mentioned|specified) in (the )?sources?|"
    r"keine (spezifischen |genauen |konkreten )?(informationen|angaben)|nicht (erwähnt|angegeben|genannt)|"
    r"geben (darauf )?keine auskunft|sagen (dazu )?nichts|lässt sich nicht)\b",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(
    r"\b(how (many|much)|what percentage|what share|wie (viele|viel|hoch)|wieviele?|zu wie viel|"
    r"welcher? (anteil|prozentsatz))\b",
    re.IGNORECASE,
)
_WHEN = re.compile(
    r"\b(when|which day|what day|what date|which year|wann|an welchem tag|welches datum|in welchem jahr)\b",
    re.IGNORECASE,
)
_NUMBER_WORD = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundreds?|"
    r"thousands?|millions?|billions?|several|dozens?|half|ein|eine|zwei|drei|vier|fünf|sechs|sieben|acht|neun|"
    r"zehn|elf|zwölf|zwanzig|dreißig|hundert\w*|tausend\w*|million\w*|milliard\w*|mehrere|dutzend\w*|hälfte)\b",
    re.IGNORECASE,
)
_TIME_WORD = re.compile(
    r"\d|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|heute|gestern|morgen|"
    r"januar|februar|märz|mai|juni|juli|oktober|dezember|week|woche|year|jahr|evening|abend|morning|"
    r"afternoon|nachmittag)\w*",
    re.IGNORECASE,
)


def says_sources_are_silent(answer: str) -> bool:
    """The model wrote a refusal in its own words instead of setting found=false."""
    return bool(_REFUSAL.search(answer))


def fits_question(question: str, answer: str) -> bool:
    """A "how many" answer holds a number, a "when" answer a date or time word."""
    if _HOW_MANY.search(question) and not _NUMBER_WORD.search(answer):
        return False
    return not (_WHEN.search(question) and not _TIME_WORD.search(answer))


_CONTENT = re.compile(r"\w{10,}")


def missing_key_terms(question: str, sources: list[str]) -> tuple[list[str], list[str]]:
    """The long content words of the question (specific nouns such as "Generalsekretär"), and
    those that no source contains, not even as part of a compound."""
    from ingest.bm25 import tokenize

    words = {w for s in sources for w in tokenize(s) if len(w) >= 5}
    terms = list(dict.fromkeys(t for t in tokenize(question) if _CONTENT.fullmatch(t)))
    missing = [t for t in terms if not any(w.startswith(t[:6]) or w in t for w in words)]
    return terms, missing
