from fundstelle.ingest.language import answer_language, without_quotes


def test_quotes_within_quotes_and_markers_are_left_out() -> None:
    text = 'Er sagte: „Die „große Pest in der Luft“ kam 1345“ und mehr [1] "so" [12]'
    assert without_quotes(text).split() == ["Er", "sagte:", "und", "mehr"]
    # an unclosed quote is text, not a quote
    assert "Pest" in without_quotes("„Die große Pest")


def test_answer_language_leaves_quotes_out() -> None:
    quote = "„Die Regierung hat heute in Berlin den Haushalt beschlossen“ [1]"
    assert answer_language(f"It says: {quote}") is None  # four words of its own are needed
    assert answer_language(f"The article says that {quote}, and the parliament agreed") == "en"
