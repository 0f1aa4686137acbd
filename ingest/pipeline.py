"""The ingest run: find files, load, chunk, embed, store; incremental, idempotent, crash-safe.

Library code reports progress through a callback; bars and printing belong to the interface.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fundstelle.core.errors import (
    FundstelleError,
    InputError,
    SkipFile,
    StoreError,
    UnreadableFile,
)
from fundstelle.core.settings import Settings

from . import storefiles
from .bm25 import BM25Index, bm25_folder
from .chunker import chunk_document
from .embedders import Embedder, embedder_for
from .loaders import Loaded, is_supported, parse, read_file, unsupported_reason
from .sentence_cache import SENTENCES_FILE, DiskVectors, sentence_texts
from .store import (
    DocRecord,
    Store,
    chroma_dir,
    collection_names,
    release,
    source_file,
    store_exists,
)
from .types import Chunk, Document

# on_progress(kind, advance, total): kind is "files" or "chunks"; total may grow as files are read.
# on_state(IngestProgress) gives the same and more (an estimate of the time left) in one object.
Progress = Callable[[str, int, int | None], None]


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0  # documents new to the store
    updated: int = 0  # documents whose text changed
    unchanged: int = 0
    removed: int = 0
    repaired: int = 0  # half-written documents of an interrupted run, removed
    chunks: int = 0  # chunks embedded in this run
    sentences: int = 0  # sentence vectors added to the sentence cache (settings.embed_sentences)
    skipped: list[Skipped] = field(default_factory=list)
    # documents ingested with a problem (front matter ignored, say): reported, not a failure
    warnings: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.skipped)


def source_key(path: Path) -> str:
    """The key a file is known by in the store: its absolute path."""
    return str(path.absolute())


def discover(
    paths: Iterable[Path],
    skipped: list[Skipped],
    unreadable: list[str] | None = None,
    notes: list[Skipped] | None = None,
) -> Iterator[Path]:
    """Files under ``paths`` in a stable order; hidden files and folders are left out.

    Symlinked folders are followed after the real folders, so that a link to a folder that is
    there anyway (``latest -> 2024``) adds nothing and is noted in ``notes``; a link to a folder
    that holds it is a loop and is reported in ``skipped``. Folders that cannot be listed are
    reported and, if given, added to ``unreadable`` (their files are not gone, only unseen).
    """
    for root in paths:
        if not os.path.lexists(root):
            raise InputError(f"{root}: no such file or folder")
        if not root.is_dir():
            yield root
            continue
        seen: dict[str, Path] = {}  # real path -> the path it was first visited by
        stack = [root]
        links: list[Path] = []  # symlinked folders, visited once the real ones are done
        while stack or links:
            folder = stack.pop() if stack else links.pop(0)
            real = os.path.realpath(folder)
            if real in seen:
                where = os.path.realpath(folder.parent)
                if where == real or where.startswith(real.rstrip(os.sep) + os.sep):
                    reason = "symlink loop (a link to a folder that holds it)"
                    skipped.append(Skipped(str(folder), reason))
                elif notes is not None:
                    reason = (
                        f"a link to the folder {seen[real]}, whose files are ingested from there"
                    )
                    notes.append(Skipped(str(folder), reason))
                continue
            seen[real] = folder
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                skipped.append(Skipped(str(folder), f"cannot read folder: {exc.strerror}"))
                if unreadable is not None:
                    unreadable.append(source_key(folder))
                continue
            subfolders = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                try:
                    is_dir = entry.is_dir()  # follows links
                except OSError as exc:
                    reason = (
                        "symlink loop"
                        if exc.errno == errno.ELOOP
                        else f"cannot read: {exc.strerror}"
                    )
                    skipped.append(Skipped(str(path), reason))
                    if unreadable is not None and exc.errno != errno.ELOOP:
                        unreadable.append(source_key(path))
                    continue
                if is_dir and entry.is_symlink():
                    links.append(path)
                elif is_dir:
                    subfolders.append(path)
                else:
                    yield path
            stack.extend(reversed(subfolders))


@dataclass
class _Pending:
    document: Document
    chunks: list[Chunk]
    file_sha256: str
    replaces: list[str]  # doc ids of older versions of the same source
    left: int = 0  # chunks not yet stored
    # the last new document of its file: once it is committed the file is complete, and these
    # documents (the file's all) get the file's hash (see Ingestor._apply)
    completes: list[str] = field(default_factory=list)
    final_sha256: str = ""


@dataclass
class _Loaded:
    """What the reader thread made of one file. It reads, parses and chunks only: every store
    write and every line of the report is the main thread's (:meth:`Ingestor._apply`)."""

    path: Path
    key: str
    known: list[DocRecord]
    size: int
    file_sha256: str = ""
    unsupported: bool = False
    unchanged: bool = False  # the file's bytes are those of every known document
    skip: str | None = None  # why the file cannot be used
    keep: bool = False  # ... and whether the store keeps its earlier version
    loaded: Loaded | None = None
    pending: list[_Pending] = field(default_factory=list)


