"""The question in the other languages of the store, for keyword search.

Dense retrieval works across languages, keyword search does not: "How many bases?" shares no
word with "Wie viele Stützpunkte?". One short LLM call translates the question into each other
language of the store, and BM25 searches the chunks of that language with the translation.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

LANGUAGE_NAMES = {"en": "English", "de": "German"}

_PREFIX = re.compile(
    r"^(german|english|deutsch|englisch|translation|übersetzung|question|frage)\s*:\s*",
    re.IGNORECASE,
)


def translation_messages(question: str, target: str) -> list[Any]:
    name = LANGUAGE_NAMES[target]
    system = (
        f"Translate the user's question into {name}. Keep names, numbers and dates as they are. "
        f"Reply with the {name} question only."
    )
    return [SystemMessage(content=system), HumanMessage(content=question)]


def clean_translation(text: str, question: str) -> str | None:
    """The model's translation, or ``None`` when the reply does not look like one question."""
    first = text.strip().split("\n", 1)[0].strip()
    first = _PREFIX.sub("", first).strip().strip('"“”„«»').strip()
    if len(first) < 3 or len(first) > 3 * len(question) + 40:
        return None
    if first.casefold() == question.strip().casefold():
        return None
    return first
