"""Sources and dates a question names ("According to TechCrunch on October 4, 2023, ...").

A reader who names a publisher or a date means the articles of that publisher or day; word
matching only sees the name as one more keyword. The retriever puts passages that match what the
question names ahead of the others (see ``Retriever.search``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fundstelle.ingest.lexicon import month_numbers

_MONTHS = month_numbers()  # CLDR, both languages, wide and abbreviated
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_DAY_YEAR = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I
)
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.I
)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


@dataclass(frozen=True)
class Mentions:
    """Publishers (as the store spells them) and ISO dates that a question names."""

    publishers: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.publishers or self.dates)

    def matches(self, publisher: str | None, date: str | None) -> int:
        """How many of the named things a passage has: its publisher, its day (0, 1 or 2)."""
        return int(publisher in self.publishers) + int(bool(date) and date[:10] in self.dates)


def named_dates(question: str) -> set[str]:
    """ISO dates written out in the question: "October 4, 2023", "4. Oktober 2023", "2023-10-04"."""
    out: set[str] = set()
    for month, day, year in _MONTH_DAY_YEAR.findall(question):
        out.add(_iso(year, _MONTHS[month.lower()], day))
    for day, month, year in _DAY_MONTH_YEAR.findall(question):
        out.add(_iso(year, _MONTHS[month.lower()], day))
    for year, month, day in _ISO.findall(question):
        out.add(_iso(year, int(month), day))
    return {d for d in out if d}


def _iso(year: str, month: int, day: str) -> str:
    d = int(day)
    return f"{int(year):04d}-{month:02d}-{d:02d}" if 1 <= month <= 12 and 1 <= d <= 31 else ""


def publisher_names(publisher: str) -> set[str]:
    """The ways a question may name a publisher: in full, or its part before " - " or " | "
    ("The Independent - Sports" -> "The Independent")."""
    names = {publisher.strip()}
    for sep in (" - ", " | "):
        if sep in publisher:
            names.add(publisher.split(sep, 1)[0].strip())
    return {n for n in names if len(n) >= 3}


def named_publishers(question: str, publishers: Iterable[str]) -> set[str]:
    """The publishers of the store that the question names. Names are matched as words and
    must be written as names (each word capitalised, or in capitals): "The Age" is a publisher,
    "the age of" is not."""
    return {publisher for _, _, publisher in _mentions_of(question, publishers)}


def _mentions_of(question: str, publishers: Iterable[str]) -> list[tuple[int, int, str]]:
    """Where the question names each publisher (start, end, publisher), in any of its names,
    written as a name."""
    found: list[tuple[int, int, str]] = []
    for publisher in publishers:
        for name in publisher_names(publisher):
            pattern = r"(?<!\w)" + re.escape(name) + r"(?!\w)"
            for m in re.finditer(pattern, question, re.I):
                if _written_as_name(m.group(0)):
                    found.append((m.start(), m.end(), publisher))
    return found


# function words that stand lower-case inside a name ("The Independent - Life and Style")
_NAME_INNER = frozenset(["and", "of", "the", "for", "on", "und", "der", "die", "das", "für", "de"])


def _written_as_name(text: str) -> bool:
    words = text.split()
    return bool(words) and all(
        w[0].isupper() or not w[0].isalpha() or (0 < i < len(words) - 1 and w in _NAME_INNER)
        for i, w in enumerate(words)
    )


def mentions(question: str, publishers: Iterable[str]) -> Mentions:
    return Mentions(
        frozenset(named_publishers(question, publishers)), frozenset(named_dates(question))
    )


# --- what each named source is said to say ----------------------------------------------------

# nouns that follow a source's name when the claim comes after it ("the TechCrunch article
# suggests that ..."), a closed class of English and German words for a piece of journalism
_PIECE = re.compile(
    r"^\W*(?:'s\s+)?(?:\w+\s+){0,2}?(article|articles|report|reports|piece|story|stories|coverage|"
    r"post|column|op-ed|feature|interview|review|artikel|bericht|beitrag|meldung)\b",
    re.I,
)


@dataclass(frozen=True)
class SourceClaim:
    """A claim that a question attributes to one named publisher ("Does the Fortune article
    suggest that X, while the TechCrunch article says Y?" -> (Fortune, "suggest that X"))."""

    publisher: str
    text: str

    def question(self) -> str:
        """The claim as a yes/no question about its source, for the judge."""
        return f"Does the {self.publisher} article say: {self.text}?"


def source_claims(question: str, publishers: Iterable[str]) -> list[SourceClaim]:
    """The claims a question attributes to the publishers it names, one per mention, in order:
    the words after a mention followed by "article", "report" etc., else the words before it
    ("... as reported by TechCrunch"). Empty unless at least two mentions each get words."""
    found = _mentions_of(question, publishers)
    # the longest name at a place ("The Independent - Life and Style" over "The Independent")
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    mentions_: list[tuple[int, int, str]] = []
    for start, end, publisher in found:
        if mentions_ and start < mentions_[-1][1]:
            continue
        mentions_.append((start, end, publisher))
    if len(mentions_) < 2:
        return []
    bounds = [0] + [x for s, e, _ in mentions_ for x in (s, e)] + [len(question)]
    # segment i lies between mention i-1 and mention i (segment 0 before the first)
    segments = [question[bounds[2 * i] : bounds[2 * i + 1]] for i in range(len(mentions_) + 1)]
    used: set[int] = set()
    out: list[SourceClaim] = []
    for i, (_, end, publisher) in enumerate(mentions_):
        after = _PIECE.match(question[end : end + 40])
        seg = i + 1 if after else i
        if seg in used:
            continue
        text = _claim_words(segments[seg], leading=bool(after))
        if len(text.split()) < 3:
            continue
        used.add(seg)
        out.append(SourceClaim(publisher, text))
    return out if len(out) >= 2 else []


_CONNECTIVE = (
    r"article|articles|report|reports|piece|story|stories|coverage|published|on|by|from|the|a|"
    r"an|and|while|whereas|but|as|reported|according|to|in|of|both|also|contrast|compared|with|"
    r"does|do|did|is|are|was|were|has|have|had|artikel|bericht|der|die|das|und|während|laut"
)
_EDGE_WORDS = re.compile(
    rf"^(?:'s\b|[\W_]+|(?:{_CONNECTIVE})\b)+|(?:[\W_]+|\b(?:{_CONNECTIVE}))+$", re.I
)


def _claim_words(segment: str, leading: bool) -> str:
    """A segment without the connecting words at its edges."""
    text = _EDGE_WORDS.sub("", segment.strip()) if leading else segment.strip()
    text = _EDGE_WORDS.sub("", text)
    return re.sub(r"\s+", " ", text).strip(" ,;:?'\"")
