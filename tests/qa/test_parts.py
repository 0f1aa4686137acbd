"""Each part of a question judged, read and verified (qa.parts), with scripted model calls: the
order of the steps, what is streamed, and what a failing backend leaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fundstelle.core.errors import BackendError
from fundstelle.core.settings import Settings
from fundstelle.qa import parts
from fundstelle.qa.calibration import calibration_for
from fundstelle.qa.engine import Engine
from fundstelle.qa.mentions import SourceClaim
from fundstelle.qa.types import Evidence

QUESTION = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
ANSWER = "Großbritannien und Frankreich"


@pytest.fixture
def evidence(seed_settings: Settings) -> list[Evidence]:
    engine = Engine(seed_settings.with_overrides(backend="extractive", translate_queries=False))
    found = engine.evidence(QUESTION, engine.retrieve(QUESTION).passages)
    assert any(ANSWER in ev.text for ev in found)
    return found


def _settings(**overrides: object) -> Settings:
    return Settings().with_overrides(reader_sentences=1, reader_tries=2, **overrides)


def _run(
    queries: list[str],
    evidence_parts: list[list[Evidence]],
    calls: parts.Calls,
    settings: Settings,
    claims: list[SourceClaim] | None = None,
    language: str = "de",
) -> tuple[list[str], parts.Outcome, dict[str, float]]:
    timings: dict[str, float] = {}
    run = parts.read_parts(
        queries,
        evidence_parts,
        claims=claims or [],
        language=language,
        settings=settings,
        calibration=calibration_for(settings.embedding_model),
        calls=calls,
        known={},
        timings=timings,
    )
    streamed: list[str] = []
    while True:
        try:
            streamed.append(next(run))
        except StopIteration as stop:
            return streamed, stop.value, timings


def _reader(replies: dict[int, str], asked: list[int]):  # type: ignore[no-untyped-def]
    """A reader that copies ``replies[n]`` from sentence n (the first it is shown), in pieces."""

    def read(question: str, seen: list[Evidence], yes_no: bool) -> Iterator[str]:
        n = seen[0].n
        asked.append(n)
        raw = json.dumps({"sentence": n, "answer": replies.get(n, "")}, ensure_ascii=False)
        yield from (raw[i : i + 7] for i in range(0, len(raw), 7))

    return read


def test_the_reader_tries_the_next_sentence_and_the_answer_streams(
    evidence: list[Evidence],
) -> None:
    """The first sentence gives nothing verifiable, the second the answer: both are read, in the
    ranking's order, and the verified words stream as they are copied."""
    answering = next(ev for ev in evidence if ANSWER in ev.text)
    other = next(ev for ev in evidence if ANSWER not in ev.text)
    asked: list[int] = []
    calls = parts.Calls(
        judge=lambda q, ev, unjudged, known: (0, 0.9),
        read=_reader({answering.n: ANSWER}, asked),
        reorder=lambda q, ev: pytest.fail("no likelihood order by default"),
    )
    streamed, out, _ = _run([QUESTION], [[other, answering]], calls, _settings())
    assert asked == [other.n, answering.n]
    assert [x.words for x in out.verified] == [ANSWER] and len(out.drafts) == 2
    assert "".join(streamed) == ANSWER == out.shown
    assert not out.judged_out and out.error is None


def test_a_span_to_be_translated_is_not_streamed(evidence: list[Evidence]) -> None:
    answering = next(ev for ev in evidence if ANSWER in ev.text)
    calls = parts.Calls(
        judge=lambda q, ev, unjudged, known: (0, 0.9),
        read=_reader({answering.n: ANSWER}, []),
        reorder=lambda q, ev: ev,
    )
    streamed, out, _ = _run(
        ["Which countries could plan bases in Ukraine?"],
        [[answering]],
        calls,
        _settings(),
        language="en",
    )
    assert streamed == [] and [x.words for x in out.verified] == [ANSWER]


def test_an_unsure_judgement_is_kept_to_quote_and_not_read(evidence: list[Evidence]) -> None:
    s = _settings(judge_sentences=2)
    first, second = evidence[:2]
    calls = parts.Calls(
        judge=lambda q, ev, unjudged, known: (0, s.judge_confident - 0.05),  # type: ignore[operator]
        read=lambda q, ev, yes_no: pytest.fail("an unsure sentence is not read"),
        reorder=lambda q, ev: ev,
    )
    _, out, _ = _run([QUESTION], [[first, second]], calls, s)
    assert out.verified == [] and out.unsure and out.unsure_quotes == [first, second]
    # the taken sentence is quoted whatever else says; the one below it only if judged
    assert out.unsure_kept == {first.key} and out.unsure_others == [(QUESTION, second)]


