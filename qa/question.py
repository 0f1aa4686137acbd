"""Checks on a question before any work is done for it.

The CLI (``ask``, ``batch``) and the page call :func:`check_question`; an empty question must
not be answered from whatever passages happen to come first, and a very long one would hold
the embedding model (and everyone sharing the page) for most of a minute.
"""

from __future__ import annotations

import re

from fundstelle.core.errors import InputError
from fundstelle.core.settings import Settings
from fundstelle.ingest import lexicon
from fundstelle.ingest.analyzer import stopwords


def check_question(text: str, settings: Settings) -> str:
    """The question, stripped; raise :class:`InputError` (one line, saying what to do) if it has
    no letters or digits, or more characters than ``settings.max_question_chars``."""
    question = (text or "").strip()
    if not any(ch.isalnum() for ch in question):
        raise InputError("the question is empty: type a question in words, e.g. 'Who signed it?'")
    limit = settings.max_question_chars
    if len(question) > limit:
        raise InputError(
            f"the question has {len(question):,} characters; the limit is {limit:,} "
            "(FUNDSTELLE_MAX_QUESTION_CHARS): ask a shorter question"
        )
    return question


# --- what a question asks for -------------------------------------------------------------------
# Closed word classes of English and German grammar (question words, auxiliaries), not words of
# any one corpus: they tell a yes/no question from one that asks for a value, and what kind of
# value ("when" wants a date). :mod:`qa.verify` checks a span against that kind.

_WH = {
    "en": (
        "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "whence",
        "whither",
    ),
    "de": (
        "was", "welche", "welcher", "welches", "welchen", "welchem", "wer", "wen", "wem",
        "wessen", "wann", "wo", "woher", "wohin", "warum", "wieso", "weshalb", "weswegen", "wie",
        "wieviel", "wieviele", "womit", "wofür", "wodurch", "worüber", "woran", "worauf",
        "woraus", "worin", "wovon", "wozu", "wogegen", "wonach", "worum", "wobei",
    ),
}  # fmt: skip
AUXILIARIES_EN = _AUX_EN = (
    "is", "are", "was", "were", "am", "do", "does", "did", "has", "have", "had", "can", "could",
    "will", "would", "should", "shall", "may", "might", "must",
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_][\w'’-]*")

# answer kinds by the question's opening words (lower case, after a leading preposition)
_EXPECTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(since |until |till |by |bis |seit |ab )?(when|wann)\b"), "date"),
    (re.compile(r"^(in |from |since |until |im |in |seit |ab |bis )?(what|which|welche[mnrs]?) (year|date|day|month|century|decade|jahr|datum|tag|monat|jahrhundert|jahrzehnt)\b"), "date"),
    (re.compile(r"^(how many|how much|how long|how old|how far|how high|how large|how big|how often|wie viel(e|en|er|es)?|wieviele?|wie lange?|wie alt|wie weit|wie hoch|wie oft|wie gro(ß|ss)|what percentage|what share|what proportion|welchen anteil)\b"), "number"),
    (re.compile(r"^(in |from |to |aus |in |nach )?(what|which|welche[mnrs]?) (two |three |other |weitere[mn]? |beiden |zwei |drei )?(country|countries|nation|nations|land|länder|ländern|staat|staaten)\b"), "country"),
    (re.compile(r"^(who|whom|whose|wer|wen|wem|wessen|von wem|mit wem|by whom|with whom|for whom|an wen|für wen)\b"), "agent"),
    (re.compile(r"^(where|wo|wohin|woher|in which (\w+ )?(city|country|town|place|region|state)|in welche[mnr]? (\w+ )?(stadt|land|ort|region|staat))\b"), "place"),
)  # fmt: skip


# a closed class: the prepositions that may stand before the question word ("On which day",
# "An welchem Tag", "Zu wie viel Prozent", "For how long")
_LEADING = re.compile(
    r"^(?:in|on|at|from|since|until|till|by|to|for|with|of|after|before|during|about|among|"
    r"into|under|over|an|am|auf|aus|bei|beim|mit|nach|seit|von|vom|vor|zu|zum|zur|um|bis|ab|"
    r"für|gegen|über|unter|während|im|ins)\s+"
)


