"""The performance benchmark: every stage measured as the corpus grows, embedded Chroma and a
Chroma server side by side. Prints Markdown tables.

    python -m benchmarks.bench_scale                 # all sections, ~20 minutes on 2 cores
    python -m benchmarks.bench_scale --sizes 1000 10000 --skip-answers

Corpus sizes: the MultiHop-RAG corpus (609 articles, 7,982 chunks of <= 1,000 characters, built
once under eval/cache) gives the real chunks. Larger sizes are made deterministically without
re-embedding: synthetic chunk j joins the first half of real chunk a and the second half of real
chunk b (a, b drawn by random.Random(j)), and its vector is the normalised mean of theirs; ten
synthetic chunks form a synthetic document, with its record in the store as ingest writes it
(since 2026-12-02: a question reads the document records for its filters and named
publishers). 1k is the first 1,000 real chunks.

The server rows also measure the keyword side at that size (issue 21): the memory the client's
keyword cache takes (RSS growth of the client while it builds it, and the arrays themselves:
token ids and the BM25 score matrix), its size on disk, the time to read it back, and the time
to bring it in sync with the server after ``--add`` (default 10,000) new chunks arrive there.

    python -m benchmarks.bench_scale --sizes 300000 --skip-answers --skip-ingest   # ~25 min
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fundstelle.core.settings import Settings
from fundstelle.eval.datasets import multihop_corpus_path, multihop_queries
from fundstelle.eval.metrics import percentile

QUERIES = 50


# --- building stores of a given size ---------------------------------------------------------------
def _source_chunks(settings: Settings) -> tuple[list[str], list[str], list[dict], np.ndarray]:
    from fundstelle.eval.benchmarks import cached_store
    from fundstelle.ingest.store import Store

    store_settings = cached_store("multihop", settings, multihop_corpus_path())
    store = Store.open(store_settings)
    store.require()
    ids, texts, metas, vecs = [], [], [], []
    offset = 0
    while True:
        got = store._chunks.get(
            include=["documents", "metadatas", "embeddings"], limit=2000, offset=offset
        )
        ids += got["ids"]
        texts += got["documents"]
        metas += got["metadatas"]
        vecs.append(np.asarray(got["embeddings"], dtype=np.float32))
        if len(got["ids"]) < 2000:
            break
        offset += 2000
    return ids, texts, metas, np.concatenate(vecs)


def build_store(
    path: Path,
    size: int,
    source: tuple[list[str], list[str], list[dict], np.ndarray],
    model: str,
    dim: int,
    first: int = 0,
    chroma_url: str | None = None,
) -> dict[str, float]:
    """Write ``size`` chunks; ``first`` > 0 writes only synthetic chunks from number ``first`` on
    (new chunks for a store that exists) and builds no keyword index."""
    from fundstelle.ingest.bm25 import BM25Index, bm25_folder
    from fundstelle.ingest.store import Store

    ids, texts, metas, vecs = source
    settings = Settings(store_path=path, chroma_url=chroma_url)
    store = Store.open(settings)
    store.ensure(model, dim)
    t0 = time.perf_counter()
    real = 0 if first else min(size, len(ids))
    batch = 4000
    for i in range(0, real, batch):
        j = min(real, i + batch)
        store._chunks.upsert(
            ids=ids[i:j], embeddings=vecs[i:j], documents=texts[i:j], metadatas=metas[i:j]
        )
    n_syn = size - real
    for i in range(0, n_syn, batch):
        b_ids, b_texts, b_metas, b_vecs = [], [], [], []
        for j in range(first + i, first + min(n_syn, i + batch)):
            rng = random.Random(j)
            a, b = rng.randrange(len(ids)), rng.randrange(len(ids))
            ta, tb = texts[a], texts[b]
            text = ta[: len(ta) // 2] + " " + tb[len(tb) // 2 :]
            v = vecs[a] + vecs[b]
            b_ids.append(f"syn-{j}")
            b_texts.append(text)
            b_vecs.append(v / np.linalg.norm(v))
            meta = dict(metas[a])
            meta.update(
                doc_id=f"syn-doc-{j // 10}",
                source=f"synthetic://{j // 10}",
                index=j % 10,
                start=0,
                end=len(text),
            )
            b_metas.append(meta)
        store._chunks.upsert(
            ids=b_ids, embeddings=np.stack(b_vecs), documents=b_texts, metadatas=b_metas
        )
    chroma_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_documents(store, size, source, first)
    documents_s = time.perf_counter() - t0
    store.bump_generation()
    if first:
        return {"chroma_write_s": chroma_s, "documents_s": documents_s}
    t0 = time.perf_counter()
    BM25Index(bm25_folder(path, None, settings.collection)).sync(store)
    return {
        "chroma_write_s": chroma_s,
        "documents_s": documents_s,
        "bm25_build_s": time.perf_counter() - t0,
    }


_DOC_FIELDS = ("source", "title", "date", "date_int", "url", "lang", "publisher")


def write_documents(
    store: object,
    size: int,
    source: tuple[list[str], list[str], list[dict], np.ndarray],
    first: int = 0,
) -> int:
    """The document records of the chunks ``first`` .. ``size`` (one per real article, one per
    ten synthetic chunks), complete, as ingest leaves them: what a question's filters, named
    publishers and the check for half-written documents read. Returns how many."""
    ids, _, metas, _ = source
    docs: dict[str, dict] = {}
    real = 0 if first else min(size, len(ids))
    for meta in metas[:real]:
        docs.setdefault(meta["doc_id"], {k: meta[k] for k in _DOC_FIELDS if k in meta})
        docs[meta["doc_id"]]["n_chunks"] = docs[meta["doc_id"]].get("n_chunks", 0) + 1
    for j in range(max(first, real), size, 10):
        meta = dict(metas[random.Random(j).randrange(len(ids))])
        meta["source"] = f"synthetic://{j // 10}"
        docs[f"syn-doc-{j // 10}"] = {k: meta[k] for k in _DOC_FIELDS if k in meta}
        docs[f"syn-doc-{j // 10}"]["n_chunks"] = min(10, size - j)
    rows = list(docs.items())
    for i in range(0, len(rows), 4000):
        batch = rows[i : i + 4000]
        store._docs.upsert(  # type: ignore[attr-defined]
            ids=[doc_id for doc_id, _ in batch],
            embeddings=[[0.0]] * len(batch),
            documents=["" for _ in batch],
            metadatas=[{**m, "status": "complete", "file_sha256": ""} for _, m in batch],
        )
    return len(rows)


# --- measuring in a child process (clean memory figures) ---------------------------------------------
def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _cache_arrays_mb(bm25: object) -> float:
    """The keyword cache's arrays: token ids per chunk and the postings of its segments."""
    total = sum(t.nbytes for t in bm25.token_ids)  # type: ignore[attr-defined]
    total += bm25.scorer.nbytes  # type: ignore[attr-defined]
    return total / 2**20


