"""Markdown, with optional YAML front matter (title, date, url, lang, publisher)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..decode import decode_text
from ..types import Document
from .common import LoaderWarning, clean_text, make_document

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    text = clean_text(decode_text(data))
    meta: dict[str, object] = {}
    problems: list[str] = []
    m = _FRONT.match(text)
    if m:
        try:
            parsed = yaml.safe_load(m.group(1))
        except yaml.YAMLError as exc:
            # the document is still ingested (without that metadata): a warning, not a skip
            problems.append(
                LoaderWarning(
                    f"front matter is not valid YAML ({exc.__class__.__name__}); "
                    "ingested without its title, date and other metadata"
                )
            )
            parsed = None
        if isinstance(parsed, dict):
            meta = {str(k).lower(): v for k, v in parsed.items()}
        text = text[m.end() :]
    title = meta.get("title")
    if not title:
        heading = _HEADING.search(text[:2000])
        title = heading.group(1) if heading else None
    doc = make_document(
        text,
        path,
        source,
        sha256,
        title=str(title) if title else None,
        date=meta.get("date"),
        url=str(meta["url"]) if meta.get("url") else None,
        lang=str(meta["lang"]) if meta.get("lang") else None,
        publisher=str(meta["publisher"]) if meta.get("publisher") else None,
    )
    return [doc], problems
