"""Run a gold set through the answer engine and score every item."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Answer

from . import metrics as m
from .gold import GoldItem


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def quote_matches_evidence(quote: str, evidence: str) -> bool:
    """A citation quotes the gold evidence when one contains the other (spacing ignored)."""
    q, e = _flat(quote), _flat(evidence)
    return bool(q and e) and (e in q or q in e)


def _citation_supports(quote: str, sentence: str, item: GoldItem) -> bool:
    """A cited quote supports a sentence when it is the gold evidence, or when it states a fact
    of the gold answer that the sentence states too."""
    if item.evidence and quote_matches_evidence(quote, item.evidence):
        return True
    return any(
        m.fact_present(sentence, alts) and m.fact_present(quote, alts) for alts in item.facts
    )


@dataclass
class ItemResult:
    id: str
    question: str
    lang: str | None
    type: str
    unanswerable: bool
    answer: str
    refused: bool
    outcome: str  # correct | refused | wrong
    correct: bool  # all required facts present
    cited_ok: bool  # correct and a citation quotes the evidence, no unsupported sentence
    f1: float
    hit_rank: int | None  # rank of the first retrieved passage holding the evidence
    evidence_selected: bool  # the evidence sentence was among those shown to the generator
    citation_recall: float
    citation_precision: float
    unsupported: int
    timings: dict[str, float]
    error: str | None = None
    refusal_reason: str | None = None
    draft: str = ""  # the generator's answer before the citation check
    # the gold evidence (or a required fact) was among the sentences shown to the generator
    in_evidence: bool | None = None
    language_ok: bool | None = None  # the answer is in the question's language (None: refused)
    kind: str = "answer"  # answer, quotes (the sources' words) or refusal
    words: int = 0  # the answer's length in words
    citation_support: bool | None = None  # every cited quote states its sentence's key values
    citations: list[dict[str, Any]] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)
    translations: list[dict[str, Any]] = field(default_factory=list)  # the spans' translations

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_item(item: GoldItem, answer: Answer) -> ItemResult:
    """Score one answer against its gold item (pure: no model, no store)."""
    text = answer.text
    refused = answer.refused
    correct = (not refused) and m.answer_correct(text, item.facts)
    if item.unanswerable:
        outcome = "correct" if refused else "wrong"
    else:
        outcome = "correct" if correct else ("refused" if refused else "wrong")
    sentence_rows: list[tuple[bool, list[bool]]] = []
    if not refused:
        for s in answer.sentences:
            cites = [answer.citation(n) for n in s.citations]
            sentence_rows.append(
                (True, [c is not None and _citation_supports(c.quote, s.text, item) for c in cites])
            )
    cit = (
        m.citation_scores(sentence_rows)
        if sentence_rows
        else {"citation_recall": 0.0, "citation_precision": 0.0}
    )
    quotes_evidence = (
        any(quote_matches_evidence(c.quote, item.evidence) for c in answer.citations)
        if item.evidence
        else False
    )
    supports_fact = all(
        any(m.fact_present(c.quote, alts) for c in answer.citations)
        or not m.fact_present(text, alts)
        for alts in item.facts
    )
    cited_ok = (
        correct
        and not answer.unsupported
        and (quotes_evidence or (bool(answer.citations) and supports_fact))
    )
    hit_rank = (
        m.first_hit_rank([p.chunk.text for p in answer.passages], [item.evidence])
        if item.evidence
        else None
    )
    reference = " ".join(alts[0] for alts in item.facts)
    return ItemResult(
        id=item.id,
        question=item.question,
        lang=item.lang,
        type=item.type,
        unanswerable=item.unanswerable,
        answer=text,
        refused=refused,
        outcome=outcome,
        correct=correct if not item.unanswerable else refused,
        cited_ok=cited_ok if not item.unanswerable else refused,
        f1=m.token_f1(text, reference) if reference and not refused else 0.0,
        hit_rank=hit_rank,
        evidence_selected=bool(item.evidence) and quotes_evidence,
        citation_recall=cit["citation_recall"],
        citation_precision=cit["citation_precision"],
        unsupported=len(answer.unsupported),
        timings=dict(answer.timings),
        error=answer.error,
        refusal_reason=answer.refusal_reason,
        draft=answer.draft,
        in_evidence=(
            None
            if item.unanswerable
            else any(
                (item.evidence and quote_matches_evidence(e.quote, item.evidence))
                or (item.facts and m.answer_correct(e.quote, item.facts))
                for e in answer.evidence
            )
        ),
        language_ok=None if refused else m.answer_language_ok(text, item.lang or answer.language),
        kind=answer.kind,
        words=m.answer_words(text),
        citation_support=m.citation_support(answer),
        citations=[
            {
                "n": c.n,
                "quote": c.quote,
                "words": c.words,
                "source": c.source,
                "start": c.start,
                "end": c.end,
            }
            for c in answer.citations
        ],
        passages=[
            {"title": p.chunk.title, "source": p.chunk.source, "text": p.chunk.text}
            for p in answer.passages[:3]
        ],
        translations=m.translations(answer),
    )


def run_gold(
    engine: Engine,
    items: list[GoldItem],
    *,
    on_item: Callable[[ItemResult], None] | None = None,
) -> list[ItemResult]:
    results = []
    for item in items:
        result = score_item(item, engine.answer(item.question))
        results.append(result)
        if on_item:
            on_item(result)
    return results


def summarize(results: list[ItemResult]) -> dict[str, float]:
    answerable = [r for r in results if not r.unanswerable]
    unanswerable = [r for r in results if r.unanswerable]
    out: dict[str, float] = {
        "items": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "correct": m.mean([1.0 if r.correct else 0.0 for r in answerable]),
        "correct_cited": m.mean([1.0 if r.cited_ok else 0.0 for r in answerable]),
        "unanswerable_refused": m.mean([1.0 if r.refused else 0.0 for r in unanswerable])
        if unanswerable
        else 1.0,
        "token_f1": m.mean([r.f1 for r in answerable]),
        "crag_score": m.mean([m.crag_score(r.outcome) for r in results]),
        "hit@1": m.mean([m.hit_at_k(r.hit_rank, 1) for r in answerable]),
        "hit@3": m.mean([m.hit_at_k(r.hit_rank, 3) for r in answerable]),
        "mrr": m.mean([m.reciprocal_rank(r.hit_rank) for r in answerable]),
        "evidence_cited": m.mean([1.0 if r.evidence_selected else 0.0 for r in answerable]),
        "quotes": m.mean([1.0 if r.kind == "quotes" else 0.0 for r in results]),
    }
    answered = [r for r in answerable if not r.refused]
    out["citation_recall"] = m.mean([r.citation_recall for r in answered]) if answered else 0.0
    out["citation_precision"] = (
        m.mean([r.citation_precision for r in answered]) if answered else 0.0
    )
    out.update(m.refusal_scores([(r.unanswerable, r.refused) for r in results]))
    out.update(m.loss_summary([asdict(r) for r in answerable]))
    stages = (
        "translate",
        "retrieval",
        "rerank",
        "evidence",
        "evidence_shown",
        "evidence_refined",
        "reading",
        "translation",
        "judge_other",
        "first_token",
        "total",
    )
    for stage in stages:
        values = [r.timings[stage] for r in results if stage in r.timings]
        if not values and stage not in ("retrieval", "first_token", "total"):
            continue  # a stage this configuration does not run
        out[f"{stage}_p50_s"] = m.percentile(values, 50)
        out[f"{stage}_p95_s"] = m.percentile(values, 95)
    return out
