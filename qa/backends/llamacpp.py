"""A LangChain chat model over ``llama_cpp.Llama`` (in process, streaming, grammar-constrained JSON).

langchain-community's ``ChatLlamaCpp`` is being sunset; this adapter is small and ours.

Three things make it fit a shared page on a small CPU:

- every use of the model waits its turn at :data:`qa.gate.LLAMA_GATE` (llama.cpp is not safe to
  use from two threads at once: it aborted the server process), and each call into the model
  happens inside ``ticket.using()``, so a stream that was given up never touches it again;
- the threads that generate tokens are chosen before each call and every second while
  generating, from the cores other programs leave free (:mod:`qa.backends.cpu`);
- the evaluated state of the part of a prompt that does not change between questions (every
  message but the last: the instructions) is kept (:class:`PrefixStates`), so that a question
  only evaluates its own sources and question, even after a call with other instructions.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import logging
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import numpy as np
from fundstelle.core.errors import BackendError
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ..gate import LLAMA_GATE
from . import cpu

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_LOAD_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def load_llama(model_path: str, n_ctx: int, n_threads: int | None = None) -> Any:
    """Load a GGUF model once per process (a page warming up and a first question may ask at
    the same moment: the lock keeps that to one load of 1.1 GB). ``n_threads`` is only the
    start: each call sets the threads it uses."""
    with _LOAD_LOCK:
        return _load_llama(model_path, n_ctx, n_threads)


@lru_cache(maxsize=2)
def _load_llama(model_path: str, n_ctx: int, n_threads: int | None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:  # pragma: no cover - part of the install
        raise BackendError(
            "llama-cpp-python is not installed; pip install llama-cpp-python"
        ) from exc
    cpu.WATCH.start()  # so that the first answer already knows how busy the machine is
    # llama-cpp-python defaults to half the cores; on a 2-core laptop that halves the speed
    threads = n_threads or cpu.cores()
    safe = amx_safe(model_path)
    try:
        with _without_extra_buffers(not safe):
            llama = Llama(
                model_path=model_path,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
    except (ValueError, OSError, RuntimeError) as exc:
        raise BackendError(f"cannot load the GGUF model {model_path}: {exc}") from exc
    # closed at exit (_close_loaded), but held weakly: a model evicted from the cache is freed
    _LOADED.add(llama)
    return llama


_LOADED: weakref.WeakSet[Any] = weakref.WeakSet()


@atexit.register
def _close_loaded(timeout: float = 10.0) -> None:
    """Free the loaded models before interpreter teardown (Ctrl-C, SIGTERM, the end of a
    command): freed there, in whatever order, a model's sampler chain and a stream still open in
    another thread used freed memory (the page died with SIGSEGV at exit after an answer), and
    Llama.__del__ found its C bindings gone (a TypeError traceback)."""
    models = list(_LOADED)
    if not models:
        return
    # no thread may be inside llama.cpp while it is freed, nor enter it afterwards
    if not LLAMA_GATE.close(timeout):
        log.warning(
            "a model call did not end within %.0f s: the model is not freed at exit", timeout
        )
        return
    for llama in models:
        with suppress(Exception):
            # the sampler chain (grammar, logits processors) first: it is not part of close()
            sampler = getattr(llama, "_sampler", None)
            if sampler is not None:
                llama._sampler = None
                sampler.close()
            llama.close()


# --- llama.cpp builds with AMX kernels on machines that cannot run them ----------------------
# pip builds llama.cpp for the CPU it runs on. Some virtual machines report Intel AMX but fault
# on its instructions (a general protection fault, the process dies with SIGSEGV at the first
# evaluation). Such a build is detected once per build and model by a probe in a child process;
# where it dies, the model is loaded without llama.cpp's extra buffer types (AMX's and the
# weight repacking's): it runs, about 2x slower. The README's install builds without AMX.
_FIX = (
    'CMAKE_ARGS="-DCMAKE_C_FLAGS=-mno-amx-int8 -DCMAKE_CXX_FLAGS=-mno-amx-int8" '
    "pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python==0.3.36"
)


def _build_has_amx() -> bool:
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    info = info.decode() if isinstance(info, bytes) else str(info)
    return "AMX_INT8 = 1" in info


def _cpu_reports_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return " amx_int8" in f.read()
    except OSError:
        return False


_PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"Fundstelle probe", add_bos=True))
"""


