"""The keyword index while an upload's ingest rebuilds it and other sessions search (issue 22):
a search sees the old index or the new one, never parts of both."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fundstelle.ingest.bm25 import BM25Index
from fundstelle.ingest.types import Chunk


def _corpus(prefix: str, n: int, lang: str) -> dict[str, Chunk]:
    chunks = [
        Chunk(
            doc_id=f"{prefix}-doc{i // 10}",
            index=i,
            text=f"harbour ship grain {prefix}word{i} {prefix}only",
            start=0,
            end=10,
            source=f"/corpus/{prefix}{i // 10}.txt",
            title=f"{prefix} {i}",
            lang=lang,
            chunk_id=f"{prefix}-{i:04d}",
        )
        for i in range(n)
    ]
    return {c.chunk_id: c for c in chunks}


class _Store:
    """Two stores in turn: the chunks of generation ``a*`` or of ``b*`` (an ingest that replaced
    every document), as ingest.store.Store shows them to the index."""

    def __init__(self) -> None:
        self.corpora = {"a": _corpus("a", 300, "en"), "b": _corpus("b", 40, "de")}
        self.generation = "a0"

    def chunk_ids(self) -> list[str]:
        return list(self.corpora[self.generation[0]])

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        corpus = self.corpora[self.generation[0]]
        return [corpus[i] for i in ids if i in corpus]


def _race(index: BM25Index, store: _Store, search: object, seconds: float = 3.0) -> list[str]:
    """Rebuild ``index`` over and over in one thread while three others call ``search``;
    return what went wrong."""
    problems: list[str] = []
    stop = threading.Event()

    def rebuild() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            store.generation = f"{'ab'[n % 2]}{n}"
            index.sync(store)  # type: ignore[arg-type]

    def searching() -> None:
        while not stop.is_set():
            try:
                problem = search()  # type: ignore[operator]
            except Exception as exc:  # a mix of two indexes: IndexError, a shape mismatch
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                problems.append(problem)

    threads = [threading.Thread(target=rebuild)] + [
        threading.Thread(target=searching) for _ in range(3)
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(30)
    return problems


def _mixed(found: list[tuple[str, float]]) -> str | None:
    prefixes = {cid[0] for cid, _ in found}
    if len(prefixes) > 1:
        return f"ids of both stores in one result: {sorted(prefixes)}"
    if prefixes == {"b"} and len(found) > 40:
        return f"{len(found)} results from a store of 40 chunks"
    return None


def test_a_search_during_a_rebuild_sees_one_whole_index(tmp_path: Path) -> None:
    store = _Store()
    index = BM25Index(tmp_path / "bm25")
    index.sync(store)  # type: ignore[arg-type]

    def search() -> str | None:
        # words of both stores: a word only the new store has must not reach the old index
        return _mixed(index.search("harbour bonly bword3 aonly", 400))

    problems = _race(index, store, search)
    assert not problems, problems[:5]


def test_a_filter_and_its_search_come_from_one_snapshot(tmp_path: Path) -> None:
    store = _Store()
    index = BM25Index(tmp_path / "bm25")
    index.sync(store)  # type: ignore[arg-type]

    def search() -> str | None:
        # what qa.retrieve does: a mask for the filters, then the search with it
        snapshot = index.snapshot()
        mask = snapshot.mask(langs={"en", "de"}, exclude_docs={"a-doc0", "b-doc0"})
        found = snapshot.search("harbour ship", 400, mask)
        if any(snapshot.doc_id_of(cid) in ("a-doc0", "b-doc0") for cid, _ in found):
            return "an excluded document was found"
        if any(snapshot.lang_of(cid) is None for cid, _ in found):
            return "a result that is not in its snapshot"
        return _mixed(found)

    problems = _race(index, store, search)
    assert not problems, problems[:5]
