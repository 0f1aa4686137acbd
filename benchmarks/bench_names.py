"""The name check of qa/verify.py on development sets: does "the sentence names what the
question names" pass the sentences that hold the answer and stop the others?

For each question the evidence sentences are ranked as ``ask`` ranks them (no generator: the
ranking of the extractive backend, no query translation; with ``--translate`` as ``ask``
ranks them, the question translated by the generator); each of the first ``--top`` sentences
is checked under every scope variant, and the shares of sentences that pass are printed apart
for those that hold a gold answer and those that do not. No generator runs:

    python -m benchmarks.bench_names --dataset germanquad
    python -m benchmarks.bench_names --dataset xquad-de --limit 300

Development sets only (benchmarks/devsets.py).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from fundstelle.eval import metrics as m
from fundstelle.qa import verify
from fundstelle.qa.grounding import ungrounded_claims, with_provenance
from fundstelle.qa.types import Evidence

from benchmarks.devsets import dev_engine


def _window(ev: Evidence, names: list, **_: object) -> bool:
    return not ungrounded_claims(names, [with_provenance(ev.chunk, verify.window(ev))])


def _passage(ev: Evidence, names: list, **_: object) -> bool:
    return not ungrounded_claims(names, [with_provenance(ev.chunk, ev.chunk.text)])


def _preceding(ev: Evidence, names: list, **_: object) -> bool:
    c = ev.chunk
    return not ungrounded_claims(names, [with_provenance(c, c.text[: ev.end - c.start])])


def _translated(ev: Evidence, names: list, question: str, translations: dict) -> bool:
    """Tried and not taken (docs/decisions.md): a name missing from the sentence counts when
    the question's translation into the sentence's language names nothing the sentence lacks
    and does not keep that name as it is."""
    source = [with_provenance(ev.chunk, verify.window(ev))]
    missing = ungrounded_claims(names, source)
    translated = (translations or {}).get(ev.chunk.lang or "")
    if missing and translated and not ungrounded_claims(verify.question_names(translated), source):
        missing = [m for m in missing if re.search(rf"(?<!\w){re.escape(m)}(?!\w)", translated)]
    return not missing


def _one_and_passage(ev: Evidence, names: list, **_: object) -> bool:
    near = with_provenance(ev.chunk, verify.window(ev))
    return len(ungrounded_claims(names, [near])) < len(names) and _passage(ev, names)


VARIANTS: dict[str, Callable[..., bool]] = {
    "sentence and the one before (qa.verify)": _window,
    "the same, or through the translation": _translated,
    "passage up to the sentence": _preceding,
    "passage": _passage,
    "one name in window, all in passage": _one_and_passage,
    "none": lambda ev, names, **_: True,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="germanquad")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=4)
    ap.add_argument(
        "--translate",
        action="store_true",
        help="as ask does across languages: the question translated by the generator, for "
        "retrieval, evidence and the name check (one LLM call a question)",
    )
    args = ap.parse_args()
    engine, items = dev_engine(args.dataset, args.limit, args.seed, args.translate)
    counts = {name: [0, 0] for name in VARIANTS}  # passed: [gold sentences, other sentences]
    totals = [0, 0]
    with_names = 0
    for question, golds in items:
        names = verify.question_names(question)
        if not names:
            continue
        with_names += 1
        retrieval, translations = engine._retrieve(question, None, None)
        evidence = engine.evidence(question, retrieval.passages, translations)[: args.top]
        for ev in evidence:
            gold = m.fact_present(ev.text, [g for g in golds if g])
            totals[0 if gold else 1] += 1
            for name, check in VARIANTS.items():
                counts[name][0 if gold else 1] += check(
                    ev, names, question=question, translations=translations
                )
    print(
        f"{args.dataset}: {len(items)} questions, {with_names} name something; "
        f"first {args.top} sentences: {totals[0]} hold a gold answer, {totals[1]} do not"
    )
    print(f"{'scope':40} {'gold passed':>12} {'others passed':>14}")
    for name, (g, o) in counts.items():
        print(f"{name:40} {g / max(1, totals[0]):12.3f} {o / max(1, totals[1]):14.3f}")


if __name__ == "__main__":
    main()
