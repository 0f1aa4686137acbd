"""Retrieval on a freshly ingested corpus, stage by stage, as ``ask`` runs it (issue 21).

A new store is built with the default settings (sentences embedded at ingest), then each
development question is asked as if new (its vector not kept from an earlier one) through the
``extractive`` backend, which stops where the generator would start. Printed per stage, p50 /
p90 over the questions: the question's embedding, the vector search, the keyword search, the
fusion, the re-rank, retrieval including the re-rank, and the evidence on screen.

    python -m benchmarks.bench_fresh --dataset germanquad          # short German questions
    python -m benchmarks.bench_fresh --dataset multihop --questions 50   # 40-word English ones

Run it alone on the machine: the figures are milliseconds on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest

from benchmarks.devsets import dev_corpus, dev_questions

STAGES = ("embed_query", "dense", "bm25", "fuse", "rerank", "search", "evidence_shown")


def measure(dataset: str, questions: int, store: Path) -> dict[str, list[float]]:
    from fundstelle.qa.engine import Engine

    corpus = dev_corpus(dataset, Settings())
    if corpus is None:
        raise SystemExit("--dataset: a set with a corpus of its own (germanquad, xquad-de, ...)")
    items = dev_questions(dataset, Settings())
    settings = Settings().with_overrides(store_path=store, chroma_url=None, backend="extractive")
    t = time.perf_counter()
    report = ingest([corpus[1]], settings)
    print(f"ingest: {report.chunks} chunks in {time.perf_counter() - t:.0f} s ({store})")
    engine = Engine(settings)
    engine.answer("Zebra crossing regulations in medieval Iceland")  # loads models; off topic
    out: dict[str, list[float]] = {s: [] for s in STAGES}
    words = []
    for question, _ in items[:questions]:
        engine.retriever.embedder.forget_queries()  # each question as if new
        timings = engine.answer(question).timings
        timings["search"] = timings["retrieval"] + timings.get("rerank", 0.0)
        for s in STAGES:
            out[s].append(timings.get(s, 0.0))
        words.append(len(question.split()))
    print(f"{len(words)} questions, words p50 {statistics.median(words):.0f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", default="germanquad")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--store", type=Path, help="where to build the store (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = measure(args.dataset, args.questions, args.store or Path(tmp) / "store")
    print("| stage | p50 ms | p90 ms |")
    print("|---|---|---|")
    for stage, values in out.items():
        q = statistics.quantiles(values, n=10)
        print(f"| {stage} | {statistics.median(values) * 1000:.1f} | {q[-1] * 1000:.1f} |")


if __name__ == "__main__":
    main()
