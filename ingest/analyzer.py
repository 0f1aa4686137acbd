"""How keyword search sees text: the analysers of a search engine, per language.

``plain`` lower-cases, keeps words of two or more characters and drops English and German stop
words (what this project used first). ``stem`` adds what Lucene's German and English analysers
do: Snowball stemming in the text's own language (PyStemmer; "Stützpunkte" and "Stützpunkt" both
become "stutzpunkt", umlauts and ß folded by the German stemmer), so that inflections meet.
``stem-split`` also splits German compounds into their parts ("Friedenstruppe" -> "frieden",
"trupp") where both parts are words of the text's own vocabulary, so "Truppe" finds
"Friedenstruppe" (see :func:`split_compound`).

Chunks are analysed in their own language, questions in theirs (a translation in its language);
the keyword cache is stamped with the analyser, so a changed analyser rebuilds it by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

ANALYZERS = ("plain", "stem", "stem-split")
_TOKEN = re.compile(r"\w\w+", re.UNICODE)
_STEMMERS = {"de": "german", "en": "english"}
# the linking elements of German compounds ("Friedens-truppe", "Sonne-n-schein")
_LINKS = ("", "s", "es", "n", "en", "er", "e")
_MIN_PART = 4  # shorter parts ("Ver", "Rück") are prefixes more often than words


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

    return frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_GERMAN)


@lru_cache(maxsize=4)
def _stemmer(lang: str):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer(_STEMMERS[lang])


def words(text: str) -> list[str]:
    """Lower-cased words of two or more characters, stop words of both languages removed."""
    stop = stopwords()
    return [t for t in _TOKEN.findall(text.lower()) if t not in stop]


def stem(tokens: list[str], lang: str | None) -> list[str]:
    """Snowball stems of ``tokens`` in ``lang`` (unchanged for a language without a stemmer)."""
    if lang not in _STEMMERS:
        return tokens
    return _stemmer(lang).stemWords(tokens)


def split_compound(word: str, known: Iterable[str] | set[str]) -> list[str]:
    """The parts of a German compound whose head and modifier are both ``known`` words (after a
    linking element: "friedens|truppe" -> "frieden", "truppe"), best split by the longer head;
    ``[]`` for a word that is no such compound. Splits recursively into at most three parts."""
    known = known if isinstance(known, set) else set(known)
    n = len(word)
    for cut in range(_MIN_PART, n - _MIN_PART + 1):
        head = word[cut:]
        if head not in known:
            continue
        left = word[:cut]
        for link in _LINKS:
            if link and not left.endswith(link):
                continue
            modifier = left[: len(left) - len(link)] if link else left
            if len(modifier) >= _MIN_PART and modifier in known:
                return [modifier, head]
            if len(modifier) >= 2 * _MIN_PART:
                inner = split_compound(modifier, known)
                if inner:
                    return [*inner, head]
    return []


def analyze(
    text: str, lang: str | None, analyzer: str = "plain", vocabulary: set[str] | None = None
) -> list[str]:
    """The keyword tokens of ``text`` (in language ``lang``) for ``analyzer``. ``stem-split``
    adds the stemmed parts of German compounds found in ``vocabulary`` (plain words)."""
    tokens = words(text)
    if analyzer == "plain":
        return tokens
    if lang is None:  # a query whose language the caller does not know: the text says
        from .language import question_language

        lang = question_language(text)
    out = stem(tokens, lang)
    if analyzer == "stem-split" and lang == "de" and vocabulary:
        extra: list[str] = []
        for t in tokens:
            if len(t) >= 2 * _MIN_PART:
                parts = split_compound(t, vocabulary)
                if parts:
                    extra += stem(parts, lang)
        out = out + extra
    return out
