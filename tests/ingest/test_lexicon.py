"""Language knowledge from maintained sources (CLDR through babel, num2words)."""

from fundstelle.ingest import lexicon


def test_month_names_of_both_languages_from_cldr() -> None:
    months = lexicon.month_numbers()
    assert months["januar"] == months["january"] == months["jänner"] == months["jan"] == 1
    assert months["märz"] == months["marz"] == 3 and months["okt"] == months["oct"] == 10
    assert "montag" not in months


def test_names_and_number_words_of_both_languages() -> None:
    assert lexicon.same_thing("Vereinigtes Königreich", "United Kingdom")
    # no hand-kept aliases: acronyms by CLDR's codes and the initials of its names
    assert lexicon.acronym_keys("UK") == lexicon.keys("United Kingdom")
    assert lexicon.acronym_keys("USA") == lexicon.keys("United States")
    assert lexicon.acronym_keys("us") == set()
    assert lexicon.same_thing("Litauen", "Lithuania") and not lexicon.same_thing(
        "Austria", "Australien"
    )
    assert lexicon.cardinal_value("zwölf") == lexicon.cardinal_value("twelve") == 12
    assert (
        lexicon.cardinal_value("einundzwanzig") == 21 and lexicon.cardinal_value("second") is None
    )
    assert lexicon.LANGUAGE_NAMES["de"] == "German"
