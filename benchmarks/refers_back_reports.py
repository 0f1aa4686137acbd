"""How often an answer cites a sentence that refers back, and the gold stands only in the
sentence before it, read off XQuAD answer reports (no model run; seconds).

    python -m benchmarks.refers_back_reports eval/runs/s37/xq-dev-other/report.json \\
        eval/runs/s37/xq2-dev-other/report.json

For each answer (not refused) its first quote is found in its XQuAD paragraph, and the sentence
before it taken as the chunker splits it. Counted by trigger (a demonstrative in the quote, "these
devices"; any word that may point back, as ``bench_judge --context``): outcomes, whether the gold
stands in the quote and in the sentence before. An answer that showed the sentence before too
(tried 2026-12-03, eighteenth session) could only gain where the gold stands in the sentence
before and not in the quote.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter

from fundstelle.core.settings import Settings
from fundstelle.eval import datasets as d
from fundstelle.ingest.chunker import sentence_units

from benchmarks.bench_judge import refers_back

_DEMONSTRATIVE = re.compile(
    r"\b(this|these|those|such|diese[mnrs]?|jene[mnrs]?|solche[mnrs]?)\b", re.IGNORECASE
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+")
    args = ap.parse_args()
    # development articles only: the reports are of the development split
    articles, _ = d.xquad(d.DEV_ARTICLES, Settings().data_dir)
    paragraphs = [p for a in articles for p in a.paragraphs_de]
    rows = []
    for path in args.reports:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        for item in report["items"]:
            if item["refused"] or not item["citations"]:
                continue
            quote = item["citations"][0]["quote"]
            paragraph = next((p for p in paragraphs if quote in p), None)
            if paragraph is None:
                continue
            begin = paragraph.index(quote)
            before = [paragraph[s:e] for s, e in sentence_units(paragraph, 400) if e <= begin]
            previous = before[-1] if before else ""
            golds = [g.strip().lower() for g in item["gold"].split("|")]
            rows.append(
                {
                    "kind": item["kind"],
                    "correct": bool(item["correct"]),
                    "demonstrative": bool(_DEMONSTRATIVE.search(quote)),
                    "any": refers_back(quote),
                    "in_quote": any(g in quote.lower() for g in golds),
                    "in_previous": any(g in previous.lower() for g in golds),
                    "question": item["question"],
                }
            )
    print(f"{len(rows)} answers found in their paragraphs")
    for trigger in ("demonstrative", "any"):
        hit = [r for r in rows if r[trigger]]
        c = Counter((r["kind"], r["correct"], r["in_quote"], r["in_previous"]) for r in hit)
        print(f"{trigger}: {len(hit)} quotes")
        print("  (kind, correct, gold in the quote, gold in the sentence before): count")
        for key, n in sorted(c.items(), key=str):
            print(f"  {key}: {n}")
        gain = [r["question"] for r in hit if r["in_previous"] and not r["in_quote"]]
        print(f"  could gain ({len(gain)}): {gain}")


if __name__ == "__main__":
    main()
