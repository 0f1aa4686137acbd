"""Who may use a generator now: a first-come, first-served queue with a number of slots.

llama.cpp's in-process model is not safe to use from two threads at once (two chat-page sessions
asking together aborted the server in ``GGML_ASSERT``), so it gets a gate with one slot
(:data:`LLAMA_GATE`); a served model gets as many slots as ``llm_parallel`` says (default: no
limit, the server queues). A waiting caller sees how many questions are ahead of it.

A ticket is held until it is released, and released exactly once whatever happens: a stopped
Streamlit run (``StopException``), a closed generator, an exception. A holder that is not using
the model and has not come back for ``stale_s`` while others wait is revoked, so that a stream
nobody reads any more cannot keep the model from everyone; its next use raises
:class:`TicketRevoked`. A holder *inside* a model call is never revoked.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from fundstelle.core.errors import BackendError
from fundstelle.core.settings import Settings


class TicketRevoked(BackendError):
    """The ticket was given up (released, or revoked after ``stale_s`` without use)."""


class Gate:
    """At most ``slots`` tickets admitted at a time (``None``: no limit), the others in order."""

    def __init__(self, slots: int | None = 1, *, name: str = "generator", stale_s: float = 60.0):
        if slots is not None and slots < 1:
            raise ValueError("a gate needs at least one slot (or None for no limit)")
        self.slots = slots
        self.name = name
        self.stale_s = stale_s
        self._cond = threading.Condition()
        self._queue: deque[Ticket] = deque()
        self._holders: list[Ticket] = []
        self._numbers = itertools.count(1)

    # --- for callers --------------------------------------------------------------------------
    def enter(self) -> Ticket:
        """Join the queue (does not block); wait with :meth:`Ticket.wait` or ``waiting()``."""
        ticket = Ticket(self, next(self._numbers))
        with self._cond:
            self._queue.append(ticket)
            self._admit()
        return ticket

    def held_here(self) -> Ticket | None:
        """The admitted ticket this thread holds, if any: a model call inside a generation
        that already waited its turn uses that ticket instead of queueing behind itself."""
        me = threading.get_ident()
        with self._cond:
            return next((t for t in self._holders if t.thread == me), None)

    @contextmanager
    def turn(self) -> Iterator[Ticket]:
        """Block until admitted (or reuse this thread's ticket), release at the end."""
        held = self.held_here()
        if held is not None:
            yield held
            return
        ticket = self.enter()
        try:
            ticket.wait()
            yield ticket
        finally:
            ticket.release()

    def close(self, timeout: float = 10.0) -> bool:
        """Take the gate for good (at exit, before the model is freed): queued and idle tickets
        are revoked, so a stream left open in another thread stops at its next call instead of
        using freed memory; waits up to ``timeout`` s for a call in progress to end. Returns
        whether no call is in progress; later tickets wait for ever."""
        with self._cond:
            self.slots = 0  # nothing is admitted any more (_admit needs a free slot)
            for t in list(self._queue):
                t._state = "revoked"
            self._queue.clear()
            self._cond.notify_all()
            idle = self._cond.wait_for(
                lambda: not any(t._in_use for t in self._holders), timeout=timeout
            )
            for t in list(self._holders):  # the call has ended: its next one is refused
                if not t._in_use:
                    t._state = "revoked"
                    self._holders.remove(t)
            return idle

    @property
    def busy(self) -> int:
        """Tickets admitted now."""
        with self._cond:
            return len(self._holders)

    @property
    def queued(self) -> int:
        """Tickets waiting now."""
        with self._cond:
            return len(self._queue)

    # --- internals (called with the lock held) --------------------------------------------------
    def _admit(self) -> None:
        while self._queue and (self.slots is None or len(self._holders) < self.slots):
            ticket = self._queue.popleft()
            ticket._state = "admitted"
            ticket.admitted_at = ticket._last_use = time.monotonic()
            self._holders.append(ticket)
        self._cond.notify_all()

    def _ahead(self, ticket: Ticket) -> int:
        if ticket._state != "queued":
            return 0
        before = 0
        for t in self._queue:
            if t is ticket:
                break
            before += 1
        free = (self.slots or 0) - 1
        return max(1, len(self._holders) + before - free)

    def _revoke_stale(self) -> None:
        now = time.monotonic()
        for t in list(self._holders):
            if not t._in_use and now - t._last_use > self.stale_s:
                t._state = "revoked"
                self._holders.remove(t)
        self._admit()

    def _leave(self, ticket: Ticket) -> None:
        if ticket._state == "queued":
            self._queue.remove(ticket)
        elif ticket._state == "admitted":
            self._holders.remove(ticket)
        ticket._state = "released"
        self._admit()


class Ticket:
    """A place in a :class:`Gate`'s queue; admitted once it is this ticket's turn."""

    def __init__(self, gate: Gate, number: int) -> None:
        self.gate = gate
        self.number = number
        self.thread = threading.get_ident()
        self.entered = time.monotonic()
        self.admitted_at: float | None = None
        self._state = "queued"  # queued -> admitted -> released, or revoked
        self._in_use = False
        self._last_use = self.entered

    @property
    def state(self) -> str:
        return self._state

    @property
    def admitted(self) -> bool:
        return self._state == "admitted"

    @property
    def ahead(self) -> int:
        """Questions ahead of this one (0 once admitted)."""
        with self.gate._cond:
            return self.gate._ahead(self)

    @property
    def waited(self) -> float:
        """Seconds from joining the queue to admission (or until now, while queued)."""
        return (self.admitted_at or time.monotonic()) - self.entered

    def wait(self, timeout: float | None = None) -> bool:
        """Block until admitted (True), or until ``timeout`` seconds have passed (False).
        Raises :class:`TicketRevoked` for a ticket that was released or revoked."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.gate._cond:
            while self._state == "queued":
                self.gate._revoke_stale()
                if self._state != "queued":
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # wake up now and then to revoke a holder that has gone stale
                self.gate._cond.wait(min(left, 1.0) if left is not None else 1.0)
            if self._state != "admitted":
                raise TicketRevoked(f"the {self.gate.name} ticket was {self._state}")
            return True

    def waiting(self, every: float = 0.5) -> Iterator[int]:
        """Wait for admission, yielding the number of questions ahead at once and then every
        ``every`` seconds (nothing when admitted at once): a page shows it, and a page that was
        closed meanwhile stops here (its generator is closed at a yield, and releases)."""
        if self.wait(0):
            return
        while True:
            yield self.ahead
            if self.wait(every):
                return

    @contextmanager
    def using(self) -> Iterator[None]:
        """Around each call into the model: refuses a ticket that is no longer admitted, and
        marks the holder busy so that it is never revoked in the middle of a call."""
        with self.gate._cond:
            if self._state != "admitted":
                raise TicketRevoked(
                    f"the {self.gate.name} was given to the next question: this one was "
                    f"{self._state} (not read for {self.gate.stale_s:.0f} s while others waited)"
                )
            self._in_use = True
        try:
            yield
        finally:
            with self.gate._cond:
                self._in_use = False
                self._last_use = time.monotonic()
                self.gate._cond.notify_all()  # Gate.close waits for the call to end

    def release(self) -> None:
        """Give up the place or the slot; safe to call more than once."""
        with self.gate._cond:
            if self._state in ("queued", "admitted"):
                self.gate._leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


# the in-process llama.cpp model(s): one generation or model call at a time, process-wide
LLAMA_GATE = Gate(1, name="model")
_SERVED: dict[tuple[object, ...], Gate] = {}
_SERVED_LOCK = threading.Lock()


def gate_for(settings: Settings, chat_model: object | None = None) -> Gate:
    """The gate of the generator ``settings`` (or the given chat model) names: the one-slot
    :data:`LLAMA_GATE` for llama.cpp in this process; for a served model one gate per server and
    model with ``llm_parallel`` slots (``None``: no limit); no limit for anything else."""
    if chat_model is not None:
        from .backends.llamacpp import LlamaCppChat

        return LLAMA_GATE if isinstance(chat_model, LlamaCppChat) else Gate(None)
    if settings.backend == "llamacpp":
        return LLAMA_GATE
    if settings.backend in ("openai", "ollama") and settings.llm_parallel is not None:
        key = (settings.backend, settings.llm_base_url, settings.llm_model, settings.llm_parallel)
        with _SERVED_LOCK:
            if key not in _SERVED:
                _SERVED[key] = Gate(settings.llm_parallel, name="server")
            return _SERVED[key]
    return Gate(None)
