from fundstelle.qa.translate import clean_translation, translation_messages


def test_translation_prompt_names_the_target_language_and_shows_examples() -> None:
    to_de = translation_messages("How many bases?", "de")
    system, *examples, user = to_de
    assert "into German" in system.content and user.content == "How many bases?"
    # example turns: the source language from the user, the target language from the model
    assert [m.type for m in examples] == ["human", "ai"] * (len(examples) // 2) and examples
    assert examples[0].content.startswith("How") and examples[1].content.startswith("Wie")
    system, *examples, user = translation_messages("Wie viele Stützpunkte?", "en")
    assert "into English" in system.content
    assert examples[0].content.startswith("Wie") and examples[1].content.startswith("How")


def test_clean_translation_takes_the_first_line_without_labels_or_quotes() -> None:
    q = "How many bases are planned?"
    assert clean_translation('German: "Wie viele Stützpunkte sind geplant?"\n(Note: ...)', q) == (
        "Wie viele Stützpunkte sind geplant?"
    )
    assert clean_translation("„Wie viele Stützpunkte?“", q) == "Wie viele Stützpunkte?"


def test_replies_that_are_no_translation_are_rejected() -> None:
    q = "How many bases are planned?"
    assert clean_translation("How many bases are planned?", q) is None  # echoed
    assert clean_translation("", q) is None
    assert clean_translation("Wie " * 100, q) is None  # rambling


def test_translation_prompt_without_examples() -> None:
    system, user = translation_messages("How many bases?", "de", examples=[])
    assert "into German" in system.content and user.content == "How many bases?"


def test_translation_prompt_shows_the_sources_words_before_the_question() -> None:
    context = [
        "Die Absichtserklärung unterzeichneten Macron und Starmer.",
        "Der Gipfel war in Paris.",
    ]
    plain = translation_messages("Who signed the declaration of intent?", "de")
    *head, user = translation_messages(
        "Who signed the declaration of intent?", "de", context=context
    )
    # the cached part of the prompt (instructions, worked examples) stays as it was
    assert [m.content for m in head] == [m.content for m in plain[:-1]]
    sources, question = user.content.split("\n\n")
    assert sources == f"Sources: „{context[0]}“ „{context[1]}“"
    assert question == "Question: Who signed the declaration of intent?"
    # no sentences: the question alone, as without the setting
    assert (
        translation_messages("How many bases?", "de", context=[])[-1].content == "How many bases?"
    )
