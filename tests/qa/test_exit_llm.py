"""A process that generated with the packaged llama.cpp model exits cleanly (issue 22: the
page's process died with SIGSEGV at interpreter exit after an answer, the model freed during
teardown). The child does what the page does: loads the model through the project's loader,
warms it up, judges, reads with a grammar and streams in another thread, leaves a stream open
(a reader who stopped), and exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.llm]

CHILD = """
import threading

from fundstelle.core.settings import Settings
from fundstelle.qa.backends import make_chat_model
from langchain_core.messages import HumanMessage, SystemMessage

chat = make_chat_model(Settings(backend="llamacpp", llm_threads=1, llm_max_tokens=16))
messages = [
    SystemMessage(content="Answer the question in one word."),
    HumanMessage(content="What colour is the sky on a clear day?"),
]
left_open = []


def page():
    chat.warm_up()
    print("judged", chat.first_token_probabilities(messages, ("yes", "no")))
    print("read", chat.invoke(messages, grammar='root ::= "blue" | "grey"').content)
    stream = chat.stream(messages)
    print("streamed", next(stream).content)  # a couple of tokens, then the reader leaves
    left_open.append(stream)


thread = threading.Thread(target=page, daemon=True)
thread.start()
thread.join()
print("done", flush=True)
"""


def test_a_process_that_generated_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "done" in child.stdout, child.stderr[-3000:]
    assert child.returncode == 0, child.stderr[-3000:]
