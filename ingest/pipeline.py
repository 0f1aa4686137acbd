"""The ingest run: find files, load, chunk, embed, store; incremental, idempotent, crash-safe.

Library code reports progress through a callback; bars and printing belong to the interface.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
from .embedders import Embedder, load_embedder
from .loaders import is_supported, parse, read_file, unsupported_reason
from .store import DocRecord, Store, chroma_dir, release, source_file, store_exists
from .types import Chunk, Document

# on_progress(kind, advance, total): kind is "files" or "chunks"; total may grow as files are read
Progress = Callable[[str, int, int | None], None]

_WINDOW_CHUNKS = 256  # chunks loaded ahead of embedding; bounds memory on big corpora


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


class Ingestor:
    """One ingest run over a store. Build with :meth:`open`, then call :meth:`run`."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder

    @classmethod
    def open(cls, settings: Settings) -> Ingestor:
        embedder = load_embedder(settings.embedding_model, settings.embedding_threads)
        store = Store.open(settings, create=True)
        store.ensure(embedder.name, embedder.dim)
        return cls(settings, store, embedder)

    def run(
        self, paths: list[Path], *, prune: bool = False, on_progress: Progress | None = None
    ) -> IngestReport:
        try:
            return self._run(paths, prune=prune, on_progress=on_progress)
        except FundstelleError:
            raise
        except Exception as exc:
            # Chroma's "Error in compaction" never says that the disk is full
            if storefiles.is_disk_full(exc, self.settings):
                raise storefiles.disk_full(self.settings) from exc
            raise

    def _run(
        self, paths: list[Path], *, prune: bool = False, on_progress: Progress | None = None
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
        window: list[_Pending] = []
        seen_files: set[str] = set()
        chunks_total = 0
        for path in files:
            key = source_key(path)
            seen_files.add(key)
            pending = self._read(path, key, by_file.get(key, []), report)
            for p in pending:
                chunks_total += len(p.chunks)
                progress("chunks", 0, chunks_total)
            window.extend(pending)
            if sum(len(p.chunks) for p in window) >= _WINDOW_CHUNKS:
                self._embed_and_write(window, report, progress)
                window = []
            progress("files", 1, len(files))
        self._embed_and_write(window, report, progress)

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
        return BM25Index(bm25_folder(s.store_path, s.chroma_url, s.collection))

    def _read(
        self, path: Path, key: str, known: list[DocRecord], report: IngestReport
    ) -> list[_Pending]:
        """Load one file and return its new or changed documents; drop records it lost."""
        if not is_supported(path):
            report.skipped.append(Skipped(str(path), unsupported_reason(path)))
            return []
        try:
            data = read_file(path, int(self.settings.max_file_mb * 1e6))
            file_sha = hashlib.sha256(data).hexdigest()
            if known and all(r.file_sha256 == file_sha for r in known):
                report.unchanged += len(known)
                return []
            loaded = parse(data, path, key)
        except SkipFile as exc:
            self._skip(path, str(exc), known, report, keep=isinstance(exc, UnreadableFile))
            return []
        except FundstelleError:
            raise
        except Exception as exc:  # a loader bug must not lose the rest of the corpus
            reason = f"unexpected {exc.__class__.__name__}: {exc}"
            self._skip(path, reason, known, report, keep=False)
            return []
        for problem in loaded.problems:
            report.skipped.append(Skipped(str(path), problem))
        for warning in loaded.warnings:
            report.warnings.append(Skipped(str(path), warning))
        known_by_source = {r.source: r for r in known}
        out: list[_Pending] = []
        still_there: set[str] = set()
        for doc in loaded.documents:
            still_there.add(doc.source)
            old = known_by_source.get(doc.source)
            if old and old.doc_id == doc.doc_id:
                report.unchanged += 1
                continue
            chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
            out.append(_Pending(doc, chunks, file_sha, [old.doc_id] if old else []))
        # records gone from a collection file, or a file that now loads under other keys
        lost = [r.doc_id for r in known if r.source not in still_there]
        report.removed += self.store.delete_documents(lost)
        unchanged = [
            r
            for r in known
            if r.source in still_there and r.doc_id not in {p.document.doc_id for p in out}
        ]
        self._restamp(unchanged, file_sha)
        return out

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

    def _embed_and_write(
        self, window: list[_Pending], report: IngestReport, progress: Progress
    ) -> None:
        """Embed the window's chunks in batches that cross documents (the model is fastest on
        full batches) and commit each document as soon as its last chunk is stored."""
        if not window:
            return
        store = self.store
        for p in window:
            store.begin_document(p.document, p.file_sha256, len(p.chunks))
        flat = [(n, c) for n, p in enumerate(window) for c in p.chunks]
        # the flat position after which document n is complete
        ends = []
        total = 0
        for p in window:
            total += len(p.chunks)
            ends.append(total)
        committed = 0
        batch = self.settings.embedding_batch_size
        for i in range(0, len(flat) + 1, batch):
            part = [c for _, c in flat[i : i + batch]]
            if part:
                t = time.perf_counter()
                vectors = self.embedder.encode_passages([c.text for c in part])
                report.embed_seconds += time.perf_counter() - t
                store.add_chunks(part, vectors)
                report.chunks += len(part)
                progress("chunks", len(part), None)
            done = i + len(part)
            while committed < len(window) and ends[committed] <= done:
                self._commit(window[committed], report)
                committed += 1

    def _commit(self, p: _Pending, report: IngestReport) -> None:
        self.store.commit_document(p.document, p.file_sha256, len(p.chunks))
        if p.replaces:
            self.store.delete_documents(p.replaces)
            report.updated += 1
        else:
            report.added += 1


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
) -> IngestReport:
    """Ingest files and folders into the store named by ``settings``."""
    return Ingestor.open(settings).run(paths, prune=prune, on_progress=on_progress)


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
    BM25Index(bm25_folder(s.store_path, s.chroma_url, s.collection)).sync(store)
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
                (settings.collection + "-documents",),
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
    ours = {settings.collection, settings.collection + "-documents"}
    return sorted(n for n in names if n not in ours)


def rebuild(
    paths: list[Path], settings: Settings, *, on_progress: Progress | None = None
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
        report = _rebuild_on_server(paths, settings, on_progress)
    else:
        report = _rebuild_embedded(paths, settings, on_progress)
    for f in left_out:
        report.warnings.append(Skipped(f, "no longer there: left out of the rebuilt store"))
    return report


def _rebuild_on_server(
    paths: list[Path], settings: Settings, on_progress: Progress | None
) -> IngestReport:
    store = Store.open(settings)
    for name in (settings.collection, settings.collection + "-documents"):
        with contextlib.suppress(Exception):  # not there: nothing to delete
            store.client.delete_collection(name)
    return ingest(paths, settings, on_progress=on_progress)


def _rebuild_embedded(
    paths: list[Path], settings: Settings, on_progress: Progress | None
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
        report = Ingestor.open(fresh).run(paths, on_progress=on_progress)
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
