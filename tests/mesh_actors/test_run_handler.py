"""`run_handler`: a run of consecutive tells of one class handled in one call, with the same
effects, order and supervision as the per-message handler (issue 16: the runtime's
per-message cost)."""

from __future__ import annotations

from collections import deque

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesh_actors import (
    Actor,
    ActorRef,
    ActorSystem,
    Directive,
    MailboxConfig,
    MailboxFull,
    Message,
    MessageRegistry,
    OverflowPolicy,
    SupervisorStrategy,
    VirtualClock,
    handler,
    run_handler,
)
from mesh_actors.testing import virtual_system
from transport import InMemoryNetwork, JsonCodec

pytestmark = pytest.mark.anyio


class Item(Message):
    n: int
    boom: bool = False


class Other(Message):
    n: int


class Read(Message):
    pass


class Forward(Message):
    n: int


class Runner(Actor[Item | Other | Read]):
    """Logs every item (a failing item raises after logging); ``runs`` records the size of
    each run its run handler was given, ``stop_after`` makes it return early."""

    def __init__(self, log: list[str], runs: list[int], stop_after: int = 0) -> None:
        self.log = log
        self.runs = runs
        self.stop_after = stop_after

    def _item(self, msg: Item) -> int:
        sender = self.ctx.sender
        self.log.append(f"i{msg.n}" + ("" if sender is None else f"<{sender.name}"))
        if msg.boom:
            raise RuntimeError(f"item {msg.n}")
        return msg.n

    @handler
    def item(self, msg: Item) -> int:
        return self._item(msg)

    @run_handler(Item)
    def items(self, run: deque[Item]) -> None:
        self.runs.append(len(run))
        taken = 0
        while run:
            if self.stop_after and taken == self.stop_after:
                return
            self._item(run.popleft())
            taken += 1

    @handler
    def other(self, msg: Other) -> None:
        self.log.append(f"o{msg.n}")

    @handler
    def read(self, _: Read) -> list[str]:
        return list(self.log)


class OneByOne(Runner):
    """The same actor without its run handler (overridden by a plain method): every item
    goes through `Runner.item`."""

    def items(self, run: deque[Item]) -> None:
        raise AssertionError("not a run handler: never called")


class Forwarder(Actor[Forward]):
    def __init__(self, target: ActorRef[Item]) -> None:
        self.target = target

    @handler
    def forward(self, msg: Forward) -> None:
        self.target.tell_nowait(Item(n=msg.n))


# restart on every failure, however many (the default limits would stop the actor)
RESTART = SupervisorStrategy(decider=lambda _: Directive.RESTART, max_restarts=10**6)


async def test_consecutive_tells_make_one_run_and_an_ask_goes_to_the_handler() -> None:
    log: list[str] = []
    runs: list[int] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Runner(log, runs))
        for n in range(5):
            ref.tell_nowait(Item(n=n))
        assert await ref.ask(Item(n=5)) == 5
        for n in range(6, 9):
            ref.tell_nowait(Item(n=n))
        ref.tell_nowait(Other(n=0))
        ref.tell_nowait(Item(n=9))
        assert await ref.ask(Read()) == [f"i{n}" for n in range(9)] + ["o0", "i9"]
    assert runs == [5, 3, 1]


async def test_a_run_ends_at_a_change_of_sender() -> None:
    log: list[str] = []
    runs: list[int] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Runner(log, runs))
        fwd = system.spawn(lambda: Forwarder(ref), name="fwd")
        ref.tell_nowait(Item(n=0))
        ref.tell_nowait(Item(n=1))
        fwd.tell_nowait(Forward(n=2))
        fwd.tell_nowait(Forward(n=3))
        await system.clock.sleep(0)  # the forwarder tells before the runner runs
        await anyio.wait_all_tasks_blocked()
        ref.tell_nowait(Item(n=4))
        assert await ref.ask(Read()) == ["i0", "i1", "i2<fwd", "i3<fwd", "i4"]
    assert runs == [2, 2, 1]


async def test_what_the_run_handler_leaves_goes_back_in_order() -> None:
    log: list[str] = []
    runs: list[int] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Runner(log, runs, stop_after=2))
        for n in range(5):
            ref.tell_nowait(Item(n=n))
        assert await ref.ask(Read()) == [f"i{n}" for n in range(5)]
    assert runs == [5, 3, 1]


