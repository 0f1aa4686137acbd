"""What an unsure judge's answer shows: the sentences it judged, as the sources' own words.

Where the judge passed a sentence without confidence (qa.parts), nothing is drawn from it; the
sentence it took is quoted, and the best-ranked other one beside it. One ranked below the taken
one is quoted only where the judge finds that it may answer (P(yes) at least
``unsure_other_min``): a quote off the question made a right answer "partly supported"
(docs/decisions.md, "The other quote of an unsure answer judged too").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator

from . import compose
from .types import Answer, Evidence

log = logging.getLogger(__name__)


def fill_quotes(
    result: Answer,
    quotes: list[Evidence],
    others: list[tuple[str, Evidence]],
    reason: str | None,
    *,
    floor: float | None,
    yes: Callable[[str, Evidence], float | None],
    known: dict[tuple[str, str], float] | None,
    timings: dict[str, float],
    shown_before: bool,
) -> Generator[str, None, str]:
    """Fill ``result`` with the sentences of an unsure judge as the sources' words: each one it
    took (and the best-ranked where it took another), and each sentence of ``others`` ((part's
    question, sentence ranked below the one taken), none of them taken by another part) only
    where its P(yes) (``yes``, or ``known`` already) reaches ``floor`` for one of the parts it
    stands below. Those not judged yet are judged after the quotes before the first of them are
    shown (yielded, unless ``shown_before``: an answer already streamed text), so that the
    final text extends what was shown. Returns the text shown here ("" if none)."""
    if floor is None or not others:
        compose.fill_quotes(result, quotes, reason)
        return ""
    known = {} if known is None else known
    asked: dict[str, list[str]] = {}  # sentence key -> the parts' questions it is below
    for q, ev in others:
        asked.setdefault(ev.key, []).append(q)

    def verdict(ev: Evidence) -> bool | None:
        """Quoted (True), left out (False), or not judged yet (None)."""
        if ev.key not in asked:
            return True
        scores = [known.get((q, ev.text)) for q in asked[ev.key]]
        if any(p is not None and p >= floor for p in scores):
            return True
        return False if all(p is not None for p in scores) else None

    shown = ""
    # to be judged: for a question not judged yet, where no other part passed it
    pending = [(q, ev) for q, ev in others if (q, ev.text) not in known and not verdict(ev)]
    before = []  # the quotes before the first still to be judged
    for ev in quotes:
        v = verdict(ev)
        if v is None:
            break
        if v:
            before.append(ev)
    if pending and before and not shown_before:
        compose.fill_quotes(result, before, reason)
        shown = result.text
        yield shown
    t = time.perf_counter()
    unjudged: set[str] = set()
    for q, ev in pending:
        # passed for another part already: quoted, not asked again
        if (q, ev.text) in known or ev.key in unjudged or verdict(ev):
            continue
        try:
            p = yes(q, ev)
        except Exception:
            # a dead server would make every further quote wait out its timeout: those not
            # judged yet are quoted unjudged, as before the judge
            log.warning("judging a quote failed; it is shown unjudged", exc_info=True)
            unjudged.update(e.key for pq, e in pending if (pq, e.text) not in known)
            break
        if p is None:  # a backend without token probabilities: quoted unjudged
            unjudged.add(ev.key)
        else:
            known[(q, ev.text)] = p
    if pending:
        timings["judge_other"] = time.perf_counter() - t
    final = [ev for ev in quotes if ev.key in unjudged or verdict(ev) is not False]
    compose.fill_quotes(result, final, reason)
    return shown