def child(store: Path, chroma_url: str | None, add: int = 0) -> None:
    from fundstelle.ingest.embedders import embedder_for
    from fundstelle.qa.retrieve import Retriever

    settings = Settings(store_path=store, chroma_url=chroma_url, rerank=False)
    embedder_for(settings)  # the model's memory is not the keyword cache's
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    r = Retriever(settings)
    r.bm25.sync(r.store)  # a server-mode cache builds here on first use
    setup_s = time.perf_counter() - t0
    cache: dict[str, float] = {
        "cache_rss_mb": _rss_mb() - rss0,
        "cache_arrays_mb": _cache_arrays_mb(r.bm25),
        "cache_disk_mb": sum(f.stat().st_size for f in r.bm25.folder.rglob("*") if f.is_file())
        / 2**20,
    }
    from fundstelle.eval.gold import DEFAULT_GOLD, load_gold

    long_queries = [q.query for q in multihop_queries() if not q.is_null][:QUERIES]
    short_queries = [g.question for g in load_gold(DEFAULT_GOLD)]
    out: dict[str, float] = {"setup_s": setup_s}
    for mode in ("dense", "bm25", "hybrid"):
        r.search(long_queries[0], k=10, mode=mode)  # warm
        times = []
        for q in long_queries:
            t = time.perf_counter()
            r.search(q, k=10, mode=mode)
            times.append(time.perf_counter() - t)
        out[f"{mode}_p50_ms"] = percentile(times, 50) * 1000
        out[f"{mode}_p95_ms"] = percentile(times, 95) * 1000
    times = []
    stages: dict[str, list[float]] = {}
    for q in short_queries:
        t = time.perf_counter()
        found = r.search(q, k=10, mode="hybrid")
        times.append(time.perf_counter() - t)
        for stage, seconds in found.timings.items():
            stages.setdefault(stage, []).append(seconds)
    out["short_p50_ms"] = percentile(times, 50) * 1000
    out["short_p95_ms"] = percentile(times, 95) * 1000
    # where a short question's time goes (the keyword side runs beside the embedding and the
    # dense search, so the stages do not add up to the whole)
    for stage, seconds in stages.items():
        out[f"short_{stage}_p50_ms"] = percentile(seconds, 50) * 1000
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.update(cache)
    if add:
        from fundstelle.ingest.bm25 import BM25Index

        # a client starting again reads its cache from disk
        t = time.perf_counter()
        BM25Index(r.bm25.folder, settings.keyword_analyzer)
        out["cache_load_s"] = time.perf_counter() - t
        # another machine ingests ``add`` chunks into the server; this client catches up
        size = len(r.bm25)
        source = _source_chunks(Settings())
        model = r.store.embedding_model or "?"
        build_store(store, add, source, model, r.embedder.dim, first=size, chroma_url=chroma_url)
        t = time.perf_counter()
        assert r.bm25.sync(r.store)
        out["sync_s"] = time.perf_counter() - t
        out["synced_chunks"] = len(r.bm25)
        out["segments"] = len(r.bm25.scorer.segments)
    # what a sync costs beyond the keyword side: listing every chunk id of the store
    t = time.perf_counter()
    r.store.chunk_ids()
    out["list_ids_s"] = time.perf_counter() - t
    print(json.dumps(out))


