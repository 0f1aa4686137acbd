"""The quotes of an unsure judge (qa.unsure): which sentences are shown, and what is streamed
before the ones still to be judged."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fundstelle.core.settings import Settings
from fundstelle.qa import unsure
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Answer, Evidence

_DEFAULTS = Settings()
FLOOR = _DEFAULTS.unsure_other_min
OTHER_PASSES = round(FLOOR + 0.02, 2)  # type: ignore[operator]


def _fill(
    quotes: list[Evidence],
    below: Evidence,
    yes: Callable[[str, Evidence], float | None],
    known: dict[tuple[str, str], float],
    timings: dict[str, float],
    shown_before: bool = False,
) -> tuple[Answer, list[str], str]:
    """Two parts, A? and B?, whose sentence ``below`` stands under the one each took: the
    answer filled, the texts streamed, and the text the call says it showed."""
    result = Answer(question="A? B?", text="", language="de")
    run = unsure.fill_quotes(
        result,
        quotes,
        [("A?", below), ("B?", below)],
        "unsure",
        floor=FLOOR,
        yes=yes,
        known=known,
        timings=timings,
        shown_before=shown_before,
    )
    tokens = []
    while True:
        try:
            tokens.append(next(run))
        except StopIteration as stop:
            return result, tokens, stop.value


def test_unsure_quotes_of_several_parts(seed_settings: Settings) -> None:
    """A sentence below one part's taken sentence is quoted where it passes for any part it
    stands below; only the quotes before the first one still to be judged are streamed, so the
    final text extends what was shown."""
    engine = Engine(seed_settings.with_overrides(backend="extractive", translate_queries=False))
    question = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
    x, y, z = engine.evidence(question, engine.retrieve(question).passages)[:3]
    for p_b, kept in ((OTHER_PASSES, [x, y, z]), (0.1, [x, z])):
        asked: list[tuple[str, str]] = []

        def yes(q, ev, p=p_b, asked=asked):  # type: ignore[no-untyped-def]
            asked.append((q, ev.text))
            return p

        timings: dict[str, float] = {}
        result, tokens, shown = _fill([x, y, z], y, yes, {("A?", y.text): 0.1}, timings)
        assert asked == [("B?", y.text)]  # A's judgement was known
        assert [c.quote for c in result.citations] == [ev.text for ev in kept]
        # streamed: the quote before y only, which the final text extends
        assert tokens == [shown] and f"„{x.text}“ [1]" in shown and z.text not in shown
        assert result.text.startswith(shown) and "judge_other" in timings

    # passed for one part already: not asked for the other
    result, tokens, _ = _fill(
        [x, y, z], y, lambda q, ev: pytest.fail("asked again"), {("A?", y.text): OTHER_PASSES}, {}
    )
    assert tokens == [] and [c.quote for c in result.citations] == [x.text, y.text, z.text]

    # an answer that streamed text already: nothing shown before the judging, same quotes
    result, tokens, _ = _fill([x, y, z], y, lambda q, ev: 0.1, {}, {}, shown_before=True)
    assert tokens == [] and [c.quote for c in result.citations] == [x.text, z.text]
