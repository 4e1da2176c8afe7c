"""The TCP transport between two OS processes, against bare anyio framing in the same run.

A child process serves; this process is the client; both on loopback, asyncio.

- ask round trips (one at a time): an actor ask over `transport.TcpNetwork` (JSON codec,
  HMAC-authenticated connection) against a bare anyio request/response of 4-byte
  length-prefixed frames of the same size (the server echoes each frame);
- pipelined one-way messages: typed tells to an actor against bare frames written one per
  ``send`` (the bare server counts them); both end with one round trip that confirms the
  count, so the figure is what the receiver processed, not what the sender queued;
- ask latency under load: 16 concurrent askers for about two seconds; p50, p99, p99.9;
- figures a busy machine distorts less, both ends in this one process: round trips per
  second of CPU time (the ask against the bare echo), and event-loop iterations per ask
  round trip (the count of asyncio's ``_run_once`` under cProfile).

Run with ``python -m benchmarks tcp``. The child is ``python -m benchmarks.bench_tcp serve
bare|actor``.
"""

from __future__ import annotations

import contextlib
import cProfile
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import structlog

from benchmarks._report import Report, measure, rate
from mesh_actors import Actor, ActorSystem, Address, Envelope, Message, MessageRegistry, handler

SECRET = b"benchmark-secret-0123456789abcdef"
# Each figure is a time box, not a count, so the module's run time does not grow with a slow
# or busy machine (about 35 s in all).
SECONDS = 1.0
BATCH = 500
LOAD_TASKS = 16
LOAD_SECONDS = 2.0
ONE_PROCESS_TRIPS = 2000
ROOT = Path(__file__).resolve().parents[1]


class Inc(Message):
    type_name = "bench.tcp.inc"


class Get(Message):
    type_name = "bench.tcp.get"


class Count(Message):
    type_name = "bench.tcp.count"
    n: int


MESSAGES = (Inc, Get, Count)


class Counter(Actor[Inc | Get]):
    def __init__(self) -> None:
        self.n = 0

    @handler
    def inc(self, _: Inc) -> None:
        self.n += 1

    @handler
    def get(self, _: Get) -> Count:
        return Count(n=self.n)


def _network(**extra: Any) -> Any:
    from transport import JsonCodec, TcpNetwork

    return TcpNetwork(
        secret=SECRET, codec=JsonCodec(MessageRegistry(MESSAGES)), send_queue=4096, **extra
    )


def _frame_size() -> int:
    """The size of an encoded tell of `Inc`, so the bare frames carry as many bytes."""
    from transport import JsonCodec

    envelope = Envelope(Address("server", "counter"), Inc(), Address("client", "$ask"))
    return len(JsonCodec(MessageRegistry(MESSAGES)).encode(envelope))


# -- the serving process ---------------------------------------------------------------------


