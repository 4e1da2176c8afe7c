"""The TCP transport: actor systems in different processes (or machines), over anyio streams.

Each actor system attached to a `TcpNetwork` listens on its own TCP port and dials the
systems it sends to; the network keeps a directory of where each system listens (configured
with ``peers``/`add_peer`, learned from authenticated handshakes, and filled in for the
systems attached locally). Envelopes travel as length-prefixed frames (`transport._framing`)
on one connection per ordered pair of systems (sender dials receiver), after a handshake
(`transport._handshake`) that checks protocol version and codec, authenticates both sides
with a shared secret, and exchanges incarnation ids. It runs under asyncio and trio.

What a connection guarantees, and how:

- **Order per sender-receiver pair.** One connection per (source system, target system); a
  system's envelopes to another are written in the order they were sent. Large envelopes
  (``large_message`` bytes and more) go to a second lane and are cut into chunks, so small
  envelopes are written between the chunks and never wait behind a big one for more than
  one chunk; to keep the order of each (sender actor, recipient actor) pair, an envelope of
  a pair that has a large envelope still queued follows it down the large lane.
- **Backpressure.** The receiver grants credit (``window`` envelopes) and returns it only
  after each envelope was delivered into its actor system, which waits while a
  backpressured mailbox is full; the sender writes only with credit. Beyond that, each link
  queues at most ``send_queue`` envelopes: ``await send`` waits for room, ``send_nowait``
  raises `SendQueueFull`. So a slow reader slows its senders, with a fixed amount buffered
  in between (``send_queue + window``), and the connection's control traffic (credit,
  heartbeats) still flows.
- **Batched writes.** The writer takes everything queued (up to ``batch_bytes``) in one
  write.
- **Direct writes.** On asyncio without TLS, a send that finds its link up and idle (nothing
  queued, the writer task parked, credit left, the socket's buffer empty) writes its frame to
  the socket from the sender's own call, saving the wake-up of the writer task: two
  event-loop iterations per message, a third of an ask round trip. Only the first such send
  per event-loop iteration does so; the rest of a burst queues and goes out in one batch.
  The write is synchronous (asyncio's transport buffers what the kernel does not take), so
  a cancelled sender never leaves part of a frame behind, and the bytes keep their order.
- **Heartbeats and dead peers.** Each side writes a keepalive when it has written nothing for
  ``heartbeat_interval``; a side that has received nothing for ``heartbeat_timeout`` (while
  it was waiting to read, not busy delivering) closes the connection.
- **Reconnects.** A lost connection is re-dialled at once; while that first attempt is under
  way sends queue. If it fails the peer is *down*: sends fail at once with `PeerUnreachable`
  (so asks fail fast with `mesh_actors.NoRoute`), envelopes still queued are discarded (asks
  among them fail), and the link keeps re-dialling with exponential backoff and full jitter
  (`ReconnectBackoff`) until the peer is back. `add_peer` or a new local attach re-dials at
  once.
- **Restarted peers.** The handshake carries each side's incarnation id. When a peer comes
  back with a new one, the asks this side had in flight to the old one fail at once (with
  `mesh_actors.NoRoute`, the text naming the restart) instead of waiting for their timeout;
  the same happens when the peer is declared down.
- **Refusals.** Malformed or oversize frames, protocol violations and failed handshakes
  (`HandshakeRefused`: wrong version, codec, secret, system, or a replayed handshake) close
  that one connection with a logged, named reason (the peer is told why, in a GOODBYE or
  REFUSE frame); the system keeps serving its other connections. An envelope the codec
  refuses on arrival is counted, logged and dropped; the connection stays.
- **TLS**, optional, through the standard `ssl` module (``ssl_server``/``ssl_client``); the
  HMAC handshake runs inside it, so TLS adds confidentiality and the secret still decides
  who may talk.

Timers (heartbeats, backoff, connect and handshake timeouts) run on anyio's real clock, not a
`mesh_actors.Clock`: a virtual clock would jump past real I/O. Delivery is at most once: what
was written to a connection that then fails may be lost (an ask then times out, or fails
early as above).

Two actor systems in two processes (the second mirrors the first, with "a" and "b" swapped)::

    net = TcpNetwork(secret=key, ports={"a": 7001}, peers={"b": ("127.0.0.1", 7002)})
    async with net, ActorSystem("a", transport=net) as a:
        reply = await a.ref("b/echo").ask(Ping(text="hi"))
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, cast

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.tls import TLSStream

from mesh_actors import (
    Address,
    Endpoint,
    Envelope,
    EnvelopeKind,
    Failure,
    Inbound,
    MessageRegistry,
    get_logger,
)

from ._backoff import ReconnectBackoff
from ._codec import JsonCodec
from ._errors import CodecError, MalformedFrame, TransportClosed, TransportError, UnknownSystem
from ._framing import FrameDecoder, FrameType, encode_frame
from ._handshake import (
    MAX_HANDSHAKE_PAYLOAD,
    ClientHandshake,
    PeerInfo,
    ReplayGuard,
    ServerHandshake,
    new_incarnation,
)
from ._interface import Codec
from ._tcp_errors import HandshakeRefused, PeerUnreachable, ProtocolViolation, SendQueueFull

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = ["TcpEndpointStatistics", "TcpLinkStatistics", "TcpNetwork"]

_HEADER: Final = struct.Struct("!IB")
_CREDIT: Final = struct.Struct("!I")
_DATA: Final = FrameType.DATA
_ASK: Final = EnvelopeKind.ASK
_REPLY: Final = EnvelopeKind.REPLY
_FAILURE: Final = EnvelopeKind.FAILURE
_KEEPALIVE_FRAME: Final = encode_frame(FrameType.KEEPALIVE)
_MAX_REASON: Final = 256
_READ_SIZE: Final = 256 * 1024
# Errors that mean "this connection is gone", whatever the backend or TLS layer says.
_CONNECTION_ERRORS: Final = (
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    OSError,
    ssl.SSLError,
)

LinkState = Literal["connecting", "up", "down", "closed"]


@dataclass(frozen=True, slots=True)
class TcpLinkStatistics:
    """A snapshot of one outbound link ``(source, target)``.

    ``state``: ``"connecting"`` (sends queue), ``"up"``, ``"down"`` (sends fail with
    `PeerUnreachable`) or ``"closed"``. ``queued``: envelopes waiting to be written (at most
    ``send_queue``); ``credit``: how many more the receiver accepts now; ``sent``: envelopes
    written; ``bytes_sent``; ``connects``: successful handshakes; ``connect_failures``;
    ``discarded``: envelopes dropped from the queue when the peer went down (asks among them
    failed); ``failed_asks``: asks failed early because the peer went down or restarted;
    ``peer_incarnation``: the incarnation seen in the last handshake; ``direct_writes``:
    envelopes (counted in ``sent``) the sender's own call wrote to the socket at once,
    without the writer task (only on asyncio without TLS, see `TcpNetwork`).
    """

    state: LinkState
    queued: int
    credit: int
    sent: int
    bytes_sent: int
    connects: int
    connect_failures: int
    discarded: int
    failed_asks: int
    peer_incarnation: str | None
    direct_writes: int


@dataclass(frozen=True, slots=True)
class TcpEndpointStatistics:
    """A snapshot of the receiving side of one local system.

    ``address``: where it listens; ``incarnation``: its own incarnation id; ``accepted``:
    connections that passed the handshake; ``refused``: connections closed for a named
    reason, by reason (``"HandshakeRefused"``, ``"FrameTooLarge"``, ...); ``received``:
    envelopes delivered into the system; ``rejected``: envelopes the codec refused (dropped,
    connection kept); ``in_flight_asks``: asks this system sent over TCP still unanswered.
    """

    address: tuple[str, int]
    incarnation: str
    accepted: int
    refused: Mapping[str, int]
    received: int
    rejected: int
    in_flight_asks: int


def _codec_name(codec: Codec) -> str:
    name = getattr(codec, "wire_name", None)
    return name if isinstance(name, str) else type(codec).__name__


class TcpNetwork:
    """Joins actor systems over TCP: a `Transport` whose envelopes cross real sockets.

    ``secret`` (at least 16 bytes) is shared by every process of the mesh; peers that cannot
    prove they know it are refused. ``host`` is the interface local systems listen on
    (loopback by default); ``ports`` gives a system its port (absent or 0: a free port,
    reported by `address`); ``advertise_host`` is the host peers are told to dial back (in
    the handshake; default ``host``, which will not do if ``host`` is ``"0.0.0.0"``).
    ``peers`` says where remote systems listen. ``codec`` defaults to
    a `JsonCodec` over every `mesh_actors.Message` subclass defined when the network is
    created. ``ssl_server``/``ssl_client`` turn TLS on (both sides of a mesh must agree).

    Tuning: ``send_queue`` (envelopes per link), ``window`` (credit per connection),
    ``large_message`` and ``chunk_size`` (bytes), ``batch_bytes`` (largest write),
    ``heartbeat_interval``/``heartbeat_timeout``, ``connect_timeout``, ``handshake_timeout``,
    ``backoff_initial``/``backoff_max`` (seconds), ``seed`` (reconnect jitter),
    ``ask_horizon`` (seconds after which an unanswered ask is no longer tracked).

    Use it as an async context manager (required before `attach`); leaving the block
    closes it. Systems attached to the same network object still talk over TCP.
    """

    def __init__(
        self,
        *,
        secret: bytes,
        host: str = "127.0.0.1",
        advertise_host: str | None = None,
        ports: Mapping[str, int] | None = None,
        peers: Mapping[str, tuple[str, int]] | None = None,
        codec: Codec | None = None,
        ssl_server: ssl.SSLContext | None = None,
        ssl_client: ssl.SSLContext | None = None,
        send_queue: int = 1024,
        window: int = 256,
        large_message: int = 64 * 1024,
        chunk_size: int = 64 * 1024,
        batch_bytes: int = 256 * 1024,
        heartbeat_interval: float = 1.0,
        heartbeat_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        handshake_timeout: float = 5.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        seed: int | None = None,
        ask_horizon: float = 600.0,
    ) -> None:
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ValueError("secret must be at least 16 bytes")
        for name, value in (
            ("send_queue", send_queue),
            ("window", window),
            ("large_message", large_message),
            ("chunk_size", chunk_size),
            ("batch_bytes", batch_bytes),
        ):
            if value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if not 0 < heartbeat_interval < heartbeat_timeout:
            raise ValueError("need 0 < heartbeat_interval < heartbeat_timeout")
        if codec is None:
            codec = JsonCodec(MessageRegistry.from_subclasses())
        self._secret = secret
        self._host = host
        self._advertise_host = advertise_host or host
        self._ports = dict(ports or {})
        self._codec = codec
        self._codec_name = _codec_name(codec)
        self._ssl_server = ssl_server
        self._ssl_client = ssl_client
        self.send_queue = send_queue
        self.window = window
        self.large_message = large_message
        self.chunk_size = chunk_size
        self.batch_bytes = batch_bytes
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.connect_timeout = connect_timeout
        self.handshake_timeout = handshake_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.ask_horizon = ask_horizon
        self._rng = random.Random(seed)
        self._configured: dict[str, tuple[str, int]] = {}
        self._learned: dict[str, tuple[str, int]] = {}
        for system, address in (peers or {}).items():
            self._configured[system] = _checked_address(system, address)
        self._local: dict[str, _TcpEndpoint] = {}
        self._unreachable: set[str] = set()
        self._systems: frozenset[str] = frozenset()
        self._task_group: anyio.abc.TaskGroup | None = None
        self._services: anyio.abc.TaskGroup | None = None
        self._service: anyio.CancelScope | None = None
        self._entered = False
        self._closed = False
        # Lazy: resolved at each log call, so structlog configured later still applies.
        self._log: FilteringBoundLogger = get_logger("transport", transport="tcp")
        self._refresh_systems()

    # -- properties ------------------------------------------------------------------------

    @property
    def codec(self) -> Codec:
        """The codec envelopes cross the wire with."""
        return self._codec

    @property
    def closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    def address(self, system: str) -> tuple[str, int]:
        """Where the locally attached ``system`` listens (its bound host and port).

        Raises `UnknownSystem` if no system of that name is attached here.
        """
        endpoint = self._local.get(system)
        if endpoint is None:
            raise UnknownSystem(system)
        return endpoint.address

    def incarnation(self, system: str) -> str:
        """The incarnation id of the locally attached ``system`` (`UnknownSystem` if none)."""
        endpoint = self._local.get(system)
        if endpoint is None:
            raise UnknownSystem(system)
        return endpoint.incarnation

    def peer_address(self, system: str) -> tuple[str, int] | None:
        """Where this network would dial ``system`` (``None`` if it does not know)."""
        local = self._local.get(system)
        if local is not None:
            return local.address
        return self._configured.get(system) or self._learned.get(system)

    # -- directory -------------------------------------------------------------------------

    def add_peer(self, system: str, host: str, port: int) -> None:
        """Say that ``system`` listens at ``host:port`` (replacing what was known).

        Links to it that are down, or still connecting, dial the new address at once.
        """
        self._configured[system] = _checked_address(system, (host, port))
        self._unreachable.discard(system)
        self._refresh_systems()
        self._kick(system)

    def remove_peer(self, system: str) -> None:
        """Forget where ``system`` listens; sends to it raise `UnknownSystem` once its links
        are down (an open connection stays up until it fails)."""
        self._configured.pop(system, None)
        self._learned.pop(system, None)
        self._refresh_systems()

    def _learn(self, system: str, listen: tuple[str, int] | None) -> None:
        if listen is None or system in self._configured or system in self._local:
            return
        if self._learned.get(system) != listen:
            self._learned[system] = listen
            self._refresh_systems()
            self._kick(system)

    def _kick(self, system: str) -> None:
        for endpoint in self._local.values():
            link = endpoint.links.get(system)
            if link is not None:
                link.kick()

    def _set_reachable(self, system: str, reachable: bool) -> None:
        if reachable:
            if system in self._unreachable:
                self._unreachable.discard(system)
                self._refresh_systems()
        elif system not in self._unreachable:
            self._unreachable.add(system)
            self._refresh_systems()

    def _refresh_systems(self) -> None:
        known = set(self._local) | set(self._configured) | set(self._learned)
        self._systems = frozenset(known - self._unreachable)

    def systems(self) -> frozenset[str]:
        """The systems this network can route to now: attached here, or with a known
        address and not known to be down."""
        return self._systems

    def statistics(self) -> dict[tuple[str, str], TcpLinkStatistics]:
        """A snapshot of every outbound link, keyed by ``(source, target)`` system names."""
        return {
            (endpoint.system, target): link.snapshot()
            for endpoint in self._local.values()
            for target, link in endpoint.links.items()
        }

    def endpoint_statistics(self, system: str) -> TcpEndpointStatistics:
        """A snapshot of the receiving side of the local ``system`` (`UnknownSystem` if none)."""
        endpoint = self._local.get(system)
        if endpoint is None:
            raise UnknownSystem(system)
        return endpoint.snapshot()

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the network's task group. Raises `TransportClosed` once closed.

        Entering again while entered does nothing (and the first exit closes it): so a
        `FaultyNetwork`, which enters its inner transport itself but only ``aclose``-s it,
        can wrap a network entered first, ``async with net, FaultyNetwork(net, ...)``, and
        the task group is left in the order it was entered.
        """
        if self._closed:
            raise TransportClosed("the TCP network is closed")
        if self._entered:
            await anyio.lowlevel.checkpoint()
            return self
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        try:
            await task_group.start(self._serve, name="transport.TcpNetwork")
        except BaseException:
            with anyio.CancelScope(shield=True):
                task_group.cancel_scope.cancel()
                await task_group.__aexit__(None, None, None)
            raise
        self._task_group = task_group
        self._entered = True
        return self

    async def _serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        # The endpoints run in a task group of their own, under a scope of their own, so that
        # `aclose` can stop them without cancelling the code inside `async with`.
        with anyio.CancelScope() as scope:
            self._service = scope
            async with anyio.create_task_group() as services:
                self._services = services
                task_status.started()
                await anyio.sleep_forever()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # shielded: closed already (a `FaultyNetwork` closes its inner network first), the
        # checkpoint in `aclose` would raise a pending cancellation before the task group
        # below is exited, leaving its scope open
        with anyio.CancelScope(shield=True):
            await self.aclose()
        task_group = self._task_group
        if task_group is None:
            return None
        self._task_group = None
        return await task_group.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Close every endpoint (listeners and connections) and refuse further attaches;
        idempotent. Sends through any endpoint raise `TransportClosed` afterwards. Runs
        shielded from cancellation, so nothing is left open."""
        if self._closed:
            await anyio.lowlevel.checkpoint()
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            for endpoint in list(self._local.values()):
                await endpoint.aclose(flush=False)
            if self._service is not None:
                self._service.cancel()

    # -- attaching -------------------------------------------------------------------------

    async def attach(self, system: str, inbound: Inbound) -> Endpoint:
        """Attach ``system``: start listening for it and return its endpoint.

        Raises ``ValueError`` if the name is attached already (`mesh_actors.InvalidName` if it
        is not a valid name), `TransportClosed` if the network is closed or was not entered,
        and ``OSError`` if its port cannot be bound. Cancellation leaves nothing attached.
        """
        if self._closed or self._services is None:
            raise TransportClosed("the TCP network is closed or was not entered (async with)")
        Address.parse(f"{system}/$")  # validates the name
        if system in self._local:
            raise ValueError(f"an actor system named {system!r} is attached already")
        endpoint = _TcpEndpoint(self, system, inbound)
        self._local[system] = endpoint
        try:
            await self._services.start(endpoint.run, name=f"transport.tcp:{system}")
        except BaseException:
            self._local.pop(system, None)
            raise
        self._unreachable.discard(system)
        self._refresh_systems()
        self._kick(system)
        return endpoint

    def _detached(self, endpoint: _TcpEndpoint) -> None:
        if self._local.get(endpoint.system) is endpoint:
            del self._local[endpoint.system]
            self._refresh_systems()
            # Our other systems need not wait for a failed re-dial to know it is gone.
            for other in self._local.values():
                link = other.links.get(endpoint.system)
                if link is not None:
                    link.peer_gone("the system detached")

    def __repr__(self) -> str:
        return f"TcpNetwork(local={sorted(self._local)}, systems={sorted(self._systems)})"


def _checked_address(system: str, address: tuple[str, int]) -> tuple[str, int]:
    Address.parse(f"{system}/$")
    host, port = address
    if not isinstance(host, str) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"bad address for {system!r}: {address!r}")
    return host, port


@dataclass(slots=True)
class _InFlight:
    target: str
    recipient: Address
    sent_at: float
    # The peer incarnation the ask is written to: None while it waits for a connection.
    incarnation: str | None


@dataclass(slots=True)
class _Refusals:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1


class _TcpEndpoint:
    """One local system: its listener, its inbound connections and its outbound links."""

    def __init__(self, network: TcpNetwork, system: str, inbound: Inbound) -> None:
        self.network = network
        self._system = system
        self.inbound = inbound
        self.incarnation = new_incarnation()
        self.address: tuple[str, int] = (network._host, 0)
        self.links: dict[str, _Link] = {}
        self.in_flight: dict[int, _InFlight] = {}
        self._tracked = 0
        self.peer_incarnations: dict[str, str] = {}
        self.replay_guard = ReplayGuard()
        self.closed = False
        self._task_group: anyio.abc.TaskGroup | None = None
        self._done = anyio.Event()
        self.accepted = 0
        self.refusals = _Refusals()
        self.received = 0
        self.rejected = 0
        self.log = network._log.bind(system=system)

    @property
    def system(self) -> str:
        return self._system

    def snapshot(self) -> TcpEndpointStatistics:
        return TcpEndpointStatistics(
            self.address,
            self.incarnation,
            self.accepted,
            dict(self.refusals.counts),
            self.received,
            self.rejected,
            len(self.in_flight),
        )

    # -- the endpoint's tasks --------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        network = self.network
        try:
            listener = await anyio.create_tcp_listener(
                local_host=network._host, local_port=network._ports.get(self._system, 0)
            )
            async with listener, anyio.create_task_group() as task_group:
                self._task_group = task_group
                sockname = listener.extra(anyio.abc.SocketAttribute.local_address)
                self.address = (network._host, int(sockname[1]))
                task_status.started()
                # One listener per address family of ``host``: accept on each.
                listeners = [cast(anyio.abc.SocketListener, one) for one in listener.listeners]
                for one in listeners[1:]:
                    task_group.start_soon(self._accept, one, task_group)
                await self._accept(listeners[0], task_group)
        finally:
            self._done.set()

    async def _accept(
        self, listener: anyio.abc.SocketListener, task_group: anyio.abc.TaskGroup
    ) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:  # out of file descriptors, for one: keep serving
                self.log.error("accept failed", error=repr(exc))
                await anyio.sleep(0.1)
                continue
            task_group.start_soon(self._serve_connection, stream)

    async def _serve_connection(self, stream: anyio.abc.ByteStream) -> None:
        peer = _peer_name(stream)
        connection = _Inbound(self, stream, peer)
        try:
            await connection.run()
        except _Refused as refused:
            self.refusals.add(refused.name)
            self.log.warning(
                "connection refused",
                peer=peer,
                reason=refused.name,
                error=str(refused.error),
            )
        except _CONNECTION_ERRORS as exc:
            self.log.info("inbound connection lost", peer=peer, error=repr(exc))
        finally:
            with anyio.CancelScope(shield=True):
                await _close_quietly(connection.stream)

    # -- asks in flight --------------------------------------------------------------------

    def track(self, envelope: Envelope, link: _Link) -> None:
        incarnation = link.peer_incarnation if link.state == "up" else None
        self.in_flight[envelope.correlation_id] = _InFlight(
            link.target, envelope.recipient, time.monotonic(), incarnation
        )
        self._tracked += 1
        if self._tracked >= 4096:
            # Asks that timed out are never answered; forget them after a while.
            self._tracked = 0
            horizon = time.monotonic() - self.network.ask_horizon
            for corr in [c for c, f in self.in_flight.items() if f.sent_at < horizon]:
                del self.in_flight[corr]

    def fail_in_flight(self, target: str, reason: str, incarnation: str | None = None) -> int:
        """Fail at once every ask this system has in flight to ``target`` (only those
        written to its ``incarnation``, if given)."""
        doomed = [
            corr
            for corr, entry in self.in_flight.items()
            if entry.target == target and (incarnation is None or entry.incarnation == incarnation)
        ]
        for corr in doomed:
            entry = self.in_flight.pop(corr)
            self._fail_ask(corr, entry.recipient, reason)
        return len(doomed)

    def _fail_ask(self, corr: int, recipient: Address, reason: str) -> None:
        failure = Failure(
            kind="no-route", actor=str(recipient), error_type="", message=f"{recipient}: {reason}"
        )
        envelope = Envelope(
            Address(self._system, "$reply"), failure, recipient, corr, EnvelopeKind.FAILURE
        )
        try:
            self.inbound.deliver_nowait(envelope)
        except Exception as exc:  # the runtime promises not to raise; never break the link
            self.log.error("failing an ask raised", error=repr(exc))

    def peer_seen(self, system: str, incarnation: str) -> None:
        """Record ``system``'s incarnation from a handshake; act if it restarted."""
        previous = self.peer_incarnations.get(system)
        self.peer_incarnations[system] = incarnation
        link = self.links.get(system)
        if link is not None and link.state == "down":
            # It just completed a handshake, so it is up: re-dial now, not after the backoff
            # (and queue our replies to it meanwhile instead of refusing them).
            link.kick()
        if previous is None or previous == incarnation:
            return
        reason = (
            f"actor system {system!r} restarted (incarnation {previous} -> {incarnation});"
            " the ask was lost with its old incarnation"
        )
        failed = self.fail_in_flight(system, reason, previous)
        self.log.info(
            "peer restarted", peer=system, old=previous, new=incarnation, failed_asks=failed
        )
        if link is not None:
            link.failed_asks += failed
            if link.peer_incarnation not in (None, incarnation):
                link.restart_connection("the peer restarted")
            link.kick()

    # -- sending ---------------------------------------------------------------------------

    def _link(self, envelope: Envelope) -> _Link:
        if self.closed:
            raise TransportClosed(f"the endpoint of {self._system!r} is closed")
        target = envelope.recipient.system
        link = self.links.get(target)
        if link is None:
            if self.network.peer_address(target) is None:
                raise UnknownSystem(target)
            assert self._task_group is not None
            link = self.links[target] = _Link(self, target)
            self._task_group.start_soon(link.run, name=f"transport.tcp:{self._system}->{target}")
        elif link.state == "down":
            raise PeerUnreachable(target, link.down_reason)
        return link

    async def send(self, envelope: Envelope) -> None:
        """Queue ``envelope`` on the link to its recipient's system, waiting for room.

        Raises `TransportClosed` after `aclose`, `UnknownSystem` if the target's address is
        unknown, `PeerUnreachable` while it is down (also if it goes down while this waits),
        and a `CodecError` if the codec refuses the envelope. A checkpoint only when it waits
        for room; cancellation while waiting leaves the envelope unsent.
        """
        link = self._link(envelope)
        payload = self.network._codec.encode(envelope)
        if link.queued >= link.capacity:
            await link.wait_for_room()
        link.push(envelope, payload)
        if envelope.kind is _ASK:
            self.track(envelope, link)
        # No checkpoint unless it waited for room: a burst of sends fills the queue before the
        # writer runs, so it goes out in one batch (and a checkpoint costs as much as a send).

    def send_nowait(self, envelope: Envelope) -> None:
        """Queue ``envelope`` without waiting; raises as `send`, and `SendQueueFull` (an
        ``anyio.WouldBlock``) when the link's queue is full."""
        link = self._link(envelope)
        payload = self.network._codec.encode(envelope)
        if link.queued >= link.capacity:
            raise SendQueueFull(link.target, link.capacity)
        link.push(envelope, payload)
        if envelope.kind is _ASK:
            self.track(envelope, link)

    async def aclose(self, flush: bool = True) -> None:
        """Detach: write what is queued (for up to ``heartbeat_interval``, when ``flush``),
        then close the listener and every connection; sends raise `TransportClosed` after.
        Idempotent; shielded from cancellation."""
        if self.closed:
            await anyio.lowlevel.checkpoint()
            return
        self.closed = True
        with anyio.CancelScope(shield=True):
            if flush:
                # A system says goodbye as it stops (Terminated to remote watchers): let the
                # links write it before the connections close.
                with anyio.move_on_after(self.network.heartbeat_interval):
                    for link in list(self.links.values()):
                        await link.drained()
            self.network._detached(self)
            for link in self.links.values():
                link.close()
            if self._task_group is not None:
                self._task_group.cancel_scope.cancel()
                await self._done.wait()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<TcpNetwork endpoint {self._system!r} {self.address} {state}>"