def amx_safe(model_path: str) -> bool:
    """Whether the installed llama.cpp can evaluate ``model_path`` with its AMX kernels here
    (true without AMX in the build or the CPU). Probed once in a child process, remembered
    beside the model keyed by the library's file and the model's size."""
    import hashlib
    import json
    import subprocess
    import sys
    from pathlib import Path

    import llama_cpp

    if not (_cpu_reports_amx() and _build_has_amx()):
        return True
    lib = Path(llama_cpp.__file__).parent / "lib"
    stamp = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in sorted(lib.glob("*.so*"))]
    key = hashlib.sha1(json.dumps([stamp, model_path, Path(model_path).stat().st_size]).encode())
    memo = Path(model_path).parent / f".amx-probe-{key.hexdigest()[:16]}"
    if memo.exists():
        return memo.read_text().strip() == "ok"
    try:
        rc = subprocess.run(
            [sys.executable, "-c", _PROBE, model_path],
            capture_output=True,
            timeout=300,
            check=False,
        ).returncode
    except subprocess.TimeoutExpired:
        rc = 0  # slow, not faulting
    ok = rc == 0
    with suppress(OSError):  # a read-only cache: probed again next time
        memo.write_text("ok" if ok else f"fault {rc}")
    if not ok:
        log.warning(
            "llama.cpp was built with AMX kernels that this machine cannot run: the model is "
            "loaded without them and answers about 2x slower. To fix: %s",
            _FIX,
        )
    return ok


@contextmanager
def _without_extra_buffers(active: bool) -> Iterator[None]:
    """While loading: llama.cpp's default model parameters without extra buffer types."""
    if not active:
        yield
        return
    import llama_cpp.llama as high

    original = high.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = False
        return p

    high.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        high.llama_cpp.llama_model_default_params = original


def _common_length(a: Any, b: Any) -> int:
    a, b = np.asarray(a), np.asarray(b)
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


class _Kept:
    """The cache of sequence 0 holding exactly ``tokens``, copied out of the model."""

    def __init__(self, llm: Any, tokens: list[int]) -> None:
        import llama_cpp

        self.tokens = np.asarray(tokens, dtype=np.intc)
        size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
        self.data = (ctypes.c_uint8 * size)()
        self.size = llama_cpp.llama_state_seq_get_data(llm.ctx, self.data, size, 0)

    def restore(self, llm: Any) -> bool:
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), 0, -1, -1)
        if llama_cpp.llama_state_seq_set_data(llm.ctx, self.data, self.size, 0) != self.size:
            llm.reset()
            return False
        # what llama-cpp-python compares the next prompt with
        llm.input_ids[: len(self.tokens)] = self.tokens
        llm.n_tokens = len(self.tokens)
        return True


