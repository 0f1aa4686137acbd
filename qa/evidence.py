"""Pick the evidence: rank the sentences of the retrieved chunks against the question.

A small generator does best with a few short, focused sentences rather than whole chunks, and a
sentence is also the unit a citation quotes. Each sentence is scored by meaning (embedding
similarity, across languages), by shared words, and by how well its chunk ranked.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ingest.bm25 import tokenize
from ingest.chunker import sentence_units
from ingest.embedders import Embedder
from ingest.language import question_language

from .types import Evidence, Passage

_MAX_SENTENCE = 400  # characters; longer "sentences" (lists, tables) are cut at whitespace


class SentenceVectors:
    """Sentence embeddings computed on demand and kept (bounded) for the life of the process."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        fresh = self.embedder.encode_passages(todo) if todo else []
        with self._lock:
            for t, v in zip(todo, fresh, strict=True):
                self._cache[t] = v
            out = np.stack(
                [self._cache.get(t) if t in self._cache else fresh[todo.index(t)] for t in texts]
            )
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return out


def _stem(token: str) -> str:
    # crude, language-neutral: enough for Stützpunkte/Stützpunkt, bases/base
    return token[:6] if len(token) > 6 else token


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words (crudely stemmed) found in the sentence."""
    q = {_stem(t) for t in tokenize(question)}
    if not q:
        return 0.0
    s = {_stem(t) for t in tokenize(sentence)}
    return len(q & s) / len(q)


class EvidenceSelector:
    def __init__(
        self,
        embedder: Embedder,
        *,
        semantic_weight: float = 1.0,
        lexical_weight: float = 0.3,
        rank_weight: float = 0.1,
    ) -> None:
        self.embedder = embedder
        self.vectors = SentenceVectors(embedder)
        self.semantic_weight = semantic_weight
        self.lexical_weight = lexical_weight
        self.rank_weight = rank_weight

    def candidates(self, passages: list[Passage]) -> list[tuple[int, int, int]]:
        """(passage index, start, end) of every sentence, document offsets, no repeats."""
        out: list[tuple[int, int, int]] = []
        seen: set[tuple[str, int]] = set()
        for pi, p in enumerate(passages):
            c = p.chunk
            for s, e in sentence_units(c.text, _MAX_SENTENCE):
                key = (c.doc_id, c.start + s)
                if key in seen:  # the overlap sentence of two neighbouring chunks
                    continue
                seen.add(key)
                out.append((pi, c.start + s, c.start + e))
        return out

    def score(
        self,
        question: str,
        passages: list[Passage],
        translations: Mapping[str, str] | None = None,
        *,
        meaning_only_across_languages: bool = False,
    ) -> list[Evidence]:
        """All sentences of ``passages`` as evidence, best first (numbered in that order).
        Shared words count in the question's language or any of its ``translations`` (language
        -> the question in it). With ``meaning_only_across_languages``, a sentence in a language
        that neither the question nor a translation is in is scored by meaning alone."""
        cands = self.candidates(passages)
        if not cands:
            return []
        translations = translations or {}
        texts = [
            passages[pi].chunk.text[s - passages[pi].chunk.start : e - passages[pi].chunk.start]
            for pi, s, e in cands
        ]
        q = self.embedder.encode_query(question)
        sem = self.vectors.encode(texts) @ q
        readable = {question_language(question), *translations, None, ""}
        queries = (question, *translations.values())
        scored = []
        for (pi, s, e), text, sim in zip(cands, texts, sem, strict=True):
            score = self.semantic_weight * float(sim)
            # across languages without a translation, shared words are only names and numbers
            # and the chunk's rank came from such words: on XQuAD (English questions, German
            # paragraphs) both pulled the wrong paragraph first (dev hit@1 0.832 -> 0.896
            # without them; README)
            if not meaning_only_across_languages or passages[pi].chunk.lang in readable:
                score += self.lexical_weight * max(
                    lexical_overlap(q_text, text) for q_text in queries
                ) + self.rank_weight / (1 + pi)
            scored.append(Evidence(0, text, s, e, score, passages[pi]))
        scored.sort(key=lambda ev: -ev.score)
        for n, ev in enumerate(scored, start=1):
            ev.n = n
        return scored

    def passage_scores(
        self,
        question: str,
        passages: list[Passage],
        translations: Mapping[str, str] | None = None,
        *,
        meaning_only_across_languages: bool = False,
    ) -> dict[str, float]:
        """Chunk id -> the score of its best sentence (a passage is as good as the one sentence
        that answers), for re-ranking ``passages``."""
        best: dict[str, float] = {}
        for ev in self.score(
            question,
            passages,
            translations,
            meaning_only_across_languages=meaning_only_across_languages,
        ):
            best.setdefault(ev.chunk.chunk_id, ev.score)  # best first: the first one is the best
        return best
