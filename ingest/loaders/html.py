"""HTML: the main text only (trafilatura drops navigation, ads, footers), title and date from meta."""

from __future__ import annotations

import codecs
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from fundstelle.core.errors import SkipFile

from ..decode import decode_text
from ..meta import normalize_date
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


# <meta name|property|itemprop=...> that give the date a page was published
_DATE_META = {
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "published_time",
    "datepublished",
    "datecreated",
    "date",
    "dc.date",
    "dc.date.issued",
    "dc.date.created",
    "dcterms.date",
    "dcterms.issued",
    "dcterms.created",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "citation_publication_date",
    "citation_date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
}
_LD_DATE_KEYS = ("datePublished", "dateCreated")


def _ld_date(data: object) -> str | None:
    """The first datePublished (or dateCreated) in a JSON-LD value."""
    if isinstance(data, dict):
        for key in _LD_DATE_KEYS:
            if isinstance(data.get(key), str):
                return str(data[key])
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            found = _ld_date(item)
            if found:
                return found
    return None


class _TextOnly(HTMLParser):
    """Fallback for pages too small for trafilatura's heuristics: visible text, blocks kept apart.
    Also collects the publication dates the markup declares (meta tags, JSON-LD, <time pubdate>):
    the only dates a page gets, never one guessed from its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.title = ""
        self._in_title = False
        self.dates: list[str] = []  # in order of preference, see date()
        self._ld_dates: list[str] = []
        self._in_ld = False
        self._ld = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            names = {a.get(k, "").strip().lower() for k in ("name", "property", "itemprop")}
            if names & _DATE_META and a.get("content"):
                self.dates.append(a["content"])
        elif tag == "time" and a.get("datetime"):
            if "pubdate" in a or a.get("itemprop", "").lower() in ("datepublished", "datecreated"):
                self.dates.append(a["datetime"])
        elif tag == "script" and a.get("type", "").lower() == "application/ld+json":
            self._in_ld, self._ld = True, ""
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_ld:
            self._in_ld = False
            try:
                found = _ld_date(json.loads(self._ld))
            except (ValueError, RecursionError):
                found = None
            if found:
                self._ld_dates.append(found)
        if tag in _SKIP_TAGS and self.skip_depth:
            self.skip_depth -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self._ld += data
        elif self._in_title:
            self.title += data
        elif not self.skip_depth:
            self.parts.append(data)

    def date(self) -> str | None:
        """The page's declared publication date: JSON-LD first, then meta tags and <time>."""
        for value in self._ld_dates + self.dates:
            day = normalize_date(value)
            if day:
                return day
        return None

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
    # no date search in the text: a page without date metadata got 2025-01-01 from the words
    # "February 2025"; the date is taken from the markup's metadata below
    extracted = trafilatura.bare_extraction(
        markup,
        with_metadata=True,
        favor_recall=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    fallback = _TextOnly()
    fallback.feed(markup)
    text = (extracted.text or "") if extracted is not None else ""
    # trafilatura puts one block per line; blank lines make blocks sentence boundaries
    text = re.sub(r"\n+", "\n\n", clean_text(text)).strip() if text.strip() else fallback.text()
    title = (extracted.title if extracted is not None else None) or fallback.title.strip() or None
    date = fallback.date()
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
