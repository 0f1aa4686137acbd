"""Ingest benchmark on the MultiHop-RAG corpus (the first N articles, a fixed part).

Prints, from one run:
* raw encode throughput of the embedding model on exactly the chunks ingest makes (chunks/s);
* ingest throughput of ``fundstelle ingest`` in a fresh process and store (chunks/s, wall clock,
  process start and model load included) and its ratio to raw encode;
* re-ingest of the unchanged corpus, and its ratio to the first ingest;
* peak memory (max RSS) of the ingest process.

    python -m benchmarks.bench_ingest --articles 100      # ~3 minutes
    python -m benchmarks.bench_ingest --articles 609      # the whole corpus, ~15 minutes
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval.datasets import multihop_corpus, multihop_corpus_path
from fundstelle.ingest.chunker import chunk_document
from fundstelle.ingest.embedders import load_embedder
from fundstelle.ingest.loaders import load_file


def _run_ingest(store: Path, corpus: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "fundstelle.ui.cli", "--store", str(store), "ingest", str(corpus)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {proc.stderr or proc.stdout}")
    return seconds, proc.stdout.strip()


def measure(articles: int, store: Path | None = None) -> dict[str, float | str]:
    """Raw encode vs. ingest of the first ``articles`` MultiHop-RAG articles, in one run."""
    settings = Settings()
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
    embedder = load_embedder(settings.embedding_model, settings.embedding_threads)
    t0 = time.perf_counter()
    batch = settings.embedding_batch_size
    for i in range(0, len(texts), batch):
        embedder.encode_passages(texts[i : i + batch])
    raw_s = time.perf_counter() - t0

    store = store or work / "store"
    if store.exists():
        raise SystemExit(f"{store} exists; the benchmark measures a first ingest into a new store")
    first_s, first_out = _run_ingest(store, corpus)
    again_s, again_out = _run_ingest(store, corpus)
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
        f"| ingest (fresh process and store) | {r['ingest_rate']:.2f} chunks/s ({r['first_s']:.1f} s) |"
    )
    print(f"| ingest / raw encode | {float(r['ingest_rate']) / float(r['raw_rate']):.3f} |")
    print(f"| re-ingest unchanged | {r['again_s']:.2f} s |")
    print(f"| re-ingest / first ingest | {float(r['again_s']) / float(r['first_s']):.3f} |")
    print(f"| peak RSS of ingest | {r['peak_mb']:.0f} MB |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument(
        "--store", type=Path, help="Keep the store here (must not exist yet); default: a tmp folder"
    )
    args = ap.parse_args()
    r = measure(args.articles, args.store)
    print_table(r)
    print(f"first: {r['first_out']}")
    print(f"again: {r['again_out']}")


if __name__ == "__main__":
    main()
