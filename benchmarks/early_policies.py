"""Thresholds for answering before the translation (``early_confident``), from two eval runs.

A question whose language differs from the store's is translated for keyword search (one model
call, 1-2 s on 2 cores). With ``FUNDSTELLE_EARLY_CONFIDENT`` set, the best sentence found for
the question as asked is judged first, and where the judge's P(yes) reaches the setting, the
answer is drawn from that evidence without the translation. Given a default run and a run with
the setting at its lowest candidate (both ``fundstelle eval`` reports over the same questions),
this judges each question's early first sentence again (the same call the engine makes) and
prints, for each threshold, what the answers would be: the early run's where P(yes) reaches it,
the default run's elsewhere (both runs take the default path below the early run's setting).

    python -m benchmarks.early_policies --dataset xquad-xling \\
        --base eval/runs/s35/xq-dev-base/report.json \\
        --early eval/runs/s35/xq-dev-early40/report.json

Run it alone on the machine: each question is one judge call.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.qa import judge, read
from fundstelle.qa.engine import Engine
from fundstelle.qa.question import parts as question_parts

from benchmarks.devsets import dev_items


def early_judgements(dataset: str, questions: list[str]) -> dict[str, dict[str, Any]]:
    """{question: {"p": P(yes) of the early first sentence, "sentence": its text}}."""
    store, _ = dev_items(dataset, Settings())
    engine = Engine(store)
    model = engine.chat_model
    assert model is not None
    out: dict[str, dict[str, Any]] = {}
    for q in questions:
        _, parts, _ = engine._early_found(q, None, None)
        if len(parts) != 1 or not parts[0] or len(question_parts(q)) != 1:
            out[q] = {"p": None, "sentence": ""}
            continue
        ev = parts[0][0]
        msgs = judge.messages(question_parts(q)[0], ev, engine.settings.reader_titles)
        out[q] = {
            "p": judge.yes_probability(model, read.model_kind(model), msgs),
            "sentence": ev.text,
        }
    return out


def _p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="xquad-xling")
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--early", type=Path, required=True)
    ap.add_argument("--lowest", type=float, default=0.40, help="the early run's setting")
    ap.add_argument("--save", type=Path, help="write the judgements (JSON lines) here")
    args = ap.parse_args()
    base = {it["question"]: it for it in json.loads(args.base.read_text())["items"]}
    early = {it["question"]: it for it in json.loads(args.early.read_text())["items"]}
    questions = [q for q in base if q in early]
    judged = early_judgements(args.dataset, questions)
    if args.save:
        with args.save.open("w") as f:
            for q in questions:
                row = {"question": q, "gold": base[q]["gold"], **judged[q]}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"questions {len(questions)}")
    for t in (None, args.lowest, 0.5, 0.6, 0.7, 0.8, 0.9):
        chosen = []
        for q in questions:
            p = judged[q]["p"]
            take_early = t is not None and p is not None and p >= t
            chosen.append((early if take_early else base)[q] | {"early": take_early})
        n = len(chosen)
        early_taken = [c for c in chosen if c["early"]]
        gold_first = sum(
            m.fact_present(judged[c["question"]]["sentence"], c["gold"].split(" | "))
            for c in early_taken
        )
        changed = [c for c in early_taken if c["answer"] != base[c["question"]]["answer"]]
        firsts = [c["first_token_s"] for c in chosen if c.get("first_token_s")]
        print(
            f"threshold {t if t is not None else 'off':>4}: early {len(early_taken):3d} "
            f"(gold in its first sentence {gold_first}), answers changed {len(changed):2d}, "
            f"correct {sum(c['correct'] for c in chosen) / n:.2f}, "
            f"cited {sum(bool(c['cited']) for c in chosen) / n:.2f}, "
            f"support {sum(bool(c['citation_support']) for c in chosen) / n:.2f}, "
            f"refused {sum(c['refused'] for c in chosen) / n:.2f}, "
            f"quotes {sum(c['kind'] == 'quotes' for c in chosen) / n:.2f}, "
            f"first token p50 {_p50(firsts):.2f} s"
        )
    print("changed at the lowest threshold (question | default | early | P(yes)):")
    for q in questions:
        p = judged[q]["p"]
        if p is not None and p >= args.lowest and early[q]["answer"] != base[q]["answer"]:
            print(
                f"  {q} | {base[q]['answer'][:70]!r} ({base[q]['correct']}) | "
                f"{early[q]['answer'][:70]!r} ({early[q]['correct']}) | {p:.2f}"
            )


if __name__ == "__main__":
    main()
