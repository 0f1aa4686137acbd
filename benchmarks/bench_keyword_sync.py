"""What a keyword-cache sync costs after new chunks, against building the cache whole.

The keyword side alone (no Chroma): a store of ``--size`` chunks of MultiHop-RAG text (real
chunks' sentences shuffled into synthetic chunks), synced once; then ``--add`` new chunks arrive
and the index syncs again (a new segment), and, for comparison, a fresh index is built over
everything (what every sync did before segments). Prints the figures and their ratio, the
memory of the index and a search's time.

    python -m benchmarks.bench_keyword_sync --size 200000 --add 10000

``--keep DIR`` keeps the first index (``DIR/bm25``) and a copy without its postings files
(``DIR/bm25-tokens-only``); ``--read FOLDER`` only reads an index back and prints the seconds,
so that reads can be timed in fresh processes, alternating:

    python -m benchmarks.bench_keyword_sync --size 200000 --add 10000 --keep /tmp/kw
    for i in 1 2; do for f in bm25 bm25-tokens-only; do
      python -m benchmarks.bench_keyword_sync --read /tmp/kw/$f; done; done
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from fundstelle.eval.metrics import percentile
from fundstelle.ingest.bm25 import BM25Index
from fundstelle.ingest.types import Chunk


def _sentences() -> list[str]:
    from fundstelle.eval.datasets import multihop_corpus

    out: list[str] = []
    for article in multihop_corpus()[:300]:
        out += [s for s in article["body"].split(". ") if len(s) > 40]
    return out


class _Store:
    def __init__(self, sentences: list[str]) -> None:
        self.sentences = sentences
        self.n = 0
        self.generation = "g0"

    def grow(self, n: int) -> None:
        self.n += n
        self.generation = f"g{self.n}"

    def chunk_ids(self) -> list[str]:
        return [f"c{i:08d}" for i in range(self.n)]

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        out = []
        for cid in ids:
            i = int(cid[1:])
            rng = random.Random(i)
            text = ". ".join(rng.choice(self.sentences) for _ in range(6))
            out.append(
                Chunk(
                    f"d{i // 10}",
                    i,
                    text,
                    0,
                    len(text),
                    f"/c/{i // 10}.txt",
                    "",
                    lang="en",
                    chunk_id=cid,
                )
            )
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--add", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="keep the first index and its tokens-only copy")
    ap.add_argument("--read", type=Path, help="only read this index folder back, timed")
    ap.add_argument(
        "--skip-rebuild",
        action="store_true",
        help="leave out bm25s' matrix and the index built whole (the comparisons; ~15 min at 1M)",
    )
    args = ap.parse_args()
    if args.read:
        t = time.perf_counter()
        BM25Index(args.read)
        print(f"read {args.read}: {time.perf_counter() - t:.2f} s")
        return
    store = _Store(_sentences())
    with tempfile.TemporaryDirectory() as tmp:
        index = BM25Index(Path(tmp) / "bm25")
        store.grow(args.size)
        t = time.perf_counter()
        index.sync(store)  # type: ignore[arg-type]
        first = time.perf_counter() - t
        t = time.perf_counter()
        BM25Index(Path(tmp) / "bm25")
        load = time.perf_counter() - t
        # the same read where the postings are not on disk (caches written before they were):
        # built from the tokens, as every start did before
        copy = Path(tmp) / "bm25-tokens-only"
        shutil.copytree(Path(tmp) / "bm25", copy)
        for f in copy.iterdir():
            if f.name.endswith((".indptr.i64", ".docs.i32", ".tfs.f32")):
                f.unlink()
        t = time.perf_counter()
        BM25Index(copy)
        load_built = time.perf_counter() - t
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copytree(Path(tmp) / "bm25", args.keep / "bm25", dirs_exist_ok=True)
            shutil.copytree(copy, args.keep / "bm25-tokens-only", dirs_exist_ok=True)
        shutil.rmtree(copy)
        store.grow(args.add)
        t = time.perf_counter()
        index.sync(store)  # type: ignore[arg-type]
        append = time.perf_counter() - t
        old_matrix = rebuild = float("nan")
        whole = None
        if not args.skip_rebuild:
            # what the sync did before segments, beyond tokenising the new chunks: bm25s over all
            import bm25s
            from bm25s.tokenization import Tokenized

            t = time.perf_counter()
            bm25s.BM25(k1=0.9, b=0.4).index(
                Tokenized(ids=[a.tolist() for a in index.token_ids], vocab=dict(index.vocab)),
                show_progress=False,
            )
            old_matrix = time.perf_counter() - t
            t = time.perf_counter()
            whole = BM25Index(Path(tmp) / "whole")
            whole.sync(store)  # type: ignore[arg-type]
            rebuild = time.perf_counter() - t
        questions = [
            " ".join(random.Random(i).choice(store.sentences).split()[:9]) for i in range(50)
        ]
        times = []
        for q in questions:
            t = time.perf_counter()
            index.search(q, 10)
            times.append(time.perf_counter() - t)
        same = whole is not None and all(
            index.search(q, 10) == whole.search(q, 10) for q in questions[:10]
        )
        mb = (index.scorer.nbytes + sum(a.nbytes for a in index.token_ids)) / 2**20
        disk = sum(f.stat().st_size for f in (Path(tmp) / "bm25").iterdir()) / 2**20
    print(
        f"| chunks | first build | read back | sync after {args.add:,} new | rebuild whole | ratio | search p50 / p95 | arrays | disk |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.size:,} | {first:.1f} s | {load:.1f} s | {append:.1f} s | {rebuild:.1f} s "
        f"| {append / rebuild:.3f} | {percentile(times, 50) * 1000:.1f} / "
        f"{percentile(times, 95) * 1000:.1f} ms | {mb:.0f} MB | {disk:.0f} MB |"
    )
    compared = "not built (--skip-rebuild)" if args.skip_rebuild else same
    print(
        f"same top 10 as the index built whole: {compared}; segments: {len(index.scorer.segments)}"
    )
    print(
        f"read back with its postings {load:.1f} s; without them (built from the tokens, as "
        f"before) {load_built:.1f} s: ratio {load / load_built:.3f}"
    )
    print(
        f"before segments a sync also built bm25s' matrix over every chunk: {old_matrix:.1f} s "
        f"(sync with segments / that alone: {append / old_matrix:.3f})"
    )


if __name__ == "__main__":
    main()
