"""How the judge's choice of sentence would fare under other rules, read off records of
``benchmarks.bench_judge --top 4`` (each question's first sentences with P(yes) and whether a
gold answer stands in each), without running the model again.

    python -m benchmarks.judge_policies eval/runs/s28/judge-top4.jsonl

Rules (the default thresholds of ``FUNDSTELLE_JUDGE_THRESHOLD`` to pass, 0.25, and of
``FUNDSTELLE_JUDGE_CONFIDENT`` to be confident, 0.40):
- ``first``: today's: the first of the best two that passes; confident: an answer is drawn
  from it; unsure: both are quoted; none passes: refusal.
- ``further``: as ``first``, but when unsure the next two are judged and the first of them the
  judge is confident of gives the answer.
- ``likeliest``: both of the best two judged, the likelier one taken.
- ``best N/W`` (``FUNDSTELLE_JUDGE_PICK=best``, ``FUNDSTELLE_JUDGE_SENTENCES=N``,
  ``FUNDSTELLE_JUDGE_RANK_WEIGHT=W``): the best N judged, the one with the highest P(yes) + W ×
  (its ranking score − the first's) among those that pass; unsure: that sentence and the
  best-ranked other one quoted.
Printed per rule: answers drawn from a sentence holding the gold / not holding it, quotes
holding it / not, refusals (answerable questions), what unanswerable ones got, and the judge
calls per question.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.qa.judge import pick

_DEFAULTS = Settings.model_fields
# the shipped defaults, so that the replay follows them
PASS = float(_DEFAULTS["judge_threshold"].default)
CONFIDENT = float(_DEFAULTS["judge_confident"].default)
JUDGED = int(_DEFAULTS["judge_sentences"].default)  # the best sentences judged first (2)


FIELD = "p"  # which record field is the judge's probability (--field)


def _p(sentence: dict) -> float:
    return sentence.get(FIELD) or 0.0


def outcome(sentences: list[dict], rule: str) -> tuple[str, bool, int]:
    """(answer | quotes | refused, whether the gold stands in what is shown, judge calls)."""
    best = sentences[:JUDGED]
    if rule.startswith("best"):
        n, weight = rule.split()[1].split("/")
        best = sentences[: int(n)]
        passed = [(i, _p(x)) for i, x in enumerate(best) if _p(x) >= PASS]
        if not passed:
            return "refused", False, len(best)
        i, p = pick(passed, [x["score"] for x in best], float(weight))
        if p >= CONFIDENT:
            return "answer", bool(best[i]["gold"]), len(best)
        # quoted: the sentence taken and the best-ranked other one
        other = [j for j in range(len(best)) if j != i][:1]
        return "quotes", any(best[j]["gold"] for j in [i, *other]), len(best)
    if rule == "likeliest":
        calls = len(best)
        chosen = max(best, key=_p) if best and _p(max(best, key=_p)) >= PASS else None
    else:
        calls, chosen = 0, None
        for s in best:
            calls += 1
            if _p(s) >= PASS:
                chosen = s
                break
    if chosen is None:
        return "refused", False, calls
    if _p(chosen) >= CONFIDENT:
        return "answer", bool(chosen["gold"]), calls
    if rule == "further":
        for s in sentences[JUDGED : 2 * JUDGED]:
            calls += 1
            if _p(s) >= CONFIDENT:
                return "answer", bool(s["gold"]), calls
    return "quotes", any(s["gold"] for s in best), calls


def auc(positive: list[float], negative: list[float]) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    if not positive or not negative:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def main() -> None:
    global FIELD, PASS, CONFIDENT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("records", type=Path)
    ap.add_argument("--best-n", default="2,3", help="sentences judged by the 'best' rules")
    ap.add_argument("--weights", default="0,1,2", help="ranking weights of the 'best' rules")
    ap.add_argument("--sets", help="only records of these sets (comma-separated)")
    ap.add_argument("--field", default="p", help="the probability judged: p, or p_reader")
    ap.add_argument("--pass", dest="passes", type=float, default=PASS)
    ap.add_argument("--confident", type=float, default=CONFIDENT)
    args = ap.parse_args()
    FIELD, PASS, CONFIDENT = args.field, args.passes, args.confident
    records = [json.loads(line) for line in args.records.read_text().splitlines() if line]
    if args.sets:
        records = [r for r in records if r["set"] in args.sets.split(",")]
    print(f"{len(records)} questions, {sum(r['answerable'] for r in records)} answerable")
    judged = [x for r in records for x in r["sentences"][:JUDGED] if x.get(FIELD) is not None]
    print(
        f"AUC of {FIELD} over the best {JUDGED} sentences, holding the gold or not: "
        f"{auc([_p(x) for x in judged if x['gold']], [_p(x) for x in judged if not x['gold']]):.3f}"
        f" ({sum(x['gold'] for x in judged)} of {len(judged)} hold it)"
    )
    print("| rule | answer: gold / not | quotes: gold / not | refused | unanswerable: "
          "answered / quoted / refused | judge calls per question |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    rules = ["first", "further", "likeliest"]
    rules += [f"best {n}/{w}" for n in args.best_n.split(",") for w in args.weights.split(",")]
    for rule in rules:
        c: Counter = Counter()
        calls = 0
        for r in records:
            kind, gold, n = outcome(r["sentences"], rule)
            calls += n
            c[(r["answerable"], kind, gold)] += 1
        print(
            f"| {rule} | {c[(True, 'answer', True)]} / {c[(True, 'answer', False)]} | "
            f"{c[(True, 'quotes', True)]} / {c[(True, 'quotes', False)]} | "
            f"{c[(True, 'refused', False)]} | {c[(False, 'answer', False)]} / "
            f"{c[(False, 'quotes', False)]} / {c[(False, 'refused', False)]} | "
            f"{calls / len(records):.2f} |"
        )


if __name__ == "__main__":
    main()
