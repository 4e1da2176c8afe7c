"""The in-memory transport: several actor systems in one process, joined by direct calls."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self

import anyio.lowlevel

from mesh_actors import Address, Endpoint, Envelope, Inbound, MessageRegistry, get_logger

from ._codec import JsonCodec
from ._errors import CodecError, MalformedFrame, TransportClosed, UnknownSystem
from ._interface import Codec

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = ["InMemoryNetwork", "LinkStatistics"]


@dataclass(frozen=True, slots=True)
class LinkStatistics:
    """A snapshot of the counters of one directed link ``(source, target)``.

    ``sent``: envelopes (or raw frames) handed to the link; ``delivered``: handed to the
    target system; ``refused``: refused by the codec, on either side; ``failed``: the target
    system raised while taking delivery (a runtime bug; logged). Once nothing is in flight,
    ``sent == delivered + refused + failed``.
    """

    sent: int = 0
    delivered: int = 0
    refused: int = 0
    failed: int = 0


class _Counters:
    __slots__ = ("delivered", "failed", "refused", "sent")

    def __init__(self) -> None:
        self.sent = 0
        self.delivered = 0
        self.refused = 0
        self.failed = 0

    def snapshot(self) -> LinkStatistics:
        return LinkStatistics(self.sent, self.delivered, self.refused, self.failed)


class InMemoryNetwork:
    """Joins actor systems that live in one process; envelopes move by direct calls.

    A send runs the recipient system's delivery in the sender's task: ``send`` awaits the
    recipient's ``deliver`` (so a full backpressured mailbox makes the remote sender wait, as
    it would a local one) and ``send_nowait`` calls ``deliver_nowait``. So envelopes on one
    link arrive in the order they were sent, and nothing is buffered in between.

    ``codec`` turns envelopes into frames; with ``force_codec=True`` every envelope is encoded
    and decoded on its way, so tests catch anything that could not cross a real wire (without
    a ``codec`` one is built from every `mesh_actors.Message` subclass defined when the
    network is created). A codec refusal on the sending side raises to the sender (a
    `CodecError`); a frame the receiving side refuses is counted, logged and dropped: it never
    reaches, or breaks, the receiving system. `deliver_frame` feeds raw bytes in as if they
    came from a wire.

    Use it as an async context manager (or call `aclose`); closing is final.
    """

    def __init__(self, *, codec: Codec | None = None, force_codec: bool = False) -> None:
        if force_codec and codec is None:
            codec = JsonCodec(MessageRegistry.from_subclasses())
        self._codec = codec
        self._force_codec = force_codec
        self._endpoints: dict[str, _MemoryEndpoint] = {}
        self._systems: frozenset[str] = frozenset()
        self._counters: dict[tuple[str, str], _Counters] = {}
        self._closed = False
        # Resolved at each log call: logging configured later still applies.
        self._log: FilteringBoundLogger = get_logger("transport", transport="memory")

    @property
    def codec(self) -> Codec | None:
        """The codec frames are encoded and decoded with (``None``: objects pass as they are)."""
        return self._codec

    @property
    def force_codec(self) -> bool:
        """Whether every envelope goes through the codec on its way."""
        return self._force_codec

    # -- attaching -------------------------------------------------------------------------

    async def attach(self, system: str, inbound: Inbound) -> Endpoint:
        """Attach the actor system named ``system``; envelopes for it go to ``inbound``.

        Raises ``ValueError`` if the name is attached already (`mesh_actors.InvalidName`, also
        a ``ValueError``, if it is not a valid system name) and `TransportClosed` once the
        network is closed. A checkpoint; cancellation leaves nothing attached.
        """
        await anyio.lowlevel.checkpoint()
        if self._closed:
            raise TransportClosed("the in-memory network is closed")
        Address.parse(f"{system}/$")  # validates the system name
        if system in self._endpoints:
            raise ValueError(f"an actor system named {system!r} is attached already")
        endpoint = _MemoryEndpoint(self, system, inbound)
        self._endpoints[system] = endpoint
        self._systems = frozenset(self._endpoints)
        return endpoint

    def _detach(self, endpoint: _MemoryEndpoint) -> None:
        if self._endpoints.get(endpoint.system) is endpoint:
            del self._endpoints[endpoint.system]
            self._systems = frozenset(self._endpoints)

    def systems(self) -> frozenset[str]:
        """The names of the attached systems."""
        return self._systems

    def _link(self, source: str, target: str) -> _Counters:
        key = (source, target)
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = _Counters()
        return counters

    def statistics(self) -> dict[tuple[str, str], LinkStatistics]:
        """A snapshot of every link's counters, keyed by ``(source, target)`` system names."""
        return {key: counters.snapshot() for key, counters in self._counters.items()}

    # -- frames ----------------------------------------------------------------------------

    def _receive_frame(
        self, source: str, target: str, frame: bytes, link: _Counters
    ) -> Envelope | None:
        """Decode a frame for ``target``; on refusal count, log and return ``None``."""
        assert self._codec is not None
        try:
            envelope = self._codec.decode(frame)
            if envelope.recipient.system != target:
                raise MalformedFrame(
                    f"frame for {envelope.recipient.system!r} arrived at {target!r}"
                )
        except CodecError as exc:
            link.refused += 1
            self._log.warning(
                "frame refused",
                source=source,
                target=target,
                size=len(frame),
                error_type=type(exc).__name__,
                error=str(exc),
            )
            return None
        return envelope

    async def deliver_frame(self, source: str, target: str, frame: bytes) -> None:
        """Deliver raw bytes to ``target`` as if ``source`` had sent them over a wire.

        The frame is decoded with the network's codec and delivered like any envelope
        (waiting on backpressure); a frame the codec refuses, or one addressed to another
        system, is counted in ``refused``, logged and dropped. Raises `UnknownSystem` if
        ``target`` is not attached, `TransportClosed` after `aclose`, ``RuntimeError`` if the
        network has no codec. Cancellation leaves the envelope undelivered.
        """
        if self._closed:
            raise TransportClosed("the in-memory network is closed")
        if self._codec is None:
            raise RuntimeError("this InMemoryNetwork has no codec to decode frames with")
        endpoint = self._endpoints.get(target)
        if endpoint is None:
            raise UnknownSystem(target)
        link = self._link(source, target)
        link.sent += 1
        envelope = self._receive_frame(source, target, frame, link)
        if envelope is not None:
            await endpoint._take(envelope, source, link)
        else:
            await anyio.lowlevel.checkpoint()

    def _delivery_failed(
        self, envelope: Envelope, source: str, link: _Counters, error: Exception
    ) -> None:
        # `Inbound.deliver` promises not to raise; if it does anyway, that is the receiving
        # runtime's bug and must not surface in the sender's task as if the send had failed.
        link.failed += 1
        self._log.error(
            "delivery raised",
            source=source,
            recipient=str(envelope.recipient),
            error=repr(error),
        )

    # -- closing ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Detach every system and refuse further attaches and sends; idempotent.

        Sends through any endpoint raise `TransportClosed` afterwards. A send already waiting
        on a full backpressured mailbox keeps waiting until the recipient makes room or shuts
        down. A checkpoint, even if cancelled the network is closed.
        """
        self._closed = True
        for endpoint in list(self._endpoints.values()):
            endpoint._closed = True
        self._endpoints.clear()
        self._systems = frozenset()
        await anyio.lowlevel.checkpoint()

    @property
    def closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    async def __aenter__(self) -> Self:
        if self._closed:
            raise TransportClosed("the in-memory network is closed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        codec = " force_codec" if self._force_codec else ""
        return f"InMemoryNetwork(systems={sorted(self._systems)}{codec})"


class _MemoryEndpoint:
    """One system's endpoint on an `InMemoryNetwork`."""

    __slots__ = ("_closed", "_inbound", "_links", "_network", "_system")

    def __init__(self, network: InMemoryNetwork, system: str, inbound: Inbound) -> None:
        self._network = network
        self._system = system
        self._inbound = inbound
        self._closed = False
        # Links out of this system, by target name: saves building a key per send.
        self._links: dict[str, _Counters] = {}

    @property
    def system(self) -> str:
        return self._system

    def _route(self, envelope: Envelope) -> tuple[_MemoryEndpoint, _Counters]:
        if self._closed:
            raise TransportClosed(f"the endpoint of {self._system!r} is closed")
        target = envelope.recipient.system
        peer = self._network._endpoints.get(target)
        if peer is None:
            raise UnknownSystem(target)
        link = self._links.get(target)
        if link is None:
            link = self._links[target] = self._network._link(self._system, target)
        link.sent += 1
        return peer, link

    def _cross(self, envelope: Envelope, target: str, link: _Counters) -> Envelope | None:
        """Encode (refusal raises to the sender) and decode (refusal drops) ``envelope``."""
        codec = self._network._codec
        assert codec is not None
        try:
            frame = codec.encode(envelope)
        except CodecError:
            link.refused += 1
            raise
        return self._network._receive_frame(self._system, target, frame, link)

    async def send(self, envelope: Envelope) -> None:
        """Deliver ``envelope`` to its recipient's system, waiting on backpressure.

        Raises `TransportClosed` after `aclose` (or the network's), `UnknownSystem` if no
        system of that name is attached, and a `CodecError` if the codec (``force_codec``)
        refuses to encode it. Cancellation leaves the envelope undelivered.
        """
        peer, link = self._route(envelope)
        if self._network._force_codec:
            crossed = self._cross(envelope, peer._system, link)
            if crossed is None:
                return
            envelope = crossed
        await peer._take(envelope, self._system, link)

    def send_nowait(self, envelope: Envelope) -> None:
        """Deliver ``envelope`` without waiting; raises as `send`.

        Never raises ``anyio.WouldBlock``: the recipient's mailbox policy decides (a full
        backpressured mailbox sends the envelope to the recipient's dead letters, and an ask
        fails with `mesh_actors.MailboxFull`).
        """
        peer, link = self._route(envelope)
        if self._network._force_codec:
            crossed = self._cross(envelope, peer._system, link)
            if crossed is None:
                return
            envelope = crossed
        try:
            peer._inbound.deliver_nowait(envelope)
        except Exception as exc:
            self._network._delivery_failed(envelope, self._system, link, exc)
            return
        link.delivered += 1

    async def _take(self, envelope: Envelope, source: str, link: _Counters) -> None:
        """Deliver into this endpoint's system (awaits backpressure)."""
        try:
            await self._inbound.deliver(envelope)
        except Exception as exc:
            self._network._delivery_failed(envelope, source, link, exc)
            return
        link.delivered += 1

    async def aclose(self) -> None:
        """Detach the system: the name is free again and further sends raise `TransportClosed`.

        Idempotent; a checkpoint.
        """
        if not self._closed:
            self._closed = True
            self._network._detach(self)
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<InMemoryNetwork endpoint {self._system!r} {state}>"
