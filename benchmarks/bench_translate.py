"""Keyword search across languages through a translated question, on XQuAD dev (articles 0-23:
English questions over German paragraphs; never the held-out 24-47).

    python -m benchmarks.bench_translate            # ~35 minutes on 2 cores (two prompts' translations)
    python -m benchmarks.bench_translate --limit 200   # the 200-question comparison in docs/decisions.md

Rows: dense only; BM25 of XQuAD's own human German question fused at several weights (the
ceiling of the method); BM25 of the generator's translation (what `--translate` does), with the
prompt's worked examples and without them, at the same weights; each without and with the
sentence re-rank.
The model's translations are kept in eval/cache/xquad-dev-translations-ex*.json, so a second
run only re-ranks.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.eval.benchmarks import CACHE, cached_store
from fundstelle.eval.datasets import DEV_ARTICLES, write_xquad_collection, xquad
from fundstelle.qa import translate
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Filters


class GivenTranslations(Engine):
    """An engine whose translations come from a table (XQuAD's human ones, or cached ones)."""

    table: dict[str, str]

    def translations(self, question: str, filters: Filters | None = None) -> dict[str, str]:
        if not self.settings.translate_queries or question not in self.table:
            return {}
        return {"de": self.table[question]}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--limit", type=int, help="a seeded sample of the 632 questions")
    args = ap.parse_args()
    articles, items = xquad(DEV_ARTICLES)
    source = write_xquad_collection(articles, CACHE / "xquad-de-dev.jsonl")
    settings = cached_store("xquad-dev", Settings(), source)
    if args.limit:
        items = random.Random(0).sample(items, min(args.limit, len(items)))
    by_article = {a.index: a for a in articles}

    translator: Engine | None = None
    machine: dict[str, dict[str, str]] = {}
    for name, examples in (("no examples", []), ("worked examples", translate.EXAMPLES)):
        cache = CACHE / f"xquad-dev-translations-ex{len(examples)}.json"
        table: dict[str, str] = json.loads(cache.read_text()) if cache.exists() else {}
        todo = [it.question_en for it in items if it.question_en not in table]
        if todo:
            translator = translator or Engine(settings.with_overrides(translate_queries=True))
            model = translator.chat_model
            assert model is not None
            seconds = []
            for q in todo:
                t = time.perf_counter()
                reply = model.invoke(
                    translate.translation_messages(q, "de", examples), max_tokens=64
                )
                table[q] = translate.clean_translation(str(reply.content), q) or ""
                seconds.append(time.perf_counter() - t)
            cache.write_text(json.dumps(table, ensure_ascii=False, indent=0))
            seconds.sort()
            print(
                f"translated {len(todo)} questions ({name}): p50 {statistics.median(seconds):.2f} s, "
                f"p95 {seconds[int(len(seconds) * 0.95)]:.2f} s"
            )
        machine[name] = table

    engine = GivenTranslations(settings.with_overrides(backend="extractive"))
    engine.table = {}

    def run(name: str, table: dict[str, str], weight: float | None, rerank: bool) -> None:
        engine.table = table
        engine.settings = settings.with_overrides(
            backend="extractive",
            rerank=rerank,
            translate_queries=weight is not None,
            bm25_translated=(weight or 0.0) / settings.bm25_weight,
        )
        engine.retriever.settings = engine.settings
        ranks = []
        for it in items:
            art = by_article[it.article]
            a0 = art.offset_de(it.paragraph) + it.answer_start_de
            a1 = a0 + len(it.answer_de)
            passages = engine.retrieve(it.question_en, k=5).passages
            ranks.append(
                next(
                    (
                        r
                        for r, p in enumerate(passages, start=1)
                        if p.chunk.url == art.url and p.chunk.start <= a0 and a1 <= p.chunk.end
                    ),
                    None,
                )
            )
        h1 = m.mean([m.hit_at_k(r, 1) for r in ranks])
        h5 = m.mean([m.hit_at_k(r, 5) for r in ranks])
        print(f"| {name} | {'yes' if rerank else 'no'} | {h1:.3f} | {h5:.3f} |", flush=True)

    human = {it.question_en: it.question_de for it in items}
    print(f"\n{len(items)} English questions, XQuAD dev (articles 0-23)\n")
    print("| keyword side (weight vs. dense 1) | re-rank | hit@1 | hit@5 |\n|---|---|---|---|")
    for rerank in (False, True):
        run("none (dense only)", {}, None, rerank)
        for w in (0.25, 0.5, 1.0):
            run(f"human German question, {w}", human, w, rerank)
        for name, table in machine.items():
            for w in (0.25, 0.35, 0.5, 0.7):
                run(f"model translation ({name}), {w}", table, w, rerank)


if __name__ == "__main__":
    main()
