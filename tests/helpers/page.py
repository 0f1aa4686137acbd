"""Helpers for tests of the Streamlit page (``ui/app.py``) run by Streamlit's AppTest."""

from __future__ import annotations

import threading

from streamlit.testing.v1 import AppTest


def settled(at: AppTest, timeout: float = 120) -> AppTest:
    """Wait until the page's background warm-up (engine build, model load) has finished.

    AppTest compiles the page script again on every run, and CPython 3.11.7 keeps one AST
    recursion counter for all threads (gh-106905): a parse in the warm-up thread at the same
    moment fails the script with "AST constructor recursion depth mismatch". A real server
    compiles the page once, so only tests meet this race."""
    for thread in threading.enumerate():
        if thread.name == "fundstelle-warm-up":
            thread.join(timeout)
    return at
