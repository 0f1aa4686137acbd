"""Checks on a question before any work is done for it.

The CLI (``ask``, ``batch``) and the page call :func:`check_question`; an empty question must
not be answered from whatever passages happen to come first, and a very long one would hold
the embedding model (and everyone sharing the page) for most of a minute.
"""

from __future__ import annotations

from fundstelle.core.errors import InputError
from fundstelle.core.settings import Settings


def check_question(text: str, settings: Settings) -> str:
    """The question, stripped; raise :class:`InputError` (one line, saying what to do) if it has
    no letters or digits, or more characters than ``settings.max_question_chars``."""
    question = (text or "").strip()
    if not any(ch.isalnum() for ch in question):
        raise InputError("the question is empty: type a question in words, e.g. 'Who signed it?'")
    limit = settings.max_question_chars
    if len(question) > limit:
        raise InputError(
            f"the question has {len(question):,} characters; the limit is {limit:,} "
            "(FUNDSTELLE_MAX_QUESTION_CHARS): ask a shorter question"
        )
    return question
