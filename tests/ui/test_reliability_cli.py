"""Reliability of the ``fundstelle`` command (issue 16): bad question files, output paths,
options and questions give one-line errors; a date filter says what it left out; a mistyped
store is not created; odd file names keep the table intact; ``fundstelle ui`` stops on SIGTERM.
In process (click's CliRunner) on real stores, and as real processes where signals matter."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from fundstelle.ui.cli import cli

from tests.conftest import CORPUS
from tests.fixtures.processes import ROOT, fundstelle

pytestmark = pytest.mark.reliability

BASES = "Which countries plan bases in Ukraine?"
LIGHTHOUSE = "The lighthouse of Kiel was painted green by Anna Berg in the spring."


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()

    def _run(*args: str, code: int = 0, store: Path | None = None):
        result = runner.invoke(
            cli, ["--store", str(store or tmp_path / "store"), *args], catch_exceptions=False
        )
        assert result.exit_code == code, result.output
        return result

    return _run


def _one_line_error(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


def test_question_files_in_utf16_or_latin1_are_read(run, tmp_path: Path) -> None:
    run("ingest", str(CORPUS))
    questions = "Which countries plan bases in Ukraine?\nWer äußerte sich zur Schutztruppe?\n"
    for name, data in [
        ("utf16.txt", questions.encode("utf-16")),  # with a BOM, as Windows writes it
        ("latin1.txt", questions.encode("latin-1")),
        ("cp1252.csv", ("question\n" + questions.replace("?", " „so“?")).encode("cp1252")),
    ]:
        (tmp_path / name).write_bytes(data)
        out = tmp_path / f"{name}.jsonl"
        run("batch", str(tmp_path / name), "-o", str(out), "--backend", "extractive")
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["error"] for r in rows] == [None, None], name
        assert rows[1]["question"].startswith("Wer äußerte sich"), name
    (tmp_path / "utf16-no-bom.txt").write_bytes(questions.encode("utf-16-le"))
    error = _one_line_error(
        run("batch", str(tmp_path / "utf16-no-bom.txt"), "-o", str(out), code=2).output
    )
    assert "binary file, not text (a NUL byte at byte 1); save the questions as UTF-8" in error


def test_batch_output_that_cannot_be_written_is_a_one_line_error(run, tmp_path: Path) -> None:
    run("ingest", str(CORPUS))
    questions = tmp_path / "q.txt"
    questions.write_text(BASES + "\n")
    folder = tmp_path / "answers"
    folder.mkdir()
    assert "is a folder; give a file for the answers" in _one_line_error(
        run("batch", str(questions), "-o", str(folder), code=2).output
    )
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    for target in (a_file / "answers.jsonl", Path("/dev/null/answers.jsonl")):
        assert "cannot write the answers to" in _one_line_error(
            run("batch", str(questions), "-o", str(target), code=2).output
        )


@pytest.mark.parametrize("value", ["0", "-5", "51"])
def test_out_of_range_k_is_a_one_line_error(run, value: str) -> None:
    run("ingest", str(CORPUS))
    error = _one_line_error(run("ask", "--k", value, BASES, code=2).output)
    assert f"--k {value} is not allowed" in error and "give another value" in error


def test_an_invalid_setting_in_the_environment_is_a_one_line_error(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNDSTELLE_K", "0")
    error = _one_line_error(run("sources", code=2).output)
    assert "FUNDSTELLE_K '0' is not allowed" in error


@pytest.mark.parametrize("question", ["", "   ", "?!?", "…"])
def test_ask_refuses_an_empty_question(run, question: str) -> None:
    run("ingest", str(CORPUS))
    assert "the question is empty" in _one_line_error(
        run("ask", "--backend", "extractive", question, code=2).output
    )


def test_ask_refuses_a_very_long_question_at_once(run) -> None:
    run("ingest", str(CORPUS))
    t = time.perf_counter()
    error = _one_line_error(run("ask", "--backend", "extractive", "Who? " * 4000, code=2).output)
    assert "the limit is 1,500" in error and time.perf_counter() - t < 5


def test_a_bad_question_in_a_batch_is_an_error_row(run, tmp_path: Path) -> None:
    run("ingest", str(CORPUS))
    questions = tmp_path / "q.jsonl"
    rows = [{"id": "ok", "question": BASES}, {"id": "dots", "question": "..."}]
    rows.append({"id": "long", "question": "Who? " * 4000})
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "a.jsonl"
    result = run("batch", str(questions), "-o", str(out), "--backend", "extractive", code=1)
    assert "1 answered, 2 failed" in result.output
    got = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert got["ok"]["error"] is None and got["ok"]["answer"]["citations"]
    assert got["dots"]["error"].startswith("the question is empty")
    assert "the limit is 1,500" in got["long"]["error"]


def test_a_mistyped_store_is_not_created(run, tmp_path: Path) -> None:
    run("ingest", str(CORPUS))
    typo = tmp_path / "stroe"
    for args in (("sources",), ("ask", "--backend", "extractive", BASES), ("remove", "x")):
        error = _one_line_error(run(*args, code=2, store=typo).output)
        assert f"no Fundstelle store at {typo}; run 'fundstelle ingest" in error
    assert not typo.exists()


def test_a_date_filter_says_how_many_undated_documents_it_left_out(run, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "harbour.md").write_text(
        "---\ntitle: Harbour\ndate: 2026-01-05\nlang: en\n---\nThe harbour of Kiel expects ships.\n"
    )
    (corpus / "lighthouse.txt").write_text(LIGHTHOUSE)
    (corpus / "bakery.txt").write_text("The bakery of Kiel sells rye bread every morning.")
    run("ingest", str(corpus))
    q = "Who painted the lighthouse of Kiel green?"
    args = (
        "ask",
        "--backend",
        "extractive",
        "--json",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
    )
    result = run(*args, q)
    assert "the date filter left out 2 undated document(s); add --include-undated" in result.stderr
    answer = json.loads(result.stdout)  # the note does not break the JSON
    assert all(c["title"] == "Harbour" for c in answer["citations"])
    result = run(*args, "--include-undated", q)
    assert "left out" not in result.stderr
    assert json.loads(result.stdout)["citations"][0]["quote"] == LIGHTHOUSE


def test_control_characters_in_names_keep_the_sources_table_intact(run, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "two\nlines.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    (corpus / "esc.md").write_text('---\ntitle: "Red \\e[31malert\\nnext"\n---\nA short text.\n')
    run("ingest", str(corpus))
    table = run("sources").output.splitlines()
    assert len(table) == 1 + 2 * 2 + 1  # header, two lines per document, total
    assert any(line.endswith("two\\nlines.txt") for line in table)
    assert any("Red \\x1b[31malert\\nnext" in line for line in table)
    assert not any("\x1b" in line for line in table)
    removed = run("remove", str(corpus / "two\nlines.txt")).output
    assert "two\\nlines.txt" in removed


def test_malformed_front_matter_is_a_warning_with_exit_status_0(run, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "bad.md").write_text("---\ntitle: [unclosed\n---\nSome text about ferries.\n")
    result = run("ingest", str(corpus))
    assert "1 added" in result.output and "Skipped" not in result.output
    assert "Ingested with warnings 1:" in result.output
    assert "bad.md: front matter is not valid YAML" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_fundstelle_ui_stops_on_sigterm(tmp_path: Path) -> None:
    """A service manager or a script stops 'fundstelle ui' by its pid: the page's server must
    go with it (it kept running on its port when it was a child that never got the signal)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDSTELLE_")}
    env["STREAMLIT_SERVER_HEADLESS"] = "true"
    command = [sys.executable, "-m", "fundstelle.ui.cli", "--store", str(tmp_path / "s"), "ui"]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, "the page never started"
            time.sleep(0.2)
        started = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(port), "the server still runs after SIGTERM"
    finally:
        # whatever this test started and is still running (the old child server)
        for p in started:
            if p.is_running():
                p.kill()
        if proc.poll() is None:
            proc.kill()


