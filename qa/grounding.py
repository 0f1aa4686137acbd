"""Are the names and numbers of an answer sentence in its sources?

A small model translating German evidence into an English answer slips on exactly these
("Großbritannien" becomes "Germany"), and an answer from general knowledge ("Canberra") brings
names no source has. Embedding similarity does not notice either, so names and numbers are
checked one by one: spelled the same, inflected ("Trumps"), transliterated ("Zelensky" /
"Selenskyj"), or the same country or people in the other language.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from ingest.bm25 import _stopwords
from ingest.language import question_language

# English <-> German names of countries, peoples and places common in news.
_EQUIVALENTS = [
    ("germany", "deutschland"), ("german", "deutsch"),
    ("france", "frankreich"), ("french", "französisch"), ("frenchman", "franzose"),
    ("britain", "großbritannien"), ("britain", "britannien"), ("united kingdom", "großbritannien"),
    ("united kingdom", "vereinigtes königreich"), ("uk", "großbritannien"), ("uk", "vereinigtes königreich"),
    ("british", "britisch"), ("british", "brite"), ("england", "england"), ("english", "englisch"),
    ("italy", "italien"), ("italian", "italienisch"), ("spain", "spanien"), ("spanish", "spanisch"),
    ("poland", "polen"), ("polish", "polnisch"), ("russia", "russland"), ("russian", "russisch"),
    ("ukraine", "ukraine"), ("ukrainian", "ukrainisch"), ("united states", "usa"),
    ("united states", "vereinigte staaten"), ("us", "usa"), ("u.s", "usa"), ("america", "amerika"),
    ("america", "usa"), ("american", "amerikanisch"), ("american", "us"), ("japan", "japan"),
    ("japanese", "japanisch"), ("australia", "australien"), ("australian", "australisch"),
    ("canada", "kanada"), ("canadian", "kanadisch"), ("turkey", "türkei"), ("turkish", "türkisch"),
    ("netherlands", "niederlande"), ("dutch", "niederländisch"), ("belgium", "belgien"),
    ("austria", "österreich"), ("austrian", "österreichisch"), ("switzerland", "schweiz"),
    ("swiss", "schweizer"), ("denmark", "dänemark"), ("danish", "dänisch"), ("sweden", "schweden"),
    ("swedish", "schwedisch"), ("norway", "norwegen"), ("finland", "finnland"), ("greece", "griechenland"),
    ("hungary", "ungarn"), ("czech", "tschechisch"), ("czech republic", "tschechien"),
    ("romania", "rumänien"), ("china", "china"), ("chinese", "chinesisch"), ("india", "indien"),
    ("egypt", "ägypten"), ("syria", "syrien"), ("saudi arabia", "saudi-arabien"), ("europe", "europa"),
    ("european", "europäisch"), ("european union", "eu"), ("european union", "europäische union"),
    ("moscow", "moskau"), ("brussels", "brüssel"), ("vienna", "wien"), ("munich", "münchen"),
    ("cologne", "köln"), ("kyiv", "kiew"), ("kiev", "kiew"), ("warsaw", "warschau"), ("rome", "rom"),
    ("nato", "nato"), ("un", "uno"), ("united nations", "vereinte nationen"),
    ("monday", "montag"), ("tuesday", "dienstag"), ("wednesday", "mittwoch"), ("thursday", "donnerstag"),
    ("friday", "freitag"), ("saturday", "samstag"), ("sunday", "sonntag"), ("january", "januar"),
    ("february", "februar"), ("march", "märz"), ("may", "mai"), ("june", "juni"), ("july", "juli"),
    ("october", "oktober"), ("december", "dezember"),
]  # fmt: skip

# Capitalised at the start of an English or German sentence without being a name.
_STARTERS = frozenset(
    [
        "according",
        "several",
        "many",
        "some",
        "both",
        "yes",
        "no",
        "none",
        "neither",
        "either",
        "it",
        "they",
        "he",
        "she",
        "there",
        "this",
        "these",
        "those",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "to",
        "with",
        "about",
        "around",
        "approximately",
        "over",
        "more",
        "less",
        "fewer",
        "only",
        "all",
        "each",
        "every",
        "most",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "thousands",
        "hundreds",
        "millions",
        "after",
        "before",
        "during",
        "since",
        "until",
        "when",
        "while",
        "if",
        "as",
        "because",
        "however",
        "also",
        "their",
        "his",
        "her",
        "its",
        "our",
        "we",
        "i",
        "you",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "why",
        "how",
        "one",
        "the",
        "a",
        "an",
        "not",
        "nothing",
        "nobody",
        "up",
        "laut",
        "mehrere",
        "einige",
        "viele",
        "ja",
        "nein",
        "es",
        "sie",
        "er",
        "im",
        "am",
        "beim",
        "zum",
        "zur",
        "nach",
        "vor",
        "seit",
        "bis",
        "mit",
        "von",
        "über",
        "unter",
        "rund",
        "etwa",
        "mehr",
        "weniger",
        "nur",
        "alle",
        "jede",
        "jeder",
        "jedes",
        "beide",
        "keine",
        "kein",
        "nichts",
        "niemand",
        "der",
        "die",
        "das",
        "ein",
        "eine",
        "einer",
        "dem",
        "den",
        "des",
        "wer",
        "was",
        "wann",
        "wo",
        "wie",
        "warum",
        "welche",
        "welcher",
        "welches",
        "zwei",
        "drei",
        "vier",
        "fünf",
        "sechs",
        "sieben",
        "acht",
        "neun",
        "zehn",
        "tausende",
        "hunderte",
        "dazu",
        "dort",
        "hier",
        "damit",
        "daher",
        "deshalb",
    ]
)

_TOKEN = re.compile(r"[A-ZÄÖÜ][\w\-.]*\w|\d+(?:[.,]\d+)*")
_WORDS = re.compile(r"\w[\w\-]*")
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def has_word(text: str) -> bool:
    """Two letters in a row: a word, not a list number ("1.") or a lone letter ("B")."""
    return _LETTERS.search(text) is not None


@lru_cache(maxsize=1)
def _equivalents() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for a, b in _EQUIVALENTS:
        table.setdefault(a, set()).add(b)
        table.setdefault(b, set()).add(a)
    return table


@lru_cache(maxsize=1)
def _german_to_english() -> list[tuple[str, str]]:
    """German name stems with their English form, longest first (for glossing evidence)."""
    pairs: dict[str, str] = {}
    for en, de in _EQUIVALENTS:
        if de != en and len(de) >= 4 and " " not in de and de not in pairs:
            pairs[de] = en
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


_GERMAN_WORD = re.compile(r"\b[A-Za-zÄÖÜäöüß][\w\-]*")


# German magnitude words and their English form: glossed in prompts, grounded like numbers.
_GERMAN_MAGNITUDES = {
    "hundert": "hundred", "hunderte": "hundreds", "tausend": "thousand", "tausende": "thousands",
    "million": "million", "millionen": "million", "milliarde": "billion", "milliarden": "billion",
    "dutzend": "dozen", "dutzende": "dozens",
}  # fmt: skip
_QUANTITY_WORDS = {
    "mehrere": "several", "einige": "some", "wenige": "a few", "viele": "many",
    **_GERMAN_MAGNITUDES,
}  # fmt: skip
_GERMAN_QUANTITY = re.compile(
    r"\b(?:(?:mehrere|einige|wenige|viele|\d[\d.,]*)\s+)?(?:"
    + "|".join(sorted(_GERMAN_MAGNITUDES, key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)


def _gloss_quantities(sentence: str) -> str:
    """ "Mehrere tausend Soldaten" -> "Mehrere tausend (several thousand) Soldaten": the model
    turned "mehrere tausend" into "more than 1,000" (measured on the gold set)."""

    def english(m: re.Match[str]) -> str:
        words = [_QUANTITY_WORDS.get(w.lower(), w) for w in m.group(0).split()]
        return f"{m.group(0)} ({' '.join(words)})"

    return _GERMAN_QUANTITY.sub(english, sentence)


def gloss(sentence: str) -> str:
    """German names of countries, peoples and days, and German quantity words, with their
    English form in brackets: "Großbritannien und Frankreich" -> "Großbritannien (Britain) und
    Frankreich (France)". Small models translate these wrongly surprisingly often."""
    sentence = _gloss_quantities(sentence)
    table = _german_to_english()
    out = []
    pos = 0
    for m in _GERMAN_WORD.finditer(sentence):
        low = m.group(0).lower()
        english = next(
            (en for de, en in table if low.startswith(de) and len(low) - len(de) <= 3), None
        )
        if english:
            out.append(sentence[pos : m.end()])
            out.append(f" ({english.title() if len(english) > 3 else english.upper()})")
            pos = m.end()
    out.append(sentence[pos:])
    return "".join(out)


