"""Actor runtime throughput against bare asyncio primitives, measured in the same run.

- tell: one producer, one actor, a pre-built message, mailbox of 1024 with backpressure;
  baseline: the same producer/consumer over a bare ``asyncio.Queue(1024)``.
- ask: sequential round trips; baseline: a bare future ping-pong between two tasks (the
  client hands a future to the server through a queue and awaits it).
- ask across two actor systems through the in-memory transport, without and with the codec.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio

from benchmarks._report import Report, measure, rate
from mesh_actors import Actor, ActorSystem, MailboxConfig, Message, MessageRegistry, handler

TELLS = 200_000
ASKS = 20_000
REMOTE_ASKS = 10_000


class Inc(Message):
    type_name = "bench.inc"


class Get(Message):
    type_name = "bench.get"


class Count(Message):
    type_name = "bench.count"
    n: int


class Counter(Actor[Inc | Get]):
    mailbox = MailboxConfig(capacity=1024)

    def __init__(self) -> None:
        self.n = 0

    @handler
    def inc(self, _: Inc) -> None:
        self.n += 1

    @handler
    def get(self, _: Get) -> int:
        return self.n


class RemoteCounter(Actor[Inc | Get]):
    """Replies with a message, so the reply can cross the codec."""

    def __init__(self) -> None:
        self.n = 0

    @handler
    def inc(self, _: Inc) -> None:
        self.n += 1

    @handler
    def get(self, _: Get) -> Count:
        return Count(n=self.n)


def _run(fn: Any) -> float:
    result: float = anyio.run(fn, backend="asyncio")
    return result


async def _bare_queue() -> float:
    queue: asyncio.Queue[Inc] = asyncio.Queue(1024)
    msg = Inc()

    async def consume() -> None:
        for _ in range(TELLS):
            await queue.get()

    started = time.perf_counter()
    task = asyncio.ensure_future(consume())
    for _ in range(TELLS):
        await queue.put(msg)
    await task
    return rate(TELLS, started)


async def _actor_tell() -> float:
    async with ActorSystem("bench") as system:
        ref = system.spawn(Counter)
        msg = Inc()
        await ref.ask(Get())
        started = time.perf_counter()
        for _ in range(TELLS):
            await ref.tell(msg)
        assert await ref.ask(Get()) == TELLS
        return rate(TELLS, started)


async def _bare_ping_pong() -> float:
    loop = asyncio.get_running_loop()
    requests: asyncio.Queue[asyncio.Future[int]] = asyncio.Queue()

    async def server() -> None:
        while True:
            future = await requests.get()
            future.set_result(1)

    task = asyncio.ensure_future(server())
    started = time.perf_counter()
    for _ in range(ASKS):
        future = loop.create_future()
        requests.put_nowait(future)
        await future
    result = rate(ASKS, started)
    task.cancel()
    return result


async def _actor_ask() -> float:
    async with ActorSystem("bench") as system:
        ref = system.spawn(Counter)
        msg = Get()
        await ref.ask(msg)
        started = time.perf_counter()
        for _ in range(ASKS):
            await ref.ask(msg)
        return rate(ASKS, started)


def _remote_ask(force_codec: bool) -> float:
    from transport import InMemoryNetwork, JsonCodec

    async def main() -> float:
        registry = MessageRegistry([Inc, Get, Count])
        network = InMemoryNetwork(codec=JsonCodec(registry), force_codec=force_codec)
        async with (
            network,
            ActorSystem("server", transport=network) as server,
            ActorSystem("client", transport=network) as client,
        ):
            server.spawn(RemoteCounter, name="counter")
            ref = client.ref("server/counter")
            msg = Get()
            await ref.ask(msg)
            started = time.perf_counter()
            for _ in range(REMOTE_ASKS):
                await ref.ask(msg)
            return rate(REMOTE_ASKS, started)

    result: float = anyio.run(main, backend="asyncio")
    return result


def _trio_actor(fn: Any) -> float:
    result: float = anyio.run(fn, backend="trio")
    return result


def run(report: Report) -> None:
    report.baseline(
        "bare asyncio.Queue producer/consumer", measure(lambda: _run(_bare_queue)), "msgs/s"
    )
    report.compare(
        "actor tell (one producer, one actor)",
        measure(lambda: _run(_actor_tell)),
        "msgs/s",
        "bare asyncio.Queue producer/consumer",
        "target >= 0.5x",
    )
    report.baseline("bare future ping-pong", measure(lambda: _run(_bare_ping_pong)), "trips/s")
    report.compare(
        "actor ask round trip",
        measure(lambda: _run(_actor_ask)),
        "trips/s",
        "bare future ping-pong",
        "target >= 0.5x",
    )
    try:
        import transport  # noqa: F401
    except ImportError:
        report.figure(
            "ask across systems (in-memory transport)", 0.0, "trips/s", "transport package missing"
        )
    else:
        report.compare(
            "ask across two systems, in-memory transport",
            measure(lambda: _remote_ask(False)),
            "trips/s",
            "bare future ping-pong",
        )
        report.compare(
            "ask across two systems, in-memory + JSON codec",
            measure(lambda: _remote_ask(True)),
            "trips/s",
            "bare future ping-pong",
        )
    report.figure(
        "actor tell on trio",
        measure(lambda: _trio_actor(_actor_tell), 3),
        "msgs/s",
        "for information",
    )
    report.figure(
        "actor ask on trio",
        measure(lambda: _trio_actor(_actor_ask), 3),
        "trips/s",
        "for information",
    )
