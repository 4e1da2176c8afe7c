"""Decoding IBC messages from their JSON form (what `transport.JsonCodec` hands over): the
direct builds of packets, written acks and proof paths (issue #16) give exactly what
pydantic's validation gives, and anything of another shape still goes through that
validation (I-9, I-17, I-37: a relayer's bytes are not trusted).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from chains.contract import IbcEndpoint, IbcPacket, IbcTimeout
from chains.ibc import (
    AcknowledgePackets,
    ChannelActivity,
    MembershipProof,
    MerkleTree,
    NonMembershipProof,
    ProofStep,
    RecvPackets,
    WrittenAck,
    verify_membership,
    verify_non_membership,
)

_text = st.text(max_size=12)
_ints = st.integers(min_value=-(2**70), max_value=2**70)
_packets = st.builds(
    IbcPacket,
    sequence=_ints,
    src=st.builds(IbcEndpoint, port_id=_text, channel_id=_text),
    dest=st.builds(IbcEndpoint, port_id=_text, channel_id=_text),
    data=st.binary(max_size=40),
    timeout=st.builds(IbcTimeout, revision=_ints, height=_ints, timestamp_ns=_ints),
)


def _wire(message: Any) -> Any:
    """``message`` as the codec hands it to validation: its JSON parsed."""
    return from_json(to_json(message, by_alias=True, round_trip=True))


def _same(a: Any, b: Any) -> None:
    assert a == b
    assert a.model_fields_set == b.model_fields_set


@settings(max_examples=60, deadline=None)
@given(packets=st.lists(_packets, max_size=4), acks=st.lists(st.binary(max_size=20), max_size=4))
def test_packets_and_acks_round_trip_exactly_I_9(
    packets: list[IbcPacket], acks: list[bytes]
) -> None:
    # (the envelopes' own fields set differ: JSON writes their defaults; the packets' and
    # acks' must not)
    recv = RecvPackets(packets=tuple(packets), proof_height=3)
    back = RecvPackets.model_validate(_wire(recv))
    assert back == recv
    for mine, theirs in zip(back.packets, recv.packets, strict=True):
        _same(mine, theirs)
        _same(mine.src, theirs.src)
        _same(mine.timeout, theirs.timeout)
    written = tuple(WrittenAck(packet=p, ack=a) for p, a in zip(packets, acks, strict=False))
    ack_op = AcknowledgePackets(acks=written, proof_height=4)
    acked = AcknowledgePackets.model_validate(_wire(ack_op))
    assert acked == ack_op
    for mine_ack, their_ack in zip(acked.acks, written, strict=True):
        _same(mine_ack, their_ack)
        _same(mine_ack.packet, their_ack.packet)
    activity = ChannelActivity(
        port_id="p", channel_id="c", connection_id="k", sent=tuple(packets), acks=written
    )
    seen = ChannelActivity.model_validate(_wire(activity))
    assert seen == activity
    for mine, theirs in zip(seen.sent, packets, strict=True):
        _same(mine, theirs)


def _packet_json() -> dict[str, Any]:
    return {
        "sequence": 5,
        "src": {"port_id": "wasm.a", "channel_id": "channel-0"},
        "dest": {"port_id": "wasm.b", "channel_id": "channel-1"},
        "timeout": {"revision": 0, "height": 0, "timestamp_ns": 10**18},
        "data": base64.b64encode(b'{"x":1}').decode(),
    }


# changes to a well-formed packet's JSON: each is either refused by pydantic or accepted
# by it (lax ints, defaults), and the batch must do exactly the same
_MUTATIONS: list[tuple[tuple[str, ...], Any]] = [
    (("sequence",), "5"),
    (("sequence",), True),
    (("sequence",), 5.0),
    (("sequence",), None),
    (("src", "port_id"), 7),
    (("src", "extra"), "x"),
    (("dest",), "wasm.b/channel-1"),
    (("timeout", "height"), "12"),
    (("timeout", "revision"), False),
    (("timeout", "extra"), 1),
    (("extra",), 1),
    (("data",), "not base64!"),
    (("data",), 12),
]


def _in_recv(packet: dict[str, Any]) -> IbcPacket:
    return RecvPackets.model_validate({"packets": [packet], "proof_height": 1}).packets[0]


def _in_ack(packet: dict[str, Any]) -> IbcPacket:
    acks = {"acks": [{"packet": packet, "ack": "eA=="}], "proof_height": 1}
    return AcknowledgePackets.model_validate(acks).acks[0].packet


@pytest.mark.parametrize(("where", "value"), _MUTATIONS)
def test_odd_packet_json_is_validated_as_pydantic_validates_it_I_9(
    where: tuple[str, ...], value: Any
) -> None:
    raw = _packet_json()
    target = raw
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    expected: IbcPacket | None
    try:
        plain = dict(raw)
        if isinstance(plain["data"], str):
            plain["data"] = base64.b64decode(plain["data"], validate=True)
        expected = IbcPacket.model_validate(plain)
    except (ValidationError, ValueError):
        expected = None
    for wrap in (_in_recv, _in_ack):
        if expected is None:
            with pytest.raises(ValidationError):
                wrap(raw)
        else:
            _same(wrap(raw), expected)


_steps = st.builds(
    ProofStep,
    bit=st.integers(min_value=-5, max_value=2**33),
    sibling=st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40)),
    sibling_left=st.booleans(),
)


@settings(max_examples=80, deadline=None)
@given(path=st.lists(_steps, max_size=6))
def test_proof_paths_round_trip_packed_or_not_I_17(path: list[ProofStep]) -> None:
    proof = MembershipProof(path=tuple(path))
    wire = _wire(proof)
    packable = all(0 <= s.bit < 2**32 and len(s.sibling) == 32 for s in path)
    assert isinstance(wire["path"], str) is packable
    back = MembershipProof.model_validate(wire)
    assert back == MembershipProof.model_validate_json(proof.model_dump_json()) == proof
    for mine, theirs in zip(back.path, path, strict=True):
        _same(mine, theirs)


@settings(max_examples=80, deadline=None)
@given(raw=st.binary(max_size=120))
def test_a_packed_path_is_read_one_way_or_refused_I_17(raw: bytes) -> None:
    """Any bytes as a packed path: refused unless whole steps with a side byte of 0 or 1,
    and what is accepted writes back to the same text (one form per path)."""
    text = base64.b64encode(raw).decode()
    whole = len(raw) % 37 == 0 and all(raw[at + 4] in (0, 1) for at in range(0, len(raw), 37))
    if not whole:
        with pytest.raises(ValidationError):
            MembershipProof.model_validate({"path": text})
        return
    proof = MembershipProof.model_validate({"path": text})
    assert len(proof.path) == len(raw) // 37
    assert _wire(proof)["path"] == text


def test_garbage_packed_paths_are_refused_I_17() -> None:
    for bad in ("!!!!", "AAAA", "=", "é", 7, None, {"bit": 1}):
        with pytest.raises(ValidationError):
            MembershipProof.model_validate({"path": bad})


def test_decoded_proofs_still_verify_and_forgeries_still_fail_I_17() -> None:
    tree = MerkleTree((b"key-%d" % i, b"value-%d" % i) for i in range(50))
    root = tree.root()
    proof = MembershipProof.model_validate(_wire(tree.prove_membership(b"key-7")))
    verify_membership(root, b"key-7", b"value-7", proof)
    absent = NonMembershipProof.model_validate(_wire(tree.prove_non_membership(b"key-70")))
    verify_non_membership(root, b"key-70", absent)
    # one flipped byte in the packed text's sibling: still decodes, no longer proves
    wire = _wire(tree.prove_membership(b"key-7"))
    packed = bytearray(base64.b64decode(wire["path"]))
    packed[10] ^= 1
    forged = MembershipProof.model_validate({"path": base64.b64encode(bytes(packed)).decode()})
    with pytest.raises(Exception, match="root"):
        verify_membership(root, b"key-7", b"value-7", forged)
