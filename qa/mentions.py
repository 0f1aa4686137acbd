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
    out: set[str] = set()
    for publisher in publishers:
        for name in publisher_names(publisher):
            pattern = r"(?<!\w)" + re.escape(name) + r"(?!\w)"
            if any(_written_as_name(m.group(0)) for m in re.finditer(pattern, question, re.I)):
                out.add(publisher)
                break
    return out


def _written_as_name(text: str) -> bool:
    return all(w[0].isupper() or not w[0].isalpha() for w in text.split())


def mentions(question: str, publishers: Iterable[str]) -> Mentions:
    return Mentions(
        frozenset(named_publishers(question, publishers)), frozenset(named_dates(question))
    )
