"""Pick the evidence: rank the sentences of the retrieved chunks against the question.

A small generator does best with a few short, focused sentences rather than whole chunks, and a
sentence is also the unit a citation quotes. Each sentence is scored by meaning (embedding
similarity, across languages), by shared words, and by how well its chunk ranked.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from fundstelle.ingest.bm25 import tokenize
from fundstelle.ingest.chunker import sentence_units
from fundstelle.ingest.embedders import Embedder
from fundstelle.ingest.language import question_language
from fundstelle.ingest.sentence_cache import DiskVectors as _DiskVectors

from .grounding import has_word
from .question import expected_kind, holds_kind
from .question import parts as question_parts
from .types import Evidence, Passage

_MAX_SENTENCE = 400  # characters; longer "sentences" (lists, tables) are cut at whitespace


class SentenceVectors:
    """Sentence embeddings computed on demand and kept: in memory (bounded) for the life of the
    process, and on disk when given a ``path``, so that the sentences of a store are embedded
    once, not once per question and process (embedding them was most of the time of a
    question over a large store)."""

    def __init__(
        self, embedder: Embedder, capacity: int = 50_000, path: Path | None = None
    ) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._disk = _DiskVectors(path, embedder) if path is not None else None

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        stored = self._disk.get(todo) if self._disk and todo else {}
        missing = [t for t in todo if t not in stored]
        fresh = (
            dict(zip(missing, self.embedder.encode_passages(missing), strict=True))
            if missing
            else {}
        )
        if self._disk and fresh:
            self._disk.put(fresh)
        found = {**stored, **fresh}
        with self._lock:
            for t, v in found.items():
                self._cache[t] = v
            out = np.stack([self._cache[t] if t in self._cache else found[t] for t in texts])
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return out


def _stem(token: str) -> str:
    # crude, language-neutral: enough for Stützpunkte/Stützpunkt, bases/base
    return token[:6] if len(token) > 6 else token


def lexical_overlap(
    question: str, sentence: str, weights: Mapping[str, float] | None = None
) -> float:
    """Share of the question's content words (crudely stemmed) found in the sentence, each
    word counted by its weight (1 without ``weights``)."""
    q = {_stem(t) for t in tokenize(question)}
    if not q:
        return 0.0
    s = {_stem(t) for t in tokenize(sentence)}
    if weights is None:
        return len(q & s) / len(q)
    total = sum(weights.get(t, weights.get("", 1.0)) for t in q)
    return sum(weights.get(t, weights.get("", 1.0)) for t in q & s) / total


def _idf(texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each stemmed word over ``texts`` (the key "" holds the
    weight of a word none of them has)."""
    import math

    df: dict[str, int] = {}
    for text in texts:
        for t in {_stem(t) for t in tokenize(text)}:
            df[t] = df.get(t, 0) + 1
    n = len(texts)
    out = {t: math.log(1 + n / c) for t, c in df.items()}
    out[""] = math.log(1 + n)
    return out


class EvidenceSelector:
    def __init__(
        self,
        embedder: Embedder,
        *,
        vectors_path: Path | None = None,
        semantic_weight: float = 1.0,
        lexical_weight: float = 0.3,
        rank_weight: float = 0.1,
        kind_weight: float = 0.0,
        context_weight: float = 0.0,
        idf: bool = False,
    ) -> None:
        self.embedder = embedder
        self.vectors = SentenceVectors(embedder, path=vectors_path)
        self.semantic_weight = semantic_weight
        self.lexical_weight = lexical_weight
        self.rank_weight = rank_weight
        # a sentence that holds the kind of value asked for ("when": a date) gains this much
        self.kind_weight = kind_weight
        # the words the previous sentence shares with the question count this much: an answer
        # often names its subject by a pronoun ("Er erhielt 1945 ...")
        self.context_weight = context_weight
        # shared words weighted by how rare they are among the candidate sentences
        self.idf = idf

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
        weights = _idf(texts) if self.idf else None
        overlap = [
            max(lexical_overlap(q_text, text, weights) for q_text in queries) for text in texts
        ]
        kind = expected_kind(question) if self.kind_weight else None
        scored = []
        for i, ((pi, s, e), text, sim) in enumerate(zip(cands, texts, sem, strict=True)):
            score = self.semantic_weight * float(sim)
            # across languages without a translation, shared words are only names and numbers
            # and the chunk's rank came from such words: on XQuAD (English questions, German
            # paragraphs) both pulled the wrong paragraph first (dev hit@1 0.832 -> 0.896
            # without them; README)
            if not meaning_only_across_languages or passages[pi].chunk.lang in readable:
                score += self.lexical_weight * overlap[i] + self.rank_weight / (1 + pi)
                if self.context_weight and i > 0 and cands[i - 1][0] == pi:
                    score += self.context_weight * overlap[i - 1]
            if kind and holds_kind(text, kind, strict=True):
                score += self.kind_weight
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


