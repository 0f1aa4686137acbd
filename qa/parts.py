"""Each part of a question judged, read and verified: the stages judge (qa.judge) -> read
(qa.read) -> verify (qa.verify) for every part, in one place.

A question has one part or several (qa.question.parts: "Who signed it, and what does it provide
for?" has two); a yes/no question that attributes claims to named sources has one part a claim
(qa.mentions). For each part the judge takes one of its best sentences (or none: then nothing
is read or quoted); a sentence taken without confidence is not read but kept to be quoted
(qa.unsure); an open question gets the sentence taken, whole; otherwise the reader copies the
answering words, each span verified. What every part gave is one typed :class:`Outcome`, which
the decision (qa.decide) and the composition (qa.compose) take; the model calls come in as
:class:`Calls`, so this module holds no model, only the order of the steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field

from fundstelle.core.errors import BackendError
from fundstelle.core.settings import Settings

from . import compose, likelihood, read, verify
from .calibration import Calibration
from .mentions import SourceClaim
from .question import expected_kind, is_yes_no
from .types import Evidence, Span

# the judge: (question, sentences, index where there is no judge, this answer's judgements)
# -> (index of the sentence taken or None, its P(yes) or None)
Judge = Callable[
    [str, list[Evidence], int | None, dict[tuple[str, str], float] | None],
    tuple[int | None, float | None],
]


@dataclass(frozen=True)
class Calls:
    """The model calls a reading makes (the engine's, so that one model serves them all)."""

    judge: Judge
    # the reader's raw reply as it arrives: (question, sentences, yes/no) -> text deltas
    read: Callable[[str, list[Evidence], bool], Iterator[str]]
    # the best sentences ordered by the question's likelihood (qa.likelihood)
    reorder: Callable[[str, list[Evidence]], list[Evidence]]


@dataclass
class Outcome:
    """What reading every part of a question gave."""

    verified: list[Span] = field(default_factory=list)  # spans that passed verification
    failures: list[str] = field(default_factory=list)  # why others did not
    nones: list[bool] = field(default_factory=list)  # per reading: the reader found nothing
    drafts: list[str] = field(default_factory=list)  # the reader's raw replies
    # the judge found that no best sentence of some part answers: nothing quoted for it
    judged_out: bool = False
    verdict: str | None = None  # a yes/no question's verdict, from its first part
    unsure: list[str] = field(default_factory=list)  # parts passed without confidence: why
    unsure_quotes: list[Evidence] = field(default_factory=list)  # their sentences, to quote
    # below the sentence taken: (the part's question, sentence), quoted only if judged to answer
    unsure_others: list[tuple[str, Evidence]] = field(default_factory=list)
    unsure_kept: set[str] = field(default_factory=set)  # taken, or ranked above one taken
    # each part's sentences in the order the judge and reader took them
    ordered: list[list[Evidence]] = field(default_factory=list)
    error: str | None = None  # a backend that failed: what was read before it stands
    shown: str = ""  # the first part's answer text streamed while it was read


def read_parts(
    queries: Sequence[str],
    parts: list[list[Evidence]],
    *,
    claims: Sequence[SourceClaim],
    language: str,
    settings: Settings,
    calibration: Calibration,
    calls: Calls,
    known: dict[tuple[str, str], float] | None,
    timings: dict[str, float],
) -> Generator[str, None, Outcome]:
    """Judge, read and verify each part (``queries[i]`` with its sentences ``parts[i]``).

    Yields the first part's answer text as the reader copies it (a same-language reading only:
    a span to be translated is not shown before its translation); returns the :class:`Outcome`.
    A part is read from its best ``reader_sentences`` sentences; where the reader finds nothing
    there, or what it copies fails verification, the next ones are read, up to
    ``reader_tries`` readings. With ``claims`` each part is a claim: judged only, never read."""
    s = settings
    out = Outcome(ordered=list(parts))
    by_n = {ev.n: ev for part in parts for ev in part}  # what a span's sentence number names
    try:
        for i, (query, part_ev) in enumerate(zip(queries, parts, strict=False)):
            if claims:
                _judge_claim(out, i, query, part_ev, claims[i], s, calls)
                continue
            # the strength of the evidence stays the ranking's, whatever order follows
            best = part_ev[0].score if part_ev else 0.0
            if s.likelihood_sentences > 1 and likelihood.applies(
                part_ev[: s.likelihood_sentences], language, s.likelihood_scope
            ):
                t = time.perf_counter()
                part_ev = out.ordered[i] = calls.reorder(query, part_ev)
                timings["likelihood"] = timings.get("likelihood", 0.0) + (time.perf_counter() - t)
            yield from _read_part(
                out, i, query, part_ev, best, language, s, calibration, calls, known, by_n
            )
    except BackendError as exc:
        out.error = str(exc)
    return out


def _judge_claim(
    out: Outcome,
    i: int,
    query: str,
    part_ev: list[Evidence],
    claim: SourceClaim,
    s: Settings,
    calls: Calls,
) -> None:
    """A claim by source: its sentence when the judge finds one stating it. Without a judgement
    no claim counts as stated: "yes" needs every one."""
    judged = part_ev[: s.judge_sentences]
    chosen = calls.judge(query, judged, None, None)[0] if judged else None
    if chosen is None:
        out.failures.append(
            f"no sentence of {claim.publisher} is judged to state that {claim.text}"
        )
        out.judged_out = True
    else:
        out.verified.append(compose.sentence_span(part_ev[chosen], i))


def _read_part(
    out: Outcome,
    i: int,
    query: str,
    part_ev: list[Evidence],
    best: float,
    language: str,
    s: Settings,
    calibration: Calibration,
    calls: Calls,
    known: dict[tuple[str, str], float] | None,
    by_n: dict[int, Evidence],
) -> Iterator[str]:
    """One part of a question: judged, then its sentence taken whole or read, and verified
    (``best``: the ranking's score of its best sentence, the strength of its evidence)."""
    yes_no = is_yes_no(query)
    judged = part_ev[: s.judge_sentences]
    chosen, p = calls.judge(query, judged, 0, known) if judged else (0, None)
    if chosen is not None and p is not None and p < (s.judge_confident or 0.0):
        _keep_unsure(out, query, judged, chosen, p, s)
        return
    if chosen is None:
        # the generator judges that none of the best sentences answers: not read, not quoted
        # (their ranking was led by a shared name, not the question)
        out.failures.append(
            "the generator judges that sentence "
            + ", ".join(str(ev.n) for ev in judged)
            + " does not answer"
        )
        out.judged_out = True
        return
    if s.open_answers == "sentence" and part_ev and not yes_no and expected_kind(query) is None:
        # a question that asks for no value is answered by the sentence the judge passed,
        # whole: the small model's spans of it are fragments (docs/decisions.md)
        ev = part_ev[chosen]
        span = compose.sentence_span(ev, i)
        check = verify.check_span(span, ev, query, best, margin=calibration.relevance)
        if check.ok:
            out.verified.append(span)
        else:
            out.failures.append(check.reason)
        return
    # read in the ranking's order, the judge having passed one of the best: starting at the
    # sentence it took instead lost as many right answers as it won (docs/decisions.md, eighth
    # session)
    for start in range(
        0, min(len(part_ev), s.reader_sentences * s.reader_tries), s.reader_sentences
    ):
        seen = part_ev[start : start + s.reader_sentences]
        cross = any(ev.chunk.lang and ev.chunk.lang != language for ev in seen)
        raw = ""
        for delta in calls.read(query, seen, yes_no):
            raw += delta
            partial = read.partial_answer(raw)
            if (
                not cross
                and i == 0
                and len(partial) > len(out.shown)
                and partial.startswith(out.shown)
            ):
                yield partial[len(out.shown) :]
                out.shown = partial
        reading = read.parse(raw, seen)
        out.drafts.append(raw.strip())
        out.nones.append(reading.none)
        found = False
        for span in compose.spans_of(reading, i):
            check = verify.check_span(
                span,
                by_n[span.n],
                query,
                best,
                margin=calibration.relevance,
                verdict=reading.verdict if yes_no else None,
            )
            if check.ok:
                out.verified.append(span)
                found = True
            else:
                out.failures.append(check.reason)
        if found:
            if yes_no and i == 0:
                out.verdict = reading.verdict
            return


def _keep_unsure(
    out: Outcome, query: str, judged: list[Evidence], chosen: int, p: float, s: Settings
) -> None:
    """A sentence passed without confidence: what such sentences yield is as often wrong as
    right (docs/decisions.md), so nothing is drawn from it; it is kept to be quoted with the
    best-ranked other one, in the order judged. One ranked below the taken one is quoted only
    where the judge finds it may answer (qa.unsure); one ranked above always (the ranking's
    best held the answer the judge failed: seed dev g17, g28 in docs/decisions.md)."""
    out.unsure.append(
        f"the generator is unsure that sentence {judged[chosen].n} answers "
        f"(P(yes) {p:.2f} < {s.judge_confident:.2f})"
    )
    other = [j for j in range(len(judged)) if j != chosen][:1]
    quoted = {q.key for q in out.unsure_quotes}
    for j in sorted([chosen, *other]):
        if judged[j].key not in quoted:
            out.unsure_quotes.append(judged[j])
            quoted.add(judged[j].key)
        if j > chosen:
            out.unsure_others.append((query, judged[j]))
        else:  # taken, or above the one taken: quoted whatever else says
            out.unsure_kept.add(judged[j].key)
