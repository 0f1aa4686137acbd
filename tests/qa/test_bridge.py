"""Bridge answers: a question for one name by several facts, split into its clauses, and the
names of the passages that may answer it."""

from fundstelle.ingest.types import Chunk
from fundstelle.qa.bridge import candidates, entity_question
from fundstelle.qa.grounding import SourceText
from fundstelle.qa.types import Passage

OUTLETS = {"Harbour Times", "Port Gazette", "The Age"}


def test_a_question_for_one_name_is_split_into_its_facts() -> None:
    q = (
        "Which shipping line, covered by the Harbour Times and Port Gazette, raised its fares "
        "by ten percent in May, and is accused of dumping ballast water near the marina?"
    )
    asked = entity_question(q, OUTLETS)
    assert asked is not None
    assert asked.head == "Which shipping line"
    # "covered by the Harbour Times and Port Gazette" says where, not what: no fact
    assert asked.clauses == (
        "raised its fares by ten percent in May",
        "is accused of dumping ballast water near the marina",
    )
    assert asked.ask(asked.clauses[1]) == (
        "Which shipping line that is accused of dumping ballast water near the marina?"
    )


def test_who_questions_keep_their_verb_and_short_pieces_join_the_fact_before() -> None:
    q = (
        "Who is the mayor that opened the new bridge in Lyon, was elected in 2019, and is "
        "accused of spending public money on travel, dinners, and gifts, as reported by The Age?"
    )
    asked = entity_question(q, OUTLETS)
    assert asked is not None and asked.head == "Who"
    assert asked.clauses == (
        "is the mayor that opened the new bridge in Lyon",
        "was elected in 2019",
        "is accused of spending public money on travel, dinners, gifts",
    )
    assert asked.ask(asked.clauses[1]) == "Who was elected in 2019?"


def test_a_number_with_a_thousands_comma_is_not_split() -> None:
    q = "Which bank, based in Zurich, offers new clients a bonus of up to $1,000 and is also fined for fraud?"
    asked = entity_question(q)
    assert asked is not None
    assert "offers new clients a bonus of up to $1,000" in asked.clauses


def test_questions_of_one_fact_or_another_form_are_no_bridge() -> None:
    assert entity_question("Who opened the new bridge in Lyon?") is None
    assert entity_question("When did the mayor open the new bridge in Lyon, and why?") is None
    assert (
        entity_question(
            "Does the Port Gazette say that fares rose, while the Harbour Times says so too?"
        )
        is None
    )
    # the question word is followed by a long phrase whose end is not known: no guess
    assert (
        entity_question("Which of the many harbour cities along the coast won the prize?") is None
    )


def _passage(doc: str, text: str, publisher: str = "Harbour Times") -> Passage:
    chunk = Chunk(
        doc_id=doc,
        index=0,
        text=text,
        start=0,
        end=len(text),
        source=f"{doc}.md",
        title=doc,
        publisher=publisher,
        lang="en",
    )
    return Passage(chunk=chunk, score=1.0)


def test_candidates_are_names_of_most_documents_not_named_in_the_question() -> None:
    passages = [
        _passage("a", "Nordlicht Shipping raised its fares on Monday. Anna Berg said so in May."),
        _passage(
            "b", "Regulators accuse Nordlicht of dumping ballast water, Harbour Times learned."
        ),
        _passage(
            "c", "The chief of Nordlicht's fleet, Olaf Lind, denied it. The marina is in Kiel."
        ),
    ]
    found = candidates("Which shipping line raised fares in Kiel?", passages, OUTLETS)
    # "Nordlicht Shipping" (once) and "Nordlicht's" are one candidate with "Nordlicht": three
    # documents, spelled as most of them spell it
    assert found[0].name == "Nordlicht" and found[0].documents == 3
    names = {c.name for c in found}
    assert "Kiel" not in names  # the question names it
    assert not names & {"Monday", "May", "Harbour Times"}  # times and publishers
    assert found[0].spelled_in(passages[1].chunk.text) == "Nordlicht"
    assert found[0].named_in(SourceText(passages[2].chunk.text))


def test_a_candidate_is_spelled_by_its_longest_form_that_is_often_cited() -> None:
    """ "Google" is not answered as "Google Search Generative Experience" (one document), but
    "Bankman-Fried" is answered in full where the full form is cited nearly as often."""
    passages = [
        _passage(
            "a", "Lawyers for Sam Bankman-Fried spoke. Google Search Generative Experience grew."
        ),
        _passage("b", "Prosecutors said Sam Bankman-Fried lied. They said Google paid."),
        _passage("c", "The jury heard that Bankman-Fried knew. Critics said Google paid more."),
        _passage("d", "In court, Bankman-Fried denied it."),
    ]
    found = {c.name: c.documents for c in candidates("Who is accused?", passages)}
    assert found["Sam Bankman-Fried"] == 4
    assert found["Google"] == 3
    assert "Google Search Generative Experience" not in found


def test_lists_and_german_relative_clauses_are_no_facts_of_their_own() -> None:
    assert (
        entity_question(
            "Who was the Normans' main enemy in Italy, the Byzantine Empire and Armenia?"
        )
        is None
    )
    assert (
        entity_question("Wer ist der älteste Quarterback, der je in einem Super Bowl gespielt hat?")
        is None
    )
    assert (
        entity_question(
            "Welches Unternehmen, über das die Hafenzeitung berichtet, erhöhte die Preise und wird "
            "beschuldigt, Ballastwasser abzulassen?"
        )
        is None
    )


def test_what_is_asks_for_a_name_only_as_what_is_the_name_of() -> None:
    tail = ", according to the Harbour Times, raised its fares, and was also fined for dumping?"
    asked = entity_question("What is the name of the ferry line that" + tail, OUTLETS)
    assert asked is not None and asked.head == "What is the name of the ferry line"
    assert (
        entity_question("What is the first letter of the ferry line that" + tail, OUTLETS) is None
    )


def test_who_asks_for_a_person_not_a_name_in_capitals() -> None:
    asked = entity_question(
        "Who is the founder facing a criminal trial, and is also accused of committing fraud?"
    )
    assert asked is not None
    passages = [
        _passage("a", "FTX founder Sam Bankman-Fried faces a criminal trial in New York."),
        _passage("b", "Prosecutors accuse FTX founder Sam Bankman-Fried of fraud."),
    ]
    fitting = [c.name for c in candidates("Who?", passages) if asked.fits(c)]
    assert "FTX" not in fitting and "Sam Bankman-Fried" in fitting
    company = entity_question(
        "Which exchange, based in the Bahamas, collapsed and is also accused of fraud?"
    )
    assert company is not None and all(company.fits(c) for c in candidates("Which?", passages))
