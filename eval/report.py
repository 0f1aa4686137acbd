"""Evaluation reports: a JSON file, a Markdown report and a PNG chart, with deltas to a previous run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

# metrics where lower is better (for the sign of deltas in the report)
_LOWER_IS_BETTER = ("_p50_s", "_p95_s", "wrong_refusal_rate")
CHART_METRICS = (
    "correct",
    "correct_cited",
    "unanswerable_refused",
    "citation_precision",
    "citation_recall",
    "hit@1",
    "hit@5",
    "hits@10",
    "mrr@10",
    "accuracy",
    "null_refused",
)


def latest_run(runs_dir: Path, kind: str) -> Path | None:
    """The newest earlier report of the same kind, to compare against."""
    found = sorted(runs_dir.glob(f"*-{kind}/report.json"))
    return found[-1] if found else None


def deltas(summary: dict[str, float], previous: dict[str, float]) -> dict[str, float]:
    return {
        k: float(v) - float(previous[k])
        for k, v in summary.items()
        if k in previous and isinstance(v, int | float) and isinstance(previous[k], int | float)
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _delta_cell(key: str, d: float | None) -> str:
    if d is None or abs(d) < 1e-9:
        return ""
    better = d < 0 if key.endswith(_LOWER_IS_BETTER) else d > 0
    return f"{d:+.3f} {'▲' if better else '▼'}"


def write_report(
    out_dir: Path,
    kind: str,
    summary: dict[str, float],
    rows: list[dict[str, Any]],
    config: dict[str, Any],
    *,
    previous: Path | None = None,
    failures: list[dict[str, Any]] | None = None,
    columns: tuple[str, ...] = (),
) -> dict[str, Path]:
    """Write report.json, report.md and metrics.png into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prev_summary: dict[str, float] = {}
    if previous and previous.exists():
        prev_summary = json.loads(previous.read_text())["summary"]
    d = deltas(summary, prev_summary)
    data = {
        "kind": kind,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "config": config,
        "summary": summary,
        "previous": str(previous) if previous else None,
        "deltas": d,
        "items": rows,
    }
    paths = {
        "json": out_dir / "report.json",
        "md": out_dir / "report.md",
        "png": out_dir / "metrics.png",
    }
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))

    md = [f"# Fundstelle evaluation: {kind}", "", f"{data['created']}", ""]
    md.append("Configuration: " + ", ".join(f"`{k}={v}`" for k, v in config.items()))
    md += ["", "## Summary", ""]
    md.append(
        "| metric | value | change since previous run |" if prev_summary else "| metric | value |"
    )
    md.append("|---|---|---|" if prev_summary else "|---|---|")
    for k, v in summary.items():
        if prev_summary:
            md.append(f"| {k} | {_fmt(v)} | {_delta_cell(k, d.get(k))} |")
        else:
            md.append(f"| {k} | {_fmt(v)} |")
    if previous:
        md += ["", f"Compared with `{previous}`."]
    if rows and columns:
        md += [
            "",
            "## Per question",
            "",
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns),
        ]
        for r in rows:
            cells = [
                _fmt(r.get(c, "")).replace("|", "\\|").replace("\n", " ")[:140] for c in columns
            ]
            md.append("| " + " | ".join(cells) + " |")
    if failures:
        md += ["", "## Failures", ""]
        for f in failures:
            md.append(f"### {f.get('id', '')}: {f.get('question', '')}")
            md.append("")
            md.append(f"- outcome: **{f.get('outcome', '')}**; answer: {f.get('answer', '')}")
            if f.get("error"):
                md.append(f"- error: {f['error']}")
            for i, p in enumerate(f.get("passages", [])[:3], start=1):
                text = str(p.get("text", "")).replace("\n", " ")[:400]
                md.append(f"- passage {i} ({p.get('title', '')}): {text}")
            md.append("")
    paths["md"].write_text("\n".join(md) + "\n")
    _chart(paths["png"], kind, summary, prev_summary)
    return paths


def _chart(path: Path, kind: str, summary: dict[str, float], previous: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in CHART_METRICS if k in summary]
    if not keys:
        keys = [k for k, v in summary.items() if isinstance(v, float) and 0 <= v <= 1][:10]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(keys)), 4))
    xs = range(len(keys))
    width = 0.38 if previous else 0.6
    ax.bar(
        [x - (width / 2 if previous else 0) for x in xs],
        [summary[k] for k in keys],
        width,
        label="this run",
    )
    if previous:
        ax.bar(
            [x + width / 2 for x in xs],
            [previous.get(k, 0) for k in keys],
            width,
            label="previous",
            alpha=0.6,
        )
        ax.legend()
    ax.set_xticks(list(xs))
    ax.set_xticklabels(keys, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Fundstelle: {kind}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
