"""Public benchmarks through the real pipeline: XQuAD cross-lingual and MultiHop-RAG.

Each builds (once, then cached under ``eval/cache/``) a store of the benchmark's texts with the
current chunking and embedding settings, then asks its questions through the engine.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Answer

from . import metrics as m
from .datasets import (
    DEV_ARTICLES,
    HELDOUT_ARTICLES,
    GermanQuADItem,
    XQuADItem,
    germanquad,
    multihop_corpus_path,
    multihop_queries,
    paragraph_url,
    require,
    write_german_corpus,
    write_xquad_collection,
    write_xquad_paragraphs,
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
    if settings.data_dir is not None:  # another copy of the data (or a fixture) gets its own store
        key += "-" + hashlib.sha1(str(settings.data_dir.resolve()).encode()).hexdigest()[:8]
    store_settings = settings.with_overrides(store_path=CACHE / key, chroma_url=None)
    store_settings = Settings.model_validate({**store_settings.model_dump(), "chroma_url": None})
    ingest([source], store_settings, on_progress=on_progress)
    return store_settings


@dataclass
class Run:
    summary: dict[str, float]
    rows: list[dict[str, Any]]
    config: dict[str, Any]


def answer_row(ans: Answer, forms: list[str], question_lang: str) -> dict[str, Any]:
    """How one answer did against its gold forms (any one form counts): correct, cited (a quote
    it cites holds the gold too), refused and why, whether the gold was inside the evidence the
    generator saw, and whether it is written in the question's language."""
    correct = (not ans.refused) and m.fact_present(ans.text, forms)
    return {
        "answer": ans.text,
        "kind": ans.kind,
        "refused": ans.refused,
        "refusal_reason": ans.refusal_reason,
        "draft": ans.draft,
        "correct": correct,
        "cited": correct and any(m.fact_present(c.quote, forms) for c in ans.citations),
        "f1": None if ans.refused else max(m.token_f1(ans.text, f) for f in forms if f),
        "words": m.answer_words(ans.text),
        "citation_support": m.citation_support(ans),
        "in_evidence": any(m.fact_present(e.quote, forms) for e in ans.evidence),
        "citations": [
            {"n": c.n, "quote": c.quote, "words": c.words, "title": c.title} for c in ans.citations
        ],
        "language_ok": None if ans.refused else m.answer_language_ok(ans.text, question_lang),
        "translations": m.translations(ans),
        "total_s": ans.timings.get("total", 0.0),
        "first_token_s": ans.timings.get("first_token"),
        "evidence_s": ans.timings.get("evidence_shown"),
        # where the question was translated: when the evidence found with it replaced the early
        "refined_s": ans.timings.get("evidence_refined"),
        "retrieval_s": ans.timings.get("retrieval", 0.0),
    }


def answer_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    answered = [r for r in rows if "answer" in r]
    if not answered:
        return {}
    out = {
        "accuracy": m.mean([1.0 if r["correct"] else 0.0 for r in answered]),
        "correct_cited": m.mean([1.0 if r["cited"] else 0.0 for r in answered]),
        "refused": m.mean([1.0 if r["refused"] else 0.0 for r in answered]),
        "answered_sample": len(answered),
    }
    out.update(m.loss_summary(answered))
    out["total_p50_s"] = m.percentile([r["total_s"] for r in answered], 50)
    firsts = [r["first_token_s"] for r in answered if r.get("first_token_s") is not None]
    if firsts:
        out["first_token_p50_s"] = m.percentile(firsts, 50)
    shown = [r["evidence_s"] for r in answered if r.get("evidence_s") is not None]
    if shown:
        out["evidence_shown_p50_s"] = m.percentile(shown, 50)
    refined = [r["refined_s"] for r in answered if r.get("refined_s") is not None]
    if refined:
        out["evidence_refined_p50_s"] = m.percentile(refined, 50)
    return out


def _retrieval_rank(passages: list[Any], holds: Callable[[Any], bool]) -> int | None:
    return next((r for r, p in enumerate(passages, start=1) if holds(p)), None)


