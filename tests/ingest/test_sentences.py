from fundstelle.ingest.sentences import sentences, split_sentences


def test_german_abbreviations_and_ordinals_do_not_end_sentences() -> None:
    text = (
        "Das sagte Dr. Müller z. B. am 7. Januar 2026 in Berlin. Dann kam Prof. Schmidt u. a. mit."
    )
    assert sentences(text) == [
        "Das sagte Dr. Müller z. B. am 7. Januar 2026 in Berlin.",
        "Dann kam Prof. Schmidt u. a. mit.",
    ]


def test_english_abbreviations_initials_and_decimals() -> None:
    text = "Mr. Smith met J. R. Doe, e.g. at the U.S. embassy. It cost 3.5 million. They left."
    assert sentences(text) == [
        "Mr. Smith met J. R. Doe, e.g. at the U.S. embassy.",
        "It cost 3.5 million.",
        "They left.",
    ]


def test_quotes_stay_with_their_sentence() -> None:
    text = 'Er sagte: „Wir schließen nichts aus.“ Merz wollte nichts. "Really?" she asked. Yes!'
    assert sentences(text) == [
        "Er sagte: „Wir schließen nichts aus.“",
        "Merz wollte nichts.",
        '"Really?" she asked.',
        "Yes!",
    ]


def test_lowercase_after_period_is_not_a_boundary_but_blank_line_is() -> None:
    text = "Headline without period\n\nThe body starts. the abbrev. continues here."
    assert sentences(text) == [
        "Headline without period",
        "The body starts. the abbrev. continues here.",
    ]


def test_year_at_sentence_end_is_a_boundary() -> None:
    assert sentences("It happened in 1990. The end.") == ["It happened in 1990.", "The end."]


def test_offsets_are_exact_and_exclude_whitespace() -> None:
    text = "  Eins zwei.   Drei vier?\n\n  Fünf!  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Eins zwei.", "Drei vier?", "Fünf!"]
    assert spans[0][0] == 2


def test_seed_article_sentence_about_bases() -> None:
    from tests.conftest import SEED

    text = SEED.read_text(encoding="utf-8")
    assert (
        "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."
        in sentences(text)
    )


def test_a_heading_or_list_line_ends_a_sentence_at_its_line_break() -> None:
    from fundstelle.ingest.sentences import sentences

    text = "== Geschichte ==\nAm 16. November 1907 trat Oklahoma bei.\n* erster Punkt\n* zweiter"
    assert sentences(text) == [
        "== Geschichte ==",
        "Am 16. November 1907 trat Oklahoma bei.",
        "* erster Punkt",
        "* zweiter",
    ]
    # a line wrapped inside a sentence stays one sentence, however short
    assert sentences("Die Regierung hat am\nDienstag beschlossen.") == [
        "Die Regierung hat am\nDienstag beschlossen."
    ]
