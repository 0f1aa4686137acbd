"""The judge (qa/judge.py) on development sets: does ordering the first evidence sentences by
the generator's P(yes) put an answering sentence first more often than the ranking alone, and
which threshold on the best P(yes) refuses questions the sources cannot answer while keeping
those they can?

Answerable: the development sets of benchmarks/devsets.py. Unanswerable: the seed development
set's unanswerable items on the shipped store, MultiHop-RAG development null queries, and
GermanQuAD development questions asked of the XQuAD development store (other articles).
Each record (question, per sentence: rank, score, P(yes), gold inside) goes to --out as JSON
Lines; the summary is printed:

    python -m benchmarks.bench_judge --limit 60 --out /tmp/judge.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.ingest.chunker import sentence_units
from fundstelle.ingest.types import Chunk
from fundstelle.qa import judge, read
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Evidence, Passage
from langchain_core.messages import AIMessage

from benchmarks.devsets import dev_items, first_evidence

# Worked examples for --shots (written for this prompt, not taken from any evaluation set):
# questions in English and German over sentences in either; the "no" cases are the judge's known
# mistakes, a sentence that shares the question's names but states something else (another
# person's role, the year of another event, another fact about the place).
EXAMPLES = [
    ("When did the company open its first store in Berlin?", "Firmengeschichte",
     "Das Unternehmen eröffnete 1998 seine erste Filiale in Berlin.", "yes"),
    ("Who founded the orchestra?", "Gürzenich-Orchester",
     "The orchestra's first concert took place in 1882, conducted by Franz Wüllner.", "no"),
    ("In welchem Jahr gewann sie den Preis?", "Lise Meitner",
     "Sie begann 1901 ihr Studium der Physik an der Universität Wien.", "no"),
    ("Wo hat der Verband seinen Sitz?", "Weltverband",
     "Der Verband hat seinen Sitz in Genf.", "yes"),
    ("How many people live in the city?", "Dresden",
     "Die Stadt liegt an der Elbe und ist für ihre Brücken bekannt.", "no"),
    ("What did the court decide about the merger?", "Fusion",
     "Das Gericht untersagte die Fusion der beiden Banken im März.", "yes"),
]  # fmt: skip


# --context (tried 2026-12-03, not taken): closed word classes of English and German grammar
# (third-person pronouns, demonstratives, adverbs pointing back): a sentence holding one may name
# what it is about only in the sentence before ("Mit 39 Jahren ist er der älteste Quarterback")
_BACK = re.compile(
    r"\b(he|she|it|they|him|her|them|his|its|their|this|these|those|there|such|"
    r"er|sie|es|ihm|ihn|ihnen|ihr|ihre[mnrs]?|sein|seine[mnrs]?|dessen|deren|"
    r"dies|diese[mnrs]?|jene[mnrs]?|dort|damals|solche[mnrs]?)\b",
    re.IGNORECASE,
)


def refers_back(text: str) -> bool:
    return bool(_BACK.search(text))


def with_previous(ev: Evidence) -> Evidence | None:
    """``ev`` extended back over the sentence before it in its chunk (exact document offsets),
    or None where it opens its chunk."""
    c = ev.chunk
    begin = ev.start - c.start
    previous = [s for s, e in sentence_units(c.text, 400) if e <= begin]
    if not previous:
        return None
    s = previous[-1]
    return Evidence(ev.n, c.text[s : ev.end - c.start], c.start + s, ev.end, ev.score, ev.passage)


def shot_messages(question: str, ev: Evidence) -> list:
    """The judge's prompt with the worked examples as earlier turns (a constant part of the
    prompt, kept in the model's cache: no cost per call). Tried 2026-12-03, not taken."""
    turns: list = []
    for q, title, text, verdict in EXAMPLES:
        chunk = Chunk("example", 0, text, 0, len(text), "example.txt", title)
        _, asked = judge.messages(q, Evidence(1, text, 0, len(text), 1.0, Passage(chunk, 1.0)))
        turns += [asked, AIMessage(content=verdict)]
    system, user = judge.messages(question, ev)
    return [system, *turns, user]


def _unanswerable(settings: Settings, limit: int, seed: int) -> list[tuple[str, Settings, str]]:
    from fundstelle.eval import benchmarks as b
    from fundstelle.eval.gold import DEFAULT_GOLD, load_gold

    out = [(g.question, settings, "seed") for g in load_gold(DEFAULT_GOLD) if g.unanswerable]
    mh_store, _ = dev_items("multihop", settings)
    nulls = [q.query for q in b.multihop_split("dev", root=settings.data_dir) if q.is_null]
    rng = random.Random(seed)
    out += [(q, mh_store, "multihop-null") for q in rng.sample(nulls, min(limit, len(nulls)))]
    xq_store, _ = dev_items("xquad-xling", settings)
    _, gq = dev_items("germanquad", settings)
    out += [(q, xq_store, "germanquad-on-xquad") for q, _ in rng.sample(gq, min(limit, len(gq)))]
    return out