def xquad_xling(
    settings: Settings,
    *,
    split: str = "dev",
    limit: int | None = None,
    seed: int = 0,
    answer: bool = True,
    on_progress: Progress | None = None,
) -> Run:
    """English XQuAD questions over the German articles of ``split`` (dev: 0-23, heldout:
    24-47), one document per article.

    Retrieval: hit@1/hit@5 of the passage holding the German answer span, in the passages the
    answer was drawn from (``Answer.passages``; the same ``Engine.retrieve`` when only retrieval
    is measured). Answers: correct when the English or the German gold answer is in the answer
    (normalised); cited when a quote it cites holds it too.
    """
    progress = on_progress or _noop
    articles_range = DEV_ARTICLES if split == "dev" else HELDOUT_ARTICLES
    articles, items = xquad(articles_range, settings.data_dir)
    source = write_xquad_collection(articles, CACHE / f"xquad-de-{split}.jsonl")
    store_settings = cached_store(f"xquad-{split}", settings, source, progress)
    by_article = {a.index: a for a in articles}

    def span(it: XQuADItem) -> tuple[str, int, int]:
        art = by_article[it.article]
        a0 = art.offset_de(it.paragraph) + it.answer_start_de
        return art.url, a0, a0 + len(it.answer_de)

    rows = _xquad_rows(Engine(store_settings), items, "en", span, limit, seed, answer, progress)
    config = {
        "split": split,
        "articles": f"{articles_range.start}-{articles_range.stop - 1}",
        "questions": "en",
        "limit": limit,
        "seed": seed,
    }
    return Run(_xquad_summary(rows), rows, config)


def xquad_german(
    settings: Settings,
    *,
    split: str = "dev",
    limit: int | None = None,
    seed: int = 0,
    answer: bool = True,
    on_progress: Progress | None = None,
) -> Run:
    """XQuAD's German questions of ``split`` over an open corpus of all 240 German paragraphs
    (articles 0-47), each paragraph its own document: German questions over German text, where
    the right paragraph must be found among many of the same article."""
    progress = on_progress or _noop
    articles, _ = xquad(range(0, 48), settings.data_dir)
    source = write_xquad_paragraphs(articles, CACHE / "xquad-de-paragraphs.jsonl")
    store_settings = cached_store("xquad-paragraphs", settings, source, progress)
    _, items = xquad(DEV_ARTICLES if split == "dev" else HELDOUT_ARTICLES, settings.data_dir)

    def span(it: XQuADItem) -> tuple[str, int, int]:
        return (
            paragraph_url(it.article, it.paragraph),
            it.answer_start_de,
            it.answer_start_de + len(it.answer_de),
        )

    rows = _xquad_rows(Engine(store_settings), items, "de", span, limit, seed, answer, progress)
    config = {"split": split, "corpus": "all 240 paragraphs", "questions": "de", "limit": limit}
    config["seed"] = seed
    return Run(_xquad_summary(rows), rows, config)


def _xquad_rows(
    engine: Engine,
    items: list[XQuADItem],
    questions: str,
    span: Callable[[XQuADItem], tuple[str, int, int]],
    limit: int | None,
    seed: int,
    answer: bool,
    progress: Progress,
) -> list[dict[str, Any]]:
    if limit:
        items = random.Random(seed).sample(items, min(limit, len(items)))
    rows = []
    progress("questions", 0, len(items))
    for it in items:
        url, a0, a1 = span(it)

        def holds(p: Any, url: str = url, a0: int = a0, a1: int = a1) -> bool:
            c = p.chunk
            return c.url == url and c.start <= a0 and a1 <= c.end

        question = it.question_en if questions == "en" else it.question_de
        row: dict[str, Any] = {
            "id": it.qid,
            "question": question,
            "gold": f"{it.answer_en} | {it.answer_de}",
        }
        if answer:
            ans = engine.answer(question)
            passages = ans.passages
            row.update(answer_row(ans, [it.answer_en, it.answer_de], questions))
        else:
            passages = engine.retrieve(question).passages
        row["rank"] = _retrieval_rank(passages, holds)
        rows.append(row)
        progress("questions", 1, None)
    return rows


def _xquad_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    summary = {
        "questions": len(rows),
        "hit@1": m.mean([m.hit_at_k(r["rank"], 1) for r in rows]),
        "hit@5": m.mean([m.hit_at_k(r["rank"], 5) for r in rows]),
        "mrr": m.mean([m.reciprocal_rank(r["rank"]) for r in rows]),
    }
    summary.update(answer_summary(rows))
    return summary


