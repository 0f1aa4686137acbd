"""PDF: the text layer page by page; each page's start offset is kept for page numbers."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from fundstelle.core.errors import SkipFile

from ..types import Document
from .common import clean_text, make_document


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip().startswith(b"%PDF"):
        raise SkipFile("not a PDF file (no %PDF header)")
    # pypdf logs every recoverable defect; the summary reports what matters
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF; decrypt it first")
        pages = [clean_text(page.extract_text() or "").strip() for page in reader.pages]
        meta = reader.metadata
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise SkipFile(f"broken PDF ({exc.__class__.__name__}: {str(exc)[:80]})") from exc
    text = ""
    starts: list[int] = []
    for page_text in pages:
        if text:
            text += "\n\n"
        starts.append(len(text))
        text += page_text
    if not text.strip():
        raise SkipFile("PDF has no text layer (scanned?); run OCR first")
    title = meta.title if meta and meta.title else None
    date = meta.creation_date if meta else None
    return [
        make_document(text, path, source, sha256, title=title, date=date, page_starts=tuple(starts))
    ], []
