"""JsonCodec: envelopes round-trip equal; every refusal is a named CodecError, whatever comes."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, field_validator
from pydantic_core import core_schema

from mesh_actors import (
    Address,
    Envelope,
    EnvelopeKind,
    Failure,
    HandlerError,
    Message,
    MessageRegistry,
    Terminated,
    Unwatch,
    Watch,
)
from transport import (
    CodecError,
    FrameTooLarge,
    JsonCodec,
    MalformedFrame,
    TransportError,
    UnencodableMessage,
    UnknownMessageType,
)

# Hypothesis must not write its example database into the repository.
_SETTINGS = settings(database=None, max_examples=300, deadline=None)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Inner(Message):
    type_name = "codec-test.inner"
    label: str
    weight: int


class Rich(Message):
    type_name = "codec-test.rich"
    amount: int
    ratio: Decimal
    data: bytes
    pair: tuple[int, str]
    tags: frozenset[str]
    by_height: dict[int, str]
    colour: Colour
    when: datetime.datetime
    inner: Inner
    maybe: Inner | None = None
    sender_: str = Field(alias="from")
    ratio_f: float = 0.5


class Ping(Message):
    type_name = "codec-test.ping"
    text: str


class Picky(Message):
    """A message whose validator raises something pydantic does not wrap."""

    type_name = "codec-test.picky"
    value: int

    @field_validator("value")
    @classmethod
    def _no_thirteen(cls, value: int) -> int:
        if value == 13:
            raise RuntimeError("unlucky")
        return value


class NotRegistered(Message):
    type_name = "codec-test.not-registered"


REGISTRY = MessageRegistry([Inner, Rich, Ping, Picky])
A = Address("alpha", "vault")
B = Address("beta", "chain/staking")


def rich() -> Rich:
    return Rich.model_validate(
        {
            "amount": 10**30,
            "ratio": Decimal("0.123456789012345678"),
            "data": b"bytes\x00",
            "pair": (1, "one"),
            "tags": frozenset({"x", "y"}),
            "by_height": {1: "a", 2: "b"},
            "colour": Colour.BLUE,
            "when": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
            "inner": Inner(label="l", weight=3),
            "from": "someone",
        }
    )


@pytest.fixture
def codec() -> JsonCodec:
    return JsonCodec(REGISTRY)


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "envelope",
    [
        Envelope(B, Ping(text="hi")),
        Envelope(B, rich(), A),
        Envelope(B, Ping(text="q"), Address("alpha", "$ask"), 7, EnvelopeKind.ASK),
        Envelope(Address("alpha", "$reply"), Ping(text="a"), B, 7, EnvelopeKind.REPLY),
        Envelope(Address("alpha", "$reply"), None, B, 8, EnvelopeKind.REPLY),
        Envelope(
            Address("alpha", "$reply"),
            Failure.from_exception(HandlerError("beta/x", "ValueError", "boom")),
            B,
            9,
            EnvelopeKind.FAILURE,
        ),
        Envelope(A, Terminated(address=str(B)), B),
        Envelope(Address("beta", "$watch"), Watch(watcher=str(A), target=str(B)), A),
        Envelope(Address("beta", "$watch"), Unwatch(watcher=str(A), target=str(B)), A),
    ],
    ids=[
        "tell",
        "tell-rich",
        "ask",
        "reply",
        "reply-none",
        "failure",
        "terminated",
        "watch",
        "unwatch",
    ],
)
def test_every_envelope_kind_round_trips_equal(codec: JsonCodec, envelope: Envelope) -> None:
    decoded = codec.decode(codec.encode(envelope))
    assert decoded == envelope
    assert type(decoded.message) is type(envelope.message)
    assert decoded.kind is envelope.kind


def test_runtime_messages_decode_without_being_registered() -> None:
    codec = JsonCodec(MessageRegistry())
    for message in (
        Failure(kind="not-found", actor="b/x", error_type="", message="gone"),
        Watch(watcher="a/w", target="b/t"),
        Unwatch(watcher="a/w", target="b/t"),
        Terminated(address="b/t"),
    ):
        envelope = Envelope(A, message, B)
        assert codec.decode(codec.encode(envelope)) == envelope


def test_wire_form_is_one_readable_json_object(codec: JsonCodec) -> None:
    frame = codec.encode(
        Envelope(B, Ping(text="hi"), Address("alpha", "$ask"), 3, EnvelopeKind.ASK)
    )
    assert frame == (
        b'{"version":1,"kind":"ask","recipient":"beta/chain/staking","sender":"alpha/$ask",'
        b'"correlation_id":3,"type":"codec-test.ping","body":{"text":"hi"}}'
    )


def test_registry_changes_after_construction_are_seen() -> None:
    registry = MessageRegistry()
    codec = JsonCodec(registry)
    with pytest.raises(UnknownMessageType):
        codec.encode(Envelope(B, Ping(text="x")))
    registry.register(Ping)
    assert codec.decode(codec.encode(Envelope(B, Ping(text="x")))) == Envelope(B, Ping(text="x"))


# -- refusals on encode --------------------------------------------------------------------


def test_encode_refuses_an_unregistered_message(codec: JsonCodec) -> None:
    with pytest.raises(UnknownMessageType) as raised:
        codec.encode(Envelope(B, NotRegistered()))
    assert raised.value.type_name == "codec-test.not-registered"


def test_encode_refuses_a_class_that_is_not_the_registered_one() -> None:
    class OtherPing(MessageRegistry):
        """Registers another class under Ping's type name (as a peer's registry might)."""

        def get(self, name: str) -> type[Message] | None:
            return Inner if name == Ping.type_name else super().get(name)

    codec = JsonCodec(OtherPing([Ping]))
    with pytest.raises(UnknownMessageType):
        codec.encode(Envelope(B, Ping(text="x")))


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


_CYCLE: list[Any] = []
_CYCLE.append(_CYCLE)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**80),
        1.5,
        -0.0,
        "",
        "five",
        [],
        {},
        [1, "two", 3.0, None, False, [{"deep": [1]}]],
        {"balance": 5, "history": [1, 2], "owner": {"name": "alice"}},
        _nested(32),
    ],
)
def test_a_reply_carries_a_plain_json_value(codec: JsonCodec, value: Any) -> None:
    """The README's first handler returns an ``int``: its reply must cross a wire."""
    envelope = Envelope(Address("alpha", "$reply"), value, B, 3, EnvelopeKind.REPLY)
    frame = codec.encode(envelope)
    decoded = codec.decode(frame)
    assert decoded == envelope
    assert type(decoded.message) is type(value)
    assert b'"type":null' in frame