# Magnitude words assert a quantity as much as digits do ("several thousand" soldiers): each
# English or German form maps to its English singular.
_MAGNITUDE_OF = {
    w: en.rstrip("s")
    for de, en in _GERMAN_MAGNITUDES.items()
    for w in (de, en.rstrip("s"), en.rstrip("s") + "s")
}


def _magnitude_grounded(word: str, words: list[str]) -> bool:
    want = _MAGNITUDE_OF[word]
    return any(_MAGNITUDE_OF.get(w) == want for w in words)


def name_tokens(sentence: str, question: str = "", lang: str | None = None) -> list[str]:
    """Names and numbers a sentence asserts: capitalised words that are not a sentence start,
    stop word or word of the question, all numbers, and magnitude words ("thousand").
    ``lang`` is the sentence's language."""
    lang = lang or (question_language(sentence) if sentence else "en")
    question_words = {w.lower() for w in _WORDS.findall(question)}
    stop = _stopwords()
    out = [
        w
        for w in _WORDS.findall(sentence)
        if w.lower() in _MAGNITUDE_OF and w.lower() not in question_words
    ]
    for m in _TOKEN.finditer(sentence):
        tok = m.group(0).rstrip(".")
        low = tok.lower()
        if tok[0].isdigit():
            out.append(tok)
            continue
        if low in stop or low in _STARTERS or low in question_words:
            continue
        if lang == "de" and low not in _equivalents():
            continue  # German capitalises every noun: only check known names there
        out.append(tok)
    return out


