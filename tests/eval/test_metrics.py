"""The metrics on hand-made cases."""

import pytest
from fundstelle.eval import metrics as m
from fundstelle.eval.gold import DEFAULT_GOLD, GoldItem, load_gold
from fundstelle.eval.runner import score_item, summarize
from fundstelle.ingest.types import Chunk
from fundstelle.qa.types import Answer, AnswerSentence, Citation, Passage


def test_first_hit_rank_ignores_whitespace() -> None:
    retrieved = ["nothing here", "Großbritannien und\nFrankreich  könnten", "x"]
    assert m.first_hit_rank(retrieved, ["Großbritannien und Frankreich könnten"]) == 2
    assert m.first_hit_rank(retrieved, ["absent"]) is None
    assert m.hit_at_k(2, 1) == 0.0 and m.hit_at_k(2, 5) == 1.0
    assert m.reciprocal_rank(4) == 0.25 and m.reciprocal_rank(None) == 0.0


def test_multihop_scores_follow_upstream_definitions() -> None:
    facts = ["fact one", "fact two"]
    retrieved = ["a", "xx factone yy", "b", "c", "factone and fact two", "d"]
    s = m.multihop_query_scores(retrieved, facts)
    assert s["hits@4"] == 1.0 and s["hits@10"] == 1.0
    assert s["mrr@10"] == 0.5
    # rank 2 finds fact one (1/2), rank 5 finds fact two (1/5); two facts
    assert s["map@10"] == pytest.approx((1 / 2 + 1 / 5) / 2)
    late = m.multihop_query_scores(["a"] * 5 + ["fact one"], facts)
    assert (late["hits@4"], late["hits@10"], late["mrr@10"]) == (0.0, 1.0, pytest.approx(1 / 6))
    assert m.multihop_query_scores(["a"] * 10 + ["fact one"], facts)["hits@10"] == 0.0


def test_normalize_and_facts() -> None:
    assert m.normalize("Großbritannien, Zwölf  Prozent!") == "grossbritannien 12 prozent"
    assert m.normalize("1,000 or 1.000") == "1000 or 1000"
    assert m.fact_present("France and the UK [1].", ["United Kingdom", "UK"])
    assert not m.fact_present("Ukraine", ["UK"]), "whole words only"
    assert m.answer_correct(
        "Macron, Starmer und Selenskyj", [["Macron"], ["Starmer"], ["Zelensky", "Selenskyj"]]
    )
    assert not m.answer_correct(
        "Macron und Starmer", [["Macron"], ["Starmer"], ["Zelensky", "Selenskyj"]]
    )
    assert m.fact_present("zu 90% einverstanden", ["90"])
    # articles are dropped, as SQuAD's evaluation drops them ("the" is no token here)
    assert m.token_f1("the cat sat", "cat sat down") == pytest.approx(2 * 1 * (2 / 3) / (5 / 3))
    assert m.fact_present("Warschau ist multikulturelle Stadt.", ["eine multikulturelle Stadt"])
    assert m.fact_present("It is a complex matter", ["complex"])


def test_multihop_answer_rule() -> None:
    assert (
        m.multihop_answer_correct("Yes, it did.", "yes") is False
    )  # "yes," keeps its comma upstream
    assert m.multihop_answer_correct("yes it did", "Yes")
    # ours: markers and punctuation go on both sides, so a gold's full stop does not count
    assert not m.multihop_answer_correct("Sportsbooks [1]", "Sportsbooks.")
    assert m.multihop_answer_correct(
        m.multihop_plain("Sportsbooks [1]"), m.multihop_plain("Sportsbooks.")
    )
    assert m.multihop_plain("Yes, it did [2].").split() == ["Yes", "it", "did"]
    assert not m.multihop_answer_correct(
        m.multihop_plain("Google [1]"), m.multihop_plain("Amazon.")
    )


def test_citation_refusal_and_crag_scores() -> None:
    c = m.citation_scores([(True, [True]), (True, [False, True]), (True, [])])
    assert c["citation_recall"] == pytest.approx(2 / 3)
    assert c["citation_precision"] == pytest.approx(2 / 3)
    r = m.refusal_scores([(True, True), (True, False), (False, True), (False, False)])
    assert r == {"refusal_precision": 0.5, "refusal_recall": 0.5, "wrong_refusal_rate": 0.5}
    assert [m.crag_score(o) for o in ("correct", "refused", "wrong")] == [1, 0, -1]
    assert m.percentile([5, 1, 3, 2, 4], 50) == 3 and m.percentile([], 50) == 0.0


