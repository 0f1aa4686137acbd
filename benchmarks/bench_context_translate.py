"""The question's translation with the sources' words beside it, on development sets.

``ask`` translates an English question over German text (one short call) so that keyword
search and the sentence ranking share words with the sources; the 1.5B model translates terms
it does not know into words the sources never use ("declaration of intent" →
"Antragsentfassung"). The evidence found *before* the translation (the "sources first" list,
by meaning across languages) already holds the sources' words for most questions. This
benchmark translates each question twice, plainly and with those sentences shown as the
sources' words (``translate.translation_messages(context=...)``; tried end to end as a
setting on 2026-12-03 and not taken, docs/decisions.md), and ranks the evidence with each
translation as ``ask`` does:

    python -m benchmarks.bench_context_translate --dataset xquad-xling --limit 200
    python -m benchmarks.bench_context_translate --dataset seed

Printed: gold in the first 1 / 2 / 4 evidence sentences and the first passage, per variant,
and the translations' time. Development sets only (benchmarks/devsets.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from fundstelle.eval import metrics as m
from fundstelle.ingest.language import question_language
from fundstelle.qa import translate
from fundstelle.qa.evidence import is_evidence, select

from benchmarks.devsets import dev_engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="xquad-xling")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--context", type=int, default=2, help="early evidence sentences shown")
    ap.add_argument("--out", type=Path, help="a JSON line per question")
    args = ap.parse_args()
    engine, items = dev_engine(args.dataset, args.limit, args.seed, translate=True)
    model = engine.chat_model
    assert model is not None
    variants = ["plain", "context"]
    hits = {v: {1: 0, 2: 0, 4: 0, "p": 0} for v in variants}
    seconds: dict[str, list[float]] = {v: [] for v in variants}
    n = 0
    out = args.out.open("w") if args.out else None
    for question, forms in items:
        targets = engine.translator.targets(question, None)
        if targets != ["de"] or question_language(question) != "en":
            continue  # English questions over German text only
        n += 1
        early_r, _ = engine._retrieve(question, None, None, translated=False)
        early = select(engine.selector, question, early_r.passages, 4)
        context = [ev.text for ev in (early[0] if early else [])][: args.context]
        record: dict = {"question": question, "gold": forms, "context": context}
        for v in variants:
            shown = context if v == "context" else None
            msgs = translate.translation_messages(question, "de", context=shown)
            t = time.perf_counter()
            reply = model.invoke(msgs, max_tokens=64)
            seconds[v].append(time.perf_counter() - t)
            text = translate.clean_translation(str(reply.content), question)
            engine.translator.remember(question, "de", text)
            retrieval, translations = engine._retrieve(question, None, None)
            parts = select(
                engine.selector,
                question,
                retrieval.passages,
                engine.settings.evidence_sentences,
                translations or None,
            )
            ranked = [ev for ev in (parts[0] if parts else []) if is_evidence(ev.text)]
            holds = [m.fact_present(ev.text, forms) for ev in ranked[:4]]
            for k in (1, 2, 4):
                hits[v][k] += any(holds[:k])
            first = retrieval.passages[0].chunk.text if retrieval.passages else ""
            hits[v]["p"] += m.fact_present(first, forms)
            record[v] = {"translation": text, "holds": holds}
        if out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        if n % 20 == 0:
            print(n, {v: hits[v][1] for v in variants}, flush=True)
    print(f"{args.dataset}: {n} English questions over German text, {args.context} sentences")
    print("| translation | top-1 | top-2 | top-4 | first passage | seconds p50 |")
    print("|---|---|---|---|---|---|")
    for v in variants:
        h = hits[v]
        print(
            f"| {v} | {h[1] / n:.3f} | {h[2] / n:.3f} | {h[4] / n:.3f} | {h['p'] / n:.3f} "
            f"| {statistics.median(seconds[v]):.2f} |"
        )


if __name__ == "__main__":
    main()
