"""The keyword index in segments: scores equal to one index over everything (and to bm25s,
which this project measured its fusion with), and a sync after new chunks that writes only them."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest
from bm25s.tokenization import Tokenized
from fundstelle.ingest import postings
from fundstelle.ingest.bm25 import BM25Index
from fundstelle.ingest.postings import Scorer, Segment
from fundstelle.ingest.types import Chunk


def _random_corpus(n: int, vocab: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.zipf(1.3, size=rng.integers(0, 80)) % vocab).astype(np.int64) for _ in range(n)]


def test_segments_score_as_one_index_and_as_bm25s() -> None:
    docs = _random_corpus(1500, 3000)
    reference = bm25s.BM25(k1=postings.K1, b=postings.B)
    reference.index(
        Tokenized(ids=[d.tolist() for d in docs], vocab={str(i): i for i in range(3000)}),
        show_progress=False,
    )
    whole = Scorer([Segment(docs, 0)])
    parts = Scorer([Segment(docs[:400], 0)]).append(docs[400:1100]).append(docs[1100:])
    mask = (np.random.default_rng(1).random(1500) > 0.3).astype(np.float32)
    for query in ([1, 2, 3], [10, 250, 2999], [7], [3, 77, 1500]):
        expected = reference.get_scores_from_ids(query)
        np.testing.assert_allclose(whole.scores(query), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(parts.scores(query), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            parts.scores(query, mask), reference.get_scores_from_ids(query, mask), atol=1e-6
        )
    assert parts.scores([5000]).max() == 0  # a term no chunk holds


class _Growing:
    """A store that gains chunks (and may lose some) between syncs."""

    def __init__(self) -> None:
        self.chunks: dict[str, Chunk] = {}
        self.generation = "g0"

    def add(self, start: int, n: int, word: str) -> None:
        for i in range(start, start + n):
            self.chunks[f"c{i:05d}"] = Chunk(
                doc_id=f"d{i // 5}",
                index=i,
                text=f"harbour {word} ship{i % 7} cargo{i}",
                start=0,
                end=10,
                source=f"/c/{i // 5}.txt",
                title=f"T{i}",
                lang="en",
                chunk_id=f"c{i:05d}",
            )
        self.generation = f"g{len(self.chunks)}"

    def chunk_ids(self) -> list[str]:
        return list(self.chunks)

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        return [self.chunks[i] for i in ids if i in self.chunks]


def _files(folder: Path) -> dict[str, int]:
    return {f.name: f.stat().st_mtime_ns for f in folder.iterdir() if f.name != "state.json"}


def test_new_chunks_become_a_segment_of_their_own_on_disk(tmp_path: Path) -> None:
    store = _Growing()
    store.add(0, 200, "grain")
    folder = tmp_path / "bm25"
    index = BM25Index(folder)
    index.sync(store)  # type: ignore[arg-type]
    before = _files(folder)
    store.add(200, 30, "coal")
    assert index.sync(store)  # type: ignore[arg-type]
    after = _files(folder)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing rewritten
    # tokens, offsets, vocab, meta and postings (pointers, chunks, frequencies) of the new one
    assert len(after) == len(before) + 7
    assert len(index.scorer.segments) == 2
    # read back by another process: the same index, and the same ranking as one built whole
    again = BM25Index(folder)
    assert again.generation == index.generation and len(again) == 230
    whole = BM25Index(tmp_path / "whole")
    whole.sync(store)  # type: ignore[arg-type]
    for query in ("coal harbour", "cargo17 ship3", "grain"):
        assert again.search(query, 10) == whole.search(query, 10) == index.search(query, 10)
    assert again.search("coal", 50)[0][0] >= "c00200"


def test_removals_and_many_segments_give_one_segment_again(tmp_path: Path) -> None:
    store = _Growing()
    store.add(0, 50, "grain")
    index = BM25Index(tmp_path / "bm25")
    index.sync(store)  # type: ignore[arg-type]
    for k in range(postings.MAX_SEGMENTS + 1):
        store.add(50 + 10 * k, 10, f"w{k}")
        index.sync(store)  # type: ignore[arg-type]
        assert len(index.scorer.segments) <= postings.MAX_SEGMENTS
    n = len(index)
    del store.chunks["c00003"]
    store.generation = "removed"
    index.sync(store)  # type: ignore[arg-type]
    assert len(index) == n - 1 and len(index.scorer.segments) == 1
    assert "c00003" not in {cid for cid, _ in index.search("cargo3 harbour", 100)}
    state = json.loads((tmp_path / "bm25" / "state.json").read_text())
    assert len(state["segments"]) == 1 and BM25Index(tmp_path / "bm25").generation == "removed"


def test_a_new_process_reads_the_postings_instead_of_building_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the cache does not sort every token again (what made a start at 1M chunks slow);
    postings that are missing or do not fit the tokens are built from the tokens instead."""
    store = _Growing()
    store.add(0, 120, "grain")
    folder = tmp_path / "bm25"
    index = BM25Index(folder)
    index.sync(store)  # type: ignore[arg-type]
    store.add(120, 40, "coal")
    index.sync(store)  # type: ignore[arg-type]
    assert len(index.scorer.segments) == 2
    queries = ("coal harbour", "cargo17 ship3", "grain")
    expected = [index.search(q, 10) for q in queries]

    built: list[int] = []
    init = postings.Segment.__init__

    def counted(self, token_ids, start):  # type: ignore[no-untyped-def]
        if len(token_ids):  # an empty index starts with an empty segment
            built.append(start)
        init(self, token_ids, start)

    monkeypatch.setattr(postings.Segment, "__init__", counted)
    again = BM25Index(folder)
    assert built == [] and [again.search(q, 10) for q in queries] == expected

    # postings of another segment's size, or none at all: built from the tokens, same ranking
    name = json.loads((folder / "state.json").read_text())["segments"][0]
    tfs = folder / f"{name}.tfs.f32"
    tfs.write_bytes(tfs.read_bytes()[:-4])
    (folder / f"{name}.docs.i32").write_bytes((folder / f"{name}.docs.i32").read_bytes()[:-4])
    damaged = BM25Index(folder)
    assert built == [0] and [damaged.search(q, 10) for q in queries] == expected
    for suffix in ("indptr.i64", "docs.i32", "tfs.f32"):
        (folder / f"{name}.{suffix}").unlink()
    last = BM25Index(folder)
    assert built == [0, 0], built
    assert [last.search(q, 10) for q in queries] == expected


def test_postings_of_a_segment_beyond_float32s_exact_integers_fit_their_tokens() -> None:
    """A segment of more than 2**24 tokens (some 110k chunks): its postings read back must
    fit its token count exactly, not as a float32 sum rounds it (every read then built them
    again from the tokens)."""
    lengths = np.array([2**24 + 1], dtype=np.int64)  # one chunk, one term counted 2**24 + 1 times
    indptr = np.array([0, 1, 2], dtype=np.int64)
    docs = np.array([0, 0], dtype=np.int32)
    tfs = np.array([2**24, 1], dtype=np.float32)
    assert float(tfs.sum()) != 2**24 + 1  # what the check summed before
    assert Segment.of_postings(lengths, indptr, docs, tfs, 0) is not None
    # another segment's files (another token count) still fail
    assert Segment.of_postings(lengths + 1, indptr, docs, tfs, 0) is None
