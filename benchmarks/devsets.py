"""Development sets for the answer-step benchmarks: (store settings, [(question, gold forms)]).

Development parts only: XQuAD articles 0-23, the GermanQuAD slice's dev part, the seed gold
set's development part, MultiHop-RAG queries outside the 300-query test sample.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

from fundstelle.core.settings import Settings

if TYPE_CHECKING:
    from fundstelle.qa.engine import Engine
    from fundstelle.qa.types import Evidence


def dev_corpus(dataset: str, settings: Settings) -> tuple[str, Path] | None:
    """(store name, source file) of a development set's corpus, the file written where it is
    made from a dataset; None for the seed gold set, which asks the current store."""
    from fundstelle.eval import benchmarks as b
    from fundstelle.eval import datasets as d

    if dataset == "germanquad":
        paragraphs, _ = d.germanquad()
        articles, _ = d.xquad(range(0, 48), settings.data_dir)
        return "german-open", d.write_german_corpus(
            paragraphs, articles, b.CACHE / "german-open.jsonl"
        )
    if dataset == "xquad-de":
        articles, _ = d.xquad(range(0, 48), settings.data_dir)
        return "xquad-paragraphs", d.write_xquad_paragraphs(
            articles, b.CACHE / "xquad-de-paragraphs.jsonl"
        )
    if dataset == "xquad-xling":
        articles, _ = d.xquad(d.DEV_ARTICLES, settings.data_dir)
        return "xquad-dev", d.write_xquad_collection(articles, b.CACHE / "xquad-de-dev.jsonl")
    if dataset == "multihop":
        return "multihop", d.multihop_corpus_path(settings.data_dir)
    if dataset == "seed":
        return None
    raise SystemExit(f"unknown dataset {dataset}")


def dev_questions(dataset: str, settings: Settings) -> list[tuple[str, list[str]]]:
    """[(question, gold forms)] of a development set."""
    from fundstelle.eval import benchmarks as b
    from fundstelle.eval import datasets as d

    if dataset == "germanquad":
        paragraphs, items = d.germanquad()
        dev = {p.document_id for p in paragraphs if p.split == "dev"}
        return [(it.question, list(it.answers)) for it in items if it.paragraph in dev]
    if dataset in ("xquad-de", "xquad-xling"):
        _, items = d.xquad(d.DEV_ARTICLES, settings.data_dir)
        q = (lambda it: it.question_de) if dataset == "xquad-de" else (lambda it: it.question_en)
        return [(q(it), [it.answer_de, it.answer_en]) for it in items]
    if dataset == "multihop":
        queries = b.multihop_split("dev", root=settings.data_dir)
        queries = random.Random(0).sample(queries, min(len(queries), 600))
        return [
            (q.query, [q.answer.rstrip(".")])
            for q in queries
            if not q.is_null and q.answer.lower().rstrip(".") not in ("yes", "no")
        ]
    if dataset == "seed":
        from fundstelle.eval.gold import DEFAULT_GOLD, load_gold

        gold = [g for g in load_gold(DEFAULT_GOLD) if not g.unanswerable]
        return [(g.question, [a for alts in g.facts for a in alts]) for g in gold]
    raise SystemExit(f"unknown dataset {dataset}")


def dev_items(dataset: str, settings: Settings) -> tuple[Settings, list[tuple[str, list[str]]]]:
    """(store settings, [(question, gold forms)]) of a development set; its store under
    eval/cache is built or brought up to date (the seed gold set asks the current store)."""
    from fundstelle.eval import benchmarks as b

    corpus = dev_corpus(dataset, settings)
    store = settings if corpus is None else b.cached_store(corpus[0], settings, corpus[1])
    return store, dev_questions(dataset, settings)


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


def first_evidence(engine: Engine, question: str, top: int) -> tuple[list[Evidence], dict]:
    """The ``top`` best evidence sentences of the question's first part, as ``ask`` selects
    them (the question translated where the engine translates), and the translations."""
    from fundstelle.qa.evidence import select

    retrieval, translations = engine._retrieve(question, None, None)
    parts = select(engine.selector, question, retrieval.passages,
                   engine.settings.evidence_sentences, translations or None)  # fmt: skip
    return (parts[0][:top] if parts else []), translations
