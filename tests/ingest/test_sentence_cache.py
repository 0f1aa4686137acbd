"""The sentence cache that ingest fills and the answer step reads (ingest/sentence_cache.py)."""

from pathlib import Path

import numpy as np
from fundstelle.ingest.embedders import Embedder
from fundstelle.ingest.sentence_cache import (
    SENTENCE_CHARS,
    DiskVectors,
    sentence_key,
    sentence_texts,
)


class _Counting(Embedder):
    """Two-dimensional vectors from the text's length; counts what it was asked to embed."""

    name = "counting"
    dim = 2

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.seen += list(texts)
        out = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    encode_queries = encode_passages


def test_ingest_cuts_sentences_as_the_answer_step_does() -> None:
    from fundstelle.qa import evidence

    assert evidence._MAX_SENTENCE == SENTENCE_CHARS
    text = "Der Hafen ist groß. Er liegt an der Elbe. Die Liste: " + "eins " * 120 + "zwei."
    cut = sentence_texts(text)
    assert cut[:2] == ["Der Hafen ist groß.", "Er liegt an der Elbe."]
    assert len(cut) > 3 and all(len(s) <= SENTENCE_CHARS for s in cut)


def test_vectors_written_by_ingest_are_found_by_the_answer_step(tmp_path: Path) -> None:
    from fundstelle.qa.evidence import SentenceVectors

    path = tmp_path / "sentences.sqlite"
    embedder = _Counting()
    cache = DiskVectors(path, embedder)
    sentences = ["Der Hafen ist groß.", "Er liegt an der Elbe."]
    assert cache.missing([*sentences, sentences[0]]) == sentences
    cache.put(dict(zip(sentences, embedder.encode_passages(sentences), strict=True)))
    assert cache.missing([*sentences, "Neu."]) == ["Neu."]
    assert sentence_key("counting", sentences[0]) == cache._key(sentences[0])

    asking = _Counting()  # another process: an empty memory, the same file
    SentenceVectors(asking, path=path).encode(sentences)
    assert asking.seen == []


def test_an_unusable_cache_file_means_every_sentence_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "sentences.sqlite"
    path.write_bytes(b"this is not a database")
    cache = DiskVectors(path, _Counting())
    assert cache.missing(["a.", "b."]) == ["a.", "b."]
    cache.put({"a.": np.ones(2, dtype=np.float32)})  # costs nothing but the vector
