"""Real servers on loopback for tests and benchmarks: a Chroma server and llama-cpp-python's OpenAI-compatible
server. Each starts as its own process and is stopped afterwards."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            out = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {out[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"no answer from {url} after {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def chroma_binary() -> str | None:
    here = Path(sys.executable).parent / "chroma"
    return str(here) if here.exists() else shutil.which("chroma")


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """``chroma run --path PATH --host 127.0.0.1 --port FREE``; yields its URL."""
    binary = chroma_binary()
    if binary is None:
        raise RuntimeError("the chroma command is not installed (it comes with chromadb)")
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    log = path.with_name(path.name + ".log")
    # the server's log goes to a file: an unread pipe fills up and blocks the server
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/api/v2/heartbeat", proc, 60, log)
        yield url
    finally:
        _stop(proc)


@contextlib.contextmanager
def llama_server(model: Path, log: Path, threads: int | None = None) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server; yields its base URL (``…/v1``)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    if threads:
        cmd += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait(f"{base}/models", proc, 120, log)
        yield base
    finally:
        _stop(proc)


INFINITY_INSTALL = (
    "python3.11 -m venv .venv/infinity-venv && .venv/infinity-venv/bin/pip install "
    "torch==2.13.0 'infinity-emb[server,torch]==0.0.78'"
)


def infinity_binary() -> str | None:
    """``infinity_emb``: FUNDSTELLE_TEST_INFINITY, on PATH, or in its own venv under .venv
    (it cannot share this one: it pins numpy<2, click<8.2 and sentence-transformers<4)."""
    import os

    for candidate in (
        os.environ.get("FUNDSTELLE_TEST_INFINITY"),
        str(Path(sys.executable).parent / "infinity_emb"),
        shutil.which("infinity_emb"),
        str(Path(sys.prefix) / "infinity-venv" / "bin" / "infinity_emb"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@contextlib.contextmanager
def infinity_server(model: Path, name: str, log: Path) -> Iterator[str]:
    """Infinity serving a sentence-transformers folder offline as ``name``; yields its base URL
    (``…/v1``)."""
    import os

    binary = infinity_binary()
    if binary is None:
        raise RuntimeError(f"infinity_emb is not installed: {INFINITY_INSTALL}")
    port = free_port()
    cmd = [binary, "v2", "--model-id", str(model), "--served-model-name", name]
    cmd += ["--url-prefix", "/v1", "--host", "127.0.0.1", "--port", str(port)]
    # offline, and no usage statistics sent
    env = dict(os.environ, HF_HUB_OFFLINE="1", INFINITY_ANONYMOUS_USAGE_STATS="0", DO_NOT_TRACK="1")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait(f"{base}/models", proc, 180, log)
        yield base
    finally:
        _stop(proc)
