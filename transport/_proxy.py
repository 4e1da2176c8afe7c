"""A socket-level fault proxy, in the manner of toxiproxy, written on anyio.

`FaultProxy` listens on a local port and forwards each connection it accepts to a target
address, applying `SocketFaults` to the bytes flowing each way: latency and jitter, a bandwidth
limit, slicing writes into small pieces (so frames arrive cut at arbitrary places), a black
hole (bytes vanish, the connection stays open), and resets (RST, after some bytes or on
demand with `FaultProxy.reset_all`). Each direction has its own faults, changeable while the
proxy runs, and its own random stream derived from ``seed`` and the connection's number, so
the same seed cuts and delays the same bytes the same way.

It sits under a transport (point a peer's address at the proxy); message-level faults come
from `FaultyNetwork` above the transport, so the two compose::

    async with FaultProxy(net_b.address("b"), seed=1) as proxy:
        net_a.add_peer("b", *proxy.address)
        proxy.upstream.latency = 0.01
        proxy.upstream.slice_size = 3
"""

from __future__ import annotations

import math
import random
import socket
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self, cast

import anyio
import anyio.abc
import anyio.lowlevel

from mesh_actors import get_logger

from ._errors import TransportClosed

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = ["FaultProxy", "ProxyStatistics", "SocketFaults"]

_READ_SIZE = 64 * 1024
_PIPE_DEPTH = 256  # chunks held between a direction's reader and writer (backpressure beyond)


@dataclass(slots=True)
class SocketFaults:
    """What happens to the bytes flowing one way through a `FaultProxy` (change at will).

    ``latency`` seconds plus a uniform ``jitter`` in ``[0, jitter)`` per chunk read (the byte
    order is kept: a chunk never overtakes an earlier one); ``bandwidth`` bytes per second
    (``None``: unlimited); ``slice_size``: write at most this many bytes at a time, a random
    size from 1 to it, with ``slice_delay`` seconds between slices; ``black_hole``: read and
    discard everything; ``reset_after``: reset the connection (RST both ways) once this many
    bytes have gone this way.
    """

    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: int | None = None
    slice_size: int | None = None
    slice_delay: float = 0.0
    black_hole: bool = False
    reset_after: int | None = None

    def check(self) -> None:
        """Raise ``ValueError`` for a negative or non-finite setting."""
        for name in ("latency", "jitter", "slice_delay"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        for name in ("bandwidth", "slice_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive or None, got {value!r}")
        if self.reset_after is not None and self.reset_after < 0:
            raise ValueError(f"reset_after must be >= 0 or None, got {self.reset_after!r}")


@dataclass(frozen=True, slots=True)
class ProxyStatistics:
    """A snapshot: ``connections`` accepted, ``open`` now, ``bytes_up`` (client to target) and
    ``bytes_down`` forwarded, ``discarded`` (black-holed) bytes, ``resets`` performed,
    ``failed_connects`` (the target refused)."""

    connections: int
    open: int
    bytes_up: int
    bytes_down: int
    discarded: int
    resets: int
    failed_connects: int


class _Connection:
    def __init__(self, number: int) -> None:
        self.number = number
        self.scope = anyio.CancelScope()
        self.streams: list[anyio.abc.SocketStream] = []

    def reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        for stream in self.streams:
            try:
                sock = stream.extra(anyio.abc.SocketAttribute.raw_socket)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, anyio.TypedAttributeLookupError):
                pass
        self.scope.cancel()


