"""The BM25 side index (bm25s), kept beside Chroma because Chroma has no keyword index.

It is a cache derived from the chunks in Chroma, never a second source of truth: it records the
store *generation* it was built from, and :meth:`BM25Index.sync` brings it up to date whenever the
generation changed (after an ingest here, or on another machine sharing a Chroma server). Only new
chunks are fetched and tokenised; token ids of known chunks are reused from the cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import analyzer
from .store import Store, date_int
from .types import Chunk

TOKENIZER = "lower-alnum-stop-en-de-v2-header-k0.9b0.4"


def _stopwords() -> frozenset[str]:
    return analyzer.stopwords()


def keyword_text(chunk: Chunk) -> str:
    """What keyword search sees of a chunk: publisher and title, then the text. Questions name
    the outlet and the story ("a TechCrunch article on ...") as often as the words inside it."""
    return "\n".join(x for x in (chunk.publisher, chunk.title, chunk.text) if x)


def tokenize(text: str) -> list[str]:
    """Lower-cased words of two or more characters, English and German stop words removed."""
    return analyzer.words(text)


@lru_cache(maxsize=1)
def german_vocabulary() -> set[str]:
    """German words of four or more letters (wordfreq's list of the 200,000 most frequent),
    the parts a compound may be split into."""
    from wordfreq import top_n_list

    return {w for w in top_n_list("de", 200_000) if len(w) >= 4}


@dataclass
class _Meta:
    ids: list[str]
    doc_ids: np.ndarray  # object array of str
    date_ints: np.ndarray  # int32, 0 = unknown
    langs: np.ndarray  # object array
    sources: np.ndarray  # object array


class Snapshot:
    """One built state of the index: its vocabulary, chunk metadata and BM25 object, never
    changed once published. :meth:`BM25Index.sync` builds a new one and swaps it in with one
    assignment, so a search (and the filter mask it uses) that holds a snapshot sees the old
    index or the new one, never a mix."""

    def __init__(
        self,
        analyzer: str,
        generation: str | None = None,
        vocab: dict[str, int] | None = None,
        token_ids: list[np.ndarray] | None = None,
        meta: _Meta | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.generation = generation
        self.vocab: dict[str, int] = vocab if vocab is not None else {}
        self.token_ids: list[np.ndarray] = token_ids if token_ids is not None else []
        self.meta = meta or _meta([], [], [], [], [])
        self.position = {cid: i for i, cid in enumerate(self.meta.ids)}
        self._languages = frozenset(str(x) for x in set(self.meta.langs.tolist()) if x)
        self.bm25 = _build(self.token_ids, self.vocab)

    def __len__(self) -> int:
        return len(self.meta.ids)

    def analyze(self, text: str, lang: str | None) -> list[str]:
        """The tokens of ``text`` (in ``lang``) as this index sees them (ingest.analyzer)."""
        return _analyze(text, lang, self.analyzer)

    def lang_of(self, chunk_id: str) -> str | None:
        i = self.position.get(chunk_id)
        return None if i is None else str(self.meta.langs[i])

    def doc_id_of(self, chunk_id: str) -> str | None:
        i = self.position.get(chunk_id)
        return None if i is None else str(self.meta.doc_ids[i])

    def languages(self) -> set[str]:
        """Languages of the indexed chunks (unknown ones left out)."""
        return set(self._languages)

    def mask(
        self,
        *,
        date_from: int | None = None,
        date_to: int | None = None,
        include_undated: bool = False,
        langs: set[str] | None = None,
        sources: set[str] | None = None,
        exclude_docs: set[str] | None = None,
    ) -> np.ndarray | None:
        """A 0/1 weight per chunk for the filters, or None when nothing is filtered. A date range
        keeps undated chunks (date 0) only with ``include_undated``."""
        if not (date_from or date_to or langs or sources or exclude_docs):
            return None
        keep = np.ones(len(self.meta.ids), dtype=bool)
        if date_from or date_to:
            dates = self.meta.date_ints
            in_range = dates > 0
            if date_from:
                in_range &= dates >= date_from
            if date_to:
                in_range &= dates <= date_to
            keep &= (in_range | (dates == 0)) if include_undated else in_range
        if langs:
            keep &= np.isin(self.meta.langs, list(langs))
        if sources:
            keep &= np.isin(self.meta.sources, list(sources))
        if exclude_docs:
            keep &= ~np.isin(self.meta.doc_ids, list(exclude_docs))
        return keep.astype(np.float32)

    def search(
        self,
        query: str,
        n: int,
        weight_mask: np.ndarray | None = None,
        lang: str | None = None,
    ) -> list[tuple[str, float]]:
        """Top ``n`` chunk ids by BM25 score (zero scores left out); ``query`` is analysed in
        ``lang``, the language it is written in. ``weight_mask`` must come from this snapshot's
        :meth:`mask`."""
        if self.bm25 is None or n <= 0:
            return []
        tokens = self.analyze(query, lang)
        query_ids = [self.vocab[t] for t in dict.fromkeys(tokens) if t in self.vocab]
        if not query_ids:
            return []
        scores = self.bm25.get_scores_from_ids(query_ids, weight_mask=weight_mask)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.meta.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _meta(ids, doc_ids, date_ints, langs, sources) -> _Meta:  # type: ignore[no-untyped-def]
    return _Meta(
        list(ids),
        np.array(doc_ids, dtype=object),
        np.array(date_ints, dtype=np.int32),
        np.array(langs, dtype=object),
        np.array(sources, dtype=object),
    )


def _analyze(text: str, lang: str | None, name: str) -> list[str]:
    vocabulary = german_vocabulary() if name == "stem-split" and lang == "de" else None
    return analyzer.analyze(text, lang, name, vocabulary)


def _build(token_ids: list[np.ndarray], vocab: dict[str, int]) -> object | None:
    import bm25s
    from bm25s.tokenization import Tokenized

    if not token_ids:
        return None
    # Anserini's k1/b: better than bm25s' 1.5/0.75 on MultiHop-RAG's tuning queries (docs/decisions.md)
    retriever = bm25s.BM25(k1=0.9, b=0.4)
    # bm25s wants plain lists; an empty chunk gets no tokens and simply never scores
    corpus = Tokenized(ids=[t.tolist() for t in token_ids], vocab=dict(vocab))
    retriever.index(corpus, show_progress=False)
    return retriever


def _read_raw(path: Path, dtype: str) -> np.ndarray | None:
    """A raw array written by ``tofile``; None when the file is cut inside an element."""
    size = np.dtype(dtype).itemsize
    if path.stat().st_size % size:
        return None
    return np.fromfile(path, dtype=dtype)


class BM25Index:
    """A persisted BM25 index over all chunks of a store, with metadata arrays for filtering.

    Searches read the current :class:`Snapshot` (:meth:`snapshot`); :meth:`sync` builds the
    next one aside (one sync at a time) and publishes it by one reference assignment."""

    def __init__(self, folder: Path, analyzer: str = "stem") -> None:
        self.folder = folder
        self.analyzer = analyzer
        # the stamp of the cache: tokens of another analyser are not reused
        self.tokenizer = TOKENIZER if analyzer == "plain" else f"{TOKENIZER}-{analyzer}"
        self._snapshot = Snapshot(analyzer)
        self._sync_lock = threading.Lock()
        self._load()

    def snapshot(self) -> Snapshot:
        """The index as it is now; a filter mask and the search that uses it must both come
        from one snapshot."""
        return self._snapshot

    # read-only views of the current snapshot (benchmarks and callers that read one value)
    @property
    def generation(self) -> str | None:
        return self._snapshot.generation

    @property
    def vocab(self) -> dict[str, int]:
        return self._snapshot.vocab

    @property
    def token_ids(self) -> list[np.ndarray]:
        return self._snapshot.token_ids

    @property
    def meta(self) -> _Meta:
        return self._snapshot.meta

    @property
    def _bm25(self) -> object | None:
        return self._snapshot.bm25

    # --- persistence ---------------------------------------------------------------------------
    def _load(self) -> None:
        """Read the cache; a damaged one (cut, garbled, or not what _save writes) is left
        unread and rebuilt from Chroma by the next :meth:`sync`."""
        state_path = self.folder / "state.json"
        if not state_path.exists():
            return
        try:
            loaded = self._read()
        except Exception:  # any damage (BadZipFile, KeyError, ...): built again from Chroma
            loaded = None
        if loaded is None:
            return
        generation, vocab, token_ids, meta = loaded
        columns = (meta[c] for c in ("ids", "doc_ids", "date_ints", "langs", "sources"))
        self._snapshot = Snapshot(self.analyzer, generation, vocab, token_ids, _meta(*columns))

    def _read(self) -> tuple[str, dict[str, int], list[np.ndarray], dict[str, list]] | None:
        """The cache's parts, checked against each other; None when they do not fit."""
        state = json.loads((self.folder / "state.json").read_text())
        if not isinstance(state, dict) or state.get("tokenizer") != self.tokenizer:
            return None
        generation = state.get("generation")
        flat = _read_raw(self.folder / "tokens.i32", "<i4")
        offsets = _read_raw(self.folder / "offsets.i64", "<i8")
        if flat is None or offsets is None:
            return None
        vocab = json.loads((self.folder / "vocab.json").read_text())
        meta = json.loads((self.folder / "meta.json").read_text())
        if not isinstance(generation, str) or not isinstance(vocab, dict):
            return None
        if not all(isinstance(k, str) and type(v) is int for k, v in vocab.items()):
            return None
        n = len(offsets) - 1
        columns = ("ids", "doc_ids", "date_ints", "langs", "sources")
        if not isinstance(meta, dict) or not all(
            isinstance(meta.get(c), list) and len(meta[c]) == n for c in columns
        ):
            return None
        if flat.ndim != 1 or offsets.ndim != 1 or n < 0 or offsets[0] != 0:
            return None
        if np.any(np.diff(offsets) < 0) or offsets[-1] != len(flat):
            return None
        if len(flat) and (flat.min() < 0 or flat.max() >= len(vocab)):
            return None
        values = list(vocab.values())
        if values and (min(values) < 0 or max(values) >= len(values)):
            return None  # token ids are 0..len(vocab)-1: new tokens get len(vocab)
        if len(set(values)) != len(values) or len(set(meta["ids"])) != n:
            return None  # token ids and chunk ids must each be unique
        token_ids = [flat[offsets[i] : offsets[i + 1]] for i in range(n)]
        return generation, vocab, token_ids, meta

    def _save(self, snap: Snapshot) -> None:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=self.folder.parent))
        try:
            self._write(tmp, snap)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # a full disk must not keep half a cache
            raise

    def _write(self, tmp: Path, snap: Snapshot) -> None:
        offsets = np.zeros(len(snap.token_ids) + 1, dtype=np.int64)
        if snap.token_ids:
            offsets[1:] = np.cumsum([len(t) for t in snap.token_ids])
            flat = np.concatenate(snap.token_ids).astype(np.int32)
        else:
            flat = np.zeros(0, dtype=np.int32)
        # raw little-endian arrays, not .npy: numpy reads a .npy header with ast.literal_eval,
        # and ast.parse in a thread beside another (Streamlit compiling the page) fails on
        # Python 3.11 ("AST constructor recursion depth mismatch")
        flat.astype("<i4").tofile(tmp / "tokens.i32")
        offsets.astype("<i8").tofile(tmp / "offsets.i64")
        (tmp / "vocab.json").write_text(json.dumps(snap.vocab, ensure_ascii=False))
        (tmp / "meta.json").write_text(
            json.dumps(
                {
                    "ids": snap.meta.ids,
                    "doc_ids": snap.meta.doc_ids.tolist(),
                    "date_ints": snap.meta.date_ints.tolist(),
                    "langs": snap.meta.langs.tolist(),
                    "sources": snap.meta.sources.tolist(),
                },
                ensure_ascii=False,
            )
        )
        # state.json last: a folder without it is ignored
        (tmp / "state.json").write_text(
            json.dumps({"generation": snap.generation, "tokenizer": self.tokenizer})
        )
        old = self.folder.with_name(self.folder.name + ".old")
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(tmp, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    # --- keeping up with the store -----------------------------------------------------------------
    def sync(self, store: Store) -> bool:
        """Bring the index up to the store's generation; return True if it was rebuilt."""
        if store.generation == self._snapshot.generation:
            return False
        with self._sync_lock:  # two sessions after one ingest: one rebuild, the other reuses it
            generation = store.generation
            old = self._snapshot
            if generation == old.generation:
                return False
            ids = store.chunk_ids()
            known = {cid: old.token_ids[i] for cid, i in old.position.items()}
            old_meta = {
                cid: (
                    old.meta.doc_ids[i],
                    int(old.meta.date_ints[i]),
                    old.meta.langs[i],
                    old.meta.sources[i],
                )
                for cid, i in old.position.items()
            }
            # new tokens go into a copy: searches of the old snapshot keep its vocabulary
            vocab = dict(old.vocab)
            missing = [cid for cid in ids if cid not in known]
            for i in range(0, len(missing), 2000):
                for chunk in store.get_chunks(missing[i : i + 2000]):
                    tokens = self.analyze(keyword_text(chunk), chunk.lang)
                    known[chunk.chunk_id] = _ids_for(vocab, tokens)
                    old_meta[chunk.chunk_id] = (
                        chunk.doc_id,
                        date_int(chunk.date) or 0,
                        chunk.lang or "",
                        chunk.source,
                    )
            ids = [cid for cid in ids if cid in known]
            rows = [old_meta[cid] for cid in ids]
            snap = Snapshot(
                self.analyzer,
                generation,
                vocab,
                [known[cid] for cid in ids],
                _meta(ids, *([r[k] for r in rows] for k in range(4))),
            )
            self._snapshot = snap  # published whole: one reference assignment
            # a read-only store or a full disk: kept in memory, built again by the next process
            with contextlib.suppress(OSError):
                self._save(snap)
        return True

    def analyze(self, text: str, lang: str | None) -> list[str]:
        """The tokens of ``text`` (in ``lang``) as this index sees them (ingest.analyzer)."""
        return _analyze(text, lang, self.analyzer)

    # --- querying the current snapshot (callers that combine calls take one snapshot()) ---------
    def __len__(self) -> int:
        return len(self._snapshot)

    def lang_of(self, chunk_id: str) -> str | None:
        return self._snapshot.lang_of(chunk_id)

    def doc_id_of(self, chunk_id: str) -> str | None:
        return self._snapshot.doc_id_of(chunk_id)

    def languages(self) -> set[str]:
        """Languages of the indexed chunks (unknown ones left out)."""
        return self._snapshot.languages()

    def mask(self, **filters: Any) -> np.ndarray | None:
        """:meth:`Snapshot.mask` of the current snapshot."""
        return self._snapshot.mask(**filters)

    def search(
        self,
        query: str,
        n: int,
        weight_mask: np.ndarray | None = None,
        lang: str | None = None,
    ) -> list[tuple[str, float]]:
        """:meth:`Snapshot.search` of the current snapshot (whole, even while a sync runs)."""
        return self._snapshot.search(query, n, weight_mask, lang)


def _ids_for(vocab: dict[str, int], tokens: list[str]) -> np.ndarray:
    """Token ids of ``tokens``; a new token gets the next id in ``vocab``."""
    out = np.empty(len(tokens), dtype=np.int32)
    for i, tok in enumerate(tokens):
        tid = vocab.get(tok)
        if tid is None:
            tid = vocab[tok] = len(vocab)
        out[i] = tid
    return out


def bm25_folder(store_path: Path, chroma_url: str | None, collection: str) -> Path:
    """Where the index for a store lives: inside the store, or per server and collection."""
    if chroma_url:
        safe = re.sub(r"[^A-Za-z0-9]+", "_", chroma_url).strip("_")
        return store_path / "bm25" / f"{safe}__{collection}"
    return store_path / "bm25" / collection
