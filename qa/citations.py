"""Citations are checked after generation, never trusted.

The model's own markers are only hints: each answer sentence is matched against the evidence
(meaning across languages, shared names and numbers), markers are attached where a source supports
the sentence, invented ones are dropped, and a sentence no source supports is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ingest.sentences import sentences as split_sentences

from .evidence import SentenceVectors
from .grounding import attributes_speech, has_word, name_tokens, speech_backed, ungrounded
from .types import AnswerSentence, Citation, Evidence

_MARKER = re.compile(r"\s*\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-ZÄÖÜ][\w\-]{2,}")


def strip_markers(text: str) -> tuple[str, list[int]]:
    """Text without ``[n]`` markers, and the numbers they held."""
    nums = [int(m) for m in _MARKER.findall(text)]
    return _MARKER.sub("", text).strip(), nums


def _numbers(text: str) -> set[str]:
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}


@dataclass
class SupportChecker:
    """Decides which evidence sentences support an answer sentence."""

    vectors: SentenceVectors
    threshold: float = 0.80  # support needed for a source the model did not name
    hinted_threshold: float = 0.79  # support needed for a source the model named
    margin: float = 0.03  # a second source must be nearly as close as the best one
    lexical_floor: float = 0.75  # a longer sentence backed by names needs this much meaning too
    max_citations: int = 2

    def support(self, sentence: str, evidence: list[Evidence]) -> np.ndarray:
        """Support of ``sentence`` by each evidence sentence: cosine similarity of meaning, plus a
        bonus for shared numbers, minus a penalty for numbers the evidence does not have."""
        if not evidence:
            return np.zeros(0, dtype=np.float32)
        vecs = self.vectors.encode([sentence, *[ev.text for ev in evidence]])
        sims = vecs[1:] @ vecs[0]
        nums = _numbers(sentence)
        out = []
        for ev, sim in zip(evidence, sims, strict=True):
            score = float(sim)
            if nums:
                ev_nums = _numbers(ev.text)
                score += 0.03 * len(nums & ev_nums) - 0.05 * len(nums - ev_nums)
            out.append(score)
        return np.array(out, dtype=np.float32)

    def attach(
        self, sentence: str, evidence: list[Evidence], hinted: set[int]
    ) -> list[tuple[Evidence, float]]:
        scores = self.support(sentence, evidence)
        chosen: list[tuple[Evidence, float]] = []
        for ev, score in sorted(zip(evidence, scores, strict=True), key=lambda x: -x[1]):
            limit = self.hinted_threshold if ev.n in hinted else self.threshold
            if score >= limit and (not chosen or score >= chosen[0][1] - self.margin):
                chosen.append((ev, float(score)))
        return chosen[: self.max_citations]


def _attach(
    sentence: str,
    evidence: list[Evidence],
    hints: set[int],
    checker: SupportChecker,
    question: str,
    language: str | None,
) -> list[tuple[Evidence, float]]:
    """Sources for one answer sentence.

    A short answer ("Hakan Fidan", "Australia and Japan") is too short for similarity of meaning:
    a source that contains every name and number of it supports it. Otherwise a source must be
    close in meaning, and the names and numbers must stand in the sources cited (or named by the
    model) for it; if not, the sentence is a slip or outside knowledge and gets no citation.
    """
    if not (has_word(sentence) or _NUMBER.search(sentence)):
        # "B", "A.": a letter has no meaning to compare and stands in any source ("Plan B")
        return []
    names = name_tokens(sentence, question, language)
    if names:
        holding = [ev for ev in evidence if not ungrounded(sentence, [ev.text], question, language)]
        if holding:
            scores = checker.support(sentence, holding)
            short = len(sentence.split()) <= 8
            ranked = sorted(
                zip(holding, scores, strict=True), key=lambda x: (x[0].n not in hints, -x[1])
            )
            ranked = [(ev, float(sc)) for ev, sc in ranked if short or sc >= checker.lexical_floor]
            if ranked:
                return ranked[:1]
    attached = checker.attach(sentence, evidence, hints)
    backing = [ev.text for ev, _ in attached] + [ev.text for ev in evidence if ev.n in hints]
    if attached and ungrounded(sentence, backing, question, language):
        return []
    return attached


def make_citation(n: int, ev: Evidence, support: float) -> Citation:
    c = ev.chunk
    return Citation(
        n=n,
        quote=ev.text,
        doc_id=c.doc_id,
        source=c.source,
        title=c.title,
        date=c.date,
        url=c.url,
        start=ev.start,
        end=ev.end,
        page=c.page,
        context=c.text,
        context_start=c.start,
        support=support,
        publisher=c.publisher,
    )


def cite(
    answer: str,
    hinted: list[int],
    evidence: list[Evidence],
    checker: SupportChecker,
    *,
    question: str = "",
    language: str | None = None,
) -> tuple[str, list[AnswerSentence], list[Citation]]:
    """Attach checked citations to each sentence of ``answer``.

    A sentence is supported when a source is close to it in meaning and every name and number it
    states is in the sources. Returns the answer text with markers renumbered 1, 2, … in order of
    first use, its sentences (each flagged supported or not) and the citations the markers resolve to.
    """
    clean, inline = strip_markers(answer)
    valid = {ev.n for ev in evidence}
    hints = {n for n in [*hinted, *inline] if n in valid}  # markers pointing nowhere are dropped
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    parts: list[str] = []
    for sentence in split_sentences(clean) or ([clean] if clean else []):
        attached = _attach(sentence, evidence, hints, checker, question, language)
        if attributes_speech(sentence) and not speech_backed([ev.text for ev, _ in attached]):
            attached = []  # "X said ..." where no cited source reports anyone saying anything
        markers = []
        for ev, support in attached:
            if ev.n not in numbering:
                numbering[ev.n] = len(numbering) + 1
                citations.append(make_citation(numbering[ev.n], ev, support))
            markers.append(numbering[ev.n])
        sentences.append(AnswerSentence(sentence, markers, supported=bool(markers)))
        parts.append(_with_markers(sentence, markers))
    return " ".join(parts), sentences, citations


def _with_markers(sentence: str, markers: list[int]) -> str:
    """The sentence followed by its markers: "… in der Ukraine planen. [1][2]"."""
    if not markers:
        return sentence
    return sentence + " " + "".join(f"[{m}]" for m in markers)
