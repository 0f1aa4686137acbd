"""The fundstelle command, in process (click's CliRunner) on a real store."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import CORPUS
from ui.cli import cli

BASES = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."


@pytest.fixture
def run(tmp_path: Path):
    store = tmp_path / "store"
    runner = CliRunner()

    def _run(*args: str, code: int = 0):
        result = runner.invoke(cli, ["--store", str(store), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return _run


def test_ingest_sources_remove(run, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out = run("ingest", str(corpus)).output
    assert "1 added" in out
    assert "0 added, 0 updated, 1 unchanged" in run("ingest", str(corpus)).output
    listing = run("sources").output
    assert "2026-01-07" in listing and "Koalition der Willigen" in listing and " de " in listing
    rows = [json.loads(line) for line in run("sources", "--json").output.splitlines()]
    assert rows[0]["n_chunks"] > 0 and rows[0]["lang"] == "de"
    assert "1 document(s) removed" in run("remove", str(corpus)).output
    assert "empty" in run("sources").output


def test_ingest_reports_skipped_files_and_fails(run, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "empty.txt").write_text("")
    result = run("ingest", str(corpus), code=1)
    assert "1 added" in result.output
    assert "empty.txt: empty file" in result.output


def test_errors_are_one_line_with_what_to_do(run, tmp_path: Path) -> None:
    result = run("ask", "anything", code=2)
    assert result.output.strip().count("\n") == 0
    assert "run 'fundstelle ingest corpus/' first" in result.output
    assert "no such file" in run("ingest", str(tmp_path / "missing"), code=2).output
    assert "not a date" in run("ask", "x", "--from", "yesterday", code=2).output


def test_ask_json_and_batch(run, tmp_path: Path) -> None:
    run("ingest", str(CORPUS))
    result = run(
        "ask", "--backend", "extractive", "--json", "Which countries plan bases in Ukraine?"
    )
    answer = json.loads(result.output)
    assert answer["citations"][0]["quote"] == BASES
    text = run("ask", "--backend", "extractive", "Which countries plan bases in Ukraine?").output
    assert "Sources:" in text and "[1]" in text and "chars" in text

    questions = tmp_path / "q.csv"
    questions.write_text(
        "id,question\na,Which countries plan bases in Ukraine?\nb,Wer vertrat die USA?\n"
    )
    out = tmp_path / "answers.jsonl"
    assert (
        "2 answered"
        in run("batch", str(questions), "-o", str(out), "--backend", "extractive").output
    )
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"] and all(x["error"] is None for x in lines)
    assert (
        "2 already answered"
        in run("batch", str(questions), "-o", str(out), "--backend", "extractive").output
    )
