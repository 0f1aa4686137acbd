"""Hybrid retrieval: dense (Chroma) and BM25 (of the question and of its translations), fused by
weighted min-max score fusion or weighted reciprocal rank fusion, with metadata filters,
passages of the publishers and days the question names first, and near-duplicate chunks
collapsed."""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fundstelle.core.settings import Settings
from fundstelle.ingest.bm25 import BM25Index, Snapshot, bm25_folder
from fundstelle.ingest.embedders import Embedder, embedder_for
from fundstelle.ingest.language import question_language
from fundstelle.ingest.store import DocRecord, Store, date_int, source_file
from fundstelle.ingest.types import Chunk

from .mentions import Mentions, mentions
from .types import Filters, Passage

_WORD = re.compile(r"\w+")


@dataclass
class Retrieval:
    """What one search found, and how long each part took (seconds)."""

    passages: list[Passage]
    timings: dict[str, float]
    # publishers of the store and dates that the question names
    named: Mentions = field(default_factory=Mentions)
    # whether they changed the order: some candidates match them and some do not
    reordered: bool = False


class Retriever:
    """Searches one store. Holds the loaded models and the BM25 index for the process."""

    def __init__(
        self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        # an embedding server's model when FUNDSTELLE_EMBEDDING_URL is set
        self.embedder = embedder or embedder_for(settings)
        self.store = store or Store.open(settings)
        self.store.require()
        self.store.check_model(self.embedder.name, self.embedder.dim)
        self.bm25 = BM25Index(
            bm25_folder(settings.store_path, settings.chroma_url, settings.collection),
            settings.keyword_analyzer,
        )
        # per generation: the documents by id, and their publishers (asked for every question)
        self._documents_cache: tuple[str, dict[str, DocRecord], frozenset[str]] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bm25")

    # --- filters ------------------------------------------------------------------------------------
    def _documents(self) -> dict[str, DocRecord]:
        """The store's documents by id, read again when the store changed."""
        return self._documents_and_publishers()[0]

    def _documents_and_publishers(self) -> tuple[dict[str, DocRecord], frozenset[str]]:
        generation = self.bm25.generation or ""
        if self._documents_cache is None or self._documents_cache[0] != generation:
            documents = {d.doc_id: d for d in self.store.documents()}
            publishers = frozenset(d.publisher for d in documents.values() if d.publisher)
            self._documents_cache = (generation, documents, publishers)
        return self._documents_cache[1], self._documents_cache[2]

    def _known_sources(self) -> list[str]:
        return [d.source for d in self._documents().values()]

    def named(self, question: str) -> Mentions:
        """The store's publishers and the dates that ``question`` names (empty when off)."""
        if not self.settings.prefer_named_sources:
            return Mentions()
        # gathered once per generation, not per question: an archive has 100k documents
        return mentions(question, self._documents_and_publishers()[1])

    def _matches(self, named: Mentions, chunk_id: str, index: Snapshot) -> int:
        if not named:
            return 0
        doc = self._documents().get(index.doc_id_of(chunk_id) or "")
        return named.matches(doc.publisher, doc.date) if doc else 0

    def resolve_sources(self, wanted: tuple[str, ...]) -> set[str]:
        """Sources matching exact keys, file paths or folders, or file-name patterns."""
        out: set[str] = set()
        for w in wanted:
            absolute = str(Path(w).absolute())
            for src in self._known_sources():
                file = source_file(src)  # not the part before the first '#': a name may hold one
                if (
                    src == w
                    or file == absolute
                    or file.startswith(absolute.rstrip(os.sep) + os.sep)
                    or fnmatch.fnmatch(os.path.basename(file), w)
                ):
                    out.add(src)
        return out

    def _undated(self) -> list[DocRecord]:
        return [d for d in self._documents().values() if not d.date]

    def undated_left_out(self, filters: Filters) -> int:
        """How many undated documents a date range leaves out that the other filters would keep
        (0 without a date range, or when undated documents are included)."""
        if not filters.by_date or filters.include_undated:
            return 0
        self.store.refresh()
        self.bm25.sync(self.store)
        sources = self.resolve_sources(filters.sources) if filters.sources else None
        return sum(
            1
            for d in self._undated()
            if (sources is None or d.source in sources)
            and (not filters.languages or d.lang in filters.languages)
        )

    def _where(
        self, filters: Filters, sources: set[str] | None, exclude: set[str]
    ) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        dated: list[dict[str, Any]] = []
        if filters.date_from:
            dated.append({"date_int": {"$gte": date_int(filters.date_from)}})
        if filters.date_to:
            dated.append({"date_int": {"$lte": date_int(filters.date_to)}})
        undated = sorted(d.doc_id for d in self._undated()) if filters.include_undated else []
        if dated and undated:
            # undated chunks have no date_int at all, so they are named by their documents
            in_range = dated[0] if len(dated) == 1 else {"$and": dated}
            clauses.append({"$or": [in_range, {"doc_id": {"$in": undated}}]})
        else:
            clauses += dated
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
        translations: dict[str, str] | None = None,
    ) -> Retrieval:
        """Top ``k`` passages for ``query``. ``translations`` (language -> the query in that
        language) add keyword searches over the chunks in those languages: words only match
        words of their own language."""
        filters = filters or Filters()
        k = k or self.settings.k
        mode = mode or self.settings.retrieval
        n = max(self.settings.candidates, k)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self.store.refresh()  # another process may have ingested or removed documents
        self.bm25.sync(self.store)
        # one snapshot for the filter masks, the searches and the fusion: an ingest by another
        # session may swap the index meanwhile (ingest.bm25.Snapshot)
        keyword_index = self.bm25.snapshot()
        exclude = self.store.pending_ids()  # half-written documents of an interrupted ingest
        sources = self.resolve_sources(filters.sources) if filters.sources else None
        if sources is not None and not sources:
            return Retrieval([], {"retrieval": time.perf_counter() - t0})
        named = self.named(query)
        timings["prepare"] = time.perf_counter() - t0

        keyword_jobs: list[tuple[str | None, Any]] = []

        def start_keyword_searches() -> None:
            # each text is analysed in its own language (the question's, a translation's)
            wanted_langs = set(filters.languages) or None

            def mask(langs: set[str] | None) -> Any:
                return keyword_index.mask(
                    date_from=date_int(filters.date_from),
                    date_to=date_int(filters.date_to),
                    include_undated=filters.include_undated,
                    langs=langs,
                    sources=sources,
                    exclude_docs=exclude or None,
                )

            asked = question_language(query)
            job = self._pool.submit(
                self._timed, keyword_index.search, query, n, mask(wanted_langs), asked
            )
            keyword_jobs.append((None, job))
            for lang, text in (translations or {}).items():
                if wanted_langs is not None and lang not in wanted_langs:
                    continue
                job = self._pool.submit(
                    self._timed, keyword_index.search, text, n, mask({lang}), lang
                )
                keyword_jobs.append((lang, job))

        dense: list[tuple[str, float]] = []
        if mode == "bm25":
            start_keyword_searches()
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.encode_query(query)
            timings["embed_query"] = time.perf_counter() - t
            if mode == "hybrid":
                # the keyword search runs beside the vector search, not beside the embedding:
                # the embedding model takes every core, and the two slowed each other (1M chunks,
                # 2 cores: 34 + 22 ms side by side, 16 + 12 ms one after the other)
                start_keyword_searches()
            t = time.perf_counter()
            dense = self.store.query_ids(vector, n, self._where(filters, sources, exclude))
            timings["dense"] = time.perf_counter() - t
        keyword: list[tuple[str | None, list[tuple[str, float]]]] = []
        for lang, job in keyword_jobs:
            found, seconds = job.result()
            timings["bm25"] = timings.get("bm25", 0.0) + seconds
            keyword.append((lang, found))

        t = time.perf_counter()
        passages, reordered = self._fuse(query, dense, keyword, mode, k, named, keyword_index)
        timings["fuse"] = time.perf_counter() - t
        timings["retrieval"] = time.perf_counter() - t0
        return Retrieval(passages, timings, named, reordered)

    @staticmethod
    def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
        t = time.perf_counter()
        return fn(*args), time.perf_counter() - t

    def _fuse(
        self,
        query: str,
        dense: list[tuple[str, float]],
        keyword: list[tuple[str | None, list[tuple[str, float]]]],
        mode: str,
        k: int,
        named: Mentions,
        keyword_index: Snapshot | None = None,
    ) -> tuple[list[Passage], bool]:
        """Order candidates by what the question names that they match (publisher, day), then by
        fused score; fetch only the chunks that make the top ``k`` after near-duplicates are
        collapsed. ``keyword`` holds BM25 results of the query itself (language ``None``) and of
        its translations. Also says whether the named sources changed the order."""
        s = self.settings
        index = self.bm25.snapshot() if keyword_index is None else keyword_index
        chunks: dict[str, Chunk] = {}
        bm25 = next((found for lang, found in keyword if lang is None), [])
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense, start=1)}
        bm25_rank = {cid: r for r, (cid, _) in enumerate(bm25, start=1)}
        if mode == "dense":
            scores = dict(dense)
        elif mode == "bm25" and len(keyword) == 1:
            scores = dict(bm25)
        else:
            lang = question_language(query)

            def original_weight(cid: str) -> float:
                # keyword matches across languages are mostly names and numbers: weak evidence
                chunk_lang = index.lang_of(cid)
                own = chunk_lang in (lang, None, "")
                return s.bm25_weight * (1.0 if own else s.bm25_cross_lingual)

            translated_weight = s.bm25_weight * s.bm25_translated
            keyword_lists: list[tuple[list[tuple[str, float]], Callable[[str], float]]] = [
                (bm25, original_weight)
            ]
            keyword_lists += [(found, lambda cid: translated_weight) for lg, found in keyword if lg]
            dense_list = [(dense, lambda cid: s.dense_weight)] if mode == "hybrid" else []
            scores = fuse(dense_list + keyword_lists, s.fusion, s.rrf_k)
            # the keyword rank shown is the best one that counted for the chunk
            bm25_rank = {}
            for found, weight in keyword_lists:
                for r, (cid, _) in enumerate(found, start=1):
                    if weight(cid) > 0 and r < bm25_rank.get(cid, r + 1):
                        bm25_rank[cid] = r
        matched = {cid: self._matches(named, cid, index) for cid in scores}
        order = sorted(scores, key=lambda cid: (-matched[cid], -scores[cid]))
        kept: list[Passage] = []
        start = 0
        while len(kept) < k and start < len(order):
            window = order[start : start + k + 8]
            start += len(window)
            missing = [cid for cid in window if cid not in chunks]
            if missing:
                chunks.update({c.chunk_id: c for c in self.store.get_chunks(missing)})
            candidates = kept + [
                Passage(
                    chunks[cid],
                    float(scores[cid]),
                    dense_rank.get(cid),
                    bm25_rank.get(cid),
                    matched[cid],
                )
                for cid in window
                if cid in chunks
            ]
            kept = collapse_near_duplicates(candidates, limit=k)
        return kept, len(set(matched.values())) > 1


