"""The NATS transport: actor systems in any number of processes, joined through a NATS server.

Subjects (``prefix`` defaults to ``"mesh"``; several meshes can share one server by
prefix):

- ``<prefix>.sys.<system>``: every envelope for the actor system ``<system>``. One subject
  per system rather than per actor keeps the server's interest graph as small as the mesh
  and keeps the order of everything one system sends another (NATS orders messages per
  publisher per subject), which is the order the runtime promises on a link.
- ``<prefix>.presence``: announcements (``up``/``down``/``who``) from which each transport
  learns which systems exist elsewhere, so `systems` and the synchronous ``UnknownSystem``
  of ``send_nowait`` work as on the in-memory network.
- ``_INBOX.<id>.…``: this transport's own replies (asks), acknowledgements (tells) and probe
  answers, on one wildcard subscription.

An ask is a NATS request whose reply subject is the asker's inbox: the server answers
"no responders" at once when no process holds the target system, which becomes
`UnknownSystem` (and so `mesh_actors.NoRoute`) without waiting out the ask's timeout. Tells
are publishes that the receiver acknowledges once the envelope is in the recipient's
mailbox; a sender waits when ``tell_window`` tells to one system are unacknowledged, which
carries a full mailbox's backpressure across the wire.

nats-py runs only on asyncio: on any other event loop the transport refuses to start with
`UnsupportedBackend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import ssl
import sys
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import anyio.lowlevel
import nats
import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg

from mesh_actors import Address, Envelope, EnvelopeKind, Inbound, InvalidName, MessageRegistry

from ._codec import JsonCodec
from ._errors import (
    CodecError,
    FrameTooLarge,
    MalformedFrame,
    TransportClosed,
    TransportError,
    UnknownSystem,
)
from ._interface import Codec

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = [
    "AuthenticationFailed",
    "BrokerUnavailable",
    "NatsTransport",
    "UnsupportedBackend",
]

_PROBE_HEADER: Final = "Mesh-Probe"
_STATUS_HEADER: Final = "Status"
_NO_RESPONDERS: Final = "503"
# Bound on remembered reply subjects of asks whose answer has not been sent yet: a handler
# that never returns must not grow this forever.
_MAX_OPEN_ASKS: Final = 100_000


class BrokerUnavailable(TransportError):
    """The transport has no working connection to its NATS server.

    Raised by a send while the connection is down (nats-py keeps reconnecting in the
    background), by an ask that was waiting for its reply when the connection dropped, and
    by entering the transport when no server can be reached. Not a `LookupError`: the
    target may well exist, so the runtime does not turn it into a dead letter.
    """


class AuthenticationFailed(TransportError):
    """The NATS server refused the transport's credentials (user/password, token, NKey)."""


class UnsupportedBackend(TransportError, RuntimeError):
    """The transport needs an event loop its client library does not run on.

    nats-py is written for asyncio only; under trio (or anything else) the NATS transport
    refuses to start rather than fail later in obscure ways.
    """


def _require_asyncio() -> None:
    # asked of the libraries themselves, as mesh_actors does (sniffio is not a dependency)
    if "trio" in sys.modules:
        import trio.lowlevel

        if trio.lowlevel.in_trio_run():
            raise UnsupportedBackend(
                "NatsTransport runs only on asyncio (nats-py is asyncio-only), not on trio"
            )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # constructed outside any event loop: checked again when entered


def _no_responders(msg: Msg) -> bool:
    """Whether ``msg`` is the server's "no responders" status (503) for a request."""
    headers = msg.headers
    return headers is not None and headers.get(_STATUS_HEADER) == _NO_RESPONDERS


def _is_auth_error(error: Exception) -> bool:
    # nats-py reports the server's "-ERR 'Authorization Violation'" as a plain nats Error.
    text = str(error).lower()
    return isinstance(error, nats.errors.AuthorizationError) or "authorization" in text


