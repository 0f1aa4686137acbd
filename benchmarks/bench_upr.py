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

import numpy as np
from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.qa import judge, read
from fundstelle.qa.backends.model_files import packaged_gguf
from fundstelle.qa.engine import Engine
from fundstelle.qa.evidence import select

from benchmarks.devsets import dev_items

SYSTEM = "You are a helpful assistant."
ASK = "Passage: {passage}\nWrite a question that this passage answers."


class Scorer:
    """log P(question | passage) under the GGUF model, read off one forward pass."""

    def __init__(self, model_path: str) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=model_path, n_ctx=1024, n_threads=2, n_threads_batch=2,
                         logits_all=True, verbose=False)  # fmt: skip

    def _tok(self, text: str, special: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode(), add_bos=False, special=special)

    def score(self, passage: str, question: str) -> float:
        head = (
            f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
            + ASK.format(passage=passage)
            + "<|im_end|>\n<|im_start|>assistant\n"
        )
        prefix = self._tok(head)
        q = self._tok(question, special=False)
        self.llm.reset()
        self.llm.eval(prefix + q)
        logits = np.asarray(self.llm.scores[len(prefix) - 1 : len(prefix) + len(q) - 1])
        mx = logits.max(axis=1, keepdims=True)
        logz = mx[:, 0] + np.log(np.exp(logits - mx).sum(axis=1))
        return float(sum(logits[i, t] - logz[i] for i, t in enumerate(q)))


def run(
    engine: Engine, scorer: Scorer, question: str, forms: list[str], top: int, judged: bool = True
) -> dict:
    s = engine.settings
    retrieval, translations = engine._retrieve(question, None, None)
    parts = select(engine.selector, question, retrieval.passages, s.evidence_sentences,
                   translations or None)  # fmt: skip
    first = parts[0][:top] if parts else []
    kind = read.model_kind(engine.chat_model)
    rows = []
    t = time.perf_counter()
    for ev in first:
        p = (
            judge.yes_probability(engine.chat_model, kind, judge.messages(question, ev))
            if judged
            else None
        )
        row = {
            "rank": ev.n, "score": round(ev.score, 4), "p": None if p is None else round(p, 4),
            "gold": m.fact_present(ev.text, forms), "upr": round(scorer.score(ev.text, question), 3),
        }  # fmt: skip
        if judged and translations and ev.chunk.lang in translations:
            row["upr_t"] = round(scorer.score(ev.text, translations[ev.chunk.lang]), 3)
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
    scorer = Scorer(base.llm_model or str(packaged_gguf(base.model_cache)))
    records = []
    with open(args.out, "w", encoding="utf-8") as out:
        for name in args.datasets.split(","):
            store, items = dev_items(name, base)
            engine = Engine(store.with_overrides(backend="llamacpp"))
            rng = random.Random(args.seed)
            for i, (q, forms) in enumerate(rng.sample(items, min(args.limit, len(items))), 1):
                rec = run(engine, scorer, q, forms, args.top, not args.no_judge) | {"set": name}
                records.append(rec)
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
                print(f"{i} {name} {rec['seconds']:.1f}s", flush=True)
    summary(records)


if __name__ == "__main__":
    main()
