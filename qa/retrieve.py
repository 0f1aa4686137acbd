"""Hybrid retrieval: dense (Chroma) and BM25, fused by weighted reciprocal rank fusion, with
metadata filters and near-duplicate chunks collapsed."""

from __future__ import annotations

import fnmatch
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.bm25 import BM25Index, bm25_folder
from ingest.embedders import Embedder, load_embedder
from ingest.language import question_language
from ingest.settings import Settings
from ingest.store import Store, date_int
from ingest.types import Chunk

from .types import Filters, Passage

_WORD = re.compile(r"\w+")


@dataclass
class Retrieval:
    """What one search found, and how long each part took (seconds)."""

    passages: list[Passage]
    timings: dict[str, float]


class Retriever:
    """Searches one store. Holds the loaded models and the BM25 index for the process."""

    def __init__(
        self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder or load_embedder(
            settings.embedding_model, settings.embedding_threads
        )
        self.store = store or Store.open(settings)
        self.store.require()
        self.store.check_model(self.embedder.name)
        self.bm25 = BM25Index(
            bm25_folder(settings.store_path, settings.chroma_url, settings.collection)
        )
        self._sources_cache: tuple[str, list[str]] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bm25")

    # --- filters ------------------------------------------------------------------------------------
    def _known_sources(self) -> list[str]:
        generation = self.bm25.generation or ""
        if self._sources_cache is None or self._sources_cache[0] != generation:
            self._sources_cache = (generation, [r.source for r in self.store.documents()])
        return self._sources_cache[1]

    def resolve_sources(self, wanted: tuple[str, ...]) -> set[str]:
        """Sources matching exact keys, file paths or folders, or file-name patterns."""
        out: set[str] = set()
        for w in wanted:
            absolute = str(Path(w).absolute())
            for src in self._known_sources():
                file = src.split("#", 1)[0]
                if (
                    src == w
                    or file == absolute
                    or file.startswith(absolute.rstrip(os.sep) + os.sep)
                    or fnmatch.fnmatch(os.path.basename(file), w)
                ):
                    out.add(src)
        return out

    def _where(
        self, filters: Filters, sources: set[str] | None, exclude: set[str]
    ) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if filters.date_from:
            clauses.append({"date_int": {"$gte": date_int(filters.date_from)}})
        if filters.date_to:
            clauses.append({"date_int": {"$lte": date_int(filters.date_to)}})
        if filters.languages:
            clauses.append({"lang": {"$in": list(filters.languages)}})
        if sources is not None:
            clauses.append({"source": {"$in": sorted(sources)}})
        if exclude:
            clauses.append({"doc_id": {"$nin": sorted(exclude)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    # --- search -------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
    ) -> Retrieval:
        filters = filters or Filters()
        k = k or self.settings.k
        mode = mode or self.settings.retrieval
        n = max(self.settings.candidates, k)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self.bm25.sync(self.store)
        exclude = self.store.pending_ids()  # half-written documents of an interrupted ingest
        sources = self.resolve_sources(filters.sources) if filters.sources else None
        if sources is not None and not sources:
            return Retrieval([], {"retrieval": time.perf_counter() - t0})
        timings["prepare"] = time.perf_counter() - t0

        bm25_job = None
        if mode in ("bm25", "hybrid"):
            mask = self.bm25.mask(
                date_from=date_int(filters.date_from),
                date_to=date_int(filters.date_to),
                langs=set(filters.languages) or None,
                sources=sources,
                exclude_docs=exclude or None,
            )
            # keyword search runs while the query is embedded (the model releases the GIL)
            bm25_job = self._pool.submit(self._timed, self.bm25.search, query, n, mask)
        dense: list[tuple[str, float]] = []
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.encode_query(query)
            timings["embed_query"] = time.perf_counter() - t
            t = time.perf_counter()
            dense = self.store.query_ids(vector, n, self._where(filters, sources, exclude))
            timings["dense"] = time.perf_counter() - t
        bm25: list[tuple[str, float]] = []
        if bm25_job is not None:
            bm25, timings["bm25"] = bm25_job.result()

        t = time.perf_counter()
        passages = self._fuse(query, dense, bm25, mode, k)
        timings["fuse"] = time.perf_counter() - t
        timings["retrieval"] = time.perf_counter() - t0
        return Retrieval(passages, timings)

    @staticmethod
    def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
        t = time.perf_counter()
        return fn(*args), time.perf_counter() - t

    def _fuse(
        self,
        query: str,
        dense: list[tuple[str, float]],
        bm25: list[tuple[str, float]],
        mode: str,
        k: int,
    ) -> list[Passage]:
        """Order candidates by fused score, then fetch only the chunks that make the top ``k``
        after near-duplicates are collapsed."""
        s = self.settings
        chunks: dict[str, Chunk] = {}
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense, start=1)}
        bm25_rank = {cid: r for r, (cid, _) in enumerate(bm25, start=1)}
        if mode == "dense":
            scores = dict(dense)
        elif mode == "bm25":
            scores = dict(bm25)
        else:
            lang = question_language(query)
            scores = {cid: s.dense_weight / (s.rrf_k + r) for cid, r in dense_rank.items()}
            for cid, r in bm25_rank.items():
                # keyword matches across languages are mostly names and numbers: weaker evidence
                chunk_lang = self.bm25.lang_of(cid)
                weight = s.bm25_weight * (
                    1.0 if chunk_lang in (lang, None, "") else s.bm25_cross_lingual
                )
                scores[cid] = scores.get(cid, 0.0) + weight / (s.rrf_k + r)
        order = sorted(scores, key=lambda cid: -scores[cid])
        kept: list[Passage] = []
        start = 0
        while len(kept) < k and start < len(order):
            window = order[start : start + k + 8]
            start += len(window)
            missing = [cid for cid in window if cid not in chunks]
            if missing:
                chunks.update({c.chunk_id: c for c in self.store.get_chunks(missing)})
            candidates = kept + [
                Passage(chunks[cid], float(scores[cid]), dense_rank.get(cid), bm25_rank.get(cid))
                for cid in window
                if cid in chunks
            ]
            kept = collapse_near_duplicates(candidates)[:k]
        return kept


def _minmax(ranked: list[tuple[str, float]]) -> dict[str, float]:
    """Scores scaled to 0..1 within one result list (so that BM25 and cosine can be added)."""
    if not ranked:
        return {}
    values = [v for _, v in ranked]
    lo, hi = min(values), max(values)
    span = hi - lo
    return {cid: (v - lo) / span if span > 0 else 1.0 for cid, v in ranked}


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def collapse_near_duplicates(passages: list[Passage], threshold: float = 0.8) -> list[Passage]:
    """Drop passages whose word 3-grams mostly repeat a better-ranked passage (syndicated copies,
    the same article ingested twice); overlapping neighbours of one document stay."""
    kept: list[Passage] = []
    kept_shingles: list[set[tuple[str, ...]]] = []
    for p in passages:
        sh = _shingles(p.chunk.text)
        duplicate = False
        for q, qsh in zip(kept, kept_shingles, strict=True):
            if p.chunk.doc_id == q.chunk.doc_id and p.chunk.chunk_id != q.chunk.chunk_id:
                continue
            inter = len(sh & qsh)
            if inter and inter / min(len(sh), len(qsh)) >= threshold:
                duplicate = True
                break
        if not duplicate:
            kept.append(p)
            kept_shingles.append(sh)
    return kept
