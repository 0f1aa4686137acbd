"""Prompt and generation speed of the packaged generator in other llama.cpp formats.

Every model call of an answer is mostly prompt evaluation (the judge generates nothing, the
reader a few words), so a format that evaluates prompts faster on these cores would shorten
every stage. The packaged Q4_K_M GGUF is re-quantized (llama.cpp's own quantizer, seconds) into
Q8_0 and Q4_0 in a temporary folder, and each file evaluates the same 250-token prompt and
generates 20 tokens, three times:

    python -m benchmarks.bench_quant

Run it alone on the machine: two llama.cpp processes on two cores slow each other.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fundstelle.core.settings import Settings


def speed(path: Path, tokens_text: str, threads: int, reps: int) -> tuple[float, float]:
    """(prompt tokens/s, generated tokens/s), medians over ``reps``."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    toks = llm.tokenize(tokens_text.encode())[:250]
    pp, tg = [], []
    for _ in range(reps):
        llm.reset()
        t = time.perf_counter()
        llm.eval(toks)
        pp.append(len(toks) / (time.perf_counter() - t))
        t = time.perf_counter()
        for _ in range(20):
            llm.eval([llm.sample(temp=0)])
        tg.append(20 / (time.perf_counter() - t))
    del llm
    return statistics.median(pp), statistics.median(tg)


def main() -> None:
    import llama_cpp
    from fundstelle.qa.backends.model_files import packaged_gguf

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    settings = Settings()
    source = Path(settings.llm_model or packaged_gguf(settings.model_cache))
    text = next((Path(__file__).resolve().parents[1] / "corpus").glob("*.txt")).read_text()[:2000]
    formats = {"Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0}
    rows = [("Q4_K_M (packaged)", source)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, ftype in formats.items():
            params = llama_cpp.llama_model_quantize_default_params()
            params.ftype = ftype
            params.allow_requantize = True
            params.nthread = args.threads
            out = Path(tmp) / f"{name}.gguf"
            if llama_cpp.llama_model_quantize(str(source).encode(), str(out).encode(), params):
                raise SystemExit(f"quantizing to {name} failed")
            rows.append((name, out))
        base = None
        print("| format | size MB | prompt tokens/s | generated tokens/s | prompt ratio |")
        print("|---|---|---|---|---|")
        for name, path in rows:
            pp, tg = speed(path, text, args.threads, args.reps)
            base = base or pp
            size = path.stat().st_size / 1e6
            print(f"| {name} | {size:.0f} | {pp:.1f} | {tg:.1f} | {pp / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
