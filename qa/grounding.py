"""Are the names, numbers and dates of an answer sentence in the quotes it cites?

A small model translating German evidence into an English answer slips on exactly these
("Großbritannien" becomes "Germany"), an answer from general knowledge ("Canberra") brings names
no source has, and an answer that takes over a question's false premise ("How many soldiers will
Italy send?") repeats a name its quote does not have. Embedding similarity notices none of these,
so each name and number is checked on its own: spelled the same, inflected ("Trumps"), spelled
the other language's way ("Zelensky" / "Selenskyj", "Canadian" / "kanadische"), or naming the
same country, people, city, weekday or month by CLDR's tables (:mod:`ingest.lexicon`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from fundstelle.ingest import lexicon
from fundstelle.ingest.bm25 import _stopwords
from fundstelle.ingest.language import question_language
from fundstelle.ingest.types import Chunk

from .question import AUXILIARIES_EN

_WORD = re.compile(r"[^\W_][\w\-'’]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
# particles inside names: "Thomas de Maizière", "Ursula von der Leyen", "Bank of England"
_PARTICLES = frozenset({"de", "von", "van", "der", "den", "la", "le", "du", "di", "da", "of", "al"})


def has_word(text: str) -> bool:
    """Two letters in a row: a word, not a list number ("1.") or a lone letter ("B")."""
    return _LETTERS.search(text) is not None


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """Words that are capitalised at a sentence start without being names: the stop words of
    both languages, question words (the keyword index keeps those) and the number words."""
    return frozenset(_stopwords()) | _QUESTION_WORDS | frozenset(lexicon.number_words())


_QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "wer",
        "wen",
        "wem",
        "wessen",
        "was",
        "welche",
        "welcher",
        "welches",
        "welchen",
        "wann",
        "wo",
        "wie",
        "warum",
        "wieso",
        "weshalb",
    ]
)


@dataclass(frozen=True)
class Claim:
    """A name (one or more words) or a number that a sentence asserts."""

    text: str
    kind: str  # "name", "number" or "magnitude"
    words: tuple[str, ...] = ()


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _acronym(word: str) -> bool:
    """ "NATO", "EU", "G7", "F-35"; not "WHen" (a typo) or "McDonald" (a name the runs find)."""
    letters = [ch for ch in word if ch.isalpha()]
    if any(ch.isdigit() for ch in word):
        return bool(letters)
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def claims(sentence: str, lang: str | None = None) -> list[Claim]:
    """The names and numbers ``sentence`` asserts.

    Names: runs of capitalised words (with particles such as "de" inside). In English every
    capitalised word that is not a function word counts; German capitalises every noun, so
    there a word counts when a table knows it as a name, when it is an acronym, or when it
    follows another capitalised word ("Präsident Macron", "Keir Starmer"). Numbers: digits,
    number words, and magnitudes ("several thousand", "Tausende")."""
    lang = lang or (question_language(sentence) if sentence else "en")
    function = _function_words()
    out: list[Claim] = []
    for m in _NUMBER.finditer(sentence):
        out.append(Claim(m.group(0), "number"))
    words = [(_bare(m.group(0)), m.start(), m.end()) for m in _WORD.finditer(sentence)]
    run: list[str] = []

    def close() -> None:
        while run and run[-1].lower() in _PARTICLES:
            run.pop()
        if run:
            out.append(Claim(" ".join(run), "name", tuple(run)))
        run.clear()

    previous_capital = False
    for i, (word, start, _end) in enumerate(words):
        low = word.lower()
        if i and sentence[words[i - 1][2] : start].strip():
            close()  # a comma or "&" ends a name: "Deutschland, Frankreich" are two
        if not word or word[0].isdigit():
            close()
            previous_capital = False
            continue
        if lexicon.magnitude(word):
            out.append(Claim(word, "magnitude"))
            close()
            previous_capital = False
            continue
        if (value := lexicon.cardinal_value(word)) is not None and value > 1:
            out.append(Claim(word, "number"))
        capital = _is_capitalised(word)
        if not capital:
            if low in _PARTICLES and run:
                run.append(word)
            else:
                close()
            previous_capital = False
            continue
        known = lexicon.is_name(word) or _acronym(word)
        following = i + 1 < len(words) and _is_capitalised(words[i + 1][0])
        if lang == "de":
            name = known or (
                previous_capital and low not in function and i > 0 and not _german_noun(word)
            )
        elif i == 0:
            # capitalised because it starts the sentence: a name only when a table knows it or
            # a name goes on ("Emmanuel Macron said"); "Several thousand ..." is none, nor the
            # auxiliary of a yes/no question ("Does 'The Age' report ...": not every stop word
            # list has "does"; "May" inside a sentence stays a name)
            name = known or (following and low not in function and low not in AUXILIARIES_EN)
        else:
            name = low not in function
        if name:
            run.append(word)
        else:
            close()
        previous_capital = capital and low not in function
    close()
    return out


def _bare(word: str) -> str:
    """A word without the apostrophes and hyphens at its edges and without the English
    possessive: "James Hutton's" names James Hutton, "BSkyB's" BSkyB."""
    return re.sub(r"['’]s$", "", word).strip("'’-")


# German capitalises every noun, so two capitalised words in a row ("die Römer Angst", "wollen
# Paläoklimatologen Daten") are often two nouns, not a name. A word far more frequent in German
# than in English text is a noun of the language ("Angst", "Daten", "Anfang"); a name is about
# as frequent in both ("Trump", "Macron", "Manning"), and so are nouns both languages share
# ("Union", "Line"), which stay names.
_NOUN_ZIPF = 4.0
_NOUN_GAP = 1.0


@lru_cache(maxsize=65536)
def _german_noun(word: str) -> bool:
    from wordfreq import zipf_frequency

    low = word.lower()
    de = zipf_frequency(low, "de")
    return de >= _NOUN_ZIPF and de - zipf_frequency(low, "en") >= _NOUN_GAP


# --- the sources' side ------------------------------------------------------------------------


@dataclass
class SourceText:
    """The words, numbers and magnitudes of some quotes, prepared for lookups."""

    text: str

    def __post_init__(self) -> None:
        tokens = [w.strip("'’-") for w in _WORD.findall(self.text)]
        self.words = [w.lower() for w in tokens]
        self.word_set = set(self.words)
        # names are compared case-sensitively: only a capitalised word (or one in capitals)
        # of the source backs a name ("may" backs no "May", "us" no "US")
        self.name_words = {w.lower() for w in tokens if w[:1].isupper()}
        # German adjectives of names are written in lower case ("kanadische", "europäischen"):
        # they back a name by the spelling rules below, never by equality ("may" stays no May)
        self.adjectives = {
            w.lower() for w in tokens if not w[:1].isupper() and _NAME_ADJECTIVE.search(w.lower())
        }
        self.numbers = {_digits(n) for n in _NUMBER.findall(self.text)}
        # number words below a hundred only: "mehrere tausend" (several thousand) is no 1,000
        self.numbers |= {
            str(v) for w in self.words if (v := lexicon.number_value(w)) is not None and v < 100
        }
        self.magnitudes = {v for w in self.words if (v := lexicon.magnitude(w))}
        self.phrases = lexicon.phrases_in(self.text)
        # what each word names by the tables, looked up once for all claims checked here; a
        # lower-case word names a country or language only (German adjectives: "französische"),
        # never a month, weekday or city ("may", "nice")
        self.word_keys: dict[str, set[str]] = {}
        for w in set(tokens):
            found = lexicon.keys(w) or lexicon.leading_keys(w)
            if not w[:1].isupper():
                found = {k for k in found if k.startswith(("T:", "L:"))}
            found |= lexicon.acronym_keys(w)
            if found:
                self.word_keys.setdefault(w.lower(), set()).update(found)
        self.keys: set[str] = set().union(*self.word_keys.values()) if self.word_keys else set()
        for p in self.phrases:
            self.keys |= lexicon.keys(p)


# the endings of a German adjective made from a name: kanad-isch-e, europ-äisch-en
_NAME_ADJECTIVE = re.compile(r"[a-zäöüß]{3,}(isch|ländisch)(e|en|er|es|em)?$")


def _digits(number: str) -> str:
    return re.sub(r"[.,]", "", number)


def _word_grounded(word: str, src: SourceText) -> bool:
    low = word.lower()
    if low in src.name_words:
        return True
    own = lexicon.keys(low) | lexicon.acronym_keys(word)
    if own & src.keys:
        return True
    if lexicon.acronym_keys(word) or (word.isupper() and len(word) <= 5):
        # an acronym: spelled the same, or the first part of a compound ("US-Präsident")
        return any(w.startswith(low + "-") for w in src.name_words)
    # the spelling rules below never equate two names that the tables tell apart
    # ("Austria" / "Australien", "Slovakia" / "Slowenien")
    words = [
        w
        for w in src.name_words | src.adjectives
        if not (own and src.word_keys.get(w) and not own & src.word_keys[w])
    ]
    if len(low) >= 4 and any(
        w.startswith(low) or (len(w) >= 4 and low.startswith(w) and len(low) - len(w) <= 3)
        for w in words
    ):
        return True  # inflection and compounds' first part: "Trumps", "Ministerpräsidentin"
    if len(low) >= 6 and any(len(w) > len(low) and low in w for w in words):
        return True  # a part of a German compound: "Minister" / "Premierministerin"
    if len(low) >= 4 and any(lexicon.skeletons_match(low, w) for w in words if len(w) >= 4):
        return True  # "Canadian" / "kanadische", "Persia" / "Persien"
    if len(low) < 5:
        return False
    # transliterations: "Zelensky" / "Selenskyj"; on the skeletons, "Huguenots" / "Hugenotten";
    # and the last part of a German compound: "Britain" / "Großbritannien"
    sk = lexicon.skeleton(low)
    return any(
        (
            abs(len(w) - len(low)) <= 3
            and (
                SequenceMatcher(None, low, w).ratio() >= 0.78
                or SequenceMatcher(None, sk, lexicon.skeleton(w)).ratio() >= 0.85
            )
        )
        or _compound_head(sk, w)
        for w in words
    )


def _compound_head(skeleton: str, word: str) -> bool:
    """``word`` ends in a name whose skeleton is ``skeleton`` ("großbritannien" ends in
    "britannien", skeleton "britan", as "Britain" has)."""
    if len(word) < len(skeleton) + 3:
        return False
    for cut in range(3, len(word) - 3):
        tail = lexicon.skeleton(word[cut:])
        if (
            abs(len(tail) - len(skeleton)) <= 1
            and SequenceMatcher(None, skeleton, tail).ratio() >= 0.85
        ):
            return True
    return False


def _name_grounded(claim: Claim, src: SourceText) -> bool:
    """A name of several words is grounded when the sources name the same thing by a table
    ("United Kingdom" / "Großbritannien") or when one of its distinctive words stands there
    ("Steve Witkoff" / "Witkoff")."""
    whole = lexicon.keys(claim.text)
    if whole and whole & src.keys:
        return True
    distinctive = _distinctive(claim.words) or list(claim.words)
    return any(_word_grounded(w, src) for w in distinctive)


def _distinctive(name_words: tuple[str, ...]) -> list[str]:
    """The words of a name that tell it apart: no particle ("von", "of"), no function word."""
    function = _function_words()
    return [w for w in name_words if w.lower() not in _PARTICLES and w.lower() not in function]


def _number_grounded(claim: Claim, src: SourceText) -> bool:
    if claim.kind == "magnitude":
        value = lexicon.magnitude(claim.text) or 0
        return value in src.magnitudes or any(
            n.isdigit() and int(n) >= value for n in src.numbers if len(n) < 16
        )
    digits = _digits(claim.text)
    if digits in src.numbers:
        return True
    value = lexicon.cardinal_value(claim.text)
    return value is not None and str(value) in src.numbers


def ungrounded_claims(claims_: list[Claim], sources: list[str]) -> list[str]:
    """The claims that none of ``sources`` backs."""
    src = SourceText(" ".join(sources))
    missing = []
    for c in claims_:
        ok = _name_grounded(c, src) if c.kind == "name" else _number_grounded(c, src)
        if not ok:
            missing.append(c.text)
    return missing


# a word this frequent in the language is a word of it ("Minister", "Royal"), not only a name
_COMMON_ZIPF = 3.5


@lru_cache(maxsize=65536)
def _common_word(word: str, language: str) -> bool:
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), language) >= _COMMON_ZIPF


def added_name_words(said: list[Claim], original: str, language: str) -> list[str]:
    """Words of the names among ``said`` (a translation's claims, into ``language``) that the
    original does not back, each on its own: a name of several words is otherwise grounded by
    any one of them, and a translation must add no name ("British Prime Minister Olaf Scholz"
    for "britische Premierminister Keir Starmer"). Words common in ``language`` ("Prime",
    "Minister") are exempt: they translate words of the original."""
    src = SourceText(original)
    return [
        w
        for c in said
        if c.kind == "name"
        for w in _distinctive(c.words)
        if not _common_word(w, language) and not _word_grounded(w, src)
    ]


def with_provenance(chunk: Chunk, text: str) -> str:
    """``text`` of ``chunk`` with what its document says about itself (title, publisher, date):
    a question may name the source ("According to TechCrunch ... published on November 18,
    2023"), which no sentence of the article repeats."""
    # a title taken from a file or page name writes its spaces as underscores
    parts = [text, (chunk.title or "").replace("_", " "), chunk.publisher or ""]
    if chunk.date:
        parts.append(lexicon.date_words(chunk.date))
    return "\n".join(p for p in parts if p)


def premise_missing(question: str, chunks: list[Chunk], language: str | None = None) -> list[str]:
    """Names of the question that none of ``chunks`` has (with their documents' title,
    publisher and date): the question rests on a premise the sources do not state ("How many
    soldiers will Italy send?" asked of passages about European soldiers)."""
    asked = [c for c in claims(question, language) if c.kind == "name"]
    if not asked or not chunks:
        return []
    unique = {c.chunk_id: c for c in chunks}
    return ungrounded_claims(asked, [with_provenance(c, c.text) for c in unique.values()])


def ungrounded(sentence: str, sources: list[str], lang: str | None = None) -> list[str]:
    """Names and numbers of ``sentence`` (those it takes from the question included) that none
    of ``sources`` contains."""
    return ungrounded_claims(claims(sentence, lang), sources)