@dataclass(frozen=True)
class IngestProgress:
    """Where a run stands, for a progress display and an estimate of the time left."""

    files_done: int
    files_total: int
    chunks_done: int  # embedded and stored
    chunks_known: int  # chunked so far
    chunks_expected: int  # chunks_known extrapolated over the bytes not read yet
    sentences: int  # sentence vectors written to the sentence cache
    embedding_s: float  # since the first batch went to the embedder

    @property
    def seconds_left(self) -> float | None:
        """At the rate chunks were stored so far; None until the first batch is stored."""
        if not self.chunks_done or self.embedding_s <= 0:
            return None
        rate = self.chunks_done / self.embedding_s
        return max(0.0, (self.chunks_expected - self.chunks_done) / rate)


OnProgress = Callable[[IngestProgress], None]

_AHEAD_CHUNKS = 512  # chunks read and chunked ahead of the embedder; bounds memory on big corpora
_POLL_S = 0.05  # how often the main thread looks whether a batch is embedded while it waits
_PARTIAL = "partial:"  # the stamp of a file whose documents are not all in the store yet
_DONE = object()  # the reader's last item


class _Budget:
    """Chunks read ahead and not yet stored: the reader waits while the budget is spent."""

    def __init__(self, limit: int, stop: threading.Event) -> None:
        self.limit = limit
        self.used = 0
        self.stop = stop
        self._cond = threading.Condition()

    def take(self, n: int) -> bool:
        """Wait for room for ``n`` chunks (one item always fits); False once stopped."""
        with self._cond:
            while self.used and self.used + n > self.limit and not self.stop.is_set():
                self._cond.wait(0.2)
            self.used += n
            return not self.stop.is_set()

    def give(self, n: int) -> None:
        with self._cond:
            self.used -= n
            self._cond.notify_all()


@dataclass
class _Batch:
    items: list[tuple[_Pending, Chunk]]
    sentences: list[str]
    future: Future[tuple[np.ndarray, np.ndarray | None, float]]


