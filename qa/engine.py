"""The answer engine: a line of stages, each a module with typed input and output.

    retrieve (qa.retrieve) -> evidence (qa.evidence) -> refusals before reading (qa.decide)
    -> each part judged (qa.judge), read (qa.read) and verified (qa.verify): qa.parts
    -> a bridge where nothing was verified (qa.bridge) -> translation (qa.compose)
    -> one decision (qa.decide) -> compose (qa.compose, qa.unsure) -> ``Answer``

The engine orders the stages and holds the model: the stages' model calls go through it, so
that one loaded model serves them all, one answer at a time (qa.gate).

``Engine.stream`` yields events (passages found, the evidence quotes, a place in the queue,
answer text, the final answer) so that the CLI and the page show the sources first and the
answer as it comes; ``Engine.answer`` returns the final ``Answer`` only. Models are loaded once
per engine (and cached per process), not per question.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from fundstelle.core.errors import BackendError
from fundstelle.core.settings import Settings
from fundstelle.ingest.language import question_language
from langchain_core.language_models import BaseChatModel

from . import bridge, compose, condense, decide, judge, likelihood, read, translate, unsure, verify
from . import parts as parts_
from .backends import backend_label, make_chat_model
from .calibration import calibration_for
from .evidence import EvidenceSelector, select, select_claims
from .gate import Ticket, gate_for
from .grounding import premise_missing
from .mentions import SourceClaim, source_claims
from .question import opens_yes_no
from .question import parts as question_parts
from .retrieve import Retrieval, Retriever
from .types import Answer, Citation, Evidence, Filters, Passage, Span, Turn

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Event:
    """``kind`` is "passages" (``passages`` set), "evidence" (``evidence``: the sentences the
    answer is drawn from, as citations, before any model call; ``early``: those found for the
    question as asked, shown while it is translated, which the next "evidence" replaces),
    "waiting" (``ahead``: questions before this one at the generator), "token" (``text``: the
    tokens' texts add up to the final answer's text, or an empty one says that the final
    answer replaces what was streamed) or "answer" (``answer``)."""

    kind: str
    text: str = ""
    passages: list[Passage] | None = None
    answer: Answer | None = None
    ahead: int = 0
    evidence: list[Citation] | None = None
    early: bool = False


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        retriever: Retriever | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self.calibration = calibration_for(
            settings.embedding_model,
            {
                "min_evidence": settings.min_evidence_score,
                "strong": settings.strong_evidence_score,
                "relevance": settings.relevance_margin,
                "lexical_weight": settings.evidence_lexical_weight,
                "rank_weight": settings.evidence_rank_weight,
                "kind_weight": settings.evidence_kind_weight,
                "quote_margin": settings.quote_margin,
            },
        )
        # evidence sentences: shared words weighed by rarity, a sentence holding the kind of
        # value asked for preferred, the chunk's fused rank counting little (the weights are
        # the embedding model's calibration: benchmarks/bench_evidence_rank.py)
        cal = self.calibration
        self.selector = EvidenceSelector(
            self.retriever.embedder,
            vectors_path=settings.store_path / "sentences.sqlite",
            idf=True,
            lexical_weight=cal.lexical_weight,
            rank_weight=cal.rank_weight,
            kind_weight=cal.kind_weight,
        )
        # the re-rank of passages by their best sentence keeps the scoring its retrieval
        # figures were measured with; both share one cache of sentence vectors
        self.reranker = EvidenceSelector(self.retriever.embedder)
        self.reranker.vectors = self.selector.vectors
        self._chat_model = chat_model
        self._chat_model_given = chat_model is not None
        self._model_lock = threading.Lock()
        self._json_object = False  # an OpenAI-compatible server without "json_schema"
        self._no_logprobs = False  # a server that refused a request for token log-probabilities
        # the question in the store's other languages, for keyword search (qa.translate)
        self.translator = translate.QueryTranslator(
            settings, self.retriever, lambda: self.chat_model
        )
        self.label = "custom chat model" if chat_model is not None else backend_label(settings)
        # who may generate now: the in-process llama.cpp model one answer at a time (qa.gate)
        self.gate = gate_for(settings, chat_model)

    @property
    def chat_model(self) -> BaseChatModel | None:
        if self._chat_model is None and self.settings.backend != "extractive":
            with self._model_lock:  # two sessions asking at once build it once
                if self._chat_model is None:
                    self._chat_model = make_chat_model(self.settings)
        return self._chat_model

    @property
    def backend(self) -> str:
        return "custom" if self._chat_model_given else self.settings.backend

    @property
    def extractive(self) -> bool:
        return self.settings.backend == "extractive" and not self._chat_model_given

    # --- public API -----------------------------------------------------------------------------
    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Answer:
        final: Answer | None = None
        for event in self.stream(question, history, filters, k):
            if event.kind == "answer":
                final = event.answer
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Iterator[Event]:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        question = check_question_text(question, self.settings)
        language = question_language(question)
        result = Answer(
            question=question, text="", language=language, backend=self.backend, model=self.label
        )
        result.timings = timings  # the steps below add theirs
        ticket: Ticket | None = None
        try:
            # every model call of this answer happens on its ticket: a rewrite of a follow-up
            # question or a translation of it for keyword search waits its turn first
            standalone = question
            if history and condense.needs_context(question) and self.chat_model is not None:
                ticket = self.gate.enter()
                yield from self._wait(ticket, timings)
            if history:
                t = time.perf_counter()
                standalone = self.standalone_question(question, list(history))
                timings["condense"] = time.perf_counter() - t
            result.standalone_question = standalone
            early: list[Citation] = []
            early_found: tuple[Retrieval, list[list[Evidence]], list[Evidence]] | None = None
            # P(yes) by (question, sentence) judged for this answer: a sentence judged before
            # the translation is not judged again after it
            known: dict[tuple[str, str], float] = {}
            if self.translator.pending(standalone, filters):
                # sources first: translating the question for keyword search is a model call
                # (1-2 s on 2 cores), so the evidence for the question as asked is shown
                # before it, and the evidence found with the translation replaces it. Taken
                # before the model's turn (it needs none; a follow-up already holds one)
                try:
                    early_found = self._early_found(standalone, k, filters)
                    early = [compose.make_citation(ev.n, ev, ev.score) for ev in early_found[2]]
                except Exception:  # a preview: the answer's own retrieval follows
                    log.warning("evidence before the translation failed", exc_info=True)
                if early:
                    timings["evidence_shown"] = time.perf_counter() - t0
                    yield Event("evidence", evidence=early, early=True)
            if ticket is None and self._translates_queries():
                ticket = self.gate.enter()
                yield from self._wait(ticket, timings)

            # one path: the passages an answer is drawn from are exactly what retrieve() returns
            # and what every retrieval figure measures; or, where the judge is confident of
            # the best sentence found before the translation, what the early retrieval returned
            if early_found is not None and self._confident_early(
                standalone, language, *early_found, known, timings
            ):
                retrieval, result.translations = early_found[0], {}
            else:
                retrieval, result.translations = self._retrieve(standalone, k, filters)
            # every stage of the retrieval (translation and re-rank included), for benchmarks
            # that ask where its time goes
            timings.update(retrieval.timings)
            t = time.perf_counter()
            claims = self._source_claims(standalone, retrieval)
            if claims:
                timings["claims"] = time.perf_counter() - t
            result.passages = retrieval.passages
            if retrieval.reordered:  # on a one-publisher, one-day store naming them changes nothing
                result.named_sources = sorted(retrieval.named.publishers) + sorted(
                    retrieval.named.dates
                )
            yield Event("passages", passages=retrieval.passages)

            t = time.perf_counter()
            if claims:
                parts = select_claims(
                    self.selector,
                    [(c.text, ps) for c, ps in claims],
                    self.settings.evidence_sentences,
                )
            else:
                parts = select(
                    self.selector,
                    standalone,
                    retrieval.passages,
                    self.settings.evidence_sentences,
                    result.translations or None,
                )
            evidence = _merged(parts)
            timings["evidence"] = time.perf_counter() - t
            result.evidence = [compose.make_citation(ev.n, ev, ev.score) for ev in evidence]
            if early:
                timings["evidence_refined"] = time.perf_counter() - t0
            else:
                timings["evidence_shown"] = time.perf_counter() - t0
            yield Event("evidence", evidence=result.evidence)

            decision = self._refusal_before_reading(
                standalone, language, retrieval, parts, evidence, result.translations
            )
            if decision is not None:
                compose.fill_refusal(result, evidence, decision.reason or "")
            elif self.extractive:
                compose.fill_quotes(
                    result, _best(parts, self.calibration.quote_margin), "extractive backend"
                )
                timings["first_token"] = time.perf_counter() - t0
                yield Event("token", text=result.text)
            else:
                if ticket is None:
                    ticket = self.gate.enter()
                yield from self._wait(ticket, timings)
                yield from self._answer_from(
                    result,
                    standalone,
                    parts,
                    evidence,
                    timings,
                    t0,
                    [c for c, _ in claims],
                    retrieval.named.publishers,
                    known,
                )
        finally:  # also when the consumer stops reading (a closed page closes the stream)
            if ticket is not None:
                ticket.release()
        timings["total"] = time.perf_counter() - t0
        result.timings = timings
        yield Event("answer", answer=result)

    def _wait(self, ticket: Ticket, timings: dict[str, float]) -> Iterator[Event]:
        """Wait for this answer's turn at the generator (once), saying how many are ahead."""
        if ticket.admitted:
            return
        for ahead in ticket.waiting():  # retrieval and evidence did not wait; this does
            yield Event("waiting", ahead=ahead)
        if ticket.waited > 0.05:
            timings["queue"] = ticket.waited

    def _answer_from(
        self,
        result: Answer,
        question: str,
        parts: list[list[Evidence]],
        evidence: list[Evidence],
        timings: dict[str, float],
        t0: float,
        claims: Sequence[SourceClaim] = (),
        publishers: Iterable[str] = (),
        known: dict[tuple[str, str], float] | None = None,
    ) -> Iterator[Event]:
        """The model's stages, in order (the model is held): each part of the question judged,
        read and verified (qa.parts); a question for one name by several facts that nothing
        answers tried once more as a bridge (qa.bridge); spans in another language translated;
        one decision (qa.decide); the answer composed (qa.compose), or an unsure judge's
        sentences quoted (qa.unsure). With ``claims`` (a yes/no question that attributes a
        claim to each of several sources) each part is a claim: "yes" only when the judge
        finds a sentence of its source stating every one; nothing is read."""
        s = self.settings
        queries = [c.question() for c in claims] if claims else question_parts(question)
        calls = parts_.Calls(
            judge=self._judge,
            read=self._read,
            reorder=self._by_likelihood,
        )
        t = time.perf_counter()
        out = yield from _streamed(
            parts_.read_parts(
                queries,
                parts,
                claims=claims,
                language=result.language,
                settings=s,
                calibration=self.calibration,
                calls=calls,
                known=known,
                timings=timings,
            ),
            timings,
            t0,
        )
        timings["reading"] = time.perf_counter() - t
        verified, failures, judged_out, error = (
            out.verified,
            out.failures,
            out.judged_out,
            out.error,
        )
        bridged: list[Span] = []
        if not verified and not claims and not error and s.bridge_answers:
            t = time.perf_counter()
            try:
                bridged = self._bridge(question, result.passages, evidence, publishers)
            except BackendError as exc:
                bridged, error = [], str(exc)
            timings["bridge"] = time.perf_counter() - t
            if bridged:
                verified, failures, judged_out = bridged, [], False
                result.evidence = [compose.make_citation(ev.n, ev, ev.score) for ev in evidence]
        verdict = out.verdict
        if claims:  # every claim stated, or no answer: one claim alone is not a "yes"
            verified = verified if len(verified) == len(claims) else []
            verdict = "yes" if verified else None
        result.draft = " | ".join(out.drafts)
        if error:
            result.error = error
        by_n = {ev.n: ev for ev in evidence}  # the bridge's sentences too, where it added some
        todo = [x for x in verified if compose.needs_translation(x, by_n, result.language)]
        if todo and not error:
            t = time.perf_counter()
            self._translate_spans(todo, result.language)
            timings["translation"] = time.perf_counter() - t
        decision = decide.after_reading(
            parts[0] if parts else [],
            answered=bool(verified),
            reader_none=bool(out.nones) and all(out.nones),
            failures=failures,
            calibration=self.calibration,
            error=error,
            judged_out=judged_out,
            unsure="; ".join(out.unsure) or None,
        )
        shown = out.shown
        if decision.kind == "answer":
            # a bridge answers the question whole, whatever parts its wording has
            missing = [
                i
                for i in range(len(parts))
                if not bridged and not any(x.part == i for x in verified)
            ]
            compose.fill_answer(
                result, verified, evidence, verdict if verified[0].part == 0 else None
            )
            if missing:  # a part no span answers: its best sentence, as the sources' words
                compose.add_quotes(result, [out.ordered[i][0] for i in missing if out.ordered[i]])
        elif decision.kind == "quotes" and out.unsure and not error:
            quoted = yield from _streamed(
                unsure.fill_quotes(
                    result,
                    out.unsure_quotes,
                    [(q, ev) for q, ev in out.unsure_others if ev.key not in out.unsure_kept],
                    decision.reason,
                    floor=s.unsure_other_min,
                    yes=self._yes,
                    known=known,
                    timings=timings,
                    shown_before="first_token" in timings,
                ),
                timings,
                t0,
            )
            shown = quoted or shown
        elif decision.kind == "quotes":
            compose.fill_quotes(
                result, _best(out.ordered, self.calibration.quote_margin), decision.reason
            )
        else:
            compose.fill_refusal(result, evidence, decision.reason or "")
        if "first_token" not in timings:
            timings["first_token"] = time.perf_counter() - t0
            yield Event("token", text=result.text)
        elif result.text != shown:
            # what was shown goes on, or the final answer replaces it
            more = result.text[len(shown) :] if shown and result.text.startswith(shown) else ""
            yield Event("token", text=more)

    def _yes(self, question: str, ev: Evidence) -> float | None:
        """The judge's P(yes) that ``ev`` states the answer to ``question``; None where the
        backend gives no token probabilities. A failing backend raises."""
        model = self.chat_model
        if model is None:
            return None
        msgs = judge.messages(question, ev, self.settings.reader_titles)
        return judge.yes_probability(model, read.model_kind(model), msgs)

    def _bridge(
        self,
        question: str,
        passages: list[Passage],
        evidence: list[Evidence],
        publishers: Iterable[str],
    ) -> list[Span]:
        """A bridge answer (qa.bridge.answer) with this engine's judge; never without one.
        The question's form is read first: the judge's check loads the model."""
        s = self.settings
        publishers = set(publishers)
        asked = bridge.entity_question(question, publishers)
        if asked is None or len(asked.clauses) < s.bridge_min_clauses:
            return []
        if s.judge_threshold is None or self.chat_model is None:
            return []
        return bridge.answer(
            question,
            asked,
            passages,
            evidence,
            publishers,
            selector=self.selector,
            judged=lambda query, sentences: self._judged(query, sentences, unjudged=None),
            settings=self.settings,
            relevance=self.calibration.relevance,
        )

    def _claims_apply(self, question: str, retrieval: Retrieval) -> bool:
        """Whether ``question`` may attribute claims to publishers it names (a yes/no question
        naming a publisher of the store) and claims are checked by source (no search)."""
        s = self.settings
        return bool(s.source_claims and retrieval.named.publishers and opens_yes_no(question))

    def _source_claims(
        self, question: str, retrieval: Retrieval
    ) -> list[tuple[SourceClaim, list[Passage]]]:
        """The claims a yes/no question attributes to the publishers it names, each with the
        passages of its publisher that its own search finds (added to ``retrieval``'s); empty
        where the question is not of that form or a claim's publisher has no passage."""
        s = self.settings
        if not self._claims_apply(question, retrieval):
            return []
        out: list[tuple[SourceClaim, list[Passage]]] = []
        known = {p.chunk.chunk_id for p in retrieval.passages}
        for claim in source_claims(question, retrieval.named.publishers):
            # the publisher named in the search puts its passages first (Retriever.search)
            found = self.retriever.search(f"{claim.publisher}: {claim.text}", k=s.k).passages
            mine = [p for p in found if p.chunk.publisher == claim.publisher]
            ids = {p.chunk.chunk_id for p in mine}
            mine += [
                p
                for p in retrieval.passages
                if p.chunk.publisher == claim.publisher and p.chunk.chunk_id not in ids
            ]
            if not mine:
                return []
            out.append((claim, mine))
        for _, passages in out:
            for p in passages:
                if p.chunk.chunk_id not in known:
                    known.add(p.chunk.chunk_id)
                    retrieval.passages.append(p)
        return out

    def evidence(
        self,
        question: str,
        passages: list[Passage],
        translations: dict[str, str] | None = None,
    ) -> list[Evidence]:
        """The evidence sentences of ``passages`` for ``question`` (every part of it), numbered
        1..n as the reader sees them."""
        return _merged(
            select(
                self.selector, question, passages, self.settings.evidence_sentences, translations
            )
        )

    def retrieve(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> Retrieval:
        """Hybrid retrieval, then (if enabled) a second pass that re-ranks a pool of passages by
        their best sentence: a passage is as good as the one sentence that answers."""
        return self._retrieve(question, k, filters)[0]

    # --- steps ----------------------------------------------------------------------------------
    def _retrieve(
        self, question: str, k: int | None, filters: Filters | None, translated: bool = True
    ) -> tuple[Retrieval, dict[str, str]]:
        """The passages for ``question``, re-ranked; ``translated=False``: without translating
        the question (no model call), as for the evidence shown before the translation."""
        s = self.settings
        k = k or s.k
        pool = max(k, s.rerank_pool) if s.rerank else k
        if translated:
            retrieval, translations = self._search(question, pool, filters)
        else:
            retrieval = self.retriever.search(question, k=pool, filters=filters)
            translations = {}
        if not s.rerank or len(retrieval.passages) < 2:
            retrieval.passages = retrieval.passages[:k]
            return retrieval, translations
        t = time.perf_counter()
        best = self.reranker.passage_scores(
            question,
            retrieval.passages,
            translations,
            meaning_only_across_languages=not s.rerank_words_across_languages,
        )
        passages = retrieval.passages
        order = sorted(
            range(len(passages)),
            key=lambda i: (
                -passages[i].named_matches,  # what the question names stays first
                -best.get(passages[i].chunk.chunk_id, float("-inf")),
            ),
        )
        retrieval.passages = [passages[i] for i in order][:k]
        retrieval.timings["rerank"] = time.perf_counter() - t
        return retrieval, translations

    def _search(
        self, question: str, k: int | None, filters: Filters | None
    ) -> tuple[Retrieval, dict[str, str]]:
        """Retrieval with the question's translations (when on); their time as "translate"."""
        t = time.perf_counter()
        translations = self.translations(question, filters)
        seconds = time.perf_counter() - t
        retrieval = self.retriever.search(question, k=k, filters=filters, translations=translations)
        if translations:
            retrieval.timings["translate"] = seconds
        return retrieval, translations

    def _translates_queries(self) -> bool:
        return self.translator.on()

    def translations(self, question: str, filters: Filters | None = None) -> dict[str, str]:
        """The question in the store's other languages (qa.translate.QueryTranslator)."""
        return self.translator.translations(question, filters)

    def _early_found(
        self, question: str, k: int | None, filters: Filters | None
    ) -> tuple[Retrieval, list[list[Evidence]], list[Evidence]]:
        """The retrieval and evidence (per part, merged) for ``question`` as asked, before its
        translation: the meaning search and the re-rank work across languages, so these are
        shown while the model translates. A preview: ranked for the whole question even where
        the answer then checks claims by source (``select_claims``)."""
        retrieval, _ = self._retrieve(question, k, filters, translated=False)
        parts = select(
            self.selector, question, retrieval.passages, self.settings.evidence_sentences
        )
        return retrieval, parts, _merged(parts)

    def _confident_early(
        self,
        question: str,
        language: str,
        retrieval: Retrieval,
        parts: list[list[Evidence]],
        evidence: list[Evidence],
        known: dict[tuple[str, str], float],
        timings: dict[str, float],
    ) -> bool:
        """Whether the answer is drawn from the evidence found before the translation
        (``parts``, merged as ``evidence``): a one-part question (no claims by source: their
        own searches follow) whose best sentence the judge passes with P(yes) at or above
        ``early_confident``, and that this evidence would not refuse (a name it lacks, a best
        score below the floor): names are matched across languages and scores raised with the
        translation's help, so such a question waits for it. The judgement is kept in
        ``known``."""
        s = self.settings
        queries = question_parts(question)
        if (
            s.early_confident is None
            or s.judge_threshold is None
            or len(queries) != 1
            or len(parts) != 1
            or not parts[0]
            or self._claims_apply(question, retrieval)
        ):
            return False
        if self._refusal_before_reading(question, language, retrieval, parts, evidence, {}):
            return False
        t = time.perf_counter()
        try:
            p = self._judge(queries[0], parts[0][:1], None, known=known)[1]
        except BackendError:  # the translation's path follows and meets the backend again
            log.warning("judging before the translation failed", exc_info=True)
            return False
        timings["early_judge"] = time.perf_counter() - t
        return p is not None and p >= s.early_confident

    def _refusal_before_reading(
        self,
        question: str,
        language: str,
        retrieval: Retrieval,
        parts: list[list[Evidence]],
        evidence: list[Evidence],
        translations: dict[str, str],
    ) -> decide.Decision | None:
        """The refusal no reader can change (qa.decide.before_reading) for this evidence: none
        close enough, or a name of the question that no evidence passage holds."""
        # the passages of the sources the question names (publisher, day) count with their
        # provenance: "the Sporting News report of November 6" is about them
        named = [p.chunk for p in retrieval.passages if p.named_matches]
        premise = _premise_missing(
            question, [ev.chunk for ev in evidence] + named, language, translations
        )
        # a publisher the question names is one the store has (Retriever.named): no premise
        outlets = {w for p in retrieval.named.publishers for w in p.split()}
        premise = [name for name in premise if not set(name.split()) <= outlets]
        return decide.before_reading(parts[0] if parts else [], premise, self.calibration)

    def standalone_question(self, question: str, history: list[Turn]) -> str:
        if not condense.needs_context(question):
            return question
        model = self.chat_model
        if model is None:
            return condense.combine(question, history)
        try:
            reply = model.invoke(condense.condense_messages(question, history), max_tokens=48)
        except Exception:  # a failed rewrite must not lose the question
            return condense.combine(question, history)
        return condense.clean_rewrite(str(reply.content), question, history)

    def _read(self, question: str, evidence: list[Evidence], yes_no: bool) -> Iterator[str]:
        """The reader's raw reply as it arrives (qa.read), in the shape the backend supports."""
        model = self.chat_model
        assert model is not None
        kind = read.model_kind(model)
        if kind == "openai" and self._json_object:
            kind = "openai-json-object"
        msgs = read.messages(question, evidence, yes_no, titles=self.settings.reader_titles)
        try:
            if kind == "llamacpp":
                yield from read.reply(model, msgs, evidence, yes_no)
            else:
                yield from read.stream(read.bind(model, kind, evidence, yes_no), msgs)
        except BackendError:
            raise
        except Exception as exc:
            if self._retry_as_json_object(exc):
                self._json_object = True
                yield from read.stream(
                    read.bind(model, "openai-json-object", evidence, yes_no), msgs
                )
                return
            raise BackendError(self._backend_error(exc)) from exc

    def _retry_as_json_object(self, exc: Exception) -> bool:
        """llama.cpp's server and LM Studio reject OpenAI's "json_schema" format (llama.cpp's with
        a status 500) but take "json_object" with a schema; try that once."""
        status = getattr(exc, "status_code", None)
        return (
            read.model_kind(self.chat_model) == "openai"  # type: ignore[arg-type]
            and not self._json_object
            and status in (400, 422, 500)
            and ("json_schema" in str(exc) or "response_format" in str(exc))
        )

    def _by_likelihood(self, question: str, sentences: list[Evidence]) -> list[Evidence]:
        """The best ``likelihood_sentences`` of ``sentences`` ordered by ranking score and the
        question's likelihood after each (qa.likelihood); the ranking's order where the backend
        gives no likelihood."""
        model = self.chat_model
        if model is None:
            return sentences
        s = self.settings
        try:
            return likelihood.reorder(
                model,
                read.model_kind(model),
                question,
                sentences,
                s.likelihood_sentences,
                s.likelihood_weight,
            )
        except Exception:  # an optional order: a failing backend leaves the ranking's
            log.warning("the likelihood order failed; the ranking's order is kept", exc_info=True)
            return sentences

    def _judged(
        self, question: str, evidence: list[Evidence], unjudged: int | None = 0
    ) -> int | None:
        """Which of ``evidence`` the generator judges may state the answer to ``question``
        (qa.judge): asked one sentence at a time, best first, the index of the first that
        reaches ``judge_threshold``; ``None`` when none does. ``unjudged`` (0: the first)
        without a judge or where the backend gives no probabilities."""
        return self._judge(question, evidence, unjudged)[0]

    def _judge(
        self,
        question: str,
        evidence: list[Evidence],
        unjudged: int | None = 0,
        known: dict[tuple[str, str], float] | None = None,
    ) -> tuple[int | None, float | None]:
        """:meth:`_judged`, with the judge's P(yes) of the sentence it takes (None where nothing
        was judged or none passed); ``known``: judgements of this answer (judge.take)."""
        s = self.settings
        model = self.chat_model
        if s.judge_threshold is None or model is None:
            return unjudged, None
        try:
            taken = judge.take(
                model,
                read.model_kind(model),
                question,
                evidence,
                s.judge_threshold,
                rule=s.judge_pick,
                titles=s.reader_titles,
                rank_weight=s.judge_rank_weight,
                known=known,
            )
        except BackendError:
            raise
        except Exception as exc:
            if _refused_request(exc):  # a server that gives no token probabilities
                return unjudged, None
            raise BackendError(self._backend_error(exc)) from exc
        return (unjudged, None) if taken is None else taken

    def _translate_spans(self, spans: list[Span], language: str) -> None:
        """Translate spans copied from sources in another language, in one short call; a span
        whose translation is missing keeps its original words (still what the source says),
        shown as a quote of them."""
        model = self.chat_model
        assert model is not None
        for s in spans:  # until translated: shown as the source's words
            s.foreign = True
        floor = self.settings.translation_min_logprob
        # the translation's token probabilities, where the backend gives them
        asks = floor is not None and read.model_kind(model) in _WITH_LOGPROBS
        asks = asks and not self._no_logprobs
        msgs = compose.translation_messages([s.words for s in spans], language)
        # a whole sentence may be translated too: room for about two tokens a word
        limit = 16 + sum(16 + 2 * len(s.words.split()) for s in spans)
        try:
            try:
                # top_logprobs too: llama-cpp-python's server gives none without it
                ask = {"logprobs": True, "top_logprobs": 1} if asks else {}
                reply = model.invoke(msgs, max_tokens=limit, **ask)
            except Exception as exc:
                if not (asks and (_refused_request(exc) or "logprobs" in str(exc))):
                    raise
                reply = model.invoke(msgs, max_tokens=limit)
                # a server that refuses logprobs but answers without: asked without from now on
                self._no_logprobs = True
                log.warning("the server gives no token probabilities: translations unchecked")
        except Exception:  # the original words are still right, only not translated
            return
        texts = compose.parse_translations(str(reply.content), len(spans))
        content = ((reply.response_metadata or {}).get("logprobs") or {}).get("content")
        confidences = compose.translation_confidences(content, len(spans))
        for s, text, logprob in zip(spans, texts, confidences, strict=True):
            s.translation, s.translation_logprob = text or "", logprob
            # a translation the model was unsure of changed a fact about three times in four
            # (docs/decisions.md): the source's words are what it says
            # no probabilities at all: unchecked; the reply's but not this line's: unsure
            sure = floor is None or (logprob >= floor if logprob is not None else not content)
            if text and sure and verify.translation_kept(s.words, text, language):
                s.text, s.translated = text, True

    def _backend_error(self, exc: Exception) -> str:
        s = self.settings
        where = s.llm_base_url or (
            "http://127.0.0.1:11434" if s.backend == "ollama" else "the default URL"
        )
        detail = str(exc).splitlines()[0][:160] if str(exc) else exc.__class__.__name__
        return (
            f"cannot get an answer from the {s.backend} backend at {where}: {detail}. "
            "Check that the server runs, or use FUNDSTELLE_BACKEND=extractive"
        )


# backends that give a reply's token log-probabilities when asked (``logprobs=True``); Ollama's
# chat model has no such option
_WITH_LOGPROBS = ("llamacpp", "openai")


def _refused_request(exc: Exception) -> bool:
    """A server that answered, but refused the request's form (status 400-422: an option such
    as logprobs it does not take), as opposed to one that cannot be reached or failed."""
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    return isinstance(status, int) and 400 <= status <= 422


def _premise_missing(
    question: str, chunks: list, language: str, translations: dict[str, str] | None
) -> list[str]:
    """The question's names that no evidence passage holds, in every form the question was
    searched in: a name the sources write in their own language ("General Conference on
    Weights and Measures", "Generalkonferenz für Maß und Gewicht") is found through the
    question's translation; a name missing from the translation too stays missing."""
    missing = premise_missing(question, chunks, language)
    for lang, text in (translations or {}).items():
        if not missing:
            break
        if premise_missing(text, chunks, lang):
            continue
        # a name the translation kept as it is was not translated: still missing ("Edison")
        missing = [m for m in missing if re.search(rf"(?<!\w){re.escape(m)}(?!\w)", text)]
    return missing


def _streamed(
    texts: Generator[str, None, T], timings: dict[str, float], t0: float
) -> Generator[Event, None, T]:
    """A stage's streamed answer text as token events (the first one's time as the first
    token's); returns what the stage returns."""
    while True:
        try:
            text = next(texts)
        except StopIteration as stop:
            return stop.value
        if "first_token" not in timings:
            timings["first_token"] = time.perf_counter() - t0
        yield Event("token", text=text)


def _merged(parts: list[list[Evidence]]) -> list[Evidence]:
    """Every part's evidence once, in the order of its numbers."""
    seen: dict[int, Evidence] = {}
    for part in parts:
        for ev in part:
            seen.setdefault(ev.n, ev)
    return [seen[n] for n in sorted(seen)]


def _best(parts: list[list[Evidence]], margin: float) -> list[Evidence]:
    """The sentences shown as the sources' own words: the best of each part, and for a simple
    question a second one when it scores at most ``margin`` below the best."""
    if len(parts) > 1:
        return list({ev.n: ev for ev in (p[0] for p in parts if p)}.values())
    evidence = parts[0] if parts else []
    return [ev for ev in evidence[:2] if ev.score >= evidence[0].score - margin]


def check_question_text(question: str, settings: Settings) -> str:
    from .question import check_question

    return check_question(question, settings)


@lru_cache(maxsize=4)
def _engine(settings_json: str) -> Engine:
    return Engine(Settings.model_validate_json(settings_json))


def get_engine(settings: Settings) -> Engine:
    """One engine per distinct settings in this process (models and indexes load once)."""
    return _engine(settings.model_dump_json())


def answer(
    question: str,
    history: Sequence[Turn] = (),
    filters: Filters | None = None,
    *,
    settings: Settings,
    k: int | None = None,
) -> Answer:
    """Answer ``question`` from the store named by ``settings`` (read by the caller, at the
    edge: ``Settings()`` reads ``FUNDSTELLE_*`` and ``fundstelle.toml``)."""
    return get_engine(settings).answer(question, history, filters, k)


def stream(
    question: str,
    history: Sequence[Turn] = (),
    filters: Filters | None = None,
    *,
    settings: Settings,
    k: int | None = None,
) -> Iterator[Event]:
    """Like :func:`answer`, as events: passages, answer tokens, then the final answer."""
    return get_engine(settings).stream(question, history, filters, k)
