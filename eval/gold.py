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


def _read(path: Path) -> str:
    if not path.exists():
        raise InputError(f"{path}: no such gold set")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a gold set file (JSON Lines)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text; a gold set is JSON Lines") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _facts(answers: object, where: str) -> tuple[tuple[str, ...], ...]:
    """Each fact's acceptable forms. A string is not a list here: "France" was scored as the
    facts F, r, a, n, c, e."""
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise InputError(
            f'{where}: "answers" must be a list of facts, each a text of forms joined by "|", '
            'e.g. ["France|Frankreich"]'
        )
    facts = tuple(tuple(a.strip() for a in fact.split("|") if a.strip()) for fact in answers)
    if any(not forms for forms in facts):
        raise InputError(f"{where}: an answer fact is empty")
    return facts


def load_gold(path: Path) -> list[GoldItem]:
    """The items of a gold set; :class:`InputError` for one that cannot be scored as it is."""
    items: list[GoldItem] = []
    for n, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise InputError(f"{where}: each line must be a JSON object (an item)")
        for key in ("id", "question"):
            if not obj.get(key):
                raise InputError(f'{where}: missing "{key}"')
        if not isinstance(obj["question"], str):
            raise InputError(f'{where}: "question" must be a text')
        unanswerable = bool(obj.get("unanswerable", False))
        answers = obj.get("answers") or []
        if not unanswerable and not answers:
            raise InputError(
                f'{where}: an answerable item needs "answers" (or set "unanswerable": true)'
            )
        items.append(
            GoldItem(
                id=str(obj["id"]),
                question=str(obj["question"]),
                facts=_facts(answers, where),
                evidence=str(obj.get("evidence") or ""),
                unanswerable=unanswerable,
                lang=obj.get("lang"),
                type=str(obj.get("type") or ("unanswerable" if unanswerable else "")),
            )
        )
    if not items:
        # scored, it reported perfect refusal precision
        raise InputError(f"{path} has no items; a gold set needs at least one")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: ids must be unique")
    return items
