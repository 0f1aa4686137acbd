"""Which keyword analyser (ingest/analyzer.py): retrieval with each, on development sets.

For each analyser the keyword cache of a copy of the benchmark store is rebuilt, then every
question is retrieved as ``ask`` retrieves it (hybrid: dense + BM25 fused, then the re-rank) and
by keywords alone. Printed: hit@1 / hit@5 of a passage holding a gold answer (GermanQuAD, XQuAD
German questions over all German paragraphs), or MultiHop-RAG's Hits@10 / MRR@10 (a passage
holding a gold fact), with the seconds the cache took to build.

    python -m benchmarks.bench_keywords --dataset germanquad
    python -m benchmarks.bench_keywords --dataset xquad-de --limit 300
    python -m benchmarks.bench_keywords --dataset multihop --limit 300
    python -m benchmarks.bench_keywords --analyzers stem --bm25-weights 1,2,3,5 --rerank on,off

``--bm25-weights`` and ``--rerank`` add a hybrid row per fusion weight (dense 1 : BM25 w) and
re-rank setting, for the fusion and re-rank chosen on MultiHop-RAG re-measured per language.

Development sets only (benchmarks/devsets.py; MultiHop-RAG queries outside the test sample).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.ingest.analyzer import ANALYZERS
from fundstelle.qa.engine import Engine

from benchmarks.devsets import dev_items


def _items(
    dataset: str, limit: int | None, seed: int
) -> tuple[Settings, list[tuple[str, list[str]]]]:
    settings = Settings()
    if dataset == "multihop":
        from fundstelle.eval import benchmarks as b
        from fundstelle.eval import datasets as d

        store = b.cached_store("multihop", settings, d.multihop_corpus_path(settings.data_dir))
        queries = [q for q in b.multihop_split("dev", root=settings.data_dir) if not q.is_null]
        items = [(q.query, list(q.facts)) for q in queries]
    else:
        store, items = dev_items(dataset, settings)
    if limit and limit < len(items):
        items = random.Random(seed).sample(items, limit)
    return store, items


def _measure(
    engine: Engine,
    settings: Settings,
    items: list[tuple[str, list[str]]],
    multihop: bool,
    **overrides: object,
) -> str:
    """Retrieval of ``items`` as ``ask`` retrieves with ``overrides``: "hit@1 / hit@5" or
    MultiHop-RAG's "Hits@10 / MRR@10"."""
    engine.settings = settings.with_overrides(**overrides)
    engine.retriever.settings = engine.settings
    a, b = [], []
    for question, gold in items:
        texts = [p.chunk.text for p in engine.retrieve(question).passages]
        if multihop:
            scores = m.multihop_query_scores(texts, gold)
            a.append(scores["hits@10"])
            b.append(scores["mrr@10"])
        else:
            rank = next((r for r, t in enumerate(texts, 1) if m.fact_present(t, gold)), None)
            a.append(m.hit_at_k(rank, 1))
            b.append(m.hit_at_k(rank, 5))
    return f"{m.mean(a):.3f} / {m.mean(b):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="germanquad")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--analyzers", default=",".join(ANALYZERS))
    ap.add_argument("--bm25-weights", help="BM25 weights of the fusion to compare, e.g. 1,2,3,5")
    ap.add_argument("--rerank", default="", help="on,off: hybrid with and without the re-rank")
    args = ap.parse_args()
    store, items = _items(args.dataset, args.limit, args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-keywords-"))
    copy = work / "store"
    shutil.copytree(store.store_path, copy, ignore=shutil.ignore_patterns("bm25"))
    multihop = args.dataset == "multihop"
    print(f"{args.dataset}: {len(items)} questions")
    head = "Hits@10 / MRR@10" if multihop else "hit@1 / hit@5"
    base = Settings()
    weights = [float(w) for w in args.bm25_weights.split(",")] if args.bm25_weights else [None]
    reranks = [r == "on" for r in args.rerank.split(",")] if args.rerank else [None]
    print(
        f"| analyser | BM25 weight | re-rank | hybrid {head} | keywords only {head} | "
        "cache build s |"
    )
    print("|---|---|---|---|---|---|")
    try:
        for analyzer in args.analyzers.split(","):
            settings = store.with_overrides(
                store_path=copy, keyword_analyzer=analyzer, backend="extractive", k=10
            )
            engine = Engine(settings)
            t = time.perf_counter()
            engine.retriever.bm25.sync(engine.retriever.store)
            built = time.perf_counter() - t

            alone = _measure(engine, settings, items, multihop, retrieval="bm25")
            for w in weights:
                for rr in reranks:
                    over: dict[str, object] = {"retrieval": "hybrid"}
                    if w is not None:
                        over["bm25_weight"] = w
                    if rr is not None:
                        over["rerank"] = rr
                    wcell = f"{base.bm25_weight if w is None else w:g}"
                    rcell = "on" if (base.rerank if rr is None else rr) else "off"
                    cell = _measure(engine, settings, items, multihop, **over)
                    print(
                        f"| {analyzer} | {wcell} | {rcell} | {cell} | {alone} | {built:.1f} |",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