def _opening(question: str) -> str:
    return re.sub(r"\s+", " ", question.strip().lower())


def expected_kind(question: str) -> str | None:
    """What a question asks for, by its opening words (after a preposition, or after an
    opening clause: "According to Macron, how many ..."): "date", "number", "country" ("which
    countries"), "agent" (a person or body), "place", or ``None`` (anything else: "what",
    "why", "how")."""
    text = _opening(question)
    for clause in [text] + [c.strip() for c in text.split(",")[1:]]:
        for opening in (clause, _LEADING.sub("", clause, count=1)):
            for pattern, kind in _EXPECTS:
                if pattern.search(opening):
                    return kind
    return None


def is_yes_no(question: str) -> bool:
    """A question answered by yes or no: in English it opens with an auxiliary ("Did ...",
    "Is it true ...", also after an opening clause: "Considering ..., does ..."); in German the
    finite verb comes first ("Unterzeichnete Macron ...?"), so no question word stands among its
    first three words."""
    from fundstelle.ingest.language import question_language

    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    if question_language(question) == "de":
        return question.rstrip().endswith("?") and not any(w in _WH["de"] for w in words[:3])
    if words[0] in _AUX_EN:
        return True
    clauses = [c for c in re.split(r",\s*", question.strip()) if c]
    if len(clauses) > 1:
        last = [w.lower() for w in _WORD.findall(clauses[-1])]
        return bool(last) and last[0] in _AUX_EN
    return False


def opens_yes_no(question: str) -> bool:
    """A yes/no question whose first word is its verb ("Does the Fortune article suggest ...",
    "Unterzeichnete Macron ...?"), as opposed to one that opens with a clause and asks yes or
    no at its end ("Between the two reports, was there ...?")."""
    words = [w.lower() for w in _WORD.findall(question)]
    if not words or not is_yes_no(question):
        return False
    from fundstelle.ingest.language import question_language

    return question_language(question) == "de" or words[0] in _AUX_EN


# "Who signed it, and what does it provide for?": a second question joined by "and" + a
# question word; each part gets evidence of its own
_PARTS = re.compile(
    r"(?:,\s*|\s+|;\s*)(?:and|und|sowie|also|auch)\s+(?=(?:"
    + "|".join(sorted({*_WH["en"], *_WH["de"]}, key=len, reverse=True))
    + r")\b)",
    re.IGNORECASE,
)


def parts(question: str) -> list[str]:
    """The questions a compound question asks, each standing on its own ("Who signed the
    declaration, and what does it provide for?" -> "Who signed the declaration?", "what does it
    provide for?"); one part for a simple question. A later part that leans on a pronoun is
    searched together with the first part's words (see :mod:`qa.evidence`)."""
    pieces = [p.strip(" ,;") for p in _PARTS.split(question) if p.strip(" ,;?")]
    if len(pieces) < 2:
        return [question]
    out = []
    for p in pieces:
        p = p[0].upper() + p[1:]
        out.append(p if p.endswith("?") else p + "?")
    return out


# --- what a text holds of the kinds asked for -------------------------------------------------

_WORDS = re.compile(r"[^\W_][\w'’-]*")
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"\b\d{3,4}\b")

