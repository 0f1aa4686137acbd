"""Likelihood: the best evidence sentences ordered by how likely the question is after each.

Across languages the ranking's meaning scores sit close together (an English question over
German sentences), and its first sentence holds the answer for about two thirds of the
development questions. A generative model reads the other way round: given a sentence, how
likely is this question as one it answers (log P(question | sentence), "unsupervised passage
re-ranking", Sachan et al. 2022)? The question's tokens are the same for every candidate, so
the sums compare. One forward pass a sentence, nothing generated; backends without token
probabilities keep the ranking's order (benchmarks/bench_upr.py, docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from .types import Evidence

SYSTEM = "You are a helpful assistant."
ASK = "Passage: {sentence}\nWrite a question that this passage answers."


def messages(ev: Evidence) -> list[Any]:
    """The prompt after which the question's likelihood is read (as measured: the sentence
    alone, no title)."""
    return [SystemMessage(content=SYSTEM), HumanMessage(content=ASK.format(sentence=ev.text))]


def question_logprob(model: BaseChatModel, kind: str, question: str, ev: Evidence) -> float | None:
    """log P(question | sentence) under ``model``, or None where the backend gives none."""
    if kind != "llamacpp" or not hasattr(model, "reply_logprob"):
        return None
    return model.reply_logprob(messages(ev), question)


def applies(sentences: list[Evidence], language: str | None, scope: str) -> bool:
    """Whether ``sentences`` are ordered anew for a question in ``language``: with scope
    'cross-lingual' only when one of them is in another language."""
    if scope == "always":
        return True
    return any(ev.chunk.lang and language and ev.chunk.lang != language for ev in sentences)


def order(sentences: list[Evidence], logprobs: list[float | None], weight: float) -> list[Evidence]:
    """The first ``len(logprobs)`` of ``sentences`` ordered by ranking score + ``weight`` ×
    log-likelihood (a sentence without one keeps its place: nothing is reordered), the rest
    after them as they were."""
    head = sentences[: len(logprobs)]
    if not head or any(lp is None for lp in logprobs):
        return list(sentences)
    keyed = sorted(
        range(len(head)),
        key=lambda i: (-(head[i].score + weight * logprobs[i]), i),  # type: ignore[operator]
    )
    return [head[i] for i in keyed] + list(sentences[len(head) :])


def reorder(
    model: BaseChatModel,
    kind: str,
    question: str,
    sentences: list[Evidence],
    n: int,
    weight: float,
) -> list[Evidence]:
    """The first ``n`` of ``sentences`` ordered by :func:`order`, the question's likelihood
    read after each one, the rest after them unchanged; the ranking's order where the backend
    gives none (the first missing one stops: no further forward passes)."""
    logprobs: list[float | None] = []
    for ev in sentences[:n]:
        lp = question_logprob(model, kind, question, ev)
        if lp is None:
            return list(sentences)
        logprobs.append(lp)
    return order(sentences, logprobs, weight)
