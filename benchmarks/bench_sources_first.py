"""Sources first for a question that is translated before retrieval (issue 20).

Where a question's language differs from a language of the store, retrieval waits for the
question's translation (one model call, 1-2 s on 2 cores). The engine shows the evidence found
for the question as asked before that call, and the evidence found with the translation
replaces it. For each development question this reads the engine's stream (the path ``ask``
takes) up to the evidence the answer is drawn from, without reading, and prints p50 / p90 of
when each list was on screen, how often the early list's first sentence (and first two) are
those of the final list, and how often the gold stands first and in the first two of each (and
of both lists fused by reciprocal rank: would keeping the early list help?).

    python -m benchmarks.bench_sources_first --dataset xquad-xling --questions 100
    python -m benchmarks.bench_sources_first --dataset seed

Run it alone on the machine: the translation is a model call.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from fundstelle.eval import metrics as m
from fundstelle.qa import compose, translate
from fundstelle.qa.types import Citation

from benchmarks.devsets import dev_engine


def _keys(citations: list[Citation], n: int) -> list[tuple[str, int]]:
    return [(c.doc_id, c.start) for c in citations[:n]]


def _gold(citations: list[Citation], forms: list[str], n: int = 2) -> bool:
    return any(m.fact_present(c.quote, forms) for c in citations[:n])


def _fused(a: list[Citation], b: list[Citation], k: int = 2) -> list[Citation]:
    """The two lists fused by reciprocal rank (measured only: is the early list worth keeping?)."""
    score: dict[tuple[str, int], float] = {}
    item: dict[tuple[str, int], Citation] = {}
    for citations in (a, b):
        for rank, c in enumerate(citations):
            key = (c.doc_id, c.start)
            score[key] = score.get(key, 0.0) + 1 / (k + rank)
            item.setdefault(key, c)
    return [item[key] for key in sorted(score, key=lambda key: -score[key])]


def _confidence(engine: Any, question: str, translated: dict[str, str]) -> float | None:
    """The lowest mean token log-probability of the question's translations under the prompt
    that made them (one forward pass each; as the floor on answer translations reads them)."""
    values = []
    for target, text in translated.items():
        msgs = translate.translation_messages(question, target)
        tokens = engine.chat_model.reply_token_logprobs(msgs, text)
        values.append(compose.translation_confidences(tokens, 1)[0])
    values = [v for v in values if v is not None]
    return min(values) if values else None


def measure(dataset: str, questions: int | None, seed: int) -> list[dict[str, Any]]:
    engine, items = dev_engine(dataset, questions, seed, translate=True)
    # every translated question waits for its translation here: the early list is compared
    # with the one found with the translation, which answering early would leave out
    engine.settings = engine.settings.model_copy(update={"early_confident": None})
    engine.answer("Zebra crossing regulations in medieval Iceland")  # loads the models
    rows = []
    for question, forms in items:
        engine.retriever.embedder.forget_queries()  # each question as if new
        t0 = time.perf_counter()
        early: tuple[float, list[Citation]] | None = None
        final: tuple[float, list[Citation]] | None = None
        events = engine.stream(question)
        try:
            for event in events:
                if event.kind != "evidence":
                    continue
                seen = (time.perf_counter() - t0, list(event.evidence or []))
                if event.early:
                    early = seen
                else:
                    final = seen
                    break  # what follows is reading
        finally:
            events.close()
        if final is None:
            continue
        row: dict[str, Any] = {"final_s": final[0], "final_gold": _gold(final[1], forms)}
        row["final_first"] = _gold(final[1], forms, 1)
        translated = engine.translations(question)  # known by now: no model call
        if translated:
            embed = engine.retriever.embedder.encode_query
            q = embed(question)
            row["translation_sim"] = min(float(embed(t) @ q) for t in translated.values())
            row["translation_logprob"] = _confidence(engine, question, translated)
        if early is not None:
            fused = _fused(early[1], final[1])
            row.update(
                early_first=_gold(early[1], forms, 1),
                fused_gold=_gold(fused, forms),
                fused_first=_gold(fused, forms, 1),
            )
            row.update(
                early_s=early[0],
                early_gold=_gold(early[1], forms),
                same_first=_keys(early[1], 1) == _keys(final[1], 1),
                same_two=set(_keys(early[1], 2)) == set(_keys(final[1], 2)),
            )
        rows.append(row)
    return rows


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", default="xquad-xling")
    ap.add_argument("--questions", type=int, default=None, help="a seeded sample of this many")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = measure(args.dataset, args.questions, args.seed)
    early = [r for r in rows if "early_s" in r]
    print(f"{len(rows)} questions, {len(early)} translated before retrieval (early evidence)")
    if not early:
        return
    shown = [r["early_s"] * 1000 for r in early]
    final = [r["final_s"] * 1000 for r in early]
    print("| figure (questions with early evidence) | p50 | p90 |")
    print("|---|---|---|")
    print(f"| early evidence on screen, ms | {_p(shown, 50):.1f} | {_p(shown, 90):.1f} |")
    print(f"| evidence after the translation, ms | {_p(final, 50):.1f} | {_p(final, 90):.1f} |")
    n = len(early)
    same1 = sum(r["same_first"] for r in early)
    same2 = sum(r["same_two"] for r in early)
    print(f"early first sentence = final first sentence: {same1}/{n} ({same1 / n:.2f})")
    print(f"early first two = final first two (as a set): {same2}/{n} ({same2 / n:.2f})")
    sims = sorted(r["translation_sim"] for r in early if "translation_sim" in r)
    if sims:
        # would a translation that means less like the question be better left unused?
        print("| question-translation similarity below | questions | gold first: early / final |")
        print("|---|---|---|")
        for cut in (sims[len(sims) // 10], sims[len(sims) // 4], sims[len(sims) // 2]):
            low = [r for r in early if r.get("translation_sim", 1.0) < cut]
            e1 = sum(r["early_first"] for r in low)
            f1 = sum(r["final_first"] for r in low)
            print(f"| {cut:.3f} | {len(low)} | {e1} / {f1} |")
    lps = sorted(
        r["translation_logprob"] for r in early if r.get("translation_logprob") is not None
    )
    if lps:
        # would a translation the model was unsure of be better left unused?
        print("| translation mean log-probability below | questions | gold first: early / final |")
        print("|---|---|---|")
        for q in (10, 25, 50):
            cut = lps[len(lps) * q // 100]
            low = [r for r in early if (r.get("translation_logprob") or 0.0) < cut]
            e1 = sum(r["early_first"] for r in low)
            f1 = sum(r["final_first"] for r in low)
            e2 = sum(r["early_gold"] for r in low)
            f2 = sum(r["final_gold"] for r in low)
            print(f"| {cut:.3f} | {len(low)} | {e1} / {f1} (first two: {e2} / {f2}) |")
    for name, key in (("first", "_first"), ("first two", "_gold")):
        counts = [sum(r[f"{v}{key}"] for r in early) for v in ("early", "final", "fused")]
        print(f"gold in the {name}: early / after the translation / both fused by rank: ", end="")
        print(" / ".join(f"{c}" for c in counts) + f" of {n}")


if __name__ == "__main__":
    main()
