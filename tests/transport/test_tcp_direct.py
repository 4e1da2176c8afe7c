"""The TCP transport's direct-write fast path (issue 14): a send on an idle link writes its
frame from the sender's own call, on asyncio without TLS; every guarantee of the writer task
still holds (order, credit, batching, backpressure, whole frames under cancellation).

Each test runs on asyncio and trio: on trio (and with TLS) the fast path is off and the same
behaviour must come from the writer task, so the assertions on ``direct_writes`` say which.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from mesh_actors import ActorSystem, Address, Envelope
from transport import SendQueueFull, TcpNetwork

pytestmark = pytest.mark.anyio

SECRET = b"tcp-test-secret-0123456789abcdef"


def _peer_module() -> ModuleType:
    """``tcp_peer.py`` as a module, once per process (as ``test_tcp`` loads it: its message
    classes must exist once, the default codec registry refuses two with one name)."""
    name = "tests_transport_tcp_peer"
    module = sys.modules.get(name)
    if module is None:
        path = Path(__file__).with_name("tcp_peer.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


peer = _peer_module()


def network(**overrides: Any) -> TcpNetwork:
    settings: dict[str, Any] = {
        "secret": SECRET,
        "codec": peer.codec(),
        "heartbeat_interval": 0.1,
        "heartbeat_timeout": 1.0,
        "backoff_initial": 0.01,
        "backoff_max": 0.1,
        "seed": 1,
    }
    settings.update(overrides)
    return TcpNetwork(**settings)


@asynccontextmanager
async def two_processes_in_one() -> AsyncIterator[
    tuple[TcpNetwork, ActorSystem, TcpNetwork, ActorSystem]
]:
    """System "a" on one network and "b" (with a `Bank`) on another, peers of each other."""
    async with AsyncExitStack() as stack:
        net_b = await stack.enter_async_context(network())
        b = await stack.enter_async_context(ActorSystem("b", transport=net_b, ask_timeout=5))
        b.spawn(peer.Bank, name="bank")
        net_a = await stack.enter_async_context(network(peers={"b": net_b.address("b")}))
        a = await stack.enter_async_context(ActorSystem("a", transport=net_a, ask_timeout=5))
        yield net_a, a, net_b, b


async def eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` real seconds."""
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - polling a counter, no event to wait on
            await anyio.sleep(0.01)


class _Recorder:
    """An inbound that keeps what it receives; its delivery waits while ``gate`` is shut."""

    def __init__(self) -> None:
        self.gate = anyio.Event()
        self.gate.set()
        self.received: list[Envelope] = []

    async def deliver(self, envelope: Envelope) -> None:
        await self.gate.wait()
        self.received.append(envelope)

    def deliver_nowait(self, envelope: Envelope) -> None:
        self.received.append(envelope)


def _deposit(n: int, sender: str = "a/$ask") -> Envelope:
    return Envelope(
        Address("b", "bank"), peer.Deposit(account="x", amount=n), Address.parse(sender)
    )


def _amounts(recorder: _Recorder) -> list[int]:
    return [envelope.message.amount for envelope in recorder.received]


async def _wait_up(net: TcpNetwork) -> None:
    await eventually(lambda: net.statistics()[("a", "b")].state == "up")


async def test_sequential_asks_are_written_directly_on_asyncio_only(anyio_backend: str) -> None:
    """I-order/P-latency: one ask at a time, each request and each reply goes out from the
    sender's call on asyncio (no writer wake-up); on trio the writer task writes them."""
    async with two_processes_in_one() as (net_a, a, net_b, _):
        bank = a.ref("b/bank")
        await bank.ask(peer.GetBalance(account="x"), expect=peer.Balance)  # links up
        before_a = net_a.statistics()[("a", "b")]
        before_b = net_b.statistics()[("b", "a")]
        for n in range(50):
            await bank.tell(peer.Deposit(account="x", amount=n))
            await anyio.lowlevel.checkpoint()  # re-arms the fast path
            reply = await bank.ask(peer.GetBalance(account="x"), expect=peer.Balance)
            assert reply.amount == sum(range(n + 1))
        after_a = net_a.statistics()[("a", "b")]
        after_b = net_b.statistics()[("b", "a")]
        assert after_a.sent - before_a.sent == 100
        assert after_b.sent - before_b.sent == 50
        direct_a = after_a.direct_writes - before_a.direct_writes
        direct_b = after_b.direct_writes - before_b.direct_writes
        if anyio_backend == "asyncio":
            # Nearly all: a send may find the writer not yet parked after a credit grant.
            assert direct_a >= 90
            assert direct_b >= 45
        else:
            assert direct_a == direct_b == 0


