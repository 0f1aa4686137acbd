"""The question in the other languages of the store, for keyword search.

Dense retrieval works across languages, keyword search does not: "How many bases?" shares no
word with "Wie viele Stützpunkte?". One short LLM call translates the question into each other
language of the store, and BM25 searches the chunks of that language with the translation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fundstelle.core.settings import Settings
from fundstelle.ingest.language import answer_language, question_language
from fundstelle.ingest.lexicon import LANGUAGE_NAMES
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from .types import Filters

if TYPE_CHECKING:
    from .retrieve import Retriever

_PREFIX = re.compile(
    r"^(german|english|deutsch|englisch|translation|übersetzung|question|frage)\s*:\s*",
    re.IGNORECASE,
)


# Worked examples (written for this prompt, not taken from any evaluation set): with them the
# 1.5B model keeps to the question's form and uses German words instead of English ones
# (XQuAD dev, 200 questions: hit@1 0.870 without, 0.900 with three; see docs/decisions.md).
EXAMPLES = [
    (
        "How many employees did the company lay off in 2023?",
        "Wie viele Mitarbeiter hat das Unternehmen 2023 entlassen?",
    ),
    (
        "What was the river used for before the railway was built?",
        "Wofür wurde der Fluss genutzt, bevor die Eisenbahn gebaut wurde?",
    ),
    (
        "Who won the election for mayor of Springfield?",
        "Wer gewann die Wahl zum Bürgermeister von Springfield?",
    ),
]


def translation_messages(
    question: str,
    target: str,
    examples: list[tuple[str, str]] | None = None,
    context: list[str] | None = None,
) -> list[Any]:
    """A system prompt, the worked examples as earlier turns, then the question; with
    ``context`` (sentences of the sources) shown before it as the sources' words, whose terms
    the model then uses ("Absichtserklärung" for "declaration of intent" where it wrote
    "Anweisung der Intention" alone)."""
    name = LANGUAGE_NAMES[target]
    system = (
        f"Translate the user's question into {name}. Keep names, numbers and dates as they are. "
        f"Reply with the {name} question only."
    )
    messages: list[Any] = [SystemMessage(content=system)]
    for en, de in EXAMPLES if examples is None else examples:
        source, translated = (en, de) if target == "de" else (de, en)
        messages += [HumanMessage(content=source), AIMessage(content=translated)]
    if context:
        sources = " ".join(f"„{c}“" for c in context)
        return [*messages, HumanMessage(content=f"Sources: {sources}\n\nQuestion: {question}")]
    return [*messages, HumanMessage(content=question)]


def answer_translation_messages(answer: str, target: str) -> list[Any]:
    """Messages that ask for ``answer`` in the ``target`` language, markers and names kept."""
    name = LANGUAGE_NAMES[target]
    system = (
        f"Translate the user's text into {name}. Keep names, numbers, dates and markers such as "
        f"[1] exactly as they are. Reply with the {name} text only."
    )
    return [SystemMessage(content=system), HumanMessage(content=answer)]


def written_in(text: str, language: str, min_words: int = 4) -> bool:
    """Whether ``text`` is in ``language``; a text too short to tell counts as written in any
    (:func:`ingest.language.answer_language`)."""
    return answer_language(text, min_words) in (None, language)


def clean_translation(text: str, question: str) -> str | None:
    """The model's translation, or ``None`` when the reply does not look like one question."""
    first = text.strip().split("\n", 1)[0].strip()
    first = _PREFIX.sub("", first).strip().strip('"“”„«»').strip()
    if len(first) < 3 or len(first) > 3 * len(question) + 40:
        return None
    if first.casefold() == question.strip().casefold():
        return None
    return first


class QueryTranslator:
    """The question in the store's other languages (English, German), one short call for each,
    kept for the next time it is asked (the last 1,000). ``model`` gives the generator, loaded
    only when a translation is asked for; without one, with translation off or for dense-only
    retrieval nothing is translated."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        model: Callable[[], BaseChatModel | None],
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self._model = model
        self._known: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()

    def _wanted(self) -> bool:
        s = self.settings
        return s.translate_queries and s.retrieval != "dense"

    def on(self) -> bool:
        """Whether questions are translated (loads the generator to know)."""
        return self._wanted() and self._model() is not None

    def targets(self, question: str, filters: Filters | None) -> list[str]:
        """The store's languages (English, German) other than the question's, within
        ``filters``: those the question is translated into."""
        bm25 = self.retriever.bm25
        bm25.sync(self.retriever.store)
        lang = question_language(question)
        targets = bm25.languages() & set(LANGUAGE_NAMES) - {lang}
        if filters and filters.languages:
            targets &= set(filters.languages)
        return sorted(targets)

    def pending(self, question: str, filters: Filters | None) -> bool:
        """Whether retrieving for ``question`` waits for a translation call (not yet known)."""
        if not self.on():
            return False
        targets = self.targets(question, filters)
        with self._lock:
            return any((question, t) not in self._known for t in targets)

    def remember(self, question: str, target: str, text: str | None) -> None:
        """Keep ``text`` as the translation of ``question`` into ``target``."""
        with self._lock:
            self._known[(question, target)] = text
            while len(self._known) > 1000:
                self._known.pop(next(iter(self._known)))

    def translations(self, question: str, filters: Filters | None = None) -> dict[str, str]:
        """``{language: translation}`` for keyword search; empty where nothing is translated.
        A failed call leaves that language out (keyword search in the question's language
        still runs) and is tried again next time."""
        model = self._model() if self._wanted() else None  # loaded only when translation is on
        if model is None:
            return {}
        out: dict[str, str] = {}
        for target in self.targets(question, filters):
            key = (question, target)
            with self._lock:
                known = key in self._known
            if not known:
                try:
                    reply = model.invoke(translation_messages(question, target), max_tokens=64)
                except Exception:  # keyword search in the question's language still runs
                    continue
                self.remember(question, target, clean_translation(str(reply.content), question))
            with self._lock:
                text = self._known.get(key)
            if text:
                out[target] = text
        return out
