"""Sentence boundaries with character offsets, for German and English news text.

Rule-based on purpose: it must be fast (every chunk and every question goes through it), keep
exact offsets, and know that "Dr.", "z. B.", "e.g." or "am 7. Januar" do not end a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .lexicon import month_numbers

# Lower-cased, without the final period. Words that often *end* sentences ("etc", "usw") are left
# out: a capitalised word after them is more likely a new sentence.
_ABBREVIATIONS = frozenset(
    [
        "dr",
        "prof",
        "mr",
        "mrs",
        "ms",
        "mme",
        "mlle",
        "sr",
        "jr",
        "st",
        "nr",
        "vol",
        "fig",
        "abb",
        "bzw",
        "ca",
        "vgl",
        "ggf",
        "evtl",
        "inkl",
        "exkl",
        "zzgl",
        "sog",
        "bspw",
        "str",
        "tel",
        "max",
        "min",
        "mio",
        "mrd",
        "bzw",
        "vs",
        "gen",
        "lt",
        "col",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "gov",
        "sen",
        "rep",
        "pres",
        "corp",
        "inc",
        "ltd",
        "co",
        "dept",
        "univ",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "okt",
        "nov",
        "dec",
        "dez",
        "ref",
        "hrsg",
        "bd",
        "jh",
        "jhd",
        "abs",
        "mwst",
        "dipl",
        "ing",
        "med",
        "phil",
        "rer",
        "nat",
        "dt",
        "engl",
        "frz",
        "franz",
        "ital",
        "span",
        "brit",
        "ehem",
        "verh",
        "geb",
        "gest",
    ]
)

# Words after "7." that make the number an ordinal, as in German "am 7. Januar".
_ORDINAL_FOLLOWERS = frozenset(month_numbers()) | frozenset(
    [
        "jahrhundert",
        "jahrhunderts",
        "mal",
        "platz",
        "stock",
        "runde",
        "spieltag",
        "weltkrieg",
        "weltkriegs",
        "liga",
        "klasse",
        "etage",
        "lebensjahr",
        "jahrestag",
        "amendment",
    ]
)

_CLOSERS = "\"'”“»«’)]"
_OPENERS = "\"'„“«»‚‘([¿¡"

# A terminal mark, any closing quotes or brackets, then whitespace.
_END = re.compile(r"([.!?…]+)([" + re.escape(_CLOSERS) + r"]*)(\s+)")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_WORD_BEFORE = re.compile(r"([\w][\w.\-]*)$")


def _is_boundary(text: str, mark: str, closers: str, mark_start: int, next_pos: int) -> bool:
    if next_pos >= len(text):
        return True
    nxt = text[next_pos]
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
        return False
    if mark != "." or closers:
        return True
    m = _WORD_BEFORE.search(text, max(0, mark_start - 40), mark_start)
    if not m:
        return True
    word = m.group(1)
    low = word.lower()
    if "." in word:  # e.g. "e.g", "U.S", "z.B"
        return False
    if low in _ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():  # initials "J. R.", "z. B." parts
        return False
    if word.isdigit() and len(word) <= 2:
        follower = re.match(r"[\w]+", text[next_pos : next_pos + 30])
        if follower and follower.group(0).lower() in _ORDINAL_FOLLOWERS:
            return False
    return True


def _spans_in_block(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    for m in _END.finditer(text, start, end):
        mark_start = m.start(1)
        sentence_end = m.end(2)
        next_pos = m.end(3)
        if _is_boundary(text, m.group(1), m.group(2), mark_start, next_pos):
            if sentence_end > pos:
                yield pos, sentence_end
            pos = next_pos
    if pos < end:
        yield pos, end


# a line that is a heading or a list item by its markup ("== Geschichte ==", "## Results",
# "* item"): its line break ends a sentence. (A short line without markup does not: narrow
# columns of a PDF wrap German prose into short lines whose next word is a capitalised noun.)
_MARKUP_LINE = re.compile(r"[ \t]*(=+[^\n]*=+|#{1,6}\s[^\n]*|[*+•\-]\s[^\n]*)[ \t]*$")
_LINE_BREAK = re.compile(r"\n")


def _line_ends_sentence(text: str, line_start: int, newline: int) -> bool:
    """The line before ``newline`` or the one after it is a heading or list line."""
    after = text.find("\n", newline + 1)
    following = text[newline + 1 : after if after >= 0 else len(text)]
    return bool(
        _MARKUP_LINE.fullmatch(text[line_start:newline]) or _MARKUP_LINE.fullmatch(following)
    )


def _blocks(text: str) -> list[tuple[int, int]]:
    """Blank lines end a block; so does a single line break after a heading or list line."""
    blocks: list[tuple[int, int]] = []
    block_start = 0
    for m in _PARAGRAPH.finditer(text):
        blocks.append((block_start, m.start()))
        block_start = m.end()
    blocks.append((block_start, len(text)))
    out: list[tuple[int, int]] = []
    for b_start, b_end in blocks:
        line_start = b_start
        for m in _LINE_BREAK.finditer(text, b_start, b_end):
            if _line_ends_sentence(text, line_start, m.start()):
                out.append((b_start, m.start()))
                b_start = m.end()
            line_start = m.end()
        out.append((b_start, b_end))
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences of ``text``, whitespace excluded.

    Blank lines always end a sentence, so headlines without a period stand alone; so does the
    line break after a heading or list line ("== Geschichte ==\nOklahoma ...").
    """
    spans: list[tuple[int, int]] = []
    blocks = _blocks(text)
    for b_start, b_end in blocks:
        # trim whitespace at both ends of the block
        while b_start < b_end and text[b_start].isspace():
            b_start += 1
        while b_end > b_start and text[b_end - 1].isspace():
            b_end -= 1
        if b_start >= b_end:
            continue
        for s, e in _spans_in_block(text, b_start, b_end):
            while e > s and text[e - 1].isspace():
                e -= 1
            while s < e and text[s].isspace():
                s += 1
            if s < e:
                spans.append((s, e))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings (convenience over :func:`split_sentences`)."""
    return [text[s:e] for s, e in split_sentences(text)]
