"""Typed data of the ingest stage: a loaded ``Document`` and the ``Chunk``s cut from it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def content_id(*parts: str, length: int = 24) -> str:
    """A stable id from content: the same parts always give the same id."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Document:
    """One source text, with the provenance every citation needs.

    ``text`` is the document text that all offsets index into: for a plain text file it is
    the file's text minus leading metadata tokens; for HTML the extracted main text.
    """

    source: str  # the key: file path, or "file.jsonl#<url or index>" for collections
    text: str
    title: str
    sha256: str  # of the raw input bytes (or of the record, for collections)
    date: str | None = None  # ISO date YYYY-MM-DD
    url: str | None = None
    lang: str | None = None
    publisher: str | None = None  # e.g. "TechCrunch": searched by keyword, shown in citations
    page_starts: tuple[int, ...] = ()  # PDF: offset of each page's first character
    doc_id: str = field(default="")
    # the file it came from: the source itself, or the collection file of a record (a file name
    # may hold '#' too, so the file is never found by cutting the source)
    file: str = ""

    def __post_init__(self) -> None:
        if not self.doc_id:
            object.__setattr__(self, "doc_id", content_id(self.source, self.text))
        if not self.file:
            object.__setattr__(self, "file", self.source)

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding ``offset`` (PDF only)."""
        if not self.page_starts:
            return None
        page = 0
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i
            else:
                break
        return page + 1


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``."""

    doc_id: str
    index: int
    text: str
    start: int
    end: int
    source: str
    title: str
    date: str | None = None
    url: str | None = None
    lang: str | None = None
    page: int | None = None
    chunk_id: str = field(default="")
    publisher: str | None = None

    def __post_init__(self) -> None:
        if not self.chunk_id:
            object.__setattr__(
                self, "chunk_id", content_id(self.doc_id, str(self.start), str(self.end))
            )

    @property
    def name(self) -> str:
        """A short readable name, e.g. ``corpus/a.txt @1200-1900``."""
        where = f"p. {self.page}, " if self.page else ""
        return f"{self.source} ({where}chars {self.start}-{self.end})"
