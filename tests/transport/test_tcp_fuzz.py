"""Fuzzing the frame decoder and the handshake with Hypothesis.

Whatever bytes arrive, the decoder raises only `MalformedFrame` or `FrameTooLarge` and the
handshake only `HandshakeRefused`; valid frames survive any cutting of the stream; wrong
versions, replays and forged or altered proofs are refused with their named reason; and a
running server refuses garbage connection by connection while it keeps serving its peers.
The long run (over a million inputs) is marked ``slow``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mesh_actors import Actor, ActorSystem, Message, MessageRegistry, handler
from transport import (
    ClientHandshake,
    FrameDecoder,
    FrameTooLarge,
    FrameType,
    HandshakeRefused,
    JsonCodec,
    MalformedFrame,
    ReplayGuard,
    ServerHandshake,
    TcpNetwork,
    encode_frame,
)

SECRET = b"fuzz-secret-0123456789abcdefghij"
LIMITS = {FrameType.DATA: 1000, FrameType.KEEPALIVE: 0, FrameType.CREDIT: 4}


def client(nonce: bytes | None = None, **overrides: Any) -> ClientHandshake:
    settings_: dict[str, Any] = {
        "secret": SECRET,
        "system": "a",
        "incarnation": "0123456789abcdef",
        "target": "b",
        "codec": "JsonCodec",
        "listen": ("127.0.0.1", 7001),
    }
    settings_.update(overrides)
    return ClientHandshake(nonce=nonce, **settings_)


def server(guard: ReplayGuard | None = None, **overrides: Any) -> ServerHandshake:
    settings_: dict[str, Any] = {
        "secret": SECRET,
        "system": "b",
        "incarnation": "fedcba9876543210",
        "codec": "JsonCodec",
    }
    settings_.update(overrides)
    return ServerHandshake(replay_guard=guard if guard is not None else ReplayGuard(), **settings_)


# -- the frame decoder -----------------------------------------------------------------------


frames_strategy = st.lists(
    st.one_of(
        st.tuples(st.just(FrameType.DATA), st.binary(max_size=1000)),
        st.tuples(st.just(FrameType.KEEPALIVE), st.just(b"")),
        st.tuples(st.just(FrameType.CREDIT), st.binary(min_size=4, max_size=4)),
    ),
    max_size=20,
)


@given(frames=frames_strategy, cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_valid_frames_survive_any_cutting_of_the_stream(
    frames: list[tuple[FrameType, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(encode_frame(kind, payload) for kind, payload in frames)
    points = sorted({cut % (len(stream) + 1) for cut in cuts} | {0, len(stream)})
    decoder = FrameDecoder(LIMITS)
    out: list[tuple[FrameType, bytes]] = []
    for start, end in itertools.pairwise(points):
        out += decoder.feed(stream[start:end])
    assert out == frames
    assert decoder.buffered == 0
    decoder.check_eof()


def decode_everything(data: bytes, step: int) -> None:
    """Feed ``data`` in pieces of ``step`` bytes, then check the end; raise what it raises."""
    decoder = FrameDecoder(LIMITS)
    for start in range(0, len(data), step):
        decoder.feed(data[start : start + step])
    decoder.check_eof()


@given(data=st.binary(max_size=3000), step=st.integers(min_value=1, max_value=64))
@example(data=b"\xff\xff\xff\xff\x10", step=5)  # 4 GiB announced: refused after the header
@example(data=b"\x00\x00\x00\x00\x63", step=1)  # unknown type
@example(data=encode_frame(FrameType.DATA, b"x" * 10)[:-1], step=3)  # half-written frame
def test_garbage_is_refused_with_a_named_error_only(data: bytes, step: int) -> None:
    with contextlib.suppress(MalformedFrame, FrameTooLarge):
        decode_everything(data, step)


@given(length=st.integers(min_value=1001, max_value=2**32 - 1))
def test_oversize_is_refused_from_the_header_alone(length: int) -> None:
    decoder = FrameDecoder(LIMITS)
    header = length.to_bytes(4, "big") + bytes([FrameType.DATA])
    with pytest.raises(FrameTooLarge) as raised:
        decoder.feed(header)
    assert raised.value.size == length
    assert raised.value.limit == 1000
    # Broken for good: the stream has lost its framing.
    with pytest.raises(FrameTooLarge):
        decoder.feed(b"")


# -- the handshake ---------------------------------------------------------------------------


def test_a_genuine_handshake_succeeds_both_ways() -> None:
    dialer, listener = client(), server()
    challenge = listener.challenge(dialer.hello())
    auth, listener_info = dialer.answer(challenge)
    dialer_info = listener.verify(auth)
    assert (listener_info.system, listener_info.incarnation) == ("b", "fedcba9876543210")
    assert dialer_info.system == "a"
    assert dialer_info.listen == ("127.0.0.1", 7001)
    assert SECRET.hex() not in (dialer.hello() + challenge + auth).hex()
    assert SECRET not in dialer.hello() + challenge + auth


@given(hello=st.binary(max_size=5000))
def test_garbage_hello_is_refused(hello: bytes) -> None:
    with pytest.raises(HandshakeRefused):
        server().challenge(hello)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@given(key=st.sampled_from(sorted(json.loads(client().hello()))), value=json_values)
def test_altered_hello_fields_are_refused_or_caught_by_the_proof(key: str, value: Any) -> None:
    dialer = client()
    document = json.loads(dialer.hello())
    if document[key] == value:
        return
    document[key] = value
    altered = json.dumps(document).encode()
    listener = server()
    try:
        challenge = listener.challenge(altered)
    except HandshakeRefused:
        return
    # The listener accepted the altered fields: the proofs (over the bytes each side saw)
    # must then fail, so no one can change a field in transit unnoticed.
    with pytest.raises(HandshakeRefused) as raised:
        dialer.answer(challenge)
    assert raised.value.reason == "authentication"


@given(version=st.integers().filter(lambda v: v != 1) | st.text(max_size=5) | st.none())
def test_wrong_version_is_refused_as_version(version: Any) -> None:
    document = json.loads(client().hello())
    document["version"] = version
    with pytest.raises(HandshakeRefused) as raised:
        server().challenge(json.dumps(document).encode())
    assert raised.value.reason == "version"


@given(auth=st.binary(max_size=64))
def test_forged_auth_is_refused(auth: bytes) -> None:
    listener = server()
    listener.challenge(client().hello())
    with pytest.raises(HandshakeRefused) as raised:
        listener.verify(auth)
    assert raised.value.reason == "authentication"


@given(challenge=st.binary(max_size=5000))
def test_garbage_challenge_is_refused_by_the_dialer(challenge: bytes) -> None:
    with pytest.raises(HandshakeRefused):
        client().answer(challenge)


def test_replayed_hello_and_auth_are_refused() -> None:
    guard = ReplayGuard()
    dialer = client(nonce=b"\x01" * 32)
    listener = server(guard)
    auth, _ = dialer.answer(listener.challenge(dialer.hello()))
    listener.verify(auth)
    # The same HELLO again, on a new connection to the same listener: refused at once.
    with pytest.raises(HandshakeRefused) as raised:
        server(guard).challenge(dialer.hello())
    assert raised.value.reason == "replay"
    # A listener that forgot the nonce still refuses the recorded AUTH: its nonce is new.
    fresh = server(ReplayGuard())
    fresh.challenge(dialer.hello())
    with pytest.raises(HandshakeRefused) as raised:
        fresh.verify(auth)
    assert raised.value.reason == "authentication"


def test_wrong_secret_fails_on_both_sides() -> None:
    # A dialer with the wrong secret refuses the honest listener's proof...
    dialer = client(secret=b"not-the-secret-0123456789")
    with pytest.raises(HandshakeRefused) as raised:
        dialer.answer(server().challenge(dialer.hello()))
    assert raised.value.reason == "authentication"
    # ... and a listener with the wrong secret refuses an honest dialer's AUTH (computed over
    # the impostor's own challenge, so only the secret differs).
    honest = client()
    impostor = server(secret=b"not-the-secret-0123456789")
    challenge = impostor.challenge(honest.hello())
    with pytest.raises(HandshakeRefused):
        honest.answer(challenge)
    with pytest.raises(HandshakeRefused) as raised:
        impostor.verify(b"\x00" * 32)
    assert raised.value.reason == "authentication"


# -- the long run ----------------------------------------------------------------------------


def _mutate(rng: random.Random, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.3 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.5 and data:
            del data[rng.randrange(len(data)) :]
        elif choice < 0.7:
            data[rng.randrange(len(data) + 1) : 0] = rng.randbytes(rng.randint(1, 16))
        elif choice < 0.85 and data:
            start = rng.randrange(len(data))
            del data[start : start + rng.randint(1, 8)]
        else:
            data += rng.randbytes(rng.randint(0, 32))
    return bytes(data)


INPUTS_PER_SEED = 500


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(min_value=0, max_value=2**64))
def test_a_million_mutated_inputs_are_refused_by_name(seed: int) -> None:
    """2,000 seeds x 500 inputs = 1,000,000 mutations of valid frames and handshakes."""
    rng = random.Random(seed)
    dialer = client(nonce=rng.randbytes(32))
    guard = ReplayGuard()
    hello = dialer.hello()
    challenge = server(guard, nonce=rng.randbytes(32)).challenge(hello)
    stream = encode_frame(FrameType.DATA, b"x" * 100) + encode_frame(FrameType.CREDIT, b"1234")
    for n in range(INPUTS_PER_SEED):
        target = n % 4
        if target == 0:
            with contextlib.suppress(MalformedFrame, FrameTooLarge):
                decode_everything(_mutate(rng, stream), rng.randint(1, 64))
        elif target == 1:
            with contextlib.suppress(HandshakeRefused):
                server(guard).challenge(_mutate(rng, hello))
        elif target == 2:
            with contextlib.suppress(HandshakeRefused):
                client().answer(_mutate(rng, challenge))
        else:
            listener = server(ReplayGuard())
            listener.challenge(hello)
            with pytest.raises(HandshakeRefused):
                listener.verify(_mutate(rng, b"\x00" * 32))


# -- a live server ---------------------------------------------------------------------------


class Ping(Message):
    type_name = "tests.tcp_fuzz.Ping"


class Echo(Actor[Ping]):
    @handler
    def on_ping(self, message: Ping) -> Ping:
        return message


def _net(**extra: Any) -> TcpNetwork:
    return TcpNetwork(
        secret=SECRET,
        codec=JsonCodec(MessageRegistry([Ping]), max_frame_size=4096),
        heartbeat_interval=0.1,
        heartbeat_timeout=1.0,
        handshake_timeout=0.5,
        **extra,
    )


async def _serve_garbage(garbage: list[bytes]) -> None:
    async with _net() as net_b, ActorSystem("b", transport=net_b) as b:
        b.spawn(Echo, name="echo")
        async with (
            _net(peers={"b": net_b.address("b")}) as net_a,
            ActorSystem("a", transport=net_a) as a,
        ):
            echo = a.ref("b/echo")
            assert await echo.ask(Ping(), timeout=5) == Ping()
            for chunk in garbage:
                async with await anyio.connect_tcp(*net_b.address("b")) as stream:
                    await stream.send(chunk)
                    await stream.send_eof()
                    with anyio.fail_after(3):
                        try:
                            while await stream.receive():
                                pass
                        except (anyio.EndOfStream, anyio.BrokenResourceError):
                            pass  # closed by the server: that is the point
                assert await echo.ask(Ping(), timeout=5) == Ping()
            refused = net_b.endpoint_statistics("b").refused
            assert sum(refused.values()) == len(garbage)
            assert set(refused) <= {"HandshakeRefused", "MalformedFrame", "FrameTooLarge"}


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    garbage=st.lists(
        st.one_of(
            st.binary(min_size=1, max_size=200),
            st.builds(
                lambda payload: encode_frame(FrameType.HELLO, payload),
                st.binary(max_size=200),
            ),
            st.just(b"\x00\x10\x00\x00\x01"),  # a HELLO header announcing too much
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_server_refuses_garbage_connections_and_keeps_serving(
    backend: str, garbage: list[bytes]
) -> None:
    anyio.run(_serve_garbage, garbage, backend=backend)
