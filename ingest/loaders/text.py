"""Plain text. A leading ``date YYYY-MM-DD`` token is metadata, not text."""

from __future__ import annotations

from pathlib import Path

from ..decode import decode_text
from ..meta import split_leading_date
from ..types import Document
from .common import clean_text, make_document


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    date, body = split_leading_date(clean_text(decode_text(data)))
    return [make_document(body, path, source, sha256, date=date)], []