def _number_forms(tok: str) -> set[str]:
    return {re.sub(r"[.,]", "", tok)}


def _grounded_word(tok: str, words: list[str], text: str) -> bool:
    low = tok.lower()
    if low in _MAGNITUDE_OF:
        return _magnitude_grounded(low, words)
    if low in words:
        return True
    if len(low) >= 3 and any(
        w.startswith(low) or (len(w) >= 4 and low.startswith(w) and len(w) >= len(low) - 3)
        for w in words
    ):
        return True
    for equivalent in _equivalents().get(low, ()):
        if " " in equivalent or "-" in equivalent:
            if equivalent in text:
                return True
        elif equivalent in words or (
            len(equivalent) >= 4 and any(w.startswith(equivalent) for w in words)
        ):
            return True
    # transliterations: Zelensky / Selenskyj, Kyiv / Kiew
    return len(low) >= 5 and any(
        abs(len(w) - len(low)) <= 3 and SequenceMatcher(None, low, w).ratio() >= 0.78 for w in words
    )


# Small number words only: "mehrere tausend" (several thousand) must not ground "1,000".
_NUMBER_WORDS = {
    "zwei": "2", "two": "2", "drei": "3",
    "three": "3", "vier": "4", "four": "4", "fünf": "5", "five": "5", "zehn": "10", "ten": "10",
    "zwanzig": "20", "twenty": "20", "dreißig": "30", "thirty": "30", "hälfte": "50", "half": "50",
}  # fmt: skip


def ungrounded(
    sentence: str, sources: list[str], question: str = "", lang: str | None = None
) -> list[str]:
    """Names and numbers of ``sentence`` that none of ``sources`` contains."""
    text = " ".join(sources).lower()
    words = [w.lower() for w in _WORDS.findall(text)]
    numbers = {re.sub(r"[.,]", "", n) for n in re.findall(r"\d+(?:[.,]\d+)*", text)}
    numbers |= {_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS}
    missing = []
    tokens = name_tokens(sentence, question, lang)
    # multi-word names first: "United States", "United Kingdom"
    joined = sentence.lower()
    for phrase in (
        "united states",
        "united kingdom",
        "european union",
        "united nations",
        "saudi arabia",
        "czech republic",
    ):
        if phrase in joined:
            if not _grounded_word(phrase, words, text):
                missing.append(phrase)
            drop = {p.capitalize() for p in phrase.split()}
            tokens = [t for t in tokens if t not in drop]
    for tok in tokens:
        if tok[0].isdigit():
            if not (_number_forms(tok) & numbers):
                missing.append(tok)
        elif not _grounded_word(tok, words, text):
            missing.append(tok)
    return missing


# "Putin said ..." asserts that someone spoke; a source that only mentions Putin does not back
# that (the small model put words in the mouths of people the sources merely name).
_SAYS = re.compile(
    r"\b(said|says|told|stated|announced|declared|explained|"
    r"stressed|emphasi[sz]ed|insisted|warned|promised|claimed|replied|according to|"
    r"sagte|sagt|erklärte|erklärt|betonte|betont|kündigte|kündigt|meinte|meint|versprach|"
    r"warnte|forderte|fordert|bekräftigte|bestätigte|bestätigten|sprach|antwortete|laut|zufolge)\b",
    re.IGNORECASE,
)
_QUOTE_MARKS = re.compile(r"[„“”\"«»]")


def attributes_speech(sentence: str) -> bool:
    """The sentence reports what someone said."""
    return bool(_SAYS.search(sentence))


def speech_backed(sources: list[str]) -> bool:
    """Some source reports speech too: a reporting verb or a quotation."""
    return any(_SAYS.search(s) or _QUOTE_MARKS.search(s) for s in sources)
