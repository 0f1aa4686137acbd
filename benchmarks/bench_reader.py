"""Who should choose the answering sentence: the re-rank, the model, or both?

For each question of a development set, the evidence sentences are ranked as ``ask`` ranks them;
then the reader (``qa.read``) is asked to choose among the top ``n`` of them and copy the
answering words, for several ``n``. Printed per variant: how often the gold answer is in the
sentence it chose and in the words it copied, how often it said "none" although the gold was in
what it saw, and its seconds per question. ``top-k holds`` is the ceiling: the gold is in one of
the first k sentences.

    python -m benchmarks.bench_reader --dataset xquad-de --limit 100 --variants 1,2,4
    python -m benchmarks.bench_reader --dataset germanquad --limit 100
    python -m benchmarks.bench_reader --dataset germanquad --limit 30 --start

``--start`` times the reader on the first sentence (as ``ask`` reads) two ways, in turn, the
model's cache emptied before each: writing its whole reply under the grammar, and given the
words the grammar forces (``qa.read.reply``, what ``ask`` does); printed: seconds to the first
answer word p50 of each, their ratio, and how many replies differ.

Development sets only (xquad-xling / xquad-de dev articles, the GermanQuAD slice's dev part,
the seed gold set's development part). One LLM job at a time: about 3-4 s per question and
variant on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from typing import Any

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.qa import read
from fundstelle.qa.engine import Engine
from fundstelle.qa.question import is_yes_no

from benchmarks.devsets import dev_items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="xquad-de")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default="1,2,4", help="how many top sentences the reader sees")
    ap.add_argument("--no-titles", action="store_true", help="sentences without their titles")
    ap.add_argument(
        "--translate", action="store_true", help="the question translated for search (one call)"
    )
    ap.add_argument(
        "--start", action="store_true", help="time the reply written whole against given its start"
    )
    args = ap.parse_args()

    settings = Settings()
    store, items = dev_items(args.dataset, settings)
    if args.limit and args.limit < len(items):
        items = random.Random(args.seed).sample(items, args.limit)
    engine = Engine(
        store.with_overrides(
            evidence_sentences=max(6, *map(int, args.variants.split(","))),
            translate_queries=args.translate,
        )
    )
    model = engine.chat_model
    assert model is not None, "the reader needs a generator (not the extractive backend)"
    kind = read.model_kind(model)
    variants = [int(v) for v in args.variants.split(",")]
    stats: dict[int, dict[str, list[float]]] = {
        n: {"sentence": [], "span": [], "none_missed": [], "none": [], "seconds": [], "words": []}
        for n in variants
    }
    holds_at: dict[int, list[float]] = {k: [] for k in (1, 2, 4, 6)}
    if args.start:
        _compare_start(engine, items)
        return
    for question, forms in items:
        retrieval, translations = engine._retrieve(question, None, None)
        evidence = engine.evidence(question, retrieval.passages, translations or None)
        holds = [m.fact_present(ev.text, forms) for ev in evidence]
        for k in holds_at:
            holds_at[k].append(1.0 if any(holds[:k]) else 0.0)
        for n in variants:
            shown = evidence[:n]
            verdict = is_yes_no(question)
            t = time.perf_counter()
            raw = "".join(
                read.stream(
                    read.bind(model, kind, shown, verdict),
                    read.messages(question, shown, verdict, titles=not args.no_titles),
                )
            )
            reading = read.parse(raw, shown)
            s = stats[n]
            s["seconds"].append(time.perf_counter() - t)
            chosen = reading.picks[0] if reading.picks else None
            by_n = {ev.n: ev for ev in shown}
            s["sentence"].append(
                1.0 if chosen and m.fact_present(by_n[chosen.n].text, forms) else 0.0
            )
            s["span"].append(1.0 if chosen and m.fact_present(chosen.text, forms) else 0.0)
            s["none"].append(1.0 if not chosen else 0.0)
            s["none_missed"].append(1.0 if not chosen and any(holds[:n]) else 0.0)
            if chosen:
                s["words"].append(len(chosen.text.split()))
    print(
        f"{args.dataset}: {len(items)} questions, titles {'off' if args.no_titles else 'on'}, "
        f"translation {'on' if args.translate else 'off'}"
    )
    print(
        "ceiling: gold in the first k sentences: "
        + ", ".join(f"k={k} {statistics.mean(v):.3f}" for k, v in holds_at.items())
    )
    print(
        f"{'sees':>5} {'sentence':>9} {'span':>6} {'none':>6} {'none, gold shown':>17} {'words p50':>9} {'s/q':>6}"
    )
    for n, s in stats.items():
        mean: Any = statistics.mean
        print(
            f"{n:>5} {mean(s['sentence']):>9.3f} {mean(s['span']):>6.3f} {mean(s['none']):>6.3f}"
            f" {mean(s['none_missed']):>17.3f} {statistics.median(s['words'] or [0]):>9.1f}"
            f" {mean(s['seconds']):>6.2f}"
        )


def _first_word(replies: Any) -> tuple[float, str]:
    t = time.perf_counter()
    first, raw = 0.0, ""
    for delta in replies:
        raw += delta
        if not first and read.partial_answer(raw):
            first = time.perf_counter() - t
    return first or time.perf_counter() - t, raw


def _compare_start(engine: Engine, items: list[tuple[str, list[str]]]) -> None:
    model = engine.chat_model
    llm = model.load()  # type: ignore[union-attr]
    times: dict[str, list[float]] = {"written": [], "given": []}
    differ = 0
    for i, (question, _) in enumerate(items):
        retrieval, translations = engine._retrieve(question, None, None)
        shown = engine.evidence(question, retrieval.passages, translations or None)[:1]
        if not shown:
            continue
        verdict = is_yes_no(question)
        msgs = read.messages(question, shown, verdict)
        raws = {}
        for name in sorted(("written", "given"), reverse=bool(i % 2)):  # alternate the first
            llm.reset()
            if name == "written":
                replies = read.stream(model.bind(grammar=read.grammar(shown, verdict)), msgs)  # type: ignore[union-attr]
            else:
                replies = read.reply(model, msgs, shown, verdict)  # type: ignore[arg-type]
            seconds, raws[name] = _first_word(replies)
            times[name].append(seconds)
        if raws["written"] != raws["given"]:
            differ += 1
            print(f"differs: {question!r}: {raws['written']!r} / {raws['given']!r}")
    w, g = statistics.median(times["written"]), statistics.median(times["given"])
    print(f"{len(times['given'])} questions, load {os.getloadavg()[0]:.2f}")
    print(
        f"first answer word p50: written {w:.2f} s, given its start {g:.2f} s (ratio {g / w:.2f})"
    )
    print(f"replies that differ: {differ}")


if __name__ == "__main__":
    main()
