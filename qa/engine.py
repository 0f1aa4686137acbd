"""The answer engine: retrieve -> pick evidence -> generate -> check citations -> ``Answer``.

``Engine.stream`` yields events (passages found, answer tokens, the final answer) so that the CLI
and the UI can show progress; ``Engine.answer`` returns the final ``Answer`` only. Models are loaded
once per engine (and cached per process), not per question.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from fundstelle.core.errors import BackendError
from fundstelle.core.settings import Settings
from fundstelle.ingest.language import question_language
from langchain_core.language_models import BaseChatModel

from . import condense, translate
from .backends import backend_label, make_chat_model
from .calibration import calibration_for
from .citations import SupportChecker, cite, make_citation, premise_missing, strip_markers
from .evidence import EvidenceSelector
from .gate import gate_for
from .generate import Generated, answer_messages, is_evidence, stream_reply, structured
from .question import check_question
from .retrieve import Retrieval, Retriever
from .types import Answer, AnswerSentence, Evidence, Filters, Passage, Turn

REFUSAL = {
    "en": "The sources do not say. The closest passages are listed below.",
    "de": "Die Quellen sagen dazu nichts. Unten stehen die nächstliegenden Stellen.",
}
EXTRACTIVE_LEAD = {"en": "The sources say:", "de": "Die Quellen sagen:"}


@dataclass
class Event:
    """``kind`` is "passages" (``passages`` set), "waiting" (``ahead``: questions before this one
    at the generator), "token" (``text`` set) or "answer" (``answer``)."""

    kind: str
    text: str = ""
    passages: list[Passage] | None = None
    answer: Answer | None = None
    ahead: int = 0


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
        self.selector = EvidenceSelector(
            self.retriever.embedder, vectors_path=settings.store_path / "sentences.sqlite"
        )
        self.calibration = calibration_for(
            settings.embedding_model,
            {"min_evidence": settings.min_evidence_score, "support": settings.support_threshold},
        )
        self.checker = SupportChecker(self.selector.vectors, self.calibration)
        self._chat_model = chat_model
        self._chat_model_given = chat_model is not None
        self._response_format = "json_schema"
        self._translated: dict[tuple[str, str], str | None] = {}
        self.label = "custom chat model" if chat_model is not None else backend_label(settings)
        # who may generate now: the in-process llama.cpp model one answer at a time (qa.gate)
        self.gate = gate_for(settings, chat_model)

    @property
    def chat_model(self) -> BaseChatModel | None:
        if self._chat_model is None and self.settings.backend != "extractive":
            self._chat_model = make_chat_model(self.settings)
        return self._chat_model

    @property
    def backend(self) -> str:
        return "custom" if self._chat_model_given else self.settings.backend

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
        question = check_question(question, self.settings)
        language = question_language(question)
        result = Answer(
            question=question, text="", language=language, backend=self.backend, model=self.label
        )
        result.timings = timings  # the steps below add theirs

        standalone = question
        if history:
            t = time.perf_counter()
            standalone = self.standalone_question(question, list(history))
            timings["condense"] = time.perf_counter() - t
        result.standalone_question = standalone

        # one path: the passages an answer is drawn from are exactly what retrieve() returns
        # and what every retrieval figure measures
        retrieval, result.translations = self._retrieve(standalone, k, filters)
        for stage in ("translate", "rerank"):
            if stage in retrieval.timings:
                timings[stage] = retrieval.timings[stage]
        timings["retrieval"] = retrieval.timings["retrieval"]
        result.passages = retrieval.passages
        if retrieval.reordered:  # on a one-publisher, one-day store naming them changes nothing
            result.named_sources = sorted(retrieval.named.publishers) + sorted(
                retrieval.named.dates
            )
        yield Event("passages", passages=retrieval.passages)

        t = time.perf_counter()
        evidence = self.evidence(standalone, retrieval.passages)
        timings["evidence"] = time.perf_counter() - t
        result.evidence = [make_citation(ev.n, ev, ev.score) for ev in evidence]

        if not evidence or evidence[0].score < self.calibration.min_evidence:
            self._refuse(result, evidence, reason="no evidence")
        elif premise_missing(standalone, evidence, language):
            # a name of the question that no passage shown to the generator has: whatever it
            # writes rests on a premise the sources do not state, so it is not asked at all.
            # All these passages count, not only the one or two an answer cites: a question
            # over several articles names more than any two of them hold (MultiHop-RAG dev: 13
            # of 40 answerable questions were refused so)
            self._refuse(result, evidence, reason="premise not in sources")
        elif self.settings.backend == "extractive" and not self._chat_model_given:
            self._extract(result, evidence)
            timings["first_token"] = time.perf_counter() - t0
            yield Event("token", text=result.text)
        else:
            reply: Generated | None = None
            ticket = self.gate.enter()
            try:
                for ahead in ticket.waiting():  # retrieval and evidence did not wait; this does
                    yield Event("waiting", ahead=ahead)
                if ticket.waited > 0.05:
                    timings["queue"] = ticket.waited
                t = time.perf_counter()
                # a question that names publishers or days is told where each sentence is from
                origin = bool(result.named_sources)
                for delta, partial in self._generate(standalone, evidence, language, origin):
                    reply = partial
                    if delta:
                        if "first_token" not in timings:
                            timings["first_token"] = time.perf_counter() - t0
                        yield Event("token", text=delta)
                timings["generation"] = time.perf_counter() - t
            except BackendError as exc:
                result.error = str(exc)
            finally:  # also when the consumer stops reading (a closed page closes the stream)
                ticket.release()
            if reply is not None:
                result.draft = reply.answer
            if result.error:
                self._refuse(result, evidence, text="", reason="generator error")
            elif reply is None or not reply.found or not strip_markers(reply.answer)[0]:
                self._refuse(result, evidence, reason="generator found nothing")
            else:
                if self.settings.repair_language:
                    self._in_language(reply, language, timings)
                self._check(result, reply, evidence)
        timings["total"] = time.perf_counter() - t0
        result.timings = timings
        yield Event("answer", answer=result)

    def evidence(self, question: str, passages: list[Passage]) -> list[Evidence]:
        """The sentences of ``passages`` shown to the generator, best first, numbered 1..n."""
        ranked = [ev for ev in self.selector.score(question, passages) if is_evidence(ev.text)]
        chosen = ranked[: self.settings.evidence_sentences]
        for n, ev in enumerate(chosen, start=1):
            ev.n = n
        return chosen

    def retrieve(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> Retrieval:
        """Hybrid retrieval, then (if enabled) a second pass that re-ranks a pool of passages by
        their best sentence: a passage is as good as the one sentence that answers."""
        return self._retrieve(question, k, filters)[0]

    # --- steps ----------------------------------------------------------------------------------
    def _retrieve(
        self, question: str, k: int | None, filters: Filters | None
    ) -> tuple[Retrieval, dict[str, str]]:
        s = self.settings
        k = k or s.k
        pool = max(k, s.rerank_pool) if s.rerank else k
        retrieval, translations = self._search(question, pool, filters)
        if not s.rerank or len(retrieval.passages) < 2:
            retrieval.passages = retrieval.passages[:k]
            return retrieval, translations
        t = time.perf_counter()
        best = self.selector.passage_scores(
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

    def translations(self, question: str, filters: Filters | None = None) -> dict[str, str]:
        """The question in the store's other languages (English, German), for keyword search.
        Empty without a generator, with translation off, or for dense-only retrieval."""
        s = self.settings
        if not s.translate_queries or s.retrieval == "dense":
            return {}
        model = self.chat_model  # loads the model: only when translation is on
        if model is None:
            return {}
        bm25 = self.retriever.bm25
        bm25.sync(self.retriever.store)
        lang = question_language(question)
        targets = bm25.languages() & set(translate.LANGUAGE_NAMES) - {lang}
        if filters and filters.languages:
            targets &= set(filters.languages)
        out: dict[str, str] = {}
        for target in sorted(targets):
            key = (question, target)
            if key not in self._translated:
                try:
                    reply = model.invoke(
                        translate.translation_messages(question, target), max_tokens=64
                    )
                except Exception:  # keyword search in the question's language still runs
                    continue
                self._translated[key] = translate.clean_translation(str(reply.content), question)
                if len(self._translated) > 1000:
                    self._translated.pop(next(iter(self._translated)))
            if self._translated[key]:
                out[target] = self._translated[key]
        return out

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

    def _generate(
        self, question: str, evidence: list[Evidence], language: str, origin: bool = False
    ) -> Iterator[tuple[str, Generated]]:
        model = self.chat_model
        assert model is not None
        messages = answer_messages(question, evidence, language, origin)
        try:
            yield from stream_reply(
                structured(model, self.backend, self._response_format), messages
            )
        except BackendError:
            raise
        except Exception as exc:
            if self._retry_as_json_object(exc):
                self._response_format = "json_object"
                yield from stream_reply(
                    structured(model, self.backend, self._response_format), messages
                )
                return
            raise BackendError(self._backend_error(exc)) from exc

    def _retry_as_json_object(self, exc: Exception) -> bool:
        """llama.cpp's server and LM Studio reject OpenAI's "json_schema" format (llama.cpp's with
        a status 500) but take "json_object" with a schema; try that once."""
        status = getattr(exc, "status_code", None)
        return (
            self.backend == "openai"
            and self._response_format == "json_schema"
            and status in (400, 422, 500)
            and ("json_schema" in str(exc) or "response_format" in str(exc))
        )

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

    def _in_language(self, reply: Generated, language: str, timings: dict[str, float]) -> None:
        """Translate an answer written in another language than the question's (the small model
        copies German evidence into English answers); the check then runs on the translation."""
        if language not in translate.LANGUAGE_NAMES or translate.written_in(reply.answer, language):
            return
        model = self.chat_model
        assert model is not None
        t = time.perf_counter()
        try:
            out = model.invoke(
                translate.answer_translation_messages(reply.answer, language), max_tokens=160
            )
        except Exception:  # the untranslated answer is still checked and shown
            return
        text = str(out.content).strip()
        if text and translate.written_in(text, language):
            reply.answer = text  # markers it lost: reply.sources still names the sources
        timings["language"] = time.perf_counter() - t

    def _refuse(
        self,
        result: Answer,
        evidence: list[Evidence],
        text: str | None = None,
        reason: str = "unsupported",
    ) -> None:
        result.refused = True
        result.refusal_reason = reason
        result.text = REFUSAL.get(result.language, REFUSAL["en"]) if text is None else text
        result.sentences = [AnswerSentence(result.text, [], supported=True)] if result.text else []
        # the closest passages, cited so that the reader can check them
        result.citations = [
            make_citation(n, ev, ev.score) for n, ev in enumerate(evidence[:3], start=1)
        ]

    def _extract(self, result: Answer, evidence: list[Evidence]) -> None:
        lead = EXTRACTIVE_LEAD.get(result.language, EXTRACTIVE_LEAD["en"])
        best = [ev for ev in evidence[:2] if ev.score >= evidence[0].score - 0.05]
        citations = [make_citation(n, ev, ev.score) for n, ev in enumerate(best, start=1)]
        quotes = [f"„{ev.text}“ [{n}]" for n, ev in enumerate(best, start=1)]
        result.text = f"{lead} " + " ".join(quotes)
        result.sentences = [AnswerSentence(q, [n], True) for n, q in enumerate(quotes, start=1)]
        result.citations = citations

    def _check(self, result: Answer, reply: Generated, evidence: list[Evidence]) -> None:
        text, sentences, citations = cite(
            reply.answer,
            list(reply.sources),
            evidence,
            self.checker,
            question=result.standalone_question or result.question,
            language=result.language,
        )
        if not any(s.supported for s in sentences):
            # nothing the model said is backed by a source: do not pass it off as an answer
            self._refuse(result, evidence, reason="unsupported")
            return
        result.text, result.sentences, result.citations = text, sentences, citations


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
