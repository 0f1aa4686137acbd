import json
from pathlib import Path

import pytest
from fundstelle.core.errors import InputError
from fundstelle.core.settings import Settings
from fundstelle.qa.batch import read_questions, run_batch
from fundstelle.qa.engine import Engine

from tests.helpers.scripted import ScriptedChatModel


def test_read_questions_in_three_formats(tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_text("# comment\nFirst?\n\nSecond?\nFirst?\n")
    (tmp_path / "q.jsonl").write_text('{"id": 7, "question": "First?"}\n{"question": "Second?"}\n')
    (tmp_path / "q.csv").write_text("question\nFirst?\nSecond?\n")
    txt = read_questions(tmp_path / "q.txt")
    assert [q.question for q in txt] == ["First?", "Second?"]
    assert next(q.id for q in read_questions(tmp_path / "q.jsonl")) == "7"
    assert [q.question for q in read_questions(tmp_path / "q.csv")] == ["First?", "Second?"]
    assert txt[0].id == read_questions(tmp_path / "q.csv")[0].id, "ids come from the question"


def test_bad_question_files(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"q": 1}\n')
    with pytest.raises(InputError, match='"question"'):
        read_questions(tmp_path / "bad.jsonl")
    (tmp_path / "q.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match=r"\.txt, \.jsonl or \.csv"):
        read_questions(tmp_path / "q.xlsx")


def test_a_failing_question_is_recorded_and_the_run_resumes(
    seed_settings: Settings, tmp_path: Path
) -> None:
    good = json.dumps({"sentence": 0})  # one reading each: nothing found, the sources' words
    model = ScriptedChatModel(replies=[good])  # the second question finds no reply: it fails
    # no translation call: the script holds the reader's replies only
    engine = Engine(
        seed_settings.with_overrides(reader_tries=1, translate_queries=False), chat_model=model
    )
    (tmp_path / "q.txt").write_text(
        "Which countries plan bases in Ukraine?\nWhich countries could plan bases?\n"
    )
    questions = read_questions(tmp_path / "q.txt")
    out = tmp_path / "a.jsonl"
    counts = run_batch(engine, questions, out)
    assert counts == {"done": 1, "failed": 1, "skipped": 0}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[1]["error"] and "ran out of replies" in rows[1]["error"]
    model.replies.append(good)
    counts = run_batch(engine, questions, out)
    assert counts == {"done": 1, "failed": 0, "skipped": 1}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 2 and all(r["error"] is None for r in rows)
