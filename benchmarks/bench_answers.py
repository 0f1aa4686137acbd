"""Answer latency on the shipped corpus: retrieval, first answer token and whole answer, p50/p95,
per backend, over the questions of the seed gold set. Models load once per process (the load is
reported on its own line and not counted in the per-question figures).

    python -m benchmarks.bench_answers                          # llamacpp and extractive
    python -m benchmarks.bench_answers --backend openai --base-url http://127.0.0.1:8000/v1
    python -m benchmarks.bench_answers --first-token            # the default generator, before / after
    python -m benchmarks.bench_answers --threads                # tokens/s, quiet and one core busy

``--first-token`` answers the same questions twice in one process, the way the page did before
issue 14 (every core, only llama.cpp's own reuse of the previous prompt) and the way it does now
(the kept instruction part, threads by load), with and without a translation call before each
answer; then the first question of a fresh process, with and without the model loaded first (the
page loads it when it opens). ``--threads`` measures prompt and generation speed with each
thread count, on a quiet machine and beside a busy-loop process on one core. Both print figures
and ratios; the machine's load is printed with them, since figures taken beside other work are
not comparable.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval.datasets import SHIPPED_CORPUS
from fundstelle.eval.gold import DEFAULT_GOLD, load_gold
from fundstelle.eval.metrics import percentile
from fundstelle.ingest.pipeline import ingest
from fundstelle.qa.backends import cpu
from fundstelle.qa.engine import Engine


def measure(settings: Settings, questions: list[str], warmup: int = 1) -> dict[str, float]:
    """Per-question timings (seconds) of one engine; the first ``warmup`` questions load models."""
    t0 = time.perf_counter()
    engine = Engine(settings)
    for q in questions[:warmup]:
        engine.answer(q)
    load_s = time.perf_counter() - t0
    retrieval, shown, first, total = [], [], [], []
    for q in questions:
        a = engine.answer(q)
        retrieval.append(a.timings.get("retrieval", 0.0) + a.timings.get("rerank", 0.0))
        if "evidence_shown" in a.timings:  # a refusal before any evidence has none
            shown.append(a.timings["evidence_shown"])
        total.append(a.timings["total"])
        if "first_token" in a.timings:
            first.append(a.timings["first_token"])
    return {
        "load_and_warmup_s": load_s,
        "questions": len(questions),
        "retrieval_p50_ms": percentile(retrieval, 50) * 1000,
        "retrieval_p95_ms": percentile(retrieval, 95) * 1000,
        "evidence_p50_s": percentile(shown, 50),
        "evidence_p95_s": percentile(shown, 95),
        "first_token_p50_s": percentile(first, 50),
        "first_token_p95_s": percentile(first, 95),
        "total_p50_s": percentile(total, 50),
        "total_p95_s": percentile(total, 95),
        "answered": len(first),
    }


def seed_store() -> Path:
    store = Path(tempfile.mkdtemp(prefix="fundstelle-bench-")) / "store"
    ingest([SHIPPED_CORPUS], Settings(store_path=store))
    return store


def _load_line() -> str:
    one, five, _ = os.getloadavg()
    return (
        f"machine: {cpu.cores()} cores, load average {one:.2f} (1 min) / {five:.2f} (5 min), "
        f"busy elsewhere now {cpu.busy_elsewhere():.2f} cores"
    )


def _configure(engine: Engine, mode: str) -> None:
    """``before``: every core and no kept prompt part (the generator before issue 14);
    ``after``: the defaults."""
    model = engine.chat_model
    assert model is not None
    model.reuse_prefix = mode == "after"
    model.n_threads = cpu.cores() if mode == "before" else None


def first_tokens(settings: Settings, questions: list[str], mode: str) -> dict[str, float]:
    """First-token and answer seconds of ``questions`` in order, on one warm engine."""
    engine = Engine(settings)
    _configure(engine, mode)
    engine.chat_model.warm_up()  # type: ignore[union-attr]
    engine.answer(questions[-1])  # warm the embedder and indexes; not counted
    first, total = [], []
    for q in questions:
        a = engine.answer(q)
        total.append(a.timings["total"])
        if "first_token" in a.timings:
            first.append(a.timings["first_token"])
    return {
        "first_p50": percentile(first, 50),
        "first_p95": percentile(first, 95),
        "total_p50": percentile(total, 50),
        "total_p95": percentile(total, 95),
        "answered": len(first),
    }


def fresh_first_question(store: Path, question: str, mode: str) -> float:
    """First-token seconds of the first question in a new process: ``before`` loads the model
    with the question; ``after`` loads it first, as the page now does when it opens."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_answers",
            "--fresh-one",
            mode,
            str(store),
            question,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _fresh_one(mode: str, store: str, question: str) -> None:
    engine = Engine(Settings(store_path=Path(store)))
    _configure(engine, mode)
    if mode == "after":
        engine.retriever.search("warm up", k=1)  # what ui.app.warm_up does
        engine.chat_model.warm_up()  # type: ignore[union-attr]
    a = engine.answer(question)
    print({k: round(v, 2) for k, v in a.timings.items()}, file=sys.stderr)
    print(a.timings.get("first_token", float("nan")))


