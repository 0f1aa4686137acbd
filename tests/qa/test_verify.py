"""Verification of copied spans, with cases from outside the shipped article: other countries,
other titles, German and English numbers, negation, case."""

from fundstelle.ingest.types import Chunk
from fundstelle.qa.question import (
    expected_kind,
    holds_kind,
    is_yes_no,
    negated,
    opens_yes_no,
    parts,
)
from fundstelle.qa.types import Evidence, Passage, Span
from fundstelle.qa.verify import check_span, translation_kept


def _ev(text: str, *, score: float = 0.9, title: str = "Nobelpreis", passage: str = "") -> Evidence:
    body = passage or text
    start = body.index(text)
    chunk = Chunk("d", 0, body, 0, len(body), "s.txt", title, lang="de")
    return Evidence(1, text, start, start + len(text), score, Passage(chunk, 1.0))


def _span(ev: Evidence, words: str, text: str | None = None) -> Span:
    at = ev.text.index(words)
    return Span(
        ev.n, words, ev.start + at, ev.start + at + len(words), text or words, translated=bool(text)
    )


def test_expected_kind_by_the_opening_words() -> None:
    assert expected_kind("Wann erhielt sie den Preis?") == "date"
    assert expected_kind("In welchem Jahr wurde die Bank gegründet?") == "date"
    assert expected_kind("How many seats does the parliament of Cyprus have?") == "number"
    assert expected_kind("Wie viele Sitze hat das Parlament?") == "number"
    assert expected_kind("Who founded the Indian Legion?") == "agent"
    assert expected_kind("Mit wem war Frida Kahlo verheiratet?") == "agent"
    assert expected_kind("In welcher deutschen Stadt wird der Aufzug getestet?") == "place"
    assert expected_kind("What is a helical antenna?") is None
    # after a preposition or an opening clause
    assert expected_kind("On which day did the strike end?") == "date"
    assert expected_kind("An welchem Tag endete der Streik?") == "date"
    assert expected_kind("Zu wie viel Prozent ist die Arbeit fertig?") == "number"
    assert expected_kind("Aus wie vielen Ländern kamen die Gäste?") == "number"
    assert expected_kind("According to the mayor, how many people live in Kiel?") == "number"
    assert expected_kind("In what way did the law change, in short?") is None


def test_yes_no_questions_in_both_languages() -> None:
    assert is_yes_no("Did the Guardian report a rise in prices?")
    assert is_yes_no("Considering both reports, does Nvidia lead the market?")
    assert is_yes_no("Wurde der Vertrag in Oslo unterzeichnet?")
    assert not is_yes_no("Was ist eine Wendelantenne?")  # "was" is German's "what" here
    assert not is_yes_no("Which river floods every spring?")


def test_a_yes_no_question_that_opens_with_its_verb() -> None:
    assert opens_yes_no("Does the Guardian article say that prices rose?")
    assert opens_yes_no("Wurde der Vertrag in Oslo unterzeichnet?")
    assert not opens_yes_no("Considering both reports, does Nvidia lead the market?")
    assert not opens_yes_no("Which river floods every spring?")


def test_compound_questions_split_into_parts() -> None:
    assert parts("Who founded the legion, and where was it deployed?") == [
        "Who founded the legion?",
        "Where was it deployed?",
    ]
    assert parts("Wer regiert Zypern und wie lange dauert die Amtszeit?") == [
        "Wer regiert Zypern?",
        "Wie lange dauert die Amtszeit?",
    ]
    assert parts("Which countries border both Austria and Italy?") == [
        "Which countries border both Austria and Italy?"
    ]


def test_kinds_of_values() -> None:
    assert holds_kind("im Jahr 1985", "date") and holds_kind("vor Fahrtantritt", "date")
    assert holds_kind("im März", "date") and holds_kind("last Tuesday", "date")
    assert not holds_kind("Norwegen und Schweden", "date")
    assert holds_kind("zwölf", "number") and holds_kind("die Hälfte", "number")
    assert holds_kind("mehr als 30", "number") and not holds_kind("viele Schiffe", "number")
    assert holds_kind("Marie Curie", "agent") and not holds_kind("sie", "agent")


def test_which_countries_wants_a_country_not_a_person() -> None:
    assert expected_kind("Which countries plan bases in Ukraine?") == "country"
    assert expected_kind("Welche beiden Länder planen Stützpunkte?") == "country"
    assert expected_kind("In which country was he born?") == "country"
    assert holds_kind("Großbritannien und Frankreich", "country")
    assert holds_kind("the United Kingdom", "country") and holds_kind("die USA", "country")
    assert not holds_kind("Keir Starmer", "country")
    assert not holds_kind("die westlichen Staaten", "country")
    ev = _ev("Macron und der britische Premierminister Keir Starmer unterzeichneten es.")
    check = check_span(_span(ev, "Keir Starmer"), ev, "Which countries signed it?", 0.9, margin=0.1)
    assert not check.ok and "country" in check.reason


def test_a_year_for_a_who_question_is_refused() -> None:
    ev = _ev("Marie Curie erhielt 1911 den Nobelpreis für Chemie.")
    check = check_span(_span(ev, "1911"), ev, "Wer erhielt 1911 den Nobelpreis?", 0.9, margin=0.1)
    assert not check.ok and "agent" in check.reason
    check = check_span(_span(ev, "Marie Curie"), ev, "Wer erhielt den Nobelpreis?", 0.9, margin=0.1)
    assert check.ok