def test_an_ask_carries_its_budget_and_frames_without_one_still_decode(codec: JsonCodec) -> None:
    ask = Envelope(B, Ping(text="q"), A, 7, EnvelopeKind.ASK, budget=0.25)
    frame_bytes = codec.encode(ask)
    assert b'"correlation_id":7,"budget":0.25,"type"' in frame_bytes
    assert codec.decode(frame_bytes) == ask
    assert codec.decode(frame(kind="ask", correlation_id=1)).budget is None
    assert codec.decode(frame(kind="ask", correlation_id=1, budget=3)).budget == 3.0


@pytest.mark.parametrize(
    "envelope",
    [
        Envelope(B, Ping(text="q"), A, 7, EnvelopeKind.ASK, deadline=5.0),
        Envelope(B, Ping(text="t"), A, budget=1.0),
        Envelope(B, Ping(text="q"), A, 7, EnvelopeKind.ASK, budget=-1.0),
        Envelope(B, Ping(text="q"), A, 7, EnvelopeKind.ASK, budget=float("inf")),
    ],
    ids=["absolute-deadline", "tell-with-budget", "negative", "infinite"],
)
def test_encode_refuses_what_no_peer_could_anchor(codec: JsonCodec, envelope: Envelope) -> None:
    with pytest.raises(UnencodableMessage):
        codec.encode(envelope)


class Level(enum.IntEnum):
    LOW = 1


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (42, EnvelopeKind.TELL),
        (42, EnvelopeKind.ASK),
        ({"text": "dict"}, EnvelopeKind.TELL),
        (None, EnvelopeKind.TELL),
        (None, EnvelopeKind.ASK),
        (None, EnvelopeKind.FAILURE),
        ("text", EnvelopeKind.FAILURE),
        (b"bytes", EnvelopeKind.REPLY),
        ((1, 2), EnvelopeKind.REPLY),
        ({1, 2}, EnvelopeKind.REPLY),
        ({1: "int key"}, EnvelopeKind.REPLY),
        (float("nan"), EnvelopeKind.REPLY),
        ([float("inf")], EnvelopeKind.REPLY),
        (Level.LOW, EnvelopeKind.REPLY),
        (Decimal("1.5"), EnvelopeKind.REPLY),
        ([Ping(text="a message inside a plain value")], EnvelopeKind.REPLY),
        (_nested(33), EnvelopeKind.REPLY),
        (_CYCLE, EnvelopeKind.REPLY),
    ],
)
def test_encode_refuses_what_is_not_a_message(
    codec: JsonCodec, message: Any, kind: EnvelopeKind
) -> None:
    with pytest.raises(UnencodableMessage):
        codec.encode(Envelope(B, message, A, 1, kind))


