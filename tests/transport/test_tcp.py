"""The TCP transport's own behaviour: faults of peers and connections, refusals, backpressure,
the large-message lane, heartbeats; each on asyncio and trio, on loopback sockets.

Real sockets need real time: waits are short and bounded with ``anyio.fail_after``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from mesh_actors import ActorNotFound, ActorSystem, Address, Envelope, NoRoute
from transport import (
    ClientHandshake,
    FaultProxy,
    FaultyNetwork,
    FrameDecoder,
    FrameType,
    JsonCodec,
    LinkFaults,
    PeerUnreachable,
    SendQueueFull,
    TcpNetwork,
    encode_frame,
)

pytestmark = pytest.mark.anyio

SECRET = b"tcp-test-secret-0123456789abcdef"


def load_peer_module() -> ModuleType:
    """``tests/transport/tcp_peer.py`` as a module, loaded once per process (its message
    classes must exist once: the default codec registry refuses two with one name)."""
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


peer = load_peer_module()


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
async def two_processes_in_one(
    a_settings: dict[str, Any] | None = None, b_settings: dict[str, Any] | None = None
) -> AsyncIterator[tuple[TcpNetwork, ActorSystem, TcpNetwork, ActorSystem]]:
    """System "a" on one network and "b" (with a `Bank`) on another, peers of each other:
    as two processes would be, but in one for speed."""
    async with AsyncExitStack() as stack:
        net_b = await stack.enter_async_context(network(**(b_settings or {})))
        b = await stack.enter_async_context(ActorSystem("b", transport=net_b, ask_timeout=5))
        b.spawn(peer.Bank, name="bank")
        net_a = await stack.enter_async_context(
            network(peers={"b": net_b.address("b")}, **(a_settings or {}))
        )
        a = await stack.enter_async_context(ActorSystem("a", transport=net_a, ask_timeout=5))
        yield net_a, a, net_b, b


async def eventually(condition: Callable[[], bool], timeout: float = 3) -> None:
    """Poll ``condition`` until it holds (socket and counter states have no event to wait
    on); fail after ``timeout`` real seconds."""
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - polling a state, see the docstring
            await anyio.sleep(0.01)


async def balance(system: ActorSystem, account: str = "x", timeout: float = 5) -> int:
    reply = await system.ref("b/bank").ask(
        peer.GetBalance(account=account), expect=peer.Balance, timeout=timeout
    )
    amount: int = reply.amount
    return amount


# -- addresses and basics --------------------------------------------------------------------


async def test_port_zero_picks_a_free_port_and_the_network_reports_it() -> None:
    async with network() as net, ActorSystem("b", transport=net):
        host, port = net.address("b")
        assert host == "127.0.0.1"
        assert 0 < port < 65536
        # Something really listens there.
        async with await anyio.connect_tcp(host, port):
            pass


async def test_a_peer_learns_the_advertised_address_from_the_handshake() -> None:
    net_b = network()
    async with (
        net_b,
        ActorSystem("b", transport=net_b),
        network(peers={"b": net_b.address("b")}, advertise_host="localhost") as net_a,
        ActorSystem("a", transport=net_a) as a,
    ):
        assert net_b.peer_address("a") is None
        with pytest.raises(ActorNotFound):  # b has no bank: the answer still comes back
            await balance(a, timeout=3)
        assert net_b.peer_address("a") == ("localhost", net_a.address("a")[1])
        assert "a" in net_b.systems()


async def test_typed_asks_and_tells_cross_and_order_is_kept() -> None:
    async with two_processes_in_one() as (net_a, a, _, _):
        bank = a.ref("b/bank")
        for n in range(200):
            await bank.tell(peer.Deposit(account="x", amount=n))
        assert await balance(a) == sum(range(200))
        log = await bank.ask(peer.GetLog(), expect=peer.Log)
        assert log.entries == [f"deposit:x:{n}" for n in range(200)]
        stats = net_a.statistics()[("a", "b")]
        assert stats.state == "up"
        assert stats.sent >= 202


# -- refusals --------------------------------------------------------------------------------


async def test_wrong_secret_is_refused_on_both_sides_and_asks_fail_fast() -> None:
    async with two_processes_in_one(a_settings={"secret": b"another-secret-0123456789"}) as (
        net_a,
        a,
        net_b,
        _,
    ):
        with anyio.fail_after(3):
            with pytest.raises(NoRoute, match="authentication"):
                await balance(a, timeout=30)
        await eventually(
            lambda: bool(net_b.endpoint_statistics("b").refused.get("HandshakeRefused"))
        )
        assert net_a.endpoint_statistics("a").refused.get("HandshakeRefused", 0) >= 1
        assert net_a.statistics()[("a", "b")].state == "down"
        # Down: the next ask fails at once, as no route.
        with anyio.fail_after(1), pytest.raises(NoRoute):
            await balance(a, timeout=30)


async def test_another_message_schema_is_refused_at_connect_as_codec() -> None:
    """Two versions of an application name their message schemas in ``wire_name``: the
    handshake refuses the pair (reason "codec") on both sides, before any frame crosses."""
    newer = JsonCodec(peer.codec().registry, wire_name="JsonCodec+app-2")
    async with two_processes_in_one(a_settings={"codec": newer}) as (net_a, a, net_b, _):
        assert getattr(net_a.codec, "wire_name", None) == "JsonCodec+app-2"
        with anyio.fail_after(3):
            with pytest.raises(NoRoute, match="codec"):
                await balance(a, timeout=30)
        await eventually(
            lambda: bool(net_b.endpoint_statistics("b").refused.get("HandshakeRefused"))
        )
        assert net_b.endpoint_statistics("b").received == 0
        assert net_a.statistics()[("a", "b")].connects == 0


def test_a_wire_name_must_be_printable_ascii() -> None:
    """It travels in the handshake's JSON and is shown in refusals."""
    for bad in ("", "json\n", "jsön"):
        with pytest.raises(ValueError, match="wire_name"):
            JsonCodec(peer.codec().registry, wire_name=bad)