class Ingestor:
    """One ingest run over a store. Build with :meth:`open`, then call :meth:`run`.

    Three stages overlap so that the embedder never waits: a reader thread reads, parses and
    chunks files ahead (bounded by :data:`_AHEAD_CHUNKS`); batches go to the embedder (one at a
    time for a model in this process, ``embedding_parallel`` for a server) while the main thread
    stores the batches already embedded and commits each document once all its chunks are in."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        *,
        sentence_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        # the sentence vectors the answer step ranks evidence with, embedded here once
        path = sentence_path or settings.store_path / SENTENCES_FILE
        self.sentences = DiskVectors(path, embedder) if settings.embed_sentences else None

    @classmethod
    def open(cls, settings: Settings, *, sentence_path: Path | None = None) -> Ingestor:
        embedder = embedder_for(settings)
        store = Store.open(settings, create=True)
        store.ensure(embedder.name, embedder.dim)
        return cls(settings, store, embedder, sentence_path=sentence_path)

    def run(
        self,
        paths: list[Path],
        *,
        prune: bool = False,
        on_progress: Progress | None = None,
        on_state: OnProgress | None = None,
    ) -> IngestReport:
        try:
            return self._run(paths, prune=prune, on_progress=on_progress, on_state=on_state)
        except FundstelleError:
            raise
        except Exception as exc:
            # Chroma's "Error in compaction" never says that the disk is full
            if storefiles.is_disk_full(exc, self.settings):
                raise storefiles.disk_full(self.settings) from exc
            raise

    def _run(
        self,
        paths: list[Path],
        *,
        prune: bool = False,
        on_progress: Progress | None = None,
        on_state: OnProgress | None = None,
    ) -> IngestReport:
        t0 = time.perf_counter()
        progress = on_progress or (lambda kind, advance, total: None)
        report = IngestReport()
        report.repaired = self.store.repair()
        by_source: dict[str, DocRecord] = {}
        for rec in self.store.documents():
            # two complete versions of a source exist only after a crash mid-replacement
            if rec.source in by_source:
                older = min(rec, by_source[rec.source], key=lambda r: r.ingested_at)
                report.removed += self.store.delete_documents([older.doc_id])
                rec = max(rec, by_source[rec.source], key=lambda r: r.ingested_at)
            by_source[rec.source] = rec
        by_file: dict[str, list[DocRecord]] = {}
        for rec in by_source.values():
            by_file.setdefault(rec.file, []).append(rec)

        unreadable: list[str] = []
        # the same file named twice (ingest dir dir/, ingest dir dir/f.txt) is read once: twice
        # in one write was chromadb's DuplicateIDError and nothing was ingested
        found = discover(paths, report.skipped, unreadable, report.warnings)
        files = list({source_key(f): f for f in found}.values())
        # a known file that is now a symlink loop has no text any more: drop its old version
        for s in report.skipped:
            recs = by_file.get(source_key(Path(s.path)), [])
            if recs and s.reason == "symlink loop":
                report.removed += self.store.delete_documents([r.doc_id for r in recs])
                s.reason += "; its earlier version was removed from the store"
        report.files = len(files)
        progress("files", 0, len(files))
        seen_files = {source_key(f) for f in files}
        _Run(self, files, by_file, report, progress, on_state).go()

        if prune:
            roots = [source_key(p) for p in paths]
            gone = [
                rec.doc_id
                for file, recs in by_file.items()
                if file not in seen_files
                and any(_under(file, r) for r in roots)
                and not any(_under(file, u) for u in unreadable)
                and _gone(file)
                for rec in recs
            ]
            report.removed += self.store.delete_documents(gone)
        if report.added or report.updated or report.removed or report.repaired:
            self.store.bump_generation()
        self.bm25().sync(self.store)
        report.seconds = time.perf_counter() - t0
        return report

    def bm25(self) -> BM25Index:
        s = self.settings
        return BM25Index(bm25_folder(s.store_path, s.chroma_url, s.collection), s.keyword_analyzer)

    def _load(self, path: Path, key: str, known: list[DocRecord]) -> _Loaded:
        """Read, parse and chunk one file (the reader thread: no store writes, no report)."""
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        item = _Loaded(path, key, known, size)
        if not is_supported(path):
            item.unsupported = True
            return item
        try:
            data = read_file(path, int(self.settings.max_file_mb * 1e6))
            item.file_sha256 = hashlib.sha256(data).hexdigest()
            if known and all(r.file_sha256 == item.file_sha256 for r in known):
                item.unchanged = True
                return item
            item.loaded = parse(data, path, key)
        except SkipFile as exc:
            item.skip, item.keep = str(exc), isinstance(exc, UnreadableFile)
            return item
        except FundstelleError:
            raise
        except Exception as exc:  # a loader bug must not lose the rest of the corpus
            item.skip = f"unexpected {exc.__class__.__name__}: {exc}"
            return item
        known_by_source = {r.source: r for r in known}
        for doc in item.loaded.documents:
            old = known_by_source.get(doc.source)
            if old and old.doc_id == doc.doc_id:
                continue
            chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
            item.pending.append(
                _Pending(doc, chunks, item.file_sha256, [old.doc_id] if old else [], len(chunks))
            )
        return item

    def _apply(self, item: _Loaded, report: IngestReport) -> list[_Pending]:
        """Report one read file and make its store changes; return its new or changed
        documents (the main thread, in file order)."""
        path, known = item.path, item.known
        if item.unsupported:
            report.skipped.append(Skipped(str(path), unsupported_reason(path)))
            return []
        if item.unchanged:
            report.unchanged += len(known)
            return []
        if item.skip is not None:
            self._skip(path, item.skip, known, report, keep=item.keep)
            return []
        assert item.loaded is not None
        for problem in item.loaded.problems:
            report.skipped.append(Skipped(str(path), problem))
        for warning in item.loaded.warnings:
            report.warnings.append(Skipped(str(path), warning))
        changed = {p.document.doc_id for p in item.pending}
        still_there = {doc.source for doc in item.loaded.documents}
        report.unchanged += sum(1 for d in item.loaded.documents if d.doc_id not in changed)
        # records gone from a collection file, or a file that now loads under other keys
        lost = [r.doc_id for r in known if r.source not in still_there]
        report.removed += self.store.delete_documents(lost)
        unchanged = [r for r in known if r.source in still_there and r.doc_id not in changed]
        if not item.pending or (len(item.pending) == 1 and not unchanged):
            self._restamp(unchanged, item.file_sha256)  # one commit completes the file
            return item.pending
        # the file's hash says "all of this file is in the store": until its last new document
        # is committed its documents carry a provisional stamp, so that an ingest stopped
        # half-way through a collection file is finished by the next one, not called unchanged
        provisional = _PARTIAL + item.file_sha256
        self._restamp(unchanged, provisional)
        for p in item.pending:
            p.file_sha256 = provisional
        last = item.pending[-1]
        last.completes = [r.doc_id for r in unchanged] + [p.document.doc_id for p in item.pending]
        last.final_sha256 = item.file_sha256
        return item.pending

    def _skip(
        self, path: Path, reason: str, known: list[DocRecord], report: IngestReport, *, keep: bool
    ) -> None:
        """Report a file that cannot be used. Its earlier version goes from the store unless the
        failure says nothing about the content (``keep``: permission or I/O error), so that no
        citation points into text that the file no longer has."""
        if known and keep:
            reason += "; the store keeps its earlier version"
        elif known:
            report.removed += self.store.delete_documents([r.doc_id for r in known])
            reason += "; its earlier version was removed from the store"
        report.skipped.append(Skipped(str(path), reason))

    def _restamp(self, records: list[DocRecord], file_sha: str) -> None:
        """Record the new file hash on unchanged documents of a changed collection file."""
        stale = [r for r in records if r.file_sha256 != file_sha]
        if stale:
            self.store.set_file_sha(stale, file_sha)

    def _embed(
        self, texts: list[str], sentences: list[str]
    ) -> tuple[np.ndarray, np.ndarray | None, float]:
        """One batch's chunk vectors and its new sentences' vectors (a worker thread)."""
        t = time.perf_counter()
        vectors = self.embedder.encode_passages(texts)
        sentence_vectors = self.embedder.encode_passages(sentences) if sentences else None
        return vectors, sentence_vectors, time.perf_counter() - t

    def _commit(self, p: _Pending, report: IngestReport) -> None:
        self.store.commit_document(p.document, p.file_sha256, len(p.chunks))
        if p.replaces:
            self.store.delete_documents(p.replaces)
            report.updated += 1
        else:
            report.added += 1
        if p.completes:  # the file's last new document: the whole file is in the store
            self.store.set_file_sha_of(p.completes, p.final_sha256)


class _Run:
    """The reading, embedding and storing of one :meth:`Ingestor.run`."""

    def __init__(
        self,
        ingestor: Ingestor,
        files: list[Path],
        by_file: dict[str, list[DocRecord]],
        report: IngestReport,
        progress: Progress,
        on_state: OnProgress | None,
    ) -> None:
        self.ing = ingestor
        self.files = files
        self.by_file = by_file
        self.report = report
        self.progress = progress
        self.on_state = on_state
        self.stop = threading.Event()
        self.budget = _Budget(_AHEAD_CHUNKS, self.stop)
        self.queue: queue.Queue[Any] = queue.Queue()
        self.waiting: deque[tuple[_Pending, Chunk]] = deque()  # chunks not yet sent
        self.in_flight: deque[_Batch] = deque()
        self.open_docs: deque[_Pending] = deque()  # begun, not yet committed, in order
        self.sentences_seen: set[str] = set()
        self.parallel = max(1, ingestor.embedder.parallel)
        self.batch = ingestor.settings.embedding_batch_size
        self.files_done = 0
        self.bytes_total = 0
        self.bytes_done = 0
        self.chunks_known = 0
        self.chunks_done = 0
        self.first_sent: float | None = None

    # --- the reader thread ------------------------------------------------------------------------
    def _read_all(self) -> None:
        try:
            for path in self.files:
                if self.stop.is_set():
                    return
                key = source_key(path)
                item = self.ing._load(path, key, self.by_file.get(key, []))
                if not self.budget.take(sum(len(p.chunks) for p in item.pending)):
                    return
                self.queue.put(item)
        except BaseException as exc:  # handed to the main thread, which raises it
            self.queue.put(exc)
        finally:
            self.queue.put(_DONE)

    # --- the main thread --------------------------------------------------------------------------
    def go(self) -> None:
        for path in self.files:
            with contextlib.suppress(OSError):
                self.bytes_total += path.stat().st_size
        reader = threading.Thread(target=self._read_all, name="ingest-reader", daemon=True)
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="ingest-embed")
        self.pool = pool
        reader.start()
        try:
            self._loop()
        finally:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            reader.join(timeout=5)

    def _loop(self) -> None:
        reading = True
        while reading or self.waiting or self.in_flight:
            oldest = self.in_flight[0] if self.in_flight else None
            if oldest and (oldest.future.done() or len(self.in_flight) > self.parallel):
                self._store_oldest()  # done, or the embedder has enough queued meanwhile
            elif len(self.waiting) >= self.batch:
                self._send()
            elif reading:
                idle = bool(self.waiting) and not self.in_flight
                try:
                    if idle:  # the embedder waits: a part batch goes unless a file is ready
                        item = self.queue.get_nowait()
                    else:  # look again soon whether a batch is done
                        item = self.queue.get(timeout=_POLL_S if self.in_flight else None)
                except queue.Empty:
                    if idle:
                        self._send()
                    continue
                if item is _DONE:
                    reading = False
                elif isinstance(item, BaseException):
                    raise item
                else:
                    self._take(item)
            elif self.waiting:
                self._send()
            else:
                self._store_oldest()

    def _take(self, item: _Loaded) -> None:
        pending = self.ing._apply(item, self.report)
        store = self.ing.store
        new_chunks = 0
        for p in pending:
            store.begin_document(p.document, p.file_sha256, len(p.chunks))
            self.open_docs.append(p)
            self.waiting.extend((p, c) for c in p.chunks)
            new_chunks += len(p.chunks)
        self.files_done += 1
        self.bytes_done += item.size
        if new_chunks:
            self.chunks_known += new_chunks
            self.progress("chunks", 0, self.chunks_known)
        self.progress("files", 1, len(self.files))
        self._commit_ready()  # documents without chunks
        self._state()

    def _send(self) -> None:
        n = min(self.batch, len(self.waiting))
        items = [self.waiting.popleft() for _ in range(n)]
        sentences: list[str] = []
        cache = self.ing.sentences
        if cache is not None:
            fresh: list[str] = []
            for _, c in items:
                for text in sentence_texts(c.text):
                    if text not in self.sentences_seen:  # an overlap sentence: done already
                        self.sentences_seen.add(text)
                        fresh.append(text)
            # re-ingesting a changed document: most of its sentences are in the cache already
            sentences = cache.missing(fresh) if fresh else []
        if self.first_sent is None:
            self.first_sent = time.perf_counter()
        future = self.pool.submit(self.ing._embed, [c.text for _, c in items], sentences)
        self.in_flight.append(_Batch(items, sentences, future))

    def _store_oldest(self) -> None:
        batch = self.in_flight.popleft()
        vectors, sentence_vectors, seconds = batch.future.result()
        report = self.report
        report.embed_seconds += seconds
        if sentence_vectors is not None and self.ing.sentences is not None:
            # before the chunks: a question may find a document once it is committed
            self.ing.sentences.put(dict(zip(batch.sentences, sentence_vectors, strict=True)))
            report.sentences += len(batch.sentences)
        chunks = [c for _, c in batch.items]
        self.ing.store.add_chunks(chunks, vectors)
        for p, _ in batch.items:
            p.left -= 1
        report.chunks += len(chunks)
        self.chunks_done += len(chunks)
        self.budget.give(len(chunks))
        self.progress("chunks", len(chunks), None)
        self._commit_ready()
        self._state()

    def _commit_ready(self) -> None:
        while self.open_docs and self.open_docs[0].left == 0:
            self.ing._commit(self.open_docs.popleft(), self.report)

    def _state(self) -> None:
        if self.on_state is None:
            return
        expected = self.chunks_known
        if self.bytes_done and self.bytes_total > self.bytes_done:
            expected += round(
                self.chunks_known * (self.bytes_total - self.bytes_done) / self.bytes_done
            )
        since = time.perf_counter() - self.first_sent if self.first_sent is not None else 0.0
        self.on_state(
            IngestProgress(
                files_done=self.files_done,
                files_total=len(self.files),
                chunks_done=self.chunks_done,
                chunks_known=self.chunks_known,
                chunks_expected=max(expected, self.chunks_known),
                sentences=self.report.sentences,
                embedding_s=since,
            )
        )


def _under(file: str, root: str) -> bool:
    return file == root or file.startswith(root.rstrip(os.sep) + os.sep)


def _gone(file: str) -> bool:
    """Whether a file is really gone: a permission or I/O error is not "no such file"."""
    try:
        os.stat(file)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def ingest(
    paths: list[Path],
    settings: Settings,
    *,
    prune: bool = False,
    on_progress: Progress | None = None,
    on_state: OnProgress | None = None,
) -> IngestReport:
    """Ingest files and folders into the store named by ``settings``."""
    return Ingestor.open(settings).run(
        paths, prune=prune, on_progress=on_progress, on_state=on_state
    )


def remove(targets: list[str], settings: Settings) -> list[DocRecord]:
    """Remove documents by file path (a folder removes all under it), source or document id."""
    if (
        not settings.chroma_url
        and store_exists(settings)
        and not storefiles.writable(chroma_dir(settings))
    ):
        raise storefiles.read_only(settings, "remove")
    store = Store.open(settings)
    store.require()
    records = store.documents(status=None)
    chosen: dict[str, DocRecord] = {}
    for target in targets:
        key = source_key(Path(target))
        matched = [
            r
            for r in records
            if r.doc_id == target
            or r.source == target
            or r.file == key
            or r.file.startswith(key.rstrip(os.sep) + os.sep)
        ]
        if not matched:
            raise InputError(f"{target}: no such document in the store; see 'fundstelle sources'")
        chosen.update({r.doc_id: r for r in matched})
    store.delete_documents(chosen)
    store.bump_generation()
    s = settings
    BM25Index(bm25_folder(s.store_path, s.chroma_url, s.collection), s.keyword_analyzer).sync(store)
    return list(chosen.values())


# --- rebuild --------------------------------------------------------------------------------------
def stored_files(settings: Settings) -> list[str] | None:
    """The files the embedded store's documents came from, read from its database without
    Chroma (whose vector index may be what is damaged); None when that cannot be read."""
    db = chroma_dir(settings) / "chroma.sqlite3"
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT m.id, m.key, m.string_value FROM embedding_metadata m "
                "JOIN embeddings e ON m.id = e.id JOIN segments s ON e.segment_id = s.id "
                "JOIN collections c ON s.collection = c.id "
                "WHERE c.name = ? AND m.key IN ('source', 'file')",
                (collection_names(settings.collection)[1],),
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    by_doc: dict[int, dict[str, str]] = {}
    for doc, key, value in rows:
        if isinstance(value, str):
            by_doc.setdefault(doc, {})[key] = value
    files = (m.get("file") or source_file(m.get("source", "")) for m in by_doc.values())
    return sorted({f for f in files if f})


def _other_collections(settings: Settings) -> list[str]:
    db = chroma_dir(settings) / "chroma.sqlite3"
    try:
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM collections")]
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    ours = set(collection_names(settings.collection))
    return sorted(n for n in names if n not in ours)


def rebuild(
    paths: list[Path],
    settings: Settings,
    *,
    on_progress: Progress | None = None,
    on_state: OnProgress | None = None,
) -> IngestReport:
    """Build the store again from ``paths`` (default: the files its documents came from, where
    its database can still say which) and put it in place of the old one once it is complete.
    This repairs a damaged store; the old one is left as it is until the new one is done."""
    known = stored_files(settings) if not settings.chroma_url else None
    if settings.chroma_url and not paths:
        try:
            known = sorted({r.file for r in Store.open(settings).documents(status=None)})
        except StoreError:
            known = None
    left_out: list[str] = []
    if not paths:
        if known is None:
            raise InputError(
                "the store's list of documents cannot be read, so the files to build it from "
                f"must be named: {storefiles.rebuild_command(settings, name_folders=True)}"
            )
        paths = [Path(f) for f in known if os.path.lexists(f)]
        left_out = [f for f in known if not os.path.lexists(f)]
        if not paths:
            raise InputError(
                f"none of the {len(known)} file(s) of the store is there any more; name the "
                f"files and folders to build it from: "
                f"{storefiles.rebuild_command(settings, name_folders=True)}"
            )
    if settings.chroma_url:
        report = _rebuild_on_server(paths, settings, on_progress, on_state)
    else:
        report = _rebuild_embedded(paths, settings, on_progress, on_state)
    for f in left_out:
        report.warnings.append(Skipped(f, "no longer there: left out of the rebuilt store"))
    return report


def _rebuild_on_server(
    paths: list[Path],
    settings: Settings,
    on_progress: Progress | None,
    on_state: OnProgress | None = None,
) -> IngestReport:
    store = Store.open(settings)
    for name in collection_names(settings.collection):
        with contextlib.suppress(Exception):  # not there: nothing to delete
            store.client.delete_collection(name)
    return ingest(paths, settings, on_progress=on_progress, on_state=on_state)


def _rebuild_embedded(
    paths: list[Path],
    settings: Settings,
    on_progress: Progress | None,
    on_state: OnProgress | None = None,
) -> IngestReport:
    folder = settings.store_path
    if folder.exists() and not folder.is_dir():
        Store.open(settings)  # says that --store names a file
    if folder.exists() and not os.access(folder, os.W_OK):
        raise storefiles.read_only(settings, "ingest --rebuild")
    others = _other_collections(settings) if store_exists(settings) else []
    if others:
        raise StoreError(
            f"the store at {folder} also holds the collections {', '.join(others)}, which a "
            "rebuild would drop; rebuild into a new folder (--store NEW) instead"
        )
    for old in folder.glob(".rebuild-*"):  # left by a rebuild that was interrupted
        shutil.rmtree(old, ignore_errors=True)
    work = folder / f".rebuild-{os.getpid()}"
    fresh = settings.with_overrides(store_path=work)
    try:
        # sentence vectors go straight into the store's own cache: it is keyed by text, and the
        # new store's folder is dropped once its Chroma folder and keyword cache are moved
        ingestor = Ingestor.open(fresh, sentence_path=folder / SENTENCES_FILE)
        report = ingestor.run(paths, on_progress=on_progress, on_state=on_state)
        release(chroma_dir(fresh))
        release(chroma_dir(settings))
        # the new store's Chroma folder and keyword cache take the old ones' places; the
        # uploads and the sentence cache (keyed by text) stay
        for name in ("chroma", "bm25"):
            old, new = folder / name, work / name
            aside = folder / f".{name}-replaced"
            shutil.rmtree(aside, ignore_errors=True)
            if old.exists():
                os.replace(old, aside)
            if new.exists():
                os.replace(new, old)
            shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report
