"""Loaders turn one file into documents. ``load_file`` picks the loader by extension."""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SkipFile
from ..types import Document
from . import html, markdown, pdf, records, text


@dataclass
class Loaded:
    """What one file gave: its documents, and records inside it that were skipped."""

    documents: list[Document]
    problems: list[str] = field(default_factory=list)


LoadFn = Callable[[bytes, Path, str, str], tuple[list[Document], list[str]]]

LOADERS: dict[str, LoadFn] = {
    ".txt": text.load,
    ".text": text.load,
    ".md": markdown.load,
    ".markdown": markdown.load,
    ".html": html.load,
    ".htm": html.load,
    ".pdf": pdf.load,
    ".json": records.load,
    ".jsonl": records.load,
}

SUPPORTED = tuple(sorted(LOADERS))


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def unsupported_reason(path: Path) -> str:
    return f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"


def read_file(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; raise :class:`SkipFile` if it is too big or cannot be read."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkipFile(
                f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit "
                "(raise FUNDSTELLE_MAX_FILE_MB to ingest it)"
            )
        return path.read_bytes()
    except OSError as exc:
        reason = (
            "symlink loop" if exc.errno == errno.ELOOP else f"cannot read: {exc.strerror or exc}"
        )
        raise SkipFile(reason) from exc


def parse(data: bytes, path: Path, source: str) -> Loaded:
    """Turn a file's bytes into documents; raise :class:`SkipFile` when it cannot be used."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SkipFile(unsupported_reason(path))
    documents, problems = loader(data, path, source, hashlib.sha256(data).hexdigest())
    if not documents and not problems:
        raise SkipFile("no text found")
    return Loaded(documents, problems)


def load_file(path: Path, source: str, max_bytes: int) -> Loaded:
    """Read and parse one file (keyed as ``source``)."""
    return parse(read_file(path, max_bytes), path, source)
