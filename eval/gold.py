"""Gold sets: questions with their required facts, the evidence quote, and unanswerable items.

Format (JSON Lines, one item per line)::

    {"id": "g01", "question": "Which countries plan bases in Ukraine?", "lang": "en",
     "answers": ["United Kingdom|Britain|UK|Großbritannien", "France|Frankreich"],
     "evidence": "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, ...",
     "type": "multi", "unanswerable": false}

``answers`` lists the required facts; each fact is a ``|``-separated list of acceptable forms.
``evidence`` is a verbatim quote from a source. Unanswerable items have ``"unanswerable": true``
and no answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fundstelle.core.errors import InputError

DEFAULT_GOLD = Path(__file__).resolve().parent / "gold" / "seed-dev.jsonl"
# written apart from the development part, never tuned on: report only
TEST_GOLD = Path(__file__).resolve().parent / "gold" / "seed-test.jsonl"


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    facts: tuple[tuple[str, ...], ...] = ()
    evidence: str = ""
    unanswerable: bool = False
    lang: str | None = None
    type: str = ""
    extra: dict = field(default_factory=dict, compare=False)


def load_gold(path: Path) -> list[GoldItem]:
    if not path.exists():
        raise InputError(f"{path}: no such gold set")
    items: list[GoldItem] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        for key in ("id", "question"):
            if not obj.get(key):
                raise InputError(f'{path}:{n}: missing "{key}"')
        unanswerable = bool(obj.get("unanswerable", False))
        answers = obj.get("answers") or []
        if not unanswerable and not answers:
            raise InputError(
                f'{path}:{n}: an answerable item needs "answers" (or set "unanswerable": true)'
            )
        items.append(
            GoldItem(
                id=str(obj["id"]),
                question=str(obj["question"]),
                facts=tuple(
                    tuple(a.strip() for a in str(fact).split("|") if a.strip()) for fact in answers
                ),
                evidence=str(obj.get("evidence") or ""),
                unanswerable=unanswerable,
                lang=obj.get("lang"),
                type=str(obj.get("type") or ("unanswerable" if unanswerable else "")),
            )
        )
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: ids must be unique")
    return items
