"""Sentence-aware chunking with overlap; every chunk keeps exact offsets into its document."""

from __future__ import annotations

import re

from .sentences import split_sentences
from .types import Chunk, Document

_SPACE = re.compile(r"\s+")


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at whitespace into pieces of at most ``size`` chars."""
    out: list[tuple[int, int]] = []
    pos = start
    while end - pos > size:
        cut = pos + size
        space = None
        for m in _SPACE.finditer(text, pos + size // 2, cut):
            space = m
        if space is None:  # no whitespace at all: hard cut
            out.append((pos, cut))
            pos = cut
        else:
            out.append((pos, space.start()))
            pos = space.end()
    if pos < end:
        out.append((pos, end))
    return out


def sentence_units(text: str, size: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text``, over-long ones split so none exceeds ``size``."""
    units: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        if e - s > size:
            units.extend(_pieces(text, s, e, size))
        else:
            units.append((s, e))
    return units


def chunk_spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Pack whole sentences into spans of about ``size`` characters.

    Each chunk after the first repeats the last ``overlap`` sentences of the one before, as long
    as that still leaves room for new text, so a fact split across a boundary is still found.
    """
    units = sentence_units(text, size)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= size:
            j += 1
        spans.append((units[i][0], units[j][1]))
        if j + 1 >= len(units):
            break
        nxt = max(j + 1 - overlap, i + 1)
        # an overlap that would fill the next chunk by itself is dropped
        while nxt <= j and units[j + 1][1] - units[nxt][0] > size:
            nxt += 1
        i = nxt
    return spans


def chunk_document(document: Document, size: int, overlap: int) -> list[Chunk]:
    text = document.text
    return [
        Chunk(
            doc_id=document.doc_id,
            index=n,
            text=text[start:end],
            start=start,
            end=end,
            source=document.source,
            title=document.title,
            date=document.date,
            url=document.url,
            lang=document.lang,
            page=document.page_at(start),
            publisher=document.publisher,
        )
        for n, (start, end) in enumerate(chunk_spans(text, size, overlap))
    ]
