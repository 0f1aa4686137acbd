"""Development check of bridge answers (qa/bridge.py) on MultiHop-RAG development queries.

Answers a seeded sample of development queries of the given types (never the 300-query test
sample) on the path ``ask`` takes, and prints per question whether a bridge answered and
whether the answer is right by MultiHop-RAG's rule, then the totals with and without the
bridge (an answer that did not come from the bridge is the same either way: the bridge only
runs where nothing else answered).

    python -m benchmarks.dev_bridge --types inference_query --n 30 --seed 11
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.eval.benchmarks import cached_store, multihop_split
from fundstelle.eval.datasets import multihop_corpus_path
from fundstelle.qa.engine import Engine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--types", nargs="+", default=["inference_query"])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--bridge-only",
        action="store_true",
        help="only questions qa.bridge reads as bridge questions",
    )
    args = ap.parse_args()
    settings = Settings()
    store = cached_store("multihop", settings, multihop_corpus_path(settings.data_dir))
    engine = Engine(store)
    queries = [
        q for q in multihop_split("dev", root=settings.data_dir) if q.question_type in args.types
    ]
    if args.bridge_only:
        from fundstelle.eval.datasets import multihop_corpus
        from fundstelle.qa.bridge import entity_question

        outlets = {a["source"] for a in multihop_corpus(settings.data_dir)}
        queries = [q for q in queries if entity_question(q.query, outlets)]
    sample = random.Random(args.seed).sample(queries, min(args.n, len(queries)))
    rows = []
    for q in sample:
        ans = engine.answer(q.query, k=10)
        gold = m.multihop_plain(q.answer).strip()
        right = (not ans.refused) and m.multihop_answer_correct(m.multihop_plain(ans.text), gold)
        # the bridge runs only where nothing else was verified: an answer after it is its own
        bridged = "bridge" in ans.timings and ans.kind == "answer"
        row = {
            "id": q.qid,
            "type": q.question_type,
            "gold": q.answer,
            "answer": ans.text,
            "kind": ans.kind,
            "reason": ans.refusal_reason,
            "right": right,
            "bridged": bridged,
            "bridge_s": round(ans.timings.get("bridge", 0.0), 2),
            "total_s": round(ans.timings.get("total", 0.0), 2),
            "quotes": [c.quote for c in ans.citations],
        }
        rows.append(row)
        print(
            json.dumps({k: row[k] for k in ("id", "gold", "right", "bridged", "bridge_s", "kind")}),
            "|",
            ans.text[:160],
            flush=True,
        )
    n = len(rows)
    with_bridge = sum(r["right"] for r in rows)
    without = sum(r["right"] and not r["bridged"] for r in rows)
    wrong_bridge = sum(r["bridged"] and not r["right"] for r in rows)
    print(
        f"questions {n}: right with bridge {with_bridge} ({with_bridge / n:.2f}), without {without} ({without / n:.2f}); bridge answers {sum(r['bridged'] for r in rows)}, of them wrong {wrong_bridge}; refused {sum(r['kind'] == 'refusal' for r in rows)}"
    )
    if args.out:
        args.out.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")


if __name__ == "__main__":
    main()
