"""Reliability of retrieval and answers (issue 16): undated documents under a date filter, an
engine whose store another process changes, and bad questions. Real store, real embedder, the
extractive backend (no generator runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fundstelle.core.errors import InputError
from fundstelle.core.settings import Settings
from fundstelle.ingest.language import question_language
from fundstelle.ingest.pipeline import ingest
from fundstelle.qa.compose import REFUSAL
from fundstelle.qa.engine import Engine
from fundstelle.qa.question import check_question
from fundstelle.qa.retrieve import Retriever
from fundstelle.qa.types import Filters

from tests.fixtures.processes import fundstelle

pytestmark = pytest.mark.reliability

LIGHTHOUSE = "The lighthouse of Kiel was painted green by Anna Berg in the spring."


def _dated(path: Path, title: str, date: str, text: str) -> None:
    path.write_text(f"---\ntitle: {title}\ndate: {date}\nlang: en\n---\n{text}\n")


def _mixed_store(tmp_path: Path) -> Settings:
    """One dated Markdown article and two undated text files."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    _dated(corpus / "harbour.md", "Harbour", "2026-01-05", "The harbour of Kiel expects ships.")
    (corpus / "lighthouse.txt").write_text(LIGHTHOUSE)
    (corpus / "bakery.txt").write_text("The bakery of Kiel sells rye bread every morning.")
    settings = Settings(store_path=tmp_path / "store", backend="extractive")
    ingest([corpus], settings)
    return settings


def test_a_date_filter_leaves_out_undated_documents_says_so_and_can_include_them(
    tmp_path: Path,
) -> None:
    r = Retriever(_mixed_store(tmp_path))
    question = "Who painted the lighthouse of Kiel green?"
    january = Filters(date_from="2026-01-01", date_to="2026-01-31")
    for mode in ("hybrid", "dense", "bm25"):
        found = r.search(question, filters=january, mode=mode).passages
        assert {p.chunk.title for p in found} <= {"Harbour"}, mode
    assert r.undated_left_out(january) == 2
    assert r.undated_left_out(Filters(date_from="2026-01-01", languages=("de",))) == 0

    both = Filters(date_from="2026-01-01", date_to="2026-01-31", include_undated=True)
    assert r.undated_left_out(both) == 0
    for mode in ("hybrid", "dense", "bm25"):
        found = r.search(question, filters=both, mode=mode).passages
        assert found[0].chunk.text == LIGHTHOUSE, mode
    # undated documents pass the date range, not the other filters
    only = Filters(date_from="2026-01-01", include_undated=True, sources=("harbour.md",))
    assert {p.chunk.title for p in r.search(question, filters=only).passages} == {"Harbour"}
    # outside the range: the dated one goes, the undated ones stay
    later = Filters(date_from="2027-01-01", include_undated=True)
    assert "Harbour" not in {p.chunk.title for p in r.search("harbour", filters=later).passages}


def test_an_engine_sees_another_processes_ingest_and_removal(tmp_path: Path) -> None:
    """Before: after 'fundstelle ingest' in another process, every date-filtered question of a
    running engine (the page, a batch, the Python API) failed with chromadb's 'Error finding
    id' until the process was restarted."""
    settings = _mixed_store(tmp_path)
    engine = Engine(settings)
    dated = Filters(date_from="2026-01-01", date_to="2026-12-31")
    assert engine.answer("What does the harbour of Kiel expect?", filters=dated).citations

    news = tmp_path / "news"
    news.mkdir()
    for i in range(3):
        _dated(
            news / f"ferry{i}.md",
            f"Ferry {i}",
            f"2026-03-0{i + 1}",
            f"The ferry number {i} to Sylt leaves at {i + 7} in the morning.",
        )
    assert fundstelle(settings.store_path, "ingest", str(news)).returncode == 0
    answer = engine.answer("When does the ferry number 1 to Sylt leave?", filters=dated)
    assert answer.error is None and not answer.refused
    assert answer.citations[0].title == "Ferry 1"

    assert fundstelle(settings.store_path, "remove", str(news)).returncode == 0
    answer = engine.answer("When does the ferry number 1 to Sylt leave?", filters=dated)
    assert all(c.title == "Harbour" for c in answer.citations)
    assert all(p.chunk.title == "Harbour" for p in answer.passages)


@pytest.mark.parametrize("question", ["", "   ", "?!", " … ¿? ", "\n\t"])
def test_an_empty_question_is_an_error(question: str) -> None:
    with pytest.raises(InputError, match="the question is empty"):
        check_question(question, Settings())


def test_a_question_over_the_length_limit_is_an_error() -> None:
    settings = Settings(max_question_chars=1000)
    assert check_question("  Who signed it?  ", settings) == "Who signed it?"
    assert len(check_question("x" * 1000, settings)) == 1000
    with pytest.raises(InputError, match="has 20,000 characters; the limit is 1,000"):
        check_question("Who?" * 5000, settings)
    assert Settings().max_question_chars <= 2000  # the default: a question, not a document


@pytest.mark.parametrize(
    "question",
    [
        "Какие страны планируют базы в Украине?",
        "Кто подписал декларацию о намерениях?",
        "Quels pays prévoient des bases en Ukraine ?",
        "Welke landen plannen bases in Oekraïne?",
        "哪些国家计划在乌克兰建立基地？",
    ],
)
def test_questions_in_other_languages_get_english_text(question: str, seed_settings) -> None:
    assert question_language(question) == "en"
    answer = Engine(seed_settings.with_overrides(backend="extractive")).answer(question)
    assert answer.language == "en"
    assert not answer.text.startswith((REFUSAL["de"], "Die Quellen"))


@pytest.mark.parametrize(
    "question",
    [
        "Und Deutschland?",
        "Wer vertrat die USA?",
        "Welche Länder planen Stützpunkte?",
        "Wo?",
        "Wann entdeckte Carl Wilhelm Scheele Sauerstoff?",  # Luxembourgish to py3langid
    ],
)
def test_german_questions_still_get_german(question: str) -> None:
    assert question_language(question) == "de"
