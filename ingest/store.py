"""The Chroma store: one collection of chunk vectors and one registry of documents.

Chroma (embedded ``PersistentClient`` or a server through ``HttpClient``) is the single source of
truth. A document is written in three steps so that a crash never leaves half of it visible:
its registry record goes in as ``pending``, then its chunks, then the record turns ``complete``.
Readers ignore chunks of pending documents, and the next ingest deletes them (:meth:`Store.repair`).

Several processes may share one embedded store (the page, a batch run, ``fundstelle ingest``).
chromadb keeps one in-memory vector index per folder and process, which does not see another
process's writes; a store whose *generation* changed since this process loaded it is therefore
reopened before it is searched (:meth:`Store.refresh`). Only ``ingest`` creates a store.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from fundstelle.core.errors import StoreError
from fundstelle.core.settings import Settings

from . import storefiles
from .integrity import check_store
from .types import Chunk, Document

PENDING = "pending"
_URL_PREFIX = "url:"  # an embedding server's model (ingest/embedders.py URL_PREFIX)
COMPLETE = "complete"
_DOCS_SUFFIX = "-documents"
# the ids of documents being written, beside their records: every search excludes them, and
# finding them among all records (a metadata filter) cost 13 ms a question at 100k documents
PENDING_SUFFIX = "-pending"


def collection_names(collection: str) -> tuple[str, str, str]:
    """The Chroma collections of a store named ``collection``: chunks, document records, and
    the marks of documents being written."""
    return collection, collection + _DOCS_SUFFIX, collection + PENDING_SUFFIX


_GET_BATCH = 5000
_ID_PAGE = 100_000  # chunk ids per reply of a Chroma server


@dataclass(frozen=True)
class DocRecord:
    """What the registry knows of one document."""

    doc_id: str
    source: str
    title: str
    sha256: str
    file_sha256: str
    n_chunks: int
    status: str
    ingested_at: str
    date: str | None = None
    url: str | None = None
    lang: str | None = None
    publisher: str | None = None
    file_key: str | None = None  # recorded since issue 22; older records have none

    @property
    def file(self) -> str:
        """The file the document came from (collections hold many documents per file)."""
        return self.file_key or source_file(self.source)


_COLLECTION_SUFFIXES = (".json", ".jsonl")


def source_file(source: str) -> str:
    """The file of a source key: the key itself, or for a record of a collection
    (``news.jsonl#<id>``) the part before the '#' that follows the collection's suffix. Never
    simply the part before the first '#': file names may hold one (``fares#2025.txt``)."""
    start = 0
    while (cut := source.find("#", start)) >= 0:
        if source[:cut].lower().endswith(_COLLECTION_SUFFIXES):
            return source[:cut]
        start = cut + 1
    return source


def date_int(date: str | None) -> int | None:
    """``2026-01-07`` -> ``20260107``: Chroma filters ranges on numbers only."""
    return int(date.replace("-", "")) if date else None


# embedded stores: chroma folder -> the generation that this process's chromadb instance of it
# is known to be in step with (set when loaded, kept across this process's own ingests)
_IN_STEP: dict[str, str] = {}
_REOPEN_LOCK = threading.Lock()


def release(folder: Path) -> None:
    """Forget and stop this process's Chroma instance of the embedded store ``folder``: its files
    are about to be moved or replaced (a rebuild)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(folder)
    with _REOPEN_LOCK:
        system = SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        _IN_STEP.pop(key, None)
    if system is not None:
        with contextlib.suppress(Exception):  # dropped: nothing depends on a clean stop
            system.stop()


def chroma_dir(settings: Settings) -> Path:
    """The embedded Chroma folder of a store."""
    return settings.store_path / "chroma"


def store_exists(settings: Settings) -> bool:
    """Whether an embedded store has been created at ``store_path`` (by an ingest)."""
    return (chroma_dir(settings) / "chroma.sqlite3").is_file()


def _check_folder(settings: Settings) -> None:
    path = settings.store_path
    if path.exists() and not path.is_dir():
        raise StoreError(
            f"the store path {path} is a file, not a store folder; give a folder with --store "
            "(or FUNDSTELLE_STORE_PATH): 'fundstelle ingest' creates it"
        )


def _clean(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v is not None}


@lru_cache(maxsize=8)
def _http_client(host: str, port: int, ssl: bool) -> Any:
    # one client per server and process: a second HttpClient on the same settings hangs in chromadb
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.HttpClient(
        host=host, port=port, ssl=ssl, settings=ChromaSettings(anonymized_telemetry=False)
    )


def open_client(settings: Settings, *, create: bool = False) -> Any:
    """An embedded Chroma client under ``store_path``, or a client of ``chroma_url``.

    An embedded store's files are checked first (:mod:`.integrity`; thoroughly before a write,
    ``create``): Chroma crashes or answers wrongly from damaged ones. A store this process may
    not write is read from a private copy; writing it (``create``) is an error."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise StoreError(
                f"FUNDSTELLE_CHROMA_URL {settings.chroma_url!r} is not a URL like http://127.0.0.1:8000"
            )
        try:
            client = _http_client(
                url.hostname,
                url.port or (443 if url.scheme == "https" else 8000),
                url.scheme == "https",
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}); "
                "start it with 'chroma run --path DIR --port PORT' or unset FUNDSTELLE_CHROMA_URL"
            ) from exc
        return client
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    _check_folder(settings)
    folder = chroma_dir(settings)
    if store_exists(settings):
        problem = check_store(folder, thorough=create)
        if problem:
            raise storefiles.damaged(settings, problem)
        if not storefiles.writable(folder):
            if create:
                raise storefiles.read_only(settings, "ingest")
            folder = storefiles.read_only_copy(folder)
    else:
        try:
            settings.store_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if storefiles.is_disk_full(exc, settings):
                raise storefiles.disk_full(settings) from exc
            raise StoreError(
                f"cannot create the store at {settings.store_path}: {exc.strerror or exc}"
            ) from exc
    try:
        client = chromadb.PersistentClient(path=str(folder), settings=chroma_settings)
    except Exception as exc:
        error = storefiles.translate(exc, settings)
        if error is None:
            raise
        raise error from exc
    return storefiles.Guarded(client, settings)


