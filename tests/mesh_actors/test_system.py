"""The actor system: spawn, lookup, naming, and orderly shutdown."""

from __future__ import annotations

import anyio
import pytest

from mesh_actors import (
    Actor,
    ActorNotFound,
    ActorSystem,
    ActorSystemClosed,
    InvalidName,
    Message,
    NameTaken,
    VirtualClock,
    handler,
)
from mesh_actors.testing import virtual_system

pytestmark = pytest.mark.anyio


class Ping(Message):
    pass


class Hang(Message):
    pass


class Recorder(Actor[Ping | Hang]):
    def __init__(self, log: list[str], children: int = 0) -> None:
        self.log = log
        self.children = children

    async def on_start(self) -> None:
        for i in range(self.children):
            self.ctx.spawn(lambda: Recorder(self.log), name=f"c{i}")

    async def on_stop(self) -> None:
        self.log.append(self.ctx.self_ref.address.path)

    @handler
    def ping(self, _: Ping) -> str:
        return self.ctx.self_ref.address.path

    @handler
    async def hang(self, _: Hang) -> None:
        await anyio.sleep_forever()


async def test_spawn_lookup_and_names() -> None:
    log: list[str] = []
    async with ActorSystem("sys") as system:
        ref = system.spawn(lambda: Recorder(log, children=2), name="parent")
        assert await ref.ask(Ping()) == "parent"
        assert system.lookup("parent") == ref
        child = system.lookup("parent/c1")
        assert await child.ask(Ping()) == "parent/c1"
        assert str(child.address) == "sys/parent/c1"
        with pytest.raises(NameTaken):
            system.spawn(lambda: Recorder(log), name="parent")
        with pytest.raises(InvalidName):
            system.spawn(lambda: Recorder(log), name="a/b")
        with pytest.raises(ActorNotFound):
            system.lookup("missing")
        anonymous = system.spawn(lambda: Recorder(log))
        assert anonymous.name.startswith("$")
        assert system.actors() == sorted(["parent", "parent/c0", "parent/c1", anonymous.name])


async def test_shutdown_stops_children_before_parents_youngest_first() -> None:
    log: list[str] = []
    async with ActorSystem("sys") as system:
        a = system.spawn(lambda: Recorder(log, children=2), name="a")
        b = system.spawn(lambda: Recorder(log, children=1), name="b")
        await a.ask(Ping())
        await b.ask(Ping())
        await system.lookup("a/c1").ask(Ping())
    assert log == ["b/c0", "b", "a/c1", "a/c0", "a"]
    assert system.actors() == []


async def test_pending_asks_fail_with_named_error_at_shutdown() -> None:
    """An ask whose handler never returns fails with ActorSystemClosed, it never hangs."""
    outcome: list[BaseException] = []
    async with virtual_system(stop_timeout=1.0, ask_timeout=1e9) as system:
        ref = system.spawn(lambda: Recorder([]), name="r")

        async def asker() -> None:
            try:
                await ref.ask(Hang())
            except Exception as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(asker)
            await system.clock.sleep(1)
            await system.shutdown()
    assert len(outcome) == 1
    assert isinstance(outcome[0], ActorSystemClosed)


async def test_using_a_closed_system_raises_named_error() -> None:
    async with ActorSystem("sys") as system:
        ref = system.spawn(lambda: Recorder([]), name="r")
    with pytest.raises(ActorSystemClosed):
        await ref.ask(Ping())
    with pytest.raises(ActorSystemClosed):
        ref.tell_nowait(Ping())
    with pytest.raises(ActorSystemClosed):
        system.spawn(lambda: Recorder([]))


async def test_stop_waits_for_termination_and_frees_the_name() -> None:
    log: list[str] = []
    async with ActorSystem("sys") as system:
        ref = system.spawn(lambda: Recorder(log, children=1), name="r")
        await ref.ask(Ping())
        await system.stop(ref)
        assert log == ["r/c0", "r"]
        with pytest.raises(ActorNotFound):
            system.lookup("r")
        again = system.spawn(lambda: Recorder(log), name="r")
        assert await again.ask(Ping()) == "r"


async def test_system_on_virtual_clock_has_no_global_state() -> None:
    """Two systems with the same names coexist: nothing is global."""
    async with ActorSystem("same", clock=VirtualClock()) as one, ActorSystem("same") as two:
        r1 = one.spawn(lambda: Recorder([]), name="x")
        r2 = two.spawn(lambda: Recorder([]), name="x")
        assert r1 == r2  # equal addresses...
        assert await r1.ask(Ping()) == await r2.ask(Ping())  # ...separate actors
        assert one.lookup("x")._cell is not two.lookup("x")._cell