def _run_child(store: Path, chroma_url: str | None, add: int = 0) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.bench_scale", "--child", str(store)]
    if chroma_url:
        cmd += ["--child-url", chroma_url]
    if add:
        cmd += ["--child-add", str(add)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _chroma_server(path: Path):  # type: ignore[no-untyped-def]
    from tests.helpers.servers import chroma_server

    return chroma_server(path)


# --- sections -----------------------------------------------------------------------------------
def retrieval_section(
    sizes: list[int], work: Path, servers: bool, add: int = 10_000, keep: Path | None = None
) -> None:
    from fundstelle.ingest.embedders import load_embedder

    settings = Settings()
    emb = load_embedder(settings.embedding_model)
    source = _source_chunks(settings)
    print(
        f"\n### Retrieval latency (k=10, no generator): {QUERIES} MultiHop-RAG queries (40 words on "
        "average); last latency column: hybrid on the 38 seed gold questions (9 words)\n"
    )
    print(
        "| chunks | store | dense p50 / p95 | BM25 p50 / p95 | hybrid p50 / p95 "
        "| hybrid, short questions p50 / p95 | RSS | build (Chroma write + BM25) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        path = (keep or work) / f"store-{size}"
        built = path / "built.json"
        if keep and built.exists():
            build = json.loads(built.read_text())  # a kept store: measure it again
            from fundstelle.ingest.store import Store

            store = Store.open(Settings(store_path=path))
            store.ensure(emb.name, emb.dim)  # as the next ingest would: what it lacks is added
            if "documents_s" not in build:  # built before stores had document records
                t0 = time.perf_counter()
                write_documents(store, size, source)
                build["documents_s"] = time.perf_counter() - t0
                store.bump_generation()
                built.write_text(json.dumps(build))
        else:
            shutil.rmtree(path, ignore_errors=True)
            build = build_store(path, size, source, emb.name, emb.dim)
            built.write_text(json.dumps(build))
        rows = [("embedded", _run_child(path, None))]
        if servers:
            with _chroma_server(path / "chroma") as url:
                rows.append(("server", _run_child(work / f"client-{size}", url, add)))
        for kind, r in rows:
            print(
                f"| {size:,} | {kind} | {r['dense_p50_ms']:.1f} / {r['dense_p95_ms']:.1f} ms "
                f"| {r['bm25_p50_ms']:.1f} / {r['bm25_p95_ms']:.1f} ms "
                f"| {r['hybrid_p50_ms']:.1f} / {r['hybrid_p95_ms']:.1f} ms "
                f"| {r['short_p50_ms']:.1f} / {r['short_p95_ms']:.1f} ms | {r['rss_mb']:.0f} MB "
                f"| {build['chroma_write_s']:.0f} s + {build['bm25_build_s']:.0f} s |",
                flush=True,
            )
        for kind, r in rows:
            print(
                f"  {kind}, where a short question's time goes (p50): "
                + ", ".join(
                    f"{key[6:-7]} {value:.1f} ms"
                    for key, value in r.items()
                    if key.startswith("short_")
                    and key.endswith("_p50_ms")
                    and key != "short_p50_ms"
                ),
                flush=True,
            )
            print(
                f"  keyword cache, {kind} client: {r['cache_rss_mb']:.0f} MB RSS growth while "
                f"built ({r['setup_s']:.1f} s), arrays {r['cache_arrays_mb']:.0f} MB, "
                f"{r['cache_disk_mb']:.0f} MB on disk",
                flush=True,
            )
            print(f"  listing the store's chunk ids (each sync does): {r['list_ids_s']:.1f} s")
            if "sync_s" in r:
                print(
                    f"  read back from disk {r['cache_load_s']:.1f} s; in sync again after "
                    f"{add:,} new chunks on the server: {r['sync_s']:.1f} s "
                    f"({int(r['synced_chunks']):,} chunks, {int(r['segments'])} segments)",
                    flush=True,
                )
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def ingest_section(articles: int) -> None:
    from benchmarks.bench_ingest import measure, print_table

    print("\n### Ingest throughput against raw encode (one run)\n")
    print_table(measure(articles))


def cold_start_section(store: Path) -> None:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fundstelle.ui.cli",
                "--store",
                str(store),
                "ask",
                "--backend",
                "extractive",
                "Which countries plan bases in Ukraine?",
            ],
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - t)
    print(
        f"\n### Cold start\n\n`fundstelle ask --backend extractive` in a new process on the shipped corpus: "
        f"median {sorted(times)[1]:.2f} s of 3 runs (min {min(times):.2f} s)"
    )


