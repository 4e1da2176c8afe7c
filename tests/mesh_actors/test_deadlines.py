"""Asks carry their deadline; an ask whose asker stopped waiting is dropped, not handled.

Issue 12: with 10,000 concurrent asks (1 ms handler, 1 s timeout) none was answered in time
and 8,301 late replies went to the dead letters, because every expired ask was still handled.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import Any

import anyio
import pytest

from mesh_actors import (
    Actor,
    ActorNotFound,
    ActorSystem,
    Address,
    AskTimeout,
    Clock,
    DeadLetter,
    Envelope,
    EnvelopeKind,
    Message,
    MessageRegistry,
    VirtualClock,
    handler,
    wait_all_tasks_blocked,
)
from mesh_actors.testing import virtual_system
from transport import InMemoryNetwork, JsonCodec

pytestmark = pytest.mark.anyio


class Work(Message):
    type_name = "deadline-test.work"
    seconds: float
    label: str


class Worker(Actor[Work]):
    """Each piece of work takes ``seconds`` of clock time; it records what it handled."""

    def __init__(self, handled: list[str]) -> None:
        self.handled = handled

    @handler
    async def work(self, msg: Work) -> str:
        self.handled.append(msg.label)
        await self.ctx.clock.sleep(msg.seconds)
        return msg.label


async def _ask_quietly(ref: Any, message: Work, timeout: float, outcome: dict[str, str]) -> None:
    try:
        outcome[message.label] = await ref.ask(message, timeout=timeout)
    except AskTimeout:
        outcome[message.label] = "timeout"


async def _backlog(system: ActorSystem, handled: list[str]) -> dict[str, str]:
    """One long ask (10 s), then four short ones (1 s) that queue up behind it."""
    worker = system.spawn(lambda: Worker(handled), name="worker")
    outcome: dict[str, str] = {}
    async with anyio.create_task_group() as tg:
        tg.start_soon(_ask_quietly, worker, Work(seconds=10, label="long"), 60.0, outcome)
        await wait_all_tasks_blocked()  # the first ask is in (on trio too)
        for n in range(4):
            tg.start_soon(_ask_quietly, worker, Work(seconds=1, label=f"short{n}"), 1.0, outcome)
    return outcome


async def test_an_expired_ask_is_dropped_before_its_handler_runs(anyio_backend: str) -> None:
    handled: list[str] = []
    async with virtual_system() as system, system.dead_letters() as letters:
        outcome = await _backlog(system, handled)
        stats = system.mailbox_statistics(system.lookup("worker"))
        assert system.clock.now() == 10.0  # nobody spent clock time on the expired asks
        dead = [letters.receive_nowait() for _ in range(4)]
    assert handled == ["long"]
    assert outcome == {"long": "long"} | {f"short{n}": "timeout" for n in range(4)}
    assert stats.expired == 4
    assert all(isinstance(d, DeadLetter) and d.reason == "expired" for d in dead)
    assert sorted(d.message.label for d in dead) == [f"short{n}" for n in range(4)]
    assert {d.recipient for d in dead} == {"test/worker"}


async def test_with_the_drop_off_expired_asks_are_handled_and_replies_are_late(
    anyio_backend: str,
) -> None:
    """The switch the overload benchmark uses to measure before and after in one run."""
    handled: list[str] = []
    async with virtual_system(drop_expired=False) as system, system.dead_letters() as letters:
        outcome = await _backlog(system, handled)
        await system.clock.sleep(10)
        stats = system.mailbox_statistics(system.lookup("worker"))
        late = []
        with contextlib.suppress(anyio.WouldBlock):
            while True:
                late.append(letters.receive_nowait())
    assert handled[0] == "long"
    assert sorted(handled[1:]) == ["short0", "short1", "short2", "short3"]  # any start order
    assert set(outcome.values()) == {"long", "timeout"}
    assert stats.expired == 0
    assert [d.reason for d in late] == ["late-reply"] * 4


async def test_an_ask_in_time_is_handled_even_at_its_last_moment(anyio_backend: str) -> None:
    handled: list[str] = []
    async with virtual_system() as system:
        worker = system.spawn(lambda: Worker(handled), name="worker")
        first = Work(seconds=1.0, label="first")
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.ask, first)
            await wait_all_tasks_blocked()  # the first ask is in (on trio too)
            # Queued behind one second of work, with a deadline a moment after it ends.
            assert await worker.ask(Work(seconds=0, label="second"), timeout=1.0 + 1e-6)
        assert handled == ["first", "second"]
        assert system.mailbox_statistics(worker).expired == 0


async def test_tells_never_expire(anyio_backend: str) -> None:
    handled: list[str] = []
    async with virtual_system() as system:
        worker = system.spawn(lambda: Worker(handled), name="worker")
        for n in range(3):
            worker.tell_nowait(Work(seconds=100, label=str(n)))
        await system.clock.sleep(1_000)
        assert handled == ["0", "1", "2"]
        assert system.mailbox_statistics(worker).expired == 0


async def test_mailbox_statistics_of_a_missing_actor_raise(anyio_backend: str) -> None:
    async with virtual_system() as system:
        with pytest.raises(ActorNotFound):
            system.mailbox_statistics(system.ref("test/nobody"))


# -- across systems -----------------------------------------------------------------------


class SkewedClock:
    """Another system's clock: the same virtual time, read with a large offset."""

    def __init__(self, inner: VirtualClock, offset: float) -> None:
        self._inner = inner
        self._offset = offset

    def now(self) -> float:
        return self._inner.now() + self._offset

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def sleep_until(self, deadline: float) -> None:
        await self._inner.sleep_until(deadline - self._offset)

    def fail_after(self, seconds: float | None) -> AbstractContextManager[anyio.CancelScope]:
        return self._inner.fail_after(seconds)

    def move_on_after(self, seconds: float | None) -> AbstractContextManager[anyio.CancelScope]:
        return self._inner.move_on_after(seconds)


