"""Citations are checked after generation, never trusted.

The model's own markers are only hints. Each answer sentence is matched against the evidence:
every name, number and date it states must stand in the quotes it cites or in what their
documents say about themselves (title, publisher, date; names it repeats from the question
included), and a quote must be close to it in meaning. Markers are attached where
that holds, invented ones are dropped, and a sentence no quote backs is flagged. A bare "Yes" or
"No" is backed by the sentences after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from fundstelle.ingest import lexicon
from fundstelle.ingest.sentences import sentences as split_sentences
from fundstelle.ingest.types import Chunk

from .calibration import Calibration
from .evidence import SentenceVectors
from .grounding import (
    Claim,
    attributes_speech,
    claims,
    has_word,
    speech_backed,
    ungrounded_claims,
)
from .types import AnswerSentence, Citation, Evidence

_MARKER = re.compile(r"\s*\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_VERDICT = re.compile(r"^\s*(yes|no|ja|nein)\s*[.!,]?\s*$", re.IGNORECASE)
_SHORT = 8  # words: below this a sentence is compared together with the question


def strip_markers(text: str) -> tuple[str, list[int]]:
    """Text without ``[n]`` markers, and the numbers they held."""
    nums = [int(m) for m in _MARKER.findall(text)]
    return _MARKER.sub("", text).strip(), nums


def _numbers(text: str) -> set[str]:
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}


def is_verdict(sentence: str) -> bool:
    """A bare "Yes." / "Nein.": it states nothing itself; the sentences after it must."""
    return bool(_VERDICT.match(sentence))


@dataclass
class SupportChecker:
    """Decides which evidence sentences support an answer sentence."""

    vectors: SentenceVectors
    calibration: Calibration = field(default_factory=Calibration)
    max_citations: int = 2

    def support(self, sentence: str, evidence: list[Evidence], question: str = "") -> np.ndarray:
        """Support of ``sentence`` by each evidence sentence: cosine similarity of meaning (a
        short answer together with its question: "Witkoff and Kushner" means little alone),
        plus a bonus for shared numbers, minus a penalty for numbers the evidence lacks."""
        if not evidence:
            return np.zeros(0, dtype=np.float32)
        probe = sentence
        if question and len(sentence.split()) < _SHORT:
            probe = f"{question} {sentence}"
        vecs = self.vectors.encode([probe, *[ev.text for ev in evidence]])
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
        self,
        sentence: str,
        evidence: list[Evidence],
        hints: set[int],
        question: str = "",
        language: str | None = None,
    ) -> list[tuple[Evidence, float]]:
        """The sources that back ``sentence``: at most two quotes that together hold all its
        names and numbers, close enough in meaning (a source the model named needs a little
        less). Empty when no such quotes exist."""
        if not evidence or not (has_word(sentence) or _NUMBER.search(sentence)):
            # "B", "A.": a letter has no meaning to compare and stands in any source ("Plan B")
            return []
        stated = claims(sentence, language)
        scores = self.support(sentence, evidence, question)
        cal = self.calibration
        ranked = sorted(
            zip(evidence, scores, strict=True), key=lambda x: (-float(x[1]), x[0].n not in hints)
        )

        def enough(ev: Evidence, score: float) -> bool:
            limit = cal.hinted if ev.n in hints else cal.support
            if stated:  # names or numbers tie it to the quote: meaning may be looser
                limit = min(limit, cal.floor)
            return score >= limit

        candidates = [(ev, float(sc)) for ev, sc in ranked if enough(ev, float(sc))]
        if not candidates:
            return []
        if not stated:
            best = candidates[0][1]
            near = [c for c in candidates if c[1] >= best - cal.margin]
            return near[: self.max_citations]
        # the best single quote that holds every name and number, else the best pair; a quote
        # counts with its document's title, publisher and date ("The TechCrunch article says")
        backing = {ev.n: with_provenance(ev.passage.chunk, ev.text) for ev, _ in candidates}
        for ev, sc in candidates:
            if not ungrounded_claims(stated, [backing[ev.n]]):
                return [(ev, sc)]
        top = candidates[:6]
        for i, (a, sa) in enumerate(top):
            for b, sb in top[i + 1 :]:
                if not ungrounded_claims(stated, [backing[a.n], backing[b.n]]):
                    return [(a, sa), (b, sb)]
        return []


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


def premise_missing(
    question: str, evidence: list[Evidence], language: str | None = None
) -> list[str]:
    """Names of the question that none of the passages of ``evidence`` has: the answer rests on
    a premise the sources do not state ("How many soldiers will Italy send?" answered from
    passages about European soldiers)."""
    asked: list[Claim] = [c for c in claims(question, language) if c.kind == "name"]
    if not asked or not evidence:
        return []
    chunks = {ev.passage.chunk.chunk_id: ev.passage.chunk for ev in evidence}
    return ungrounded_claims(asked, [with_provenance(c, c.text) for c in chunks.values()])


def with_provenance(chunk: Chunk, text: str) -> str:
    """``text`` of ``chunk`` with what its document says about itself (title, publisher, date):
    a question or answer may name the source ("According to TechCrunch ... published on
    November 18, 2023"), which no sentence of the article repeats."""
    parts = [text, chunk.title or "", chunk.publisher or ""]
    if chunk.date:
        parts.append(lexicon.date_words(chunk.date))
    return "\n".join(p for p in parts if p)


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

    Returns the answer text with markers renumbered 1, 2, … in order of first use, its sentences
    (each flagged supported or not) and the citations the markers resolve to.
    """
    clean, inline = strip_markers(answer)
    valid = {ev.n for ev in evidence}
    hints = {n for n in [*hinted, *inline] if n in valid}  # markers pointing nowhere are dropped
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    parts: list[str] = []
    for sentence in split_sentences(clean) or ([clean] if clean else []):
        if is_verdict(sentence):
            sentences.append(AnswerSentence(sentence, [], supported=True))
            parts.append(sentence)
            continue
        attached = checker.attach(sentence, evidence, hints, question, language)
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
    # a verdict stands only where the sentences after it are backed
    if sentences and all(is_verdict(s.text) for s in sentences if s.supported):
        for s in sentences:
            s.supported = False
    return " ".join(parts), sentences, citations


def _with_markers(sentence: str, markers: list[int]) -> str:
    """The sentence followed by its markers: "… in der Ukraine planen. [1][2]"."""
    if not markers:
        return sentence
    return sentence + " " + "".join(f"[{m}]" for m in markers)