async def raw_handshake(
    address: tuple[str, int], hello: bytes, auth: bytes | None = None
) -> tuple[FrameType, bytes]:
    """Send a HELLO (and, if given, an AUTH after the CHALLENGE) on a fresh connection;
    return the last frame the listener answered with."""
    decoder = FrameDecoder(
        {
            FrameType.CHALLENGE: 4096,
            FrameType.ACCEPT: 4,
            FrameType.REFUSE: 256,
            FrameType.GOODBYE: 256,
            FrameType.KEEPALIVE: 0,
            FrameType.CREDIT: 4,
        }
    )
    async with await anyio.connect_tcp(*address) as stream:
        await stream.send(encode_frame(FrameType.HELLO, hello))
        frames: list[tuple[FrameType, bytes]] = []
        while not frames:
            frames = decoder.feed(await stream.receive())
        if frames[0][0] is not FrameType.CHALLENGE or auth is None:
            return frames[0]
        await stream.send(encode_frame(FrameType.AUTH, auth))
        frames = []
        while not frames:
            frames = decoder.feed(await stream.receive())
        return frames[0]


def hello_for(target: str, nonce: bytes | None = None, **changes: Any) -> ClientHandshake:
    return ClientHandshake(
        secret=SECRET,
        system="mallory",
        incarnation="00" * 8,
        target=target,
        codec="JsonCodec",
        nonce=nonce,
    )


async def test_wrong_version_is_refused_with_its_reason_and_others_are_served() -> None:
    async with two_processes_in_one() as (_, a, net_b, _):
        document = json.loads(hello_for("b").hello())
        document["version"] = 2
        kind, payload = await raw_handshake(net_b.address("b"), json.dumps(document).encode())
        assert kind is FrameType.REFUSE
        assert b"version" in payload
        assert net_b.endpoint_statistics("b").refused["HandshakeRefused"] == 1
        await a.ref("b/bank").tell(peer.Deposit(account="x", amount=4))
        assert await balance(a) == 4


async def test_replayed_handshake_is_refused() -> None:
    async with two_processes_in_one() as (_, a, net_b, _):
        address = net_b.address("b")
        client = hello_for("b", nonce=b"\x07" * 32)
        hello = client.hello()
        # A genuine exchange, recorded...
        decoder = FrameDecoder({FrameType.CHALLENGE: 4096, FrameType.ACCEPT: 4})
        async with await anyio.connect_tcp(*address) as stream:
            await stream.send(encode_frame(FrameType.HELLO, hello))
            frames: list[tuple[FrameType, bytes]] = []
            while not frames:
                frames = decoder.feed(await stream.receive())
            auth, _ = client.answer(frames[0][1])
            await stream.send(encode_frame(FrameType.AUTH, auth))
            frames = []
            while not frames:
                frames = decoder.feed(await stream.receive())
            assert frames[0][0] is FrameType.ACCEPT
        # ... and replayed byte for byte: refused, and the server keeps serving.
        kind, payload = await raw_handshake(address, hello, auth)
        assert kind is FrameType.REFUSE
        assert b"replay" in payload
        assert await balance(a) == 0


