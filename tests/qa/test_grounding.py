"""Names, numbers and dates compared across English and German by CLDR's tables and num2words,
case-sensitively, without a hand-kept alias table. Used by the premise check (a name the question
brings that no evidence passage holds) and by verification (a translation that changed a name or
a number; a sentence about someone else)."""

from fundstelle.ingest.types import Chunk
from fundstelle.qa.grounding import claims, premise_missing, ungrounded

SENTENCES = [
    "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer.",
    "Mehrere tausend europäische Soldaten könnten laut Präsident Macron mit der Sicherung des Friedens in der Ukraine betraut werden.",
    "Selenskyj sagte seinerseits, er sei zu 90 Prozent mit den 20 Punkten des Plans einverstanden.",
    "Die USA und der US-Präsident, die EU und die Nato.",
]
LITHUANIA = [
    "Die litauische Premierministerin Inga Ruginienė traf am Mittwoch in Den Haag ein.",
    "Kroatien und Litauen wollen zwölf Hubschrauber kaufen, sagte die Regierung in Vilnius.",
    "Über drei Millionen Menschen leben in Litauen.",
]


def test_grounding_across_languages_and_transliteration() -> None:
    assert ungrounded("The United Kingdom and France.", SENTENCES, lang="en") == ["United Kingdom"]
    assert ungrounded("So Britain and France.", SENTENCES, lang="en") == []  # "Groß-britannien"
    assert ungrounded("Zelensky agrees with 90 percent.", SENTENCES, lang="en") == []
    assert ungrounded("Several thousand soldiers.", SENTENCES, lang="en") == []
    assert ungrounded("More than 1,000 soldiers.", SENTENCES, lang="en") == ["1,000"], (
        "not 'mehrere tausend'"
    )
    assert sorted(ungrounded("Italy sends 5,000 soldiers.", SENTENCES, lang="en")) == [
        "5,000",
        "Italy",
    ]


def test_acronyms_from_cldr_codes_and_initials_not_an_alias_list() -> None:
    assert ungrounded("So the US and the EU agree.", SENTENCES, lang="en") == []
    assert ungrounded("So the United States agree.", SENTENCES, lang="en") == []  # "USA"
    assert ungrounded("So NATO agrees.", SENTENCES, lang="en") == []
    # what no table says: Europe is not the EU, England is not Britain
    no_adjective = [t for t in SENTENCES if "europäische" not in t]
    assert ungrounded("So Europe agrees.", no_adjective, lang="en") == ["Europe"]
    assert ungrounded("So England agrees.", SENTENCES, lang="en") == ["England"]


def test_names_are_compared_with_their_case() -> None:
    source = ["You may go now, said the officer to us."]
    assert ungrounded("It happened in May.", source, lang="en") == ["May"]
    assert ungrounded("The US said so.", source, lang="en") == ["US"]


def test_magnitude_words_must_stand_in_the_source() -> None:
    assert ungrounded("Several million soldiers.", SENTENCES, lang="en") == ["million"]
    assert ungrounded("Thousands of soldiers.", SENTENCES, lang="en") == []


def test_names_of_countries_cities_and_peoples_from_cldr_not_a_hand_list() -> None:
    assert ungrounded("Lithuania and Croatia want to buy helicopters.", LITHUANIA, "en") == []
    assert ungrounded("The Lithuanian prime minister arrived in The Hague.", LITHUANIA, "en") == []
    assert ungrounded("The Prime Minister arrived on Wednesday.", LITHUANIA, "en") == []
    assert ungrounded("The Prime Minister arrived on Thursday.", LITHUANIA, "en") == ["Thursday"]
    assert ungrounded("Estonia wants to buy helicopters.", LITHUANIA, "en") == ["Estonia"]
    assert ungrounded("Ruginiene arrived.", LITHUANIA, "en") == [], "accents aside"


def test_spelling_rules_never_equate_names_the_tables_tell_apart() -> None:
    source = ["Australien und die Slowakei schicken Truppen, sagte der Dichter Fontane."]
    assert ungrounded("Australia and Slovakia send troops.", source, "en") == []
    assert ungrounded("The troops come from Austria.", source, "en") == ["Austria"]
    assert ungrounded("The troops come from Slovenia.", source, "en") == ["Slovenia"]
    hugenotten = ["Theodor Fontane stammte von Hugenotten ab."]
    assert (
        ungrounded("The poet Theodor Fontane had Huguenots as ancestors.", hugenotten, "en") == []
    )


