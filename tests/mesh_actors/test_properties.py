"""Properties of the runtime over random interleavings (Hypothesis)."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesh_actors import (
    Actor,
    Directive,
    MailboxConfig,
    Message,
    OverflowPolicy,
    SupervisorStrategy,
    VirtualClock,
    handler,
)
from mesh_actors.testing import virtual_system

pytestmark = pytest.mark.anyio

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Item(Message):
    sender: int
    seq: int


class Inc(Message):
    n: int


class Crash(Message):
    pass


class Dump(Message):
    pass


class Collector(Actor[Item | Dump]):
    def __init__(self) -> None:
        self.items: list[tuple[int, int]] = []

    @handler
    def item(self, msg: Item) -> None:
        self.items.append((msg.sender, msg.seq))

    @handler
    def dump(self, _: Dump) -> list[tuple[int, int]]:
        return self.items


@SETTINGS
@given(
    per_sender=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    capacity=st.integers(1, 8),
    yields=st.lists(st.booleans(), min_size=1, max_size=30),
)
async def test_backpressure_delivers_everything_once_in_per_sender_order(
    per_sender: list[int], capacity: int, yields: list[bool]
) -> None:
    """Concurrent senders into a tiny backpressured mailbox: nothing lost, nothing doubled,
    each sender's messages in the order it sent them."""
    async with virtual_system() as system:
        ref = system.spawn(Collector, mailbox=MailboxConfig(capacity, OverflowPolicy.BACKPRESSURE))

        async def sender(index: int, count: int) -> None:
            for seq in range(count):
                await ref.tell(Item(sender=index, seq=seq))
                if yields[(index + seq) % len(yields)]:
                    await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            for index, count in enumerate(per_sender):
                tg.start_soon(sender, index, count)
        items = await ref.ask(Dump())
    assert sorted(items) == sorted((i, s) for i, c in enumerate(per_sender) for s in range(c))
    for index in range(len(per_sender)):
        assert [s for i, s in items if i == index] == list(range(per_sender[index]))


class Summer(Actor[Inc | Crash | Dump]):
    def __init__(self) -> None:
        self.total = 0

    @handler
    def inc(self, msg: Inc) -> None:
        self.total += msg.n

    @handler
    def crash(self, _: Crash) -> None:
        self.total += 10**9  # a partial effect that a resume must keep, a restart must drop
        raise RuntimeError("injected")

    @handler
    def dump(self, _: Dump) -> int:
        return self.total


@SETTINGS
@given(
    script=st.lists(st.one_of(st.integers(0, 100), st.none()), max_size=60),
    resume=st.booleans(),
)
async def test_failures_lose_no_other_message(script: list[int | None], resume: bool) -> None:
    """Crashes interleaved with increments: under RESUME every increment counts (and every
    crash's partial effect stays); under RESTART exactly those after the last crash count."""
    directive = Directive.RESUME if resume else Directive.RESTART
    strategy = SupervisorStrategy.always(directive, max_restarts=10_000)
    async with virtual_system() as system:
        ref = system.spawn(Summer, strategy=strategy)
        for step in script:
            ref.tell_nowait(Crash() if step is None else Inc(n=step))
        total = await ref.ask(Dump())
    crashes = [i for i, s in enumerate(script) if s is None]
    if resume:
        assert total == sum(s for s in script if s is not None) + 10**9 * len(crashes)
    else:
        tail = script[crashes[-1] + 1 :] if crashes else script
        assert total == sum(s for s in tail if s is not None)


@SETTINGS
@given(delays=st.lists(st.integers(0, 50), min_size=1, max_size=40))
async def test_virtual_timers_fire_in_deadline_order_ties_in_set_order(delays: list[int]) -> None:
    clock = VirtualClock()
    fired: list[tuple[float, int]] = []
    for index, delay in enumerate(delays):
        clock.call_at(float(delay), lambda i=index: fired.append((clock.now(), i)))
    await clock.advance(100.0)
    assert fired == sorted(((float(d), i) for i, d in enumerate(delays)))
    assert clock.now() == 100.0