def first_token_report(store: Path, questions: list[str]) -> None:
    print(
        "| questions | before: first token p50 / p95 | after: first token p50 / p95 | p50 after / before | answer p50 before / after |"
    )
    print("|---|---|---|---|---|")
    for label, overrides in [
        ("in a row", {}),
        ("each after a translation call", {"translate_queries": True}),
    ]:
        s = Settings(store_path=store, **overrides)
        b = first_tokens(s, questions, "before")
        a = first_tokens(s, questions, "after")
        print(
            f"| {label} ({len(questions)}) | {b['first_p50']:.2f} / {b['first_p95']:.2f} s "
            f"| {a['first_p50']:.2f} / {a['first_p95']:.2f} s | {a['first_p50'] / b['first_p50']:.2f} "
            f"| {b['total_p50']:.2f} / {a['total_p50']:.2f} s |",
            flush=True,
        )
    runs = 3
    before = sorted(fresh_first_question(store, questions[0], "before") for _ in range(runs))
    after = sorted(fresh_first_question(store, questions[0], "after") for _ in range(runs))
    print(
        f"| first question of a fresh process (median of {runs}) | {before[1]:.2f} s (model "
        f"loaded with it) | {after[1]:.2f} s (loaded when the page opened) "
        f"| {after[1] / before[1]:.2f} | |"
    )


def _speed(
    model: object, llm: object, messages: list, threads: int | None
) -> tuple[float, float, str]:
    """Prompt tokens/s (the whole prompt evaluated) and generation tokens/s of one answer, and
    the threads used (generation, prompt); ``threads`` None: chosen as in use."""
    model.n_threads = threads  # type: ignore[attr-defined]
    llm.reset()  # type: ignore[attr-defined]
    request = model._request(messages, None, {"max_tokens": 48})  # type: ignore[attr-defined]
    prompt = len(prompt_tokens(llm, request["messages"]))
    t0 = time.perf_counter()
    first = None
    n = 0
    used = set()
    for part in model._stream_parts(request):  # type: ignore[attr-defined]
        used.add(llm._fundstelle_threads)  # type: ignore[attr-defined]
        if not part["choices"][0]["delta"].get("content"):
            continue  # the role and the finish parts carry no token
        n += 1
        if first is None:
            first = time.perf_counter() - t0
    gen = time.perf_counter() - t0 - (first or 0)
    label = ", ".join(f"{g}/{p}" for g, p in sorted(used))
    return prompt / (first or float("inf")), (n - 1) / gen if gen > 0 else 0.0, label


def prompt_tokens(llm: object, messages: list[dict[str, str]]) -> list[int]:
    from fundstelle.qa.backends.llamacpp import prefix_states

    return prefix_states(llm)._tokens(messages)