async def _serve_bare() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_address)[1]

    async def handle(stream: anyio.abc.SocketStream) -> None:
        buffer = bytearray()
        counted = 0
        async with stream:
            while True:
                try:
                    buffer += await stream.receive(65536)
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                out = bytearray()
                position = 0
                while len(buffer) - position >= 4:
                    size = int.from_bytes(buffer[position : position + 4], "big")
                    end = position + 4 + size
                    if end > len(buffer):
                        break
                    kind = buffer[position + 4]
                    if kind == ord("R"):  # request: echo it back
                        out += buffer[position:end]
                    elif kind == ord("T"):  # one-way: count it
                        counted += 1
                    else:  # "D": how many one-way frames so far?
                        body = b"C" + counted.to_bytes(8, "big")
                        out += len(body).to_bytes(4, "big") + body
                    position = end
                del buffer[:position]
                if out:
                    await stream.send(bytes(out))

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        print(f"READY {port}", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
        tg.cancel_scope.cancel()


async def _serve_actor() -> None:
    network = _network(ports={"server": 0})
    async with network, ActorSystem("server", transport=network) as system:
        system.spawn(Counter, name="counter")
        print(f"READY {network.address('server')[1]}", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)


@contextlib.contextmanager
def _server(kind: str) -> Iterator[int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_tcp", "serve", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    try:
        assert process.stdout is not None
        word, port = process.stdout.readline().decode().split()
        assert word == "READY"
        yield int(port)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- bare framing ----------------------------------------------------------------------------


async def _read_frame(stream: anyio.abc.SocketStream, buffer: bytearray) -> bytes:
    while True:
        if len(buffer) >= 4:
            size = int.from_bytes(buffer[:4], "big")
            if len(buffer) >= 4 + size:
                frame = bytes(buffer[4 : 4 + size])
                del buffer[: 4 + size]
                return frame
        buffer += await stream.receive(65536)


def _bare_round_trips(port: int) -> float:
    size = _frame_size()
    request = size.to_bytes(4, "big") + b"R" + b"x" * (size - 1)

    async def main() -> float:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            buffer = bytearray()
            await stream.send(request)
            await _read_frame(stream, buffer)
            started = time.perf_counter()
            deadline = started + SECONDS
            count = 0
            while time.perf_counter() < deadline:
                for _ in range(BATCH // 10):
                    await stream.send(request)
                    await _read_frame(stream, buffer)
                count += BATCH // 10
            return rate(count, started)

    result: float = anyio.run(main, backend="asyncio")
    return result


def _bare_pipelined(port: int) -> float:
    size = _frame_size()
    one_way = size.to_bytes(4, "big") + b"T" + b"x" * (size - 1)
    done = (1).to_bytes(4, "big") + b"D"

    async def main() -> float:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            buffer = bytearray()
            await stream.send(done)
            before = int.from_bytes((await _read_frame(stream, buffer))[1:], "big")
            started = time.perf_counter()
            deadline = started + SECONDS
            count = 0
            while time.perf_counter() < deadline:
                for _ in range(BATCH):
                    await stream.send(one_way)
                count += BATCH
            await stream.send(done)
            after = int.from_bytes((await _read_frame(stream, buffer))[1:], "big")
            assert after - before == count
            return rate(count, started)

    result: float = anyio.run(main, backend="asyncio")
    return result


# -- the actor transport ---------------------------------------------------------------------


def _with_client(port: int, body: Any) -> float:
    async def main() -> float:
        network = _network(peers={"server": ("127.0.0.1", port)})
        async with network, ActorSystem("client", transport=network, ask_timeout=10) as client:
            counter = client.ref("server/counter")
            await counter.ask(Get())  # connect and warm up
            result: float = await body(counter)
            return result

    result: float = anyio.run(main, backend="asyncio")
    return result


async def _asks(counter: Any) -> float:
    message = Get()
    started = time.perf_counter()
    deadline = started + SECONDS
    count = 0
    while time.perf_counter() < deadline:
        for _ in range(BATCH // 10):
            await counter.ask(message)
        count += BATCH // 10
    return rate(count, started)


async def _tells(counter: Any) -> float:
    message = Inc()
    before = (await counter.ask(Get())).n
    started = time.perf_counter()
    deadline = started + SECONDS
    count = 0
    while time.perf_counter() < deadline:
        for _ in range(BATCH):
            await counter.tell(message)
        count += BATCH
    after = (await counter.ask(Get())).n
    assert after - before == count
    return rate(count, started)


class _Latencies:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self.rate = 0.0


async def _under_load(counter: Any, into: _Latencies) -> float:
    message = Get()
    deadline = time.perf_counter() + LOAD_SECONDS
    samples = into.samples

    async def asker() -> None:
        clock = time.perf_counter
        while clock() < deadline:
            started = clock()
            await counter.ask(message)
            samples.append(clock() - started)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(LOAD_TASKS):
            tg.start_soon(asker)
    into.rate = len(samples) / (time.perf_counter() - started)
    return into.rate


# -- both ends in one process: CPU time and loop iterations ----------------------------------


async def _one_process_bare(trips: int) -> float:
    """Bare framed echo round trips per CPU second, client and server in this process."""
    size = _frame_size()
    request = size.to_bytes(4, "big") + b"R" + b"x" * (size - 1)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = int(listener.extra(anyio.abc.SocketAttribute.local_address)[1])

    async def echo(stream: anyio.abc.SocketStream) -> None:
        buffer = bytearray()
        async with stream:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                while True:
                    frame = await _read_frame(stream, buffer)
                    await stream.send(len(frame).to_bytes(4, "big") + frame)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, echo)
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            buffer = bytearray()
            for _ in range(trips // 10):  # warm up
                await stream.send(request)
                await _read_frame(stream, buffer)
            started = time.process_time()
            for _ in range(trips):
                await stream.send(request)
                await _read_frame(stream, buffer)
            spent = time.process_time() - started
        tg.cancel_scope.cancel()
    return trips / spent


async def _one_process_asks(trips: int, profile: cProfile.Profile | None) -> float:
    """Actor ask round trips per CPU second over `TcpNetwork`, both systems in this
    process; with ``profile``, the asks run under it (for the loop-iteration count)."""
    server_net = _network()
    async with server_net, ActorSystem("server", transport=server_net) as server:
        server.spawn(Counter, name="counter")
        client_net = _network(peers={"server": server_net.address("server")})
        async with client_net, ActorSystem("client", transport=client_net) as client:
            counter = client.ref("server/counter")
            message = Get()
            for _ in range(trips // 10):  # connect and warm up
                await counter.ask(message)
            started = time.process_time()
            if profile is not None:
                profile.enable()
            for _ in range(trips):
                await counter.ask(message)
            if profile is not None:
                profile.disable()
            spent = time.process_time() - started
    return trips / spent


def _loop_iterations_per_ask() -> float:
    profile = cProfile.Profile()
    anyio.run(_one_process_asks, ONE_PROCESS_TRIPS, profile, backend="asyncio")
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    calls = sum(row[1] for (_, _, name), row in stats.items() if name == "_run_once")
    return float(calls) / ONE_PROCESS_TRIPS


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def run(report: Report) -> None:
    with _server("bare") as bare:
        report.baseline(
            "bare anyio framed request/response, 2 processes",
            measure(lambda: _bare_round_trips(bare), 3),
            "trips/s",
        )
        report.baseline(
            "bare anyio framed pipelining, 2 processes",
            measure(lambda: _bare_pipelined(bare), 3),
            "msgs/s",
        )
    with _server("actor") as actor:
        report.compare(
            "TCP actor ask round trip, 2 processes",
            measure(lambda: _with_client(actor, _asks), 3),
            "trips/s",
            "bare anyio framed request/response, 2 processes",
            "target >= 0.5x",
        )
        report.compare(
            "TCP pipelined typed tells, 2 processes",
            measure(lambda: _with_client(actor, _tells), 3),
            "msgs/s",
            "bare anyio framed pipelining, 2 processes",
            "target >= 0.5x",
        )
        latencies = _Latencies()
        _with_client(actor, lambda counter: _under_load(counter, latencies))
        samples = latencies.samples
        load = f"{LOAD_TASKS} concurrent askers, {len(samples):,} asks"
        report.figure("TCP ask throughput under load", latencies.rate, "asks/s", load)
        for name, fraction in (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)):
            report.figure(
                f"TCP ask latency under load, {name}",
                _percentile(samples, fraction) * 1e6,
                "us",
                load,
            )
        report.figure(
            "TCP ask latency under load, mean", statistics.fmean(samples) * 1e6, "us", load
        )
    one = "both ends in one process"
    report.baseline(
        "bare anyio framed request/response, per CPU second",
        measure(lambda: anyio.run(_one_process_bare, ONE_PROCESS_TRIPS, backend="asyncio"), 3),
        "trips/s",
        one,
    )
    report.compare(
        "TCP actor ask round trip, per CPU second",
        measure(
            lambda: anyio.run(_one_process_asks, ONE_PROCESS_TRIPS, None, backend="asyncio"), 3
        ),
        "trips/s",
        "bare anyio framed request/response, per CPU second",
        one,
    )
    report.figure(
        "TCP ask event-loop iterations per round trip", _loop_iterations_per_ask(), "", one
    )


def _main(argv: list[str]) -> int:
    if argv[:1] != ["serve"] or len(argv) != 2 or argv[1] not in ("bare", "actor"):
        print("usage: python -m benchmarks.bench_tcp serve bare|actor", file=sys.stderr)
        return 2
    # Our stdout is a pipe that only READY is read from: keep the transport's logs off it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    anyio.run(_serve_bare if argv[1] == "bare" else _serve_actor, backend="asyncio")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
