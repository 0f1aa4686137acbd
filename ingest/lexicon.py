"""Language knowledge in one place: which words name the same thing in English and German.

Generated from maintained sources rather than kept by hand:
- CLDR through ``babel``: country and territory names, language names (which double as the
  adjectives of many peoples: "Turkish" / "türkisch"), major cities (CLDR's exemplar cities of
  the time zones: "Vienna" / "Wien"), weekdays and months;
- ``num2words``: number words ("zwölf", "twelve", "einundzwanzig").
There is no hand-kept alias table: an acronym names what CLDR's codes and the initials of its
names of several words say ("US", "EU", "UK" from "United Kingdom", "USA" by its prefix "US").

On top of the tables, :func:`skeleton` compares names that differ only by spelling conventions
and endings ("Canadian" / "kanadischen", "Persia" / "Persien"), so a name missing from every
table still matches its counterpart.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from functools import lru_cache

LANGUAGES = ("en", "de")
# the languages answers are written in, by name (prompts say "Answer in German")
LANGUAGE_NAMES = {"en": "English", "de": "German"}

# Endings of adjectives and peoples ("-ische", "-ian") and of country names ("-ien", "-ia"):
# stripped by :func:`skeleton` so that stems compare across the two languages.
_ENDINGS = (
    "ischen", "isches", "ischer", "ischem", "ische", "isch",
    "ians", "ian", "ish", "ese", "ien", "ia", "ern", "er", "en", "es", "em", "e", "an", "s", "y",
)  # fmt: skip


def normal(text: str) -> str:
    """Lower case, ``ß`` as ``ss``, accents and umlauts dropped, inner spaces single."""
    text = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip()


def skeleton(word: str) -> str:
    """A spelling-neutral stem of a name: ``normal`` form without a common ending, then c/k,
    z/s, y/i, ph/f, th/t, v/w and doubled letters unified ("kanadischen" and "Canadian" ->
    "kanad"). Compare two skeletons with :func:`skeletons_match`."""
    w = normal(word)
    for end in _ENDINGS:
        if len(w) - len(end) >= 4 and w.endswith(end):
            w = w[: -len(end)]
            break
    if len(w) > 4 and w[-1] in "aeiou":
        w = w[:-1]  # "Europe" / "Europa"
    w = w.replace("ph", "f").replace("th", "t").replace("ck", "k")
    w = re.sub(r"c(?=[aou]|$)", "k", w)
    w = w.replace("c", "s").replace("z", "s").replace("y", "i").replace("v", "w")
    return re.sub(r"(.)\1+", r"\1", w)


def skeletons_match(a: str, b: str) -> bool:
    """Same skeleton, or one a prefix of the other of at least 4 letters ("ital" /
    "italien")."""
    sa, sb = skeleton(a), skeleton(b)
    short, long_ = sorted((sa, sb), key=len)
    return (len(short) >= 4 and long_.startswith(short)) or (sa == sb and len(sa) >= 3)


def _add(table: dict[str, set[str]], key: str, name: str) -> None:
    name = normal(name)
    if name:
        table.setdefault(name, set()).add(key)


@lru_cache(maxsize=1)
def _names() -> dict[str, set[str]]:
    """Normal form of a name -> the keys of what it names ("T:GB", "L:tr", "C:Europe/Vienna",
    "D:1" for Tuesday, "M:3" for March)."""
    from babel import Locale
    from babel.core import get_global

    table: dict[str, set[str]] = {}
    likely = get_global("likely_subtags")
    for lang in LANGUAGES:
        locale = Locale(lang)
        for code, name in locale.territories.items():
            if str(code).isalpha():  # letters: countries; digits: regions of the world
                _add(table, f"T:{code}", name)
        for code, name in locale.languages.items():
            if "_" in code or len(code) > 3:
                continue
            _add(table, f"L:{code}", name)
            # the language of a country names its people too ("Japanese" / "Japan")
            territory = str(likely.get(code, "")).rsplit("_", 1)[-1]
            if territory.isalpha() and territory.isupper():
                _add(table, f"T:{territory}", name)
        for day, name in locale.days["format"]["wide"].items():
            _add(table, f"D:{day}", name)
        for month, name in locale.months["format"]["wide"].items():
            _add(table, f"M:{month}", name)
        # CLDR's exemplar city of a time zone: its own name where the language differs from
        # the zone id ("Wien"), else the id's last part ("Europe/Vienna" -> "Vienna")
        for zone in zoneinfo.available_timezones():
            if "/" not in zone or zone.startswith(("Etc/", "SystemV/", "US/", "posix", "right")):
                continue
            city = (locale.time_zones.get(zone) or {}).get("city")
            city = city or zone.rsplit("/", 1)[-1].replace("_", " ")
            if not any(ch.isdigit() for ch in city):
                _add(table, f"C:{zone}", city)
    # German names of several words decline: "die Vereinigten Staaten", "der Europäischen Union"
    for name, found in list(table.items()):
        if " " in name:
            inflected = " ".join(w + "n" if w.endswith("e") else w for w in name.split())
            table.setdefault(inflected, set()).update(found)
    return table


@lru_cache(maxsize=1)
def _phrases() -> tuple[str, ...]:
    """Names of several words ("united kingdom", "saudi-arabien"), longest first."""
    return tuple(sorted((n for n in _names() if " " in n or "-" in n), key=len, reverse=True))


def keys(name: str) -> set[str]:
    """What ``name`` names, by the tables (empty when no table has it). German endings of
    adjectives are tolerated: "türkischen" names what "türkisch" names."""
    table = _names()
    n = normal(name)
    if n in table:
        return table[n]
    for end in ("en", "er", "es", "em", "e", "s", "n"):
        if n.endswith(end) and n[: -len(end)] in table:
            return table[n[: -len(end)]]
    return set()


@lru_cache(maxsize=1)
def _by_prefix() -> dict[str, list[str]]:
    """Single-word names of at least four letters, by their first four letters."""
    out: dict[str, list[str]] = {}
    for name in _names():
        if len(name) >= 4 and " " not in name:
            out.setdefault(name[:4], []).append(name)
    return out


def leading_keys(word: str) -> set[str]:
    """What the name a compound starts with names: "Dienstagabend" -> Tuesday, "Nato-Gebiet"
    -> Nato (German joins names and nouns into one word)."""
    n = normal(word)
    found: set[str] = set()
    for name in _by_prefix().get(n[:4], ()):
        if n.startswith(name) and len(name) < len(n):
            found |= _names()[name]
    return found


@lru_cache(maxsize=1)
def _acronyms() -> dict[str, set[str]]:
    """Acronym -> keys: CLDR's two-letter territory codes ("US", "EU", "UN") and the initials of
    its names of several words in both languages ("UK" from "United Kingdom", "VAE" from
    "Vereinigte Arabische Emirate")."""
    from babel import Locale

    out: dict[str, set[str]] = {}
    for lang in LANGUAGES:
        for code, name in Locale(lang).territories.items():
            code = str(code)
            if not code.isalpha():
                continue
            out.setdefault(code.upper(), set()).add(f"T:{code}")
            words = [w for w in re.split(r"[\s-]+", name) if w and w[0].isupper()]
            if len(words) >= 2:
                out.setdefault("".join(w[0] for w in words).upper(), set()).add(f"T:{code}")
    return out


def acronym_keys(word: str) -> set[str]:
    """What an acronym (written in capitals, as a source writes it) names: "UK" -> the United
    Kingdom; one letter more names the same ("USA" -> the United States). Lower-case words
    ("us") name nothing here."""
    if not (2 <= len(word) <= 5 and word.isalpha() and word.isupper()):
        return set()
    table = _acronyms()
    if word in table:
        return table[word]
    return table.get(word[:-1], set()) if len(word) >= 3 else set()


def is_name(word: str) -> bool:
    """The word names a country, language or people, city, weekday or month in a table."""
    return bool(keys(word))


def phrases_in(text: str) -> list[str]:
    """The multi-word names of the tables that occur in ``text`` (normal form)."""
    n = f" {normal(text)} "
    return [p for p in _phrases() if f" {p} " in n]


def same_thing(a: str, b: str) -> bool:
    """Two names name the same thing by the tables ("Großbritannien" / "UK")."""
    ka = keys(a)
    return bool(ka and ka & keys(b))


@lru_cache(maxsize=1)
def _english_of_german() -> dict[str, str]:
    """German name (normal form) -> its English name, for glossing German evidence."""
    from babel import Locale

    out: dict[str, str] = {}
    en, de = Locale("en"), Locale("de")
    pairs: list[tuple[str, str]] = []
    pairs += [(de.territories[c], en.territories[c]) for c in de.territories if c in en.territories]
    pairs += [(de.days["format"]["wide"][d], en.days["format"]["wide"][d]) for d in range(7)]
    pairs += [
        (de.months["format"]["wide"][m], en.months["format"]["wide"][m]) for m in range(1, 13)
    ]
    pairs += [("Großbritannien", "Britain"), ("Europa", "Europe"), ("Amerika", "America")]
    for german, english in pairs:
        if normal(german) != normal(english):
            out.setdefault(normal(german), english)
    return out


def english_name(german: str) -> str | None:
    """The English form of a German country, weekday or month name (with German endings)."""
    table = _english_of_german()
    n = normal(german)
    if n in table:
        return table[n]
    for end in ("s", "n", "en"):
        if n.endswith(end) and n[: -len(end)] in table:
            return table[n[: -len(end)]]
    return None


@lru_cache(maxsize=1)
def month_numbers() -> dict[str, int]:
    """Month names of both languages, wide and abbreviated, lower case, as CLDR spells them and
    without accents ("märz" and "marz", "sept", "okt") -> 1..12."""
    from babel import Locale

    out: dict[str, int] = {}
    for lang in (*LANGUAGES, "de_AT"):  # Austrian German: "Jänner"
        months = Locale.parse(lang).months
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for n, name in months[context][width].items():
                    name = name.lower().rstrip(".")
                    out.setdefault(name, n)
                    out.setdefault(normal(name), n)
    out.setdefault("sept", 9)
    return out


@lru_cache(maxsize=1)
def calendar_words() -> frozenset[str]:
    """Month and weekday names of both languages (CLDR, wide and abbreviated), lower case:
    capitalised like names, they name a time, not a person or body."""
    from babel import Locale

    out = set(month_numbers())
    for lang in LANGUAGES:
        days = Locale.parse(lang).days
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                out |= {d.lower().rstrip(".") for d in days[context][width].values()}
    return frozenset(out)


def date_words(iso: str) -> str:
    """An ISO date's month named in both languages, with day and year ("2023-11-18" ->
    "November 18 2023 18. November 2023"); ``""`` for no date."""
    from babel import Locale

    try:
        year, month, day = (int(x) for x in iso[:10].split("-"))
    except ValueError:
        return ""
    words = [f"{Locale(lang).months['format']['wide'][month]}" for lang in LANGUAGES]
    return f"{words[0]} {day} {year} {day}. {words[1]} {year}"


# --- numbers ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def number_words() -> dict[str, int]:
    """Number words of both languages -> value: 0-100 as words ("einundzwanzig",
    "twenty-one"), the round hundreds and the magnitudes, and ordinals up to 31."""
    from num2words import num2words

    out: dict[str, int] = {}
    values = [*range(0, 101), *range(200, 1000, 100), 1000, 10**6, 10**9]
    for lang in LANGUAGES:
        for v in values:
            for form in {num2words(v, lang=lang), num2words(v, lang=lang).replace("-", " ")}:
                out.setdefault(normal(form), v)
                # "one thousand" / "eintausend" / "eine Million": the bare magnitude too
                bare = re.sub(r"^(one |eine |ein)", "", normal(form))
                if v >= 100 and bare != normal(form):
                    out.setdefault(bare, v)
        for v in range(1, 32):
            out.setdefault(normal(num2words(v, lang=lang, to="ordinal")), v)
    for word in ("ein", "eine", "einen", "einem", "einer", "a", "an"):
        out.pop(word, None)  # articles before they are numbers
    # "Billion" is 10**12 in German and 10**9 in English: the word alone says neither, so it is
    # no number word here (a claim of "1 billion" still needs its digits in the source)
    out.pop("billion", None)
    out.pop("billionen", None)
    out.update({"millionen": 10**6, "milliarde": 10**9, "milliarden": 10**9})
    out.update({"dozen": 12, "dutzend": 12, "half": 50, "hälfte": 50})
    return out


def number_value(word: str) -> int | None:
    """The value of a number word (cardinal or ordinal) in English or German, or ``None``."""
    return number_words().get(normal(word))


@lru_cache(maxsize=1)
def _ordinals() -> frozenset[str]:
    from num2words import num2words

    return frozenset(
        normal(num2words(v, lang=lang, to="ordinal")) for lang in LANGUAGES for v in range(1, 32)
    )


def cardinal_value(word: str) -> int | None:
    """Like :func:`number_value` for cardinals only: "second" is also a unit of time, and
    "zweitgrößte" says "second" without the word."""
    n = normal(word)
    return None if n in _ordinals() else number_words().get(n)


# quantity words that go with a magnitude: "mehrere tausend" (several thousand)
QUANTIFIERS = {"mehrere": "several", "einige": "some", "wenige": "a few", "viele": "many"}


# "several thousand", "mehrere tausend", "Tausende": a magnitude asserted without digits
MAGNITUDES = {100: "hundred", 1000: "thousand", 10**6: "million", 10**9: "billion"}


def magnitude(word: str) -> int | None:
    """100, 1000, 10**6 or 10**9 for a magnitude word in either language and number
    ("thousands", "Tausende", "Millionen"), else ``None``."""
    n = normal(word)
    for stem in (n, n[:-1] if n.endswith(("s", "n", "e")) else n, n[:-2]):
        v = number_words().get(stem)
        if v in MAGNITUDES:
            return v
    return None