class PrefixStates:
    """The evaluated cache of each recent constant prompt part, to load instead of evaluating it.

    llama-cpp-python already skips the tokens a prompt shares with the previous one, but only
    the previous one: a translation or follow-up rewrite in between (other instructions), or the
    first question after loading, evaluated the whole instruction part again. The constant part
    is found without knowing any prompt's wording: it is what the rendered prompt shares with the
    same messages whose last message is empty.

    Only the token cache of the sequence is kept (2.3 MB for 100 tokens of this model): loading
    it took 1 ms, ``Llama.load_state`` 180-380 ms (it also rewrites a 300 MB score matrix that
    is unused without ``logits_all``).
    """

    MIN_TOKENS = 16  # shorter parts cost less to evaluate than to keep

    def __init__(self, llm: Any, capacity: int = 8) -> None:
        # held weakly: these states live as long as the model (_PREFIXES), not the other way
        self._llm = weakref.ref(llm)
        self.capacity = capacity
        self.states: OrderedDict[tuple[int, ...], _Kept] = OrderedDict()
        self.hits = 0
        self.evaluated = 0
        self.formatter = self._formatter(llm)
        self.enabled = self.formatter is not None

    @property
    def llm(self) -> Any:
        """The model (used only while it is loaded and in use: the caller holds it)."""
        return self._llm()

    @staticmethod
    def _formatter(llm: Any) -> Any:
        # the chat handler llama-cpp-python builds from the GGUF's template; other chat formats
        # (named or custom handlers) are left to llama.cpp's own prefix matching
        template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
        if not template or llm.chat_handler is not None:
            return None
        if llm.chat_format != "chat_template.default":
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def text(token: int) -> str:
            if token < 0:
                return ""
            return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

        return Jinja2ChatFormatter(
            template=template,
            eos_token=text(llm.token_eos()),
            bos_token=text(llm.token_bos()),
            stop_token_ids=[llm.token_eos()],
        )

    def _tokens(self, messages: list[dict[str, str]]) -> list[int]:
        return _prompt_tokens(self.llm, self.formatter(messages=messages))

    def prefix(self, messages: list[dict[str, str]]) -> list[int]:
        """Tokens of the prompt part that does not depend on the last message."""
        if not self.enabled or len(messages) < 2:
            return []
        full = self._tokens(messages)
        blank = self._tokens([*messages[:-1], {**messages[-1], "content": ""}])
        return full[: _common_length(full, blank)]

    def prepare(self, messages: list[dict[str, str]]) -> list[int]:
        """Make the model's cache hold the constant part of ``messages`` (loaded, or evaluated
        and kept); llama.cpp then evaluates only the rest. Returns that part's tokens."""
        llm = self.llm
        try:
            prefix = self.prefix(messages)
        except Exception as exc:  # a template this code does not understand: no reuse
            log.warning("prompt prefix reuse is off: %s", exc)
            self.enabled = False
            return []
        if len(prefix) < self.MIN_TOKENS:
            return []
        key = tuple(prefix)
        held = _common_length(llm.input_ids[: llm.n_tokens], prefix)
        kept = self.states.get(key)
        if kept is not None:
            self.states.move_to_end(key)
        if held >= len(prefix) and kept is not None:
            return prefix  # the previous prompt had it: llama.cpp reuses it by itself
        if kept is not None and kept.restore(llm):
            self.hits += 1
            return prefix
        # evaluate what the cache lacks of it (drop what follows it), then keep it
        if held:
            llm.n_tokens = min(held, len(prefix))  # llama.eval drops the cache from here on
        else:
            llm.reset()
        llm.eval(prefix[llm.n_tokens :])
        self.states[key] = _Kept(llm, prefix)
        self.evaluated += 1
        while len(self.states) > self.capacity:
            self.states.popitem(last=False)
        return prefix

    def check(self, prefix: list[int]) -> None:
        """After a completion: the prompt llama.cpp evaluated must start with ``prefix``; if it
        does not, this rendering differs from the chat handler's, and reuse is turned off."""
        if prefix and _common_length(self.llm.input_ids[: len(prefix)], prefix) < len(prefix):
            log.warning("prompt prefix reuse is off: the chat handler rendered another prompt")
            self.enabled = False
            self.states.clear()


# per model, dropped with it: a model evicted from the loader's cache must not stay alive here
_PREFIXES: weakref.WeakKeyDictionary[Any, PrefixStates] = weakref.WeakKeyDictionary()
_FIRST_TOKENS: weakref.WeakKeyDictionary[Any, dict[str, int | None]] = weakref.WeakKeyDictionary()


def prefix_states(llm: Any) -> PrefixStates:
    """The prefix states of one loaded model (used only while holding the gate)."""
    states = _PREFIXES.get(llm)
    if states is None:
        states = _PREFIXES[llm] = PrefixStates(llm)
    return states


def _prompt_tokens(llm: Any, rendered: Any) -> list[int]:
    """A rendered chat prompt's tokens, as llama-cpp-python's chat handler tokenizes it."""
    return llm.tokenize(
        rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
    )


def _chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]


def _first_token(llm: Any, text: str) -> int | None:
    known = _FIRST_TOKENS.setdefault(llm, {})
    if text not in known:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        known[text] = ids[0] if len(ids) == 1 else None  # only words that are one token
    return known[text]