def fuse(
    lists: Sequence[tuple[list[tuple[str, float]], Callable[[str], float]]],
    fusion: str = "score",
    rrf_k: int = 60,
) -> dict[str, float]:
    """Fused score of every candidate: the weighted sum, over result lists, of its min-max
    normalised score (``score``) or of 1/(rrf_k + rank) (``rrf``). Each list comes with a weight
    per candidate (so that a keyword match can count less in another language)."""
    out: dict[str, float] = {}
    for ranked, weight in lists:
        if fusion == "score":
            part = _minmax(ranked)
        else:
            part = {cid: 1.0 / (rrf_k + r) for r, (cid, _) in enumerate(ranked, start=1)}
        for cid, v in part.items():
            out[cid] = out.get(cid, 0.0) + weight(cid) * v
    return out


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


def collapse_near_duplicates(
    passages: list[Passage], threshold: float = 0.8, limit: int | None = None
) -> list[Passage]:
    """Drop passages whose word 3-grams mostly repeat a better-ranked passage (syndicated copies,
    the same article ingested twice); overlapping neighbours of one document stay. Stops once
    ``limit`` passages are kept (the rest are not compared)."""
    kept: list[Passage] = []
    kept_shingles: list[set[tuple[str, ...]]] = []
    for p in passages:
        if limit is not None and len(kept) >= limit:
            break
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
