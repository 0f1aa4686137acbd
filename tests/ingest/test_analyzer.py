"""Keyword analysers: Snowball stems per language, German compounds split against a vocabulary."""

from fundstelle.ingest.analyzer import analyze, split_compound, stem


def test_inflections_meet_in_each_language() -> None:
    assert stem(["stützpunkte"], "de") == stem(["stützpunkt"], "de")
    assert stem(["verhandlungen"], "de") == stem(["verhandlung"], "de")
    assert stem(["negotiations"], "en") == stem(["negotiation"], "en")
    assert stem(["stützpunkte"], None) == ["stützpunkte"]  # no language, no stemmer
    assert analyze("Die Stützpunkte", "de", "plain") == ["stützpunkte"]  # stop word dropped


def test_a_query_of_unknown_language_is_stemmed_in_the_language_it_is_written_in() -> None:
    assert analyze("Wo liegen die Stützpunkte der Truppen?", None, "stem") == analyze(
        "Wo liegen die Stützpunkte der Truppen?", "de", "stem"
    )


def test_compounds_split_only_into_known_words() -> None:
    known = {"frieden", "truppe", "schutz"}
    assert split_compound("friedenstruppe", known) == ["frieden", "truppe"]
    assert split_compound("schutztruppe", known) == ["schutz", "truppe"]
    assert split_compound("zeitung", known) == []
    tokens = analyze("Friedenstruppe", "de", "stem-split", known)
    assert set(stem(["frieden", "truppe"], "de")) <= set(tokens)
