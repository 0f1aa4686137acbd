"""Markdown, with optional YAML front matter (title, date, url, lang, publisher)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from ..decode import decode_text
from ..meta import normalize_date
from ..types import Document
from .common import META_LIMITS, LoaderWarning, clean_text, make_document

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FIELDS = ("title", "date", "url", "lang", "publisher")
# metadata is a few short lines; more is not front matter worth parsing
MAX_FRONT_MATTER = 64 * 1024
_WITHOUT = "ingested without its title, date and other metadata"


class _RefusedAlias(yaml.YAMLError):
    pass


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases and without timestamps. An alias repeats a node: 352 bytes of
    nested aliases made a title of millions of items (522 MB in the store). A timestamp that is
    no date (2026-02-30) raised ValueError in the constructor and the file was skipped; as text
    it is checked by ``normalize_date`` and dropped with a warning."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _RefusedAlias("YAML aliases are not allowed in front matter")
        return super().compose_node(parent, index)


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _front_matter(block: str) -> tuple[dict[str, Any], list[str]]:
    """The metadata fields of a front matter block, and warnings about what was left out."""
    if len(block) > MAX_FRONT_MATTER:
        return {}, [f"front matter is over {MAX_FRONT_MATTER // 1024} KB; {_WITHOUT}"]
    try:
        parsed = yaml.load(block, Loader=_FrontMatterLoader)  # a SafeLoader
    except _RefusedAlias as exc:
        return {}, [f"{exc}; {_WITHOUT}"]
    except yaml.YAMLError as exc:
        return {}, [f"front matter is not valid YAML ({exc.__class__.__name__}); {_WITHOUT}"]
    except (ValueError, TypeError, RecursionError) as exc:  # an explicit !!timestamp, say
        return {}, [f"front matter cannot be read ({exc.__class__.__name__}); {_WITHOUT}"]
    if not isinstance(parsed, dict):
        return {}, []
    meta: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in parsed.items():
        name = str(key).lower()
        if name not in _FIELDS or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
            warnings.append(f"front matter '{name}' is not a text; ingested without it")
            continue
        text = str(value).strip()
        limit = META_LIMITS.get(name)
        if limit and len(text) > limit:
            warnings.append(
                f"front matter '{name}' is longer than {limit} characters; cut to {limit}"
            )
            text = text[:limit]
        if name == "date" and text and normalize_date(text) is None:
            warnings.append(
                f"front matter date '{text[:40]}' is not a date; ingested without a date"
            )
            continue
        meta[name] = text
    return meta, warnings


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    text = clean_text(decode_text(data))
    meta: dict[str, Any] = {}
    problems: list[str] = []
    m = _FRONT.match(text)
    if m:
        meta, warnings = _front_matter(m.group(1))
        # the document is still ingested (without that metadata): warnings, not skips
        problems.extend(LoaderWarning(w) for w in warnings)
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
        title=title or None,
        date=meta.get("date"),
        url=meta.get("url") or None,
        lang=meta.get("lang") or None,
        publisher=meta.get("publisher") or None,
    )
    return [doc], problems
