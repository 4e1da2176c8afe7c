"""The TCP transport passes the conformance suite, in plain TCP and over TLS, on asyncio and
trio. Every envelope crosses a real loopback socket, even between systems attached to the
same network object."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from mesh_actors import Clock, Message, MessageRegistry, RealClock
from transport import (
    ClientHandshake,
    Codec,
    FrameDecoder,
    FrameType,
    JsonCodec,
    TcpNetwork,
    Transport,
    encode_frame,
)
from transport.testing import TransportConformance


class Quiet(Message):
    type_name = "tests.tcp_tls.Quiet"


SECRET = b"conformance-secret-0123456789"


async def inject_raw_frame(network: TcpNetwork, source: str, target: str, frame: bytes) -> None:
    """Dial ``target`` as ``source`` (same incarnation, so it is not taken for a restart),
    pass the handshake, write ``frame`` as one DATA frame and hang up a moment later."""
    host, port = network.address(target)
    async with await anyio.connect_tcp(host, port) as stream:
        handshake = ClientHandshake(
            secret=SECRET,
            system=source,
            incarnation=network.incarnation(source),
            target=target,
            codec="JsonCodec",
        )
        decoder = FrameDecoder(
            {FrameType.CHALLENGE: 4096, FrameType.ACCEPT: 4, FrameType.REFUSE: 256}
        )
        await stream.send(encode_frame(FrameType.HELLO, handshake.hello()))
        frames: list[tuple[FrameType, bytes]] = []
        while not frames:
            frames = decoder.feed(await stream.receive())
        auth, _ = handshake.answer(frames[0][1])
        await stream.send(encode_frame(FrameType.AUTH, auth))
        frames = []
        while not frames:
            frames = decoder.feed(await stream.receive())
        assert frames[0][0] is FrameType.ACCEPT
        await stream.send(encode_frame(FrameType.DATA, frame))
        # Wait for the listener to act on it (deliver, or refuse and close).
        with anyio.move_on_after(0.2):
            try:
                while True:
                    await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                pass  # refused and closed: that is one of the expected outcomes


class TestTcpNetwork(TransportConformance):
    send_queue: ClassVar[int] = 8
    window: ClassVar[int] = 8
    buffered_envelopes: ClassVar[int] = 8 + 8 + 2

    def make_codec(self, registry: MessageRegistry) -> Codec:
        return JsonCodec(registry, max_frame_size=64 * 1024)

    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        return TcpNetwork(
            secret=SECRET,
            codec=self.make_codec(registry),
            send_queue=self.send_queue,
            window=self.window,
            large_message=16 * 1024,
            chunk_size=4 * 1024,
            heartbeat_interval=0.25,
            heartbeat_timeout=2.0,
            backoff_initial=0.01,
            backoff_max=0.1,
            seed=3,
            **self.tls(),
        )

    def tls(self) -> dict[str, Any]:
        return {}

    @asynccontextmanager
    async def run_clock(self) -> AsyncIterator[Clock]:
        yield RealClock()

    async def settle(self, clock: Clock) -> None:
        # Real sockets: give the loopback a moment (bounded, short).
        await anyio.sleep(0.1)

    async def inject_frame(
        self, transport: Transport, source: str, target: str, frame: bytes
    ) -> None:
        assert isinstance(transport, TcpNetwork)
        await inject_raw_frame(transport, source, target, frame)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (PEM files), made with
    ``cryptography``; skips the calling test if that is not installed."""
    crypto = pytest.importorskip("cryptography", reason="cryptography is needed to make a cert")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mesh-actors test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def tls_contexts(directory: Path) -> dict[str, Any]:
    cert, key = self_signed(directory)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    return {"ssl_server": server, "ssl_client": client}


class TestTcpNetworkOverTls(TestTcpNetwork):
    """The same suite with TLS under the handshake (a self-signed certificate)."""

    @pytest.fixture(autouse=True)
    def _certificate(self, tmp_path: Path) -> None:
        self._contexts = tls_contexts(tmp_path)

    def tls(self) -> dict[str, Any]:
        return self._contexts

    async def inject_frame(
        self, transport: Transport, source: str, target: str, frame: bytes
    ) -> None:
        pytest.skip("raw frames are injected over plain TCP (covered by TestTcpNetwork)")


@pytest.mark.anyio
async def test_a_plain_dialer_is_refused_by_a_tls_listener(tmp_path: Path) -> None:
    from mesh_actors import ActorSystem, NoRoute

    contexts = tls_contexts(tmp_path)
    registry = MessageRegistry([Quiet])
    tls = TcpNetwork(secret=SECRET, codec=JsonCodec(registry), handshake_timeout=1, **contexts)
    async with tls, ActorSystem("b", transport=tls):
        plain = TcpNetwork(secret=SECRET, codec=JsonCodec(registry), peers={"b": tls.address("b")})
        async with plain, ActorSystem("a", transport=plain) as a:
            with anyio.fail_after(5), pytest.raises(NoRoute):
                await a.ref("b/x").ask(Quiet(), timeout=30)
        with anyio.fail_after(3):
            while not tls.endpoint_statistics("b").refused:  # noqa: ASYNC110 - a counter
                await anyio.sleep(0.01)
        assert set(tls.endpoint_statistics("b").refused) == {"HandshakeRefused"}
