"""Bounded mailboxes under each overflow policy, and their statistics."""

from __future__ import annotations

import anyio
import pytest

from mesh_actors import (
    Actor,
    MailboxConfig,
    MailboxFull,
    Message,
    OverflowPolicy,
    handler,
)
from mesh_actors.testing import virtual_system

pytestmark = pytest.mark.anyio


class Item(Message):
    n: int


class Count(Message):
    pass


class Gate(Message):
    pass


class Slow(Actor[Item | Count | Gate]):
    """Blocks on its first message until the test opens the gate, so its mailbox fills."""

    def __init__(self, gate: anyio.Event) -> None:
        self.gate = gate
        self.seen: list[int] = []

    @handler
    async def gate_(self, _: Gate) -> None:
        await self.gate.wait()

    @handler
    def item(self, msg: Item) -> None:
        self.seen.append(msg.n)

    @handler
    def count(self, _: Count) -> list[int]:
        return self.seen


def spawn_blocked(system, policy: OverflowPolicy, gate: anyio.Event):  # type: ignore[no-untyped-def]
    return system.spawn(lambda: Slow(gate), mailbox=MailboxConfig(capacity=3, overflow=policy))


async def test_backpressure_blocks_the_sender_and_loses_nothing() -> None:
    gate = anyio.Event()
    async with virtual_system() as system:
        ref = spawn_blocked(system, OverflowPolicy.BACKPRESSURE, gate)
        ref.tell_nowait(Gate())
        await system.clock.run_until_idle()  # the actor is now stuck in the gate handler
        for i in range(3):
            ref.tell_nowait(Item(n=i))
        with pytest.raises(MailboxFull):
            ref.tell_nowait(Item(n=99))
        sent: list[int] = []

        async def producer() -> None:
            for i in range(3, 10):
                await ref.tell(Item(n=i))
                sent.append(i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(producer)
            await system.clock.run_until_idle()
            assert sent == []  # blocked: the mailbox is full
            stats = ref._cell.mailbox.statistics()
            assert (stats.size, stats.waiting_senders, stats.refused) == (3, 1, 1)
            gate.set()
        assert await ref.ask(Count()) == list(range(10))
        assert ref._cell.mailbox.statistics().high_water == 3


async def test_drop_policy_sends_overflow_to_dead_letters() -> None:
    gate = anyio.Event()
    async with virtual_system() as system:
        dead = system.dead_letters()
        ref = spawn_blocked(system, OverflowPolicy.DROP, gate)
        ref.tell_nowait(Gate())
        await system.clock.run_until_idle()
        for i in range(5):
            await ref.tell(Item(n=i))  # never blocks, never raises
        with pytest.raises(MailboxFull):
            await ref.ask(Count())  # an ask is dropped too, and fails at once
        gate.set()
        await system.clock.run_until_idle()
        assert await ref.ask(Count()) == [0, 1, 2]
        letters = [await dead.receive() for _ in range(3)]
        assert [(d.reason, d.message) for d in letters] == [
            ("mailbox-full", Item(n=3)),
            ("mailbox-full", Item(n=4)),
            ("mailbox-full", Count()),
        ]
        assert ref._cell.mailbox.statistics().dropped == 3


async def test_fail_policy_raises_to_the_sender() -> None:
    gate = anyio.Event()
    async with virtual_system() as system:
        ref = spawn_blocked(system, OverflowPolicy.FAIL, gate)
        ref.tell_nowait(Gate())
        await system.clock.run_until_idle()
        for i in range(3):
            await ref.tell(Item(n=i))
        with pytest.raises(MailboxFull) as info:
            await ref.tell(Item(n=3))  # even the waiting variant refuses at once
        assert info.value.capacity == 3
        with pytest.raises(MailboxFull):
            await ref.ask(Count())
        gate.set()
        await system.clock.run_until_idle()
        assert await ref.ask(Count()) == [0, 1, 2]
        assert ref._cell.mailbox.statistics().refused == 2


async def test_cancelled_backpressured_sender_passes_its_turn_on() -> None:
    gate = anyio.Event()
    async with virtual_system() as system:
        ref = spawn_blocked(system, OverflowPolicy.BACKPRESSURE, gate)
        ref.tell_nowait(Gate())
        await system.clock.run_until_idle()
        for i in range(3):
            ref.tell_nowait(Item(n=i))
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as cancelled:
                tg.start_soon(ref.tell, Item(n=100))
                await system.clock.run_until_idle()
            tg.cancel_scope.cancel()  # abandon the blocked sender
        assert ref._cell.mailbox.statistics().waiting_senders == 0
        assert not cancelled.cancelled_caught
        gate.set()
        assert await ref.ask(Count()) == [0, 1, 2]


def test_mailbox_config_refuses_zero_capacity() -> None:
    with pytest.raises(ValueError):
        MailboxConfig(capacity=0)