@pytest.mark.parametrize("offset", [-1e6, 0.0, 1e6])
@pytest.mark.parametrize("force_codec", [False, True])
async def test_the_deadline_crosses_transports_as_a_budget_on_the_receivers_clock(
    anyio_backend: str, offset: float, force_codec: bool
) -> None:
    """The receiving system's clock reads a million seconds off the asker's: an absolute
    deadline would drop every ask (or none); the budget re-anchored on arrival drops just
    the expired ones, over the JSON codec too."""
    clock = VirtualClock()
    registry = MessageRegistry([Work])
    net = InMemoryNetwork(
        codec=JsonCodec(registry) if force_codec else None, force_codec=force_codec
    )
    handled: list[str] = []
    async with (
        clock.autojump(),
        net,
        ActorSystem("asker", clock=clock, transport=net) as asker,
        ActorSystem("far", clock=SkewedClock(clock, offset), transport=net) as far,
        asker.dead_letters() as late,
        far.dead_letters() as dropped,
    ):
        far.spawn(lambda: Worker(handled), name="worker")
        worker = asker.ref("far/worker")
        outcome: dict[str, str] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(_ask_quietly, worker, Work(seconds=10, label="long"), 60.0, outcome)
            await wait_all_tasks_blocked()
            for n in range(4):
                tg.start_soon(_ask_quietly, worker, Work(seconds=1, label=f"s{n}"), 1.0, outcome)
        await clock.sleep(5)
        assert far.mailbox_statistics(far.lookup("worker")).expired == 4
        assert [d.reason for d in _drain(dropped)] == ["expired"] * 4
        assert [d.reason for d in _drain(late)] == []
    assert handled == ["long"]
    assert outcome == {"long": "long"} | {f"s{n}": "timeout" for n in range(4)}


def _drain(subscription: Any) -> list[DeadLetter]:
    letters = []
    with contextlib.suppress(anyio.WouldBlock):
        while True:
            letters.append(subscription.receive_nowait())
    return letters


def test_in_transit_turns_the_deadline_into_a_budget_and_arrival_back() -> None:
    env = Envelope(Address("a", "x"), None, Address("b", "$ask"), 3, EnvelopeKind.ASK, deadline=7.5)
    moving = env.in_transit(now=5.0)
    assert (moving.deadline, moving.budget) == (None, 2.5)
    assert moving.arrived(now=1000.0).deadline == 1002.5
    assert moving.arrived(now=1000.0).budget is None
    late = env.in_transit(now=9.0)
    assert late.budget == 0.0  # never negative: it arrives expired
    tell = Envelope(Address("a", "x"), None)
    assert tell.in_transit(1.0) is tell and tell.arrived(1.0) is tell
    assert env != moving and "deadline=7.5" in repr(env) and "budget=2.5" in repr(moving)


def _clock_type_check(clock: SkewedClock) -> Clock:
    return clock  # mypy: a SkewedClock is a Clock
