"""Decide, in one place: an answer, the sources' own words, or a refusal, and which rule fired.

Refusals come only from the evidence (nothing close enough to the question; a name the question
brings that no evidence passage holds) or from the reader's explicit "none" where the evidence
is weak too. When the reader found nothing, or its span failed verification, while the
evidence is strong, the best evidence sentences are shown as quotes, marked as such: what the
sources hold is never lost to a weak reader. Where the judge passed a sentence without
confidence (below ``judge_confident``), nothing is drawn from it either: the sentences it judged
are shown as the sources' words, since answers drawn from such sentences are as often wrong as
right (docs/decisions.md, "The judge's confidence").
"""

from __future__ import annotations

from dataclasses import dataclass

from .calibration import Calibration
from .types import Evidence


@dataclass(frozen=True)
class Decision:
    kind: str  # "answer", "quotes" or "refusal"
    reason: str | None = None  # the rule that fired; None for a verified answer


def before_reading(
    evidence: list[Evidence], premise: list[str], calibration: Calibration
) -> Decision | None:
    """A refusal that no reader can change (checked before any model call), else ``None``."""
    if not evidence or evidence[0].score < calibration.min_evidence:
        return Decision("refusal", "no evidence")
    if premise:
        return Decision("refusal", f"premise not in sources: {', '.join(premise)}")
    return None


def after_reading(
    evidence: list[Evidence],
    *,
    answered: bool,
    reader_none: bool,
    failures: list[str],
    calibration: Calibration,
    error: str | None = None,
    extractive: bool = False,
    judged_out: bool = False,
    unsure: str | None = None,
) -> Decision:
    """After reading and verification: ``answered`` when some part has a verified span;
    ``judged_out`` when the generator judged that a sentence in line to be read does not
    answer: then nothing is quoted either, the evidence being about something else;
    ``unsure`` (why) when the judge passed a sentence without confidence: nothing is drawn from
    it, the judged sentences are shown as the sources' words."""
    if answered:
        return Decision("answer")
    if extractive:
        return Decision("quotes", "extractive backend")
    if error:
        return Decision("quotes", "generator error")
    if unsure:
        return Decision("quotes", unsure)
    strong = bool(evidence) and evidence[0].score >= calibration.strong
    if reader_none and not failures:
        return Decision("quotes" if strong else "refusal", "reader found nothing")
    reason = "not verified: " + "; ".join(failures) if failures else "reader copied nothing"
    return Decision("quotes" if strong and not judged_out else "refusal", reason)
