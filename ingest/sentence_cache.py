"""The store's cache of sentence vectors: an SQLite file beside the store (``sentences.sqlite``).

The answer step ranks the sentences of retrieved passages by embedding similarity; ingest fills
this cache with the sentences of every new chunk, so that no question waits for them, and the
answer step (``qa/evidence.py``) adds any that are missing. Keys are a hash of the embedding
model's name and the sentence text, so the cache outlives removals and rebuilds: a removed
document's sentence vectors stay until the file is deleted (they cost disk, never answers).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from .chunker import sentence_units
from .embedders import Embedder

SENTENCES_FILE = "sentences.sqlite"
# the longest "sentence" the answer step ranks; longer ones (lists, tables) are cut at whitespace.
# Must equal qa/evidence.py's _MAX_SENTENCE, or ingest fills the cache with sentences no question
# asks for (tests/ingest/test_sentence_cache.py checks it)
SENTENCE_CHARS = 400


def sentence_texts(chunk_text: str) -> list[str]:
    """The sentences of a chunk exactly as the answer step cuts and embeds them."""
    return [chunk_text[s:e] for s, e in sentence_units(chunk_text, SENTENCE_CHARS)]


def sentence_key(model: str, text: str) -> str:
    """The cache key of a sentence's vector under an embedding model."""
    return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()


class DiskVectors:
    """Sentence vectors in an SQLite file, keyed by the embedding model and a hash of the text.
    Several processes may share it (SQLite locks); a failure to read or write it only costs
    time, never an answer."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.path = path
        self.model = embedder.name
        self.dim = embedder.dim
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection | None:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=5)
                db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, vec BLOB)")
            except (sqlite3.Error, OSError):
                return None
            self._local.db = db
        return db

    def _key(self, text: str) -> str:
        return sentence_key(self.model, text)

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        db = self._db()
        if db is None:
            return {}
        keys = {self._key(t): t for t in texts}
        out: dict[str, np.ndarray] = {}
        try:
            items = list(keys.items())
            for i in range(0, len(items), 500):
                part = dict(items[i : i + 500])
                marks = ",".join("?" * len(part))
                for k, blob in db.execute(f"SELECT k, vec FROM v WHERE k IN ({marks})", list(part)):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape == (self.dim,):
                        out[part[k]] = vec
        except sqlite3.Error:
            return out
        return out

    def missing(self, texts: list[str]) -> list[str]:
        """The texts (each once, in order) whose vectors the file does not hold: all of them
        when it cannot be read."""
        texts = list(dict.fromkeys(texts))
        db = self._db()
        if db is None:
            return texts
        keys = {self._key(t): t for t in texts}
        found: set[str] = set()
        try:
            items = list(keys)
            for i in range(0, len(items), 500):
                part = items[i : i + 500]
                marks = ",".join("?" * len(part))
                found.update(
                    k
                    for (k,) in db.execute(
                        f"SELECT k FROM v WHERE k IN ({marks}) AND length(vec) = ?",
                        [*part, 4 * self.dim],
                    )
                )
        except sqlite3.Error:
            return texts
        return [t for k, t in keys.items() if k not in found]

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        db = self._db()
        if db is None:
            return
        rows = [
            (self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()
        ]
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", rows)
        except sqlite3.Error:
            pass
