"""Loaders turn one file into documents. ``load_file`` picks the loader by extension."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fundstelle.core.errors import SkipFile, UnreadableFile

from ..types import Document
from . import html, markdown, odt, pdf, records, text, word
from .common import LoaderWarning


@dataclass
class Loaded:
    """What one file gave: its documents, records inside it that were skipped (``problems``),
    and notes on documents that were ingested all the same (``warnings``)."""

    documents: list[Document]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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
    ".docx": word.load,
    ".odt": odt.load,
}

SUPPORTED = tuple(sorted(LOADERS))


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def unsupported_reason(path: Path) -> str:
    if path.name.startswith(".") and path.name.lower() in LOADERS:
        # Path(".txt").suffix is "": the name is all extension and no name
        return f"the file name {path.name!r} is only an extension; give the file a name, e.g. notes{path.name}"
    return f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"


_READ_BLOCK = 1 << 20
# errors that say nothing about the file's content: its earlier version stays in the store
_TRANSIENT = {errno.EACCES, errno.EPERM, errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ENOMEM}


def _too_big(size: float, max_bytes: int) -> SkipFile:
    return SkipFile(
        f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit "
        "(raise FUNDSTELLE_MAX_FILE_MB to ingest it)"
    )


def read_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file; raise :class:`SkipFile` if it is too big, not a regular file
    (a device, FIFO or socket, also behind a symlink) or cannot be read.

    Special files are never opened (opening a device can have effects of its own); a file is
    opened without blocking and checked again on its descriptor, so a FIFO swapped in after the
    check cannot hang the ingest. At most ``max_bytes + 1`` bytes are read, because ``st_size``
    says 0 for ``/proc`` files and nothing about files that grow while they are read.
    """
    try:
        mode = os.stat(path).st_mode  # follows symlinks: the file that would be read
        if not stat.S_ISREG(mode):
            raise SkipFile(f"not a regular file ({_file_kind(mode)}); only files are read")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SkipFile("symlink loop") from exc
        kind = UnreadableFile if exc.errno in _TRANSIENT else SkipFile
        raise kind(f"cannot read: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile(f"not a regular file ({_file_kind(info.st_mode)}); only files are read")
        if info.st_size > max_bytes:
            raise _too_big(info.st_size, max_bytes)
        parts: list[bytes] = []
        total = 0
        while total <= max_bytes:
            block = os.read(fd, min(_READ_BLOCK, max_bytes + 1 - total))
            if not block:
                break
            parts.append(block)
            total += len(block)
        if total > max_bytes:
            raise _too_big(total, max_bytes)
        return b"".join(parts)
    except OSError as exc:
        kind = UnreadableFile if exc.errno in _TRANSIENT else SkipFile
        raise kind(f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def parse(data: bytes, path: Path, source: str) -> Loaded:
    """Turn a file's bytes into documents; raise :class:`SkipFile` when it cannot be used."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SkipFile(unsupported_reason(path))
    documents, notes = loader(data, path, source, hashlib.sha256(data).hexdigest())
    problems = [n for n in notes if not isinstance(n, LoaderWarning)]
    warnings = [str(n) for n in notes if isinstance(n, LoaderWarning)]
    if not documents and not problems:
        raise SkipFile("no text found")
    return Loaded(documents, problems, warnings)


def load_file(path: Path, source: str, max_bytes: int) -> Loaded:
    """Read and parse one file (keyed as ``source``)."""
    return parse(read_file(path, max_bytes), path, source)