class Store:
    """Chunks and document records in Chroma."""

    def __init__(
        self, client: Any, name: str, *, location: str, settings: Settings | None = None
    ) -> None:
        self.client = client
        self.name = name
        self.location = location
        self.settings = settings
        self._chunks: Any = None
        self._docs: Any = None
        self._pending: Any = None  # None: a store written before it had one

    # --- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, create: bool = False) -> Store:
        """The store named by ``settings``. An embedded store that does not exist yet is not
        created (a mistyped ``--store`` must not leave a folder behind) unless ``create``: only
        ingest creates stores; the others see an empty store, and :meth:`require` says so."""
        location = settings.chroma_url or str(settings.store_path)
        if not settings.chroma_url:
            _check_folder(settings)
        if not settings.chroma_url and not create and not store_exists(settings):
            return cls(None, settings.collection, location=location, settings=settings)
        store = cls(
            open_client(settings, create=create),
            settings.collection,
            location=location,
            settings=settings,
        )
        store.refresh()
        return store

    @property
    def _embedded_key(self) -> str | None:
        s = self.settings
        return None if s is None or s.chroma_url else str(chroma_dir(s))

    def _existing(self) -> bool:
        if self._chunks is not None:
            return True
        if self.client is None:
            # opened before any ingest: it may exist by now (an upload, another process)
            if self.settings is None or not store_exists(self.settings):
                return False
            self.client = open_client(self.settings)
        try:
            self._chunks = self.client.get_collection(self.name)
            self._docs = self.client.get_collection(self.name + _DOCS_SUFFIX)
        except StoreError:
            raise  # damaged, read-only, disk full: not "no store"
        except Exception:
            self._chunks = self._docs = None
            return False
        self._pending = self._pending_collection(self.client)
        key = self._embedded_key
        if key is not None and key not in _IN_STEP:
            _IN_STEP[key] = self._read_generation()  # just loaded: in step with the store
        return True

    def refresh(self) -> bool:
        """See other processes' ingests and removals: reopen an embedded store whose generation
        changed since this process loaded it. Returns True if it was reopened. (A Chroma server
        is always current.)"""
        key = self._embedded_key
        if key is None or not self._existing():
            return False
        current = self._read_generation()
        assert self.settings is not None
        if storefiles.copy_is_stale(chroma_dir(self.settings)):
            # a read-only store that its owner changed: read a fresh copy of it
            self._reopen(current, force=True)
            _IN_STEP[key] = self._read_generation()
            return True
        if _IN_STEP.get(key) == current:
            return False
        self._reopen(current)
        return True

    def _reopen(self, generation: str, *, force: bool = False) -> None:
        """Load the store afresh, in step with ``generation``. Searches in other threads keep
        working meanwhile: each attribute always holds a usable client or collection."""
        from chromadb.api.shared_system_client import SharedSystemClient

        assert self.settings is not None
        key = str(chroma_dir(self.settings))
        with _REOPEN_LOCK:
            if force or _IN_STEP.get(key) != generation:
                # chromadb shares one instance per folder and process and keeps it for good: drop
                # it from that cache so that the next client loads the folder as it is now. The
                # old one is not stopped: other objects of this process may still be using it.
                SharedSystemClient._identifier_to_system.pop(key, None)
                SharedSystemClient._identifier_to_refcount.pop(key, None)
            # else another Store of this process has just reopened it: take the fresh instance
            client = open_client(self.settings)  # checks the files again: they changed
            try:
                chunks = client.get_collection(self.name)
                docs = client.get_collection(self.name + _DOCS_SUFFIX)
            except StoreError:
                raise  # damaged, read-only, disk full: it says so itself
            except Exception as exc:
                raise StoreError(f"the store at {self.location} is gone; ingest again") from exc
            self.client, self._chunks, self._docs = client, chunks, docs
            self._pending = self._pending_collection(client)
            _IN_STEP[key] = generation

    def _query(self, **kwargs: Any) -> Any:
        """A vector search; once more after reopening if this process's index of an embedded
        store lags behind another process's writes (chromadb: "Error finding id")."""
        from chromadb.errors import ChromaError

        try:
            return self._chunks.query(**kwargs)
        except ChromaError as exc:
            if self._embedded_key is None:
                raise StoreError(f"the Chroma server at {self.location} failed: {exc}") from exc
            first = exc
        self._reopen(self._read_generation(), force=True)
        try:
            return self._chunks.query(**kwargs)
        except ChromaError as exc:
            assert self.settings is not None
            problem = check_store(chroma_dir(self.settings), thorough=True)
            if problem:
                raise storefiles.damaged(self.settings, problem) from exc
            raise StoreError(
                f"the store at {self.location} changed under this process and reading it failed "
                f"again after reopening ({str(first)[:120]}); restart this program"
            ) from exc

    def ensure(self, embedding_model: str, dim: int) -> None:
        """Create the collections for ``embedding_model`` or check that they were made with it."""
        if self.client is None and self.settings is not None:
            self.client = open_client(self.settings)
        if not self._existing():
            self._chunks = self.client.get_or_create_collection(
                self.name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": embedding_model, "dim": dim, "generation": "0"},
                embedding_function=None,
            )
            self._docs = self.client.get_or_create_collection(
                self.name + _DOCS_SUFFIX, embedding_function=None
            )
        if self._pending is None:
            self._pending = self._pending_collection(self.client)
        if self._pending is None:  # a new store, or one written before it had the collection
            pending = self._scan_pending()
            self._pending = self.client.get_or_create_collection(
                self.name + PENDING_SUFFIX, embedding_function=None
            )
            self._mark_pending(sorted(pending))
        self.check_model(embedding_model, dim)

    def _pending_collection(self, client: Any) -> Any:
        try:
            return client.get_collection(self.name + PENDING_SUFFIX)
        except StoreError:
            raise
        except Exception:
            return None

    def _mark_pending(self, doc_ids: list[str]) -> None:
        for i in range(0, len(doc_ids), _GET_BATCH):
            batch = doc_ids[i : i + _GET_BATCH]
            self._pending.upsert(ids=batch, embeddings=[[0.0]] * len(batch))

    def require(self) -> None:
        if not self._existing():
            raise StoreError(
                f"no Fundstelle store at {self.location}; run 'fundstelle ingest corpus/' first"
            )

    @property
    def embedding_model(self) -> str | None:
        self.require()
        return (self._chunks.metadata or {}).get("embedding_model")

    def check_model(self, embedding_model: str, dim: int | None = None) -> None:
        """Fail unless the store was built with ``embedding_model`` (and, where given, vectors
        of ``dim`` dimensions: a server may serve another model under the same name)."""
        stored = self.embedding_model
        if stored and stored != embedding_model:
            if stored.startswith(_URL_PREFIX):
                hint = (
                    f"it was built with the model {stored.removeprefix(_URL_PREFIX)!r} of an "
                    "embedding server: set FUNDSTELLE_EMBEDDING_URL to that server and "
                    "FUNDSTELLE_EMBEDDING_MODEL to that model"
                )
            elif embedding_model.startswith(_URL_PREFIX):
                hint = (
                    "it was built with a model in this process, not an embedding server's: "
                    "unset FUNDSTELLE_EMBEDDING_URL and set FUNDSTELLE_EMBEDDING_MODEL to match it"
                )
            else:
                hint = "set FUNDSTELLE_EMBEDDING_MODEL to match it"
            raise StoreError(
                f"the store at {self.location} was built with embedding model {stored!r}, not "
                f"{embedding_model!r}; {hint}, or ingest into a new store (--store DIR)"
            )
        stored_dim = (self._chunks.metadata or {}).get("dim")
        if dim and stored_dim and int(stored_dim) != dim:
            raise StoreError(
                f"the store at {self.location} holds {stored_dim}-dimensional vectors of "
                f"{stored!r}, but that model now gives {dim}: the embedding server serves "
                "another model under that name; point FUNDSTELLE_EMBEDDING_URL at the store's "
                "model, or ingest into a new store (--store DIR)"
            )

    # --- generation: changes whenever chunks were added or removed ------------------------------
    @property
    def generation(self) -> str:
        self.require()
        return self._read_generation()

    def _read_generation(self) -> str:
        # re-read: another process (or machine) may have ingested since we opened
        meta = self.client.get_collection(self.name).metadata or {}
        return str(meta.get("generation", "0"))

    def bump_generation(self) -> str:
        self.require()
        meta = dict(self.client.get_collection(self.name).metadata or {})
        old = str(meta.get("generation", "0"))
        meta["generation"] = uuid.uuid4().hex[:12]
        self._chunks.modify(metadata=meta)
        key = self._embedded_key
        if key is not None and _IN_STEP.get(key) == old:
            _IN_STEP[key] = meta["generation"]  # our own writes: this process is still in step
        return meta["generation"]

    # --- documents --------------------------------------------------------------------------------
    def documents(self, status: str | None = COMPLETE) -> list[DocRecord]:
        self.require()
        where = {"status": status} if status else None
        out: list[DocRecord] = []
        offset = 0
        while True:
            got = self._docs.get(
                where=where, include=["metadatas"], limit=_GET_BATCH, offset=offset
            )
            for doc_id, m in zip(got["ids"], got["metadatas"], strict=True):
                out.append(_record(doc_id, m))
            if len(got["ids"]) < _GET_BATCH:
                return out
            offset += _GET_BATCH

    def pending_ids(self) -> set[str]:
        """Documents being written (or left half-written by an interrupted ingest)."""
        self.require()
        if self._pending is None:
            return self._scan_pending()
        return set(self._pending.get(include=[])["ids"])

    def _scan_pending(self) -> set[str]:
        return set(self._docs.get(where={"status": PENDING}, include=[])["ids"])

    def _doc_meta(
        self, doc: Document, file_sha256: str, n_chunks: int, status: str
    ) -> dict[str, Any]:
        return _clean(
            {
                "source": doc.source,
                "file": doc.file,
                "title": doc.title,
                "date": doc.date,
                "date_int": date_int(doc.date),
                "url": doc.url,
                "lang": doc.lang,
                "publisher": doc.publisher,
                "sha256": doc.sha256,
                "file_sha256": file_sha256,
                "n_chunks": n_chunks,
                "status": status,
                "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "page_starts": ",".join(map(str, doc.page_starts)) or None,
            }
        )

    def begin_document(self, doc: Document, file_sha256: str, n_chunks: int) -> None:
        if self._pending is not None:  # before any chunk of it can be found
            self._mark_pending([doc.doc_id])
        self._docs.upsert(
            ids=[doc.doc_id],
            embeddings=[[0.0]],
            documents=[doc.text],
            metadatas=[self._doc_meta(doc, file_sha256, n_chunks, PENDING)],
        )

    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        self._chunks.upsert(
            ids=[c.chunk_id for c in chunks],
            embeddings=np.asarray(vectors, dtype=np.float32),
            documents=[c.text for c in chunks],
            metadatas=[chunk_metadata(c) for c in chunks],
        )

    def commit_document(self, doc: Document, file_sha256: str, n_chunks: int) -> None:
        self._docs.update(
            ids=[doc.doc_id], metadatas=[self._doc_meta(doc, file_sha256, n_chunks, COMPLETE)]
        )
        if self._pending is not None:  # only once its record says complete
            self._pending.delete(ids=[doc.doc_id])

    def set_file_sha(self, records: list[DocRecord], file_sha256: str) -> None:
        self.set_file_sha_of([r.doc_id for r in records], file_sha256)

    def set_file_sha_of(self, doc_ids: list[str], file_sha256: str) -> None:
        for i in range(0, len(doc_ids), _GET_BATCH):
            got = self._docs.get(ids=doc_ids[i : i + _GET_BATCH], include=["metadatas"])
            metas = [{**m, "file_sha256": file_sha256} for m in got["metadatas"]]
            if got["ids"]:
                self._docs.update(ids=got["ids"], metadatas=metas)

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Delete documents and all their chunks; return how many documents went."""
        self.require()
        ids = list(dict.fromkeys(doc_ids))
        for i in range(0, len(ids), 500):
            batch = ids[i : i + 500]
            self._chunks.delete(where={"doc_id": {"$in": batch}})
            self._docs.delete(ids=batch)
            if self._pending is not None:
                self._pending.delete(ids=batch)
        return len(ids)

    def repair(self) -> int:
        """Remove documents an interrupted ingest left half-written."""
        marked = sorted(self.pending_ids())
        if not marked:
            return 0
        got = self._docs.get(ids=marked, include=["metadatas"])
        # stopped between writing "complete" and dropping the mark: the document is whole
        whole = [
            i
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
            if m.get("status") == COMPLETE
        ]
        if whole and self._pending is not None:
            self._pending.delete(ids=whole)
        return self.delete_documents(sorted(set(marked) - set(whole)))

    def document_text(self, doc_id: str) -> str | None:
        self.require()
        got = self._docs.get(ids=[doc_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def document(self, doc_id: str) -> StoredDocument | None:
        """A complete document's record, text and PDF page starts, as ingested: the offsets of
        its chunks and citations index this text. ``None`` for an unknown or pending id."""
        self.require()
        got = self._docs.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"] or got["metadatas"][0].get("status") != COMPLETE:
            return None
        meta = got["metadatas"][0]
        text = got["documents"][0]
        if text is None:  # not kept: put it together from the chunks, at their offsets
            text = self._text_from_chunks(doc_id)
        pages = tuple(int(p) for p in str(meta.get("page_starts") or "").split(",") if p)
        return StoredDocument(_record(doc_id, meta), text, pages)

    def _text_from_chunks(self, doc_id: str) -> str:
        got = self._chunks.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        spans = sorted(
            (int(m["start"]), int(m["end"]), t)
            for t, m in zip(got["documents"], got["metadatas"], strict=True)
        )
        size = max((end for _, end, _ in spans), default=0)
        chars = [" "] * size  # gaps between chunks (whitespace the chunker dropped) stay blank
        for start, end, text in spans:
            chars[start:end] = text
        return "".join(chars)

    def status(self) -> dict[str, Any]:
        """Documents, chunks, last ingest and embedding model, for a status display."""
        if not self._existing():
            return {"documents": 0, "chunks": 0, "last_ingest": None, "embedding_model": None}
        records = self.documents()
        return {
            "documents": len(records),
            "chunks": self.count_chunks(),
            "last_ingest": max((r.ingested_at for r in records), default=None),
            "embedding_model": self.embedding_model,
            "languages": sorted({r.lang for r in records if r.lang}),
            "dates": sorted(r.date for r in records if r.date),
        }

    # --- chunks -----------------------------------------------------------------------------------
    def count_chunks(self) -> int:
        return int(self._chunks.count()) if self._existing() else 0

    def chunk_ids(self) -> list[str]:
        """Every chunk's id (what a keyword-cache sync compares). An embedded store is read in
        one call: pages cost more the further they go (1M chunks: 2.2 s in one call, 26.6 s in
        pages of 20,000); a server's answers are paged to keep each reply bounded."""
        self.require()
        if self._embedded_key is not None:
            return list(self._chunks.get(include=[])["ids"])
        out: list[str] = []
        offset = 0
        while True:
            got = self._chunks.get(include=[], limit=_ID_PAGE, offset=offset)
            out.extend(got["ids"])
            if len(got["ids"]) < _ID_PAGE:
                return out
            offset += _ID_PAGE

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        self.require()
        found: dict[str, Chunk] = {}
        for i in range(0, len(ids), _GET_BATCH):
            got = self._chunks.get(
                ids=list(ids[i : i + _GET_BATCH]), include=["documents", "metadatas"]
            )
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                found[cid] = chunk_from_record(cid, text, meta)
        return [found[i] for i in ids if i in found]

    def query_ids(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Ids of the nearest chunks and their cosine similarity, best first (no texts: fetching
        them costs more than the search; callers fetch the few they keep)."""
        self.require()
        if n <= 0:
            return []
        got = self._query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=where or None,
            include=["distances"],
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def query(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - distance), best first."""
        self.require()
        if n <= 0:
            return []
        got = self._query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (chunk_from_record(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store holds it: record, text and PDF page starts."""

    record: DocRecord
    text: str
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based PDF page holding ``offset``."""
        if not self.page_starts:
            return None
        return sum(1 for start in self.page_starts if start <= offset) or 1


def _record(doc_id: str, m: dict[str, Any]) -> DocRecord:
    return DocRecord(
        doc_id=doc_id,
        source=m["source"],
        title=m.get("title", ""),
        sha256=m.get("sha256", ""),
        file_sha256=m.get("file_sha256", ""),
        n_chunks=int(m.get("n_chunks", 0)),
        status=m.get("status", ""),
        ingested_at=m.get("ingested_at", ""),
        date=m.get("date"),
        url=m.get("url"),
        lang=m.get("lang"),
        publisher=m.get("publisher"),
        file_key=m.get("file"),
    )


def chunk_metadata(c: Chunk) -> dict[str, Any]:
    return _clean(
        {
            "doc_id": c.doc_id,
            "index": c.index,
            "start": c.start,
            "end": c.end,
            "source": c.source,
            "title": c.title,
            "date": c.date,
            "date_int": date_int(c.date),
            "url": c.url,
            "lang": c.lang,
            "page": c.page,
            "publisher": c.publisher,
        }
    )


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        doc_id=meta["doc_id"],
        index=int(meta.get("index", 0)),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        source=meta.get("source", ""),
        title=meta.get("title", ""),
        date=meta.get("date"),
        url=meta.get("url"),
        lang=meta.get("lang"),
        page=meta.get("page"),
        chunk_id=chunk_id,
        publisher=meta.get("publisher"),
    )
