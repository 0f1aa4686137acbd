"""Gold sets that cannot be scored are one-line errors (issue 22): an empty file reported perfect
refusal precision with exit status 0, "answers": "France" was scored letter by letter, and a
folder as the gold path ended in a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fundstelle.core.errors import InputError
from fundstelle.eval.gold import load_gold
from fundstelle.ui.cli import cli

pytestmark = pytest.mark.reliability

ITEM = {"id": "g1", "question": "Which countries plan bases in Ukraine?", "answers": ["France"]}


def _gold(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


@pytest.mark.parametrize(
    "lines,says",
    [
        ((), "no items"),
        (("", "   "), "no items"),
        (({**ITEM, "answers": "France"},), ':1: "answers" must be a list of facts'),
        (({**ITEM, "answers": ["France", 3]},), ':1: "answers" must be a list of facts'),
        ((ITEM, ["not", "an", "object"]), ":2: each line must be a JSON object"),
        (({**ITEM, "question": ["x"]},), ':1: "question" must be a text'),
        (({**ITEM, "answers": ["|"]},), ":1: an answer fact is empty"),
    ],
)
def test_a_gold_set_that_cannot_be_scored_is_an_error(
    tmp_path: Path, lines: tuple, says: str
) -> None:
    with pytest.raises(InputError, match=says.replace("|", r"\|")):
        load_gold(_gold(tmp_path, *lines))


def test_eval_names_the_problem_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    store = ["--store", str(tmp_path / "store")]
    for gold, says in [
        (_gold(tmp_path), "has no items; a gold set needs at least one"),
        (tmp_path, "is a folder; give a gold set file"),
    ]:
        result = runner.invoke(cli, [*store, "eval", str(gold), "--backend", "extractive"])
        assert result.exit_code == 2, result.output
        (line,) = result.output.strip().splitlines()
        assert line.startswith("Error: ") and says in line
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01\x80")
    result = runner.invoke(cli, [*store, "eval", str(binary), "--backend", "extractive"])
    assert result.exit_code == 2 and "not UTF-8 text" in result.output, result.output
