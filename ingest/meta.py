"""Small helpers for document metadata: dates, titles from file names, leading date tokens."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_GERMAN = re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})")
_LEADING_DATE = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\s+", re.IGNORECASE)
_NAME_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[ _-]*")


def normalize_date(value: object) -> str | None:
    """An ISO ``YYYY-MM-DD`` for dates like ``2023-11-27T08:45:59+00:00`` or ``07.01.2026``."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    for pattern, order in ((_ISO, (0, 1, 2)), (_GERMAN, (2, 1, 0))):
        m = pattern.search(text)
        if m:
            parts = m.groups()
            y, mo, d = (int(parts[i]) for i in order)
            try:
                return date(y, mo, d).isoformat()
            except ValueError:
                return None
    return None


def split_leading_date(text: str) -> tuple[str | None, str]:
    """Strip a leading ``date YYYY-MM-DD`` metadata token; return (date, remaining text)."""
    m = _LEADING_DATE.match(text)
    if not m:
        return None, text
    return normalize_date(m.group(1)), text[m.end() :]


def date_from_filename(path: Path) -> str | None:
    m = _NAME_DATE.match(path.name)
    return normalize_date(m.group(0)) if m else None


def title_from_filename(path: Path) -> str:
    """``2026-01-07_Koalition-der-Willigen.txt`` -> ``Koalition der Willigen``."""
    stem = _NAME_DATE.sub("", path.stem) or path.stem
    words = re.sub(r"[_\-\s]+", " ", stem).strip()
    return (words[:1].upper() + words[1:]) if words else path.name


def title_from_text(text: str, path: Path, max_len: int = 150) -> str:
    """The first line when it reads like a title, else a title made from the file name."""
    first = text.strip().split("\n", 1)[0].strip().lstrip("#").strip()
    if first and len(first) <= max_len and not first.endswith((".", ",", ";", ":")):
        return first
    return title_from_filename(path)
