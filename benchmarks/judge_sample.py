"""Blind samples of answers for a careful reader to judge, and the judged figures.

``sample`` draws answers from one or more eval reports (``eval/runs/*/report.json``), hides which
report (variant) each came from behind a random id, and writes them with everything a reader
needs to judge them: the question, the answer, each cited quote with its source words, and the
gold answer. ``score`` joins a reader's labels (JSON lines ``{"id", "answer": "right|partly|wrong|
refused", "citations": "supported|partly|unsupported|none"}``) back to the variants and prints
the judged figures per variant.

    python -m benchmarks.judge_sample sample RUN1/report.json RUN2/report.json --n 25 -o /tmp/s
    python -m benchmarks.judge_sample score /tmp/s/key.json /tmp/s/labels.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections import Counter
from pathlib import Path


def _seed_gold() -> dict[str, list[str]]:
    """The gold answers of the seed gold sets by id (their reports do not repeat them)."""
    out: dict[str, list[str]] = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "eval" / "gold").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                out[str(obj.get("id"))] = obj.get("answers") or ["(unanswerable: a refusal)"]
    return out


def _is_open(question: str) -> bool:
    """A question that asks for no value (what, why, how; no yes/no)."""
    from fundstelle.qa.question import expected_kind, is_yes_no

    return expected_kind(question) is None and not is_yes_no(question)


def sample(
    reports: list[Path],
    n: int,
    seed: int,
    out: Path,
    *,
    paired: bool = False,
    only_open: bool = False,
    only_changed: bool = False,
) -> None:
    """``paired``: the same questions (drawn from the first report) from every report, so that
    variants are compared on the same items; ``only_open``: questions that ask for no value;
    ``only_changed``: questions whose answer is not the same in every report (paired: where
    the variants agree, judging them tells nothing about the difference)."""
    rng = random.Random(seed)
    seed_gold = _seed_gold()
    items: list[dict] = []
    key: dict[str, str] = {}
    drawn: set[str] | None = None
    changed: set[str] | None = None
    if only_changed:
        answers: dict[str, set[str]] = {}
        for report in reports:
            data = json.loads(report.read_text(encoding="utf-8"))
            for r in data.get("items") or data.get("rows") or []:
                answers.setdefault(r["question"], set()).add(r.get("answer", ""))
        changed = {q for q, a in answers.items() if len(a) > 1}
        paired = True
    for report in reports:
        data = json.loads(report.read_text(encoding="utf-8"))
        rows = [r for r in data.get("items") or data.get("rows") or [] if "answer" in r]
        if only_open:
            rows = [r for r in rows if _is_open(r["question"])]
        if changed is not None:
            rows = [r for r in rows if r["question"] in changed]
        if paired and drawn is not None:
            picked = [r for r in rows if r["question"] in drawn]
        else:
            picked = rng.sample(rows, min(n, len(rows)))
            drawn = {r["question"] for r in picked}
        for r in picked:
            hidden = uuid.UUID(int=rng.getrandbits(128)).hex[:10]
            key[hidden] = str(report.parent.name)
            items.append(
                {
                    "id": hidden,
                    "question": r["question"],
                    "gold": r.get("gold") or r.get("answers") or seed_gold.get(str(r.get("id"))),
                    "answer": r["answer"],
                    "citations": r.get("citations_shown", r.get("citations", [])),
                }
            )
    rng.shuffle(items)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "items.jsonl").open("w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    (out / "key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")
    print(f"{len(items)} items -> {out / 'items.jsonl'} (key: {out / 'key.json'})")


def score(key_path: Path, labels_path: Path) -> None:
    key = json.loads(key_path.read_text(encoding="utf-8"))
    by_variant: dict[str, list[dict]] = {}
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label = json.loads(line)
            by_variant.setdefault(key[label["id"]], []).append(label)
    for variant, labels in sorted(by_variant.items()):
        answers = Counter(lab["answer"] for lab in labels)
        given = [lab for lab in labels if lab["answer"] != "refused"]
        cites = Counter(lab["citations"] for lab in given)
        n = len(labels)
        print(f"{variant}: {n} judged")
        print(
            "  answers: " + ", ".join(f"{k} {v} ({v / n:.2f})" for k, v in sorted(answers.items()))
        )
        if given:
            supported = cites.get("supported", 0) / len(given)
            print(
                f"  citations of the {len(given)} answers given: "
                + ", ".join(f"{k} {v}" for k, v in sorted(cites.items()))
                + f"; fully supported {supported:.2f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("reports", nargs="+", type=Path)
    s.add_argument("--n", type=int, default=25)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-o", "--out", type=Path, required=True)
    s.add_argument("--paired", action="store_true", help="the same questions from every report")
    s.add_argument("--only-open", action="store_true", help="questions that ask for no value")
    s.add_argument(
        "--only-changed", action="store_true", help="questions whose answers differ (paired)"
    )
    c = sub.add_parser("score")
    c.add_argument("key", type=Path)
    c.add_argument("labels", type=Path)
    args = ap.parse_args()
    if args.cmd == "sample":
        sample(
            args.reports,
            args.n,
            args.seed,
            args.out,
            paired=args.paired,
            only_open=args.only_open,
            only_changed=args.only_changed,
        )
    else:
        score(args.key, args.labels)


if __name__ == "__main__":
    main()
