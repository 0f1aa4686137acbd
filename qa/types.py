"""Typed data of the answer stage. An answer is an object, never a bare string."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fundstelle.ingest.types import Chunk


@dataclass(frozen=True)
class Filters:
    """Metadata filters: ISO dates (inclusive), exact sources or file paths, language codes.

    A date range matches dated documents only, unless ``include_undated``: then documents
    without a date pass it too (their date is unknown, not outside the range).
    """

    date_from: str | None = None
    date_to: str | None = None
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    include_undated: bool = False

    @property
    def by_date(self) -> bool:
        return bool(self.date_from or self.date_to)

    def __bool__(self) -> bool:
        return bool(self.date_from or self.date_to or self.sources or self.languages)


@dataclass
class Passage:
    """A retrieved chunk and how it ranked."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    # how many of the publishers and days the question names this passage has (0, 1 or 2)
    named_matches: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk.chunk_id,
            "doc_id": self.chunk.doc_id,
            "source": self.chunk.source,
            "title": self.chunk.title,
            "date": self.chunk.date,
            "url": self.chunk.url,
            "lang": self.chunk.lang,
            "page": self.chunk.page,
            "publisher": self.chunk.publisher,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
            "score": self.score,
            "dense_rank": self.dense_rank,
            "bm25_rank": self.bm25_rank,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Passage:
        chunk = Chunk(
            doc_id=d["doc_id"],
            index=0,
            text=d["text"],
            start=d["start"],
            end=d["end"],
            source=d["source"],
            title=d["title"],
            date=d.get("date"),
            url=d.get("url"),
            lang=d.get("lang"),
            page=d.get("page"),
            chunk_id=d["chunk_id"],
            publisher=d.get("publisher"),
        )
        return cls(chunk, d["score"], d.get("dense_rank"), d.get("bm25_rank"))


@dataclass
class Evidence:
    """One sentence of a retrieved chunk, offered to the generator as source ``[n]``."""

    n: int
    text: str
    start: int  # offsets in the document text
    end: int
    score: float
    passage: Passage

    @property
    def chunk(self) -> Chunk:
        return self.passage.chunk

    @property
    def key(self) -> tuple[str, int]:
        """What tells one sentence from another: its document and where it starts there (one
        number for a sentence two parts or two neighbouring chunks share)."""
        return (self.passage.chunk.doc_id, self.start)


@dataclass
class Citation:
    """What a marker ``[n]`` resolves to: a verbatim quote and where exactly it stands."""

    n: int
    quote: str
    doc_id: str
    source: str
    title: str
    date: str | None
    url: str | None
    start: int  # document text [start:end] == quote
    end: int
    page: int | None = None
    context: str = ""  # the passage around the quote
    context_start: int = 0  # offset of ``context`` in the document text
    support: float = 0.0  # how well the quote supports the sentences that cite it
    publisher: str | None = None
    # the words of the quote the answer copies (in the source's language), and where they stand
    words: str = ""
    words_start: int | None = None
    words_end: int | None = None


@dataclass
class AnswerSentence:
    text: str  # without markers
    citations: list[int] = field(default_factory=list)
    supported: bool = True


@dataclass
class Span:
    """A piece of an answer: words copied verbatim from evidence sentence ``n`` (document
    offsets ``start``/``end``), shown as ``text`` (their translation where the question is in
    another language than the source, else the words themselves)."""

    n: int
    words: str
    start: int
    end: int
    text: str
    part: int = 0  # which part of a compound question it answers
    translated: bool = False
    sentence: bool = False  # the whole evidence sentence: shown in quotation marks untranslated
    # in another language than the question and its translation failed: shown, like a sentence,
    # in quotation marks as the source's own words
    foreign: bool = False
    # the generator's translation and its mean token log-probability, also where it was not
    # used (it changed a name or number, or fell under translation_min_logprob)
    translation: str = ""
    translation_logprob: float | None = None


KINDS = ("answer", "quotes", "refusal")


@dataclass
class Answer:
    question: str
    text: str  # with inline markers [n]
    language: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    standalone_question: str | None = None
    translations: dict[str, str] = field(default_factory=dict)  # language -> question, for BM25
    # publishers and days the question names, where preferring them changed the order
    named_sources: list[str] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    backend: str = ""
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds
    error: str | None = None  # e.g. the generator could not be reached; passages still shown
    # the evidence sentences the generator was shown, numbered as it saw them
    evidence: list[Citation] = field(default_factory=list)
    # why the answer is a refusal, or quotes instead of an answer: the rule that decided
    # ("no evidence", "premise not in sources", "reader found nothing", "not verified: ...")
    refusal_reason: str | None = None
    draft: str = ""  # what the reader chose and copied, before verification
    # "answer" (spans the reader copied, verified), "quotes" (the best evidence sentences,
    # marked as such: the sources say it, no answer is claimed) or "refusal"
    kind: str = "answer"
    spans: list[Span] = field(default_factory=list)

    @property
    def unsupported(self) -> list[AnswerSentence]:
        return [s for s in self.sentences if not s.supported]

    def citation(self, n: int) -> Citation | None:
        return next((c for c in self.citations if c.n == n), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passages"] = [p.to_dict() for p in self.passages]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Answer:
        return cls(
            question=d["question"],
            text=d["text"],
            language=d["language"],
            sentences=[AnswerSentence(**s) for s in d.get("sentences", [])],
            citations=[Citation(**c) for c in d.get("citations", [])],
            refused=d.get("refused", False),
            standalone_question=d.get("standalone_question"),
            translations=d.get("translations", {}),
            named_sources=d.get("named_sources", d.get("named", [])),
            passages=[Passage.from_dict(p) for p in d.get("passages", [])],
            backend=d.get("backend", ""),
            model=d.get("model", ""),
            timings=d.get("timings", {}),
            error=d.get("error"),
            evidence=[Citation(**c) for c in d.get("evidence", [])],
            refusal_reason=d.get("refusal_reason"),
            draft=d.get("draft", ""),
            kind=d.get("kind", "refusal" if d.get("refused") else "answer"),
            spans=[Span(**x) for x in d.get("spans", [])],
        )


@dataclass
class Sources:
    """The evidence an answer is drawn from, as citations: streamed before the answer, so that
    a reader sees what the sources say while the reader model works. ``early``: found for the
    question as asked while it is being translated; the next ``Sources`` replaces it."""

    citations: list[Citation]
    early: bool = False


@dataclass
class Waiting:
    """Streamed while the question waits for the generator: ``ahead`` questions before it."""

    ahead: int


@dataclass
class Turn:
    """One exchange of a conversation, as history for a follow-up question."""

    question: str
    answer: str
