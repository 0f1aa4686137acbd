"""A real browser on the real page: ``fundstelle ui`` on 127.0.0.1, headless Debian Chromium driven
by Playwright, the default generator answering (one server for the module: the model loads once).
Each test opens its own browser contexts, i.e. its own Streamlit sessions. Screenshots go to
test-artifacts/ (README's docs/chat-page.png is one of them).

In CI (``FUNDSTELLE_TEST_REQUIRE_BROWSER=1``, set by .ci/run) a missing browser is a failure,
elsewhere a skip."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest

from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.llm]

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
BOX = "Ask a question about your sources"
BASES = "Which countries plan bases in Ukraine?"
# a German question over the German article: its answer streams as it is copied (an answer
# that is translated shows when it is complete), so it can be stopped in the middle
BASES_DE = "Welche Länder planen Stützpunkte in der Ukraine?"
BASES_QUOTE = "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."
# a long document whose answer stands far down: the document view must scroll to it
LIGHTHOUSE = "Der Leuchtturm von Hallig Süderoog wurde im Jahr 1911 aus rotem Backstein erbaut."
TOWNS = ["Husum", "Büsum", "Tönning", "Garding", "Bredstedt", "Niebüll", "Wyk", "Pellworm"]


def _require_browser() -> None:
    required = os.environ.get("FUNDSTELLE_TEST_REQUIRE_BROWSER") == "1"
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"Debian chromium is not installed at {CHROMIUM} (.ci/run installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem and required:
        pytest.fail(problem + "; FUNDSTELLE_TEST_REQUIRE_BROWSER=1 makes that a failure")
    if problem:
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(port: int, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"fundstelle ui exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not listen on {port}")


def _long_document(folder: Path) -> Path:
    lines = [
        "---",
        "title: Leuchttürme an der Nordseeküste",
        "date: 2025-06-02",
        "publisher: Küstenbote",
        "url: https://example.org/leuchttuerme",
        "---",
        "",
        "Ein Leser schrieb <script>alert(1)</script> ins Gästebuch des Museums.",
        "",
    ]
    for i in range(160):
        town = TOWNS[i % len(TOWNS)]
        lines.append(
            f"Im Abschnitt {i + 1} meldete die Gemeinde {town} für den Monat {i % 12 + 1} "
            f"genau {1000 + 37 * i} Besucher am Deich und {12 + i % 9} neue Bänke am Ufer."
        )
        if i % 10 == 9:
            lines.append("")
    lines += ["", LIGHTHOUSE, "", "Die Saison endet im Oktober mit einem Fest am Hafen."]
    path = folder / "leuchttuerme.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    lighthouse: Path

    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require_browser()
    folder = tmp_path_factory.mktemp("browser")
    store = folder / "store"
    lighthouse = _long_document(folder)
    report = ingest([CORPUS, lighthouse], Settings(store_path=store))
    assert report.added == 2
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDSTELLE_")}
    env["STREAMLIT_SERVER_HEADLESS"] = "true"
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fundstelle.ui.cli",
            "--store",
            str(store),
            "ui",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _wait_http(port, process)
        yield Server(f"http://127.0.0.1:{port}", process, lighthouse)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        text = (folder / "server.log").read_text(errors="replace")
        assert "GGML_ASSERT" not in text, text[-3000:]


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def _open(browser: object, server: Server) -> object:
    """A new session: its own browser context, the page loaded and ready for a question."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_placeholder(BOX).wait_for(timeout=120_000)
    return page


def _ask(page: object, question: str) -> None:
    box = page.get_by_placeholder(BOX)  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")


def _answer_text(page: object, question: str) -> str:
    return page.inner_text("body").split(question, 1)[-1]  # type: ignore[attr-defined]


def _answers_bases(answer: str) -> bool:
    """The page answers the bases question: by name, or, where the judge passed its sentences
    without confidence, with them quoted as the sources' words (nothing claimed)."""
    named = "France" in answer and any(n in answer for n in ("United Kingdom", "Britain", "UK"))
    return named or ("The sources say:" in answer and f"„{BASES_QUOTE}“" in answer)


def test_ask_in_a_real_browser(browser: object, server: Server) -> None:
    page = _open(browser, server)
    _ask(page, BASES)
    # the answer is done when its timing line appears
    page.get_by_text("first token").wait_for(timeout=240_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=False)
    answer = _answer_text(page, BASES)
    assert _answers_bases(answer)
    assert "[1]" in answer
    assert BASES_QUOTE in answer
    assert (ARTIFACTS / "chat-page.png").stat().st_size > 10_000
    page.context.close()


