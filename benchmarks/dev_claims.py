"""Development check of claims by source (``FUNDSTELLE_SOURCE_CLAIMS``, qa/mentions.py) on
MultiHop-RAG development queries (never the 300-query test sample).

Answers a seeded sample of the yes/no development queries that ``source_claims`` splits into
claims, on the path ``ask`` takes, with the setting on and off, and prints per question the
gold, both answers, whether each is right by MultiHop-RAG's rule, and the judge's P(yes) of
each claim's passed sentence (so that a confidence floor can be read off one run).

    python -m benchmarks.dev_claims --types comparison_query --n 40 --seed 3
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.eval.benchmarks import cached_store, multihop_split
from fundstelle.eval.datasets import multihop_corpus, multihop_corpus_path
from fundstelle.qa.engine import Engine
from fundstelle.qa.mentions import source_claims
from fundstelle.qa.question import opens_yes_no


def _judging(engine: Engine, log: list[dict]) -> None:
    """Record every judge call of ``engine`` into ``log`` (question, sentences, index passed,
    P(yes)); once per engine, the caller empties ``log`` between questions."""
    inner = engine._judge

    def judged(question, evidence, unjudged=0):  # type: ignore[no-untyped-def]
        i, p = inner(question, evidence, unjudged)
        log.append({"q": question, "n": len(evidence), "chosen": i, "p": p})
        return i, p

    engine._judge = judged  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--types", nargs="+", default=["comparison_query"])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=["on", "off"])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = Settings()
    store = cached_store("multihop", base, multihop_corpus_path(base.data_dir))  # settings
    outlets = {a["source"] for a in multihop_corpus(base.data_dir)}
    queries = [
        q
        for q in multihop_split("dev", root=base.data_dir)
        if q.question_type in args.types
        and opens_yes_no(q.query)
        and source_claims(q.query, outlets)
    ]
    sample = random.Random(args.seed).sample(queries, min(args.n, len(queries)))
    first = Engine(store.model_copy(update={"source_claims": args.variants[0] == "on"}))
    engines = {args.variants[0]: first}
    for v in args.variants[1:]:  # one model and one retriever for all variants
        engines[v] = Engine(
            store.model_copy(update={"source_claims": v == "on"}),
            retriever=first.retriever,
            chat_model=first.chat_model,
        )
    logs: dict[str, list[dict]] = {v: [] for v in engines}
    for v, engine in engines.items():
        _judging(engine, logs[v])
    rows = []
    for q in sample:
        gold = m.multihop_plain(q.answer).strip()
        row: dict = {"id": q.qid, "type": q.question_type, "question": q.query, "gold": q.answer}
        for v, engine in engines.items():
            log = logs[v]
            log.clear()
            ans = engine.answer(q.query, k=10)
            right = (not ans.refused) and m.multihop_answer_correct(
                m.multihop_plain(ans.text), gold
            )
            row[v] = {
                "answer": ans.text,
                "kind": ans.kind,
                "reason": ans.refusal_reason,
                "right": right,
                "claims": "claims" in ans.timings,
                "judged": list(log),
                "total_s": round(ans.timings.get("total", 0.0), 2),
                "citations": [
                    {"quote": c.quote, "source": c.source, "publisher": c.publisher, "date": c.date}
                    for c in ans.citations
                ],
            }
        rows.append(row)
        print(
            json.dumps(
                {"id": q.qid, "gold": q.answer}
                | {v: (row[v]["right"], row[v]["kind"]) for v in engines}
            ),
            "|",
            " || ".join(row[v]["answer"][:100] for v in engines),
            flush=True,
        )
        if args.out:
            with args.out.open("a") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    n = len(rows)
    for v in engines:
        right = sum(r[v]["right"] for r in rows)
        yes = sum(r[v]["answer"].lower().startswith("yes") for r in rows)
        print(f"{v}: right {right} of {n} ({right / n:.2f}); 'yes' answers {yes}")


if __name__ == "__main__":
    main()