def test_encode_refuses_a_value_the_serializer_rejects(codec: JsonCodec) -> None:
    bad = rich().model_copy(update={"data": b"\xff\xfe"})
    with pytest.raises(UnencodableMessage):
        codec.encode(Envelope(B, bad))


def test_encode_refuses_an_oversize_frame() -> None:
    codec = JsonCodec(REGISTRY, max_frame_size=100)
    with pytest.raises(FrameTooLarge) as raised:
        codec.encode(Envelope(B, Ping(text="x" * 100)))
    assert raised.value.limit == 100
    assert raised.value.size > 100


def test_max_frame_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        JsonCodec(REGISTRY, max_frame_size=0)


# -- refusals on decode --------------------------------------------------------------------


def frame(**overrides: Any) -> bytes:
    """A valid tell frame as JSON text, with some keys replaced (or removed, with ...)."""
    import json

    base: dict[str, Any] = {
        "version": 1,
        "kind": "tell",
        "recipient": "beta/echo",
        "sender": "alpha/x",
        "correlation_id": 0,
        "type": "codec-test.ping",
        "body": {"text": "hi"},
    }
    for key, value in overrides.items():
        if value is ...:
            del base[key]
        else:
            base[key] = value
    return json.dumps(base).encode()


def test_the_frame_helper_makes_valid_frames(codec: JsonCodec) -> None:
    assert codec.decode(frame()) == Envelope(
        Address("beta", "echo"), Ping(text="hi"), Address("alpha", "x")
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe",
        b"not json",
        b'{"version": 1,',
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"[" * 10_000,
        frame(version=...),
        frame(extra="field"),
        frame(version=2),
        frame(version=True),
        frame(version="1"),
        frame(kind="shout"),
        frame(kind=0),
        frame(kind=None),
        frame(recipient="no-slash"),
        frame(recipient="bad name/x"),
        frame(recipient="beta/a//b"),
        frame(recipient=5),
        frame(sender=5),
        frame(sender="alpha/"),
        frame(kind="ask", sender=None, correlation_id=1),
        frame(correlation_id=-1),
        frame(correlation_id=1.5),
        frame(correlation_id=True),
        frame(correlation_id=2**64),
        frame(correlation_id="1"),
        frame(type=5),
        frame(type=None, body=None),
        frame(type=None, body=5),
        frame(kind="ask", type=None, body={"text": "hi"}),
        frame(kind="reply", type=None, body=_nested(33)),
        frame(budget=1.0),
        frame(kind="ask", correlation_id=1, budget=-0.5),
        frame(kind="ask", correlation_id=1, budget=True),
        frame(kind="ask", correlation_id=1, budget="1"),
        frame(kind="ask", correlation_id=1, budget=None),
        frame(kind="ask", correlation_id=1, budget=float("nan")),
        frame(kind="reply", type=None, body=[float("nan")]),
        frame(kind="reply", type=None, body={"big": float("inf")}),
        frame(body=None),
        frame(body=[1, 2]),
        frame(body={}),
        frame(body={"text": 5}),
        frame(body={"text": "hi", "extra": 1}),
        frame(type="codec-test.picky", body={"value": 13}),
    ],
)
def test_decode_refuses_malformed_frames(codec: JsonCodec, data: bytes) -> None:
    with pytest.raises(MalformedFrame):
        codec.decode(data)


def test_decode_refuses_an_unknown_type_by_name(codec: JsonCodec) -> None:
    with pytest.raises(UnknownMessageType) as raised:
        codec.decode(frame(type="no.such.type"))
    assert raised.value.type_name == "no.such.type"


def test_decode_checks_the_size_before_parsing() -> None:
    codec = JsonCodec(REGISTRY, max_frame_size=64)
    with pytest.raises(FrameTooLarge) as raised:
        codec.decode(b"\xff" * 65)  # would be malformed, if it were parsed
    assert (raised.value.size, raised.value.limit) == (65, 64)
    with pytest.raises(FrameTooLarge):
        codec.decode(memoryview(b" " * 65))


def test_invalid_body_is_summarised_without_echoing_the_input(codec: JsonCodec) -> None:
    huge = "x" * 100_000
    with pytest.raises(MalformedFrame) as raised:
        codec.decode(frame(type="codec-test.inner", body={"label": huge, "weight": "heavy"}))
    text = str(raised.value)
    assert "codec-test.inner" in text and "weight" in text
    assert len(text) < 500


def test_decode_refuses_what_is_not_bytes(codec: JsonCodec) -> None:
    with pytest.raises(MalformedFrame):
        codec.decode(frame().decode())  # type: ignore[arg-type]


