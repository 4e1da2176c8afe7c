"""Death watch, dead letters and the typed event stream."""

from __future__ import annotations

import anyio
import pytest

from mesh_actors import (
    Actor,
    ActorStarted,
    ActorStopped,
    DeadLetter,
    EventStream,
    Message,
    Terminated,
    handler,
)
from mesh_actors.testing import TestProbe, virtual_system

pytestmark = pytest.mark.anyio


class Noop(Message):
    pass


class Idle(Actor[Noop]):
    @handler
    def noop(self, _: Noop) -> None:
        pass


class Watcher(Actor[Terminated]):
    def __init__(self, target: object, probe: TestProbe) -> None:
        self.target = target
        self.probe = probe

    async def on_start(self) -> None:
        self.ctx.watch(self.target)  # type: ignore[arg-type]

    @handler
    def terminated(self, msg: Terminated) -> None:
        self.probe.ref.tell_nowait(msg)


async def test_watch_delivers_terminated_when_the_actor_stops() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        target = system.spawn(Idle, name="target")
        system.spawn(lambda: Watcher(target, probe))
        await system.clock.run_until_idle()
        await system.stop(target)
        assert await probe.expect_message(Terminated) == Terminated(address="test/target")
        await probe.expect_no_message(10)


async def test_watching_a_dead_actor_delivers_terminated_at_once() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        ghost = system.ref("test/never-existed")
        system.spawn(lambda: Watcher(ghost, probe))
        assert await probe.expect_message(Terminated) == Terminated(address="test/never-existed")


async def test_unwatch_stops_notifications() -> None:
    class Unwatcher(Watcher):
        async def on_start(self) -> None:
            self.ctx.watch(self.target)  # type: ignore[arg-type]
            self.ctx.unwatch(self.target)  # type: ignore[arg-type]

    async with virtual_system() as system:
        probe = TestProbe(system)
        target = system.spawn(Idle)
        system.spawn(lambda: Unwatcher(target, probe))
        await system.clock.run_until_idle()
        await system.stop(target)
        await probe.expect_no_message(5)


async def test_messages_left_in_a_stopped_mailbox_become_dead_letters() -> None:
    async with virtual_system() as system:
        dead = system.dead_letters()
        target = system.spawn(Idle, name="t")
        cell = target._cell
        assert cell is not None
        cell.request_stop()
        target.tell_nowait(Noop())  # queued behind the stop signal
        await cell.terminated.wait()
        target.tell_nowait(Noop())  # after termination: no such actor any more
        reasons = [(await dead.receive()).reason for _ in range(2)]
        assert reasons == ["actor-stopped", "no-such-actor"]
        assert system.dead_letter_count == 2


async def test_event_stream_reports_lifecycle_in_order() -> None:
    async with virtual_system() as system:
        events = system.events.subscribe(ActorStarted, ActorStopped)
        ref = system.spawn(Idle, name="a")
        await ref.ask(Noop())
        await system.stop(ref)
        seen = [(type(e).__name__, e.address) for e in events.drain()]
        # the subscription filters: the dead-letter stream of other kinds is not included
        assert seen == [("ActorStarted", "test/a"), ("ActorStopped", "test/a")]


async def test_slow_subscriber_loses_events_not_the_publisher() -> None:
    async with virtual_system() as system:
        small = system.events.subscribe(DeadLetter, buffer=2)
        ghost = system.ref("test/ghost")
        for _ in range(5):
            ghost.tell_nowait(Noop())
        assert len(small.drain()) == 2
        assert small.dropped == 3


async def test_subscription_iteration_ends_when_the_system_closes() -> None:
    received: list[object] = []
    async with anyio.create_task_group() as tg, virtual_system() as system:
        sub = system.events.subscribe(ActorStarted)

        async def consume() -> None:
            async for event in sub:
                received.append(event)

        tg.start_soon(consume)
        system.spawn(Idle, name="x")
        await system.clock.run_until_idle()
    assert [e.address for e in received] == ["test/x"]  # type: ignore[attr-defined]


async def test_publish_all_is_publish_per_event_with_one_wake_up() -> None:
    stream: EventStream[object] = EventStream()
    every = stream.subscribe(buffer=10)
    only_ints = stream.subscribe(int, buffer=10)
    tight = stream.subscribe(buffer=3)
    received: list[object] = []
    async with anyio.create_task_group() as tg:

        async def consume() -> None:
            async for event in every:
                received.append(event)

        tg.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        stream.publish_all([1, "a", 2, "b"])
        stream.publish_all([])
        stream.publish_all((3,))
        await anyio.wait_all_tasks_blocked()
        # the waiting subscriber woke and took them all, in order
        assert received == [1, "a", 2, "b", 3]
        every.close()
    assert only_ints.drain() == [1, 2, 3]  # filtered per event, as `publish` does
    assert tight.drain() == [1, "a", 2]  # a full buffer drops the rest, and counts them
    assert tight.dropped == 2
