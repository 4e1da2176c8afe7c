"""tell and ask: replies, timeouts, handler errors, cancellation, late replies."""

from __future__ import annotations

import anyio
import pytest

from mesh_actors import (
    Actor,
    ActorNotFound,
    AskTimeout,
    DeadLetter,
    HandlerError,
    Message,
    UnexpectedReply,
    UnhandledMessage,
    handler,
)
from mesh_actors.testing import TestProbe, virtual_system

pytestmark = pytest.mark.anyio


class Add(Message):
    n: int


class Total(Message):
    value: int


class GetTotal(Message):
    pass


class SlowGet(Message):
    delay: float


class Fail(Message):
    text: str


class Base(Message):
    pass


class Derived(Base):
    pass


class Stranger(Message):
    pass


class Accumulator(Actor[Add | GetTotal | SlowGet | Fail | Base]):
    def __init__(self) -> None:
        self.total = 0

    @handler
    def add(self, msg: Add) -> None:
        self.total += msg.n

    @handler
    def get(self, _: GetTotal) -> Total:
        return Total(value=self.total)

    @handler
    async def slow(self, msg: SlowGet) -> Total:
        await self.ctx.clock.sleep(msg.delay)
        return Total(value=self.total)

    @handler
    def fail(self, msg: Fail) -> None:
        raise ValueError(msg.text)

    @handler
    def base(self, msg: Base) -> str:
        return type(msg).__name__


async def test_tells_are_handled_in_order_and_ask_returns_the_reply() -> None:
    async with virtual_system() as system:
        acc = system.spawn(Accumulator, name="acc")
        for i in range(100):
            acc.tell_nowait(Add(n=i))
        await acc.tell(Add(n=1000))
        reply = await acc.ask(GetTotal(), expect=Total)
        assert reply == Total(value=sum(range(100)) + 1000)


async def test_ask_expect_checks_the_reply_type() -> None:
    async with virtual_system() as system:
        acc = system.spawn(Accumulator)
        with pytest.raises(UnexpectedReply):
            await acc.ask(GetTotal(), expect=str)


async def test_handler_for_a_base_class_handles_subclasses() -> None:
    async with virtual_system() as system:
        acc = system.spawn(Accumulator)
        assert await acc.ask(Derived()) == "Derived"
        assert Accumulator.accepts(Derived) and not Accumulator.accepts(Stranger)


async def test_ask_times_out_with_named_error() -> None:
    async with virtual_system() as system:
        acc = system.spawn(Accumulator)
        with pytest.raises(AskTimeout):
            await acc.ask(SlowGet(delay=10), timeout=5)
        assert system.clock.now() == pytest.approx(5)


async def test_late_reply_goes_to_dead_letters_not_to_the_next_caller() -> None:
    async with virtual_system() as system:
        dead = system.dead_letters()
        acc = system.spawn(Accumulator)
        with pytest.raises(AskTimeout):
            await acc.ask(SlowGet(delay=10), timeout=5)
        acc.tell_nowait(Add(n=7))
        # The slow handler answers at t=10 with total 0; this ask must get its own reply.
        assert await acc.ask(GetTotal(), timeout=100) == Total(value=7)
        letter = await dead.receive()
        assert isinstance(letter, DeadLetter)
        assert letter.reason == "late-reply"
        assert letter.message == Total(value=0)


async def test_handler_exception_comes_back_as_typed_error() -> None:
    async with virtual_system() as system:
        acc = system.spawn(Accumulator)
        acc.tell_nowait(Add(n=3))
        with pytest.raises(HandlerError) as info:
            await acc.ask(Fail(text="bad input"))
        assert info.value.error_type == "ValueError"
        assert info.value.message == "bad input"
        assert isinstance(info.value.__cause__, ValueError)
        # The default supervision restarted the actor: fresh state, same address.
        assert await acc.ask(GetTotal()) == Total(value=0)


async def test_unhandled_message_fails_the_ask_and_goes_to_dead_letters() -> None:
    async with virtual_system() as system:
        dead = system.dead_letters()
        acc = system.spawn(Accumulator, name="acc")
        with pytest.raises(UnhandledMessage):
            await acc.ask(Stranger())  # type: ignore[arg-type]
        acc.tell_nowait(Stranger())  # type: ignore[arg-type]
        reasons = [(await dead.receive()).reason for _ in range(2)]
        assert reasons == ["unhandled", "unhandled"]
        assert await acc.ask(GetTotal()) == Total(value=0)  # not a failure: no restart


async def test_ask_to_missing_actor_fails_fast() -> None:
    async with virtual_system() as system:
        ghost = system.ref("test/ghost")
        with pytest.raises(ActorNotFound):
            await ghost.ask(GetTotal(), timeout=1000)
        assert system.clock.now() == 0


async def test_cancelling_the_asker_cleans_up() -> None:
    entered, gate = anyio.Event(), anyio.Event()

    class Gated(Actor[GetTotal]):
        @handler
        async def get(self, _: GetTotal) -> Total:
            entered.set()
            await gate.wait()
            return Total(value=1)

    async with virtual_system() as system:
        dead = system.dead_letters()
        gated = system.spawn(Gated)
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:

                async def cancel_once_handled() -> None:
                    await entered.wait()
                    scope.cancel()

                tg.start_soon(cancel_once_handled)
                await gated.ask(GetTotal(), timeout=100)
        assert scope.cancelled_caught
        assert system._asks == {}
        gate.set()
        # the reply produced after the cancellation is a dead letter, and nothing hangs
        letter = await dead.receive()
        assert letter.reason == "late-reply"
        assert letter.message == Total(value=1)


async def test_sender_is_recorded_inside_actors() -> None:
    class Relay(Actor[Add]):
        def __init__(self, target: TestProbe) -> None:
            self.target = target

        @handler
        def relay(self, msg: Add) -> None:
            self.target.ref.tell_nowait(msg)

    async with virtual_system() as system:
        probe = TestProbe(system)
        relay = system.spawn(lambda: Relay(probe), name="relay")
        relay.tell_nowait(Add(n=1))
        assert await probe.expect_message(Add) == Add(n=1)
        assert probe.last_sender == relay
