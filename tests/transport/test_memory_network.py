"""InMemoryNetwork beyond the conformance suite: statistics, forced codec, raw frames, logging."""

from __future__ import annotations

import gc
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from mesh_actors import (
    Actor,
    ActorSystem,
    Address,
    Envelope,
    EnvelopeKind,
    MailboxConfig,
    Message,
    MessageRegistry,
    VirtualClock,
    handler,
)
from transport import (
    InMemoryNetwork,
    JsonCodec,
    LinkStatistics,
    MalformedFrame,
    Transport,
    TransportClosed,
    UnencodableMessage,
    UnknownMessageType,
    UnknownSystem,
)

pytestmark = pytest.mark.anyio


class Note(Message):
    type_name = "memory-test.note"
    text: str


class Reading(Message):
    """Encodes (an infinite float becomes null) but cannot be decoded: refused by the receiver."""

    type_name = "memory-test.reading"
    value: float


class Recorder(Actor[Note | Reading]):
    def __init__(self, seen: list[Any]) -> None:
        self._seen = seen

    @handler
    def on_note(self, message: Note) -> Note:
        self._seen.append(message)
        return message

    @handler
    def on_reading(self, message: Reading) -> None:
        self._seen.append(message)


class Inbox:
    """An `Inbound` that records what it is given."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def deliver(self, envelope: Envelope) -> None:
        self.received.append(envelope)

    def deliver_nowait(self, envelope: Envelope) -> None:
        self.received.append(envelope)


class BrokenInbox:
    """An `Inbound` that breaks its promise never to raise."""

    async def deliver(self, envelope: Envelope) -> None:
        raise RuntimeError("receiver bug")

    def deliver_nowait(self, envelope: Envelope) -> None:
        raise RuntimeError("receiver bug")


REGISTRY = MessageRegistry([Note, Reading])


def note(to: str = "b", text: str = "hi") -> Envelope:
    return Envelope(Address(to, "x"), Note(text=text), Address("a", "y"))


async def test_is_a_transport() -> None:
    assert isinstance(InMemoryNetwork(), Transport)


async def test_statistics_count_every_link_separately() -> None:
    async with InMemoryNetwork() as net:
        a = await net.attach("a", Inbox())
        b_inbox = Inbox()
        await net.attach("b", b_inbox)
        c_inbox = Inbox()
        await net.attach("c", c_inbox)
        for i in range(3):
            await a.send(note("b", str(i)))
        a.send_nowait(note("c"))
        assert [e.message.text for e in b_inbox.received] == ["0", "1", "2"]
        assert len(c_inbox.received) == 1
        assert net.statistics() == {
            ("a", "b"): LinkStatistics(sent=3, delivered=3),
            ("a", "c"): LinkStatistics(sent=1, delivered=1),
        }


async def test_systems_lists_attached_names() -> None:
    async with InMemoryNetwork() as net:
        assert net.systems() == frozenset()
        a = await net.attach("a", Inbox())
        await net.attach("b", Inbox())
        assert net.systems() == {"a", "b"}
        await a.aclose()
        assert net.systems() == {"b"}
        assert "closed" in repr(a)
    assert net.systems() == frozenset()
    assert net.closed


async def test_attach_refuses_an_invalid_name() -> None:
    async with InMemoryNetwork() as net:
        with pytest.raises(ValueError):
            await net.attach("no/slashes", Inbox())


async def test_closed_network_cannot_be_reopened() -> None:
    net = InMemoryNetwork()
    await net.aclose()
    with pytest.raises(TransportClosed):
        await net.attach("a", Inbox())
    with pytest.raises(TransportClosed):
        async with net:
            pass  # pragma: no cover
    with pytest.raises(TransportClosed):
        await net.deliver_frame("a", "b", b"{}")


async def test_default_forced_codec_knows_every_message_class() -> None:
    gc.collect()  # see TestInMemoryNetworkForcingItsDefaultCodec
    net = InMemoryNetwork(force_codec=True)
    assert net.force_codec
    assert isinstance(net.codec, JsonCodec)
    assert Note.type_name in net.codec.registry
    async with net:
        a = await net.attach("a", Inbox())
        inbox = Inbox()
        await net.attach("b", inbox)
        await a.send(note())
        assert inbox.received == [note()]
        assert inbox.received[0] is not note()  # it went through bytes


async def test_forced_codec_refusal_on_the_sending_side_raises_to_the_sender() -> None:
    async with InMemoryNetwork(codec=JsonCodec(MessageRegistry()), force_codec=True) as net:
        a = await net.attach("a", Inbox())
        inbox = Inbox()
        await net.attach("b", inbox)
        with pytest.raises(UnknownMessageType):
            await a.send(note())
        with pytest.raises(UnknownMessageType):
            a.send_nowait(note())
        with pytest.raises(UnencodableMessage):
            await a.send(Envelope(Address("b", "$reply"), b"raw", None, 1, EnvelopeKind.REPLY))
        assert inbox.received == []
        assert net.statistics()[("a", "b")] == LinkStatistics(sent=3, refused=3)


async def test_forced_codec_refusal_on_the_receiving_side_drops_and_logs(
    anyio_backend: str,
) -> None:
    seen: list[Any] = []
    clock = VirtualClock()
    net = InMemoryNetwork(codec=JsonCodec(REGISTRY), force_codec=True)
    async with (
        clock.autojump(),
        net,
        ActorSystem("a", clock=clock, transport=net) as a,
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        b.spawn(lambda: Recorder(seen), name="recorder")
        recorder = a.ref("b/recorder")
        with capture_logs() as logs:
            await recorder.tell(Reading(value=float("inf")))  # the sender does not learn
            recorder.tell_nowait(Reading(value=float("-inf")))
        assert await recorder.ask(Note(text="after")) == Note(text="after")
        assert seen == [Note(text="after")]
        assert b.running
        refused = [entry for entry in logs if entry["event"] == "frame refused"]
        assert len(refused) == 2
        assert refused[0]["error_type"] == "MalformedFrame"
        assert refused[0]["log_level"] == "warning"
        assert refused[0]["transport"] == "memory"
        stats = net.statistics()
        assert stats[("a", "b")] == LinkStatistics(sent=3, delivered=1, refused=2)
        assert stats[("b", "a")] == LinkStatistics(sent=1, delivered=1)


async def test_deliver_frame_decodes_and_delivers() -> None:
    codec = JsonCodec(REGISTRY)
    async with InMemoryNetwork(codec=codec) as net:
        inbox = Inbox()
        await net.attach("b", inbox)
        await net.deliver_frame("elsewhere", "b", codec.encode(note()))
        assert inbox.received == [note()]
        with capture_logs() as logs:
            await net.deliver_frame("elsewhere", "b", b"garbage")
            # A frame for another system that arrives here is refused, not forwarded.
            await net.deliver_frame("elsewhere", "b", codec.encode(note("c")))
        assert [entry["event"] for entry in logs] == ["frame refused", "frame refused"]
        assert inbox.received == [note()]
        assert net.statistics()[("elsewhere", "b")] == LinkStatistics(
            sent=3, delivered=1, refused=2
        )
        with pytest.raises(UnknownSystem):
            await net.deliver_frame("elsewhere", "nowhere", codec.encode(note()))


async def test_deliver_frame_needs_a_codec() -> None:
    async with InMemoryNetwork() as net:
        await net.attach("b", Inbox())
        with pytest.raises(RuntimeError):
            await net.deliver_frame("a", "b", b"{}")


async def test_a_receiver_that_raises_does_not_break_the_sender() -> None:
    async with InMemoryNetwork() as net:
        a = await net.attach("a", Inbox())
        await net.attach("b", BrokenInbox())
        with capture_logs() as logs:
            await a.send(note())
            a.send_nowait(note())
        assert [entry["event"] for entry in logs] == ["delivery raised"] * 2
        assert net.statistics()[("a", "b")] == LinkStatistics(sent=2, failed=2)


async def test_send_nowait_to_a_full_mailbox_is_a_dead_letter_of_the_receiver(
    anyio_backend: str,
) -> None:
    gate = anyio.Event()

    class Stuck(Actor[Note]):
        @handler
        async def on_note(self, message: Note) -> None:
            await gate.wait()

    clock = VirtualClock()
    async with (
        clock.autojump(),
        InMemoryNetwork() as net,
        ActorSystem("a", clock=clock, transport=net) as a,
        ActorSystem("b", clock=clock, transport=net) as b,
    ):
        b.spawn(Stuck, name="stuck", mailbox=MailboxConfig(capacity=1))
        stuck = a.ref("b/stuck")
        await stuck.tell(Note(text="1"))  # taken by the handler, which blocks
        await clock.run_until_idle()
        await stuck.tell(Note(text="2"))  # fills the mailbox
        async with b.dead_letters() as letters:
            stuck.tell_nowait(Note(text="3"))
            letter = letters.receive_nowait()
        assert (letter.reason, letter.message) == ("mailbox-full", Note(text="3"))
        assert a.dead_letter_count == 0
        gate.set()


async def test_envelopes_for_a_detached_system_are_unknown_system() -> None:
    async with InMemoryNetwork() as net:
        a = await net.attach("a", Inbox())
        b = await net.attach("b", Inbox())
        await b.aclose()
        with pytest.raises(UnknownSystem) as raised:
            await a.send(note())
        assert raised.value.system == "b"
        assert "b" in str(raised.value)


def test_malformed_frame_errors_name_the_problem() -> None:
    codec = JsonCodec(REGISTRY)
    with pytest.raises(MalformedFrame, match="not JSON"):
        codec.decode(b"garbage")
