"""What the translation floor (``FUNDSTELLE_TRANSLATION_MIN_LOGPROB``) did in one eval run, and
the same run's answers without it, from the report alone (no model).

Reports list each span's translation with its mean token log-probability and whether it was
shown (``translations``). A translation the floor kept out (under it, and kept by the name and
number check, so it would have been shown without the floor) left its source's words quoted;
``--write-off DIR`` writes a copy of the report whose answers show those translations instead,
exactly as the composer would (``„words“`` replaced by the translation), for a blind comparison
with ``benchmarks.judge_sample sample RUN/report.json DIR/report.json --paired --only-changed``.
Also prints how many translations each floor would keep out.

    python -m benchmarks.translation_floor eval/runs/X/report.json --write-off /tmp/off
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.qa import verify

FLOORS = (-0.6, -0.5, -0.45, -0.4, -0.37, -0.33, -0.3, -0.25)


def kept_out(t: dict, floor: float, language: str = "en") -> bool:
    """A translation the floor alone kept out of the answer."""
    return (
        not t["shown"]
        and bool(t["translation"])
        and t["logprob"] is not None
        and t["logprob"] < floor
        and verify.translation_kept(t["words"], t["translation"], language)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("--floor", type=float, default=Settings().translation_min_logprob)
    ap.add_argument("--write-off", type=Path, help="folder for the report without the floor")
    args = ap.parse_args()
    report = json.loads(args.report.read_text(encoding="utf-8"))
    items = report["items"]
    every = [t for it in items for t in it.get("translations", [])]
    checked = [t for t in every if t["logprob"] is not None and t["translation"]]
    passing = [t for t in checked if verify.translation_kept(t["words"], t["translation"], "en")]
    print(f"translations {len(every)}, with probabilities {len(checked)}, ", end="")
    print(f"keeping names and numbers {len(passing)}")
    for floor in FLOORS:
        print(f"floor {floor:5.2f}: keeps out {sum(t['logprob'] < floor for t in passing)}")
    off = copy.deepcopy(report)
    changed = 0
    for it in off["items"]:
        answer = it["answer"]
        for t in it.get("translations", []):
            if kept_out(t, args.floor) and f"„{t['words']}“" in answer:
                answer = answer.replace(f"„{t['words']}“", t["translation"], 1)
        if answer != it["answer"]:
            it["answer"], changed = answer, changed + 1
    print(f"answers that show their source's words because of the floor {args.floor}: {changed}")
    if args.write_off:
        args.write_off.mkdir(parents=True, exist_ok=True)
        path = args.write_off / "report.json"
        path.write_text(json.dumps(off, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"without the floor: {path}")


if __name__ == "__main__":
    main()
