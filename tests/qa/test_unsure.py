"""The quotes of an unsure judge (qa.unsure): which sentences are shown, and what is streamed
before the ones still to be judged."""

from __future__ import annotations

import pytest
from fundstelle.core.settings import Settings
from fundstelle.qa import unsure
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Answer

_DEFAULTS = Settings()
FLOOR = _DEFAULTS.unsure_other_min
OTHER_PASSES = round(FLOOR + 0.02, 2)  # type: ignore[operator]


def test_unsure_quotes_of_several_parts(seed_settings: Settings) -> None:
    """A sentence below one part's taken sentence is quoted where it passes for any part it
    stands below; only the quotes before the first one still to be judged are streamed, so the
    final text extends what was shown."""
    engine = Engine(seed_settings.with_overrides(backend="extractive", translate_queries=False))
    question = "Welche Länder könnten Stützpunkte in der Ukraine planen?"
    x, y, z = engine.evidence(question, engine.retrieve(question).passages)[:3]
    for p_b, kept in ((OTHER_PASSES, [x, y, z]), (0.1, [x, z])):
        known = {("A?", y.text): 0.1}
        asked: list[tuple[str, str]] = []

        def yes(q, ev, p=p_b, asked=asked):  # type: ignore[no-untyped-def]
            asked.append((q, ev.text))
            return p

        result = Answer(question="A? B?", text="", language="de")
        timings: dict[str, float] = {}
        run = unsure.fill_quotes(
            result,
            [x, y, z],
            [("A?", y), ("B?", y)],
            "unsure",
            floor=FLOOR,
            yes=yes,
            known=known,
            timings=timings,
            shown_before=False,
        )
        tokens = []
        try:
            while True:
                tokens.append(next(run))
        except StopIteration as stop:
            shown = stop.value
        assert asked == [("B?", y.text)]  # A's judgement was known
        assert [c.quote for c in result.citations] == [ev.text for ev in kept]
        # streamed: the quote before y only, which the final text extends
        assert tokens == [shown] and f"„{x.text}“ [1]" in shown and z.text not in shown
        assert result.text.startswith(shown) and "judge_other" in timings

    # passed for one part already: not asked for the other
    result = Answer(question="A? B?", text="", language="de")
    run = unsure.fill_quotes(
        result,
        [x, y, z],
        [("A?", y), ("B?", y)],
        "unsure",
        floor=FLOOR,
        yes=lambda q, ev: pytest.fail("asked again"),
        known={("A?", y.text): OTHER_PASSES},
        timings={},
        shown_before=False,
    )
    assert list(run) == [] and [c.quote for c in result.citations] == [
        x.text,
        y.text,
        z.text,
    ]

    # an answer that streamed text already: nothing shown before the judging, same quotes
    result = Answer(question="A? B?", text="", language="de")
    run = unsure.fill_quotes(
        result,
        [x, y, z],
        [("A?", y), ("B?", y)],
        "unsure",
        floor=FLOOR,
        yes=lambda q, ev: 0.1,
        known={},
        timings={},
        shown_before=True,
    )
    assert list(run) == [] and [c.quote for c in result.citations] == [x.text, z.text]