class FaultProxy:
    """Forwards TCP connections from `address` to ``target``, with faults per direction.

    ``upstream`` applies to bytes from the client to the target, ``downstream`` to bytes
    back. ``seed`` makes every random choice repeatable. ``host``/``port``: where to listen
    (port 0: a free one, reported by `address`). Use it as an async context manager.
    """

    def __init__(
        self,
        target: tuple[str, int],
        *,
        seed: int,
        host: str = "127.0.0.1",
        port: int = 0,
        upstream: SocketFaults | None = None,
        downstream: SocketFaults | None = None,
    ) -> None:
        self.target = target
        self.seed = seed
        self.upstream = upstream if upstream is not None else SocketFaults()
        self.downstream = downstream if downstream is not None else SocketFaults()
        self.upstream.check()
        self.downstream.check()
        self._host = host
        self._port = port
        self._address: tuple[str, int] | None = None
        self._connections: dict[int, _Connection] = {}
        self._count = 0
        self._bytes = {"up": 0, "down": 0}
        self._discarded = 0
        self._resets = 0
        self._failed_connects = 0
        self._task_group: anyio.abc.TaskGroup | None = None
        self._service: anyio.CancelScope | None = None
        self._closed = False
        self._log: FilteringBoundLogger = get_logger("transport", transport="proxy")

    @property
    def address(self) -> tuple[str, int]:
        """Where the proxy listens. Raises `TransportClosed` before it is entered."""
        if self._address is None:
            raise TransportClosed("the proxy is not running")
        return self._address

    def statistics(self) -> ProxyStatistics:
        """A snapshot of the proxy's counters."""
        return ProxyStatistics(
            self._count,
            len(self._connections),
            self._bytes["up"],
            self._bytes["down"],
            self._discarded,
            self._resets,
            self._failed_connects,
        )

    def reset_all(self) -> int:
        """Reset (RST) every open connection, both sides; return how many."""
        connections = list(self._connections.values())
        for connection in connections:
            connection.reset()
        self._resets += len(connections)
        return len(connections)

    async def __aenter__(self) -> Self:
        """Start listening. Raises ``OSError`` if the port cannot be bound and
        `TransportClosed` once closed."""
        if self._closed:
            raise TransportClosed("the proxy is closed")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        try:
            await task_group.start(self._serve)
        except BaseException:
            task_group.cancel_scope.cancel()
            await task_group.__aexit__(None, None, None)
            raise
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        task_group = self._task_group
        if task_group is None:
            return None
        self._task_group = None
        return await task_group.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Stop listening and close every connection (FIN, not RST); idempotent."""
        self._closed = True
        if self._service is not None:
            self._service.cancel()
        await anyio.lowlevel.checkpoint()

    async def _serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        # Under a scope of its own, so that `aclose` does not cancel the code inside
        # ``async with``.
        with anyio.CancelScope() as scope:
            self._service = scope
            await self._accept(task_status)

    async def _accept(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_tcp_listener(local_host=self._host, local_port=self._port)
        async with listener, anyio.create_task_group() as task_group:
            port = listener.extra(anyio.abc.SocketAttribute.local_address)[1]
            self._address = (self._host, int(port))
            task_status.started()
            accepting = cast(anyio.abc.SocketListener, listener.listeners[0])
            while True:
                client = await accepting.accept()
                self._count += 1
                task_group.start_soon(self._forward, client, self._count)

    async def _forward(self, client: anyio.abc.SocketStream, number: int) -> None:
        connection = _Connection(number)
        self._connections[number] = connection
        try:
            with connection.scope:
                try:
                    upstream = await anyio.connect_tcp(*self.target)
                except OSError:
                    self._failed_connects += 1
                    return
                connection.streams = [client, upstream]
                async with upstream, anyio.create_task_group() as task_group:
                    for direction, source, sink in (
                        ("up", client, upstream),
                        ("down", upstream, client),
                    ):
                        task_group.start_soon(
                            self._pipe, direction, source, sink, connection, task_group
                        )
        finally:
            self._connections.pop(number, None)
            with anyio.CancelScope(shield=True):
                await client.aclose()

    async def _pipe(
        self,
        direction: str,
        source: anyio.abc.SocketStream,
        sink: anyio.abc.SocketStream,
        connection: _Connection,
        task_group: anyio.abc.TaskGroup,
    ) -> None:
        faults = self.upstream if direction == "up" else self.downstream
        rng = random.Random(f"{self.seed}:{connection.number}:{direction}")
        send, receive = anyio.create_memory_object_stream[tuple[float, bytes]](_PIPE_DEPTH)

        async def read() -> None:
            passed = 0
            release = 0.0
            async with send:
                while True:
                    try:
                        data = await source.receive(_READ_SIZE)
                    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                        return
                    if faults.black_hole:
                        self._discarded += len(data)
                        continue
                    limit = faults.reset_after
                    if limit is not None and passed + len(data) >= limit:
                        data = data[: max(0, limit - passed)]
                        if data:
                            await send.send((release, data))
                        await anyio.lowlevel.checkpoint()
                        self._resets += 1
                        connection.reset()
                        return
                    passed += len(data)
                    # Two draws per chunk whatever the settings, so changing one fault does
                    # not change the dice the others meet.
                    u_jitter = rng.random()
                    delay = faults.latency + faults.jitter * u_jitter
                    release = max(release, anyio.current_time() + delay)
                    await send.send((release if delay else 0.0, data))

        async def write() -> None:
            async with receive:
                async for release, data in receive:
                    wait = release - anyio.current_time()
                    if wait > 0:
                        await anyio.sleep(wait)
                    size = faults.slice_size
                    pieces = [data]
                    if size is not None:
                        pieces = []
                        offset = 0
                        while offset < len(data):
                            step = rng.randint(1, size)
                            pieces.append(data[offset : offset + step])
                            offset += step
                    bandwidth = faults.bandwidth
                    if bandwidth is not None:
                        # Pieces worth 20 ms at most, each held for its transmission time
                        # before it is written, as a slow link would.
                        most = max(1, bandwidth // 50)
                        pieces = [
                            piece[start : start + most]
                            for piece in pieces
                            for start in range(0, len(piece), most)
                        ]
                    for index, piece in enumerate(pieces):
                        if bandwidth is not None:
                            await anyio.sleep(len(piece) / bandwidth)
                        try:
                            await sink.send(piece)
                        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                            task_group.cancel_scope.cancel()
                            return
                        self._bytes[direction] += len(piece)
                        if faults.slice_delay and index < len(pieces) - 1:
                            await anyio.sleep(faults.slice_delay)
            # The source is finished: pass the end on (half-close), as a real path would.
            try:
                await sink.send_eof()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                task_group.cancel_scope.cancel()

        async with anyio.create_task_group() as pipe:
            pipe.start_soon(read)
            pipe.start_soon(write)