def germanquad_open(
    settings: Settings,
    *,
    split: str = "dev",
    limit: int | None = None,
    seed: int = 0,
    answer: bool = True,
    on_progress: Progress | None = None,
) -> Run:
    """German questions of the GermanQuAD slice (``split``: dev or test, by article) over an
    open German corpus: the slice's 62 Wikipedia paragraphs and XQuAD's 240 German paragraphs,
    each its own document. Retrieval: the rank of the first passage of the right paragraph that
    holds an annotated answer; answers: correct when one of the annotated answers is in it."""
    progress = on_progress or _noop
    paragraphs, items = germanquad()
    articles, _ = xquad(range(0, 48), settings.data_dir)
    source = write_german_corpus(paragraphs, articles, CACHE / "german-open.jsonl")
    store_settings = cached_store("german-open", settings, source, progress)
    wanted = {p.document_id for p in paragraphs if p.split == split}
    items = [it for it in items if it.paragraph in wanted]
    if limit:
        items = random.Random(seed).sample(items, min(limit, len(items)))
    engine = Engine(store_settings)
    rows = []
    progress("questions", 0, len(items))
    for it in items:
        rows.append(_germanquad_row(engine, it, answer))
        progress("questions", 1, None)
    config = {"split": split, "corpus": "62 GermanQuAD + 240 XQuAD paragraphs", "limit": limit}
    config["seed"] = seed
    return Run(_xquad_summary(rows), rows, config)


def _germanquad_row(engine: Engine, it: GermanQuADItem, answer: bool) -> dict[str, Any]:
    url = f"germanquad:{it.paragraph}"

    def holds(p: Any) -> bool:
        return p.chunk.url == url and any(a in p.chunk.text for a in it.answers)

    row: dict[str, Any] = {"id": it.qid, "question": it.question, "gold": " | ".join(it.answers)}
    if answer:
        ans = engine.answer(it.question)
        passages = ans.passages
        row.update(answer_row(ans, list(it.answers), "de"))
    else:
        passages = engine.retrieve(it.question).passages
    row["rank"] = _retrieval_rank(passages, holds)
    return row


MULTIHOP_TEST_SIZE = 300  # the seeded evaluation sample; the rest is for development


def multihop_split(split: str, seed: int = 0, root: Path | None = None) -> list[Any]:
    """MultiHop-RAG queries of a split: ``test`` is the seeded 300-query sample (seed 0) that is
    only ever reported, ``dev`` every other query."""
    queries = multihop_queries(root)
    test = random.Random(0).sample(queries, MULTIHOP_TEST_SIZE)
    if split == "test":
        return test
    held = {q.qid for q in test}
    return [q for q in queries if q.qid not in held]


_YES_NO = {"yes", "no"}


def multihop_rag(
    settings: Settings,
    *,
    limit: int | None = None,
    seed: int = 0,
    answer_sample: int = 50,
    null_sample: int | None = None,
    split: str | None = None,
    on_progress: Progress | None = None,
) -> Run:
    """MultiHop-RAG: retrieval (Hits@4/@10, MAP@10, MRR@10 as upstream defines them) on the
    non-null queries, answer accuracy on a seeded sample of them, and a seeded sample of the null
    queries as refusal tests (default a fifth of ``answer_sample``, at least one), both answered
    by the configured generator with k = 10 (the passages Hits@10 scores are those the answer
    was drawn from).

    ``split``: ``test`` (the seeded 300-query sample), ``dev`` (the other queries, ``limit`` of
    them drawn with ``seed``), or ``None`` for the older behaviour: ``limit`` queries drawn from
    all of them with ``seed`` (``--limit 300 --seed 0`` is the test sample)."""
    progress = on_progress or _noop
    root = settings.data_dir
    require("multihop-rag", root)
    store_settings = cached_store("multihop", settings, multihop_corpus_path(root), progress)
    engine = Engine(store_settings)
    rng = random.Random(seed)
    if split:
        queries = multihop_split(split, root=root)
        if split == "dev" and limit:
            queries = rng.sample(queries, min(limit, len(queries)))
    else:
        queries = multihop_queries(root)
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
        if q.qid in to_answer:
            ans = engine.answer(q.query, k=10)
            passages = ans.passages
            gold = m.multihop_plain(q.answer).strip()
            row.update(answer_row(ans, [gold], "en"))
            # upstream's token rule, on answer and gold without markers and punctuation
            row["correct"] = (not ans.refused) and m.multihop_answer_correct(
                m.multihop_plain(ans.text), gold
            )
            row["cited"] = row["correct"] and bool(ans.citations)
            if q.is_null or gold.lower() in _YES_NO:
                row["in_evidence"] = None  # a yes or no is not written in any source
        else:
            passages = engine.retrieve(q.query, k=10).passages
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
    summary.update(answer_summary(answered))  # a retrieval-only run has no answer figures
    if answered:
        summary["wrong_refusals"] = summary.pop("refused")
    if nulls:
        summary["null_refused"] = m.mean([1.0 if r["refused"] else 0.0 for r in nulls])
        summary["null_sample"] = len(nulls)
    config = {
        "split": split,
        "limit": limit,
        "seed": seed,
        "answer_sample": answer_sample,
        "null_sample": null_sample,
    }
    return Run(summary, rows, config)
