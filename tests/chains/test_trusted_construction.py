"""The unvalidated constructors of the hot paths build exactly what validation builds.

`mesh_actors.construct_trusted` skips pydantic's validation for values that are already of
their fields' exact types; every ``trusted`` constructor checks the types first and falls
back to the validating constructor otherwise. These tests compare both ways field by field
(and the set of fields marked as set), for typed values and for values validation coerces.
"""

from __future__ import annotations

import gc
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains import Coin, Unauthorized
from chains.contract import (
    BankSend,
    Event,
    IbcEndpoint,
    IbcPacket,
    IbcTimeout,
    InvalidValue,
    Reply,
    ReplyOn,
    SubMsg,
    trusted_packet,
)
from chains.ibc import WrittenAck, written_ack

_text = st.text(max_size=8)
_attributes = st.lists(st.tuples(_text, _text), max_size=4).map(tuple)


def _same(trusted: object, validated: object) -> None:
    assert trusted == validated
    assert type(trusted) is type(validated)
    if hasattr(validated, "model_fields_set"):
        assert trusted.model_fields_set == validated.model_fields_set  # type: ignore[attr-defined]


@given(type_=_text, attributes=_attributes)
def test_event_trusted_equals_event(type_: str, attributes: tuple[tuple[str, str], ...]) -> None:
    _same(Event.trusted(type_, attributes), Event(type=type_, attributes=attributes))


def test_event_trusted_falls_back_to_validation_for_other_types() -> None:
    coerced = Event.trusted("t", [["k", "v"]])  # type: ignore[arg-type]
    _same(coerced, Event(type="t", attributes=(("k", "v"),)))
    assert coerced.attributes == (("k", "v"),)


_not_str = st.one_of(st.integers(), st.binary(max_size=4), st.none(), st.floats(allow_nan=False))


@given(
    type_=st.one_of(_text, _not_str),
    attributes=st.one_of(
        _attributes,
        st.lists(st.tuples(_text, _text), max_size=3),
        st.lists(st.tuples(st.one_of(_text, _not_str), st.one_of(_text, _not_str)), max_size=3).map(
            tuple
        ),
        st.lists(st.lists(_text, min_size=2, max_size=2).map(tuple), max_size=3).map(tuple),
        st.lists(st.tuples(_text, _text, _text), min_size=1, max_size=2).map(tuple),
    ),
)
def test_event_accepts_exactly_str_type_and_str_pairs_C_8(
    type_: object, attributes: object
) -> None:
    """A plain ``Event(...)`` checks its values' exact types (issue 16) and refuses the rest
    with the named `InvalidValue`, never coercing: an event is hashed, compared and
    persisted, where an int or a list in place of a str would only surface later."""
    well_formed = (
        type(type_) is str
        and type(attributes) is tuple
        and all(
            type(p) is tuple and len(p) == 2 and type(p[0]) is str and type(p[1]) is str
            for p in attributes
        )
    )
    if well_formed:
        event = Event(type=type_, attributes=attributes)  # type: ignore[arg-type]
        assert (event.type, event.attributes) == (type_, attributes)
        assert pickle.loads(pickle.dumps(event)) == event
        # still a record the cyclic GC does not track (issue 16), check or no check
        assert not gc.is_tracked(event)
    else:
        with pytest.raises(InvalidValue):
            Event(type=type_, attributes=attributes)  # type: ignore[arg-type]


def test_event_refuses_a_str_subclass_and_a_list_of_pairs() -> None:
    class Name(str):
        pass

    with pytest.raises(InvalidValue):
        Event(type=Name("t"))
    with pytest.raises(InvalidValue):
        Event(type="t", attributes=[("k", "v")])  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        Event("t", (("k", 1),))  # type: ignore[arg-type]
    assert Event("t") == Event(type="t", attributes=())


@given(id_=st.integers(0, 2**64), ok=st.booleans(), attributes=_attributes)
def test_reply_trusted_equals_reply(
    id_: int, ok: bool, attributes: tuple[tuple[str, str], ...]
) -> None:
    events = (Event(type="wasm", attributes=attributes),)
    error = None if ok else Unauthorized()
    _same(
        Reply.trusted(id_, ok, b"data" if ok else None, events, error),
        Reply(id=id_, ok=ok, data=b"data" if ok else None, events=events, error=error),
    )


def test_submsg_trusted_equals_submsg() -> None:
    send = BankSend(to_address="b", amount=(Coin(denom="u", amount=5),))
    for mode in ReplyOn:
        _same(SubMsg.trusted(7, send, mode), SubMsg(id=7, msg=send, reply_on=mode))


@given(sequence=st.integers(1, 2**64), data=st.binary(max_size=16), height=st.integers(0, 99))
def test_trusted_packet_and_written_ack_equal_validated(
    sequence: int, data: bytes, height: int
) -> None:
    src = IbcEndpoint(port_id="wasm.a", channel_id="channel-0")
    dest = IbcEndpoint(port_id="wasm.b", channel_id="channel-3")
    timeout = IbcTimeout(height=height)
    packet = trusted_packet(sequence, src, dest, data, timeout)
    _same(packet, IbcPacket(sequence=sequence, src=src, dest=dest, data=data, timeout=timeout))
    _same(written_ack(packet, b"ok"), WrittenAck(packet=packet, ack=b"ok"))


def test_trusted_packet_falls_back_for_a_dict_endpoint() -> None:
    dest = IbcEndpoint(port_id="wasm.b", channel_id="channel-3")
    packet = trusted_packet(
        1,
        {"port_id": "wasm.a", "channel_id": "channel-0"},  # type: ignore[arg-type]
        dest,
        b"x",
        IbcTimeout(height=5),
    )
    assert packet.src == IbcEndpoint(port_id="wasm.a", channel_id="channel-0")
