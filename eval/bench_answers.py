"""Answer latency on the shipped corpus: retrieval, first answer token and whole answer, p50/p95,
per backend, over the questions of the seed gold set. Models load once per process (the load is
reported on its own line and not counted in the per-question figures).

    python -m eval.bench_answers                          # llamacpp and extractive
    python -m eval.bench_answers --backend openai --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eval.datasets import SHIPPED_CORPUS
from eval.gold import DEFAULT_GOLD, load_gold
from eval.metrics import percentile
from ingest.pipeline import ingest
from ingest.settings import Settings
from qa.engine import Engine


def measure(settings: Settings, questions: list[str], warmup: int = 1) -> dict[str, float]:
    """Per-question timings (seconds) of one engine; the first ``warmup`` questions load models."""
    t0 = time.perf_counter()
    engine = Engine(settings)
    for q in questions[:warmup]:
        engine.answer(q)
    load_s = time.perf_counter() - t0
    retrieval, first, total = [], [], []
    for q in questions:
        a = engine.answer(q)
        retrieval.append(a.timings.get("retrieval", 0.0) + a.timings.get("rerank", 0.0))
        total.append(a.timings["total"])
        if "first_token" in a.timings:
            first.append(a.timings["first_token"])
    return {
        "load_and_warmup_s": load_s,
        "questions": len(questions),
        "retrieval_p50_ms": percentile(retrieval, 50) * 1000,
        "retrieval_p95_ms": percentile(retrieval, 95) * 1000,
        "first_token_p50_s": percentile(first, 50),
        "first_token_p95_s": percentile(first, 95),
        "total_p50_s": percentile(total, 50),
        "total_p95_s": percentile(total, 95),
        "answered": len(first),
    }


def seed_store() -> Path:
    store = Path(tempfile.mkdtemp(prefix="fundstelle-bench-")) / "store"
    ingest([SHIPPED_CORPUS], Settings(store_path=store))
    return store


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--backend", action="append", choices=["llamacpp", "extractive", "openai", "ollama"]
    )
    ap.add_argument("--base-url")
    ap.add_argument(
        "--limit", type=int, default=20, help="questions of the gold set (answerable first)"
    )
    args = ap.parse_args()
    backends = args.backend or ["llamacpp", "extractive"]
    items = sorted(load_gold(DEFAULT_GOLD), key=lambda i: i.unanswerable)[: args.limit]
    questions = [i.question for i in items]
    store = seed_store()
    print(f"shipped corpus, {len(questions)} gold questions, {time.strftime('%Y-%m-%d')}")
    print(
        "| backend | retrieval p50 / p95 | first token p50 / p95 | answer p50 / p95 | load + warm-up |"
    )
    print("|---|---|---|---|---|")
    for backend in backends:
        s = Settings(store_path=store, backend=backend, llm_base_url=args.base_url)
        r = measure(s, questions)
        print(
            f"| {backend} | {r['retrieval_p50_ms']:.0f} / {r['retrieval_p95_ms']:.0f} ms "
            f"| {r['first_token_p50_s']:.2f} / {r['first_token_p95_s']:.2f} s "
            f"| {r['total_p50_s']:.2f} / {r['total_p95_s']:.2f} s | {r['load_and_warmup_s']:.1f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
