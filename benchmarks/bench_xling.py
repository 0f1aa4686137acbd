"""The re-rank across languages: sentences in another language than the question (and no
translation) scored by meaning alone (default) or also by shared words and chunk rank
(``FUNDSTELLE_RERANK_WORDS_ACROSS_LANGUAGES=1``, the behaviour before 2026-11-27).

    python -m benchmarks.bench_xling                  # XQuAD dev and the shipped corpus's gold set
    python -m benchmarks.bench_xling --split heldout  # report only: never tune on articles 24-47

Rows: XQuAD (English questions over German paragraphs) hit@1 / hit@5 of ``Engine.retrieve``;
on the shipped corpus, how many answerable gold questions get their evidence in the re-ranked
first passage (answers do not use the re-rank; they are not affected).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval import metrics as m
from fundstelle.eval.benchmarks import xquad_xling
from fundstelle.eval.datasets import SHIPPED_CORPUS
from fundstelle.eval.gold import DEFAULT_GOLD, load_gold
from fundstelle.ingest.pipeline import ingest
from fundstelle.qa.engine import Engine


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--split", choices=["dev", "heldout"], default="dev")
    args = ap.parse_args()
    store = Path(tempfile.mkdtemp(prefix="fundstelle-bench-")) / "store"
    ingest([SHIPPED_CORPUS], Settings(store_path=store))
    gold = [it for it in load_gold(DEFAULT_GOLD) if not it.unanswerable]
    print(
        f"{'sentences across languages':<32} {'XQuAD ' + args.split + ' hit@1 / hit@5':>26} "
        f"{'gold: evidence first':>22}"
    )
    for words in (False, True):
        run = xquad_xling(
            Settings(rerank_words_across_languages=words), split=args.split, answer=False
        )
        engine = Engine(
            Settings(store_path=store, backend="extractive", rerank_words_across_languages=words)
        )
        first = sum(
            m.first_hit_rank(
                [p.chunk.text for p in engine.retrieve(it.question).passages], [it.evidence]
            )
            == 1
            for it in gold
        )
        label = "words and rank count" if words else "meaning alone (default)"
        xq = f"{run.summary['hit@1']:.3f} / {run.summary['hit@5']:.3f}"
        print(f"{label:<32} {xq:>26} {f'{first} of {len(gold)}':>22}")


if __name__ == "__main__":
    main()
