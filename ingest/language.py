"""Language detection (py3langid: offline, bundled model, ~0.1 ms per call once loaded)."""

from __future__ import annotations

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


def question_language(text: str) -> str:
    """The language to answer in: English or German."""
    return detect_language(text, QUESTION_LANGUAGES) or "en"