def dev_jobs(
    datasets: str, limit: int, seed: int
) -> list[tuple[str, Settings, str, list[str] | None]]:
    """(question, store, set, gold forms) of ``limit`` seeded questions of each development set
    in ``datasets`` (comma-separated), then the unanswerable ones (gold None)."""
    base = Settings()
    jobs: list[tuple[str, Settings, str, list[str] | None]] = []
    for name in datasets.split(","):
        store, items = dev_items(name, base)
        rng = random.Random(seed)
        for q, forms in rng.sample(items, min(limit, len(items))):
            jobs.append((q, store, name, forms))
    jobs += [(q, st, name, None) for q, st, name in _unanswerable(base, limit // 2, seed)]
    return jobs


def engine_for(engines: dict[str, Engine], store: Settings) -> Engine:
    """One in-process llama.cpp engine per store, kept in ``engines``."""
    key = store.model_dump_json()
    if key not in engines:
        engines[key] = Engine(store.with_overrides(backend="llamacpp"))
    return engines[key]


def run(
    engine: Engine,
    question: str,
    forms: list[str] | None,
    top: int,
    both: bool = False,
    reader_p: bool = False,
    shots: bool = False,
    context: bool = False,
) -> dict:
    first, translations = first_evidence(engine, question, top)
    kind = read.model_kind(engine.chat_model)
    rows = []
    t = time.perf_counter()
    for ev in first:
        p = judge.yes_probability(engine.chat_model, kind, judge.messages(question, ev))
        row = {
            "rank": ev.n, "score": round(ev.score, 4), "p": None if p is None else round(p, 4),
            "gold": bool(forms) and m.fact_present(ev.text, forms),
        }  # fmt: skip
        if shots:
            # the same sentence judged after the worked examples (EXAMPLES above)
            ps = judge.yes_probability(engine.chat_model, kind, shot_messages(question, ev))
            row["p_shots"] = None if ps is None else round(ps, 4)
        if context:
            # the same sentence judged together with the sentence before it in its chunk, and
            # whether it refers back (refers_back above)
            unit = with_previous(ev)
            row["refers"] = refers_back(ev.text)
            if unit is not None:
                pc = judge.yes_probability(engine.chat_model, kind, judge.messages(question, unit))
                row["p_context"] = None if pc is None else round(pc, 4)
                row["gold_context"] = bool(forms) and m.fact_present(unit.text, forms)
        if reader_p:
            # the reader's own odds that this sentence (shown alone) answers: the likelier of
            # its number and "0" (none) right after ``{"sentence": `` (qa.read.reply)
            pr = engine.chat_model.first_token_probabilities(  # type: ignore[union-attr]
                read.messages(question, [ev]), ("0", str(ev.n)), reply_start=read.START
            )
            total = sum(pr.values())
            own = pr.get(str(ev.n))  # None where n is not one token (10 and above)
            row["p_reader"] = round(own / total, 4) if own is not None and total > 0 else None
        if both and translations and ev.chunk.lang in translations:
            # the same sentence judged against the question in the sentence's language
            q = translations[ev.chunk.lang]
            pt = judge.yes_probability(engine.chat_model, kind, judge.messages(q, ev))
            row["p_translated"] = None if pt is None else round(pt, 4)
        rows.append(row)
    return {"question": question, "sentences": rows, "judge_s": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="seed,xquad-xling,germanquad,multihop")
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="judge.jsonl")
    ap.add_argument("--top", type=int, default=1, help="evidence sentences judged per question")
    ap.add_argument(
        "--both-forms",
        action="store_true",
        help="also judge each sentence against the question's translation into its language",
    )
    ap.add_argument(
        "--reader-p",
        action="store_true",
        help="also record the reader's P(this sentence's number) against P(0) (p_reader)",
    )
    ap.add_argument(
        "--shots",
        action="store_true",
        help="also judge each sentence after the worked examples (p_shots)",
    )
    ap.add_argument(
        "--context",
        action="store_true",
        help="also judge each sentence with the sentence before it (p_context, gold_context)",
    )
    args = ap.parse_args()
    jobs = dev_jobs(args.datasets, args.limit, args.seed)
    engines: dict[str, Engine] = {}
    with open(args.out, "w", encoding="utf-8") as out:
        for i, (q, store, name, forms) in enumerate(jobs, 1):
            rec = run(
                engine_for(engines, store),
                q,
                forms,
                args.top,
                args.both_forms,
                args.reader_p,
                args.shots,
                args.context,
            ) | {
                "set": name,
                "answerable": forms is not None,
            }
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            out.flush()
            print(f"{i}/{len(jobs)} {name} {rec['judge_s']:.1f}s", flush=True)


if __name__ == "__main__":
    main()