def _run_now(coroutine: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]) -> None:
    """Run ``coroutine`` up to its first suspension now, and the rest in a task.

    nats-py's ``publish`` appends the command to its outgoing buffer before its first
    suspension (which only happens when the buffer is over its limit and it waits for a
    flush), so stepping it synchronously keeps a ``send_nowait`` in order with the sends
    around it, which a task started for the whole call would not. The rare rest runs in a
    task kept in ``tasks`` (asyncio holds tasks only weakly).
    """
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return
    except BaseException:
        coroutine.close()
        raise
    task = asyncio.get_running_loop().create_task(_resume(coroutine, waiting))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _resume(coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
    # Drives the rest of a coroutine that `_run_now` started, the way a task would: wait
    # until what it yielded (a future, or None for a bare yield) is done, then step it on;
    # the future's result or exception reaches the coroutine through its own await.
    loop = asyncio.get_running_loop()
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            elif not waiting.done():
                ready: asyncio.Future[None] = loop.create_future()
                waiting.add_done_callback(
                    lambda _, ready=ready: ready.done() or ready.set_result(None)
                )
                await ready
        except BaseException as exc:  # cancelled: let the coroutine clean up, then end
            with contextlib.suppress(BaseException):
                coroutine.throw(exc)
            coroutine.close()
            raise
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return


class NatsTransport:
    """Joins actor systems in any number of processes through a NATS server (nats-py).

    ``servers``: one URL or a list (``nats://host:4222``, ``tls://…``). ``prefix``: the
    first subject token of everything this transport sends (see the module docstring).
    ``codec``: frames on the wire (default: a `JsonCodec` of every `mesh_actors.Message`
    subclass defined now). The largest frame is the smaller of the codec's
    ``max_frame_size`` and the server's ``max_payload``; a larger one is refused with
    `FrameTooLarge` before anything is published.

    Credentials and TLS go to nats-py unchanged: ``user``/``password``, ``token`` or
    ``nkeys_seed`` (a path to a seed file; needs nats-py's ``nkeys`` extra, else
    ``ValueError``), ``tls`` (an ``ssl.SSLContext``) and ``tls_hostname``. The server
    refusing them raises `AuthenticationFailed` on entering.

    Connection loss: nats-py reconnects in the background (every ``reconnect_time_wait``
    seconds, forever unless ``max_reconnect_attempts`` says otherwise). While it is down,
    every send raises `BrokerUnavailable`, and so do asks that were waiting for a reply;
    once it is back, traffic resumes with no action by the caller.

    ``tell_window``: how many tells to one system may be unacknowledged before ``send``
    waits (``send_nowait`` never waits). ``probe_interval``: how often a sender waiting on
    a full window checks that the target still exists (and how long an attach waits to
    learn whether the name is held elsewhere).

    Use it as an async context manager on asyncio; entering connects, leaving closes.
    """

    def __init__(
        self,
        servers: str | list[str] = "nats://127.0.0.1:4222",
        *,
        prefix: str = "mesh",
        codec: Codec | None = None,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        nkeys_seed: str | None = None,
        tls: ssl.SSLContext | None = None,
        tls_hostname: str | None = None,
        name: str | None = None,
        connect_timeout: float = 2.0,
        reconnect_time_wait: float = 0.5,
        max_reconnect_attempts: int = -1,
        tell_window: int = 256,
        probe_interval: float = 1.0,
    ) -> None:
        _require_asyncio()
        if tell_window < 1:
            raise ValueError(f"tell_window must be positive, got {tell_window}")
        if nkeys_seed is not None and importlib.util.find_spec("nkeys") is None:
            # nats-py imports it only when connecting, where it would look like a network error.
            raise ValueError("nkeys_seed needs the 'nkeys' package: pip install 'nats-py[nkeys]'")
        if not prefix or any(c in prefix for c in " *>\t\r\n"):
            raise ValueError(f"invalid subject prefix {prefix!r}")
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self._prefix = prefix
        self._codec: Codec = (
            codec if codec is not None else JsonCodec(MessageRegistry.from_subclasses())
        )
        self._options: dict[str, Any] = {
            "user": user,
            "password": password,
            "token": token,
            "nkeys_seed": nkeys_seed,
            "tls": tls,
            "tls_hostname": tls_hostname,
            "name": name,
            "connect_timeout": connect_timeout,
            "reconnect_time_wait": reconnect_time_wait,
            "max_reconnect_attempts": max_reconnect_attempts,
        }
        self._tell_window = tell_window
        self._background: set[asyncio.Task[None]] = set()
        self._probe_interval = probe_interval
        self._nc: Client | None = None
        self._uid = ""
        self._inbox = ""
        self._presence_subject = f"{prefix}.presence"
        self._endpoints: dict[str, NatsEndpoint] = {}
        self._remote: set[str] = set()
        self._systems: frozenset[str] = frozenset()
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        self._tokens = itertools.count(1)
        self._unacked: dict[str, int] = {}
        self._window_open: dict[str, anyio.Event] = {}
        self._started = False
        self._closed = False
        self._log: FilteringBoundLogger = structlog.get_logger("transport", transport="nats")

    # -- properties ------------------------------------------------------------------------

    @property
    def codec(self) -> Codec:
        """The codec envelopes cross the wire with."""
        return self._codec

    @property
    def prefix(self) -> str:
        """The first token of every subject this transport uses (but its inbox)."""
        return self._prefix

    @property
    def connected(self) -> bool:
        """Whether the connection to the server is up right now."""
        return self._nc is not None and self._nc.is_connected

    @property
    def max_frame_size(self) -> int:
        """The largest frame that can be sent: the codec's limit or the server's, if smaller."""
        limit = self._codec.max_frame_size
        if self._nc is not None and self._nc.max_payload:
            limit = min(limit, self._nc.max_payload)
        return limit

    @property
    def closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    def subject(self, system: str) -> str:
        """The subject envelopes for ``system`` are published on."""
        return f"{self._prefix}.sys.{system}"

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Connect to the server; see `start`."""
        await self.start()
        return self

    async def start(self) -> None:
        """Connect, subscribe to presence and the inbox, and learn which systems exist.

        Raises `UnsupportedBackend` unless running on asyncio, `AuthenticationFailed` if the
        server refuses the credentials, `BrokerUnavailable` if no server answers within
        ``connect_timeout``, `TransportClosed` after `aclose`. Cancellation closes the half
        made connection.
        """
        _require_asyncio()
        if self._closed:
            raise TransportClosed("the NATS transport is closed")
        if self._started:
            raise RuntimeError("a NatsTransport can be started only once")
        self._started = True
        options = {key: value for key, value in self._options.items() if value is not None}
        reconnects = options.pop("max_reconnect_attempts")
        nc = Client()
        connect_timeout = float(self._options["connect_timeout"])
        try:
            # nats-py can wait forever on a handshake that failed half way (a TLS
            # certificate it does not trust, for one): the whole first connection is bounded.
            with anyio.fail_after(2 * connect_timeout + 1):
                await nc.connect(
                    servers=self._servers,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                    # nats-py would retry a first connection forever, wrong credentials and
                    # absent servers included: a couple of attempts here, and the caller's
                    # reconnection policy once connected (below).
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    **options,
                )
        except BaseException as exc:
            self._closed = True
            with anyio.CancelScope(shield=True), anyio.move_on_after(connect_timeout):
                await nc.close()
            if isinstance(exc, Exception):
                if _is_auth_error(exc):
                    raise AuthenticationFailed(
                        f"the NATS server refused the credentials: {exc}"
                    ) from exc
                raise BrokerUnavailable(
                    f"cannot connect to the NATS server at {', '.join(self._servers)}: {exc!r}"
                ) from exc
            raise
        nc.options["allow_reconnect"] = True
        nc.options["max_reconnect_attempts"] = reconnects
        self._nc = nc
        # A fresh unique inbox; its last token also names this transport in presence messages.
        self._inbox = nc.new_inbox()
        self._uid = self._inbox.rpartition(".")[2]
        try:
            await nc.subscribe(f"{self._inbox}.>", cb=self._on_inbox)
            await nc.subscribe(self._presence_subject, cb=self._on_presence)
            await nc.publish(self._presence_subject, f"who {self._uid}".encode())
            await nc.flush()
        except BaseException:
            await self.aclose()  # shielded
            raise

    async def aclose(self) -> None:
        """Detach every system, announce it, and close the connection; idempotent.

        Sends through any endpoint raise `TransportClosed` afterwards. Shielded from
        cancellation (it is bounded by nats-py's flush and close timeouts).
        """
        if self._closed and self._nc is None:
            await anyio.lowlevel.checkpoint()
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            for endpoint in list(self._endpoints.values()):
                await endpoint.aclose()
            self._fail_waiting(TransportClosed("the NATS transport is closed"))
            nc, self._nc = self._nc, None
            if nc is not None:
                try:
                    await nc.close()
                except Exception as exc:  # closing a broken connection must not raise
                    self._log.debug("close failed", error=repr(exc))
            for task in list(self._background):
                task.cancel()
            self._remote.clear()
            self._refresh_systems()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- nats-py callbacks (run in nats-py's tasks) ------------------------------------------

    async def _on_error(self, error: Exception) -> None:
        self._log.warning("nats error", error=repr(error))

    async def _on_disconnected(self) -> None:
        if self._closed:
            return
        self._log.warning("disconnected from the NATS server")
        # Replies and acks in flight are lost with the connection: asks must not hang on
        # them, and senders must not wait for acknowledgements that will never come.
        self._fail_waiting(BrokerUnavailable("the connection to the NATS server was lost"))
        self._unacked.clear()
        for event in self._window_open.values():
            event.set()
        self._window_open.clear()

    async def _on_reconnected(self) -> None:
        self._log.info("reconnected to the NATS server")
        nc = self._nc
        if nc is None or self._closed:
            return
        # A restarted server knows nothing of us and others may have written us off.
        try:
            await nc.publish(self._presence_subject, f"who {self._uid}".encode())
            for name in list(self._endpoints):
                await nc.publish(self._presence_subject, f"up {self._uid} {name}".encode())
        except Exception as exc:
            self._log.warning("presence not announced", error=repr(exc))

    async def _on_closed(self) -> None:
        self._fail_waiting(BrokerUnavailable("the connection to the NATS server is closed"))

    def _fail_waiting(self, error: BaseException) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)

    async def _on_presence(self, msg: Msg) -> None:
        try:
            verb, uid, *rest = msg.data.decode().split(" ")
        except ValueError:
            return
        if uid == self._uid:
            return
        nc = self._nc
        if verb == "who" and nc is not None:
            try:
                for name in list(self._endpoints):
                    announcement = f"up {self._uid} {name}".encode()
                    self._publish_nowait(nc, self._presence_subject, announcement)
            except TransportError as exc:  # the asker asks again when it reconnects
                self._log.debug("presence not announced", error=repr(exc))
        elif verb in ("up", "down") and rest:
            try:
                name = Address.parse(f"{rest[0]}/$").system
            except InvalidName:
                return  # not from one of ours: the name could never be routed to
            if verb == "up":
                self._remote.add(name)
                self._refresh_systems()
            else:
                self._forget(name)

    def _forget(self, system: str) -> None:
        """The remote ``system`` is gone: unroute it and release senders waiting on it."""
        if system in self._remote:
            self._remote.discard(system)
            self._refresh_systems()
        self._unacked.pop(system, None)
        event = self._window_open.pop(system, None)
        if event is not None:
            event.set()

    async def _on_inbox(self, msg: Msg) -> None:
        kind, _, rest = msg.subject[len(self._inbox) + 1 :].partition(".")
        no_responders = _no_responders(msg)
        if kind == "a":  # acknowledgement of a tell to system `rest`
            if no_responders:
                self._forget(rest)
                return
            left = self._unacked.get(rest, 0) - 1
            if left > 0:
                self._unacked[rest] = left
            else:
                self._unacked.pop(rest, None)
            if left < self._tell_window:
                event = self._window_open.pop(rest, None)
                if event is not None:
                    event.set()
            return
        future = self._waiting.pop(rest, None)
        if kind == "r" and not no_responders and msg.data:
            # Deliver the reply whether or not its asker still waits: a late reply is the
            # runtime's to count as a dead letter.
            self._deliver_reply(msg.data)
        if future is not None and not future.done():
            future.set_result(msg)

    def _deliver_reply(self, frame: bytes) -> None:
        try:
            envelope = self._codec.decode(frame)
        except CodecError as exc:
            self._log.warning("reply refused", error_type=type(exc).__name__, error=str(exc))
            return
        endpoint = self._endpoints.get(envelope.recipient.system)
        if endpoint is None:
            return  # the asking system detached meanwhile
        endpoint._deliver_nowait(envelope)

    # -- routing ---------------------------------------------------------------------------

    def _refresh_systems(self) -> None:
        self._systems = frozenset(self._endpoints) | frozenset(self._remote)

    def systems(self) -> frozenset[str]:
        """The systems attached here and those other transports announced (cheap).

        Remote systems are learnt from presence announcements, so one that has just been
        attached elsewhere appears after a round trip through the server; one whose process
        died without detaching disappears when the server first reports it has no
        responders.
        """
        return self._systems

    async def attach(self, system: str, inbound: Inbound) -> NatsEndpoint:
        """Attach the actor system named ``system``; envelopes for it go to ``inbound``.

        Raises ``ValueError`` if the name is attached here or held by a live system
        elsewhere on the server (`mesh_actors.InvalidName` if it is not a valid name),
        `TransportClosed` after `aclose`, `UnsupportedBackend` off asyncio and
        `BrokerUnavailable` while disconnected. Cancellation leaves nothing attached.
        """
        _require_asyncio()
        await anyio.lowlevel.checkpoint()
        nc = self._live()
        Address.parse(f"{system}/$")  # validates the system name
        if "" in system.split("."):
            raise ValueError(f"system name {system!r} has an empty NATS subject token")
        if system in self._endpoints:
            raise ValueError(f"an actor system named {system!r} is attached already")
        if await self._probe(system):
            raise ValueError(f"an actor system named {system!r} is attached elsewhere")
        if system in self._endpoints or self._closed:  # raced with another attach or close
            raise ValueError(f"an actor system named {system!r} is attached already")
        endpoint = NatsEndpoint(self, system, inbound)
        self._endpoints[system] = endpoint
        self._refresh_systems()
        try:
            endpoint._subscription = await nc.subscribe(
                self.subject(system), cb=endpoint._on_message
            )
            await nc.publish(self._presence_subject, f"up {self._uid} {system}".encode())
            await nc.flush()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await endpoint.aclose()
            raise
        return endpoint

    def _live(self) -> Client:
        if self._closed:
            raise TransportClosed("the NATS transport is closed")
        nc = self._nc
        if nc is None:
            raise TransportClosed("the NATS transport is not started (use `async with`)")
        if not nc.is_connected:
            raise BrokerUnavailable("not connected to the NATS server (reconnecting)")
        return nc

    async def _probe(self, system: str) -> bool:
        """Whether some live endpoint holds ``system`` (busy ones count as live)."""
        nc = self._live()
        token = f"p{next(self._tokens)}"
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        try:
            await nc.publish(
                self.subject(system),
                b"",
                reply=f"{self._inbox}.p.{token}",
                headers={_PROBE_HEADER: "1"},
            )
            with anyio.move_on_after(self._probe_interval):
                msg = await future
                return not _no_responders(msg)
            return True  # no answer in time: held by a system too busy to answer
        finally:
            self._waiting.pop(token, None)

    def _frame(self, envelope: Envelope) -> bytes:
        frame = self._codec.encode(envelope)
        nc = self._nc
        if nc is not None and nc.max_payload and len(frame) > nc.max_payload:
            raise FrameTooLarge(len(frame), nc.max_payload)
        return frame

    async def _wait_for_window(self, target: str) -> None:
        """Wait until fewer than ``tell_window`` tells to ``target`` are unacknowledged."""
        while self._unacked.get(target, 0) >= self._tell_window:
            event = self._window_open.get(target)
            if event is None:
                event = self._window_open[target] = anyio.Event()
            with anyio.move_on_after(self._probe_interval):
                await event.wait()
            if self._unacked.get(target, 0) < self._tell_window:
                return
            self._live()
            if not await self._probe(target):
                self._forget(target)
                raise UnknownSystem(target)

    async def _ask(self, nc: Client, endpoint: NatsEndpoint, envelope: Envelope) -> None:
        target = envelope.recipient.system
        frame = self._frame(envelope)
        token = f"r{next(self._tokens)}"
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        try:
            self._publish_nowait(nc, self.subject(target), frame, f"{self._inbox}.r.{token}")
            msg = await future
        finally:
            self._waiting.pop(token, None)
        if _no_responders(msg):
            self._forget(target)
            raise UnknownSystem(target)
        if not msg.data:
            raise MalformedFrame(f"{target!r} refused the frame of the ask")

    def _publish_nowait(self, nc: Client, subject: str, frame: bytes, reply: str = "") -> None:
        try:
            _run_now(nc.publish(subject, frame, reply=reply), self._background)
        except nats.errors.ConnectionClosedError as exc:
            raise TransportClosed("the NATS connection is closed") from exc
        except nats.errors.Error as exc:  # a full reconnect buffer, or a lost connection
            raise BrokerUnavailable(f"cannot publish to the NATS server: {exc!r}") from exc

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self.connected else "disconnected"
        return f"NatsTransport({self._servers!r}, prefix={self._prefix!r}, {state})"


class NatsEndpoint:
    """One actor system's endpoint on a `NatsTransport` (its subscription and its sends)."""

    __slots__ = ("_closed", "_inbound", "_open_asks", "_subscription", "_system", "_transport")

    def __init__(self, transport: NatsTransport, system: str, inbound: Inbound) -> None:
        self._transport = transport
        self._system = system
        self._inbound = inbound
        self._closed = False
        self._subscription: Any = None
        # Reply subjects of asks this system received, by (asking system, correlation id):
        # the runtime answers with an envelope to ``asker/$reply``, which goes back there.
        self._open_asks: dict[tuple[str, int], str] = {}

    @property
    def system(self) -> str:
        """The name the system is attached under."""
        return self._system

    # -- sending ---------------------------------------------------------------------------

    def _check(self, envelope: Envelope, routed: bool = True) -> Client:
        if self._closed:
            raise TransportClosed(f"the endpoint of {self._system!r} is closed")
        transport = self._transport
        nc = transport._live()
        # An answer to an ask goes to the subject the ask came with, even from a system
        # whose presence announcement has not reached this transport yet.
        if routed and envelope.recipient.system not in transport._systems:
            raise UnknownSystem(envelope.recipient.system)
        return nc

    def _reply_subject(self, envelope: Envelope) -> str | None:
        kind = envelope.kind
        if kind is EnvelopeKind.REPLY or kind is EnvelopeKind.FAILURE:
            key = (envelope.recipient.system, envelope.correlation_id)
            return self._open_asks.pop(key, None)
        return None

    async def send(self, envelope: Envelope) -> None:
        """Send ``envelope`` to the system named by its recipient.

        An ask waits until the reply has been delivered to this system (the runtime's
        deadline cancels it); a tell waits while ``tell_window`` tells to the same system
        are unacknowledged. Raises `TransportClosed` after `aclose`, `UnknownSystem` if no
        such system is known or the server has no responder for it, `BrokerUnavailable`
        while disconnected (or if the connection drops while an ask waits), and a
        `CodecError` (`FrameTooLarge` ...) if the envelope cannot be framed. Cancellation
        leaves a tell unsent or sent, and an ask's reply, if it comes, a late reply.
        """
        transport = self._transport
        target = envelope.recipient.system
        reply = self._reply_subject(envelope)
        nc = self._check(envelope, routed=reply is None)
        if envelope.kind is EnvelopeKind.ASK:
            await transport._ask(nc, self, envelope)
            return
        if reply is not None:
            transport._publish_nowait(nc, reply, transport._frame(envelope))
            await anyio.lowlevel.checkpoint()
            return
        frame = transport._frame(envelope)
        await transport._wait_for_window(target)
        nc = self._check(envelope)
        transport._unacked[target] = transport._unacked.get(target, 0) + 1
        transport._publish_nowait(
            nc, transport.subject(target), frame, f"{transport._inbox}.a.{target}"
        )
        await anyio.lowlevel.checkpoint()

    def send_nowait(self, envelope: Envelope) -> None:
        """Send without waiting: raises as `send`, never waits for the tell window.

        An ask sent this way is published and its reply delivered when it comes, but "no
        responders" is only logged (the ask then times out).
        """
        transport = self._transport
        target = envelope.recipient.system
        reply = self._reply_subject(envelope)
        nc = self._check(envelope, routed=reply is None)
        frame = transport._frame(envelope)
        if reply is not None:
            transport._publish_nowait(nc, reply, frame)
        elif envelope.kind is EnvelopeKind.ASK:
            token = f"r{next(transport._tokens)}"
            transport._publish_nowait(
                nc, transport.subject(target), frame, f"{transport._inbox}.r.{token}"
            )
        else:
            transport._unacked[target] = transport._unacked.get(target, 0) + 1
            transport._publish_nowait(
                nc, transport.subject(target), frame, f"{transport._inbox}.a.{target}"
            )

    # -- receiving (runs in nats-py's task of this subscription, one message at a time) ------

    async def _on_message(self, msg: Msg) -> None:
        transport = self._transport
        nc = transport._nc
        if msg.headers and _PROBE_HEADER in msg.headers:
            if msg.reply and nc is not None:
                transport._publish_nowait(nc, msg.reply, b"")
            return
        try:
            envelope = transport._codec.decode(msg.data)
            if envelope.recipient.system != self._system:
                raise MalformedFrame(
                    f"frame for {envelope.recipient.system!r} arrived at {self._system!r}"
                )
        except CodecError as exc:
            transport._log.warning(
                "frame refused",
                target=self._system,
                size=len(msg.data),
                error_type=type(exc).__name__,
                error=str(exc),
            )
            # An empty answer releases the sender: an ask fails, a tell is acknowledged.
            if msg.reply and nc is not None and nc.is_connected:
                transport._publish_nowait(nc, msg.reply, b"")
            return
        sender = envelope.sender
        if sender is not None and sender.system not in transport._systems:
            # It just sent us something, so it exists (its announcement may still be on
            # its way): answers and death-watch notices to it must not be refused.
            transport._remote.add(sender.system)
            transport._refresh_systems()
        if envelope.kind is EnvelopeKind.ASK and msg.reply and sender is not None:
            if len(self._open_asks) >= _MAX_OPEN_ASKS:
                self._open_asks.pop(next(iter(self._open_asks)))
            self._open_asks[(sender.system, envelope.correlation_id)] = msg.reply
        try:
            await self._inbound.deliver(envelope)
        except Exception as exc:  # the runtime's bug; never the sender's problem
            transport._log.error("delivery raised", target=self._system, error=repr(exc))
        # The acknowledgement that opens the sender's tell window again.
        if (
            envelope.kind is not EnvelopeKind.ASK
            and msg.reply
            and nc is not None
            and nc.is_connected
        ):
            transport._publish_nowait(nc, msg.reply, b"")

    def _deliver_nowait(self, envelope: Envelope) -> None:
        try:
            self._inbound.deliver_nowait(envelope)
        except Exception as exc:  # the runtime's bug; logged, never raised into nats-py
            self._transport._log.error("delivery raised", target=self._system, error=repr(exc))

    # -- closing ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Detach the system: unsubscribe, announce it gone, free the name; idempotent.

        Further sends raise `TransportClosed`. Shielded from cancellation.
        """
        if self._closed:
            await anyio.lowlevel.checkpoint()
            return
        self._closed = True
        transport = self._transport
        if transport._endpoints.get(self._system) is self:
            del transport._endpoints[self._system]
            transport._refresh_systems()
        nc = transport._nc
        with anyio.CancelScope(shield=True):
            try:
                if self._subscription is not None:
                    await self._subscription.unsubscribe()
                if nc is not None and nc.is_connected:
                    await nc.publish(
                        transport._presence_subject,
                        f"down {transport._uid} {self._system}".encode(),
                    )
                    await nc.flush()
            except Exception as exc:  # a lost connection drops the interest anyway
                transport._log.debug("detach not announced", error=repr(exc))
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<NatsTransport endpoint {self._system!r} {state}>"