async def test_forged_auth_is_refused() -> None:
    async with two_processes_in_one() as (_, a, net_b, _):
        kind, payload = await raw_handshake(
            net_b.address("b"), hello_for("b").hello(), auth=b"\x00" * 32
        )
        assert kind is FrameType.REFUSE
        assert b"authentication" in payload
        assert await balance(a) == 0


async def authenticated(address: tuple[str, int], target: str) -> anyio.abc.SocketStream:
    """A raw connection that passed the handshake as system "mallory"."""
    client = hello_for(target)
    stream = await anyio.connect_tcp(*address)
    decoder = FrameDecoder({FrameType.CHALLENGE: 4096, FrameType.ACCEPT: 4})
    await stream.send(encode_frame(FrameType.HELLO, client.hello()))
    frames: list[tuple[FrameType, bytes]] = []
    while not frames:
        frames = decoder.feed(await stream.receive())
    auth, _ = client.answer(frames[0][1])
    await stream.send(encode_frame(FrameType.AUTH, auth))
    frames = []
    while not frames:
        frames = decoder.feed(await stream.receive())
    assert frames[0][0] is FrameType.ACCEPT
    return stream


async def closed_by_peer(stream: anyio.abc.SocketStream) -> bytes:
    """Read until the listener closes the connection; return what it said last."""
    said = b""
    with anyio.fail_after(3):
        try:
            while True:
                said += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return said


async def test_oversize_frame_closes_that_connection_only() -> None:
    async with two_processes_in_one() as (_, a, net_b, _):
        assert await balance(a) == 0
        stream = await authenticated(net_b.address("b"), "b")
        async with stream:
            # Only the header: the listener refuses before reading the body.
            await stream.send(b"\xff\xff\xff\xf0" + bytes([FrameType.DATA]))
            said = await closed_by_peer(stream)
        assert b"FrameTooLarge" in said
        assert net_b.endpoint_statistics("b").refused["FrameTooLarge"] == 1
        await a.ref("b/bank").tell(peer.Deposit(account="x", amount=1))
        assert await balance(a) == 1


async def test_half_written_frame_is_refused_as_malformed() -> None:
    async with two_processes_in_one() as (_, a, net_b, _):
        stream = await authenticated(net_b.address("b"), "b")
        frame = encode_frame(FrameType.DATA, b'{"version": 1}')
        await stream.send(frame[:-3])
        await stream.send_eof()
        await closed_by_peer(stream)
        await stream.aclose()
        await eventually(lambda: bool(net_b.endpoint_statistics("b").refused.get("MalformedFrame")))
        assert await balance(a) == 0


async def test_more_envelopes_than_credit_is_a_protocol_violation() -> None:
    async with two_processes_in_one(b_settings={"window": 4}) as (_, a, net_b, _):
        # Stall the bank so nothing is delivered (and no credit returned) for a while.
        stalled = a.ref("b/bank").ask(peer.Stall(seconds=0.5))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: stalled)
            stream = await authenticated(net_b.address("b"), "b")
            async with stream:
                body = Envelope(Address("b", "bank"), peer.Deposit(account="m", amount=1), None)
                frame = encode_frame(FrameType.DATA, peer.codec().encode(body))
                await stream.send(frame * 6)
                said = await closed_by_peer(stream)
        assert b"ProtocolViolation" in said
        assert await balance(a, "m") <= 4


async def test_unknown_system_and_wrong_target_are_refused() -> None:
    async with two_processes_in_one() as (_, a, net_b, _):
        kind, payload = await raw_handshake(net_b.address("b"), hello_for("c").hello())
        assert kind is FrameType.REFUSE
        assert b"system" in payload
        with pytest.raises(NoRoute):
            await a.ref("nowhere/x").ask(peer.GetLog())


# -- peers that die, restart, go silent ------------------------------------------------------