# --- which sentences can be evidence ------------------------------------------------------------

_INSTRUCTION_LIKE = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instruction|prompt|rules?)s?\b"
    r"|\bignorier\w*\b.{0,40}\b(anweisung|anweisungen|instruktion\w*|prompt)\b"
    r"|\b(system prompt|you are now|du bist jetzt)\b"
    r"|^\s*(system|assistant|user)\s*:",
    re.IGNORECASE,
)


def looks_like_instructions(text: str) -> bool:
    """Sentences addressed to an AI ("ignore all previous instructions") are not evidence."""
    return bool(_INSTRUCTION_LIKE.search(text))


def looks_like_heading(text: str) -> bool:
    """A few words with no number, no colon and no closing punctuation mark ("Unilaterale
    Initiative"): a heading states nothing, yet its short vector sits close to many questions.
    "Budget: 5 Milliarden Euro" states something and stays evidence."""
    words = text.split()
    return (
        len(words) <= 4
        and not re.search(r"\d|:", text)
        and not re.search(r"[.!?;…\"'”“»«)]\s*$", text)
    )


def is_evidence(text: str) -> bool:
    """A sentence that can back an answer: has a word, is not addressed to an AI, not a heading,
    and not itself a question (a question states nothing; copied into the sources it only lures
    the model). The numbers of a list ("1.") came out as sentences and were cited for "A"."""
    return (
        has_word(text)
        and not looks_like_instructions(text)
        and not looks_like_heading(text)
        and not text.rstrip(" \"'”“»«").endswith("?")
    )


# a later part of a compound question that leans on the first ("what does it provide for?")
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|he|she|his|her|this|that|these|those|"
    r"es|sie|er|ihr|ihre|ihren|sein|seine|seinen|dies\w*|das|der|die)\b",
    re.IGNORECASE,
)
_WH_OPENING = re.compile(r"^\W*\w+\s+", re.UNICODE)


def part_queries(question: str) -> list[str]:
    """What each part of ``question`` is searched with: the part itself, and for a later part
    that leans on a pronoun, also the first part's words after its question word ("Who signed
    the declaration?" + "What does it provide for?" -> "What does it provide for? signed the
    declaration")."""
    parts = question_parts(question)
    if len(parts) < 2:
        return parts
    context = _WH_OPENING.sub("", parts[0]).rstrip("?")
    return [parts[0], *[p if not _PRONOUN.search(p) else f"{p} {context}" for p in parts[1:]]]


def select(
    selector: EvidenceSelector,
    question: str,
    passages: list[Passage],
    per_part: int,
    translations: Mapping[str, str] | None = None,
) -> list[list[Evidence]]:
    """The evidence of each part of ``question`` (best first, at most ``per_part`` each), and
    every sentence numbered once across the parts (1, 2, ...: the numbers the reader sees and
    citations keep). A sentence two parts share keeps one number."""
    queries = part_queries(question)
    numbered: dict[tuple[str, int], int] = {}
    out: list[list[Evidence]] = []
    for i, query in enumerate(queries):
        ranked = [
            ev
            for ev in selector.score(query, passages, translations if i == 0 else None)
            if is_evidence(ev.text)
        ]
        chosen = ranked[:per_part]
        for ev in chosen:
            ev.n = numbered.setdefault(ev.key, len(numbered) + 1)
        out.append(chosen)
    return out


def select_claims(
    selector: EvidenceSelector,
    claims: list[tuple[str, list[Passage]]],
    per_part: int,
) -> list[list[Evidence]]:
    """The evidence of each claim (its words, and the passages of the one publisher it is
    attributed to), numbered once across the claims as :func:`select` numbers parts."""
    numbered: dict[tuple[str, int], int] = {}
    out: list[list[Evidence]] = []
    for text, passages in claims:
        chosen = [ev for ev in selector.score(text, passages) if is_evidence(ev.text)][:per_part]
        for ev in chosen:
            ev.n = numbered.setdefault(ev.key, len(numbered) + 1)
        out.append(chosen)
    return out
