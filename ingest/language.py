"""Language detection (py3langid: offline, bundled model, ~0.1 ms per call once loaded)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Languages a question is assumed to be in: short questions ("And Germany?") are ambiguous
# across 97 languages, but not between these.
QUESTION_LANGUAGES = ("en", "de")


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...] | None):  # type: ignore[no-untyped-def]
    from py3langid import langid

    ident = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    if languages:
        ident.set_languages(list(languages))
    return ident


def detect_language(text: str, languages: tuple[str, ...] | None = None) -> str | None:
    """ISO 639-1 code of ``text``, or ``None`` for text without letters.

    ``languages`` restricts the choice; pass it for short texts such as questions.
    """
    sample = text[:2000]
    if not any(ch.isalpha() for ch in sample):
        return None
    lang, _prob = _identifier(languages).classify(sample)
    return str(lang)


_MARKERS = re.compile(r"\[\d+\]")
# a quotation holding no other: German „…“ (sources also write „…"), English “…”, plain "…"
_INNERMOST_QUOTE = re.compile(r"„[^„“\"]*[“\"]|“[^“”]*”|\"[^\"„“]*\"")


def without_quotes(text: str) -> str:
    """``text`` without its quotations and ``[n]`` markers: what the answer says in its own
    words. A quote may hold quotes of its own („… „Welfare Cash Card" … „große Pest“ …“), so
    the innermost ones go first, until none is left; a mark that pairs with none (an unclosed
    „) is text."""
    while True:
        bare = _INNERMOST_QUOTE.sub(" ", text)
        if bare == text:
            return _MARKERS.sub(" ", bare)
        text = bare


def answer_language(text: str, min_words: int = 4) -> str | None:
    """English or German for an answer, its ``[n]`` markers and quotations left out; ``None``
    for fewer than ``min_words`` words (a name or a number reads the same in both)."""
    bare = without_quotes(text)
    if len(re.findall(r"[^\W\d_]{2,}", bare)) < min_words:
        return None
    return detect_language(bare, ("en", "de"))


def _mostly_latin(text: str) -> bool:
    letters = [ch for ch in text[:2000] if ch.isalpha()]
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return latin * 2 >= len(letters)


def question_language(text: str) -> str:
    """The language to answer in: German for German questions, English for all others.

    Choosing between English and German alone keeps short questions ("Und Deutschland?")
    right, but it called Russian German; so a "German" question in another script, or one
    that the unrestricted model gives to another language with some confidence (French,
    Dutch: >= 0.5), is answered in English.
    """
    if detect_language(text, QUESTION_LANGUAGES) != "de":
        return "en"
    if not _mostly_latin(text):
        return "en"
    lang, prob = _identifier(None).classify(text[:2000])
    # Luxembourgish is what the model makes of some German ("Wann entdeckte Carl Wilhelm
    # Scheele Sauerstoff?" 0.74); on XQuAD's 1,190 German questions nothing else reaches 0.5
    if lang not in (*QUESTION_LANGUAGES, "lb") and prob >= 0.5:
        return "en"
    return "de"
