"""Runtime behaviour that only shows across a transport (regressions found by the suite)."""

from __future__ import annotations

import json

import pytest

from mesh_actors import (
    Actor,
    ActorSystem,
    DeadLetter,
    HandlerError,
    Message,
    MessageRegistry,
    Terminated,
    VirtualClock,
    handler,
)
from mesh_actors.testing import TestProbe
from transport import InMemoryNetwork, JsonCodec

pytestmark = pytest.mark.anyio


class Ping(Message):
    type_name = "rt.ping"


class Pong(Message):
    type_name = "rt.pong"


class Replier(Actor[Ping]):
    def __init__(self, unencodable: bool = False) -> None:
        self.unencodable = unencodable

    @handler
    def ping(self, _: Ping) -> object:
        return (4, 2) if self.unencodable else Pong()  # a tuple has no exact JSON form


class Watcher(Actor[Terminated]):
    def __init__(self, target: str, probe: TestProbe) -> None:
        self.target = target
        self.probe = probe

    async def on_start(self) -> None:
        self.ctx.watch(self.ctx.system.ref(self.target))

    @handler
    def terminated(self, msg: Terminated) -> None:
        self.probe.ref.tell_nowait(msg)


def _network() -> InMemoryNetwork:
    registry = MessageRegistry([Ping, Pong])
    return InMemoryNetwork(codec=JsonCodec(registry), force_codec=True)


async def test_unencodable_reply_fails_the_ask_at_once_instead_of_timing_out() -> None:
    clock = VirtualClock()
    async with (
        clock.autojump(),
        _network() as net,
        ActorSystem("a", clock=clock, transport=net) as a,
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        b.spawn(lambda: Replier(unencodable=True), name="r")
        with pytest.raises(HandlerError, match="could not be sent"):
            await a.ref("b/r").ask(Ping(), timeout=1000)
        assert clock.now() == 0.0


class Deposit(Message):
    type_name = "bank.deposit"
    amount: int


class GetBalance(Message):
    type_name = "bank.get_balance"


class Account(Actor[Deposit | GetBalance]):
    """The README's first example, as shown there."""

    def __init__(self) -> None:
        self.balance = 0

    @handler
    def deposit(self, msg: Deposit) -> None:
        self.balance += msg.amount

    @handler
    def get(self, _: GetBalance) -> int:  # the return value is the reply to an ask
        return self.balance


async def test_the_readme_example_replies_with_an_int_over_a_codec() -> None:
    """Issue 12: ``HandlerError: builtins.int is not a mesh_actors.Message`` over a wire."""
    clock = VirtualClock()
    net = InMemoryNetwork(codec=JsonCodec(MessageRegistry([Deposit, GetBalance])), force_codec=True)
    async with (
        clock.autojump(),
        net,
        ActorSystem("bank", clock=clock, transport=net) as bank,
        ActorSystem("teller", clock=clock, transport=net) as teller,
    ):
        bank.spawn(Account, name="alice")
        account = teller.ref("bank/alice")
        account.tell_nowait(Deposit(amount=5))
        balance = await account.ask(GetBalance(), timeout=1.0)
        assert balance == 5 and type(balance) is int
        assert net.statistics()[("bank", "teller")].delivered == 1


async def test_ask_frame_without_sender_is_refused_and_the_system_keeps_running() -> None:
    clock = VirtualClock()
    async with (
        clock.autojump(),
        _network() as net,
        ActorSystem("a", clock=clock, transport=net) as a,
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        b.spawn(Replier, name="r")
        dead = b.dead_letters()
        frame = {
            "version": 1,
            "kind": "ask",
            "recipient": "b/r",
            "sender": None,
            "correlation_id": 5,
            "type": "rt.ping",
            "body": {},
        }
        await net.deliver_frame("a", "b", json.dumps(frame).encode())
        letters = dead.drain()
        if letters:  # the codec may refuse it first; either way nothing crashed
            assert [d.reason for d in letters] == ["no-sender"]
        assert await a.ref("b/r").ask(Ping()) == Pong()


async def test_malformed_watch_request_is_a_dead_letter_not_a_crash() -> None:
    clock = VirtualClock()
    async with (
        clock.autojump(),
        _network() as net,
        ActorSystem("a", clock=clock, transport=net),
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        from mesh_actors import Address, Envelope, Watch

        dead = b.dead_letters()
        b.spawn(Replier, name="r")
        for watcher, target in [("no-slash", "b/r"), ("a/x", "elsewhere/r")]:
            env = Envelope(Address("b", "$watch"), Watch(watcher=watcher, target=target))
            b._inbound.deliver_nowait(env)
        letters: list[DeadLetter] = dead.drain()
        assert [d.reason for d in letters] == ["malformed", "malformed"]


async def test_remote_watch_then_closed_transport_does_not_break_shutdown() -> None:
    clock = VirtualClock()
    async with clock.autojump():
        net = _network()
        async with net, ActorSystem("a", clock=clock, transport=net) as a:
            b = ActorSystem("b", clock=clock, transport=net)
            await b.__aenter__()
            b.spawn(Replier, name="r")
            probe = TestProbe(a)
            a.spawn(lambda: Watcher("b/r", probe))
            await clock.run_until_idle()
            await net.aclose()  # the watcher's system is now unreachable
            await b.__aexit__(None, None, None)  # must not raise
            await probe.expect_no_message(1)


async def test_stopping_a_watcher_unwatches_its_remote_target() -> None:
    clock = VirtualClock()
    async with (
        clock.autojump(),
        _network() as net,
        ActorSystem("a", clock=clock, transport=net) as a,
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        target = b.spawn(Replier, name="r")
        probe = TestProbe(a)
        watcher = a.spawn(lambda: Watcher("b/r", probe))
        await clock.run_until_idle()
        assert target._cell is not None and len(target._cell.watchers) == 1
        await a.stop(watcher)
        await clock.run_until_idle()
        assert len(target._cell.watchers) == 0