def test_two_sessions_ask_at_the_same_moment(browser: object, server: Server) -> None:
    pages = [_open(browser, server), _open(browser, server)]
    for page in pages:
        page.get_by_placeholder(BOX).fill(BASES)
    for page in pages:
        page.get_by_placeholder(BOX).press("Enter")
    waited = [False, False]
    done = [False, False]
    deadline = time.time() + 300
    while not all(done) and time.time() < deadline:
        for i, page in enumerate(pages):
            if done[i]:
                continue
            if page.get_by_text("ahead of yours").count():
                if not any(waited):
                    page.screenshot(path=str(ARTIFACTS / "chat-waiting.png"))
                waited[i] = True
            done[i] = page.get_by_text("first token").count() > 0
        time.sleep(0.1)
    assert all(done), "both sessions get their answer"
    assert server.alive(), "the server survives two generations asked together"
    assert any(waited), "the second session said it was waiting for the model"
    for i, page in enumerate(pages):
        answer = _answer_text(page, BASES)
        assert _answers_bases(answer) and "[1]" in answer and BASES_QUOTE in answer
        if waited[i]:
            assert "waited" in answer and "for the model" in answer  # kept in the timing line
        page.context.close()


def test_stop_and_reload_in_the_middle_free_the_model(browser: object, server: Server) -> None:
    page = _open(browser, server)
    _ask(page, BASES_DE)
    stop = page.get_by_role("button", name="Stop this answer")
    stop.wait_for(timeout=240_000)
    page.get_by_text("▌").first.wait_for(timeout=240_000)  # tokens are streaming
    stop.click()
    page.get_by_text("Stopped before the answer was complete").wait_for(timeout=60_000)
    assert page.get_by_text("first token").count() == 0

    # a reload in the middle of streaming: the old session is abandoned mid-generation
    _ask(page, "Wer hat die Absichtserklärung unterzeichnet?")
    page.get_by_text("▌").first.wait_for(timeout=240_000)
    page.reload(wait_until="domcontentloaded")
    page.get_by_placeholder(BOX).wait_for(timeout=120_000)
    _ask(page, BASES)
    page.get_by_text("first token").wait_for(timeout=240_000)
    answer = _answer_text(page, BASES)
    assert "[1]" in answer and BASES_QUOTE in answer
    assert server.alive()
    page.context.close()


def test_a_citation_opens_the_whole_document_at_the_quote(browser: object, server: Server) -> None:
    page = _open(browser, server)
    # the extractive generator quotes the best sentence: the same citation every run
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Generator").click()
    page.get_by_role("option", name="extractive").click()
    page.get_by_text("Model: extractive").wait_for(timeout=60_000)
    question = "Wann wurde der Leuchtturm von Hallig Süderoog erbaut?"
    _ask(page, question)
    page.get_by_text("first token").wait_for(timeout=240_000)
    assert LIGHTHOUSE in _answer_text(page, question)
    # the marker's button next to the answer: one click to the source
    page.get_by_role("button", name="[1]", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=60_000)
    dialog.get_by_text("Leuchttürme an der Nordseeküste").wait_for(timeout=30_000)
    # the dialog's body arrives element by element: wait for the last one before reading it all
    dialog.get_by_text("example.org/leuchttuerme").wait_for(timeout=30_000)
    meta = dialog.inner_text()
    assert "Küstenbote" in meta and "2025-06-02" in meta and "example.org/leuchttuerme" in meta

    frame = page.frame_locator("iframe").first
    mark = frame.locator("mark#fs-quote")
    mark.wait_for(timeout=30_000)
    assert mark.inner_text() == LIGHTHOUSE  # verbatim
    # scrolled to it: the quote stands in the view of a document far longer than the view
    view = mark.evaluate(
        "m => { const r = m.getBoundingClientRect();"
        " return [r.top, r.bottom, window.innerHeight, window.scrollY,"
        " document.documentElement.scrollHeight]; }"
    )
    top, bottom, height, scrolled, length = view
    assert length > 3 * height and scrolled > 0
    assert top >= 0 and bottom <= height
    # a source's markup is text, never markup
    assert "<script>alert(1)</script>" in frame.locator("body").inner_text()
    assert frame.locator("script").count() == 0
    page.screenshot(path=str(ARTIFACTS / "chat-source.png"))

    with page.expect_download() as download:
        dialog.get_by_role("button", name="Download leuchttuerme.md").click()
    saved = Path(download.value.path())
    assert saved.read_bytes() == server.lighthouse.read_bytes()
    assert server.alive()
    page.context.close()
