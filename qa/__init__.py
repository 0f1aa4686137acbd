"""Answers with verifiable citations: retrieve, pick evidence, generate, check citations."""

from .engine import Engine, Event, answer, get_engine, stream
from .types import Answer, AnswerSentence, Citation, Evidence, Filters, Passage, Turn

__all__ = [
    "Answer",
    "AnswerSentence",
    "Citation",
    "Engine",
    "Event",
    "Evidence",
    "Filters",
    "Passage",
    "Turn",
    "answer",
    "get_engine",
    "stream",
]