def test_batch_never_writes_over_its_questions_or_a_file_that_is_not_answers(
    run, tmp_path: Path
) -> None:
    """'-o q.txt' replaced the questions with the answers, and '-o notes.md' kept only the
    lines that parsed as JSON: the output must be a new file or an answers file of ours."""
    run("ingest", str(CORPUS))
    txt = tmp_path / "q.txt"
    txt.write_text(BASES + "\n")
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "question": BASES}) + '\n{"question": "Who?"}\n')
    for questions in (txt, jsonl):
        before = questions.read_bytes()
        error = _one_line_error(run("batch", str(questions), "-o", str(questions), code=2).output)
        assert "is the question file; give another file for the answers" in error
        assert questions.read_bytes() == before
    notes = tmp_path / "notes.md"
    notes.write_text('# Notes\n\n{"id": "x", "question": "q", "error": null}\nmy own line\n')
    before = notes.read_bytes()
    error = _one_line_error(run("batch", str(txt), "-o", str(notes), code=2).output)
    assert "not an answers file of 'fundstelle batch' (line 1)" in error
    assert "give a new file for the answers" in error
    assert notes.read_bytes() == before
    # a questions file is not an answers file either
    assert "not an answers file" in _one_line_error(
        run("batch", str(txt), "-o", str(jsonl), code=2).output
    )

    # an answers file of ours, its last line cut short by an interrupted run, is resumed
    out = tmp_path / "a.jsonl"
    run("batch", str(jsonl), "-o", str(out), "--backend", "extractive")
    rows = out.read_text().splitlines()
    ids = [json.loads(r)["id"] for r in rows]
    out.write_text(rows[0] + "\n" + rows[1][:25])
    result = run("batch", str(jsonl), "-o", str(out), "--backend", "extractive")
    assert "1 answered, 0 failed, 1 already answered" in result.output
    assert [json.loads(r)["id"] for r in out.read_text().splitlines()] == ids


