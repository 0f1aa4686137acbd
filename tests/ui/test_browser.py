"""A real browser on the real page: streamlit run on 127.0.0.1, headless Debian Chromium driven by
Playwright, the default generator answering. Saves a screenshot to test-artifacts/."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from ingest.settings import Settings
from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not listen on {port}")


def test_ask_in_a_real_browser(tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    store = tmp_path / "store"
    ingest([CORPUS], Settings(store_path=store))
    port = _free_port()
    env = {**os.environ, "FUNDSTELLE_STORE_PATH": str(store)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "ui" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    try:
        _wait_http(port)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}", wait_until="networkidle")
            box = page.get_by_placeholder("Ask a question about your sources")
            box.wait_for(timeout=60_000)
            box.fill("Which countries plan bases in Ukraine?")
            box.press("Enter")
            # the answer is done when its timing line appears
            page.get_by_text("first token").wait_for(timeout=240_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(artifacts / "ui-answer.png"), full_page=True)
            body = page.inner_text("body")
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    answer_part = body.split("Which countries plan bases in Ukraine?", 1)[-1]
    assert "France" in answer_part
    assert any(name in answer_part for name in ("United Kingdom", "Britain", "UK"))
    assert "[1]" in answer_part
    assert (
        "Großbritannien und Frankreich könnten dazu Stützpunkte in der Ukraine planen, erklärte Starmer."
        in answer_part
    )
    assert (artifacts / "ui-answer.png").stat().st_size > 10_000
