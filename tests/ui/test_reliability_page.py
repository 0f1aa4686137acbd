"""Reliability of the chat page (issue 16), with streamlit.testing's AppTest on real stores and
the extractive backend: undated documents are searched unless the user filters by date, Markdown
in source metadata and file names stays text, bad questions and uploads get messages, the status
is current after an upload, and another process's ingest does not break a running page."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest
from streamlit.testing.v1 import AppTest

from tests.fixtures.processes import fundstelle
from tests.helpers.page import settled

pytestmark = pytest.mark.reliability

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
LIGHTHOUSE = "The lighthouse of Kiel was painted green by Anna Berg in the spring."
QUESTION = "Who painted the lighthouse of Kiel green?"


def _app(monkeypatch: pytest.MonkeyPatch, store: Path) -> AppTest:
    monkeypatch.setenv("FUNDSTELLE_STORE_PATH", str(store))
    monkeypatch.setenv("FUNDSTELLE_BACKEND", "extractive")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return settled(at)


def _ask(at: AppTest, question: str) -> None:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception


def _html(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "proto", e)) for e in at.get("html"))


def _mixed_store(tmp_path: Path) -> Path:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "harbour.md").write_text(
        "---\ntitle: Harbour\ndate: 2026-01-05\nlang: en\n---\nThe harbour of Kiel expects ships.\n"
    )
    (corpus / "lighthouse.txt").write_text(LIGHTHOUSE)
    (corpus / "bakery.txt").write_text("The bakery of Kiel sells rye bread every morning.")
    store = tmp_path / "store"
    ingest([corpus], Settings(store_path=store))
    return store


def test_undated_documents_are_searched_unless_the_user_filters_by_date(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _app(monkeypatch, _mixed_store(tmp_path))
    _ask(at, QUESTION)
    assert LIGHTHOUSE in _html(at), "the undated document was hidden"

    at.toggle(key="by_date").set_value(True).run()
    assert any("2 document(s) without a date are left out" in c.value for c in at.sidebar.caption)
    _ask(at, QUESTION)
    assert at.session_state["answers"][-1].citations[0].title == "Harbour"

    at.checkbox(key="include_undated").set_value(True).run()
    _ask(at, QUESTION)
    assert at.session_state["answers"][-1].citations[0].quote == LIGHTHOUSE


# what a Markdown renderer must not produce from a source's strings
_MARKUP = re.compile(r"<(img|a|strong|em|code|del|h\d|li|blockquote)\b")
EVIL_TITLE = "![t](http://127.0.0.1:9/title.png) **bold** _it_ [link](http://127.0.0.1:9/)"
EVIL_URL = "http://127.0.0.1:9/x.png?a=![u](http://127.0.0.1:9/u.png)"
EVIL_PUBLISHER = "**Gazette** `code` :red[red] $x^2$"


def _renders_as_text(markdown: str, original: str | None = None) -> None:
    """CommonMark's rendering of ``markdown`` has no markup, and shows ``original`` as is."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"])
    rendered = md.render(markdown)
    assert not _MARKUP.search(rendered), rendered
    assert "http://" not in markdown, "a bare URL is linked by GitHub-flavoured Markdown"
    if original is not None:
        assert original in html.unescape(re.sub(r"<[^>]+>", "", rendered))


def test_markdown_in_source_metadata_and_file_names_is_shown_as_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    front = f"title: '{EVIL_TITLE}'\nurl: '{EVIL_URL}'\npublisher: '{EVIL_PUBLISHER}'\nlang: en\n"
    (corpus / "**bold**-[x](y).md").write_text(f"---\n{front}---\n{LIGHTHOUSE}\n")
    store = tmp_path / "store"
    ingest([corpus], Settings(store_path=store))
    at = _app(monkeypatch, store)
    _ask(at, QUESTION)
    labels = [e.label for e in at.expander]
    assert labels, "no citation shown"
    for label in labels:
        _renders_as_text(label)
    _renders_as_text(labels[0], EVIL_TITLE)
    _renders_as_text(labels[0], EVIL_PUBLISHER)
    _renders_as_text(labels[0], "**bold**-[x](y).md")
    captions = [c.value for c in at.main.caption]
    for caption in captions:
        _renders_as_text(caption)
    assert any(EVIL_URL in html.unescape(c.replace("\\", "")) for c in captions)

    # names of uploaded files in the messages
    at.file_uploader(key="uploads").set_value([("**big**.txt", b"", "text/plain")]).run()
    next(b for b in at.sidebar.button if b.label == "Ingest uploaded files").click().run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("empty file" in e for e in errors)
    for e in errors:
        _renders_as_text(e, "**big**.txt: empty file")