def test_numbers_and_number_words_in_both_languages() -> None:
    assert ungrounded("They want to buy twelve helicopters.", LITHUANIA, "en") == []
    assert ungrounded("They want to buy 12 helicopters.", LITHUANIA, "en") == []
    assert ungrounded("They want to buy 14 helicopters.", LITHUANIA, "en") == ["14"]
    assert ungrounded("More than three million people live there.", LITHUANIA, "en") == []
    assert ungrounded("Zwölf Hubschrauber, sagte Vilnius.", LITHUANIA, "de") == []
    # German "Billion" is 10**12, English "billion" 10**9: the word alone is no number
    assert ungrounded("Es kostet 2 Billionen Euro.", ["Es kostet 2 Milliarden Euro."], "de") == []
    assert ungrounded("It costs 3 billion.", ["Es kostet 2 Milliarden Euro."], "en") == ["3"]


def _chunk(text: str, cid: str, title: str = "A", publisher: str | None = None) -> Chunk:
    return Chunk(cid, 0, text, 0, len(text), f"{cid}.txt", title, publisher=publisher, chunk_id=cid)


def test_a_premise_counts_in_every_passage_shown() -> None:
    """A question over two articles names what neither holds alone: each name must stand in
    one of the passages the evidence comes from, not all in one."""
    first, second = _chunk(" ".join(LITHUANIA), "a"), _chunk(" ".join(SENTENCES), "b")
    q = "Did Croatia and Lithuania buy helicopters while Starmer planned bases in Ukraine?"
    assert premise_missing(q, [first], "en") == ["Starmer", "Ukraine"]
    assert premise_missing(q, [first, second], "en") == []
    assert premise_missing(q.replace("Starmer", "Meloni"), [first, second], "en") == ["Meloni"]


def test_a_question_naming_its_source_is_backed_by_that_source() -> None:
    """The document's title, publisher and date count as what a passage says: "What does the
    Port Gazette report ..." is no false premise for a Port Gazette article."""
    q = "What does the Port Gazette report about Croatia?"
    plain = _chunk(" ".join(LITHUANIA), "a")
    assert premise_missing(q, [plain], "en") == ["Port Gazette"]
    named = _chunk(" ".join(LITHUANIA), "a", publisher="Port Gazette")
    assert premise_missing(q, [named], "en") == []


def test_a_german_adjective_of_a_name_backs_the_name_but_not_another() -> None:
    # adjectives of names are written in lower case in German: "kanadische", "europäische"
    source = ["Der kanadische Premierminister Mark Carney und europäische Soldaten."]
    assert ungrounded("Canada and Europe were there.", source, lang="en") == []
    assert ungrounded("Mexico was there.", source, lang="en") == ["Mexico"]
    # a lower-case word that is no adjective of a name backs no name
    assert ungrounded("May agreed.", ["Sie may zustimmen."], lang="en") == ["May"]


def test_the_auxiliary_that_opens_a_question_is_no_name() -> None:
    """'Does' before a quoted title was a name the sources lacked: MultiHop-RAG questions
    ("Does 'The New York Times' article ...") were refused for a false premise."""
    names = [c.text for c in claims("Does 'The Daily Post' article praise Jordan Poyer?", "en")]
    assert names == ["Daily Post", "Jordan Poyer"]
    assert [c.text for c in claims("Did 'Le Monde' report it?", "en")] == ["Le Monde"]


def test_two_german_nouns_in_a_row_are_no_name_but_a_name_after_a_noun_is() -> None:
    """German capitalises every noun: "hatten die Römer Angst" holds no name "Angst", "in
    Oklahoma Anfang des Jahrhunderts" no premise "Anfang"; "Präsident Macron", "Bundeskanzler
    Merz" keep their names."""

    def names(text: str) -> list[str]:
        return [c.text for c in claims(text, "de") if c.kind == "name"]

    assert "Angst" not in " ".join(names("Vor welchen Stämmen hatten die Römer Angst?"))
    assert names("Wollen Paläoklimatologen Daten über das Wetter gewinnen?") == []
    assert names("Laut Präsident Macron und Bundeskanzler Merz kommen sie.") == ["Macron", "Merz"]
    q = "Was strebte die Bevölkerung in Oklahoma Anfang des 20. Jahrhunderts an?"
    passages = [_chunk("Die Bevölkerung in Oklahoma wollte einen eigenen Bundesstaat.", "a")]
    assert premise_missing(q, passages, "de") == []


def test_an_english_possessive_is_no_part_of_the_name() -> None:
    names = [c.text for c in claims("What was the main idea of James Hutton's paper?", "en")]
    assert names == ["James Hutton"]
    assert ungrounded("BSkyB's broadcasts", ["Die BSkyB-Sendungen in Standardauflösung."]) == []


def test_a_title_with_underscores_names_what_its_words_name() -> None:
    q = "Who translated the anthem at the Super Bowl?"
    plain = _chunk("Marlee Matlin übersetzte die Nationalhymne.", "a", title="Super_Bowl_50")
    assert premise_missing(q, [plain], "en") == []