# closed classes: negation, and the prepositions and conjunctions that open a time expression
_NEGATION = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "without",
        "cannot",
        "n't",
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keinem",
        "keiner",
        "keines",
        "nie",
        "niemals",
        "niemand",
        "nichts",
        "weder",
        "ohne",
    ]
)
_TEMPORAL = frozenset(
    [
        "before",
        "after",
        "since",
        "until",
        "till",
        "during",
        "when",
        "while",
        "from",
        "ago",
        "vor",
        "nach",
        "seit",
        "bis",
        "während",
        "als",
        "wenn",
        "ab",
        "nachdem",
        "bevor",
        "zwischen",
    ]
)
# nouns of time and of fractions, in both languages (a "when" may be answered "three years
# later", a "how many" by "half of them")
_TIME_NOUN = re.compile(
    r"^(year|month|week|day|hour|minute|century|decade|morning|evening|night|season|"
    r"jahr|monat|woche|tag|stunde|minute|jahrhundert|jahrzehnt|morgen|abend|nacht|"
    r"frühjahr|frühling|sommer|herbst|winter|spring|summer|autumn|fall|uhr)",
    re.IGNORECASE,
)
_FRACTION = re.compile(
    r"^(half|third|quarter|percent|per cent|dozen|hälfte|drittel|viertel|prozent|dutzend|%)",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return [w.strip("'’-") for w in _WORDS.findall(text)]


def negated(text: str) -> bool:
    """The text says no: a negation word of either language ("nicht", "never", "keine")."""
    return any(w.lower() in _NEGATION for w in words(text)) or "n't" in text.lower()


def _is_number_word(w: str) -> bool:
    return lexicon.number_value(w) is not None or lexicon.magnitude(w) is not None


def holds_kind(text: str, kind: str, strict: bool = False) -> bool:
    """Whether ``text`` holds what a question of ``kind`` asks for (:func:`expected_kind`).
    A copied answer may be a German noun for "who" ("Schwiegersohn"); ``strict`` asks a whole
    sentence for a name (two capitalised words in a row, or one CLDR knows), for ranking."""
    ws = words(text)
    if kind == "number":
        return bool(_DIGITS.search(text)) or any(
            _is_number_word(w) or _FRACTION.match(w) for w in ws
        )
    if kind == "date":
        if _YEAR.search(text) or _DIGITS.search(text):
            return True
        months = lexicon.month_numbers()
        return any(
            w.lower() in months
            or lexicon.keys(w) & _WEEKDAYS
            or _TIME_NOUN.match(w)
            or _is_number_word(w)
            for w in ws
        ) or bool(ws and ws[0].lower() in _TEMPORAL)
    if kind == "country":  # a country CLDR names: "Frankreich", "USA", "the United Kingdom"
        return any(
            k.startswith("T:")
            for w in ws
            if w[:1].isupper()
            for k in lexicon.keys(w) | lexicon.acronym_keys(w)
        ) or any(k.startswith("T:") for p in lexicon.phrases_in(text) for k in lexicon.keys(p))
    if kind in ("agent", "place"):
        if strict:  # a name: "Emmanuel Macron", "Paris", "NATO" (not any German noun)
            from .grounding import claims

            return any(c.kind == "name" for c in claims(text))
        # a name or (German) a noun: a capitalised word that is not a pronoun, a function word
        # capitalised at the start ("Am 23. September 1896"), a month or a weekday
        return any(w[:1].isupper() and not _no_agent(w) for w in ws) or any(
            w.isupper() and len(w) > 1 for w in ws
        )
    return True


def _no_agent(word: str) -> bool:
    """A capitalised word that names no person, body or place: a pronoun, a function word, a
    month or a weekday."""
    low = word.lower()
    return (
        low in _PRONOUNS
        or low in stopwords()
        or low in lexicon.month_numbers()
        or bool(lexicon.keys(word) & _WEEKDAYS)
    )


_WEEKDAYS = frozenset(f"D:{d}" for d in range(7))


_PRONOUNS = frozenset(
    [
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "him",
        "her",
        "them",
        "his",
        "its",
        "their",
        "this",
        "that",
        "these",
        "those",
        "ich",
        "du",
        "er",
        "sie",
        "es",
        "wir",
        "ihr",
        "ihm",
        "ihn",
        "ihnen",
        "sein",
        "seine",
        "ihre",
        "dies",
        "diese",
        "dieser",
        "dieses",
        "das",
        "der",
        "die",
        "dem",
        "den",
    ]
)
