"""kill -9 in the middle of an ingest, then ingest again: a usable store, no duplicates, no
half-documents."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.ingest.store import Store

from tests.ingest.test_pipeline import _assert_consistent

pytestmark = pytest.mark.slow


def _start_ingest(store: Path, corpus: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fundstelle.ui.cli", "--store", str(store), "ingest", str(corpus)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


_CHECK = """
import json, sys
import numpy as np
from fundstelle.core.settings import Settings
from fundstelle.ingest.store import Store
store = Store.open(Settings(store_path=sys.argv[1]))
n = store.count_chunks()
hits = store.query(np.ones(384, dtype=np.float32) / np.sqrt(384), 3) if n else []
print(json.dumps([n, len(hits), len(store.documents())]))
"""


def _query_in_new_process(store: Path) -> tuple[int, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHECK, str(store)], capture_output=True, text=True, check=True
    )
    chunks, hits, documents = json.loads(out.stdout.strip().splitlines()[-1])
    return chunks, hits, documents


_WORDS = ("harbour", "council", "budget", "river", "school", "train", "museum", "bridge", "forest")


def _article(i: int) -> str:
    """About 6,000 characters of plain sentences, the same for the same ``i``: enough text that
    ten of them take several seconds to embed, so that a kill lands mid-run."""
    rng = random.Random(i)
    sentences = []
    while sum(len(x) + 1 for x in sentences) < 6000:
        a, b, c = rng.sample(_WORDS, 3)
        n = rng.randint(2, 90)
        sentences.append(f"The {a} of town {i} spent {n} days on the {b} and the {c}.")
    return f"Report {i}\n\n" + " ".join(sentences)


def test_kill_9_during_ingest_then_ingest_again(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(10):
        (corpus / f"article_{i:02d}.txt").write_text(_article(i))
    store_path = tmp_path / "store"
    settings = Settings(store_path=store_path)

    killed_mid_run = 0
    complete_after_kills = 0
    # later kills until one lands after a document was finished: on a loaded machine the
    # start-up alone can take longer than the first delays
    for delay in (4.0, 7.0, 12.0, 20.0):
        proc = _start_ingest(store_path, corpus)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(timeout=60)
        # the interrupted store still opens and answers a query, in a new process as a user's
        # next command would (Chroma's embedded client caches a store's state per process)
        chunks, hits, documents = _query_in_new_process(store_path)
        assert hits == min(3, chunks), "every chunk in the store can be found"
        complete_after_kills = documents
        if killed_mid_run and documents:
            break
    assert killed_mid_run >= 1, "the ingest finished before it could be interrupted"
    assert complete_after_kills >= 1, "documents finished before the kill are kept"

    proc = _start_ingest(store_path, corpus)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    _assert_consistent(settings)
    records = Store.open(settings).documents()
    assert len(records) == 10
    assert Store.open(settings).count_chunks() == sum(r.n_chunks for r in records)
    # and a further run finds nothing to do
    proc = _start_ingest(store_path, corpus)
    out, _ = proc.communicate(timeout=120)
    assert b"0 added, 0 updated, 10 unchanged" in out
