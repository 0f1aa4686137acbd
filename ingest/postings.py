"""BM25 scoring over segments of term-frequency postings, as search engines keep an index.

A segment holds the postings (chunk, term frequency) of a run of consecutive chunks and never
changes once built. New chunks become a new segment; the collection statistics (number of chunks,
document frequencies, average length) are summed over the segments at query time, so the scores
are exactly those of one index over all chunks. Adding 10,000 chunks to a million therefore costs
the new segment, not a rebuild; segments are merged when there are many (``MAX_SEGMENTS``).

Scores follow bm25s' "lucene" variant (Kamphuis et al., ECIR 2020), which this project used
before and measured its fusion with: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), term part
tf / (tf + k1 (1 - b + b dl / avgdl)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

K1 = 0.9  # Anserini's k1/b: better than 1.5/0.75 on MultiHop-RAG's tuning queries
B = 0.4
MAX_SEGMENTS = 8


class Segment:
    """Postings of chunks ``start`` .. ``start + n - 1``, grouped by term (CSC)."""

    def __init__(self, token_ids: Sequence[np.ndarray], start: int) -> None:
        self.start = start
        self.n = len(token_ids)
        self.lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=self.n)
        if self.n == 0 or int(self.lengths.sum()) == 0:
            self.indptr = np.zeros(1, dtype=np.int64)
            self.docs = np.zeros(0, dtype=np.int32)
            self.tfs = np.zeros(0, dtype=np.float32)
            self.df = np.zeros(0, dtype=np.int64)
            return
        terms = np.concatenate([np.asarray(t, dtype=np.int64) for t in token_ids])
        local = np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)
        # one key per (term, chunk): sorted by term, then chunk; counts are term frequencies
        keys, tf = np.unique(terms * self.n + local, return_counts=True)
        term_of = keys // self.n
        self.df = np.bincount(term_of)  # postings per term = chunks that hold it
        self.indptr = np.concatenate(([0], np.cumsum(self.df)))
        self.docs = (keys % self.n + start).astype(np.int32)  # 8 bytes a posting with tfs
        self.tfs = tf.astype(np.float32)

    @classmethod
    def of_postings(
        cls,
        lengths: np.ndarray,
        indptr: np.ndarray,
        local_docs: np.ndarray,
        tfs: np.ndarray,
        start: int,
    ) -> Segment | None:
        """The segment as :meth:`postings_arrays` wrote it (read from a cache instead of built
        from the tokens); None when the arrays do not fit together or not the ``lengths``."""
        n = len(lengths)
        if indptr.ndim != 1 or len(indptr) < 1 or indptr[0] != 0:
            return None
        if indptr[-1] != len(local_docs) or len(local_docs) != len(tfs):
            return None
        df = np.diff(indptr)
        if np.any(df < 0) or (len(local_docs) and (local_docs.min() < 0 or local_docs.max() >= n)):
            return None
        if len(tfs) and tfs.min() < 1:
            return None
        # every token is one count of one posting, so another segment's files cannot pass;
        # summed in float64: a float32 sum is inexact beyond 2**24 tokens (~110k chunks)
        if int(tfs.sum(dtype=np.float64)) != int(lengths.sum()):
            return None
        seg = cls.__new__(cls)
        seg.start, seg.n = start, n
        seg.lengths = lengths.astype(np.int64, copy=False)
        seg.indptr = indptr.astype(np.int64, copy=False)
        seg.df = df
        seg.docs = (local_docs + start).astype(np.int32, copy=False)
        seg.tfs = tfs.astype(np.float32, copy=False)
        return seg

    def postings_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`of_postings` needs beside the lengths: the term pointers, the chunks
        counted from this segment's first and the term frequencies."""
        return self.indptr, self.docs - self.start, self.tfs

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.lengths, self.indptr, self.docs, self.tfs, self.df))

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term >= len(self.df):
            return self.docs[:0], self.tfs[:0]
        a, b = self.indptr[term], self.indptr[term + 1]
        return self.docs[a:b], self.tfs[a:b]


class Scorer:
    """BM25 over ``segments`` (consecutive, in chunk order), with their summed statistics."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = list(segments)
        self.n = sum(s.n for s in self.segments)
        lengths = (
            np.concatenate([s.lengths for s in self.segments])
            if self.segments
            else np.zeros(0, dtype=np.int64)
        )
        vocab = max((len(s.df) for s in self.segments), default=0)
        df = np.zeros(vocab, dtype=np.int64)
        for s in self.segments:
            df[: len(s.df)] += s.df
        self.df = df
        self.idf = np.log1p((self.n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if self.n and lengths.sum() else 1.0
        self.norm = (K1 * ((1 - B) + B * lengths / avgdl)).astype(np.float32)

    def append(self, token_ids: Sequence[np.ndarray]) -> Scorer:
        """A scorer with ``token_ids`` as a new segment after these (the caller merges when
        there are ``MAX_SEGMENTS``: it holds every chunk's tokens)."""
        segments = [*self.segments, Segment(token_ids, self.n)]
        return Scorer(segments)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.segments) + self.idf.nbytes + self.norm.nbytes

    def scores(self, term_ids: Sequence[int], weight_mask: np.ndarray | None = None) -> np.ndarray:
        """The BM25 score of every chunk for a query of distinct ``term_ids``."""
        out = np.zeros(self.n, dtype=np.float32)
        for t in term_ids:
            if t >= len(self.df) or self.df[t] == 0:
                continue
            idf = self.idf[t]
            for s in self.segments:
                docs, tf = s.postings(t)
                if len(docs):  # a chunk occurs once per term in a segment: no np.add.at needed
                    out[docs] += idf * tf / (tf + self.norm[docs])
        if weight_mask is not None:
            out *= weight_mask
        return out
