"""Follow-up questions: "And Germany?" after "Which countries plan bases in Ukraine?" becomes a
question that stands on its own before retrieval."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from .types import Turn

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|what about|how about|und|aber|was ist mit|wie ist es mit|wie steht es mit)\b"
    r"|\b(he|she|it|they|them|his|her|their|this|that|those|er|sie|es|ihm|ihr|ihnen|dies\w*|das|dort|there)\b",
    re.IGNORECASE,
)

SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation. "
    "Keep its language. Reply with the rewritten question only."
)


def needs_context(question: str) -> bool:
    """Short questions, or ones that start with "and"/"und" or lean on a pronoun."""
    return len(question.split()) <= 4 or bool(_FOLLOW_UP.search(question))


def combine(question: str, history: list[Turn]) -> str:
    """Without an LLM: the previous question and the follow-up together (good for retrieval)."""
    return f"{history[-1].question} {question}"


def condense_messages(question: str, history: list[Turn]) -> list[Any]:
    lines = []
    for turn in history[-3:]:
        lines.append(f"User: {turn.question}")
        lines.append(f"Assistant: {turn.answer[:300]}")
    lines.append(f"User (last question): {question}")
    return [SystemMessage(content=SYSTEM), HumanMessage(content="\n".join(lines))]


def clean_rewrite(text: str, question: str, history: list[Turn]) -> str:
    """Accept the model's rewrite only if it looks like one question of sensible length."""
    first = text.strip().split("\n", 1)[0].strip().strip('"“”„').strip()
    first = re.sub(r"^(rewritten question|question|frage)\s*:\s*", "", first, flags=re.IGNORECASE)
    longest = max(len(question), *(len(t.question) for t in history)) * 3 + 40
    if not first or len(first) > longest or len(first) < 3:
        return combine(question, history)
    return first
