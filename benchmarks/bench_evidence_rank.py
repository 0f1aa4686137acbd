"""How the evidence sentences are ranked for the reader, on the passages ``ask`` retrieves.

For each question of a development set the passages are retrieved once, as ``ask`` retrieves
them; then the sentences are ranked by each scoring variant, and the share of questions whose
gold answer is in the first 1, 2 and 4 evidence sentences is printed. No generator runs (only
the embedding model), so every variant is cheap to compare:

    python -m benchmarks.bench_evidence_rank --dataset germanquad
    python -m benchmarks.bench_evidence_rank --dataset xquad-de --limit 300

Development sets only (benchmarks/devsets.py).
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from typing import Any

import numpy as np
from fundstelle.eval import metrics as m
from fundstelle.qa.calibration import Calibration
from fundstelle.qa.evidence import EvidenceSelector, is_evidence

from benchmarks.devsets import dev_engine

_CAL = Calibration()

VARIANTS: dict[str, dict[str, Any]] = {
    "before 2026-12-01": {},
    "chosen: idf, rank 0.02": {"idf": True, "rank_weight": 0.02},
    "+ idf": {"idf": True},
    "rank 0.05": {"rank_weight": 0.05},
    "+ idf, rank 0.05": {"idf": True, "rank_weight": 0.05},
    "+ idf, rank 0": {"idf": True, "rank_weight": 0.0},
    # what ask ranks with: the default embedder's calibration (qa/calibration.py)
    "default (ask): idf, calibrated weights": {
        "idf": True,
        "lexical_weight": _CAL.lexical_weight,
        "rank_weight": _CAL.rank_weight,
        "kind_weight": _CAL.kind_weight,
    },
    "+ idf, rank 0.02, context 0.1": {"idf": True, "rank_weight": 0.02, "context_weight": 0.1},
}


class _Neighbour(EvidenceSelector):
    """Tried 2026-12-02 (docs/decisions.md): a sentence raised towards the score of the better
    sentence before it in its passage, by ``beta`` of the difference (the sentence that names
    the subject is ranked first, its neighbour answers)."""

    def __init__(self, embedder: Any, beta: float, **kw: Any) -> None:
        super().__init__(embedder, **kw)
        self.beta = beta

    def score(self, question: str, passages: Any, translations: Any = None, **kw: Any) -> Any:
        out = super().score(question, passages, translations, **kw)
        base = {id(ev): ev.score for ev in out}
        order = sorted(out, key=lambda ev: (ev.chunk.chunk_id, ev.start))
        for a, b in pairwise(order):
            if a.chunk.chunk_id == b.chunk.chunk_id and base[id(a)] > base[id(b)]:
                b.score = base[id(b)] + self.beta * (base[id(a)] - base[id(b)])
        out.sort(key=lambda ev: -ev.score)
        for n, ev in enumerate(out, start=1):
            ev.n = n
        return out


NEIGHBOUR = (0.3, 0.5, 0.7)


class _Context(EvidenceSelector):
    """Tried 2026-12-02 (ninth session): a sentence's meaning scored also with its context
    embedded beside it: the document's title before it (``title``) or the sentence before it in
    its passage (``previous``); ``mode`` ``max`` takes the better of the plain and the
    contextual similarity, ``mix`` adds ``gamma`` times their difference."""

    def __init__(self, embedder: Any, context: str, mode: str, gamma: float = 0.5, **kw: Any):
        super().__init__(embedder, **kw)
        self.context, self.mode, self.gamma = context, mode, gamma

    def score(self, question: str, passages: Any, translations: Any = None, **kw: Any) -> Any:
        out = super().score(question, passages, translations, **kw)
        if not out:
            return out
        q = self.embedder.encode_query(question)
        vectors = self.vectors.encode([ev.text for ev in out])
        plain = vectors @ q
        sims = []
        if self.context in ("title", "both"):
            titled = [f"{ev.chunk.title}: {ev.text}" if ev.chunk.title else ev.text for ev in out]
            sims.append(self.vectors.encode(titled) @ q)
        if self.context in ("previous", "both"):
            before: dict[int, str] = {}
            order = sorted(out, key=lambda ev: (ev.chunk.chunk_id, ev.start))
            for a, b in pairwise(order):
                if a.chunk.chunk_id == b.chunk.chunk_id:
                    before[id(b)] = a.text
            previous = [
                f"{before[id(ev)]} {ev.text}" if id(ev) in before else ev.text for ev in out
            ]
            sims.append(self.vectors.encode(previous) @ q)
        if self.context == "title-vector":
            # no new text embedded: the sentence's vector plus gamma times its title's vector
            titles = self.vectors.encode([ev.chunk.title or ev.text for ev in out])
            mixed = vectors + self.gamma * titles
            mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
            sims.append(mixed @ q)
        contextual = np.max(np.stack(sims), axis=0)
        for ev, p, c in zip(out, plain, contextual, strict=True):
            if self.mode == "max":
                ev.score += self.semantic_weight * (max(float(p), float(c)) - float(p))
            else:
                ev.score += self.semantic_weight * self.gamma * (float(c) - float(p))
        out.sort(key=lambda ev: -ev.score)
        for n, ev in enumerate(out, start=1):
            ev.n = n
        return out


CONTEXT = (
    ("title", "max", 0.5),
    ("title", "mix", 1.0),
    ("previous", "max", 0.5),
    ("both", "max", 0.5),
    ("both", "mix", 1.0),
    ("title-vector", "max", 0.3),
    ("title-vector", "max", 0.6),
    ("title-vector", "max", 1.0),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="germanquad")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--translate",
        action="store_true",
        help="the question translated by the generator for keyword search and shared words",
    )
    args = ap.parse_args()
    engine, items = dev_engine(args.dataset, args.limit, args.seed, args.translate)
    selectors = {
        name: EvidenceSelector(engine.retriever.embedder, **kw) for name, kw in VARIANTS.items()
    }
    for beta in NEIGHBOUR:
        selectors[f"chosen, neighbour {beta}"] = _Neighbour(
            engine.retriever.embedder, beta, idf=True, rank_weight=0.02
        )
    for context, mode, gamma in CONTEXT:
        selectors[f"default, {context} {mode} {gamma}"] = _Context(
            engine.retriever.embedder,
            context,
            mode,
            gamma,
            idf=True,
            rank_weight=0.02,
            kind_weight=0.10,
        )
    for sel in selectors.values():
        sel.vectors = engine.selector.vectors  # one cache of sentence vectors for all
    hits = {name: {1: 0, 2: 0, 4: 0} for name in selectors}
    passages_hold = 0
    for question, forms in items:
        retrieval, translations = engine._retrieve(question, None, None)
        passages = retrieval.passages
        passages_hold += any(m.fact_present(p.chunk.text, forms) for p in passages)
        for name, sel in selectors.items():
            ranked = [
                ev
                for ev in sel.score(question, passages, translations or None)
                if is_evidence(ev.text)
            ]
            holds = [m.fact_present(ev.text, forms) for ev in ranked[:4]]
            for k in (1, 2, 4):
                hits[name][k] += any(holds[:k])
    n = len(items)
    print(
        f"{args.dataset}: {n} questions, translation {'on' if args.translate else 'off'}; "
        f"gold in the retrieved passages: {passages_hold / n:.3f}"
    )
    print("| scoring | top-1 | top-2 | top-4 |")
    print("|---|---|---|---|")
    for name, h in hits.items():
        print(f"| {name} | {h[1] / n:.3f} | {h[2] / n:.3f} | {h[4] / n:.3f} |")


if __name__ == "__main__":
    main()
