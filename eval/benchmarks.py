"""Public benchmarks through the real pipeline: XQuAD cross-lingual and MultiHop-RAG.

Each builds (once, then cached under ``eval/cache/``) a store of the benchmark's texts with the
current chunking and embedding settings, then asks its questions through the engine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.pipeline import ingest
from ingest.settings import Settings
from qa.engine import Engine

from . import metrics as m
from .datasets import (
    DEV_ARTICLES,
    HELDOUT_ARTICLES,
    multihop_corpus_path,
    multihop_queries,
    write_xquad_collection,
    xquad,
)

CACHE = Path(__file__).resolve().parent / "cache"

Progress = Callable[[str, int, int | None], None]


def _noop(kind: str, advance: int, total: int | None) -> None:
    return None


def cached_store(
    name: str, settings: Settings, source: Path, on_progress: Progress | None = None
) -> Settings:
    """Settings of a store of ``source`` under eval/cache, built or brought up to date once."""
    key = f"{name}-c{settings.chunk_size}o{settings.chunk_overlap}-{settings.embedding_model.replace('/', '_')}"
    store_settings = settings.with_overrides(store_path=CACHE / key, chroma_url=None)
    store_settings = Settings.model_validate({**store_settings.model_dump(), "chroma_url": None})
    ingest([source], store_settings, on_progress=on_progress)
    return store_settings


@dataclass
class Run:
    summary: dict[str, float]
    rows: list[dict[str, Any]]
    config: dict[str, Any]


def xquad_xling(
    settings: Settings,
    *,
    split: str = "dev",
    limit: int | None = None,
    seed: int = 0,
    answer: bool = True,
    on_progress: Progress | None = None,
) -> Run:
    """English XQuAD questions over the German articles of ``split`` (dev: 0-23, heldout: 24-47).

    Retrieval: hit@1/hit@5 of the passage holding the German answer span. Answers: correct when
    the English or the German gold answer is in the answer (normalised).
    """
    progress = on_progress or _noop
    articles_range = DEV_ARTICLES if split == "dev" else HELDOUT_ARTICLES
    articles, items = xquad(articles_range)
    source = write_xquad_collection(articles, CACHE / f"xquad-de-{split}.jsonl")
    store_settings = cached_store(f"xquad-{split}", settings, source, progress)
    if limit:
        items = random.Random(seed).sample(items, min(limit, len(items)))
    engine = Engine(store_settings)
    by_article = {a.index: a for a in articles}
    rows = []
    progress("questions", 0, len(items))
    for it in items:
        art = by_article[it.article]
        a0 = art.offset_de(it.paragraph) + it.answer_start_de
        a1 = a0 + len(it.answer_de)

        def holds(p: Any, art: Any = art, a0: int = a0, a1: int = a1) -> bool:
            c = p.chunk
            return c.url == art.url and c.start <= a0 and a1 <= c.end

        row: dict[str, Any] = {
            "id": it.qid,
            "question": it.question_en,
            "gold": f"{it.answer_en} | {it.answer_de}",
        }
        # retrieval is scored on the retriever's own ranking (with its re-rank) whether or not
        # the question is also answered, so that every row is measured the same way
        passages = engine.retrieve(it.question_en).passages
        if answer:
            ans = engine.answer(it.question_en)
            row["answer"] = ans.text
            row["refused"] = ans.refused
            row["correct"] = (not ans.refused) and (
                m.fact_present(ans.text, [it.answer_en]) or m.fact_present(ans.text, [it.answer_de])
            )
            row["total_s"] = ans.timings.get("total", 0.0)
            row["retrieval_s"] = ans.timings.get("retrieval", 0.0)
        rank = next((r for r, p in enumerate(passages, start=1) if holds(p)), None)
        row["rank"] = rank
        rows.append(row)
        progress("questions", 1, None)
    summary = {
        "questions": len(rows),
        "hit@1": m.mean([m.hit_at_k(r["rank"], 1) for r in rows]),
        "hit@5": m.mean([m.hit_at_k(r["rank"], 5) for r in rows]),
        "mrr": m.mean([m.reciprocal_rank(r["rank"]) for r in rows]),
    }
    if answer:
        summary["accuracy"] = m.mean([1.0 if r["correct"] else 0.0 for r in rows])
        summary["refused"] = m.mean([1.0 if r["refused"] else 0.0 for r in rows])
        summary["total_p50_s"] = m.percentile([r["total_s"] for r in rows], 50)
    config = {
        "split": split,
        "articles": f"{articles_range.start}-{articles_range.stop - 1}",
        "limit": limit,
        "seed": seed,
    }
    return Run(summary, rows, config)


def multihop_rag(
    settings: Settings,
    *,
    limit: int | None = None,
    seed: int = 0,
    answer_sample: int = 50,
    null_sample: int | None = None,
    on_progress: Progress | None = None,
) -> Run:
    """MultiHop-RAG: retrieval (Hits@4/@10, MAP@10, MRR@10 as upstream defines them) on the
    non-null queries, answer accuracy on a seeded sample of them, and a seeded sample of the null
    queries as refusal tests (default a fifth of ``answer_sample``, at least one), both answered
    by the configured generator."""
    progress = on_progress or _noop
    store_settings = cached_store("multihop", settings, multihop_corpus_path(), progress)
    engine = Engine(store_settings)
    queries = multihop_queries()
    rng = random.Random(seed)
    if limit:
        queries = rng.sample(queries, min(limit, len(queries)))
    non_null = [q for q in queries if not q.is_null]
    null = [q for q in queries if q.is_null]
    to_answer = {q.qid for q in rng.sample(non_null, min(answer_sample, len(non_null)))}
    if null_sample is None:  # a fifth as many null queries, at least one
        null_sample = max(answer_sample // 5, 1) if answer_sample > 0 else 0
    to_answer |= {q.qid for q in rng.sample(null, min(null_sample, len(null)))}
    rows = []
    progress("questions", 0, len(queries))
    for q in queries:
        row: dict[str, Any] = {
            "id": q.qid,
            "question": q.query,
            "type": q.question_type,
            "gold": q.answer,
        }
        passages = engine.retrieve(q.query, k=10).passages  # scored alike for every row
        if q.qid in to_answer:
            ans = engine.answer(q.query, k=10)
            row["answer"] = ans.text
            row["refused"] = ans.refused
            # upstream's token rule, on answer and gold without markers and punctuation
            row["correct"] = (not ans.refused) and m.multihop_answer_correct(
                m.multihop_plain(ans.text), m.multihop_plain(q.answer)
            )
        if not q.is_null:
            row.update(m.multihop_query_scores([p.chunk.text for p in passages], q.facts))
        rows.append(row)
        progress("questions", 1, None)
    scored = [r for r in rows if "hits@10" in r]
    summary: dict[str, float] = {"queries": len(scored)}
    if scored:
        summary.update(
            {k: m.mean([r[k] for r in scored]) for k in ("hits@4", "hits@10", "map@10", "mrr@10")}
        )
    answered = [r for r in rows if "answer" in r and r["type"] != "null_query"]
    nulls = [r for r in rows if "answer" in r and r["type"] == "null_query"]
    if answered:  # a retrieval-only run has no answer figures rather than zeros
        summary["accuracy"] = m.mean([1.0 if r["correct"] else 0.0 for r in answered])
        summary["answered_sample"] = len(answered)
    if nulls:
        summary["null_refused"] = m.mean([1.0 if r["refused"] else 0.0 for r in nulls])
        summary["null_sample"] = len(nulls)
    config = {
        "limit": limit,
        "seed": seed,
        "answer_sample": answer_sample,
        "null_sample": null_sample,
    }
    return Run(summary, rows, config)
