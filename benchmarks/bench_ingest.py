"""Ingest benchmark on the MultiHop-RAG corpus (the first N articles, a fixed part).

Prints, from one run:
* raw encode throughput of the embedding model on exactly the chunks ingest makes (chunks/s);
* ingest throughput of ``fundstelle ingest`` in a fresh process and store (chunks/s, wall clock,
  process start and model load included) and its ratio to raw encode;
* re-ingest of the unchanged corpus, and its ratio to the first ingest;
* peak memory (max RSS) of the ingest process.

With ``--sentences`` also (issue 21): raw encode of the chunks' sentences (what the answer step
ranks evidence with), ingest with ``FUNDSTELLE_EMBED_SENTENCES`` off against on, and what a
question saves: time to the evidence (retrieval, re-rank, evidence sentences; extractive
backend) on the first ``--questions`` MultiHop-RAG queries, on the store whose sentences were
embedded at ingest against the store whose sentence cache is cold.
``--embedding-url URL`` measures a served embedder: the raw figure is then the server's own
throughput through the same client (batches of FUNDSTELLE_EMBEDDING_BATCH_SIZE,
FUNDSTELLE_EMBEDDING_PARALLEL requests in flight).
Run each comparison inside one run: another process on the machine moves absolute figures.

    python -m benchmarks.bench_ingest --articles 100      # ~3 minutes
    python -m benchmarks.bench_ingest --articles 100 --sentences   # ~12 minutes on 2 cores
    python -m benchmarks.bench_ingest --articles 609      # the whole corpus, ~15 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval.datasets import multihop_corpus, multihop_corpus_path, multihop_queries
from fundstelle.ingest.chunker import chunk_document
from fundstelle.ingest.embedders import embedder_for
from fundstelle.ingest.loaders import load_file
from fundstelle.ingest.sentence_cache import sentence_texts


def _run_ingest(store: Path, corpus: Path, **env: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "fundstelle.ui.cli", "--store", str(store), "ingest", str(corpus)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {proc.stderr or proc.stdout}")
    return seconds, proc.stdout.strip()


def measure(
    articles: int,
    store: Path | None = None,
    *,
    sentences: bool = False,
    questions: int = 30,
    embedding_url: str | None = None,
) -> dict[str, float | str]:
    """Raw encode vs. ingest of the first ``articles`` MultiHop-RAG articles, in one run."""
    settings = Settings(embed_sentences=sentences)
    if embedding_url:
        settings = settings.with_overrides(embedding_url=embedding_url)
        os.environ["FUNDSTELLE_EMBEDDING_URL"] = embedding_url  # for the ingest processes
    work = Path(tempfile.mkdtemp(prefix="fundstelle-bench-"))
    if articles >= len(multihop_corpus()):
        corpus = multihop_corpus_path()  # the whole corpus: ingest the original file
    else:
        corpus = work / "multihop.jsonl"
        with corpus.open("w", encoding="utf-8") as f:
            for article in multihop_corpus()[:articles]:
                f.write(json.dumps(article, ensure_ascii=False) + "\n")

    # the exact chunks ingest will embed
    docs = load_file(corpus, str(corpus.absolute()), int(settings.max_file_mb * 1e6)).documents
    texts = [
        c.text for d in docs for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)
    ]
    embedder = embedder_for(settings)
    batch = settings.embedding_batch_size
    # as ingest sends them: a server gets several batches at once
    step = batch * max(1, embedder.parallel)
    t0 = time.perf_counter()
    for i in range(0, len(texts), step):
        embedder.encode_passages(texts[i : i + step])
    raw_s = time.perf_counter() - t0

    store = store or work / "store"
    if store.exists():
        raise SystemExit(f"{store} exists; the benchmark measures a first ingest into a new store")
    extra: dict[str, float | str] = {}
    if sentences:
        # each sentence once, as ingest embeds them (overlap sentences are not embedded twice)
        unique = list(dict.fromkeys(t for c in texts for t in sentence_texts(c)))
        t0 = time.perf_counter()
        for i in range(0, len(unique), step):
            embedder.encode_passages(unique[i : i + step])
        extra["sentences"] = len(unique)
        extra["raw_sentences_s"] = time.perf_counter() - t0
        off_store = store.with_name(store.name + "-no-sentences")
        extra["off_s"], _ = _run_ingest(off_store, corpus, FUNDSTELLE_EMBED_SENTENCES="false")
    first_s, first_out = _run_ingest(
        store, corpus, FUNDSTELLE_EMBED_SENTENCES="true" if sentences else "false"
    )
    again_s, again_out = _run_ingest(store, corpus)
    if sentences:
        queries = [q.query for q in multihop_queries() if not q.is_null][:questions]
        extra["cold"] = _evidence_times(settings.with_overrides(store_path=off_store), queries)
        extra["filled"] = _evidence_times(settings.with_overrides(store_path=store), queries)
    return {
        "documents": len(docs),
        "chunks": len(texts),
        "chunk_size": settings.chunk_size,
        "model": embedder.name,
        "batch": batch,
        "raw_s": raw_s,
        "raw_rate": len(texts) / raw_s,
        "first_s": first_s,
        "ingest_rate": len(texts) / first_s,
        "again_s": again_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "first_out": first_out,
        "again_out": again_out,
        **extra,
    }


def _evidence_times(settings: Settings, queries: list[str]) -> dict[str, float]:
    """Seconds from the question to the evidence shown (retrieval, re-rank, evidence sentences)
    with the extractive backend: p50, p90 and the re-rank's p50."""
    from fundstelle.qa.engine import Engine

    engine = Engine(settings.with_overrides(backend="extractive"))
    engine.answer("Zebra crossing regulations in medieval Iceland")  # loads models; off topic
    shown, rerank, search = [], [], []
    for q in queries:
        # each question as if new: the other store's run embedded the same questions
        engine.retriever.embedder.forget_queries()
        timings = engine.answer(q).timings
        shown.append(timings["evidence_shown"])
        rerank.append(timings.get("rerank", 0.0))
        search.append(timings["retrieval"] + timings.get("rerank", 0.0))
    q = statistics.quantiles(shown, n=10)
    return {
        "p50": statistics.median(shown),
        "p90": q[-1],
        "rerank_p50": statistics.median(rerank),
        "search_p50": statistics.median(search),  # retrieval including the re-rank
    }