def _reply_logprobs(llm: Any, prompt: list[int], reply: list[int]) -> list[float]:
    """log P(reply[i] | prompt, reply[:i]) for each i. The prompt but its last token is evaluated
    as llama-cpp-python does (reusing what its cache shares with the previous prompt); the last
    prompt token and the reply go in one batch with logits for each position, which
    ``Llama.eval`` keeps only with ``logits_all`` (every later prompt would pay for them)."""
    held = min(_common_length(llm.input_ids[: llm.n_tokens], prompt), len(prompt) - 1)
    if getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False):
        held = 0  # their state cannot drop a tail: start from an empty cache
    if held:
        llm.n_tokens = held  # llama.eval drops the cache from here on
    else:
        llm.reset()
    llm.eval(prompt[held:-1])
    tokens = [prompt[-1], *reply[:-1]]
    n_past = llm.n_tokens
    llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
    llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
    llm._ctx.decode(llm._batch)
    logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(tokens) * llm.n_vocab(),))
    logits = logits.reshape(len(tokens), llm.n_vocab()).astype(np.float64)
    llm.input_ids[n_past : n_past + len(tokens)] = tokens
    llm.n_tokens = n_past + len(tokens)
    logp = _log_softmax(logits)
    return [float(logp[i, t]) for i, t in enumerate(reply)]


def _log_softmax(logits: Any) -> Any:
    """log P of every token from the logits (over the last axis), in float64."""
    x = np.asarray(logits, dtype=np.float64)
    top = x.max(axis=-1, keepdims=True)
    return x - (top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True)))


def _as_content(llm: Any, tokens: list[int], logprobs: list[float]) -> list[dict[str, Any]]:
    """``[{"token": text, "logprob": lp}, ...]``, as OpenAI's ``logprobs.content`` (uses the
    model: call it in the model's turn)."""
    return [
        {
            "token": llm.detokenize([t], special=False).decode("utf-8", errors="ignore"),
            "logprob": lp,
        }
        for t, lp in zip(tokens, logprobs, strict=True)
    ]


def _grammar(gbnf: str) -> Any:
    from llama_cpp import LlamaGrammar

    try:
        return LlamaGrammar.from_string(gbnf, verbose=False)
    except ValueError as exc:
        raise BackendError(f"the reader's grammar does not parse: {exc}") from exc


def _grammar_after(start: str, gbnf: str) -> str:
    """``gbnf`` with ``start`` written before what its root produces."""
    literal = json.dumps(start, ensure_ascii=False)
    rules = re.sub(r"^\s*root\s*::=", "fundstelle-rest ::=", gbnf, count=1, flags=re.M)
    return f"root ::= {literal} fundstelle-rest\n{rules}"