async def test_a_burst_is_batched_not_written_one_frame_at_a_time(anyio_backend: str) -> None:
    """Batching under load: of sends made in one event-loop iteration at most the first is
    written directly; the rest go out through the writer, in order."""
    async with network(window=4096, send_queue=4096) as net:
        recorder = _Recorder()
        await net.attach("b", recorder)
        sender = await net.attach("a", _Recorder())
        sender.send_nowait(_deposit(-1))
        await _wait_up(net)
        await eventually(lambda: len(recorder.received) == 1)
        await anyio.sleep(0.01)
        before = net.statistics()[("a", "b")]
        for n in range(1000):  # no checkpoint in between: one event-loop iteration
            sender.send_nowait(_deposit(n))
        after = net.statistics()[("a", "b")]
        assert after.direct_writes - before.direct_writes <= 1
        assert after.queued >= 999
        await eventually(lambda: len(recorder.received) == 1001)
        assert _amounts(recorder) == [-1, *range(1000)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_direct_and_queued_sends_interleaved_keep_order(
    anyio_backend: str, seed: int
) -> None:
    """Order per sender-receiver pair when the fast path and the queue take turns: random
    bursts (1 to 20 sends) separated by event-loop iterations, from two senders."""
    rng = random.Random(seed)
    async with network() as net:
        recorder = _Recorder()
        await net.attach("b", recorder)
        sender = await net.attach("a", _Recorder())
        sent = 0
        for _ in range(60):
            for _ in range(rng.randint(1, 20)):
                who = rng.choice(["a/one", "a/two"])
                envelope = _deposit(sent, who)
                if rng.random() < 0.5:
                    sender.send_nowait(envelope)
                else:
                    await sender.send(envelope)
                sent += 1
            for _ in range(rng.randint(0, 2)):
                await anyio.lowlevel.checkpoint()
        await eventually(lambda: len(recorder.received) == sent)
        assert _amounts(recorder) == list(range(sent))
        stats = net.statistics()[("a", "b")]
        assert stats.sent == sent
        if anyio_backend == "asyncio":
            assert 0 < stats.direct_writes < sent
        else:
            assert stats.direct_writes == 0


async def test_a_cancelled_sender_leaves_whole_frames(anyio_backend: str) -> None:
    """Cancellation safety: sends from a cancelled scope (the fast path on asyncio) write
    whole frames or nothing; the connection stays and nothing is refused as malformed."""
    async with network() as net:
        recorder = _Recorder()
        await net.attach("b", recorder)
        sender = await net.attach("a", _Recorder())
        sender.send_nowait(_deposit(0))
        await _wait_up(net)
        for n in range(1, 30):
            with anyio.CancelScope() as scope:
                scope.cancel()
                await sender.send(_deposit(n))  # no room to wait for: sent, no checkpoint
            await anyio.lowlevel.checkpoint()
        await eventually(lambda: len(recorder.received) == 30)
        assert _amounts(recorder) == list(range(30))
        assert net.endpoint_statistics("b").refused == {}
        assert net.statistics()[("a", "b")].connects == 1


async def test_credit_bounds_direct_writes_and_backpressure_holds(anyio_backend: str) -> None:
    """Credit-based backpressure with the fast path: a stuck reader gets at most its window
    written (direct or not), then the bounded queue fills and ``send_nowait`` raises; once
    the reader moves, everything arrives in order."""
    queue, window = 8, 4
    async with network(send_queue=queue, window=window) as net:
        recorder = _Recorder()
        await net.attach("b", recorder)
        sender = await net.attach("a", _Recorder())
        sender.send_nowait(_deposit(0))
        await _wait_up(net)
        await eventually(lambda: len(recorder.received) == 1)
        recorder.gate = anyio.Event()  # the reader now holds what it reads
        sent = 1
        with anyio.fail_after(5):
            while True:
                try:
                    sender.send_nowait(_deposit(sent))
                except SendQueueFull:
                    await anyio.sleep(0.05)
                    try:
                        sender.send_nowait(_deposit(sent))
                    except SendQueueFull:
                        break
                sent += 1
                await anyio.lowlevel.checkpoint()  # each send in its own iteration: the direct path
        stats = net.statistics()[("a", "b")]
        assert stats.queued == queue
        assert stats.credit == 0
        assert stats.sent <= window + window // 2 + 1  # the first grant, then nothing
        recorder.gate.set()
        # Sends while the queue drains on returned credit must stay behind what is queued.
        with anyio.fail_after(5):
            for _ in range(200):
                try:
                    sender.send_nowait(_deposit(sent))
                except SendQueueFull:
                    pass
                else:
                    sent += 1
                await anyio.lowlevel.checkpoint()
        await eventually(lambda: len(recorder.received) == sent)
        assert _amounts(recorder) == list(range(sent))


async def test_a_full_socket_turns_the_fast_path_off(anyio_backend: str) -> None:
    """When the kernel does not take a frame at once (a stuck reader with a big window), the
    rest waits in the queue for the writer, not in the sender's call: `send_nowait` never
    blocks, and order holds across the switch."""
    payload = "y" * 30_000  # below large_message: the small lane
    async with network(window=100_000, send_queue=100_000) as net:
        recorder = _Recorder()
        await net.attach("b", recorder)
        sender = await net.attach("a", _Recorder())
        sender.send_nowait(_deposit(0))
        await _wait_up(net)
        await eventually(lambda: len(recorder.received) == 1)
        recorder.gate = anyio.Event()
        target = Address("b", "bank")
        count = 400  # 12 MB: more than loopback socket buffers hold
        for n in range(count):
            sender.send_nowait(Envelope(target, peer.Blob(tag=str(n), data=payload)))
            await anyio.lowlevel.checkpoint()
        stats = net.statistics()[("a", "b")]
        # The sender was never held up, and not everything went out directly.
        assert stats.direct_writes < count
        recorder.gate.set()
        await eventually(lambda: len(recorder.received) == count + 1, timeout=20)
        tags = [envelope.message.tag for envelope in recorder.received[1:]]
        assert tags == [str(n) for n in range(count)]