def answers_section(store: Path, work: Path) -> None:
    from fundstelle.eval.gold import DEFAULT_GOLD, load_gold
    from fundstelle.qa.backends.model_files import packaged_gguf

    from benchmarks.bench_answers import measure
    from tests.helpers.servers import llama_server

    questions = [i.question for i in load_gold(DEFAULT_GOLD) if not i.unanswerable][:12]
    print(f"\n### Answer time by backend (shipped corpus, {len(questions)} gold questions)\n")
    print("| backend | first token p50 / p95 | answer p50 / p95 |")
    print("|---|---|---|")
    base = Settings(store_path=store)
    for backend in ("llamacpp", "extractive"):
        r = measure(base.with_overrides(backend=backend), questions)
        print(
            f"| {backend} | {r['first_token_p50_s']:.2f} / {r['first_token_p95_s']:.2f} s | {r['total_p50_s']:.2f} / {r['total_p95_s']:.2f} s |",
            flush=True,
        )
    with llama_server(packaged_gguf(base.model_cache), work / "llama.log") as url:
        openai = base.with_overrides(backend="openai", llm_base_url=url, llm_model="qwen")
        r = measure(openai, questions)
        print(
            f"| openai (llama.cpp server on loopback) | {r['first_token_p50_s']:.2f} / {r['first_token_p95_s']:.2f} s | {r['total_p50_s']:.2f} / {r['total_p95_s']:.2f} s |",
            flush=True,
        )
        batch_section(openai, questions, work)


def batch_section(settings: Settings, questions: list[str], work: Path) -> None:
    from fundstelle.qa.batch import Question, run_batch
    from fundstelle.qa.engine import Engine

    engine = Engine(settings)
    engine.answer(questions[0])  # warm
    print(
        "\n### Batch throughput, openai backend against llama.cpp's server (one model instance)\n"
    )
    print("| concurrency | questions | seconds | questions/min |")
    print("|---|---|---|---|")
    qs = [Question(f"q{i}", q) for i, q in enumerate(questions[:8])]
    for n in (1, 2, 4):
        out = work / f"batch-{n}.jsonl"
        t = time.perf_counter()
        counts = run_batch(engine, qs, out, concurrency=n)
        s = time.perf_counter() - t
        print(f"| {n} | {counts['done']} | {s:.1f} | {counts['done'] / s * 60:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--no-server", action="store_true", help="skip the Chroma server rows")
    ap.add_argument("--skip-answers", action="store_true")
    ap.add_argument("--skip-retrieval", action="store_true")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument(
        "--ingest-articles", type=int, default=50, help="MultiHop-RAG articles for the ingest row"
    )
    ap.add_argument(
        "--keep",
        type=Path,
        help="build the stores in this folder and keep them; a store already built there is "
        "measured again without being rebuilt",
    )
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--add", type=int, default=10_000, help="new chunks the server rows sync after")
    ap.add_argument("--child-url", help=argparse.SUPPRESS)
    ap.add_argument("--child-add", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.child_url, args.child_add)
        return
    work = Path(tempfile.mkdtemp(prefix="fundstelle-scale-"))
    print(f"# Fundstelle benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores")
    from benchmarks.bench_answers import seed_store

    seed = seed_store()
    if not args.skip_ingest:
        ingest_section(args.ingest_articles)
    cold_start_section(seed)
    if not args.skip_retrieval:
        retrieval_section(
            args.sizes, work, servers=not args.no_server, add=args.add, keep=args.keep
        )
    if not args.skip_answers:
        answers_section(seed, work)


if __name__ == "__main__":
    main()
