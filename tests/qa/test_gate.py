"""The generator gate: order, positions, cancelling, release on every way out, stale holders.
No model: the gate is our own logic (the engine test at the end uses the scripted chat model)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fundstelle.core.settings import Settings
from fundstelle.qa.engine import Engine
from fundstelle.qa.gate import LLAMA_GATE, Gate, TicketRevoked, gate_for

from tests.helpers.scripted import ScriptedChatModel


class Stop(BaseException):
    """Like Streamlit's StopException: a BaseException raised in the consuming thread."""


def test_first_come_first_served_with_positions() -> None:
    gate = Gate(1)
    a, b, c = gate.enter(), gate.enter(), gate.enter()
    assert a.admitted and a.ahead == 0
    assert not b.admitted and b.ahead == 1
    assert c.ahead == 2
    assert not b.wait(0.01)
    a.release()
    assert b.admitted and b.wait(0)
    assert c.ahead == 1
    b.release()
    assert c.admitted and gate.queued == 0


def test_more_slots_admit_more_and_none_means_no_limit() -> None:
    gate = Gate(2)
    a, b, c = gate.enter(), gate.enter(), gate.enter()
    assert a.admitted and b.admitted and not c.admitted
    assert c.ahead == 1
    unlimited = Gate(None)
    assert all(unlimited.enter().admitted for _ in range(50))
    assert list(unlimited.enter().waiting()) == []


def test_a_waiting_question_that_is_cancelled_leaves_the_queue() -> None:
    gate = Gate(1)
    a, b, c = gate.enter(), gate.enter(), gate.enter()
    b.release()  # the user closed the tab while waiting
    assert c.ahead == 1
    with pytest.raises(TicketRevoked):
        b.wait(0)
    a.release()
    assert c.admitted and not b.admitted
    b.release()  # releasing twice is harmless
    assert gate.busy == 1


@pytest.mark.parametrize("error", [ValueError("boom"), Stop()])
def test_the_turn_is_released_whatever_ends_it(error: BaseException) -> None:
    gate = Gate(1)
    with pytest.raises(type(error)), gate.turn():
        assert gate.busy == 1
        raise error
    assert gate.busy == 0
    assert gate.enter().admitted


def test_waiting_reports_positions_until_admitted_in_another_thread() -> None:
    gate = Gate(1)
    holder = gate.enter()
    seen: list[int] = []
    waiter = gate.enter()

    def wait() -> None:
        seen.extend(waiter.waiting(every=0.05))

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)
    assert waiter.ahead == 1 and not waiter.admitted
    holder.release()
    thread.join(2)
    assert not thread.is_alive()
    assert waiter.admitted
    assert seen and set(seen) == {1}
    assert waiter.waited >= 0.15


def test_a_turn_inside_a_held_ticket_reuses_it() -> None:
    # the engine holds a ticket for the generation; the adapter's model call in the same thread
    # must not queue behind it
    gate = Gate(1)
    with gate.enter() as ticket, gate.turn() as inner:
        assert inner is ticket
        assert gate.busy == 1
    assert gate.busy == 0


def test_a_holder_nobody_reads_is_revoked_but_never_in_the_middle_of_a_call() -> None:
    gate = Gate(1, stale_s=0.2)
    stale = gate.enter()
    waiter = gate.enter()
    assert waiter.wait(3)  # admitted once the idle holder went stale
    assert stale.state == "revoked"
    with pytest.raises(TicketRevoked), stale.using():
        pass  # never reached: a revoked stream must not touch the model again

    busy = waiter
    inside = threading.Event()
    leave = threading.Event()

    def long_call() -> None:
        with busy.using():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=long_call)
    thread.start()
    inside.wait(2)
    third = gate.enter()
    assert not third.wait(0.6)  # three times stale_s, and the holder is still in its call
    assert busy.admitted
    leave.set()
    thread.join(2)
    busy.release()
    assert third.wait(1)


def test_gates_by_backend(tmp_path: Path) -> None:
    s = Settings(store_path=tmp_path)
    assert gate_for(s) is LLAMA_GATE
    served = s.with_overrides(backend="openai", llm_base_url="http://127.0.0.1:9/v1")
    assert gate_for(served).slots is None
    limited = served.with_overrides(llm_parallel=3)
    assert gate_for(limited).slots == 3
    assert gate_for(limited) is gate_for(limited)  # one gate per server and model
    assert gate_for(s, ScriptedChatModel()).slots is None


REPLY = '{"found": true, "answer": "Großbritannien und Frankreich [1]", "sources": [1]}'


def test_engine_waits_its_turn_and_a_closed_stream_frees_the_generator(
    seed_settings: Settings,
) -> None:
    model = ScriptedChatModel(replies=[REPLY, REPLY, REPLY])
    engine = Engine(seed_settings, chat_model=model)
    engine.gate = Gate(1)
    question = "Which countries plan bases in Ukraine?"

    first = engine.stream(question)
    kinds = []
    for event in first:
        kinds.append(event.kind)
        if event.kind == "token":
            break  # the first answer is being generated, and holds the generator
    assert engine.gate.busy == 1

    events: list[str] = []
    aheads: list[int] = []
    answered = threading.Event()

    def second() -> None:
        for event in engine.stream(question):
            events.append(event.kind)
            if event.kind == "waiting":
                aheads.append(event.ahead)
            if event.kind == "answer":
                assert event.answer is not None and event.answer.citations
                assert event.answer.timings["queue"] > 0.2
                answered.set()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.8)
    assert "waiting" in events and aheads[0] == 1
    assert not answered.is_set()
    first.close()  # the page was closed or stopped: the generator is free at once
    thread.join(30)
    assert answered.is_set()
    assert engine.gate.busy == 0

    # a consumer that dies of a BaseException (Streamlit's StopException) closes its stream in
    # a finally (the page does), and that releases the generator
    third = engine.stream(question)

    def consume() -> None:
        for event in third:
            if event.kind == "token":
                raise Stop()

    with pytest.raises(Stop):
        consume()
    third.close()
    assert engine.gate.busy == 0
