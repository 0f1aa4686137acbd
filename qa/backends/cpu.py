"""How many threads llama.cpp should use now: the cores that nothing else keeps busy.

llama.cpp's threads meet at a barrier after every operation, so one thread that shares its core
with another busy program holds all the others up. Generating a token is many small operations,
and it suffers most: beside a busy-loop process on one of 2 cores, 2 threads generated 4.3
tokens/s and 1 thread 6.7 (12.8 with 2 threads on the quiet machine; answers took 90-200 s
instead of 4-6 s beside another job). Evaluating a prompt is few large operations: 2 threads
there did as well as 1 beside the busy core (64 and 65 tokens/s) and twice as well on a quiet
machine (122), so prompts are evaluated with every core, and tokens generated with the free ones
(``python -m benchmarks.bench_answers --threads``).

Other programs' load is read from ``/proc/stat`` (all cores) minus this process's own CPU time,
sampled in the background every half second; work inside this process that competes for the
cores (an ingest started from the page) says so with :func:`background_work`.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

PERIOD_S = 0.25
# short: a job that ended a moment ago must not cost the next answer half its speed
WINDOW_S = 1.0
# below this many busy cores elsewhere (daemons, a terminal) all cores are used
SLACK = 0.3


def _allowed() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return set()


def cores() -> int:
    """CPU cores this process may run on."""
    return len(_allowed()) or os.cpu_count() or 1


class CpuWatch:
    """Busy cores outside this process over the last ``WINDOW_S`` seconds."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=16)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._me = psutil.Process()

    def _sample(self) -> tuple[float, float, float]:
        # only the cores this process may use (a container sees the host's in /proc/stat)
        per_cpu = psutil.cpu_times(percpu=True)
        mine = _allowed() or set(range(len(per_cpu)))
        busy = sum(
            sum(t) - t.idle - getattr(t, "iowait", 0.0) for i, t in enumerate(per_cpu) if i in mine
        )
        own = self._me.cpu_times()
        return time.monotonic(), busy, own.user + own.system

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._samples.append(self._sample())
            self._thread = threading.Thread(target=self._run, name="fundstelle-cpu", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(PERIOD_S)
            sample = self._sample()
            with self._lock:
                self._samples.append(sample)

    def elsewhere(self) -> float:
        """Cores kept busy by other processes (0 until two samples exist)."""
        self.start()
        now = self._sample()
        with self._lock:
            old = [s for s in self._samples if now[0] - s[0] <= WINDOW_S + PERIOD_S]
        if not old or now[0] - old[0][0] < 0.2:
            time.sleep(0.25)  # first call: a short sample of our own
            now = self._sample()
            old = old or [now]
        t0, busy0, own0 = old[0]
        t1, busy1, own1 = now
        if t1 - t0 <= 0:
            return 0.0
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))


WATCH = CpuWatch()
_background = 0
_background_lock = threading.Lock()


@contextmanager
def background_work() -> Iterator[None]:
    """Around work in this process that keeps a core busy while answers may be generated (an
    ingest started from the page): generation then leaves that core to it."""
    global _background
    with _background_lock:
        _background += 1
    try:
        yield
    finally:
        with _background_lock:
            _background -= 1


def busy_elsewhere() -> float:
    """Cores busy with other work: other processes, and this process's background work."""
    return WATCH.elsewhere() + _background


def generation_threads(fixed: int | None = None) -> int:
    """Threads for generating tokens: ``fixed`` if set; else the cores minus those busy
    elsewhere, at least one."""
    if fixed:
        return fixed
    return max(1, cores() - max(0, math.ceil(busy_elsewhere() - SLACK)))


def prompt_threads(fixed: int | None = None) -> int:
    """Threads for evaluating a prompt: ``fixed`` if set, else every core (see above)."""
    return fixed or cores()
