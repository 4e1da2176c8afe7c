"""Supervision: restart, resume, stop, escalate; intensity limits; backoff; scopes."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_actors import (
    Actor,
    ActorFailed,
    ActorRestarted,
    Backoff,
    Directive,
    Message,
    RestartLimitExceeded,
    Scope,
    SupervisorStrategy,
    Terminated,
    handler,
)
from mesh_actors.testing import TestProbe, virtual_system

pytestmark = pytest.mark.anyio


class Bump(Message):
    pass


class Crash(Message):
    pass


class State(Message):
    pass


class Worker(Actor[Bump | Crash | State]):
    def __init__(self, events: list[str] | None = None) -> None:
        self.count = 0
        self.events = events if events is not None else []

    async def on_start(self) -> None:
        self.events.append(f"start {self.ctx.self_ref.name}")

    async def on_restart(self, error: BaseException) -> None:
        self.events.append(f"restart {self.ctx.self_ref.name} after {type(error).__name__}")

    async def on_stop(self) -> None:
        self.events.append(f"stop {self.ctx.self_ref.name}")

    @handler
    def bump(self, _: Bump) -> int:
        self.count += 1
        return self.count

    @handler
    def crash(self, _: Crash) -> None:
        raise RuntimeError("crash")

    @handler
    def state(self, _: State) -> int:
        return self.count


class Parent(Actor[Any]):
    """Spawns the children described by ``specs`` and answers with their refs."""

    def __init__(self, specs: dict[str, SupervisorStrategy], events: list[str]) -> None:
        self.specs = specs
        self.events = events

    async def on_start(self) -> None:
        self.events.append("parent start")
        for name, strategy in self.specs.items():
            self.ctx.spawn(lambda: Worker(self.events), name=name, strategy=strategy)

    async def on_restart(self, error: BaseException) -> None:
        self.events.append(f"parent restart after {type(error).__name__}")
        await self.on_start()

    @handler
    def state(self, _: State) -> list[str]:
        return [c.name for c in self.ctx.children]


async def _crash(ref: Any) -> None:
    ref.tell_nowait(Crash())


async def test_restart_gives_fresh_state_and_keeps_address_and_mailbox() -> None:
    events: list[str] = []
    async with virtual_system() as system:
        w = system.spawn(lambda: Worker(events), name="w")
        w.tell_nowait(Bump())
        w.tell_nowait(Crash())
        w.tell_nowait(Bump())  # queued behind the crash: must survive the restart
        assert await w.ask(State()) == 1
        assert events == ["start w", "restart w after RuntimeError"]


async def test_resume_keeps_state() -> None:
    async with virtual_system() as system:
        w = system.spawn(Worker, strategy=SupervisorStrategy.always(Directive.RESUME))
        await w.ask(Bump())
        w.tell_nowait(Crash())
        assert await w.ask(Bump()) == 2


async def test_stop_directive_stops_and_notifies_watchers() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        w = system.spawn(Worker, name="w", strategy=SupervisorStrategy.always(Directive.STOP))

        class Watcher(Actor[Terminated]):
            async def on_start(self) -> None:
                self.ctx.watch(w)

            @handler
            def terminated(self, msg: Terminated) -> None:
                probe.ref.tell_nowait(msg)

        system.spawn(Watcher)
        await w.ask(Bump())
        w.tell_nowait(Crash())
        assert await probe.expect_message(Terminated) == Terminated(address="test/w")


async def test_restart_intensity_exceeded_escalates_to_parent() -> None:
    events: list[str] = []
    async with virtual_system() as system:
        failures = system.events.subscribe(ActorFailed)
        strategy = SupervisorStrategy(max_restarts=2, within=10.0)
        parent = system.spawn(lambda: Parent({"w": strategy}, events), name="p")
        await parent.ask(State())
        w = system.lookup("p/w")
        for _ in range(3):
            w.tell_nowait(Crash())
            await system.clock.run_until_idle()
        # two restarts allowed; the third failure stops w and fails the parent, which the
        # guardian restarts, which starts a fresh w
        assert await parent.ask(State()) == ["w"]
        seen = [(f.address, f.directive, type(f.error).__name__) for f in failures.drain()]
        assert seen == [
            ("test/p/w", "restart", "RuntimeError"),
            ("test/p/w", "restart", "RuntimeError"),
            ("test/p/w", "stop", "RuntimeError"),
            ("test/p", "restart", "RestartLimitExceeded"),
        ]
        assert "parent restart after RestartLimitExceeded" in events


async def test_restarts_outside_the_window_do_not_count() -> None:
    async with virtual_system() as system:
        strategy = SupervisorStrategy(max_restarts=1, within=10.0)
        w = system.spawn(Worker, strategy=strategy)
        for _ in range(5):
            w.tell_nowait(Crash())
            await system.clock.sleep(11)
        assert await w.ask(Bump()) == 1  # still alive, restarted five times
        assert w._cell.restarts == 5


async def test_exponential_backoff_in_virtual_time() -> None:
    async with virtual_system() as system:
        restarts = system.events.subscribe(ActorRestarted)
        strategy = SupervisorStrategy(
            max_restarts=10, within=1000.0, backoff=Backoff(initial=1.0, factor=2.0, maximum=5.0)
        )
        w = system.spawn(Worker, strategy=strategy)
        times = []
        for _ in range(4):
            failed_at = system.clock.now()
            w.tell_nowait(Crash())
            event = await restarts.receive()
            times.append(event.time - failed_at)
        assert times == [1.0, 2.0, 4.0, 5.0]


async def test_escalate_fails_the_parent_which_restarts_its_children() -> None:
    events: list[str] = []
    async with virtual_system() as system:
        strategy = SupervisorStrategy.always(Directive.ESCALATE)
        parent = system.spawn(lambda: Parent({"a": strategy, "b": strategy}, events), name="p")
        await parent.ask(State())
        await system.lookup("p/b").ask(Bump())
        system.lookup("p/a").tell_nowait(Crash())
        await system.clock.run_until_idle()
        assert await parent.ask(State()) == ["a", "b"]
        assert await system.lookup("p/b").ask(State()) == 0  # b is a fresh instance
        # children stop youngest first; the fresh children start concurrently
        assert events[-6:-2] == [
            "stop b",
            "stop a",
            "parent restart after RuntimeError",
            "parent start",
        ]
        assert sorted(events[-2:]) == ["start a", "start b"]


async def test_one_for_one_restarts_only_the_failed_child() -> None:
    events: list[str] = []
    async with virtual_system() as system:
        parent = system.spawn(
            lambda: Parent({"a": SupervisorStrategy(), "b": SupervisorStrategy()}, events)
        )
        await parent.ask(State())
        a, b = system.lookup(f"{parent.name}/a"), system.lookup(f"{parent.name}/b")
        await a.ask(Bump())
        await b.ask(Bump())
        a.tell_nowait(Crash())
        assert await a.ask(State()) == 0
        assert await b.ask(State()) == 1


async def test_all_for_one_restarts_every_sibling() -> None:
    events: list[str] = []
    all_for_one = SupervisorStrategy(scope=Scope.ALL_FOR_ONE)
    async with virtual_system() as system:
        parent = system.spawn(lambda: Parent({"a": all_for_one, "b": all_for_one}, events))
        await parent.ask(State())
        a, b = system.lookup(f"{parent.name}/a"), system.lookup(f"{parent.name}/b")
        await a.ask(Bump())
        await b.ask(Bump())
        a.tell_nowait(Crash())
        await system.clock.run_until_idle()
        assert await a.ask(State()) == 0
        assert await b.ask(State()) == 0
        assert "restart b after RuntimeError" in events


async def test_failure_in_on_start_is_supervised() -> None:
    attempts: list[int] = []

    class Flaky(Actor[State]):
        async def on_start(self) -> None:
            attempts.append(1)
            if len(attempts) < 3:
                raise OSError("not yet")

        async def on_restart(self, error: BaseException) -> None:
            await self.on_start()

        @handler
        def state(self, _: State) -> int:
            return len(attempts)

    async with virtual_system() as system:
        ref = system.spawn(Flaky)
        assert await ref.ask(State()) == 3


async def test_escalation_at_the_root_stops_the_actor() -> None:
    async with virtual_system() as system:
        stopped = system.events.subscribe(ActorFailed)
        ref = system.spawn(Worker, strategy=SupervisorStrategy(max_restarts=0))
        ref.tell_nowait(Crash())
        await ref._cell.terminated.wait()
        assert [f.directive for f in stopped.drain()] == ["stop"]
        assert system.actors() == []


def test_restart_limit_error_says_what_happened() -> None:
    err = RestartLimitExceeded("sys/w", 3, 60.0)
    assert "sys/w" in str(err) and err.restarts == 3