def _as_chat_parts(start: str, parts: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A streamed text completion as chat completion parts, ``start`` first."""
    yield {"choices": [{"delta": {"role": "assistant", "content": start}}]}
    for part in parts:
        text = part["choices"][0].get("text") or ""
        yield {"choices": [{"delta": {"content": text} if text else {}}]}


def _set_threads(llm: Any, fixed: int | None) -> None:
    threads = (cpu.generation_threads(fixed), cpu.prompt_threads(fixed))
    if getattr(llm, "_fundstelle_threads", None) != threads:
        import llama_cpp

        llama_cpp.llama_set_n_threads(llm.ctx, *threads)
        llm._fundstelle_threads = threads


class _TokenLogprobs:
    """A logits processor that keeps the log-probability of each token the reply takes, under
    the model's own distribution (before a grammar or the temperature acts): the distribution
    is kept at each step, and the token drawn from it is read at the next step. The last token
    drawn is not evaluated and not kept: the end of text, or the last one where the reply stops
    at ``max_tokens`` or a stop word."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self._previous: Any = None

    def __call__(self, ids: Any, scores: Any) -> Any:
        # ``ids``: the tokens evaluated so far, the last one drawn at the previous step
        if self._previous is not None and len(ids):
            token = int(ids[-1])
            self.tokens.append(token)
            self.logprobs.append(float(self._previous[token]))
        self._previous = _log_softmax(scores)
        return scores


class LlamaCppChat(BaseChatModel):
    """Chat completions from a local GGUF model through llama.cpp."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None  # None: chosen before each call (see qa.backends.cpu)
    temperature: float = 0.0
    max_tokens: int = 256
    reuse_prefix: bool = True

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def load(self) -> Any:
        """The loaded model (loaded on first use)."""
        return load_llama(self.model_path, self.n_ctx, self.n_threads)

    def warm_up(self) -> None:
        """Load the model and evaluate a few tokens, in its turn: the weights are mapped from
        the file and only read at the first evaluation (the page does this when it opens)."""
        llm = self.load()
        with LLAMA_GATE.turn() as ticket, ticket.using():
            _set_threads(llm, self.n_threads)
            llm.reset()
            llm.eval(llm.tokenize(b"Fundstelle", add_bos=False))
            llm.reset()

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = {
            "messages": _chat_messages(messages),
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "stop": stop or kwargs.get("stop"),
            "response_format": kwargs.get("response_format"),
        }
        # a GBNF grammar (the reader's spans of the evidence), parsed by _call
        request["grammar_text"] = kwargs.get("grammar")
        request["reply_start"] = kwargs.get("reply_start") or ""
        # the reply's tokens with their log-probabilities, in the shape OpenAI's API gives them
        # (``logprobs=True``; llama-cpp-python's own option needs ``logits_all``, which every
        # prompt would pay for)
        request["token_logprobs"] = _TokenLogprobs() if kwargs.get("logprobs") else None
        return request

    def _call(self, llm: Any, request: dict[str, Any], stream: bool) -> Any:
        """``create_chat_completion`` for ``request``; where the reply's first words are given
        (``reply_start``, words a grammar would force anyway), the rendered prompt followed by
        them, so that they are evaluated with the prompt in one batch instead of generated one
        token at a time (about 150 ms each on two cores: the reader's ``{"sentence": 1,
        "answer": "`` took 1.5 s). Parts come in the chat completion's shape either way, the
        given words first."""
        start = request.get("reply_start") or ""
        drop = ("reply_start", "grammar_text", "token_logprobs")
        args = {k: v for k, v in request.items() if k not in drop}
        recorder = request.get("token_logprobs")
        if recorder is not None:
            args["logits_processor"] = [*(args.get("logits_processor") or []), recorder]
        gbnf = request.get("grammar_text")
        formatter = prefix_states(llm).formatter if start else None
        if start and formatter is None:
            # a chat format this code cannot render: the model writes the start itself
            if not gbnf:
                raise BackendError(
                    "a reply start needs a grammar or a chat template this adapter renders"
                )
            gbnf, start = _grammar_after(start, gbnf), ""
        if gbnf:
            args["grammar"] = _grammar(gbnf)
        if not start:
            return llm.create_chat_completion(stream=stream, **args)
        rendered = formatter(messages=args.pop("messages"))
        prompt = _prompt_tokens(llm, rendered)
        prompt += llm.tokenize(start.encode("utf-8"), add_bos=False, special=False)
        stop = args.pop("stop", None) or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        if rendered.stop is not None:
            stop += rendered.stop if isinstance(rendered.stop, list) else [rendered.stop]
        args.pop("response_format", None)
        # create_completion's sampling defaults are those create_chat_completion passes on
        # (repeat penalty 1.0: none)
        out = llm.create_completion(
            prompt=prompt,
            stream=stream,
            stop=stop,
            stopping_criteria=rendered.stopping_criteria,
            **args,
        )
        if not stream:
            text = start + (out["choices"][0].get("text") or "")
            return {"choices": [{"message": {"role": "assistant", "content": text}}]}
        return _as_chat_parts(start, out)

    def _prepare(self, llm: Any, request: dict[str, Any]) -> tuple[PrefixStates | None, list[int]]:
        """Threads for the load now, and the constant prompt part in the cache (inside a turn)."""
        _set_threads(llm, self.n_threads)
        if not self.reuse_prefix:
            return None, []
        states = prefix_states(llm)
        return states, states.prepare(request["messages"])

    def _complete(self, request: dict[str, Any]) -> dict[str, Any]:
        llm = self.load()
        with LLAMA_GATE.turn() as ticket, ticket.using():
            states, prefix = self._prepare(llm, request)
            out = self._call(llm, request, stream=False)
            if states is not None:
                states.check(prefix)
            if request.get("token_logprobs") is not None:
                kept = request["token_logprobs"]
                out["logprobs"] = {"content": _as_content(llm, kept.tokens, kept.logprobs)}
        return out

    def first_token_probabilities(
        self, messages: list[BaseMessage], tokens: tuple[str, ...], reply_start: str = ""
    ) -> dict[str, float]:
        """The probability of each of ``tokens`` (each a single token of the vocabulary; others
        are left out) as the first token of the reply, or the first after ``reply_start``: one
        forward pass of the prompt, nothing generated (qa.judge, qa.read). Empty where the
        reply's start cannot be given (a chat format this code does not render)."""
        import numpy as np

        llm = self.load()
        request = self._request(
            messages, None, {"max_tokens": 1, "temperature": 0.0, "reply_start": reply_start}
        )
        seen: list[Any] = []

        def capture(ids: Any, scores: Any) -> Any:
            if not seen:
                seen.append(np.array(scores, dtype=np.float64))
            return scores

        request["logits_processor"] = [capture]
        with LLAMA_GATE.turn() as ticket, ticket.using():
            if reply_start and prefix_states(llm).formatter is None:
                return {}
            states, prefix = self._prepare(llm, request)
            self._call(llm, request, stream=False)
            if states is not None:
                states.check(prefix)
        if not seen:
            return {}
        p = np.exp(seen[0] - seen[0].max())
        p /= p.sum()
        ids = {t: _first_token(llm, t) for t in tokens}
        return {t: float(p[i]) for t, i in ids.items() if i is not None}

    def reply_logprob(self, messages: list[BaseMessage], reply: str) -> float | None:
        """log P(``reply`` | the chat prompt of ``messages``): the sum of its tokens' log
        probabilities as the assistant's reply, read off one forward pass, nothing generated
        (qa.likelihood). None where the reply is empty or does not fit, or the chat format is
        one this code does not render."""
        scored = self._score_reply(messages, reply, texts=False)
        return None if scored is None else float(sum(scored))

    def reply_token_logprobs(
        self, messages: list[BaseMessage], reply: str
    ) -> list[dict[str, Any]] | None:
        """The tokens of ``reply`` with their log-probabilities as the assistant's reply to
        ``messages`` (``[{"token", "logprob"}]``, as a reply asked with ``logprobs=True``
        carries them), read off one forward pass; None as for :meth:`reply_logprob`."""
        return self._score_reply(messages, reply, texts=True)

    def _score_reply(self, messages: list[BaseMessage], reply: str, texts: bool) -> Any:
        """The log-probabilities of ``reply``'s tokens (with their texts: ``texts``), in the
        model's turn; None as for :meth:`reply_logprob`."""
        llm = self.load()
        with LLAMA_GATE.turn() as ticket, ticket.using():
            formatter = prefix_states(llm).formatter
            if formatter is None:
                return None
            _set_threads(llm, self.n_threads)
            prompt = _prompt_tokens(llm, formatter(messages=_chat_messages(messages)))
            answer = llm.tokenize(reply.encode("utf-8"), add_bos=False, special=False)
            if not answer or len(answer) >= llm.n_batch or len(prompt) + len(answer) > llm.n_ctx():
                return None
            values = _reply_logprobs(llm, prompt, answer)
            return _as_content(llm, answer, values) if texts else values

    def _stream_parts(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The streamed completion's parts; the model is only touched inside ``using()``, so a
        stream whose turn was given up (closed, revoked) stops without touching it again."""
        llm = self.load()
        with LLAMA_GATE.turn() as ticket:
            with ticket.using():
                states, prefix = self._prepare(llm, request)
                parts = self._call(llm, request, stream=True)
            checked = time.monotonic()
            while True:
                with ticket.using():
                    if self.n_threads is None and time.monotonic() - checked > 1.0:
                        # another program may have started (or stopped) meanwhile
                        _set_threads(llm, None)
                        checked = time.monotonic()
                    part = next(parts, None)
                    if part is None:
                        if states is not None:
                            states.check(prefix)
                        return
                yield part

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        out = self._complete(self._request(messages, stop, kwargs))
        text = out["choices"][0]["message"].get("content") or ""
        meta = {"logprobs": out["logprobs"]} if "logprobs" in out else {}
        message = AIMessage(content=text, response_metadata=meta)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for part in self._stream_parts(self._request(messages, stop, kwargs)):
            delta = part["choices"][0]["delta"].get("content")
            if delta:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk
