"""Compose: the answer's text from the spans the reader copied, or from the best evidence
sentences, or a refusal. The code writes the answer, not the model: every piece carries the
citation of the sentence it was copied from, by construction.

A span copied from a source in another language than the question is translated by one short
call (:func:`translate_spans`); the citation keeps the original words beside the quote.
"""

from __future__ import annotations

import re
from typing import Any

from fundstelle.ingest.lexicon import LANGUAGE_NAMES
from langchain_core.messages import HumanMessage, SystemMessage

from .read import Reading
from .types import Answer, AnswerSentence, Citation, Evidence, Span

REFUSAL = {
    "en": "The sources do not say. The closest passages are listed below.",
    "de": "Die Quellen sagen dazu nichts. Unten stehen die nächstliegenden Stellen.",
}
QUOTES_LEAD = {"en": "The sources say:", "de": "Die Quellen sagen:"}
VERDICT = {"en": {"yes": "Yes", "no": "No"}, "de": {"yes": "Ja", "no": "Nein"}}


def make_citation(n: int, ev: Evidence, support: float = 0.0, span: Span | None = None) -> Citation:
    """What marker ``[n]`` resolves to: sentence ``ev`` verbatim with its offsets, its passage,
    and the words of it the answer copies."""
    c = ev.chunk
    return Citation(
        n=n,
        quote=ev.text,
        doc_id=c.doc_id,
        source=c.source,
        title=c.title,
        date=c.date,
        url=c.url,
        start=ev.start,
        end=ev.end,
        page=c.page,
        context=c.text,
        context_start=c.start,
        support=support,
        publisher=c.publisher,
        words=span.words if span else "",
        words_start=span.start if span else None,
        words_end=span.end if span else None,
    )


def spans_of(reading: Reading, part: int) -> list[Span]:
    """The reader's picks as spans of the answer (untranslated)."""
    return [Span(p.n, p.text, p.start, p.end, p.text, part=part) for p in reading.picks]


def sentence_span(ev: Evidence, part: int) -> Span:
    """Evidence sentence ``ev`` whole, as a span of the answer (line breaks of the source's
    layout shown as spaces)."""
    return Span(
        ev.n, ev.text, ev.start, ev.end, " ".join(ev.text.split()), part=part, sentence=True
    )


def _shown(span: Span) -> str:
    """A span as the answer shows it: a whole sentence in the source's own words is a quote,
    marked as one, and so is a span whose translation failed (in another language than the
    question, not passed off as an answer in the question's language)."""
    if (span.sentence or span.foreign) and not span.translated:
        return f"„{span.text}“"
    return span.text


# a count, a year or a range of them: written alike in every language the store may hold (a
# number with a separator is not: "1.388" is 1,388 in English)
_SAME_IN_EVERY_LANGUAGE = re.compile(r"\d+(?:\s*[/–-]\s*\d+)?")


def needs_translation(span: Span, by_n: dict[int, Evidence], language: str) -> bool:
    """Whether ``span`` is in another language than the question's: a span of bare digits is
    not (its translation call, 0.7-2 s here, returned the digits unchanged for every such span
    of the development runs)."""
    lang = by_n[span.n].chunk.lang
    if _SAME_IN_EVERY_LANGUAGE.fullmatch(span.words.strip()):
        return False
    return bool(lang) and lang != language and language in LANGUAGE_NAMES


def translation_messages(texts: list[str], language: str) -> list[Any]:
    name = LANGUAGE_NAMES[language]
    system = (
        f"Translate each numbered line into {name}. Keep names, numbers and dates as they are. "
        f"Reply with the numbered {name} lines only, one per line."
    )
    body = "\n".join(f"{i}. {t}" for i, t in enumerate(texts, start=1))
    return [SystemMessage(content=system), HumanMessage(content=body)]


_LINE = re.compile(r"^\s*(\d+)[.)]\s*(.+?)\s*$")


def parse_translations(reply: str, count: int) -> list[str | None]:
    """The numbered lines of ``reply`` (``None`` where a line is missing)."""
    out: list[str | None] = [None] * count
    for line in reply.splitlines():
        m = _LINE.match(line)
        if m and 1 <= int(m.group(1)) <= count:
            text = m.group(2).strip().strip("\"'„“”«»").strip()
            out[int(m.group(1)) - 1] = text or None
    if count == 1 and out[0] is None and reply.strip() and "\n" not in reply.strip():
        out[0] = reply.strip().strip("\"'„“”«»").strip() or None
    return out


