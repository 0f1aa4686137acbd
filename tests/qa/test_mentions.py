from fundstelle.qa.mentions import (
    Mentions,
    SourceClaim,
    mentions,
    named_dates,
    named_publishers,
    publisher_names,
    source_claims,
)

PUBLISHERS = ["TechCrunch", "The Age", "The Independent - Sports", "Cnbc | World Business News"]


def test_dates_in_english_german_and_iso_forms() -> None:
    assert named_dates("What did TechCrunch report on October 4, 2023?") == {"2023-10-04"}
    assert named_dates("on Sept. 28th, 2023 and 1 December 2023") == {"2023-09-28", "2023-12-01"}
    assert named_dates("Was stand am 7. Januar 2026 in der Zeitung?") == {"2026-01-07"}
    assert named_dates("published 2026-01-07") == {"2026-01-07"}
    assert named_dates("In May 2023 and in 2024") == set()  # no day: not one date
    assert named_dates("on March 45, 2023") == set()


def test_publishers_are_matched_as_names() -> None:
    assert publisher_names("The Independent - Sports") == {
        "The Independent - Sports",
        "The Independent",
    }
    q = "Does The Age article agree with TechCrunch?"
    assert named_publishers(q, PUBLISHERS) == {"The Age", "TechCrunch"}
    # written as ordinary words, not as a name
    assert named_publishers("What was the age of the oldest player?", PUBLISHERS) == set()
    # part of another word
    assert named_publishers("TechCrunchy snacks", PUBLISHERS) == set()
    # the part before the separator, and a name in capitals
    q = "According to The Independent and CNBC, ..."
    assert named_publishers(q, PUBLISHERS) == {
        "The Independent - Sports",
        "Cnbc | World Business News",
    }


def test_matches_counts_publisher_and_day() -> None:
    named = mentions("TechCrunch on October 4, 2023", PUBLISHERS)
    assert named == Mentions(frozenset({"TechCrunch"}), frozenset({"2023-10-04"}))
    assert named.matches("TechCrunch", "2023-10-04") == 2
    assert named.matches("TechCrunch", "2023-10-05") == 1
    assert named.matches("The Age", "2023-10-04T08:00:00") == 1
    assert named.matches(None, None) == 0
    assert not Mentions()


NEWS = ["Le Monde", "Der Spiegel", "The Independent - Life and Style", "The Independent"]


def test_each_named_source_gets_the_claim_written_after_or_before_it() -> None:
    q = (
        "Does the Le Monde article suggest that the Louvre closed for two days, while "
        "'Der Spiegel' article's report says that the strike ended on Friday?"
    )
    assert source_claims(q, NEWS) == [
        SourceClaim("Le Monde", "suggest that the Louvre closed for two days"),
        SourceClaim("Der Spiegel", "says that the strike ended on Friday"),
    ]
    before = (
        "Who was called a reformer by Le Monde and was accused of fraud according to Der Spiegel?"
    )
    assert [c.publisher for c in source_claims(before, NEWS)] == ["Le Monde", "Der Spiegel"]
    assert source_claims(before, NEWS)[1].text == "accused of fraud"


def test_a_long_publisher_name_with_small_words_is_one_mention() -> None:
    q = (
        "Does the Le Monde article say that fares rose in May, while the The Independent - "
        "Life and Style article reports that trains were late?"
    )
    claims = source_claims(q, NEWS)
    assert claims[1] == SourceClaim("The Independent - Life and Style", "that trains were late")


def test_one_source_or_a_claim_without_words_is_no_decomposition() -> None:
    assert source_claims("Does the Le Monde article say that fares rose in May?", NEWS) == []
    assert source_claims("Did Le Monde and Der Spiegel agree?", NEWS) == []
