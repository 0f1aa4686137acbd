"""The BM25 side index, kept beside Chroma because Chroma has no keyword index.

It is a cache derived from the chunks in Chroma, never a second source of truth: it records the
store *generation* it was built from, and :meth:`BM25Index.sync` brings it up to date whenever the
generation changed (after an ingest here, or on another machine sharing a Chroma server). Only new
chunks are fetched and tokenised; they become a new segment of postings (ingest.postings), written
to the cache as files of their own: a sync after new chunks costs the new chunks, not the store.
A sync after removals, or with ``MAX_SEGMENTS`` segments, builds one segment of everything again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import analyzer
from .postings import MAX_SEGMENTS, Scorer, Segment
from .store import Store, date_int
from .types import Chunk

# the chunk metadata a segment's meta.json holds, in _Meta's order
_COLUMNS = ("ids", "doc_ids", "date_ints", "langs", "sources")
# the cache's stamp: tokens of another analyser or another file layout are not reused
TOKENIZER = "lower-alnum-stop-en-de-v2-header-k0.9b0.4-seg"


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
        scorer: Scorer | None = None,
        files: list[str] | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.generation = generation
        self.vocab: dict[str, int] = vocab if vocab is not None else {}
        self.token_ids: list[np.ndarray] = token_ids if token_ids is not None else []
        self.meta = meta or _meta([], [], [], [], [])
        self.position = {cid: i for i, cid in enumerate(self.meta.ids)}
        self._languages = frozenset(str(x) for x in set(self.meta.langs.tolist()) if x)
        self.scorer = scorer or Scorer([Segment(self.token_ids, 0)])
        # the cache's segment files this snapshot is saved as (BM25Index), oldest first
        self.files: list[str] = files or []

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
        if not self.meta.ids or n <= 0:
            return []
        tokens = self.analyze(query, lang)
        query_ids = [self.vocab[t] for t in dict.fromkeys(tokens) if t in self.vocab]
        if not query_ids:
            return []
        scores = self.scorer.scores(query_ids, weight_mask=weight_mask)
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
    def scorer(self) -> Scorer:
        return self._snapshot.scorer

    # --- persistence ---------------------------------------------------------------------------
    # The folder holds state.json (generation, tokenizer, the segment names in order) and per
    # segment NAME.tokens.i32 / NAME.offsets.i64 (raw little-endian arrays, not .npy: numpy
    # reads a .npy header with ast.literal_eval, and ast.parse in a thread beside another, as
    # Streamlit compiling the page, fails on Python 3.11), NAME.meta.json (its chunks' ids and
    # metadata), NAME.vocab.json (the terms it added, their ids following the last segment's)
    # and its postings NAME.indptr.i64 / NAME.docs.i32 / NAME.tfs.f32 (optional: without them,
    # or where they do not fit the tokens, the postings are built from the tokens on reading).
    def _load(self) -> None:
        """Read the cache; a damaged one (cut, garbled, or not what _save writes) is left
        unread and rebuilt from Chroma by the next :meth:`sync`."""
        state_path = self.folder / "state.json"
        if not state_path.exists():
            return
        try:
            loaded = self._read()
        except Exception:  # any damage (missing file, KeyError, ...): built again from Chroma
            loaded = None
        if loaded is not None:
            self._snapshot = loaded

    def _read(self) -> Snapshot | None:
        """The cache as a snapshot, its parts checked against each other; None when they do
        not fit."""
        state = json.loads((self.folder / "state.json").read_text())
        if not isinstance(state, dict) or state.get("tokenizer") != self.tokenizer:
            return None
        generation, names = state.get("generation"), state.get("segments")
        if not isinstance(generation, str) or not isinstance(names, list) or not names:
            return None
        terms: list[str] = []
        token_ids: list[np.ndarray] = []
        segments: list[Segment] = []
        meta: dict[str, list] = {c: [] for c in _COLUMNS}
        for name in names:
            part = self._read_segment(str(name), len(terms))
            if part is None:
                return None
            added, tokens, seg_meta, flat, lengths = part
            terms += added
            if len(flat) and int(flat.max()) >= len(terms):
                return None  # a token id beyond the terms known up to this segment
            segment = self._read_postings(str(name), lengths, len(token_ids), len(terms))
            segments.append(segment or Segment(tokens, len(token_ids)))
            token_ids += tokens
            for c in _COLUMNS:
                meta[c] += seg_meta[c]
        vocab = {t: i for i, t in enumerate(terms)}
        if len(vocab) != len(terms) or len(set(meta["ids"])) != len(meta["ids"]):
            return None  # terms and chunk ids must each be unique
        return Snapshot(
            self.analyzer,
            generation,
            vocab,
            token_ids,
            _meta(*(meta[c] for c in _COLUMNS)),
            Scorer(segments),
            [str(n) for n in names],
        )

    def _read_segment(
        self, name: str, first_term: int
    ) -> tuple[list[str], list[np.ndarray], dict[str, list], np.ndarray, np.ndarray] | None:
        """The segment's terms, tokens per chunk, metadata, all tokens in one array and the
        chunks' lengths; None where its files do not fit together."""
        if not re.fullmatch(r"s-[0-9a-f]{12}", name):
            return None
        flat = _read_raw(self.folder / f"{name}.tokens.i32", "<i4")
        offsets = _read_raw(self.folder / f"{name}.offsets.i64", "<i8")
        if flat is None or offsets is None:
            return None
        added = json.loads((self.folder / f"{name}.vocab.json").read_text())
        meta = json.loads((self.folder / f"{name}.meta.json").read_text())
        if not isinstance(added, list) or not all(isinstance(t, str) for t in added):
            return None
        n = len(offsets) - 1
        if not isinstance(meta, dict) or not all(
            isinstance(meta.get(c), list) and len(meta[c]) == n for c in _COLUMNS
        ):
            return None
        if flat.ndim != 1 or offsets.ndim != 1 or n < 0 or offsets[0] != 0:
            return None
        if np.any(np.diff(offsets) < 0) or offsets[-1] != len(flat):
            return None
        if len(flat) and flat.min() < 0:
            return None
        tokens = [flat[offsets[i] : offsets[i + 1]] for i in range(n)]
        return added, tokens, meta, flat, np.diff(offsets)

    def _read_postings(
        self, name: str, lengths: np.ndarray, start: int, n_terms: int
    ) -> Segment | None:
        """The segment's postings as written beside its tokens; None where they are missing
        (a cache written before they were) or do not fit its tokens: then built from them."""
        try:
            indptr = _read_raw(self.folder / f"{name}.indptr.i64", "<i8")
            docs = _read_raw(self.folder / f"{name}.docs.i32", "<i4")
            tfs = _read_raw(self.folder / f"{name}.tfs.f32", "<f4")
        except OSError:
            return None
        if indptr is None or docs is None or tfs is None or len(indptr) - 1 > n_terms:
            return None
        return Segment.of_postings(lengths, indptr, docs, tfs, start)

    def _save(self, snap: Snapshot, base: Snapshot | None) -> None:
        """Write ``snap``: only its last segment when it extends ``base`` and the folder holds
        ``base`` (one sync after new chunks writes their files and a new state.json), else
        everything into a new folder that replaces the old one."""
        on_disk = self._on_disk()
        if base is not None and base.files and on_disk == (base.generation, base.files):
            if snap.files == base.files:  # no new chunk: the new generation only
                _write_state(self.folder, snap, self.tokenizer)
                return
            if snap.files[:-1] == base.files:
                self._append(snap, base)
                return
        snap.files = [_segment_name()]
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=self.folder.parent))
        try:
            self._write_segment(tmp, snap.files[0], snap, 0, list(snap.vocab))
            _write_state(tmp, snap, self.tokenizer)
            old = self.folder.with_name(self.folder.name + ".old")
            if old.exists():
                shutil.rmtree(old, ignore_errors=True)
            if self.folder.exists():
                os.replace(self.folder, old)
            os.replace(tmp, self.folder)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # a full disk must not keep half a cache
            raise

    def _on_disk(self) -> tuple[str | None, list[str]] | None:
        try:
            state = json.loads((self.folder / "state.json").read_text())
            return state.get("generation"), list(state.get("segments") or [])
        except (OSError, ValueError, AttributeError):
            return None

    def _append(self, snap: Snapshot, base: Snapshot) -> None:
        name = snap.files[-1]
        terms = list(snap.vocab)[len(base.vocab) :]  # dicts keep insertion order: new ids last
        try:
            self._write_segment(self.folder, name, snap, len(base), terms)
            _write_state(self.folder, snap, self.tokenizer)  # published by one rename
        except BaseException:
            for f in self.folder.glob(f"{name}.*"):
                f.unlink(missing_ok=True)
            raise

    def _write_segment(
        self, folder: Path, name: str, snap: Snapshot, start: int, terms: list[str]
    ) -> None:
        token_ids = snap.token_ids[start:]
        offsets = np.zeros(len(token_ids) + 1, dtype=np.int64)
        if token_ids:
            offsets[1:] = np.cumsum([len(t) for t in token_ids])
            flat = np.concatenate(token_ids).astype(np.int32)
        else:
            flat = np.zeros(0, dtype=np.int32)
        flat.astype("<i4").tofile(folder / f"{name}.tokens.i32")
        offsets.astype("<i8").tofile(folder / f"{name}.offsets.i64")
        # its postings too: a new process reads them instead of sorting every token again
        segment = next((g for g in snap.scorer.segments if g.start == start), None)
        if segment is not None and segment.n == len(token_ids):
            indptr, docs, tfs = segment.postings_arrays()
            indptr.astype("<i8").tofile(folder / f"{name}.indptr.i64")
            docs.astype("<i4").tofile(folder / f"{name}.docs.i32")
            tfs.astype("<f4").tofile(folder / f"{name}.tfs.f32")
        (folder / f"{name}.vocab.json").write_text(json.dumps(terms, ensure_ascii=False))
        m = snap.meta
        (folder / f"{name}.meta.json").write_text(
            json.dumps(
                {
                    "ids": m.ids[start:],
                    "doc_ids": m.doc_ids[start:].tolist(),
                    "date_ints": m.date_ints[start:].tolist(),
                    "langs": m.langs[start:].tolist(),
                    "sources": m.sources[start:].tolist(),
                },
                ensure_ascii=False,
            )
        )

    # --- keeping up with the store -----------------------------------------------------------------
    def sync(self, store: Store) -> bool:
        """Bring the index up to the store's generation; return True if it changed."""
        if store.generation == self._snapshot.generation:
            return False
        with self._sync_lock:  # two sessions after one ingest: one rebuild, the other reuses it
            generation = store.generation
            old = self._snapshot
            if generation == old.generation:
                return False
            ids = store.chunk_ids()
            current = set(ids)
            new = [cid for cid in ids if cid not in old.position]
            gone = len(old) - (len(current) - len(new))
            # new tokens go into a copy: searches of the old snapshot keep its vocabulary
            vocab = dict(old.vocab)
            fresh: dict[str, tuple[np.ndarray, tuple[str, int, str, str]]] = {}
            for i in range(0, len(new), 2000):
                for chunk in store.get_chunks(new[i : i + 2000]):
                    tokens = self.analyze(keyword_text(chunk), chunk.lang)
                    fresh[chunk.chunk_id] = (
                        _ids_for(vocab, tokens),
                        (chunk.doc_id, date_int(chunk.date) or 0, chunk.lang or "", chunk.source),
                    )
            new = [cid for cid in new if cid in fresh]
            if gone == 0 and old.files and len(old.scorer.segments) < MAX_SEGMENTS:
                snap = self._appended(old, generation, vocab, new, fresh)
            else:  # removals, or many segments: everything as one segment again
                snap = self._rebuilt(old, generation, vocab, ids, fresh)
            self._snapshot = snap  # published whole: one reference assignment
            # a read-only store or a full disk: kept in memory, built again by the next process
            with contextlib.suppress(OSError):
                self._save(snap, old)
        return True

    def _appended(
        self,
        old: Snapshot,
        generation: str,
        vocab: dict[str, int],
        new: list[str],
        fresh: dict[str, tuple[np.ndarray, tuple[str, int, str, str]]],
    ) -> Snapshot:
        """``old`` and the ``new`` chunks as one more segment (no new chunk: the same index
        under the new generation)."""
        m = old.meta
        rows = [fresh[cid][1] for cid in new]
        meta = _meta(
            m.ids + new,
            [*m.doc_ids.tolist(), *(r[0] for r in rows)],
            [*m.date_ints.tolist(), *(r[1] for r in rows)],
            [*m.langs.tolist(), *(r[2] for r in rows)],
            [*m.sources.tolist(), *(r[3] for r in rows)],
        )
        tokens = [fresh[cid][0] for cid in new]
        if not new:
            return Snapshot(
                self.analyzer, generation, vocab, old.token_ids, meta, old.scorer, old.files
            )
        return Snapshot(
            self.analyzer,
            generation,
            vocab,
            old.token_ids + tokens,
            meta,
            old.scorer.append(tokens),
            [*old.files, _segment_name()],
        )

    def _rebuilt(
        self,
        old: Snapshot,
        generation: str,
        vocab: dict[str, int],
        ids: list[str],
        fresh: dict[str, tuple[np.ndarray, tuple[str, int, str, str]]],
    ) -> Snapshot:
        m = old.meta
        token_ids: list[np.ndarray] = []
        rows: list[tuple[str, int, str, str]] = []
        kept: list[str] = []
        for cid in ids:
            i = old.position.get(cid)
            if i is not None:
                token_ids.append(old.token_ids[i])
                rows.append((m.doc_ids[i], int(m.date_ints[i]), m.langs[i], m.sources[i]))
            elif cid in fresh:
                token_ids.append(fresh[cid][0])
                rows.append(fresh[cid][1])
            else:
                continue
            kept.append(cid)
        meta = _meta(kept, *([r[k] for r in rows] for k in range(4)))
        return Snapshot(self.analyzer, generation, vocab, token_ids, meta)

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


def _segment_name() -> str:
    return f"s-{uuid.uuid4().hex[:12]}"


def _write_state(folder: Path, snap: Snapshot, tokenizer: str) -> None:
    """state.json last, by one rename: a folder or segment it does not name is ignored."""
    tmp = folder / f".state-{uuid.uuid4().hex[:8]}.json"
    tmp.write_text(
        json.dumps({"generation": snap.generation, "tokenizer": tokenizer, "segments": snap.files})
    )
    os.replace(tmp, folder / "state.json")


def bm25_folder(store_path: Path, chroma_url: str | None, collection: str) -> Path:
    """Where the index for a store lives: inside the store, or per server and collection."""
    if chroma_url:
        safe = re.sub(r"[^A-Za-z0-9]+", "_", chroma_url).strip("_")
        return store_path / "bm25" / f"{safe}__{collection}"
    return store_path / "bm25" / collection
