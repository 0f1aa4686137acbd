"""Shared by the loaders: build a ``Document`` with clean text and complete metadata."""

from __future__ import annotations

from pathlib import Path

from fundstelle.core.errors import SkipFile

from ..language import detect_language
from ..meta import date_from_filename, normalize_date, title_from_text
from ..types import Document

# longest metadata values kept: they are stored with every chunk and shown in every citation
# (a title of 45 MB from a YAML alias bomb made the store 522 MB and an answer 68 s)
META_LIMITS = {"title": 300, "publisher": 200, "url": 2048}


def _cap(value: str | None, field: str) -> str | None:
    return value[: META_LIMITS[field]] if value else value


# office files are zip archives: one that unpacks to more than this is refused before it is read
# (a zip bomb of a few MB unpacks to gigabytes)
MAX_UNPACKED = 512 * 1024 * 1024


def check_zip(data: bytes, kind: str) -> None:
    """Raise :class:`SkipFile` unless ``data`` is a zip archive of sane unpacked size."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SkipFile(f"broken {kind} file (not a zip archive: {exc})") from exc
    if unpacked > MAX_UNPACKED:
        raise SkipFile(
            f"{kind} file unpacks to {unpacked / 1e6:,.0f} MB, over the "
            f"{MAX_UNPACKED / 1e6:,.0f} MB limit"
        )


class LoaderWarning(str):
    """A problem a loader reports that did not stop the document from being ingested (front
    matter ignored, say): shown as a warning, not as a skipped file."""


def clean_text(text: str) -> str:
    """Normalise line ends so offsets do not depend on the platform that wrote the file."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def make_document(
    text: str,
    path: Path,
    source: str,
    sha256: str,
    *,
    title: str | None = None,
    date: object = None,
    url: str | None = None,
    lang: str | None = None,
    page_starts: tuple[int, ...] = (),
    publisher: str | None = None,
    file: str | None = None,
) -> Document:
    """A document of ``text``; ``file`` is the key of the file it came from where that is not
    ``source`` (the records of a collection)."""
    if not text.strip():
        raise SkipFile("no text found")
    return Document(
        source=source,
        text=text,
        title=_cap((title or "").strip() or title_from_text(text, path), "title") or "",
        sha256=sha256,
        date=normalize_date(date) or date_from_filename(path),
        url=_cap(url, "url") or None,
        lang=(lang or "").strip().lower()[:2] or detect_language(text),
        page_starts=page_starts,
        publisher=_cap((publisher or "").strip(), "publisher") or None,
        file=file or source,
    )
