"""HTML: the main text only (trafilatura drops navigation, ads, footers), title and date from meta."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

from fundstelle.core.errors import SkipFile

from ..decode import decode_text
from ..types import Document
from .common import clean_text, make_document

_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w\-]+)""", re.IGNORECASE)
_SKIP_TAGS = {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "form"}
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "section",
    "article",
}


class _TextOnly(HTMLParser):
    """Fallback for pages too small for trafilatura's heuristics: visible text, blocks kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self.skip_depth:
            self.skip_depth -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self.skip_depth:
            self.parts.append(data)

    def text(self) -> str:
        joined = "".join(self.parts)
        joined = re.sub(r"[ \t]+", " ", joined)
        return re.sub(r"\s*\n\s*\n\s*", "\n\n", joined).strip()


def _decode(data: bytes) -> str:
    m = _CHARSET.search(data[:4096])
    if m:
        try:
            codecs.lookup(m.group(1).decode("ascii"))
            return data.decode(m.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    import trafilatura

    markup = _decode(data)
    if not markup.strip():
        raise SkipFile("empty file")
    extracted = trafilatura.bare_extraction(markup, with_metadata=True, favor_recall=True)
    fallback = _TextOnly()
    fallback.feed(markup)
    text = (extracted.text or "") if extracted is not None else ""
    # trafilatura puts one block per line; blank lines make blocks sentence boundaries
    text = re.sub(r"\n+", "\n\n", clean_text(text)).strip() if text.strip() else fallback.text()
    title = (extracted.title if extracted is not None else None) or fallback.title.strip() or None
    date = extracted.date if extracted is not None else None
    url = extracted.url if extracted is not None else None
    lang = extracted.language if extracted is not None else None
    publisher = extracted.sitename if extracted is not None else None
    return [
        make_document(
            text,
            path,
            source,
            sha256,
            title=title,
            date=date,
            url=url,
            lang=lang,
            publisher=publisher,
        )
    ], []
