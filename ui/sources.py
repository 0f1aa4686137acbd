"""The source behind a citation, for the page's document view: the whole text as it was
ingested, where the quote stands in it, and the file to download."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from fundstelle.ingest.store import Store, StoredDocument
from fundstelle.qa.types import Citation


@dataclass
class SourceView:
    title: str
    source: str
    date: str | None
    publisher: str | None
    url: str | None
    text: str
    start: int  # the quote is text[start:end]; -1 where it is no longer in the text
    end: int
    page: int | None
    page_starts: tuple[int, ...]
    note: str  # a word on what is shown when it is not the version that was cited
    download: bytes
    file_name: str
    mime: str


def _ingested_bytes(path: Path, sha256: str, limit: int) -> bytes | None:
    """The file's bytes if they are still the ones that were ingested (``sha256``): a regular
    file, not a link (whatever it points to), within the size limit. Anything else at the path
    (a link to a private file put there, a file edited since) is never handed out."""
    if not sha256:
        return None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None  # gone, unreadable, or a link (ELOOP)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit and _sha256(data) == sha256 else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_name(title: str) -> str:
    slug = re.sub(r"[^\w-]+", "-", title, flags=re.UNICODE).strip("-")[:60]
    return (slug or "source") + ".txt"


def source_view(store: Store, c: Citation, max_file_bytes: int) -> SourceView | None:
    """Everything the document view shows for citation ``c``; ``None`` if the store no longer
    has the document nor another version of its source."""
    note = ""
    doc: StoredDocument | None = store.document(c.doc_id)
    if doc is None:
        # ingested again since (the text changed): show the version the store has now
        current = [r for r in store.documents() if r.source == c.source]
        doc = store.document(current[0].doc_id) if current else None
        if doc is None:
            return None
        note = "The source changed since this answer; this is its current version."
    text = doc.text
    start, end = c.start, c.end
    if text[start:end] != c.quote:
        start = text.find(c.quote)
        end = start + len(c.quote) if start >= 0 else -1
        if start < 0:
            note = "The source changed since this answer; the quoted sentence is no longer in it."
    record = doc.record
    download, name, mime = None, "", "text/plain"
    if record.file == record.source:  # a whole file (records of a JSON collection share one)
        path = Path(record.file)
        download = _ingested_bytes(path, record.file_sha256, max_file_bytes)
        name = path.name
        if download is None and os.path.lexists(path) and not note:
            note = (
                "The file changed since it was ingested; the download is the text as it was "
                "ingested."
            )
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if download is None:
        download = text.encode("utf-8")
        name, mime = _text_name(record.title), "text/plain"
    return SourceView(
        title=record.title,
        source=record.source,
        date=record.date,
        publisher=record.publisher,
        url=record.url,
        text=text,
        start=start,
        end=end,
        page=doc.page_at(start) if start >= 0 else None,
        page_starts=doc.page_starts,
        note=note,
        download=download,
        file_name=name,
        mime=mime,
    )