def test_a_judge_that_takes_nothing_leaves_the_part_out(evidence: list[Evidence]) -> None:
    calls = parts.Calls(
        judge=lambda q, ev, unjudged, known: (None, None),
        read=lambda q, ev, yes_no: pytest.fail("not read"),
        reorder=lambda q, ev: ev,
    )
    _, out, _ = _run([QUESTION], [evidence[:2]], calls, _settings())
    assert out.judged_out and out.verified == [] and "does not answer" in out.failures[0]


def test_the_likelihood_order_keeps_the_rankings_strength(evidence: list[Evidence]) -> None:
    """Reordered by the question's likelihood (across languages), the part is judged and read
    in the new order, but its evidence's strength, which verification compares with, stays the
    ranking's best score: a sentence the reordering brings up from far below is not verified."""
    answering = next(ev for ev in evidence if ANSWER in ev.text)
    rest = [ev for ev in evidence if ev is not answering][:2]
    settings = _settings(likelihood_sentences=3, likelihood_scope="always")
    margin = calibration_for(settings.embedding_model).relevance
    low = replace(answering, score=rest[0].score - margin - 0.05)
    judged: list[list[int]] = []
    asked: list[int] = []

    def judge(q, ev, unjudged, known):  # type: ignore[no-untyped-def]
        judged.append([e.n for e in ev])
        return 0, 0.9

    calls = parts.Calls(
        judge=judge, read=_reader({low.n: ANSWER}, asked), reorder=lambda q, ev: [low, *rest]
    )
    _, out, timings = _run([QUESTION], [[*rest, low]], calls, settings)
    assert judged == [[low.n, rest[0].n]] and asked[0] == low.n  # the new order
    assert out.ordered == [[low, *rest]] and "likelihood" in timings
    assert ANSWER not in [x.words for x in out.verified]
    assert any("far from the best evidence" in f for f in out.failures)


def test_claims_are_judged_never_read(evidence: list[Evidence]) -> None:
    """Each claim by source is its sentence when the judge takes one; one without is judged out."""
    claims = [SourceClaim("A", "plans bases"), SourceClaim("B", "signs a declaration")]
    judged: list[str] = []

    def judge(q, ev, unjudged, known):  # type: ignore[no-untyped-def]
        judged.append(q)
        assert unjudged is None  # without a judge no claim is stated
        return (0, 0.9) if q == claims[0].question() else (None, None)

    calls = parts.Calls(
        judge=judge,
        read=lambda q, ev, yes_no: pytest.fail("claims are not read"),
        reorder=lambda q, ev: pytest.fail("not reordered"),
    )
    queries = [c.question() for c in claims]
    _, out, _ = _run(queries, [evidence[:1], evidence[1:2]], calls, _settings(), claims=claims)
    assert judged == queries and [x.n for x in out.verified] == [evidence[0].n]
    assert out.judged_out and "no sentence of B" in out.failures[0]


def test_a_failing_backend_keeps_what_was_read(evidence: list[Evidence]) -> None:
    """The second part's judge fails: the first part's verified span stands, the error is kept."""
    answering = next(ev for ev in evidence if ANSWER in ev.text)

    def judge(q, ev, unjudged, known):  # type: ignore[no-untyped-def]
        if q != QUESTION:
            raise BackendError("the server went away")
        return 0, 0.9

    calls = parts.Calls(
        judge=judge, read=_reader({answering.n: ANSWER}, []), reorder=lambda q, e: e
    )
    _, out, _ = _run(
        [QUESTION, "Wer hat unterschrieben?"], [[answering], evidence[:1]], calls, _settings()
    )
    assert [x.words for x in out.verified] == [ANSWER] and out.error == "the server went away"


def test_a_reader_failing_mid_reply_keeps_what_was_shown(evidence: list[Evidence]) -> None:
    """The reader's stream breaks off after its first words: the words shown stay recorded (the
    final answer replaces them), the broken reply is no draft, and the error is kept."""
    answering = next(ev for ev in evidence if ANSWER in ev.text)

    def read(question: str, seen: list[Evidence], yes_no: bool) -> Iterator[str]:
        yield json.dumps({"sentence": seen[0].n, "answer": "Groß"}, ensure_ascii=False)[:-2]
        raise BackendError("the server went away")

    calls = parts.Calls(judge=lambda q, ev, u, k: (0, 0.9), read=read, reorder=lambda q, e: e)
    streamed, out, _ = _run([QUESTION], [[answering]], calls, _settings())
    assert streamed == ["Groß"] == [out.shown] and out.error == "the server went away"
    assert out.drafts == [] and out.verified == []
