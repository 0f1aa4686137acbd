"""Development sets for the answer-step benchmarks: (store settings, [(question, gold forms)]).

Development parts only: XQuAD articles 0-23, the GermanQuAD slice's dev part, the seed gold
set's development part, MultiHop-RAG queries outside the 300-query test sample.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from fundstelle.core.settings import Settings

if TYPE_CHECKING:
    from fundstelle.qa.engine import Engine


def dev_items(dataset: str, settings: Settings) -> tuple[Settings, list[tuple[str, list[str]]]]:
    """(store settings, [(question, gold forms)]) of a development set."""
    from fundstelle.eval import benchmarks as b
    from fundstelle.eval import datasets as d

    if dataset == "germanquad":
        paragraphs, items = d.germanquad()
        articles, _ = d.xquad(range(0, 48), settings.data_dir)
        src = d.write_german_corpus(paragraphs, articles, b.CACHE / "german-open.jsonl")
        store = b.cached_store("german-open", settings, src)
        dev = {p.document_id for p in paragraphs if p.split == "dev"}
        return store, [(it.question, list(it.answers)) for it in items if it.paragraph in dev]
    if dataset in ("xquad-de", "xquad-xling"):
        if dataset == "xquad-de":
            articles, _ = d.xquad(range(0, 48), settings.data_dir)
            src = d.write_xquad_paragraphs(articles, b.CACHE / "xquad-de-paragraphs.jsonl")
            store = b.cached_store("xquad-paragraphs", settings, src)
        else:
            articles, _ = d.xquad(d.DEV_ARTICLES, settings.data_dir)
            src = d.write_xquad_collection(articles, b.CACHE / "xquad-de-dev.jsonl")
            store = b.cached_store("xquad-dev", settings, src)
        _, items = d.xquad(d.DEV_ARTICLES, settings.data_dir)
        q = (lambda it: it.question_de) if dataset == "xquad-de" else (lambda it: it.question_en)
        return store, [(q(it), [it.answer_de, it.answer_en]) for it in items]
    if dataset == "multihop":
        from fundstelle.eval import datasets as d

        store = b.cached_store("multihop", settings, d.multihop_corpus_path(settings.data_dir))
        queries = b.multihop_split("dev", root=settings.data_dir)
        queries = random.Random(0).sample(queries, min(len(queries), 600))
        return store, [
            (q.query, [q.answer.rstrip(".")])
            for q in queries
            if not q.is_null and q.answer.lower().rstrip(".") not in ("yes", "no")
        ]
    if dataset == "seed":
        from fundstelle.eval.gold import DEFAULT_GOLD, load_gold

        gold = [g for g in load_gold(DEFAULT_GOLD) if not g.unanswerable]
        return settings, [(g.question, [a for alts in g.facts for a in alts]) for g in gold]
    raise SystemExit(f"unknown dataset {dataset}")


def dev_engine(
    dataset: str, limit: int | None, seed: int, translate: bool
) -> tuple[Engine, list[tuple[str, list[str]]]]:
    """An engine over a development set's store, as ``ask`` ranks without a generator
    (``extractive``) or with the generator translating the question (``translate``), and a
    seeded sample of ``limit`` of its items (all without a limit)."""
    from fundstelle.qa.engine import Engine

    store, items = dev_items(dataset, Settings())
    if limit and limit < len(items):
        items = random.Random(seed).sample(items, limit)
    engine = Engine(
        store.with_overrides(
            backend="llamacpp" if translate else "extractive", translate_queries=translate
        )
    )
    return engine, items