def _answer(text: str, quote: str, refused: bool = False) -> Answer:
    chunk = Chunk(doc_id="d", index=0, text=quote, start=0, end=len(quote), source="s", title="t")
    cit = Citation(1, quote, "d", "s", "t", None, None, 0, len(quote))
    return Answer(
        question="q",
        text=text,
        language="en",
        sentences=[AnswerSentence(text, [1], True)],
        citations=[cit],
        refused=refused,
        passages=[Passage(chunk, 1.0)],
    )


def test_score_item_correct_cited_wrong_and_refused() -> None:
    item = GoldItem(
        "g",
        "Which countries?",
        (("France",), ("Britain", "UK")),
        "Großbritannien und Frankreich planen.",
    )
    good = score_item(
        item, _answer("France and Britain. [1]", "Großbritannien und Frankreich planen.")
    )
    assert (good.outcome, good.cited_ok, good.hit_rank) == ("correct", True, 1)
    wrong_cite = score_item(item, _answer("France and Britain. [1]", "Something else entirely."))
    assert wrong_cite.outcome == "correct" and not wrong_cite.cited_ok
    wrong = score_item(item, _answer("Germany. [1]", "Großbritannien und Frankreich planen."))
    assert wrong.outcome == "wrong"
    refused = score_item(item, _answer("The sources do not say.", "x", refused=True))
    assert refused.outcome == "refused"
    unanswerable = GoldItem("u", "Capital?", (), "", unanswerable=True)
    assert score_item(unanswerable, _answer("No.", "x", refused=True)).outcome == "correct"
    s = summarize([good, wrong, refused, score_item(unanswerable, _answer("Canberra [1]", "x"))])
    assert s["correct"] == pytest.approx(1 / 3) and s["unanswerable_refused"] == 0.0
    assert s["crag_score"] == pytest.approx((1 - 1 + 0 - 1) / 4)


def test_shipped_gold_set_is_well_formed() -> None:
    from tests.conftest import SEED

    items = load_gold(DEFAULT_GOLD)
    text = SEED.read_text(encoding="utf-8")
    assert len(items) >= 30
    assert {i.lang for i in items} == {"en", "de"}
    assert sum(i.unanswerable for i in items) >= 6
    for i in items:
        assert i.unanswerable or (i.facts and i.evidence in text), i.id


def test_loss_summary_gives_the_median_length_of_factoid_answers_apart() -> None:
    rows = [
        {"question": "When was the treaty signed?", "words": 3, "correct": True, "refused": False},
        {"question": "Wie viele Kasus gibt es?", "words": 5, "correct": True, "refused": False},
        {"question": "Who signed the declaration?", "words": 2, "correct": True, "refused": False},
        {"question": "Why did the talks fail?", "words": 30, "correct": True, "refused": False},
        {"question": "Was sagt der Bericht?", "words": 28, "correct": False, "refused": False},
        {"question": "Who resigned?", "words": 0, "correct": False, "refused": True},
    ]
    out = m.loss_summary(rows)
    assert out["words_p50"] == 5  # all five answers
    assert out["words_p50_factoid"] == 3  # date, number and person questions; refusal left out
    assert "words_p50_factoid" not in m.loss_summary(rows[3:5])


def test_asks_value_tells_factoid_from_open_and_yes_no_questions() -> None:
    assert m.asks_value("Wann starb die Mutter von Queen Victoria?")
    assert m.asks_value("How many people live in Fresno?")
    assert not m.asks_value("Does the article say that the talks failed?")
    assert not m.asks_value("What led to the first tuberculosis test?")


@pytest.mark.parametrize(
    ("answer", "language", "expected"),
    [
        ("Greenland [1]", "en", True),
        ("The Super Bowl was played. [1]", "en", True),
        ("Macron und Starmer haben die Erklärung unterzeichnet [1]", "de", True),
        # mixed: a German word (or letter) in an English answer, English in a German one
        ("The ungünstigen Taifuns [1]", "en", False),
        ("place 139 of insgesamt 176 countries [1]", "en", False),
        ("die Kartoffeln wurden in der Region verkauft und gegessen [1]", "en", False),
        ("The declaration was signed by the United States and the European Union [1]", "de", False),
        # quotes stay in the source's language, also a quote holding a quote of its own
        ("The sources say: „Das Viertel liegt südwestlich der Route.“ [1]", "en", True),
        ("„Der König gab der „großen Pest in der Luft“ die Schuld am Sterben“ [1]", "en", True),
        ("„Der König gab der „großen Pest“ die Schuld“ und andere Wörter hier [1]", "en", False),
        # names alone are in any language
        ("Amy Pond (Karen Gillan) [1]", "en", True),
        ("Los Angeles Long Beach Santa Ana [1]", "de", True),
    ],
)
def test_answer_language_judges_every_answer_but_quotes_and_names(
    answer: str, language: str, expected: bool
) -> None:
    assert m.answer_language_ok(answer, language) is expected
