"""Test kit for transports: the conformance suite every `Transport` implementation runs.

In the spirit of ``trio.testing.check_two_way_stream``: the suite states what any transport
must do, as pytest tests that run real `mesh_actors.ActorSystem` instances over it. A
transport's test module subclasses `TransportConformance` and says how to build it::

    from transport import InMemoryNetwork
    from transport.testing import TransportConformance

    class TestInMemoryNetwork(TransportConformance):
        def make_transport(self, clock, registry):
            return InMemoryNetwork()

Transports that put envelopes on a wire also implement `make_codec` (and, if they can be fed
raw bytes, `inject_frame`), which enables the codec tests; those are skipped otherwise.
Every test runs on asyncio and on trio (the class's ``anyio_backend`` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, ClassVar

import anyio
import pytest

from mesh_actors import (
    Actor,
    ActorNotFound,
    ActorRef,
    ActorSystem,
    Address,
    Clock,
    Envelope,
    HandlerError,
    MailboxConfig,
    Message,
    MessageRegistry,
    NoRoute,
    OverflowPolicy,
    Terminated,
    UnhandledMessage,
    VirtualClock,
    handler,
    wait_all_tasks_blocked,
)
from mesh_actors.testing import TestProbe

from ._errors import (
    FrameTooLarge,
    TransportClosed,
    UnknownMessageType,
    UnknownSystem,
)
from ._interface import Codec, Transport

__all__ = ["SUITE_MESSAGES", "TransportConformance"]


# -- the suite's messages ----------------------------------------------------------------------


class Ping(Message):
    type_name = "transport.testing.Ping"
    text: str


class Pong(Message):
    type_name = "transport.testing.Pong"
    text: str


class Quiet(Message):
    """Asked, it is answered with ``None``."""

    type_name = "transport.testing.Quiet"


class Explode(Message):
    """Its handler raises ``ValueError``."""

    type_name = "transport.testing.Explode"
    reason: str


class Measure(Message):
    """Asked, it is answered with a plain ``int`` (the README's first example does this)."""

    type_name = "transport.testing.Measure"
    text: str


class Describe(Message):
    """Asked, it is answered with a plain JSON value: a dict of lists, floats, None, ..."""

    type_name = "transport.testing.Describe"
    text: str


class Nobody(Message):
    """No actor of the suite handles it."""

    type_name = "transport.testing.Nobody"


class Seq(Message):
    type_name = "transport.testing.Seq"
    source: str
    n: int


class Burst(Message):
    """Ask a `_Burster` to tell ``count`` `Seq` messages to ``target``, in order."""

    type_name = "transport.testing.Burst"
    target: str
    count: int


class Relay(Message):
    """Ask a `_Relay` to ask ``target`` a `Ping` and return the answer."""

    type_name = "transport.testing.Relay"
    target: str
    text: str


class Increment(Message):
    type_name = "transport.testing.Increment"


class GetCount(Message):
    type_name = "transport.testing.GetCount"


class Count(Message):
    type_name = "transport.testing.Count"
    value: int


class WatchTarget(Message):
    type_name = "transport.testing.WatchTarget"
    target: str


class Item(Message):
    type_name = "transport.testing.Item"
    n: int


class Blob(Message):
    type_name = "transport.testing.Blob"
    data: str


class Unregistered(Message):
    """Deliberately left out of `SUITE_MESSAGES`: codecs must refuse it."""

    type_name = "transport.testing.Unregistered"
    text: str = ""


SUITE_MESSAGES: tuple[type[Message], ...] = (
    Ping,
    Pong,
    Quiet,
    Explode,
    Measure,
    Describe,
    Nobody,
    Seq,
    Burst,
    Relay,
    Increment,
    GetCount,
    Count,
    WatchTarget,
    Item,
    Blob,
)
"""Every message the suite sends across transports (`Unregistered` excepted)."""


# -- the suite's actors ------------------------------------------------------------------------


class _Echo(Actor[Ping | Quiet | Explode | Measure | Describe]):
    @handler
    def on_ping(self, message: Ping) -> Pong:
        return Pong(text=message.text)

    @handler
    def on_measure(self, message: Measure) -> int:
        return len(message.text)

    @handler
    def on_describe(self, message: Describe) -> dict[str, Any]:
        return _description(message.text)

    @handler
    def on_quiet(self, message: Quiet) -> None:
        return None

    @handler
    def on_explode(self, message: Explode) -> None:
        raise ValueError(message.reason)


def _description(text: str) -> dict[str, Any]:
    words = text.split()
    return {
        "text": text,
        "words": words,
        "lengths": {word: len(word) for word in words},
        "share": len(words) / max(len(text), 1),
        "empty": not text,
        "nothing": None,
        "nested": [[len(text)], {"deeper": [True, -1]}],
    }


class _Relay(Actor[Relay]):
    @handler
    async def on_relay(self, message: Relay) -> Any:
        return await self.ctx.system.ref(message.target).ask(Ping(text=message.text))


class _Burster(Actor[Burst]):
    @handler
    async def on_burst(self, message: Burst) -> int:
        target = self.ctx.system.ref(message.target)
        source = str(self.ctx.self_ref.address)
        for n in range(message.count):
            await target.tell(Seq(source=source, n=n))
        return message.count


class _Collector(Actor[Seq]):
    def __init__(self, received: list[tuple[str, int]]) -> None:
        self._received = received

    @handler
    def on_seq(self, message: Seq) -> None:
        self._received.append((message.source, message.n))


class _Counter(Actor[Increment | GetCount]):
    def __init__(self, unexpected: list[Any]) -> None:
        self._count = 0
        self._unexpected = unexpected

    @handler
    def on_increment(self, message: Increment) -> None:
        self._count += 1

    @handler
    def on_get(self, message: GetCount) -> Count:
        return Count(value=self._count)

    def on_unhandled(self, message: Any) -> None:
        self._unexpected.append(message)


class _Watcher(Actor[WatchTarget | Terminated]):
    def __init__(self, report_to: Any) -> None:
        self._report_to = report_to

    @handler
    def on_watch(self, message: WatchTarget) -> None:
        self.ctx.watch(self.ctx.system.ref(message.target))

    @handler
    def on_terminated(self, message: Terminated) -> None:
        self._report_to.tell_nowait(message)


class _Gated(Actor[Item]):
    mailbox = MailboxConfig(capacity=2, overflow=OverflowPolicy.BACKPRESSURE)

    def __init__(self, gate: anyio.Event, handled: list[int]) -> None:
        self._gate = gate
        self._handled = handled

    @handler
    async def on_item(self, message: Item) -> None:
        await self._gate.wait()
        self._handled.append(message.n)


class _NullInbound:
    """An inbound that takes everything and keeps it (for endpoint-level tests)."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def deliver(self, envelope: Envelope) -> None:
        self.received.append(envelope)

    def deliver_nowait(self, envelope: Envelope) -> None:
        self.received.append(envelope)


class _Mesh:
    """The systems of one test, by name, with their clock and transport."""

    def __init__(self, clock: Clock, transport: Transport) -> None:
        self.clock = clock
        self.transport = transport
        self.systems: dict[str, ActorSystem] = {}

    def __getitem__(self, name: str) -> ActorSystem:
        return self.systems[name]


def _counter_factory(unexpected: list[Any]) -> Callable[[], _Counter]:
    return lambda: _Counter(unexpected)


# -- the suite ---------------------------------------------------------------------------------


class TransportConformance:
    """Base class of a transport's conformance tests: subclass it and implement the hooks.

    Required: `make_transport`. Optional: `make_codec` and `inject_frame` (codec tests),
    `max_frame_size` (the oversize test, by default from `make_codec`),
    `run_clock` (default: virtual time with autojump; a transport doing real I/O must run on
    a `mesh_actors.RealClock`, since virtual time would jump past its I/O), `settle`,
    ``buffered_envelopes`` (how many envelopes the transport may hold between a sender and a
    full mailbox), ``fifo_count`` (tells per sender in the ordering test).
    """

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.anyio]

    buffered_envelopes: ClassVar[int] = 0
    fifo_count: ClassVar[int] = 2000
    ask_timeout: ClassVar[float] = 5.0

    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(self, request: pytest.FixtureRequest) -> str:
        backend: str = request.param
        return backend

    # -- hooks -----------------------------------------------------------------------------

    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        """A fresh, unentered transport (the suite enters it with ``async with``).

        ``clock`` is the clock of the test's systems; ``registry`` holds every message the
        suite sends (a transport with a codec builds it from this registry, as `make_codec`).
        """
        raise NotImplementedError("subclasses of TransportConformance provide make_transport")

    def make_codec(self, registry: MessageRegistry) -> Codec | None:
        """The codec the transport uses on the wire, built from ``registry`` (same format and
        limits); ``None`` if envelopes never become bytes (the codec tests are skipped)."""
        return None

    def max_frame_size(self, transport: Transport) -> int | None:
        """The largest frame ``transport`` carries (bytes), or ``None`` if it has no limit.

        The default is the limit of `make_codec`'s codec. A transport whose codec cannot be
        rebuilt from the suite's registry (e.g. one that knows every message class, so the
        refusal tests do not apply) still has a frame limit: override this to state it, and
        the oversize test runs.
        """
        codec = self.make_codec(MessageRegistry(SUITE_MESSAGES))
        return None if codec is None else codec.max_frame_size

    async def inject_frame(
        self, transport: Transport, source: str, target: str, frame: bytes
    ) -> None:
        """Make ``frame`` arrive at system ``target`` as if ``source`` had sent it.

        The default skips the tests that need it.
        """
        pytest.skip(f"{type(self).__name__} cannot inject raw frames")

    @asynccontextmanager
    async def run_clock(self) -> AsyncIterator[Clock]:
        """The clock a test's systems and transport run on, running for the test's duration."""
        clock = VirtualClock()
        async with clock.autojump():
            yield clock

    async def settle(self, clock: Clock) -> None:
        """Wait until the transport has done all it can (every task blocked)."""
        await wait_all_tasks_blocked()

    # -- harness ---------------------------------------------------------------------------

    @asynccontextmanager
    async def mesh(self, *names: str) -> AsyncIterator[_Mesh]:
        """A clock, an entered transport, and one running actor system per name."""
        registry = MessageRegistry(SUITE_MESSAGES)
        async with self.run_clock() as clock, AsyncExitStack() as stack:
            transport = await stack.enter_async_context(self.make_transport(clock, registry))
            mesh = _Mesh(clock, transport)
            for name in names:
                mesh.systems[name] = await stack.enter_async_context(
                    self.system(name, clock, transport)
                )
            yield mesh

    def system(self, name: str, clock: Clock, transport: Transport) -> ActorSystem:
        """An unentered actor system attached to ``transport`` when entered."""
        return ActorSystem(name, clock=clock, transport=transport, ask_timeout=self.ask_timeout)

    def codec_or_skip(self) -> Codec:
        """The transport's codec, or skip the calling test if it has none."""
        codec = self.make_codec(MessageRegistry(SUITE_MESSAGES))
        if codec is None:
            pytest.skip(f"{type(self).__name__} has no codec")
        return codec

    async def eventually(
        self, clock: Clock, condition: Callable[[], bool], timeout: float = 10.0
    ) -> None:
        """Wait (in clock time) until ``condition()`` holds; fail the test after ``timeout``."""
        with clock.move_on_after(timeout):
            while not condition():
                await clock.sleep(0.01)
        assert condition(), f"condition not met within {timeout}s of clock time"

    # -- ordering ----------------------------------------------------------------------------

    async def test_envelopes_on_a_link_arrive_in_the_order_sent(self) -> None:
        count = self.fifo_count
        received: list[tuple[str, int]] = []
        async with self.mesh("a", "b", "c") as mesh:
            mesh["c"].spawn(
                lambda: _Collector(received),
                name="collector",
                mailbox=MailboxConfig(capacity=4 * count),
            )
            senders = [mesh[name].spawn(_Burster, name="burster") for name in ("a", "b")]

            async def burst(sender: ActorRef[Burst]) -> None:
                await sender.ask(Burst(target="c/collector", count=count), timeout=600)

            async with anyio.create_task_group() as tg:
                for sender in senders:
                    tg.start_soon(burst, sender)
            await self.eventually(mesh.clock, lambda: len(received) >= 2 * count)
            for source in ("a/burster", "b/burster"):
                assert [n for s, n in received if s == source] == list(range(count))
            assert len(received) == 2 * count

    # -- ask and reply -----------------------------------------------------------------------

    async def test_ask_is_answered_across_systems(self) -> None:
        async with self.mesh("a", "b") as mesh:
            mesh["b"].spawn(_Echo, name="echo")
            echo = mesh["a"].ref("b/echo")
            assert await echo.ask(Ping(text="hello"), expect=Pong) == Pong(text="hello")
            assert await echo.ask(Quiet()) is None
            # Many asks in flight at once each get their own reply (correlation ids).
            replies: dict[int, Any] = {}

            async def ask(i: int) -> None:
                replies[i] = await echo.ask(Ping(text=str(i)))

            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(ask, i)
            assert replies == {i: Pong(text=str(i)) for i in range(50)}

    async def test_ask_is_answered_with_a_plain_json_value_across_systems(self) -> None:
        """A handler may return a plain value (the README's first example returns an int)."""
        async with self.mesh("a", "b") as mesh:
            mesh["b"].spawn(_Echo, name="echo")
            echo = mesh["a"].ref("b/echo")
            assert await echo.ask(Measure(text="five!"), expect=int) == 5
            text = "a plain reply crosses the wire"
            reply = await echo.ask(Describe(text=text), expect=dict)
            assert reply == _description(text)

    async def test_ask_from_an_actor_is_answered_across_systems(self) -> None:
        async with self.mesh("a", "b") as mesh:
            mesh["b"].spawn(_Echo, name="echo")
            relay = mesh["a"].spawn(_Relay, name="relay")
            reply = await relay.ask(Relay(target="b/echo", text="via relay"))
            assert reply == Pong(text="via relay")

    async def test_failed_ask_raises_the_named_error_across_systems(self) -> None:
        async with self.mesh("a", "b") as mesh:
            mesh["b"].spawn(_Echo, name="echo")
            echo = mesh["a"].ref("b/echo")
            with pytest.raises(HandlerError) as raised:
                await echo.ask(Explode(reason="boom"))
            assert raised.value.error_type == "ValueError"
            assert raised.value.message == "boom"
            with pytest.raises(UnhandledMessage):
                await echo.ask(Nobody())

    # -- routing errors ----------------------------------------------------------------------

    async def test_send_to_an_unknown_system_raises_unknown_system(self) -> None:
        async with self.mesh() as mesh:
            endpoint = await mesh.transport.attach("lonely", _NullInbound())
            envelope = Envelope(Address("nowhere", "x"), Ping(text="?"), Address("lonely", "y"))
            with pytest.raises(UnknownSystem) as raised:
                await endpoint.send(envelope)
            assert isinstance(raised.value, LookupError)
            assert raised.value.system == "nowhere"
            with pytest.raises(UnknownSystem):
                endpoint.send_nowait(envelope)
            await endpoint.aclose()

    async def test_ask_to_an_unknown_system_fails_fast_and_tell_is_a_dead_letter(self) -> None:
        async with self.mesh("a") as mesh:
            a = mesh["a"]
            nowhere = a.ref("nowhere/actor")
            start = mesh.clock.now()
            with pytest.raises(NoRoute):
                await nowhere.ask(Ping(text="?"), timeout=self.ask_timeout)
            assert mesh.clock.now() - start < self.ask_timeout
            async with a.dead_letters() as letters:
                await nowhere.tell(Ping(text="lost"))
                with mesh.clock.fail_after(self.ask_timeout):
                    letter = await letters.receive()
            assert letter.reason == "no-route"
            assert letter.message == Ping(text="lost")

    async def test_ask_to_an_unknown_actor_fails_with_actor_not_found(self) -> None:
        async with self.mesh("a", "b") as mesh:
            ghost = mesh["a"].ref("b/ghost")
            start = mesh.clock.now()
            with pytest.raises(ActorNotFound):
                await ghost.ask(Ping(text="?"), timeout=self.ask_timeout)
            assert mesh.clock.now() - start < self.ask_timeout
            async with mesh["b"].dead_letters() as letters:
                await ghost.tell(Ping(text="lost"))
                with mesh.clock.fail_after(self.ask_timeout):
                    letter = await letters.receive()
            assert (letter.reason, letter.recipient) == ("no-such-actor", "b/ghost")

    # -- codec refusals ----------------------------------------------------------------------

    async def _counter_at_three(self, mesh: _Mesh, unexpected: list[Any]) -> None:
        mesh["b"].spawn(_counter_factory(unexpected), name="counter")
        remote = mesh["a"].ref("b/counter")
        for _ in range(3):
            await remote.tell(Increment())
        assert await remote.ask(GetCount()) == Count(value=3)

    async def _assert_counter_intact(
        self, mesh: _Mesh, unexpected: list[Any], expected: int = 3
    ) -> None:
        b = mesh["b"]
        assert b.running
        remote = mesh["a"].ref("b/counter")
        assert await remote.ask(GetCount()) == Count(value=expected)
        await remote.tell(Increment())
        assert await remote.ask(GetCount()) == Count(value=expected + 1)
        assert unexpected == []

    async def test_unregistered_message_is_refused_to_the_sender(self) -> None:
        self.codec_or_skip()
        unexpected: list[Any] = []
        async with self.mesh("a", "b") as mesh:
            await self._counter_at_three(mesh, unexpected)
            counter = mesh["a"].ref("b/counter")
            with pytest.raises(UnknownMessageType) as raised:
                await counter.tell(Unregistered(text="x"))
            assert raised.value.type_name == Unregistered.type_name
            with pytest.raises(UnknownMessageType):
                await counter.ask(Unregistered(text="y"))
            await self._assert_counter_intact(mesh, unexpected)

    async def test_oversize_message_is_refused_to_the_sender(self) -> None:
        unexpected: list[Any] = []
        async with self.mesh("a", "b") as mesh:
            limit = self.max_frame_size(mesh.transport)
            if limit is not None:
                await self._counter_at_three(mesh, unexpected)
                counter = mesh["a"].ref("b/counter")
                with pytest.raises(FrameTooLarge) as raised:
                    await counter.tell(Blob(data="x" * limit))
                assert raised.value.limit == limit
                await self._assert_counter_intact(mesh, unexpected)
        if limit is None:  # skipped outside the task groups, which would wrap the skip
            pytest.skip(f"{type(self).__name__} has no frame size limit")

    async def test_refused_frames_do_not_harm_the_receiver(self) -> None:
        codec = self.codec_or_skip()
        wider = self.make_codec(MessageRegistry((*SUITE_MESSAGES, Unregistered)))
        assert wider is not None
        unexpected: list[Any] = []
        async with self.mesh("a", "b") as mesh:
            await self._counter_at_three(mesh, unexpected)
            to_counter = Address("b", "counter")
            frames = [
                b"\x00\xff not a frame at all",
                b"[1, 2, 3]",
                b'{"version": 1}',
                b"{" + b" " * codec.max_frame_size + b"}",
                wider.encode(Envelope(to_counter, Unregistered(text="?"), Address("a", "x"))),
            ]
            for frame in frames:
                await self.inject_frame(mesh.transport, "a", "b", frame)
                await self.settle(mesh.clock)
                assert mesh["b"].running
            await self._assert_counter_intact(mesh, unexpected)

    # -- attach and close --------------------------------------------------------------------

    async def test_duplicate_attach_is_refused(self) -> None:
        async with self.mesh("a", "b") as mesh:
            mesh["a"].spawn(_Echo, name="echo")
            with pytest.raises(ValueError):
                await mesh.transport.attach("a", _NullInbound())
            with pytest.raises(ValueError):
                async with self.system("a", mesh.clock, mesh.transport):
                    pass  # pragma: no cover - entering must fail
            # The system that holds the name is undisturbed.
            reply = await mesh["b"].ref("a/echo").ask(Ping(text="still here"))
            assert reply == Pong(text="still here")

    async def test_closed_endpoint_refuses_sends_and_frees_the_name(self) -> None:
        async with self.mesh("b") as mesh:
            endpoint = await mesh.transport.attach("a", _NullInbound())
            await endpoint.aclose()
            await endpoint.aclose()  # idempotent
            envelope = Envelope(Address("b", "x"), Ping(text="?"))
            with pytest.raises(TransportClosed):
                await endpoint.send(envelope)
            with pytest.raises(TransportClosed):
                endpoint.send_nowait(envelope)
            again = await mesh.transport.attach("a", _NullInbound())
            await again.aclose()

    async def test_system_shutdown_detaches_and_the_name_can_be_reused(self) -> None:
        async with self.mesh("b") as mesh:
            clock, transport = mesh.clock, mesh.transport
            async with self.system("a", clock, transport) as first:
                first.spawn(_Echo, name="echo")
                assert await mesh["b"].ref("a/echo").ask(Ping(text="1")) == Pong(text="1")
            await self.eventually(clock, lambda: "a" not in transport.systems())
            with pytest.raises(NoRoute):
                await mesh["b"].ref("a/echo").ask(Ping(text="gone"))
            async with self.system("a", clock, transport) as second:
                second.spawn(_Echo, name="echo")
                assert await mesh["b"].ref("a/echo").ask(Ping(text="2")) == Pong(text="2")

    async def test_closed_transport_refuses_everything_and_systems_still_shut_down(
        self,
    ) -> None:
        async with self.mesh("a", "b") as mesh:
            mesh["b"].spawn(_Echo, name="echo")
            endpoint = await mesh.transport.attach("c", _NullInbound())
            await mesh.transport.aclose()
            await mesh.transport.aclose()  # idempotent
            with pytest.raises(TransportClosed):
                await endpoint.send(Envelope(Address("b", "echo"), Ping(text="?")))
            with pytest.raises(TransportClosed):
                await mesh.transport.attach("d", _NullInbound())
        # Leaving the block shut both systems down without an error.

    # -- death watch -------------------------------------------------------------------------

    async def test_remote_death_watch_delivers_terminated(self) -> None:
        async with self.mesh("a", "b") as mesh:
            a, b = mesh["a"], mesh["b"]
            probe = TestProbe(a)
            watcher = a.spawn(lambda: _Watcher(probe.ref), name="watcher")
            echo = b.spawn(_Echo, name="echo")
            watcher.tell_nowait(WatchTarget(target="b/echo"))
            # Once the watcher has sent its watch request, an ask's round trip on the same
            # link (which keeps its order) proves the request has arrived.
            await self.settle(mesh.clock)
            assert await a.ref("b/echo").ask(Ping(text="alive")) == Pong(text="alive")
            await b.stop(echo)
            terminated = await probe.expect_message(Terminated, timeout=self.ask_timeout)
            assert terminated.address == "b/echo"
            # Watching an actor that does not exist reports it terminated at once.
            watcher.tell_nowait(WatchTarget(target="b/ghost"))
            terminated = await probe.expect_message(Terminated, timeout=self.ask_timeout)
            assert terminated.address == "b/ghost"

    async def test_remote_watchers_are_told_when_a_system_shuts_down(self) -> None:
        async with self.mesh("a") as mesh:
            a = mesh["a"]
            probe = TestProbe(a)
            watcher = a.spawn(lambda: _Watcher(probe.ref), name="watcher")
            async with self.system("c", mesh.clock, mesh.transport) as c:
                c.spawn(_Echo, name="echo")
                watcher.tell_nowait(WatchTarget(target="c/echo"))
                assert await a.ref("c/echo").ask(Ping(text="alive")) == Pong(text="alive")
                await self.settle(mesh.clock)
            terminated = await probe.expect_message(Terminated, timeout=self.ask_timeout)
            assert terminated.address == "c/echo"

    # -- backpressure ------------------------------------------------------------------------

    async def test_full_mailbox_makes_the_remote_sender_wait(self) -> None:
        capacity = _Gated.mailbox.capacity
        total = capacity + 1 + self.buffered_envelopes + 5
        gate = anyio.Event()
        handled: list[int] = []
        sent = 0
        async with self.mesh("a", "b") as mesh:
            mesh["b"].spawn(lambda: _Gated(gate, handled), name="gated", mailbox=_Gated.mailbox)
            target = mesh["a"].ref("b/gated")
            done = anyio.Event()

            async def send_all() -> None:
                nonlocal sent
                for n in range(total):
                    await target.tell(Item(n=n))
                    sent += 1
                done.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(send_all)
                await self.settle(mesh.clock)
                # The mailbox is full and its actor stuck: the sender waits, nothing is lost.
                assert not done.is_set()
                assert sent <= capacity + 1 + self.buffered_envelopes
                assert handled == []
                gate.set()
            await self.eventually(mesh.clock, lambda: len(handled) == total)
            assert handled == list(range(total))
            assert mesh["a"].dead_letter_count == 0
            assert mesh["b"].dead_letter_count == 0
