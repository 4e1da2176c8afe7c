"""`Actor.on_drained`: the hook the actor loop calls at the end of each run of messages."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from mesh_actors import Actor, ActorRestarted, Message, handler
from mesh_actors.testing import virtual_system

pytestmark = pytest.mark.anyio


class Note(Message):
    n: int


class Slow(Message):
    pass


class Log(Message):
    pass


class Recorder(Actor[Note | Slow | Log]):
    """Records every message and every end of a run; ``fail_once`` makes the first hook
    raise."""

    def __init__(self, log: list[str], fail_once: bool = False) -> None:
        self.log = log
        self.fail_once = fail_once

    def on_drained(self) -> None:
        self.log.append("drained")
        if self.fail_once:
            self.fail_once = False
            raise RuntimeError("hook failed")

    @handler
    def note(self, msg: Note) -> None:
        self.log.append(f"n{msg.n}")

    @handler
    async def slow(self, _: Slow) -> None:
        self.log.append("slow")
        await anyio.lowlevel.checkpoint()
        self.log.append("slow done")

    @handler
    def read(self, _: Log) -> list[str]:
        return list(self.log)


async def test_one_call_per_run_of_messages_before_any_other_task_runs() -> None:
    log: list[str] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Recorder(log))
        for n in range(3):
            ref.tell_nowait(Note(n=n))
        # the ask is handled in the same run: its answer predates the hook, and the asker
        # (another task) only reads it after the hook ran
        seen = await ref.ask(Log())
        assert seen == ["n0", "n1", "n2"]
        assert log == ["n0", "n1", "n2", "drained"]


async def test_a_long_backlog_is_drained_in_runs() -> None:
    log: list[str] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Recorder(log))
        for n in range(300):
            ref.tell_nowait(Note(n=n))
        await ref.ask(Log())
        runs = log.count("drained")
        assert runs >= 3  # at most 128 messages a run
        assert log[-1] == "drained"
        assert [e for e in log if e != "drained"] == [f"n{n}" for n in range(300)]


async def test_called_before_an_async_handler_lets_other_tasks_run() -> None:
    log: list[str] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Recorder(log))
        ref.tell_nowait(Note(n=1))
        ref.tell_nowait(Slow())
        ref.tell_nowait(Note(n=2))
        await ref.ask(Log())
        assert log == ["n1", "drained", "slow", "slow done", "n2", "drained"]


async def test_a_failing_hook_fails_the_actor_and_its_supervisor_restarts_it() -> None:
    log: list[str] = []
    async with virtual_system() as system:
        restarts = system.events.subscribe(ActorRestarted)
        ref = system.spawn(lambda: Recorder(log, fail_once=True))
        ref.tell_nowait(Note(n=1))
        await anyio.sleep(1)
        restarted = await restarts.receive()
        assert isinstance(restarted.error, RuntimeError)
        assert str(restarted.error) == "hook failed"


async def test_an_actor_without_the_hook_is_unaffected() -> None:
    class Plain(Actor[Note]):
        def __init__(self) -> None:
            self.seen: list[int] = []

        @handler
        def note(self, msg: Note) -> int:
            self.seen.append(msg.n)
            return len(self.seen)

    async with virtual_system() as system:
        ref = system.spawn(Plain)
        ref.tell_nowait(Note(n=1))
        assert await ref.ask(Note(n=2)) == 2
