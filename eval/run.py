"""One entry point for ``fundstelle eval``: a gold set on the current store, or a public
benchmark (XQuAD, MultiHop-RAG) on a store built from it; writes the JSON, Markdown and PNG
reports and returns what it measured."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fundstelle.core.settings import Settings

DATASETS = ("gold", "xquad-xling", "xquad-de", "germanquad", "multihop-rag")
GOLD_COLUMNS = ("id", "lang", "type", "outcome", "cited_ok", "hit_rank", "answer")
RUNS = Path("eval") / "runs"

Progress = Callable[[str, int, int | None], None]


@dataclass
class EvalReport:
    """What one evaluation measured, and where its reports were written."""

    kind: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    config: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def _base_config(settings: Settings) -> dict[str, Any]:
    return {
        "backend": settings.backend,
        "model": settings.llm_model or "default",
        "retrieval": settings.retrieval,
        "rerank": settings.rerank,
        "fusion": settings.fusion,
        "translate": settings.translate_queries,
        "chunk_size": settings.chunk_size,
        "embedding": settings.embedding_model,
        # every other setting not at its default (keys left out), so that a variant's report
        # says what it varied
        "non_default": _non_default(settings),
    }


_SECRET = ("api_key",)


def _non_default(settings: Settings) -> dict[str, Any]:
    values = settings.model_dump(mode="json")
    out: dict[str, Any] = {}
    for name, info in type(settings).model_fields.items():
        if any(s in name for s in _SECRET) or info.default_factory is not None:
            continue
        default = info.default
        if hasattr(default, "__fspath__"):
            default = str(default)
        if values.get(name) != default:
            out[name] = values.get(name)
    return out


def run_eval(
    settings: Settings,
    dataset: str = "gold",
    *,
    gold: Path | None = None,
    split: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    answer_sample: int = 50,
    null_sample: int | None = None,
    retrieval_only: bool = False,
    out: Path | None = None,
    compare: Path | None = None,
    runs: Path = RUNS,
    on_progress: Progress | None = None,
) -> EvalReport:
    """Run ``dataset`` ("gold", "xquad-xling", "xquad-de", "germanquad" or "multihop-rag") and write its
    report to ``out`` (default ``runs/<time>-<kind>``), compared with ``compare`` (default: the
    latest earlier run of the same kind under ``runs``)."""
    from fundstelle.eval import benchmarks
    from fundstelle.eval.gold import DEFAULT_GOLD, load_gold
    from fundstelle.eval.report import latest_run, write_report
    from fundstelle.eval.runner import run_gold, summarize
    from fundstelle.qa.engine import Engine

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; one of {', '.join(DATASETS)}")
    progress = on_progress or (lambda kind, advance, total: None)
    config = _base_config(settings)
    failures: list[dict[str, Any]] | None = None
    mode = "retrieval" if retrieval_only else settings.backend
    if dataset == "gold":
        path = gold or DEFAULT_GOLD
        items = load_gold(path)
        if limit:
            items = random.Random(seed).sample(items, min(limit, len(items)))
        kind = f"gold-{path.stem}-{settings.backend}-{settings.retrieval}"
        progress("questions", 0, len(items))
        results = run_gold(
            Engine(settings), items, on_item=lambda r: progress("questions", 1, None)
        )
        summary = summarize(results)
        rows = [r.to_dict() for r in results]
        failures = [r for r in rows if r["outcome"] != "correct" or not r["cited_ok"]]
        config["gold"] = str(path)
        columns: tuple[str, ...] = GOLD_COLUMNS
    elif dataset in ("xquad-xling", "xquad-de", "germanquad"):
        if dataset == "germanquad":
            split = "test" if split in ("heldout", "test") else "dev"
        else:
            split = "heldout" if split in ("heldout", "test") else "dev"
        name = {"xquad-xling": "xquad", "xquad-de": "xquad-de"}.get(dataset, dataset)
        kind = f"{name}-{split}-{mode}-{settings.retrieval}"
        runner = {
            "xquad-xling": benchmarks.xquad_xling,
            "xquad-de": benchmarks.xquad_german,
            "germanquad": benchmarks.germanquad_open,
        }[dataset]
        run = runner(
            settings,
            split=split,
            limit=limit,
            seed=seed,
            answer=not retrieval_only,
            on_progress=on_progress,
        )
        summary, rows, config = run.summary, run.rows, {**config, **run.config}
        failures = [r for r in rows if r.get("rank") != 1 or r.get("correct") is False][:30]
        columns = (
            ("id", "rank", "question", "gold")
            if retrieval_only
            else ("id", "rank", "correct", "refusal_reason", "question", "gold", "answer")
        )
    else:
        split = "test" if split == "heldout" else split
        kind = f"multihop-{split or 'sample'}-{mode}-{settings.retrieval}"
        run = benchmarks.multihop_rag(
            settings,
            split=split,
            limit=limit,
            seed=seed,
            answer_sample=0 if retrieval_only else answer_sample,
            null_sample=0 if retrieval_only else null_sample,
            on_progress=on_progress,
        )
        summary, rows, config = run.summary, run.rows, {**config, **run.config}
        columns = ("id", "type", "hits@10", "mrr@10", "correct", "question", "gold", "answer")
    target = out or runs / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}"
    previous = compare or latest_run(runs, kind)
    paths = write_report(
        target, kind, summary, rows, config, previous=previous, failures=failures, columns=columns
    )
    return EvalReport(kind, summary, rows, config, paths)