def test_a_sentence_about_someone_else_does_not_answer() -> None:
    # the question names Meitner; the passage never does: a value from it is about someone else
    passage = "Otto Hahn begann 1897 sein Studium in Marburg. Er erhielt 1945 den Nobelpreis."
    ev = _ev("Er erhielt 1945 den Nobelpreis.", passage=passage, title="Otto Hahn")
    check = check_span(
        _span(ev, "1945"), ev, "Wann erhielt Lise Meitner den Nobelpreis?", 0.9, margin=0.1
    )
    assert not check.ok and "Meitner" in check.reason
    # the same value for the person the passage is about
    assert check_span(
        _span(ev, "1945"), ev, "Wann erhielt Otto Hahn den Nobelpreis?", 0.9, margin=0.1
    ).ok
    # a name two sentences up is another subject: "Er" refers to the sentence just before
    passage = "Lise Meitner studierte in Wien. Otto Hahn begann 1897 sein Studium. Er erhielt 1945 den Nobelpreis."
    ev = _ev("Er erhielt 1945 den Nobelpreis.", passage=passage, title="Chemie")
    question = "Wann erhielt Lise Meitner den Nobelpreis?"
    assert not check_span(_span(ev, "1945"), ev, question, 0.9, margin=0.1).ok


def test_a_sentence_far_below_the_best_evidence_does_not_answer() -> None:
    ev = _ev("Marie Curie erhielt 1911 den Nobelpreis für Chemie.", score=0.70)
    check = check_span(_span(ev, "1911"), ev, "Wann erhielt sie den Preis?", 0.95, margin=0.1)
    assert not check.ok and "far from the best" in check.reason


def test_negation_near_the_span_and_against_a_verdict() -> None:
    assert negated("Der Vertrag wurde nicht in Oslo unterzeichnet.")
    assert negated("The treaty was never ratified.") and not negated("The treaty was ratified.")
    ev = _ev("Der Vertrag wurde nicht in Oslo, sondern in Stockholm unterzeichnet.")
    question = "Wo wurde der Vertrag unterzeichnet?"
    assert not check_span(_span(ev, "Oslo"), ev, question, 0.9, margin=0.1).ok
    assert check_span(_span(ev, "Stockholm"), ev, question, 0.9, margin=0.1).ok
    # a negated sentence never backs "yes" to a positive question, and backs "no"
    yes_no = "Wurde der Vertrag in Oslo unterzeichnet?"
    span = _span(ev, "nicht in Oslo")
    assert not check_span(span, ev, yes_no, 0.9, margin=0.1, verdict="yes").ok
    assert check_span(span, ev, yes_no, 0.9, margin=0.1, verdict="no").ok


def test_a_translation_must_keep_names_and_numbers_case_sensitively() -> None:
    assert translation_kept("im Jahr 1985 in Wien", "in 1985 in Vienna", "en")
    assert not translation_kept("im Jahr 1985 in Wien", "in 1958 in Vienna", "en")
    assert not translation_kept("in Wien", "in Salzburg", "en")
    assert translation_kept("zwölf Sitze", "12 seats", "en")
    assert translation_kept("12 Sitze", "twelve seats", "en")
    # "may" (a verb) is no "May" (a month): names are compared with their case
    assert not translation_kept("sie may kommen", "in May", "en")
    # a name of the original dropped by the translation is as wrong as one added
    assert not translation_kept("Großbritannien und Frankreich", "Great Britain", "en")
    assert translation_kept("Großbritannien und Frankreich", "Great Britain and France", "en")
    assert not translation_kept("30 Staaten", "states", "en")
    # German nouns are capitalised, not names: translated, they may change
    assert translation_kept(
        "Verfassung, Elektrizität, Kohle", "constitution, electricity, coal", "en"
    )
    # a name of several words is not backed by one word of it: a title before a new name
    original = "Die polnische Außenministerin Anna Nowak reiste nach Kiew."
    assert translation_kept(original, "The Polish Foreign Minister Anna Nowak went to Kyiv.", "en")
    assert not translation_kept(
        original, "The Polish Foreign Minister Jan Kowalski went to Kyiv.", "en"
    )
    ev = _ev("Der Vertrag wurde 1985 in Wien unterzeichnet.")
    wrong = _span(ev, "1985 in Wien", "1958 in Vienna")
    check = check_span(wrong, ev, "When was the treaty signed?", 0.9, margin=0.1, language="en")
    assert not check.ok and "translation" in check.reason


def test_a_span_that_only_repeats_the_question_does_not_answer() -> None:
    ev = _ev("Der Vertrag wurde 1985 in Wien unterzeichnet.")
    check = check_span(
        _span(ev, "unterzeichnet"), ev, "Was wurde 1985 unterzeichnet?", 0.9, margin=0.1
    )
    assert not check.ok and "repeats" in check.reason


def test_a_date_is_no_place_or_person_even_in_german_capitals() -> None:
    """German capitalises nouns, so a capitalised word counts for "wo" / "wer"; the function
    word that opens a span ("Am"), a month or a weekday does not."""
    assert not holds_kind("Am 23. September 1896", "place")
    assert not holds_kind("Am Montag", "agent")
    assert holds_kind("Im Royal Mausoleum", "place") and holds_kind("Schwiegersohn", "agent")
    ev = _ev("Am 23. September 1896 überdauerte Victorias Regierungszeit die ihres Großvaters.")
    q = "Wo wurde Victorias Mann beerdigt?"
    check = check_span(_span(ev, "Am 23. September 1896"), ev, q, 0.9, margin=0.1)
    assert not check.ok and "place" in check.reason
