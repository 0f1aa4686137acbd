"""How well the generator's own confidence in a translation tells a faithful one from one that
changes a fact, on translations a reader labelled.

Each labelled pair (a German span or sentence an answer was built from, the English the packaged
model made of it in an eval run; labels "faithful", "minor", "unfaithful" by a helper who saw
only the two texts) is scored the way the engine scores a translation it makes: the mean
log-probability of the translation's tokens after the prompt ``compose.translation_messages``
(one forward pass a pair, nothing generated; the line's number left out). Prints the AUC of
that mean for telling "unfaithful" from the rest, and what each floor would keep out. About
6 s a pair here (two cores):

    python -m benchmarks.bench_translation_confidence \\
        docs/judged/2026-12-03c-translations-items.jsonl \\
        docs/judged/2026-12-03c-translations-labels.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.qa import compose
from fundstelle.qa.backends import make_chat_model

from benchmarks.judge_policies import auc

FLOORS = (-0.6, -0.5, -0.45, -0.4, -0.37, -0.33, -0.3, -0.25)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("items", type=Path, help="JSON lines {id, german, english}")
    ap.add_argument("labels", type=Path, help="JSON lines {id, label}")
    ap.add_argument("--out", type=Path, help="write the scored pairs here (JSON lines)")
    args = ap.parse_args()
    labels = {x["id"]: x["label"] for x in _lines(args.labels)}
    model = make_chat_model(Settings(backend="llamacpp"))
    rows = []
    for item in _lines(args.items):
        msgs = compose.translation_messages([item["german"]], "en")
        tokens = model.reply_token_logprobs(msgs, "1. " + item["english"])  # type: ignore[attr-defined]
        mean = compose.translation_confidences(tokens, 1)[0]
        rows.append({"id": item["id"], "label": labels[item["id"]], "mean_logprob": mean})
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    bad = [r["mean_logprob"] for r in rows if r["label"] == "unfaithful"]
    rest = [r["mean_logprob"] for r in rows if r["label"] != "unfaithful"]
    print(f"pairs {len(rows)}: unfaithful {len(bad)}, faithful or minor {len(rest)}")
    print(f"AUC of the mean log-probability (rest above unfaithful): {auc(rest, bad):.3f}")
    print("floor   kept out   unfaithful   minor   faithful")
    for floor in FLOORS:
        out = [r for r in rows if r["mean_logprob"] < floor]
        count = {k: sum(r["label"] == k for r in out) for k in ("unfaithful", "minor", "faithful")}
        print(
            f"{floor:5.2f}   {len(out):8d}   {count['unfaithful']:10d}   "
            f"{count['minor']:5d}   {count['faithful']:8d}"
        )


if __name__ == "__main__":
    main()
