"""Query likelihood as a sentence chooser (UPR, Sachan et al. 2022) on development sets.

The ranking's first evidence sentence holds the gold for about 0.6-0.7 of the development
questions, and the judge's P(yes) did not choose better among the first few (docs/decisions.md).
UPR scores a sentence by how likely the generator finds the *question* after it
(log P(question | "Passage: sentence. Write a question it answers.")): the same question's
tokens for every candidate, so the sums compare. This measures, per question, the first
``--top`` evidence sentences: ranking score, the judge's P(yes), the question's log-likelihood
(as asked, and its translation where the question was translated), and whether each holds the
gold. The summary prints the share of questions whose chosen sentence holds the gold for each
chooser:

    python -m benchmarks.bench_upr --datasets germanquad,xquad-xling --limit 60 --out upr.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import time

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.qa import judge, likelihood, read
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Evidence

from benchmarks.devsets import dev_items, first_evidence


def run(engine: Engine, question: str, forms: list[str], top: int, judged: bool = True) -> dict:
    first, translations = first_evidence(engine, question, top)
    model = engine.chat_model
    kind = read.model_kind(model)

    def upr(q: str, ev: Evidence) -> float | None:
        # the engine's own path (qa.likelihood), as FUNDSTELLE_LIKELIHOOD_SENTENCES uses it
        lp = likelihood.question_logprob(model, kind, q, ev)
        return None if lp is None else round(lp, 3)

    rows = []
    t = time.perf_counter()
    for ev in first:
        p = judge.yes_probability(model, kind, judge.messages(question, ev)) if judged else None
        row = {
            "rank": ev.n, "score": round(ev.score, 4), "p": None if p is None else round(p, 4),
            "gold": m.fact_present(ev.text, forms), "upr": upr(question, ev),
        }  # fmt: skip
        if judged and translations and ev.chunk.lang in translations:
            row["upr_t"] = upr(translations[ev.chunk.lang], ev)
        rows.append(row)
    return {"question": question, "sentences": rows, "seconds": time.perf_counter() - t}


def _choose(rec: dict, key) -> dict | None:
    rows = rec["sentences"]
    return max(rows, key=key) if rows else None


def summary(records: list[dict]) -> None:
    choosers = {
        "ranking": lambda r: -r["rank"],
        "judge": lambda r: (r["p"] or 0.0, -r["rank"]),
        "upr": lambda r: r["upr"],
        "upr_t": lambda r: r.get("upr_t", r["upr"]),
        "upr+upr_t": lambda r: r["upr"] + r.get("upr_t", r["upr"]),
        "score+0.02*upr": lambda r: r["score"] + 0.02 * r["upr"],
    }
    by_set: dict[str, list[dict]] = {}
    for rec in records:
        by_set.setdefault(rec["set"], []).append(rec)
    for name, recs in by_set.items():
        ceiling = sum(any(r["gold"] for r in rec["sentences"]) for rec in recs)
        line = [f"{name} ({len(recs)} q, gold in the first ones {ceiling})"]
        for cname, key in choosers.items():
            if "upr_t" in cname and not any("upr_t" in r for rec in recs for r in rec["sentences"]):
                line.append(f"{cname} -")
                continue
            hit = sum(bool((c := _choose(rec, key)) and c["gold"]) for rec in recs)
            line.append(f"{cname} {hit}")
        print("  ".join(line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="germanquad,xquad-xling")
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--seed", type=int, default=33)
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--out", default="upr.jsonl")
    ap.add_argument("--no-judge", action="store_true", help="only the ranking and the likelihood")
    ap.add_argument("--summary", help="only print the summary of an earlier --out file")
    args = ap.parse_args()
    if args.summary:
        with open(args.summary, encoding="utf-8") as f:
            summary([json.loads(line) for line in f])
        return
    base = Settings()
    records = []
    with open(args.out, "w", encoding="utf-8") as out:
        for name in args.datasets.split(","):
            store, items = dev_items(name, base)
            engine = Engine(store.with_overrides(backend="llamacpp"))
            rng = random.Random(args.seed)
            for i, (q, forms) in enumerate(rng.sample(items, min(args.limit, len(items))), 1):
                rec = run(engine, q, forms, args.top, not args.no_judge) | {"set": name}
                records.append(rec)
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
                print(f"{i} {name} {rec['seconds']:.1f}s", flush=True)
    summary(records)


if __name__ == "__main__":
    main()
