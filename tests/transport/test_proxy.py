"""The socket-level fault proxy on its own: a byte echo server behind it, each fault per
direction, and the same seed cutting the same bytes the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest

from transport import FaultProxy, SocketFaults

pytestmark = pytest.mark.anyio

Closed = (anyio.BrokenResourceError, anyio.EndOfStream)


@asynccontextmanager
async def echo_server() -> AsyncIterator[tuple[tuple[str, int], list[bytes]]]:
    """A TCP server that echoes what it reads and records each read (to see slicing)."""
    reads: list[bytes] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_address)[1]

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            try:
                while True:
                    data = await stream.receive()
                    reads.append(data)
                    await stream.send(data)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield ("127.0.0.1", int(port)), reads
        tg.cancel_scope.cancel()


async def receive_exactly(stream: anyio.abc.SocketStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += await stream.receive()
    return data


async def test_bytes_pass_unchanged_without_faults() -> None:
    async with echo_server() as (target, _), FaultProxy(target, seed=1) as proxy:
        async with await anyio.connect_tcp(*proxy.address) as stream:
            payload = bytes(range(256)) * 40
            await stream.send(payload)
            with anyio.fail_after(3):
                assert await receive_exactly(stream, len(payload)) == payload
        stats = proxy.statistics()
        assert stats.connections == 1
        assert stats.bytes_up == stats.bytes_down == len(payload)


async def test_latency_delays_one_direction_only() -> None:
    async with (
        echo_server() as (target, _),
        FaultProxy(target, seed=2, downstream=SocketFaults(latency=0.2)) as proxy,
        await anyio.connect_tcp(*proxy.address) as stream,
    ):
        started = anyio.current_time()
        await stream.send(b"ping")
        with anyio.fail_after(3):
            assert await receive_exactly(stream, 4) == b"ping"
        assert anyio.current_time() - started >= 0.2


async def test_bandwidth_limit_slows_a_transfer() -> None:
    async with (
        echo_server() as (target, _),
        FaultProxy(target, seed=3, upstream=SocketFaults(bandwidth=100_000)) as proxy,
        await anyio.connect_tcp(*proxy.address) as stream,
    ):
        payload = b"x" * 30_000
        started = anyio.current_time()
        await stream.send(payload)
        with anyio.fail_after(5):
            assert await receive_exactly(stream, len(payload)) == payload
        assert anyio.current_time() - started >= 0.25  # 30 kB at 100 kB/s


async def slices_seen(seed: int) -> list[int]:
    async with (
        echo_server() as (target, reads),
        FaultProxy(
            target, seed=seed, upstream=SocketFaults(slice_size=5, slice_delay=0.002)
        ) as proxy,
    ):
        async with await anyio.connect_tcp(*proxy.address) as stream:
            payload = b"abcdefghijklmnopqrstuvwxyz" * 4
            await stream.send(payload)
            with anyio.fail_after(5):
                assert await receive_exactly(stream, len(payload)) == payload
        return [len(read) for read in reads]


async def test_slicing_cuts_writes_small_and_is_repeatable_from_the_seed() -> None:
    first = await slices_seen(11)
    assert sum(first) == 104
    assert len(first) > 104 // 5
    assert max(first) <= 5
    assert await slices_seen(11) == first
    assert await slices_seen(12) != first


async def test_black_hole_swallows_bytes_and_keeps_the_connection_open() -> None:
    async with (
        echo_server() as (target, reads),
        FaultProxy(target, seed=4, upstream=SocketFaults(black_hole=True)) as proxy,
        await anyio.connect_tcp(*proxy.address) as stream,
    ):
        await stream.send(b"into the void")
        with anyio.move_on_after(0.2) as scope:
            await stream.receive()
        assert scope.cancelled_caught
        assert reads == []
        assert proxy.statistics().discarded == len(b"into the void")
        proxy.upstream.black_hole = False  # faults change while the proxy runs
        await stream.send(b"back")
        with anyio.fail_after(3):
            assert await receive_exactly(stream, 4) == b"back"


async def test_reset_after_some_bytes_and_reset_all() -> None:
    async with (
        echo_server() as (target, _),
        FaultProxy(target, seed=5, upstream=SocketFaults(reset_after=10)) as proxy,
    ):
        async with await anyio.connect_tcp(*proxy.address) as stream:
            await stream.send(b"0123456789abcdef")
            with anyio.fail_after(3), pytest.raises(Closed):
                while True:
                    await stream.receive()
        assert proxy.statistics().resets == 1
        proxy.upstream.reset_after = None
        async with await anyio.connect_tcp(*proxy.address) as stream:
            await stream.send(b"hello")
            with anyio.fail_after(3):
                assert await receive_exactly(stream, 5) == b"hello"
            assert proxy.reset_all() == 1
            with anyio.fail_after(3), pytest.raises(Closed):
                while True:
                    await stream.receive()


async def test_refused_target_closes_the_client() -> None:
    async with FaultProxy(("127.0.0.1", 9), seed=6) as proxy:
        async with await anyio.connect_tcp(*proxy.address) as stream:
            with anyio.fail_after(3), pytest.raises(Closed):
                await stream.receive()
        assert proxy.statistics().failed_connects == 1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        FaultProxy(("127.0.0.1", 1), seed=0, upstream=SocketFaults(latency=-1))
    with pytest.raises(ValueError):
        FaultProxy(("127.0.0.1", 1), seed=0, downstream=SocketFaults(bandwidth=0))
