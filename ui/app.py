"""Fundstelle in the browser: chat with cited answers. Run with ``fundstelle ui``.

Thin on purpose: settings are read here, the work is done by ``qa`` and ``ingest``, and the HTML
helpers live in ``ui.webview``. Strings from sources, file names and errors reach Streamlit's
Markdown (labels, captions, alerts) only through ``plain``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import streamlit as st
from fundstelle.core.errors import FundstelleError
from fundstelle.core.settings import Settings
from fundstelle.ingest.loaders import SUPPORTED, is_supported, unsupported_reason
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store
from fundstelle.qa.backends.cpu import background_work
from fundstelle.qa.chain import AnswerChain
from fundstelle.qa.engine import Engine
from fundstelle.qa.question import check_question
from fundstelle.qa.types import Answer, Citation, Filters, Sources, Turn, Waiting
from fundstelle.ui.render import display_path, search_notes
from fundstelle.ui.sources import source_view
from fundstelle.ui.webview import (
    STYLE,
    answer_html,
    citation_label,
    conversation_json,
    conversation_markdown,
    document_html,
    document_url,
    passage_html,
    plain,
    timing_line,
)

st.set_page_config(page_title="Fundstelle", page_icon="🔎", layout="wide")
log = logging.getLogger("fundstelle.ui")


def warm_up(engine: Engine) -> None:
    """Load what the first question would otherwise wait for: the search indexes and the
    generator model (1-10 s)."""
    try:
        engine.retriever.search("warm up", k=1)
        model = engine.chat_model
        warm = getattr(model, "warm_up", None)
        if warm is not None:
            warm()
    except Exception as exc:  # the question will meet the same problem and say so
        log.warning("warming up failed: %s", exc)


def _usable(future: Future) -> bool:
    # a failed build (say the store did not exist yet) is built again on the next run
    return not (future.done() and future.exception() is not None)


@st.cache_resource(show_spinner=False, validate=_usable)
def shared_engine(settings_json: str) -> Future:
    """One engine per settings for every session of this server, built in the background when
    a page opens; the generator model loads right after, so a first question does not wait."""
    future: Future = Future()

    def build() -> None:
        try:
            engine = Engine(Settings.model_validate_json(settings_json))
        except BaseException as exc:
            future.set_exception(exc)
            return
        future.set_result(engine)
        warm_up(engine)

    threading.Thread(target=build, name="fundstelle-warm-up", daemon=True).start()
    return future


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write an upload to ``folder/name``: written beside it and renamed over it, so that a link
    placed there is replaced, never written through (into whatever file it points to)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return folder / name


def upload_problem(name: str, exc: OSError) -> str:
    shown = name if len(name) <= 60 else name[:57] + "..."
    if exc.errno == errno.ENAMETOOLONG:
        return f"{shown}: the file name is too long (at most 255 bytes); rename it"
    return f"{shown}: cannot be saved: {exc.strerror or exc}"


def generator_choices(settings: Settings) -> list[str]:
    """What the generator selector offers: the local generators, the served ones when a server
    URL is set, and always the one the settings name (Ollama needs no URL: its default serves;
    a served generator set up wrongly says why at the first question)."""
    choices = ["llamacpp", "extractive"] + (["openai", "ollama"] if settings.llm_base_url else [])
    if settings.backend not in choices:
        choices.append(settings.backend)
    return choices


def store_status(settings: Settings) -> dict:
    try:
        return Store.open(settings).status()
    except FundstelleError as exc:
        return {"error": str(exc), "documents": 0, "chunks": 0}


if "answers" not in st.session_state:
    st.session_state.answers = []
answers: list[Answer] = st.session_state.answers
settings = Settings()  # read at the edge, from FUNDSTELLE_* and fundstelle.toml
status = store_status(settings)

# --- sidebar: corpus, filters, backend, upload, downloads ------------------------------------------
with st.sidebar:
    st.header("Corpus")
    if status.get("error"):
        st.error(plain(status["error"]))
    elif not status.get("documents"):
        st.info("The store is empty: upload files below, or run `fundstelle ingest corpus/`.")
    else:
        st.markdown(
            f"**{status['documents']}** documents · **{status['chunks']}** chunks  \n"
            f"last ingest {plain(status.get('last_ingest') or '-')}  \n"
            f"embedding model {plain(status.get('embedding_model'))}"
        )
    st.header("Filters")
    dates = status.get("dates") or []
    docs = Store.open(settings).documents() if status.get("documents") else []
    undated = sum(1 for r in docs if not r.date)
    date_range = None
    include_undated = False
    # off by default: a date range matches dated documents only, and a store of undated text
    # files would otherwise be hidden without a word
    by_date = bool(dates) and st.toggle(
        "Only sources from a date range", value=False, key="by_date"
    )
    if by_date:
        lo, hi = dt.date.fromisoformat(dates[0]), dt.date.fromisoformat(dates[-1])
        date_range = st.date_input("Date range", value=(lo, hi), key="date_range")
        if undated:
            include_undated = st.checkbox(
                f"Also the {undated} document(s) without a date",
                value=False,
                key="include_undated",
            )
            if not include_undated:
                st.caption(f"{undated} document(s) without a date are left out.")
    titles = {f"{r.title} ({r.date or 'no date'})": r.source for r in docs}
    chosen_sources = st.multiselect("Sources", sorted(titles), key="sources")
    chosen_langs = st.multiselect("Language", status.get("languages") or [], key="langs")
    st.header("Answers")
    backends = generator_choices(settings)
    backend = st.selectbox("Generator", backends, index=backends.index(settings.backend))
    k = st.slider("Passages", 1, 20, settings.k, key="k")
    translate = st.toggle(
        "Translate questions for keyword search",
        value=settings.translate_queries,
        disabled=backend == "extractive",
        help="Also search the sources' other language (English/German) by keyword, with the "
        "question translated by the generator: better ranking, about 1 s more per question.",
        key="translate",
    )
    active = settings.with_overrides(backend=backend, translate_queries=translate)
    from fundstelle.qa.backends import backend_label

    st.caption(f"Model: {plain(backend_label(active))}")
    if st.button("New chat", use_container_width=True):
        st.session_state.answers = []
        st.rerun()

    st.header("Add files")
    # messages of the last ingest, kept across the rerun that brings the status up to date
    for kind, message in st.session_state.pop("ingest_messages", []):
        getattr(st, kind)(message)
    uploads = st.file_uploader(
        "Files to ingest",
        accept_multiple_files=True,
        type=[s.lstrip(".") for s in SUPPORTED],
        key="uploads",
    )
    if uploads and st.button("Ingest uploaded files", use_container_width=True):
        folder = settings.store_path / "uploads"
        paths = []
        messages: list[tuple[str, str]] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only store, say
            messages.append(("error", plain(f"cannot save uploads in {folder}: {exc.strerror}")))
            uploads = []
        names: set[str] = set()
        for up in uploads:
            name = Path(up.name).name
            if not is_supported(Path(name)):  # e.g. a file named only ".txt"
                messages.append(("error", plain(f"{name}: {unsupported_reason(Path(name))}")))
                continue
            if name in names:  # it would overwrite the first on disk
                messages.append(
                    (
                        "error",
                        plain(
                            f"{name}: another upload has the same name; only the first was ingested"
                        ),
                    )
                )
                continue
            names.add(name)
            try:
                paths.append(save_upload(folder, name, up.getvalue()))
            except OSError as exc:
                messages.append(("error", plain(upload_problem(name, exc))))
        bar = st.progress(0.0, text="Ingesting…")
        totals = {"files": len(paths), "done": 0}

        def on_progress(kind: str, advance: int, total: int | None) -> None:
            if kind == "files" and advance:
                totals["done"] += advance
                bar.progress(
                    min(1.0, totals["done"] / max(1, totals["files"])),
                    text=f"{totals['done']}/{totals['files']} files",
                )

        try:
            # answers generated meanwhile leave the embedding model a core (qa.backends.cpu)
            with background_work():
                report = ingest(paths, settings, on_progress=on_progress) if paths else None
        except FundstelleError as exc:
            messages.append(("error", plain(exc)))
        else:
            bar.progress(1.0, text="Done")
            if report is not None:
                messages.insert(
                    0,
                    (
                        "success",
                        f"{report.added} added, {report.updated} updated, "
                        f"{report.unchanged} unchanged, {report.chunks} chunks",
                    ),
                )
                for w in report.warnings:
                    messages.append(("warning", plain(f"{Path(w.path).name}: {w.reason}")))
                for s in report.skipped:
                    messages.append(("error", plain(f"{Path(s.path).name}: {s.reason}")))
        # rerun: the corpus status, dates and sources above were read before this ingest
        st.session_state["ingest_messages"] = messages
        st.rerun()

    if answers:
        st.header("Download")
        st.download_button(
            "Conversation (Markdown)",
            conversation_markdown(answers),
            "fundstelle.md",
            "text/markdown",
        )
        st.download_button(
            "Conversation (JSON)", conversation_json(answers), "fundstelle.json", "application/json"
        )

# --- main: the conversation ---------------------------------------------------------------------
st.html(STYLE)
st.title("Fundstelle")
st.caption("Answers from your sources — every claim cited to the exact passage.")


@st.dialog("Source", width="large")
def show_source(c: Citation) -> None:
    """The whole document behind a citation, the quote highlighted and scrolled to."""
    try:
        view = source_view(Store.open(settings), c, int(settings.max_file_mb * 1024 * 1024))
    except FundstelleError as exc:
        st.error(plain(exc))
        return
    if view is None:
        st.warning("This source is no longer in the store.")
        st.html(passage_html(c))
        return
    st.markdown(f"**{plain(view.title)}**")
    meta = [view.publisher or "", view.date or "no date", display_path(view.source)]
    if view.page:
        meta.append(f"p. {view.page}")
    st.caption(plain(" · ".join(m for m in meta if m)))
    if view.url:
        st.caption(plain(view.url))
    if view.note:
        st.info(plain(view.note))
    page = document_html(
        view.text, view.start, view.end, page_starts=view.page_starts, title=view.title
    )
    st.iframe(document_url(page), height=460, alt=f"[{c.n}] {view.title}")
    st.download_button(
        f"Download {view.file_name}",
        view.download,
        view.file_name,
        view.mime,
        on_click="ignore",
        key=f"download-{c.doc_id}-{c.start}",
    )


def show_evidence(evidence: list[Citation], cited: set[tuple[str, int]], shown: int = 3) -> None:
    """The evidence sentences, best first; those the answer cites are marked."""
    for c in evidence[:shown]:
        mark = "✅ cited · " if (c.doc_id, c.start) in cited else ""
        st.caption(plain(f"{mark}„{c.quote}“ — {c.title}"))


def show_sources(area: Any, part: Sources) -> None:
    """The streamed evidence in ``area``, replacing what it showed (an early list, found for the
    question as asked, is replaced by the one found with its translation)."""
    with area.container():
        st.caption(
            "Evidence for the question as asked, best first (translating it to search again…):"
            if part.early
            else "Evidence found, best first:"
        )
        show_evidence(part.citations, set())


def show_answer(a: Answer, i: int) -> None:
    for note in search_notes(a):
        st.caption(plain(note))
    if a.error:
        st.error(plain(a.error))
    if a.kind == "quotes":
        st.caption("No answer was verified: these are the sources' own words, closest first.")
    st.html(answer_html(a))
    if a.unsupported:
        st.warning(f"{len(a.unsupported)} sentence(s) are not backed by any source and are marked.")
    if a.citations:
        # each marker of the answer opens its source with one click
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption("Open a source:", width="content")
            for c in a.citations:
                if st.button(
                    f"[{c.n}]",
                    key=f"open-{i}-{c.n}",
                    help=plain(f"{c.title}: the whole document, this passage highlighted"),
                ):
                    show_source(c)
        st.markdown("**Closest passages**" if a.refused or a.error else "**Sources**")
        for c in a.citations:
            with st.expander(
                citation_label(c, display_path(c.source)), expanded=c.n == 1 and not a.refused
            ):
                st.html(passage_html(c))
                st.caption(
                    plain(f"characters {c.start}-{c.end}" + (f" · {c.url}" if c.url else ""))
                )
    elif a.passages and (a.refused or a.error):
        st.markdown("**Retrieved passages**")
        for p in a.passages[:3]:
            with st.expander(plain(f"{p.chunk.title} · {display_path(p.chunk.source)}")):
                st.text(p.chunk.text)
    if a.evidence and not a.refused:
        with st.expander(
            f"Evidence: the {min(len(a.evidence), 5)} sentences the answer was drawn from"
        ):
            show_evidence(a.evidence, {(c.doc_id, c.start) for c in a.citations}, shown=5)
    if a.timings:
        st.caption(timing_line(a))


def waiting_text(ahead: int) -> str:
    return (
        f"Waiting for the model: {ahead} question{'s' if ahead != 1 else ''} ahead of yours. "
        "It answers one question at a time."
    )


for i, a in enumerate(answers):
    with st.chat_message("user"):
        st.text(a.question)
    with st.chat_message("assistant"):
        show_answer(a, i)

# a question whose run ended before its answer: Stop, or any click, which with Streamlit's fast
# reruns stops that run and starts this one at once (in parallel, so the marker is set before)
stopped = st.session_state.pop("asking", None)
if stopped:
    with st.chat_message("user"):
        st.text(stopped)
    with st.chat_message("assistant"):
        st.caption("Stopped before the answer was complete.")

engine_future = shared_engine(active.model_dump_json()) if status.get("documents") else None
question = st.chat_input("Ask a question about your sources")
if question:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        try:
            question = check_question(question, settings)
        except FundstelleError as exc:  # empty, or too long to search
            st.error(plain(exc))
            question = ""
        if not question:
            pass
        elif engine_future is None:
            st.info(
                "There is nothing to search yet: upload files in the sidebar or run `fundstelle ingest corpus/`."
            )
        else:
            filters = Filters(
                date_from=date_range[0].isoformat()
                if date_range and len(date_range) == 2
                else None,
                date_to=date_range[1].isoformat() if date_range and len(date_range) == 2 else None,
                sources=tuple(titles[t] for t in chosen_sources),
                languages=tuple(chosen_langs),
                include_undated=include_undated,
            )
            history = [Turn(x.question, x.text) for x in answers[-3:]]
            sources = st.empty()
            placeholder = st.empty()
            final = None
            text = ""
            stream = None
            st.session_state["asking"] = question
            try:
                with st.spinner("Searching the sources…"):
                    chain = AnswerChain(engine=engine_future.result())
                    # the Runnable's own stream, with a config of its own: LangChain's callbacks
                    # (tracing) see each answer of the page, named and tagged as the page's
                    stream = chain.stream(
                        {"question": question, "history": history, "filters": filters, "k": k},
                        config={
                            "run_name": "fundstelle page",
                            "tags": ["fundstelle-page"],
                            "metadata": {"backend": backend, "k": k},
                        },
                    )
                    part = next(stream)  # the evidence, before any model call
                if isinstance(part, Sources):
                    show_sources(sources, part)
                # any click on the page reruns it, which ends this run and its generation
                stop = st.empty()
                stop.button(
                    "Stop this answer", key="stop", help="Frees the model for the next question"
                )
                for part in stream:
                    if isinstance(part, Sources):  # found with the translated question
                        show_sources(sources, part)
                    elif isinstance(part, Waiting):
                        placeholder.info(waiting_text(part.ahead))
                    elif isinstance(part, str):
                        text += part
                        placeholder.text(text + " ▌")
                    elif isinstance(part, Answer):
                        final = part
                stop.empty()
            except FundstelleError as exc:
                placeholder.empty()
                st.error(plain(exc))
            finally:
                # Stop, a click elsewhere, a reload or a closed tab end this run with
                # Streamlit's StopException at its next update: closing the stream releases
                # the model for the next question at once
                if stream is not None:
                    stream.close()
            if final is not None:
                sources.empty()
                placeholder.empty()
                show_answer(final, len(answers))
                answers.append(final)
            st.session_state.pop("asking", None)