class _Refused(Exception):
    """A connection closed for a named reason (the name of the error class)."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(str(error))
        self.error = error
        self.name = type(error).__name__


class _ConnectionLost(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _peer_name(stream: anyio.abc.ByteStream) -> str:
    try:
        address = stream.extra(anyio.abc.SocketAttribute.remote_address)
    except anyio.TypedAttributeLookupError:  # no socket underneath (a test stream)
        return "?"
    if isinstance(address, tuple):
        return f"{address[0]}:{address[1]}"
    return str(address)


async def _close_quietly(stream: anyio.abc.ByteStream) -> None:
    try:
        with anyio.move_on_after(1):
            await stream.aclose()
    except Exception:  # a broken TLS stream may complain while closing; it is closed anyway
        await anyio.lowlevel.checkpoint()


def _clock() -> Callable[[], float]:
    """anyio's clock (`anyio.current_time`) as its cheapest call, for per-read timestamps:
    ``current_time`` looks the running backend up on every call. Every timestamp of this
    module comes from here, so all are on one clock whatever the backend.
    """
    try:
        return asyncio.get_running_loop().time
    except RuntimeError:  # not on asyncio
        return anyio.current_time


def _direct_transport(stream: anyio.abc.ByteStream) -> asyncio.WriteTransport | None:
    """The asyncio transport under ``stream`` if it is anyio's plain asyncio socket stream
    (which writes with ``transport.write`` itself), else None: TLS, trio and any other stream
    always go through the writer task."""
    transport = getattr(stream, "_transport", None)
    if isinstance(transport, asyncio.WriteTransport) and isinstance(stream, anyio.abc.SocketStream):
        return transport
    return None


async def _read_frames(
    stream: anyio.abc.ByteStream, decoder: FrameDecoder
) -> list[tuple[FrameType, bytes]]:
    """At least one frame from ``stream`` (raises ``anyio.EndOfStream`` at its end)."""
    while True:
        try:
            data = await stream.receive(_READ_SIZE)
        except anyio.EndOfStream:
            decoder.check_eof()
            raise
        frames = decoder.feed(data)
        if frames:
            return frames


class _Inbound:
    """The listener's side of one connection: handshake, then read, deliver and credit."""

    def __init__(self, endpoint: _TcpEndpoint, stream: anyio.abc.ByteStream, peer: str) -> None:
        self.endpoint = endpoint
        self.stream = stream
        self.peer = peer
        self.info: PeerInfo | None = None
        self.pending_credit = 0
        self.granted = 0
        self.received = 0
        self.delivering = False
        self.last_received = _clock()()
        self.last_written = self.last_received
        self.keepalive_due = False
        self.wake = anyio.Event()

    async def run(self) -> None:
        network = self.endpoint.network
        leftover = b""
        try:
            with anyio.fail_after(network.handshake_timeout):
                if network._ssl_server is not None:
                    self.stream = await TLSStream.wrap(
                        self.stream,
                        server_side=True,
                        ssl_context=network._ssl_server,
                        standard_compatible=False,
                    )
                leftover = await self._handshake()
        except TimeoutError:
            raise _Refused(HandshakeRefused("timeout", "no complete handshake in time")) from None
        except HandshakeRefused as refused:
            await self._send_quietly(encode_frame(FrameType.REFUSE, _reason(refused)))
            raise _Refused(refused) from None
        except (MalformedFrame, CodecError) as exc:
            raise _Refused(HandshakeRefused("malformed", str(exc))) from None
        except ssl.SSLError as exc:
            raise _Refused(HandshakeRefused("tls", str(exc))) from None
        except anyio.EndOfStream:
            raise _Refused(HandshakeRefused("malformed", "closed during the handshake")) from None
        info = self.info
        assert info is not None
        endpoint = self.endpoint
        endpoint.accepted += 1
        endpoint.peer_seen(info.system, info.incarnation)
        network._learn(info.system, info.listen)
        self.granted = network.window
        error: Exception | None = None
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._write_loop, task_group.cancel_scope)
            task_group.start_soon(self._heartbeat, task_group.cancel_scope)
            try:
                await self._read_loop(leftover)
            except (MalformedFrame, CodecError, ProtocolViolation, _ConnectionLost) as exc:
                error = exc
            task_group.cancel_scope.cancel()
        if isinstance(error, _ConnectionLost):
            endpoint.log.info("inbound connection closed", peer=info.system, reason=error.reason)
        elif error is not None:
            # Tell the peer why before closing, for its log (best effort).
            await self._send_quietly(encode_frame(FrameType.GOODBYE, _reason(error)))
            assert isinstance(error, TransportError)
            raise _Refused(error)

    async def _send_quietly(self, data: bytes) -> None:
        with anyio.move_on_after(1, shield=True):
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await self.stream.send(data)

    async def _handshake(self) -> bytes:
        network = self.endpoint.network
        handshake = ServerHandshake(
            secret=network._secret,
            system=self.endpoint.system,
            incarnation=self.endpoint.incarnation,
            codec=network._codec_name,
            replay_guard=self.endpoint.replay_guard,
        )
        # Small limits until the peer is authenticated: it cannot make us buffer a big frame.
        decoder = FrameDecoder(
            {
                FrameType.HELLO: MAX_HANDSHAKE_PAYLOAD,
                FrameType.AUTH: MAX_HANDSHAKE_PAYLOAD,
                FrameType.REFUSE: _MAX_REASON,
            }
        )
        frames = await _read_frames(self.stream, decoder)
        if frames[0][0] is not FrameType.HELLO or len(frames) > 1:
            raise HandshakeRefused("malformed", "expected one HELLO")
        challenge = handshake.challenge(frames[0][1])
        await self.stream.send(encode_frame(FrameType.CHALLENGE, challenge))
        frames = await _read_frames(self.stream, decoder)
        if frames[0][0] is FrameType.REFUSE:
            raise HandshakeRefused("refused by peer", _text(frames[0][1]))
        if frames[0][0] is not FrameType.AUTH or len(frames) > 1:
            raise HandshakeRefused("malformed", "expected one AUTH")
        self.info = handshake.verify(frames[0][1])
        await self.stream.send(encode_frame(FrameType.ACCEPT, _CREDIT.pack(network.window)))
        return decoder.take_buffered()

    async def _read_loop(self, leftover: bytes) -> None:
        endpoint = self.endpoint
        network = endpoint.network
        codec = network._codec
        inbound = endpoint.inbound
        in_flight = endpoint.in_flight
        system = endpoint.system
        now = _clock()
        decoder = FrameDecoder(
            {
                FrameType.DATA: codec.max_frame_size,
                FrameType.CHUNK: network.chunk_size,
                FrameType.CHUNK_END: network.chunk_size,
                FrameType.KEEPALIVE: 0,
                FrameType.GOODBYE: _MAX_REASON,
            }
        )
        threshold = max(1, network.window // 2)
        large: bytearray | None = None
        data = leftover
        while True:
            frames = decoder.feed(data) if data else []
            for frame_type, payload in frames:
                if frame_type is _DATA:
                    pass  # small envelopes are written between the chunks of a large one
                elif frame_type is FrameType.CHUNK or frame_type is FrameType.CHUNK_END:
                    if large is None:
                        large = bytearray()
                    large += payload
                    if len(large) > codec.max_frame_size:
                        raise ProtocolViolation(
                            f"chunked envelope longer than {codec.max_frame_size} bytes"
                        )
                    if frame_type is FrameType.CHUNK:
                        continue
                    payload = bytes(large)
                    large = None
                elif frame_type is FrameType.KEEPALIVE:
                    continue
                else:  # GOODBYE
                    raise _ConnectionLost(f"peer said goodbye: {_text(payload)}")
                self.received += 1
                if self.received > self.granted:
                    raise ProtocolViolation("the peer sent more envelopes than it had credit for")
                try:
                    envelope = codec.decode(payload)
                    if envelope.recipient.system != system:
                        raise MalformedFrame(
                            f"envelope for {envelope.recipient.system!r} arrived at {system!r}"
                        )
                except CodecError as exc:
                    endpoint.rejected += 1
                    endpoint.log.warning(
                        "frame refused",
                        peer=self.peer,
                        size=len(payload),
                        error_type=type(exc).__name__,
                        error=str(exc),
                    )
                else:
                    kind = envelope.kind
                    if kind is _REPLY or kind is _FAILURE:
                        in_flight.pop(envelope.correlation_id, None)
                    self.delivering = True
                    try:
                        await inbound.deliver(envelope)
                    except Exception as exc:  # the runtime promises not to raise
                        endpoint.log.error("delivery raised", error=repr(exc))
                    finally:
                        self.delivering = False
                    endpoint.received += 1
                self.pending_credit += 1
                if self.pending_credit >= threshold:
                    self.wake.set()
            self.last_received = now()
            try:
                data = await self.stream.receive(_READ_SIZE)
            except anyio.EndOfStream:
                decoder.check_eof()
                raise _ConnectionLost("closed by the peer") from None
            except _CONNECTION_ERRORS as exc:
                raise _ConnectionLost(f"connection error: {exc!r}") from None

    async def _write_loop(self, scope: anyio.CancelScope) -> None:
        threshold = max(1, self.endpoint.network.window // 2)
        stream = self.stream
        while True:
            out = b""
            if self.pending_credit >= threshold:
                out = encode_frame(FrameType.CREDIT, _CREDIT.pack(self.pending_credit))
                self.granted += self.pending_credit
                self.pending_credit = 0
            elif self.keepalive_due:
                out = _KEEPALIVE_FRAME
            if out:
                self.keepalive_due = False
                try:
                    await stream.send(out)
                except _CONNECTION_ERRORS:
                    scope.cancel()
                    return
                self.last_written = _clock()()
                continue
            self.wake = anyio.Event()
            await self.wake.wait()

    async def _heartbeat(self, scope: anyio.CancelScope) -> None:
        # One timer per connection, not a timeout per wait of the writer: that would cost a
        # cancel scope per envelope.
        network = self.endpoint.network
        interval = network.heartbeat_interval
        timeout = network.heartbeat_timeout
        while True:
            await anyio.sleep(min(interval, timeout / 4))
            now = _clock()()
            if not self.delivering and now - self.last_received > timeout:
                self.endpoint.log.warning(
                    "peer silent, closing",
                    peer=self.peer,
                    seconds=round(now - self.last_received, 3),
                )
                scope.cancel()
                return
            if now - self.last_written >= interval:
                self.keepalive_due = True
                self.wake.set()


def _reason(error: BaseException) -> bytes:
    return f"{type(error).__name__}: {error}".encode()[:_MAX_REASON]


def _text(payload: bytes) -> str:
    return payload[:_MAX_REASON].decode("utf-8", "replace")


class _Large:
    __slots__ = ("offset", "pair", "payload")

    def __init__(self, payload: bytes, pair: tuple[Any, Address] | None) -> None:
        self.payload = payload
        self.pair = pair
        self.offset = 0


class _Link:
    """The dialer's side: one system's queue and connection to one target system."""

    def __init__(self, endpoint: _TcpEndpoint, target: str) -> None:
        network = endpoint.network
        self.endpoint = endpoint
        self.network = network
        self.target = target
        self.capacity = network.send_queue
        self.state: LinkState = "connecting"
        self.down_reason = ""
        # Each queued item is (frame bytes or a large envelope, the envelope): the envelope
        # is kept so that an ask can be failed if the peer goes down before it is written.
        self.small: deque[tuple[bytes, Envelope]] = deque()
        self.large: deque[tuple[_Large, Envelope]] = deque()
        self.large_pairs: dict[tuple[Any, Address], int] = {}
        self.queued = 0
        self.credit = 0
        self.peer_incarnation: str | None = None
        self.wake = anyio.Event()
        self.room = anyio.Event()
        self.kicked = anyio.Event()
        self.connection_scope: anyio.CancelScope | None = None
        self.last_received = 0.0
        self.last_written = 0.0
        self.keepalive_due = False
        self.lost_reason = ""
        self.decoder: FrameDecoder | None = None
        # The direct-write fast path (see `push`): the connection's asyncio transport (and its
        # loop) while the link is up on a plain (non-TLS) asyncio socket stream, else None;
        # whether the writer task is parked with nothing to do; and whether no direct write
        # happened yet in this event-loop iteration.
        self.direct: asyncio.WriteTransport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.parked = False
        self.armed = True
        self.backoff = ReconnectBackoff(
            initial=network.backoff_initial,
            maximum=network.backoff_max,
            rng=random.Random(network._rng.random()),
        )
        self.sent = 0
        self.bytes_sent = 0
        self.connects = 0
        self.connect_failures = 0
        self.discarded = 0
        self.failed_asks = 0
        self.direct_writes = 0

    def snapshot(self) -> TcpLinkStatistics:
        return TcpLinkStatistics(
            self.state,
            self.queued,
            self.credit,
            self.sent,
            self.bytes_sent,
            self.connects,
            self.connect_failures,
            self.discarded,
            self.failed_asks,
            self.peer_incarnation,
            self.direct_writes,
        )

    # -- the sending side's calls ----------------------------------------------------------

    async def wait_for_room(self) -> None:
        while self.queued >= self.capacity:
            if self.state == "down":
                raise PeerUnreachable(self.target, self.down_reason)
            if self.state == "closed":
                raise TransportClosed(f"the endpoint of {self.endpoint.system!r} is closed")
            if self.room.is_set():
                self.room = anyio.Event()
            await self.room.wait()
        if self.state == "down":
            raise PeerUnreachable(self.target, self.down_reason)

    def push(self, envelope: Envelope, payload: bytes) -> None:
        large_pairs = self.large_pairs
        if len(payload) >= self.network.large_message or large_pairs:
            pair = (envelope.sender, envelope.recipient)
            if len(payload) >= self.network.large_message or pair in large_pairs:
                large_pairs[pair] = large_pairs.get(pair, 0) + 1
                self.large.append((_Large(payload, pair), envelope))
                self.queued += 1
                self.wake.set()
                return
        frame = _HEADER.pack(len(payload), _DATA) + payload
        direct = self.direct
        if (
            direct is not None
            and self.parked
            and self.armed
            and self.credit > 0
            and not self.small
            and not direct.get_write_buffer_size()
            and not direct.is_closing()
        ):
            # Fast path: nothing is queued or being written and the socket took everything
            # written so far, so this frame may go out now from the sender's own call instead
            # of waking the writer task first (two event-loop iterations fewer per message).
            # `write` is synchronous and all-or-nothing (what the kernel does not take is
            # buffered by the transport, in order), so no cancellation can cut the frame.
            direct.write(frame)
            self.credit -= 1
            self.sent += 1
            self.direct_writes += 1
            self.bytes_sent += len(frame)
            loop = self.loop
            assert loop is not None
            self.last_written = loop.time()  # anyio's clock on asyncio
            # Until the next loop iteration, later sends queue (and wake the writer): a burst
            # still goes out in one batched write. A callback re-arms the fast path, cheaper
            # than a round through the writer task.
            self.armed = False
            loop.call_soon(self._arm)
            return
        self.small.append((frame, envelope))
        self.queued += 1
        self.wake.set()

    async def drained(self) -> None:
        while self.queued and self.state in ("up", "connecting"):
            if self.room.is_set():
                self.room = anyio.Event()
            await self.room.wait()

    # -- state changes ---------------------------------------------------------------------

    def kick(self) -> None:
        """The target's address changed (or it attached here): dial at once, queue meanwhile."""
        if self.state == "down":
            self.state = "connecting"
        self.kicked.set()

    def peer_gone(self, reason: str) -> None:
        """The target is known to be gone (it detached from this network)."""
        if self.state in ("up", "connecting"):
            self.restart_connection(reason)
            self.go_down(reason)

    def restart_connection(self, reason: str) -> None:
        if self.connection_scope is not None:
            self.down_reason = reason
            self._stop(self.connection_scope)

    def close(self) -> None:
        self.state = "closed"
        self.room.set()
        if self.connection_scope is not None:
            self._stop(self.connection_scope)

    def _stop(self, scope: anyio.CancelScope) -> None:
        # No direct write may reach a connection that is being closed: what is sent from now
        # on queues for the next connection, as it would without the fast path.
        self.direct = None
        scope.cancel()

    def _arm(self) -> None:
        self.armed = True

    def go_down(self, reason: str) -> None:
        if self.state == "closed":
            return
        was = self.state
        self.state = "down"
        self.down_reason = reason
        self.network._set_reachable(self.target, False)
        # Nothing queued will be written to this peer any time soon: fail the asks among it
        # (and drop the rest) rather than hold senders' hopes.
        discarded = 0
        for _, envelope in self.small:
            discarded += 1
            if envelope.kind is _ASK:
                self.endpoint.in_flight.pop(envelope.correlation_id, None)
                self.endpoint._fail_ask(envelope.correlation_id, envelope.recipient, reason)
        for _, envelope in self.large:
            discarded += 1
            if envelope.kind is _ASK:
                self.endpoint.in_flight.pop(envelope.correlation_id, None)
                self.endpoint._fail_ask(envelope.correlation_id, envelope.recipient, reason)
        self.small.clear()
        self.large.clear()
        self.large_pairs.clear()
        self.queued = 0
        self.discarded += discarded
        failed = self.endpoint.fail_in_flight(self.target, f"{self.target!r} is down: {reason}")
        self.failed_asks += failed
        self.room.set()
        if was != "down":
            self.endpoint.log.warning(
                "peer down",
                peer=self.target,
                reason=reason,
                discarded=discarded,
                failed_asks=failed,
            )

    # -- the link's task -------------------------------------------------------------------

    async def run(self) -> None:
        """Dial, serve the connection, re-dial; until the endpoint closes."""
        endpoint = self.endpoint
        while self.state != "closed":
            if self.kicked.is_set():
                self.kicked = anyio.Event()
            address = self.network.peer_address(self.target)
            if address is None:
                self.go_down("no known address")
                await self.kicked.wait()
                continue
            try:
                stream, credit, frames = await self._connect(address)
            except HandshakeRefused as refused:
                endpoint.refusals.add("HandshakeRefused")
                endpoint.log.warning(
                    "handshake refused", peer=self.target, reason=refused.reason, error=str(refused)
                )
                self._failed(f"handshake refused: {refused}")
                await self._pause()
                continue
            except (TimeoutError, MalformedFrame, CodecError, *_CONNECTION_ERRORS) as exc:
                if self.kicked.is_set():
                    # The peer came back elsewhere (or here) while we dialled its old
                    # address: dial again at once, keeping what is queued for it.
                    continue
                self._failed(f"cannot connect to {address[0]}:{address[1]}: {exc!r}")
                await self._pause()
                continue
            await self._serve(stream, credit, frames)

    def _failed(self, reason: str) -> None:
        self.connect_failures += 1
        self.go_down(reason)

    async def _pause(self) -> None:
        with anyio.move_on_after(self.backoff.next_delay()):
            await self.kicked.wait()

    async def _connect(
        self, address: tuple[str, int]
    ) -> tuple[anyio.abc.ByteStream, int, list[tuple[FrameType, bytes]]]:
        network = self.network
        endpoint = self.endpoint
        with anyio.fail_after(network.connect_timeout + network.handshake_timeout):
            stream: anyio.abc.ByteStream = await anyio.connect_tcp(address[0], address[1])
            try:
                if network._ssl_client is not None:
                    stream = await TLSStream.wrap(
                        stream,
                        server_side=False,
                        hostname=address[0],
                        ssl_context=network._ssl_client,
                        standard_compatible=False,
                    )
                handshake = ClientHandshake(
                    secret=network._secret,
                    system=endpoint.system,
                    incarnation=endpoint.incarnation,
                    target=self.target,
                    codec=network._codec_name,
                    listen=(network._advertise_host, endpoint.address[1]),
                )
                decoder = FrameDecoder(
                    {
                        FrameType.CHALLENGE: MAX_HANDSHAKE_PAYLOAD,
                        FrameType.ACCEPT: 4,
                        FrameType.REFUSE: _MAX_REASON,
                        FrameType.CREDIT: 4,
                        FrameType.KEEPALIVE: 0,
                        FrameType.GOODBYE: _MAX_REASON,
                    }
                )
                await stream.send(encode_frame(FrameType.HELLO, handshake.hello()))
                frames = await _read_frames(stream, decoder)
                kind, payload = frames.pop(0)
                if kind is FrameType.REFUSE:
                    raise HandshakeRefused("refused by peer", _text(payload))
                if kind is not FrameType.CHALLENGE or frames:
                    raise HandshakeRefused("malformed", f"expected CHALLENGE, got {kind.name}")
                auth, info = handshake.answer(payload)
                await stream.send(encode_frame(FrameType.AUTH, auth))
                frames = await _read_frames(stream, decoder)
                kind, payload = frames.pop(0)
                if kind is FrameType.REFUSE:
                    raise HandshakeRefused("refused by peer", _text(payload))
                if kind is not FrameType.ACCEPT or len(payload) != 4:
                    raise HandshakeRefused("malformed", f"expected ACCEPT, got {kind.name}")
                (credit,) = _CREDIT.unpack(payload)
            except BaseException as exc:
                with anyio.CancelScope(shield=True):
                    if isinstance(exc, HandshakeRefused) and exc.reason != "refused by peer":
                        # Tell the listener why, for its log (best effort).
                        with anyio.move_on_after(1), contextlib.suppress(*_CONNECTION_ERRORS):
                            await stream.send(encode_frame(FrameType.REFUSE, _reason(exc)))
                    await _close_quietly(stream)
                raise
        self.peer_incarnation = info.incarnation
        self.decoder = decoder
        endpoint.peer_seen(self.target, info.incarnation)
        return stream, credit, frames

    async def _serve(
        self,
        stream: anyio.abc.ByteStream,
        credit: int,
        frames: list[tuple[FrameType, bytes]],
    ) -> None:
        self.connects += 1
        self.backoff.reset()
        self.credit = credit
        self.last_received = self.last_written = _clock()()
        self.keepalive_due = False
        self.lost_reason = ""
        if self.state != "closed":
            self.state = "up"
            self.down_reason = ""
        self.network._set_reachable(self.target, True)
        reason = ""
        try:
            with anyio.CancelScope() as scope:
                self.connection_scope = scope
                if self.state == "closed":
                    scope.cancel()
                else:
                    self.direct = _direct_transport(stream)
                    if self.direct is not None:
                        self.loop = asyncio.get_running_loop()
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(self._read_loop, stream, frames, task_group.cancel_scope)
                    task_group.start_soon(self._heartbeat, task_group.cancel_scope)
                    reason = await self._write_loop(stream)
                    self._stop(task_group.cancel_scope)
        finally:
            self.direct = None
            self.parked = False
            self.connection_scope = None
            self._unstamp_queued_asks()
            if self.large:
                # A large envelope cut short is sent again whole on the next connection.
                self.large[0][0].offset = 0
            with anyio.CancelScope(shield=True):
                await _close_quietly(stream)
        if self.state == "closed":
            return
        reason = self.lost_reason or reason or self.down_reason or "connection closed"
        self.endpoint.log.info("connection lost, re-dialling", peer=self.target, reason=reason)
        if self.state == "up":
            # Queue while the first re-dial is under way; if it fails, the peer is down.
            self.state = "connecting"

    def _unstamp_queued_asks(self) -> None:
        # Asks still queued were never written to the lost connection: they will go to
        # whichever incarnation the next connection reaches, and must not be failed as lost
        # with the old one.
        in_flight = self.endpoint.in_flight
        for queue in (self.small, self.large):
            for _, envelope in queue:
                if envelope.kind is _ASK:
                    entry = in_flight.get(envelope.correlation_id)
                    if entry is not None:
                        entry.incarnation = None

    async def _read_loop(
        self,
        stream: anyio.abc.ByteStream,
        frames: list[tuple[FrameType, bytes]],
        scope: anyio.CancelScope,
    ) -> None:
        decoder = self.decoder
        assert decoder is not None
        now = _clock()
        try:
            while True:
                for kind, payload in frames:
                    if kind is FrameType.CREDIT and len(payload) == 4:
                        self.credit += _CREDIT.unpack(payload)[0]
                        self.wake.set()
                    elif kind is FrameType.KEEPALIVE:
                        pass
                    elif kind is FrameType.GOODBYE:
                        self.lost_reason = f"peer said goodbye: {_text(payload)}"
                        self.endpoint.log.warning(
                            "peer closed the connection", peer=self.target, reason=_text(payload)
                        )
                        self._stop(scope)
                        return
                    else:
                        raise ProtocolViolation(f"unexpected {kind.name} frame")
                self.last_received = now()
                frames = await _read_frames(stream, decoder)
        except anyio.EndOfStream:
            self.lost_reason = "closed by the peer"
        except (MalformedFrame, CodecError, ProtocolViolation) as exc:
            self.lost_reason = f"{type(exc).__name__}: {exc}"
            self.endpoint.refusals.add(type(exc).__name__)
            self.endpoint.log.warning(
                "connection refused", peer=self.target, reason=type(exc).__name__, error=str(exc)
            )
        except _CONNECTION_ERRORS as exc:
            self.lost_reason = f"connection error: {exc!r}"
        self._stop(scope)

    async def _write_loop(self, stream: anyio.abc.ByteStream) -> str:
        network = self.network
        batch_bytes = network.batch_bytes
        chunk_size = network.chunk_size
        small = self.small
        large = self.large
        while True:
            out = bytearray()
            written = 0
            while small and self.credit > 0 and len(out) < batch_bytes:
                frame, _ = small.popleft()
                out += frame
                self.credit -= 1
                written += 1
            if large:
                item, _ = large[0]
                payload = item.payload
                if item.offset == 0 and len(payload) <= chunk_size and self.credit > 0:
                    out += _HEADER.pack(len(payload), _DATA)
                    out += payload
                    self.credit -= 1
                    self._large_done(item)
                    written += 1
                elif item.offset > 0 or self.credit > 0:
                    if item.offset == 0:
                        self.credit -= 1
                    end = item.offset + chunk_size
                    last = end >= len(payload)
                    piece = payload[item.offset : end]
                    out += _HEADER.pack(
                        len(piece), FrameType.CHUNK_END if last else FrameType.CHUNK
                    )
                    out += piece
                    item.offset = end
                    if last:
                        self._large_done(item)
                        written += 1
            if not out and self.keepalive_due:
                out += _KEEPALIVE_FRAME
            if out:
                self.keepalive_due = False
                self.queued -= written
                self.sent += written
                self.bytes_sent += len(out)
                if written:
                    self.room.set()
                try:
                    await stream.send(bytes(out))
                except _CONNECTION_ERRORS as exc:
                    return f"write failed: {exc!r}"
                self.last_written = _clock()()
                continue
            self.wake = anyio.Event()
            self.parked = True
            await self.wake.wait()
            self.parked = False

    async def _heartbeat(self, scope: anyio.CancelScope) -> None:
        # One timer per connection, not a timeout per wait of the writer: that would cost a
        # cancel scope per envelope.
        interval = self.network.heartbeat_interval
        timeout = self.network.heartbeat_timeout
        while True:
            await anyio.sleep(min(interval, timeout / 4))
            now = _clock()()
            if now - self.last_received > timeout:
                self.endpoint.log.warning(
                    "peer silent, closing",
                    peer=self.target,
                    seconds=round(now - self.last_received, 3),
                )
                self.lost_reason = "heartbeat timeout"
                self._stop(scope)
                return
            if now - self.last_written >= interval:
                self.keepalive_due = True
                self.wake.set()

    def _large_done(self, item: _Large) -> None:
        self.large.popleft()
        pair = item.pair
        if pair is not None:
            left = self.large_pairs.get(pair, 1) - 1
            if left:
                self.large_pairs[pair] = left
            else:
                self.large_pairs.pop(pair, None)