def test_codec_errors_are_transport_errors() -> None:
    for error in (MalformedFrame, UnknownMessageType, FrameTooLarge, UnencodableMessage):
        assert issubclass(error, CodecError)
        assert issubclass(error, TransportError)


# -- properties ----------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z0-9_.:\-]{1,12}", fullmatch=True)
paths = st.one_of(
    st.lists(names, min_size=1, max_size=3).map("/".join),
    st.sampled_from(["$reply", "$ask", "$watch"]),
)
addresses = st.builds(Address, names, paths)
# JSON can carry any text, and so any str field; surrogates are not valid UTF-8, though.
texts = st.text(st.characters(codec="utf-8"), max_size=30)

inners = st.builds(Inner, label=texts, weight=st.integers())
riches = st.builds(
    lambda **fields: Rich.model_validate(fields),
    amount=st.integers(),
    ratio=st.decimals(allow_nan=False, allow_infinity=False),
    data=texts.map(str.encode),
    pair=st.tuples(st.integers(), texts),
    tags=st.frozensets(texts, max_size=4),
    by_height=st.dictionaries(st.integers(), texts, max_size=4),
    colour=st.sampled_from(Colour),
    when=st.datetimes(timezones=st.just(datetime.UTC)),
    inner=inners,
    maybe=st.none() | inners,
    **{"from": texts},
    ratio_f=st.floats(allow_nan=False, allow_infinity=False),
)
messages = st.one_of(riches, inners, st.builds(Ping, text=texts))


plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=10,
)


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope:
    kind = draw(st.sampled_from(EnvelopeKind))
    message = draw(messages if kind is not EnvelopeKind.REPLY else plain_values | messages)
    sender = draw(addresses if kind is EnvelopeKind.ASK else st.none() | addresses)
    budget = None
    if kind is EnvelopeKind.ASK:
        budget = draw(st.none() | st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False))
    return Envelope(
        draw(addresses),
        message,
        sender,
        draw(st.integers(0, 2**63 - 1)),
        kind,
        budget=budget,
    )


@_SETTINGS
@given(envelopes())
def test_valid_envelopes_round_trip_equal(envelope: Envelope) -> None:
    codec = JsonCodec(REGISTRY)
    assert codec.decode(codec.encode(envelope)) == envelope


@_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise_anything_but_codec_errors(data: bytes) -> None:
    codec = JsonCodec(REGISTRY, max_frame_size=1024)
    with contextlib.suppress(CodecError):
        codec.decode(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=10,
)


@_SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from([1, 2, "1"]) | json_values,
            "kind": st.sampled_from(["tell", "ask", "reply", "failure"]) | json_values,
            "recipient": addresses.map(str) | json_values,
            "sender": addresses.map(str) | json_values,
            "correlation_id": st.integers() | json_values,
            "type": st.sampled_from([c.type_name for c in (Ping, Rich, Inner, Failure)])
            | json_values,
            "body": st.dictionaries(
                st.sampled_from(["text", "label", "weight", "kind"]), json_values
            )
            | json_values,
        },
    )
)
def test_frame_shaped_garbage_never_raises_anything_but_codec_errors(data: dict[str, Any]) -> None:
    import json

    codec = JsonCodec(REGISTRY)
    try:
        decoded = codec.decode(json.dumps(data).encode())
    except CodecError:
        return
    # What is accepted is a well-formed envelope that encodes again.
    assert codec.decode(codec.encode(decoded)) == decoded


@_SETTINGS
@given(envelopes(), st.data())
def test_corrupted_frames_never_raise_anything_but_codec_errors(
    envelope: Envelope, data: st.DataObject
) -> None:
    codec = JsonCodec(REGISTRY)
    good = bytearray(codec.encode(envelope))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(good) - 1))
        good[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(CodecError):
        codec.decode(bytes(good))


# -- custom field types --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Fixed:
    """A dataclass-backed value with its own JSON form (as contract decimals have)."""

    units: int

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        def validate(value: object) -> Fixed:
            if isinstance(value, Fixed):
                return value
            if isinstance(value, str) and value.startswith("fx:"):
                return Fixed(int(value[3:]))
            raise ValueError(f"not a fixed value: {value!r}")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: f"fx:{v.units}", when_used="json"
            ),
        )


class Priced(Message):
    type_name = "codec-test.priced"
    price: Fixed
    prices: tuple[Fixed, ...] = ()


def test_a_custom_field_type_crosses_in_its_own_json_form() -> None:
    codec = JsonCodec(MessageRegistry([Priced]))
    message = Priced(price=Fixed(7), prices=(Fixed(1), Fixed(2)))
    frame = codec.encode(Envelope(B, message))
    assert b'"price":"fx:7"' in frame
    assert b'"units"' not in frame
    assert codec.decode(frame).message == message