async def test_a_failure_mid_run_fails_the_actor_and_keeps_the_rest_queued() -> None:
    log: list[str] = []
    runs: list[int] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Runner(log, runs), strategy=RESTART)
        for n in range(5):
            ref.tell_nowait(Item(n=n, boom=n == 1))
        # the items after the failing one survive the restart, in order
        assert await ref.ask(Read()) == [f"i{n}" for n in range(5)]
    assert runs == [5, 3]


async def test_debug_mode_uses_the_per_message_handler() -> None:
    log: list[str] = []
    runs: list[int] = []
    async with virtual_system(debug=True) as system:
        ref = system.spawn(lambda: Runner(log, runs))
        for n in range(3):
            ref.tell_nowait(Item(n=n))
        assert await ref.ask(Read()) == ["i0", "i1", "i2"]
    assert runs == []


def test_a_run_handler_needs_a_handler_for_its_type() -> None:
    with pytest.raises(TypeError, match="no handler"):

        class Broken(Actor[Item]):
            @run_handler(Item)
            def items(self, run: deque[Item]) -> None:
                run.clear()


Op = tuple[str, int, bool]
OPS = st.lists(
    st.tuples(
        st.sampled_from(["tell", "tell", "tell", "ask", "other", "read"]), st.integers(0, 9)
    ).map(lambda t: (t[0], t[1], t[0] == "tell" and t[1] == 7)),
    max_size=60,
)


async def _replay(actor: type[Runner], ops: list[Op]) -> tuple[list[str], list[object]]:
    log: list[str] = []
    answers: list[object] = []
    async with virtual_system(seed=1) as system:
        ref = system.spawn(lambda: actor(log, []), strategy=RESTART)
        for kind, n, boom in ops:
            if kind == "tell":
                ref.tell_nowait(Item(n=n, boom=boom))
            elif kind == "other":
                ref.tell_nowait(Other(n=n))
            elif kind == "ask":
                answers.append(await ref.ask(Item(n=n)))
            else:
                answers.append(await ref.ask(Read()))
        answers.append(await ref.ask(Read()))
    return log, answers


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
async def test_runs_and_one_by_one_agree_on_every_interleaving(ops: list[Op]) -> None:
    """Random interleavings of tells (some failing, which restarts the actor mid-run), asks
    and other messages: the log and every answer are those of the per-message path."""
    assert await _replay(Runner, ops) == await _replay(OneByOne, ops)


async def test_tell_many_is_consecutive_tells_and_makes_one_run() -> None:
    log: list[str] = []
    runs: list[int] = []
    async with virtual_system() as system:
        ref = system.spawn(lambda: Runner(log, runs))
        ref.tell_many_nowait([Item(n=n) for n in range(4)])
        ref.tell_nowait(Other(n=0))
        await ref.tell_many([Item(n=4), Item(n=5)])
        ref.tell_many_nowait([])
        assert await ref.ask(Read()) == ["i0", "i1", "i2", "i3", "o0", "i4", "i5"]
    assert runs == [4, 2]


async def test_tell_many_into_a_full_mailbox_sends_what_fits_then_raises() -> None:
    log: list[str] = []
    async with virtual_system() as system:
        small = MailboxConfig(capacity=4, overflow=OverflowPolicy.FAIL)
        ref = system.spawn(lambda: Runner(log, []), mailbox=small)
        with pytest.raises(MailboxFull):
            ref.tell_many_nowait([Item(n=n) for n in range(6)])
        await system.clock.sleep(1)  # the actor drains its mailbox
        assert await ref.ask(Read()) == ["i0", "i1", "i2", "i3"]


async def test_tell_many_to_a_remote_actor_sends_each_in_order() -> None:
    log: list[str] = []
    clock = VirtualClock()
    net = InMemoryNetwork(codec=JsonCodec(MessageRegistry([Item, Other, Read])), force_codec=True)
    async with (
        clock.autojump(),
        net,
        ActorSystem("a", clock=clock, transport=net) as a,
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        b.spawn(lambda: Runner(log, []), name="r")
        remote = a.ref("b/r")
        remote.tell_many_nowait([Item(n=0), Item(n=1)])
        await remote.tell_many([Item(n=2)])
        assert await remote.ask(Read(), timeout=10) == ["i0", "i1", "i2"]