def translation_confidences(tokens: list[dict[str, Any]] | None, count: int) -> list[float | None]:
    """The mean log-probability of the tokens of each line :func:`parse_translations` reads from
    the same reply (a numbered line without its number; the last of a number wins; a reply of
    one unnumbered line is line 1), from ``[{"token": text, "logprob": lp}, ...]`` as OpenAI's
    API and the llama.cpp adapter give them; ``None`` where a line or the probabilities are
    missing. A token spanning a line break counts for each line it has text on."""
    out: list[float | None] = [None] * count
    scored = [(str(t.get("token", "")), t.get("logprob")) for t in tokens or []]
    scored = [(text, float(lp)) for text, lp in scored if lp is not None]
    lines: list[list[tuple[str, float]]] = [[]]
    for text, lp in scored:
        for i, piece in enumerate(text.split("\n")):
            if i:
                lines.append([])
            if piece:
                lines[-1].append((piece, lp))
    for line in lines:
        m = _LINE.match("".join(piece for piece, _ in line))
        if not m or not 1 <= int(m.group(1)) <= count:
            continue
        marker, at, values = m.end(1) + 1, 0, []  # after "1." or "1)"
        for piece, lp in line:
            at += len(piece)
            if at > marker:  # a token with words after the number counts
                values.append(lp)
        if values:
            out[int(m.group(1)) - 1] = sum(values) / len(values)
    reply = "".join(text for text, _ in scored).strip()
    if count == 1 and out[0] is None and reply and "\n" not in reply:
        values = [lp for line in lines for _, lp in line]
        out[0] = sum(values) / len(values) if values else None
    return out


def answer_text(
    spans: list[Span], numbering: dict[int, int], verdict: str | None, language: str
) -> tuple[str, list[AnswerSentence]]:
    """One sentence per part of the question: its spans joined by "; ", each followed by the
    marker of the sentence it was copied from; a yes/no verdict first ("Yes: ... [1]")."""
    sentences: list[AnswerSentence] = []
    marked: list[str] = []
    verdicts = VERDICT.get(language, VERDICT["en"])
    for i, part in enumerate(sorted({s.part for s in spans})):
        mine = [s for s in spans if s.part == part]
        # the same words from several sentences are said once, with each sentence's marker
        said: dict[str, list[int]] = {}
        for s in mine:
            said.setdefault(_shown(s), []).append(numbering[s.n])
        plain = "; ".join(said)
        text = "; ".join(
            shown + " " + "".join(f"[{m}]" for m in dict.fromkeys(marks))
            for shown, marks in said.items()
        )
        if verdict and i == 0:
            plain, text = f"{verdicts[verdict]}: {plain}", f"{verdicts[verdict]}: {text}"
        markers = list(dict.fromkeys(numbering[s.n] for s in mine))
        sentences.append(AnswerSentence(plain, markers, True))
        marked.append(text)
    return "; ".join(marked), sentences


def fill_answer(
    result: Answer, spans: list[Span], evidence: list[Evidence], verdict: str | None
) -> None:
    """``result`` as an answer from ``spans``: markers numbered 1, 2, ... in order of use."""
    by_n = {ev.n: ev for ev in evidence}
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    for s in spans:
        if s.n not in numbering:
            numbering[s.n] = len(numbering) + 1
            citations.append(make_citation(numbering[s.n], by_n[s.n], by_n[s.n].score, s))
    result.text, result.sentences = answer_text(spans, numbering, verdict, result.language)
    result.citations = citations
    result.spans = spans
    result.kind = "answer"
    result.refused = False


def add_quotes(result: Answer, quotes: list[Evidence]) -> None:
    """Append the sources' own words for parts of the question no span answers."""
    lead = QUOTES_LEAD.get(result.language, QUOTES_LEAD["en"])
    known = {(c.doc_id, c.start): c.n for c in result.citations}
    pieces = []
    for ev in quotes:
        n = known.get(ev.key)
        if n is None:
            n = len(result.citations) + 1
            result.citations.append(make_citation(n, ev, ev.score))
        pieces.append(f"„{ev.text}“ [{n}]")
        result.sentences.append(AnswerSentence(f"„{ev.text}“", [n], True))
    if pieces:
        result.text += f" {lead} " + " ".join(pieces)


def fill_quotes(result: Answer, quotes: list[Evidence], reason: str | None) -> None:
    """``result`` as the best evidence sentences, marked as what the sources say (no answer is
    claimed): what the reader could not answer is still shown, nothing is lost."""
    lead = QUOTES_LEAD.get(result.language, QUOTES_LEAD["en"])
    result.citations = [make_citation(n, ev, ev.score) for n, ev in enumerate(quotes, start=1)]
    pieces = [f"„{ev.text}“ [{n}]" for n, ev in enumerate(quotes, start=1)]
    result.text = f"{lead} " + " ".join(pieces)
    result.sentences = [AnswerSentence(f"„{ev.text}“", [n], True) for n, ev in enumerate(quotes, 1)]
    result.kind = "quotes"
    result.refused = False
    result.refusal_reason = reason


def fill_refusal(
    result: Answer, evidence: list[Evidence], reason: str, text: str | None = None
) -> None:
    """``result`` as a refusal, the closest passages cited so that the reader can check them."""
    result.refused = True
    result.kind = "refusal"
    result.refusal_reason = reason
    result.text = REFUSAL.get(result.language, REFUSAL["en"]) if text is None else text
    result.sentences = [AnswerSentence(result.text, [], supported=True)] if result.text else []
    result.citations = [make_citation(n, ev, ev.score) for n, ev in enumerate(evidence[:3], 1)]
