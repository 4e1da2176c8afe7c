"""The NATS transport's own faults: backend, credentials, server loss, oversize, no responders.

Tests that kill the server start their own (`NatsServer`) rather than the session's.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nats.aio.msg import Msg

from mesh_actors import (
    Actor,
    ActorSystem,
    Address,
    Envelope,
    EnvelopeKind,
    MailboxConfig,
    Message,
    MessageRegistry,
    NoRoute,
    handler,
)
from transport import (
    AuthenticationFailed,
    BrokerUnavailable,
    FrameTooLarge,
    JsonCodec,
    NatsServer,
    NatsTransport,
    UnknownSystem,
    UnsupportedBackend,
)

pytestmark = pytest.mark.anyio


class Ping(Message):
    type_name = "nats-test.Ping"
    text: str


class Pong(Message):
    type_name = "nats-test.Pong"
    text: str


class Blob(Message):
    type_name = "nats-test.Blob"
    data: str


class Numbered(Message):
    type_name = "nats-test.Numbered"
    n: int
    padding: str


class Nap(Message):
    """Its handler sleeps ``seconds`` (real time) before answering ``None``."""

    type_name = "nats-test.Nap"
    seconds: float


REGISTRY = MessageRegistry((Ping, Pong, Blob, Nap, Numbered))

ASK_TIMEOUT = 10.0
# "At once" on a loaded machine: far below the ask timeout, well above a round trip.
FAST = 2.0


class Echo(Actor[Ping | Blob | Nap]):
    @handler
    def on_ping(self, message: Ping) -> Pong:
        return Pong(text=message.text)

    @handler
    def on_blob(self, message: Blob) -> None:
        return None

    @handler
    async def on_nap(self, message: Nap) -> None:
        await anyio.sleep(message.seconds)


def _transport(url: str, prefix: str, **options: object) -> NatsTransport:
    codec = JsonCodec(REGISTRY, max_frame_size=8 * 1024 * 1024)
    return NatsTransport(url, prefix=prefix, codec=codec, **options)  # type: ignore[arg-type]


@asynccontextmanager
async def two_systems(
    url: str, prefix: str
) -> AsyncIterator[tuple[ActorSystem, NatsTransport, NatsTransport]]:
    """System ``a`` and system ``b`` (with ``b/echo`` and ``b/slow``), each on its own
    connection: yields ``a`` and the two transports (``a``'s first)."""
    async with (
        _transport(url, prefix, reconnect_time_wait=0.1) as near,
        _transport(url, prefix, reconnect_time_wait=0.1) as far,
        ActorSystem("a", transport=near, ask_timeout=ASK_TIMEOUT) as a,
        ActorSystem("b", transport=far, ask_timeout=ASK_TIMEOUT, stop_timeout=1) as b,
    ):
        b.spawn(Echo, name="echo")
        b.spawn(Echo, name="slow")
        await wait_for(lambda: "b" in near.systems())
        yield a, near, far


async def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` (real time) until it holds; fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await anyio.sleep(0.02)
    assert condition(), f"condition not met within {timeout}s"


# -- backend ---------------------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_is_refused_with_a_named_error(nats_server: NatsServer) -> None:
    with pytest.raises(UnsupportedBackend, match="asyncio"):
        NatsTransport(nats_server.url)


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_transport_built_outside_a_loop_is_refused_when_entered_under_trio(
    nats_server: NatsServer,
) -> None:
    transport = await anyio.to_thread.run_sync(lambda: NatsTransport(nats_server.url))
    with pytest.raises(UnsupportedBackend, match="asyncio"):
        async with transport:
            pass  # pragma: no cover - entering must fail


# -- credentials -----------------------------------------------------------------------------


async def test_wrong_password_is_refused_and_the_right_one_connects() -> None:
    with NatsServer(user="alice", password="s3cret") as server:
        with pytest.raises(AuthenticationFailed):
            async with NatsTransport(server.url, user="alice", password="wrong"):
                pass  # pragma: no cover
        with pytest.raises(AuthenticationFailed):
            async with NatsTransport(server.url):
                pass  # pragma: no cover
        async with NatsTransport(server.url, user="alice", password="s3cret") as transport:
            assert transport.connected


async def test_wrong_token_is_refused_and_the_right_one_connects() -> None:
    with NatsServer(token="t0ken") as server:
        with pytest.raises(AuthenticationFailed):
            async with NatsTransport(server.url, token="nope"):
                pass  # pragma: no cover
        async with NatsTransport(server.url, token="t0ken") as transport:
            assert transport.connected


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_options_reach_the_client(tmp_path: Path, subject_prefix: str) -> None:
    cert, key = _self_signed(tmp_path)
    with NatsServer(tls_cert=cert, tls_key=key) as server:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with (
            NatsTransport(server.url, prefix=subject_prefix, tls=trusting) as near,
            NatsTransport(server.url, prefix=subject_prefix, tls=trusting) as far,
            ActorSystem("a", transport=near, ask_timeout=ASK_TIMEOUT) as a,
            ActorSystem("b", transport=far, ask_timeout=ASK_TIMEOUT) as b,
        ):
            b.spawn(Echo, name="echo")
            await wait_for(lambda: "b" in near.systems())
            assert await a.ref("b/echo").ask(Ping(text="tls"), expect=Pong) == Pong(text="tls")
        # A client that does not trust the certificate cannot connect.
        with pytest.raises(BrokerUnavailable):
            untrusting = ssl.create_default_context()
            async with NatsTransport(server.url, tls=untrusting, connect_timeout=1):
                pass  # pragma: no cover


async def test_no_server_is_a_named_error() -> None:
    with NatsServer() as server:
        url = server.url
    with pytest.raises(BrokerUnavailable):
        async with NatsTransport(url, connect_timeout=1):
            pass  # pragma: no cover


# -- frames ----------------------------------------------------------------------------------


async def test_frame_over_the_servers_max_payload_is_refused_before_publishing(
    nats_server: NatsServer, subject_prefix: str
) -> None:
    async with two_systems(nats_server.url, subject_prefix) as (a, transport, _):
        # The codec would take 8 MiB; the server takes 1 MiB (its default max_payload).
        assert transport.max_frame_size == 1024 * 1024
        # A raw subscriber proves nothing reaches the wire.
        seen: list[bytes] = []
        nc = await nats.connect(nats_server.url)
        try:
            sub = await nc.subscribe(transport.subject("b"), cb=_collect(seen))
            await nc.flush()
            echo = a.ref("b/echo")
            with pytest.raises(FrameTooLarge) as raised:
                await echo.tell(Blob(data="x" * (2 * 1024 * 1024)))
            assert raised.value.limit == 1024 * 1024
            with pytest.raises(FrameTooLarge):
                await echo.ask(Blob(data="x" * (2 * 1024 * 1024)))
            assert await echo.ask(Ping(text="after"), expect=Pong) == Pong(text="after")
            await nc.flush()
            await sub.unsubscribe()
        finally:
            await nc.close()
        assert all(len(frame) < 1024 for frame in seen)


def _collect(into: list[bytes]) -> Callable[[Msg], Awaitable[None]]:
    async def collect(msg: Msg) -> None:
        into.append(msg.data)

    return collect


class Collector(Actor[Numbered]):
    def __init__(self, seen: list[int]) -> None:
        self._seen = seen

    @handler
    def on_numbered(self, message: Numbered) -> None:
        self._seen.append(message.n)


async def test_nowait_burst_beyond_the_client_buffer_keeps_its_order(
    nats_server: NatsServer, subject_prefix: str
) -> None:
    seen: list[int] = []
    count = 150
    async with (
        _transport(nats_server.url, subject_prefix) as near,
        _transport(nats_server.url, subject_prefix) as far,
        ActorSystem("a", transport=near, ask_timeout=ASK_TIMEOUT) as a,
        ActorSystem("b", transport=far, ask_timeout=ASK_TIMEOUT) as b,
    ):
        b.spawn(lambda: Collector(seen), name="collector", mailbox=MailboxConfig(count))
        await wait_for(lambda: "b" in near.systems())
        collector = a.ref("b/collector")
        padding = "x" * 30_000
        # 150 x 30 kB without yielding: past nats-py's 2 MiB buffer, whose publish then
        # suspends to flush; the rest of those publishes must not overtake the next ones.
        for n in range(count):
            collector.tell_nowait(Numbered(n=n, padding=padding))
        await collector.tell(Numbered(n=count, padding=""))
        await wait_for(lambda: len(seen) == count + 1)
        assert seen == list(range(count + 1))


# -- no responders ---------------------------------------------------------------------------


async def test_no_responders_fails_the_ask_at_once(
    nats_server: NatsServer, subject_prefix: str
) -> None:
    async with (
        _transport(nats_server.url, subject_prefix) as transport,
        ActorSystem("a", transport=transport, ask_timeout=ASK_TIMEOUT) as a,
    ):
        # A system announced by a peer that then vanished without a word: the presence
        # table still lists it, only the server knows no one holds its subject.
        nc = await nats.connect(nats_server.url)
        try:
            # A name no system could have is not taken in (it arrives first, so by the
            # time the ghost is known it has been looked at).
            await nc.publish(f"{subject_prefix}.presence", b"up somebody no*such/name")
            await nc.publish(f"{subject_prefix}.presence", b"up somebody ghost")
            await nc.flush()
        finally:
            await nc.close()
        await wait_for(lambda: "ghost" in transport.systems())
        assert transport.systems() == {"a", "ghost"}
        started = time.monotonic()
        with pytest.raises(NoRoute):
            await a.ref("ghost/actor").ask(Ping(text="?"))
        assert time.monotonic() - started < FAST
        # Written off: the next send is refused without asking the server.
        assert "ghost" not in transport.systems()
        with pytest.raises(NoRoute):
            await a.ref("ghost/actor").ask(Ping(text="?"))


async def test_endpoint_send_raises_unknown_system_for_no_responders(
    nats_server: NatsServer, subject_prefix: str
) -> None:
    async with _transport(nats_server.url, subject_prefix) as transport:
        endpoint = await transport.attach("lonely", _Inbound())
        nc = await nats.connect(nats_server.url)
        try:
            await nc.publish(f"{subject_prefix}.presence", b"up somebody ghost")
            await nc.flush()
        finally:
            await nc.close()
        await wait_for(lambda: "ghost" in transport.systems())
        ask = Envelope(
            Address("ghost", "x"), Ping(text="?"), Address("lonely", "$ask"), 1, EnvelopeKind.ASK
        )
        with pytest.raises(UnknownSystem):
            await endpoint.send(ask)
        await endpoint.aclose()


class _Inbound:
    async def deliver(self, envelope: object) -> None:
        pass

    def deliver_nowait(self, envelope: object) -> None:
        pass


# -- server restart --------------------------------------------------------------------------


async def test_server_restart_fails_asks_fast_and_traffic_resumes(subject_prefix: str) -> None:
    with NatsServer() as server:
        async with two_systems(server.url, subject_prefix) as (a, near, far):
            echo = a.ref("b/echo")
            assert await echo.ask(Ping(text="before"), expect=Pong) == Pong(text="before")

            # An ask in flight when the server dies fails with the named error, not a hang:
            # it takes its handler 30 s, so it is still waiting when the server goes.
            slow = a.ref("b/slow")
            failures: list[BaseException] = []
            ended = anyio.Event()

            async def in_flight() -> None:
                try:
                    await slow.ask(Nap(seconds=30), timeout=60)
                except BrokerUnavailable as exc:
                    failures.append(exc)
                finally:
                    ended.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(in_flight)
                await anyio.sleep(0.3)
                server.kill()
                killed = time.monotonic()
                with anyio.fail_after(FAST):
                    await ended.wait()
            assert time.monotonic() - killed < FAST
            assert len(failures) == 1

            # While it is down, asks and tells fail at once with the named error.
            await wait_for(lambda: not near.connected)
            started = time.monotonic()
            with pytest.raises(BrokerUnavailable):
                await echo.ask(Ping(text="down"))
            with pytest.raises(BrokerUnavailable):
                await echo.tell(Ping(text="down"))
            assert time.monotonic() - started < FAST

            # Back on the same port: both transports reconnect on their own.
            server.start()
            await wait_for(lambda: near.connected)
            await wait_for(lambda: far.connected)

            async def answered() -> bool:
                try:
                    reply = await echo.ask(Ping(text="after"), timeout=1)
                    return bool(reply == Pong(text="after"))
                except (BrokerUnavailable, NoRoute, TimeoutError):
                    return False

            for _ in range(150):
                if await answered():
                    break
                await anyio.sleep(0.1)
            else:
                pytest.fail("no answer within 15 s of the server's restart")