def print_table(r: dict[str, float | str]) -> None:
    print(
        f"MultiHop-RAG, first {r['documents']} articles: {r['chunks']} chunks of <= {r['chunk_size']} chars"
    )
    print(f"embedding model: {r['model']}, batch {r['batch']}")
    print("| figure | value |")
    print("|---|---|")
    print(f"| raw encode | {r['raw_rate']:.2f} chunks/s ({r['raw_s']:.1f} s) |")
    print(
        f"| ingest (fresh process and store{', sentences on' if 'off_s' in r else ''}) "
        f"| {r['ingest_rate']:.2f} chunks/s ({r['first_s']:.1f} s) |"
    )
    print(f"| ingest / raw encode | {float(r['ingest_rate']) / float(r['raw_rate']):.3f} |")
    print(f"| re-ingest unchanged | {r['again_s']:.2f} s |")
    print(f"| re-ingest / first ingest | {float(r['again_s']) / float(r['first_s']):.3f} |")
    print(f"| peak RSS of ingest | {r['peak_mb']:.0f} MB |")
    if "off_s" not in r:
        return
    raw_all = float(r["raw_s"]) + float(r["raw_sentences_s"])
    first, off = float(r["first_s"]), float(r["off_s"])
    print(f"| raw encode of the {r['sentences']} sentences | {float(r['raw_sentences_s']):.1f} s |")
    print(
        f"| ingest, sentences off | {off:.1f} s; / raw encode of chunks {float(r['raw_s']) / off:.3f} |"
    )
    print(
        f"| ingest, sentences on | {first:.1f} s; / raw encode of chunks and sentences {raw_all / first:.3f} |"
    )
    print(f"| ingest time, sentences on / off | {first / off:.2f} |")
    cold, filled = r["cold"], r["filled"]
    assert isinstance(cold, dict) and isinstance(filled, dict)
    print(
        f"| question to evidence, cache cold: p50 / p90 (re-rank p50) | {cold['p50'] * 1000:.0f} / "
        f"{cold['p90'] * 1000:.0f} ms ({cold['rerank_p50'] * 1000:.0f} ms) |"
    )
    print(
        f"| question to evidence, sentences embedded at ingest | {filled['p50'] * 1000:.0f} / "
        f"{filled['p90'] * 1000:.0f} ms ({filled['rerank_p50'] * 1000:.0f} ms) |"
    )
    print(
        "| retrieval including the re-rank p50: cache cold / sentences embedded at ingest | "
        f"{cold['search_p50'] * 1000:.0f} / {filled['search_p50'] * 1000:.0f} ms |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument(
        "--store", type=Path, help="Keep the store here (must not exist yet); default: a tmp folder"
    )
    ap.add_argument(
        "--sentences",
        action="store_true",
        help="also: sentences embedded at ingest (on vs off) and what a question saves",
    )
    ap.add_argument("--questions", type=int, default=30)
    ap.add_argument("--embedding-url", help="an OpenAI-compatible embedding server")
    args = ap.parse_args()
    r = measure(
        args.articles,
        args.store,
        sentences=args.sentences,
        questions=args.questions,
        embedding_url=args.embedding_url,
    )
    print_table(r)
    print(f"first: {r['first_out']}")
    print(f"again: {r['again_out']}")


if __name__ == "__main__":
    main()