async def test_peer_killed_mid_ask_fails_the_ask_at_once_then_restart_is_recognised() -> None:
    async with network() as net_b1, ActorSystem("b", transport=net_b1) as b1:
        b1.spawn(peer.Bank, name="bank")
        port = net_b1.address("b")[1]
        async with (
            network(peers={"b": ("127.0.0.1", port)}) as net_a,
            ActorSystem("a", transport=net_a, ask_timeout=30) as a,
        ):
            assert await balance(a) == 0
            first = net_a.statistics()[("a", "b")].peer_incarnation
            failure: list[BaseException] = []

            async def stalled_ask() -> None:
                try:
                    # The bank would answer after 3 s (so that its system can shut down at
                    # the end of the test without waiting long); the ask's timeout is 30 s.
                    await a.ref("b/bank").ask(peer.Stall(seconds=3), timeout=30)
                except NoRoute as exc:
                    failure.append(exc)

            async with anyio.create_task_group() as tg:
                tg.start_soon(stalled_ask)
                await anyio.sleep(0.1)
                # The peer "dies": its network closes every socket at once.
                died = anyio.current_time()
                await net_b1.aclose()
            assert len(failure) == 1, "the in-flight ask must fail fast, not time out"
            assert anyio.current_time() - died < 2
            # While it is down, asks fail at once.
            with anyio.fail_after(1), pytest.raises(NoRoute):
                await balance(a, timeout=30)
            # It comes back on the same port, a new incarnation: asks work again.
            async with (
                network(ports={"b": port}) as net_b2,
                ActorSystem("b", transport=net_b2) as b2,
            ):
                b2.spawn(peer.Bank, name="bank")
                with anyio.fail_after(5):
                    while True:
                        try:
                            assert await balance(a, timeout=1) == 0
                            break
                        except NoRoute:
                            await anyio.sleep(0.02)
                second = net_a.statistics()[("a", "b")].peer_incarnation
                assert second == net_b2.incarnation("b") != first


async def test_connection_reset_reconnects_and_keeps_serving() -> None:
    async with network() as net_b, ActorSystem("b", transport=net_b) as b:
        b.spawn(peer.Bank, name="bank")
        async with (
            FaultProxy(net_b.address("b"), seed=5) as proxy,
            network(peers={"b": proxy.address}) as net_a,
            ActorSystem("a", transport=net_a) as a,
        ):
            await a.ref("b/bank").tell(peer.Deposit(account="x", amount=2))
            assert await balance(a) == 2
            assert proxy.reset_all() == 1
            with anyio.fail_after(5):
                while True:
                    try:
                        await a.ref("b/bank").tell(peer.Deposit(account="x", amount=3))
                        assert await balance(a, timeout=0.5) == 5
                        break
                    except (NoRoute, TimeoutError):
                        await anyio.sleep(0.02)
            assert net_a.statistics()[("a", "b")].connects >= 2


async def test_silent_peer_is_detected_by_heartbeats_and_asks_fail_fast() -> None:
    settings = {"heartbeat_interval": 0.05, "heartbeat_timeout": 0.3, "handshake_timeout": 0.3}
    async with network(**settings) as net_b, ActorSystem("b", transport=net_b) as b:
        b.spawn(peer.Bank, name="bank")
        async with (
            FaultProxy(net_b.address("b"), seed=6) as proxy,
            network(peers={"b": proxy.address}, **settings) as net_a,
            ActorSystem("a", transport=net_a) as a,
        ):
            assert await balance(a) == 0
            proxy.upstream.black_hole = True
            proxy.downstream.black_hole = True
            with anyio.fail_after(3):
                with pytest.raises(NoRoute):
                    await a.ref("b/bank").ask(peer.GetBalance(account="x"), timeout=30)
            await eventually(lambda: net_a.statistics()[("a", "b")].state == "down")
            proxy.upstream.black_hole = False
            proxy.downstream.black_hole = False
            with anyio.fail_after(5):
                while True:
                    try:
                        assert await balance(a, timeout=0.5) == 0
                        break
                    except (NoRoute, TimeoutError):
                        await anyio.sleep(0.02)


# -- backpressure and lanes ------------------------------------------------------------------