@pytest.mark.parametrize("question", ["   ", "?!", "x" * 1501])
def test_an_empty_or_overlong_question_is_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, question: str
) -> None:
    at = _app(monkeypatch, _mixed_store(tmp_path))
    _ask(at, question)
    assert any(
        "the question is empty" in e.value or "the limit is 1,500" in e.value.replace("\\", "")
        for e in at.error
    )
    assert at.session_state["answers"] == []


def test_an_upload_named_only_an_extension_names_the_problem_and_the_status_is_current(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _app(monkeypatch, tmp_path / "store")
    assert any("The store is empty" in i.value for i in at.sidebar.info)
    at.file_uploader(key="uploads").set_value(
        [(".txt", b"A file without a name.", "text/plain"), ("kiel.txt", LIGHTHOUSE.encode(), "")]
    ).run()
    next(b for b in at.sidebar.button if b.label == "Ingest uploaded files").click().run()
    assert not at.exception
    errors = " ".join(e.value.replace("\\", "") for e in at.sidebar.error)
    assert "'.txt' is only an extension; give the file a name, e.g. notes.txt" in errors
    assert "unsupported file type (none)" not in errors
    assert any("1 added" in s.value for s in at.sidebar.success)
    # the sidebar is read again after the ingest: no "store is empty" until the next rerun
    assert not any("The store is empty" in i.value for i in at.sidebar.info)
    assert any("**1** documents" in m.value for m in at.sidebar.markdown)
    _ask(at, QUESTION)
    assert LIGHTHOUSE in _html(at)


def test_a_running_page_survives_another_process_ingesting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After 'fundstelle ingest' from a terminal, every question on the page showed chromadb's
    'Error finding id' traceback until the page's server was restarted."""
    store = _mixed_store(tmp_path)
    at = _app(monkeypatch, store)
    at.toggle(key="by_date").set_value(True).run()
    _ask(at, "What does the harbour of Kiel expect?")
    news = tmp_path / "news"
    news.mkdir()
    for i in range(3):
        (news / f"ferry{i}.md").write_text(
            # the day of the date range that the page has chosen
            f"---\ntitle: Ferry {i}\ndate: 2026-01-05\nlang: en\n---\n"
            f"The ferry number {i} to Sylt leaves at {i + 7} in the morning.\n"
        )
    assert fundstelle(store, "ingest", str(news)).returncode == 0
    _ask(at, "When does the ferry number 1 to Sylt leave?")
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["answers"][-1].citations[0].title == "Ferry 1"


def _ingest_uploads(at: AppTest, files: list[tuple[str, bytes, str]]) -> None:
    at.file_uploader(key="uploads").set_value(files).run()
    next(b for b in at.sidebar.button if b.label == "Ingest uploaded files").click().run()
    assert not at.exception, at.exception


def test_an_upload_never_writes_through_a_link_in_the_uploads_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    (store / "uploads").mkdir(parents=True)
    private = tmp_path / "private.txt"
    private.write_text("SECRET password=hunter2")
    (store / "uploads" / "kiel.txt").symlink_to(private)
    at = _app(monkeypatch, store)
    _ingest_uploads(at, [("kiel.txt", LIGHTHOUSE.encode(), "text/plain")])
    assert private.read_text() == "SECRET password=hunter2"
    upload = store / "uploads" / "kiel.txt"
    assert not upload.is_symlink() and upload.read_text() == LIGHTHOUSE
    assert any("1 added" in s.value for s in at.sidebar.success)


def test_uploads_with_one_name_or_a_name_too_long_get_messages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two uploads named alike: the first was overwritten on disk and the page showed an
    uncaught exception; so did a name of 300 characters."""
    store = tmp_path / "store"
    at = _app(monkeypatch, store)
    long_name = "k" * 296 + ".txt"
    _ingest_uploads(
        at,
        [
            ("kiel.txt", LIGHTHOUSE.encode(), "text/plain"),
            ("kiel.txt", b"The bakery of Kiel sells rye bread.", "text/plain"),
            (long_name, b"The harbour of Kiel expects ships.", "text/plain"),
        ],
    )
    errors = " ".join(e.value.replace("\\", "") for e in at.sidebar.error)
    assert "kiel.txt: another upload has the same name; only the first was ingested" in errors
    assert "the file name is too long (at most 255 bytes); rename it" in errors
    assert (store / "uploads" / "kiel.txt").read_text() == LIGHTHOUSE
    assert any("1 added" in s.value for s in at.sidebar.success)