def test_a_csv_question_longer_than_the_csv_field_limit_is_an_error_row(
    run, tmp_path: Path
) -> None:
    run("ingest", str(CORPUS))
    questions = tmp_path / "q.csv"
    questions.write_text(f'id,question\nlong,"{"Who? " * 30000}"\nok,{BASES}\n')
    out = tmp_path / "a.jsonl"
    result = run("batch", str(questions), "-o", str(out), "--backend", "extractive", code=1)
    assert "1 answered, 1 failed" in result.output
    got = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert "the limit is 1,500" in got["long"]["error"] and got["ok"]["error"] is None


def test_a_store_path_that_is_a_file_is_a_one_line_error(run, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a store")
    for args in (("ingest", str(CORPUS)), ("sources",), ("ask", "--backend", "extractive", BASES)):
        error = _one_line_error(run(*args, code=2, store=a_file).output)
        assert f"the store path {a_file} is a file, not a store folder" in error
    assert a_file.read_text() == "not a store"


def test_a_broken_fundstelle_toml_is_a_one_line_error(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fundstelle.toml").write_text('k = 8\nbackend = "extractive\n')
    error = _one_line_error(run("sources", code=2).output)
    assert f"fundstelle.toml in {tmp_path} cannot be read (" in error
    assert "fix it or move it away" in error


def test_a_date_range_that_ends_before_it_starts_is_a_one_line_error(run) -> None:
    run("ingest", str(CORPUS))
    args = ("ask", "--backend", "extractive", "--from", "2026-02-01", "--to", "2026-01-01", BASES)
    error = _one_line_error(run(*args, code=2).output)
    assert "--from 2026-02-01 is after --to 2026-01-01: the date range is empty" in error


def test_an_impossible_port_is_a_one_line_error(tmp_path: Path) -> None:
    # a real process: 'fundstelle ui' becomes the page's server (execve) once the port is good
    for port in ("99999", "0"):
        result = fundstelle(tmp_path / "s", "ui", "--port", port, timeout=60)
        assert result.returncode == 2 and "Fundstelle at" not in result.stdout
        assert f"--port {port} is not allowed" in _one_line_error(result.stderr)