class _StuckInbound:
    """An inbound whose delivery waits until released (a slow reader)."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.received: list[Envelope] = []

    async def deliver(self, envelope: Envelope) -> None:
        await self.release.wait()
        self.received.append(envelope)

    def deliver_nowait(self, envelope: Envelope) -> None:
        self.received.append(envelope)


async def test_slow_reader_backpressures_the_sender_with_a_fixed_buffer() -> None:
    queue, window = 16, 8
    async with network(send_queue=queue, window=window) as net:
        slow = _StuckInbound()
        await net.attach("b", slow)
        sender = await net.attach("a", _StuckInbound())
        message = peer.Deposit(account="x", amount=1)
        sent = 0
        with anyio.fail_after(5):
            while True:
                try:
                    sender.send_nowait(Envelope(Address("b", "bank"), message))
                except SendQueueFull as full:
                    assert full.capacity == queue
                    # Credit drains the queue into the window: wait for that, then retry.
                    await anyio.sleep(0.1)
                    try:
                        sender.send_nowait(Envelope(Address("b", "bank"), message))
                    except SendQueueFull:
                        break
                sent += 1
        # The window (minus the one the reader holds) plus the full queue: nothing more.
        assert queue + window <= sent + 1 <= queue + window + 2
        stats = net.statistics()[("a", "b")]
        assert stats.queued == queue
        assert stats.credit == 0
        # `await send` waits, and goes through once the reader catches up.
        done = anyio.Event()

        async def one_more() -> None:
            await sender.send(Envelope(Address("b", "bank"), message))
            done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(one_more)
            await anyio.sleep(0.05)
            assert not done.is_set()
            slow.release.set()
        await eventually(lambda: len(slow.received) == sent + 1)


async def test_large_message_does_not_hold_back_small_ones_and_pairs_keep_order() -> None:
    big = "x" * (2 * 1024 * 1024)
    async with network() as net_b, ActorSystem("b", transport=net_b) as b:
        b.spawn(peer.Bank, name="bank")
        async with (
            FaultProxy(net_b.address("b"), seed=8) as proxy,
            network(
                peers={"b": proxy.address}, large_message=32 * 1024, chunk_size=16 * 1024
            ) as net_a,
            ActorSystem("a", transport=net_a) as a,
        ):
            assert await balance(a) == 0
            proxy.upstream.bandwidth = 8 * 1024 * 1024  # the big one takes about 0.25 s
            bank = a.ref("b/bank")
            # From the system's own sender ($ask / no actor): a big blob then a small tag.
            await bank.tell(peer.Blob(tag="big", data=big))
            await bank.tell(peer.Blob(tag="after-big", data=""))
            # From another pair (an ask, whose sender differs): it overtakes the big one.
            log = await bank.ask(peer.GetLog(), expect=peer.Log, timeout=5)
            assert "big" not in log.entries
            with anyio.fail_after(5):
                while True:
                    log = await bank.ask(peer.GetLog(), expect=peer.Log)
                    if "after-big" in log.entries:
                        break
                    await anyio.sleep(0.02)
            assert log.entries == ["big", "after-big"]


# -- composition -----------------------------------------------------------------------------


async def test_message_faults_compose_over_tcp_with_socket_faults() -> None:
    from mesh_actors import RealClock

    async with network() as net_b, ActorSystem("b", transport=net_b) as b:
        b.spawn(peer.Bank, name="bank")
        async with FaultProxy(net_b.address("b"), seed=9) as proxy:
            # Socket level: every write cut into 1..7-byte pieces, with latency and jitter.
            proxy.upstream.slice_size = 7
            proxy.upstream.latency = 0.002
            proxy.upstream.jitter = 0.003
            inner = network(peers={"b": proxy.address})
            # Message level: every envelope from a to b is duplicated.
            faulty = FaultyNetwork(
                inner, clock=RealClock(), seed=9, links={("a", "b"): LinkFaults(duplicate=1.0)}
            )
            # The TCP network is entered first, so that it outlives the wrapper's own scope.
            async with inner, faulty, ActorSystem("a", transport=faulty) as a:
                bank = a.ref("b/bank")
                for n in range(20):
                    await bank.tell(peer.Deposit(account="x", amount=n))
                with anyio.fail_after(10):
                    log = await bank.ask(peer.GetLog(), expect=peer.Log, timeout=10)
                # Each deposit arrived twice, in order, through sliced and delayed bytes.
                assert log.entries == [f"deposit:x:{n}" for n in range(20) for _ in range(2)]
                assert faulty.statistics()[("a", "b")].duplicated == 21
                assert proxy.statistics().bytes_up > 0


async def test_down_peer_raises_peer_unreachable_to_the_endpoint() -> None:
    async with network(peers={"b": ("127.0.0.1", 9)}) as net:
        endpoint = await net.attach("a", _StuckInbound())
        envelope = Envelope(Address("b", "bank"), peer.Deposit(account="x", amount=1))
        await endpoint.send(envelope)  # queued while the first dial is under way
        await eventually(lambda: net.statistics()[("a", "b")].state == "down")
        with pytest.raises(PeerUnreachable) as raised:
            endpoint.send_nowait(envelope)
        assert isinstance(raised.value, LookupError)
        assert "b" not in net.systems()
        assert net.statistics()[("a", "b")].discarded == 1


async def test_a_client_restarted_elsewhere_gets_its_first_reply() -> None:
    # The server's link to the old client is still re-dialling its dead port when the new
    # client (same name, new port and incarnation) asks: the reply must wait for the new
    # address, not be discarded with the old one.
    async with network() as net_b, ActorSystem("b", transport=net_b) as b:
        b.spawn(peer.Bank, name="bank")
        for _ in range(4):
            async with (
                network(peers={"b": net_b.address("b")}) as net_a,
                ActorSystem("a", transport=net_a) as a,
            ):
                assert await balance(a, timeout=3) == 0
