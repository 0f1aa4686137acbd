"""Article collections: a JSON list (or ``{"articles": [...]}``) or JSON Lines of objects with
``title``, ``body`` (or ``text``/``content``), ``published_at`` (or ``date``), ``url``, ``lang``,
``publisher`` (or ``source``/``site_name``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fundstelle.core.errors import SkipFile

from ..decode import decode_text
from ..types import Document
from .common import clean_text, make_document

_BODY_KEYS = ("body", "text", "content")
_DATE_KEYS = ("published_at", "date", "published")
_PUBLISHER_KEYS = ("publisher", "source", "site_name", "sitename")  # MultiHop-RAG uses "source"


def _records(text: str, path: Path) -> list[tuple[str, Any]]:
    """The records of a collection, each with the name messages give it: ``line N`` of a JSON
    Lines file (as an editor numbers it) or ``record N`` of a JSON list, counted from 1."""
    if path.suffix.lower() == ".jsonl":
        out: list[tuple[str, Any]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append((f"line {n}", json.loads(line)))
                except json.JSONDecodeError:
                    out.append((f"line {n}", ValueError("not valid JSON")))
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if "body" in data or "text" in data:
            return [("record 1", data)]
        if len(lists) == 1:
            return [(f"record {n}", r) for n, r in enumerate(lists[0], 1)]
        raise SkipFile("JSON object without a list of articles")
    if isinstance(data, list):
        return [(f"record {n}", r) for n, r in enumerate(data, 1)]
    raise SkipFile("JSON is neither a list of articles nor an article")


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    records = _records(decode_text(data), path)
    documents: list[Document] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, (name, record) in enumerate(records):
        if isinstance(record, Exception):
            problems.append(f"{name}: {record}")
            continue
        if not isinstance(record, dict):
            problems.append(f"{name}: not an object")
            continue
        body = next((record[k] for k in _BODY_KEYS if isinstance(record.get(k), str)), None)
        if not body or not body.strip():
            problems.append(f"{name}: no body/text field")
            continue
        url = record.get("url") if isinstance(record.get("url"), str) else None
        # the key of a record without url or id stays its 0-based position: changing it would
        # re-key the documents of every store built before
        key = url or record.get("id") or str(i)
        record_source = f"{source}#{key}"
        if record_source in seen:
            problems.append(f"{name}: duplicate url/id {key}")
            continue
        seen.add(record_source)
        record_sha = hashlib.sha256(
            json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        date = next((record[k] for k in _DATE_KEYS if record.get(k)), None)
        title = record.get("title") if isinstance(record.get("title"), str) else None
        lang = record.get("lang") or record.get("language")
        documents.append(
            make_document(
                clean_text(body),
                path,
                record_source,
                record_sha,
                title=title,
                date=date,
                url=url,
                lang=lang if isinstance(lang, str) else None,
                publisher=next(
                    (record[k] for k in _PUBLISHER_KEYS if isinstance(record.get(k), str)), None
                ),
                file=source,
            )
        )
    if not documents and not problems:
        raise SkipFile("no articles found")
    return documents, problems