def threads_report(store: Path, questions: list[str]) -> None:
    from fundstelle.ingest.language import question_language
    from fundstelle.qa.generate import answer_messages, is_evidence
    from langchain_core.messages import HumanMessage, SystemMessage

    engine = Engine(Settings(store_path=store))
    model = engine.chat_model
    llm = model.load()  # type: ignore[union-attr]
    model.reuse_prefix = False  # type: ignore[union-attr]
    prompts = []
    for q in questions[:3]:
        passages = engine.retriever.search(q).passages
        evidence = [e for e in engine.selector.score(q, passages) if is_evidence(e.text)][:4]
        for n, e in enumerate(evidence, 1):
            e.n = n
        msgs = answer_messages(q, evidence, question_language(q))
        prompts.append(
            [
                SystemMessage(content=str(msgs[0].content)),
                HumanMessage(content=str(msgs[1].content)),
            ]
        )
    n = cpu.cores()
    counts = sorted({1, max(1, n - 1), n})
    print(
        "| load | threads (generation/prompt) | prompt tokens/s | generation tokens/s "
        f"| vs quiet, {n} threads |"
    )
    print("|---|---|---|---|---|")
    base = None
    for busy in (0, 1):
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(cpu.WINDOW_S + 1.0)
            for threads in [*counts, None]:
                runs = [_speed(model, llm, m, threads) for m in prompts]
                pp = sorted(r[0] for r in runs)[1]
                tg = sorted(r[1] for r in runs)[1]
                if busy == 0 and threads == n:
                    base = (pp, tg)
                label = f"{threads}/{threads}" if threads else f"chosen: {runs[1][2]}"
                ratio = f"{pp / base[0]:.2f} / {tg / base[1]:.2f}" if base else ""
                where = "quiet" if not busy else f"{busy} core busy (busy loop)"
                print(f"| {where} | {label} | {pp:.0f} | {tg:.1f} | {ratio} |", flush=True)
        finally:
            for p in loops:
                p.kill()
                p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--backend", action="append", choices=["llamacpp", "extractive", "openai", "ollama"]
    )
    ap.add_argument("--base-url")
    ap.add_argument(
        "--limit", type=int, default=20, help="questions of the gold set (answerable first)"
    )
    ap.add_argument("--first-token", action="store_true", help="default generator, before/after")
    ap.add_argument("--threads", action="store_true", help="tokens/s by threads, quiet and busy")
    ap.add_argument("--fresh-one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fresh_one:
        _fresh_one(*args.fresh_one)
        return
    backends = args.backend or ["llamacpp", "extractive"]
    items = sorted(load_gold(DEFAULT_GOLD), key=lambda i: i.unanswerable)[: args.limit]
    questions = [i.question for i in items]
    store = seed_store()
    if args.first_token or args.threads:
        print(f"shipped corpus, {len(questions)} gold questions, {time.strftime('%Y-%m-%d %H:%M')}")
        print(_load_line(), flush=True)
        if args.first_token:
            first_token_report(store, questions)
        if args.threads:
            threads_report(store, questions)
        print(_load_line())
        return
    print(f"shipped corpus, {len(questions)} gold questions, {time.strftime('%Y-%m-%d')}")
    print(
        "| backend | retrieval p50 / p95 | evidence on screen p50 / p95 | first token p50 / p95 "
        "| answer p50 / p95 | load + warm-up |"
    )
    print("|---|---|---|---|---|---|")
    for backend in backends:
        s = Settings(store_path=store, backend=backend, llm_base_url=args.base_url)
        r = measure(s, questions)
        print(
            f"| {backend} | {r['retrieval_p50_ms']:.0f} / {r['retrieval_p95_ms']:.0f} ms "
            f"| {r['evidence_p50_s']:.2f} / {r['evidence_p95_s']:.2f} s "
            f"| {r['first_token_p50_s']:.2f} / {r['first_token_p95_s']:.2f} s "
            f"| {r['total_p50_s']:.2f} / {r['total_p95_s']:.2f} s | {r['load_and_warmup_s']:.1f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
