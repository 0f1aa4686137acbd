"""The one decision: an answer, the sources' own words, or a refusal, with the rule that fired."""

from fundstelle.ingest.types import Chunk
from fundstelle.qa.calibration import Calibration
from fundstelle.qa.decide import after_reading, before_reading
from fundstelle.qa.types import Evidence, Passage

CAL = Calibration(min_evidence=0.80, strong=0.85)


def _evidence(score: float) -> list[Evidence]:
    chunk = Chunk("d", 0, "Der Hafen liegt in Kiel.", 0, 24, "s.txt", "Kiel")
    return [Evidence(1, "Der Hafen liegt in Kiel.", 0, 24, score, Passage(chunk, 1.0))]


def test_refusals_before_reading_come_from_the_evidence_alone() -> None:
    assert before_reading([], [], CAL).reason == "no evidence"
    assert before_reading(_evidence(0.79), [], CAL).reason == "no evidence"
    premise = before_reading(_evidence(0.95), ["Spain"], CAL)
    assert premise.kind == "refusal" and premise.reason == "premise not in sources: Spain"
    assert before_reading(_evidence(0.95), [], CAL) is None


def test_after_reading() -> None:
    strong, weak = _evidence(0.90), _evidence(0.82)
    common = {"failures": [], "calibration": CAL}
    assert after_reading(strong, answered=True, reader_none=False, **common).kind == "answer"
    # nothing found: the sources' words where the evidence is strong, else a refusal
    found_nothing = after_reading(strong, answered=False, reader_none=True, **common)
    assert (found_nothing.kind, found_nothing.reason) == ("quotes", "reader found nothing")
    weak_nothing = after_reading(weak, answered=False, reader_none=True, **common)
    assert (weak_nothing.kind, weak_nothing.reason) == ("refusal", "reader found nothing")
    failed = after_reading(
        strong, answered=False, reader_none=False, failures=["not a date: 'Kiel'"], calibration=CAL
    )
    assert failed.kind == "quotes" and failed.reason == "not verified: not a date: 'Kiel'"
    error = after_reading(strong, answered=False, reader_none=False, error="down", **common)
    assert (error.kind, error.reason) == ("quotes", "generator error")
    extractive = after_reading(weak, answered=False, reader_none=False, extractive=True, **common)
    assert extractive.kind == "quotes"


def test_a_sentence_the_generator_judged_not_to_answer_is_not_quoted() -> None:
    strong = _evidence(0.90)
    judged = after_reading(
        strong,
        answered=False,
        reader_none=False,
        failures=["the generator judges that sentence 1 does not answer"],
        calibration=CAL,
        judged_out=True,
    )
    assert judged.kind == "refusal" and "does not answer" in (judged.reason or "")
    # a verified span from a later sentence still answers
    later = after_reading(
        strong, answered=True, reader_none=False, failures=[], calibration=CAL, judged_out=True
    )
    assert later.kind == "answer"


def test_a_sentence_the_judge_passed_without_confidence_is_quoted_not_answered() -> None:
    weak = _evidence(0.82)
    why = "the generator is unsure that sentence 1 answers (P(yes) 0.31 < 0.40)"
    unsure = after_reading(
        weak, answered=False, reader_none=False, failures=[], calibration=CAL, unsure=why
    )
    assert (unsure.kind, unsure.reason) == ("quotes", why)
    # another part answered: the answer stands (the unsure part is quoted beside it)
    both = after_reading(
        weak, answered=True, reader_none=False, failures=[], calibration=CAL, unsure=why
    )
    assert both.kind == "answer"
