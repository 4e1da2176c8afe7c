"""The verifying IBC path (issue 13), sans-IO: signed headers over the IBC store's Merkle
root, light clients that check them, and packets, acks and timeouts that carry proofs.

Two `Side`s with ``IbcConfig(verify_proofs=True)`` and the synchronous `Link` (the relayer's
own planner): honest traffic passes with the proofs the relayer attaches; a relayer that
forges a header, a packet, an ack or a timeout is refused with a named error and the state
is unchanged (I-17: a relayer can delay or drop, never forge).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains.contract import IbcOrder, IbcPacket, KeyPair
from chains.ibc import (
    AcknowledgePackets,
    ChannelState,
    ChannelView,
    ChanOpenTry,
    ClientStatus,
    Commit,
    CommitSignature,
    ConsensusValidatorSet,
    Header,
    IbcConfig,
    IbcHeader,
    MembershipProof,
    MerkleTree,
    NonMembershipProof,
    ProofStep,
    RecvPackets,
    SignedHeader,
    TimeoutPackets,
    UpdateClient,
    WrittenAck,
    commitment_key,
    genesis_validator_keys,
    packet_commitment,
    receipt_key,
)
from chains.testing import IbcAppSend
from tests.chains.ibc._sansio import Link, Side, port

VERIFY = IbcConfig(verify_proofs=True)
Channel = tuple[Side, Side, Link, str, str, str, str]


def _channel() -> Channel:
    a = Side("chain-a", "cha", VERIFY)
    b = Side("chain-b", "chb", VERIFY)
    link = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    return a, b, link, app_a, app_b, a_channel, b_channel


@pytest.fixture
def channel() -> Channel:
    return _channel()


def _pending(side: Side, channel_id: str) -> list[IbcPacket]:
    return [side.ibc.state.packets[(channel_id, s)] for s in side.ibc.pending_sequences(channel_id)]


def _resign(
    header: Header, keys: tuple[KeyPair, ...], validators: ConsensusValidatorSet | None = None
) -> SignedHeader:
    """``header`` signed by ``keys`` (as a forger with those keys would)."""
    sign_bytes = header.sign_bytes()
    commit = Commit(
        signatures=tuple(
            CommitSignature(validator=k.public_key, signature=k.sign(sign_bytes)) for k in keys
        )
    )
    if validators is None:
        validators = ConsensusValidatorSet.of({k.public_key: 1 for k in keys})
    return SignedHeader(header=header, commit=commit, validators=validators)


def _forged_header(
    base: IbcHeader,
    *,
    height: int | None = None,
    time_ns: int | None = None,
    app_hash: bytes | None = None,
    keys: tuple[KeyPair, ...] | None = None,
    real_set: bool = True,
) -> IbcHeader:
    """A header of ``base``'s chain with the given changes, signed by ``keys`` (the real
    validators by default), naming the real set (``real_set``) or the signers' own."""
    assert base.signed is not None
    raw = base.signed.header
    height = raw.height + 1 if height is None else height
    time_ns = raw.time_ns + 1 if time_ns is None else time_ns
    real_keys = genesis_validator_keys(base.chain_id, VERIFY.validators)
    keys = real_keys if keys is None else keys
    validators = base.signed.validators if real_set else None
    own = validators or ConsensusValidatorSet.of({k.public_key: 1 for k in keys})
    header = raw.model_copy(
        update={
            "height": height,
            "time_ns": time_ns,
            "app_hash": raw.app_hash if app_hash is None else app_hash,
            "validators_hash": own.hash(),
            "next_validators_hash": own.hash(),
        }
    )
    return IbcHeader(
        chain_id=base.chain_id,
        height=height,
        time_ns=time_ns,
        signed=_resign(header, keys, own),
    )


def test_honest_packets_are_proven_received_and_acked_I_17(channel: Channel) -> None:
    a, b, link, app_a, app_b, a_channel, _ = channel
    for _ in range(3):
        assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    link.settle()
    assert a.ibc.pending_sequences(a_channel) == ()
    assert [a.ibc.outcome(a_channel, s) for s in (1, 2, 3)] == ["acked"] * 3
    assert b.app(app_b).received_total > 0
    assert a.ibc.invariant_violations() == b.ibc.invariant_violations() == []


def test_headers_commit_to_the_ibc_store_root(channel: Channel) -> None:
    a, _, _, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    header = a.header()
    assert header.signed is not None
    assert header.signed.header.app_hash == a.ibc.provable.tree.root()
    (packet,) = _pending(a, a_channel)
    key = commitment_key(packet.src.port_id, a_channel, packet.sequence)
    assert a.ibc.provable.tree.get(key) == packet_commitment(packet)


def test_unsigned_header_is_refused_I_2(channel: Channel) -> None:
    a, b, link, *_ = channel
    a.next_block()
    bare = a.header().model_copy(update={"signed": None})
    (result,) = b.run(UpdateClient(client_id=link.b_side.client_id, header=bare))
    assert (result.status, result.error) == ("error", "InvalidHeader")


def test_header_signed_by_unknown_keys_is_refused_I_2(channel: Channel) -> None:
    a, b, link, *_ = channel
    a.next_block()
    mallory = tuple(KeyPair.from_seed(f"mallory/{i}") for i in range(4))
    forged = _forged_header(a.header(), keys=mallory, real_set=False)
    before = b.ibc.client(link.b_side.client_id)
    (result,) = b.run(UpdateClient(client_id=link.b_side.client_id, header=forged))
    assert result.status == "error"
    assert result.error in {"InvalidHeader", "InsufficientVotingPower"}
    assert b.ibc.client(link.b_side.client_id) == before


def test_header_with_two_thirds_or_less_power_is_refused_I_2(channel: Channel) -> None:
    a, b, link, *_ = channel
    a.next_block()
    keys = genesis_validator_keys("chain-a", VERIFY.validators)
    # 2 of 4 equal validators sign: 1/2 of the power, not more than 2/3
    forged = _forged_header(a.header(), keys=keys[:2], height=a.header().height + 5)
    (result,) = b.run(UpdateClient(client_id=link.b_side.client_id, header=forged))
    assert (result.status, result.error) == ("error", "InsufficientVotingPower")


def test_packet_never_committed_is_refused_and_changes_nothing_I_17(channel: Channel) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    (honest,) = _pending(a, a_channel)
    forged = honest.model_copy(update={"sequence": 7, "data": b'{"amount": 1000000}'})
    # the forger's proof: from a tree of their own in which the packet is committed
    theirs = MerkleTree()
    key = commitment_key(forged.src.port_id, forged.src.channel_id, forged.sequence)
    theirs.set(key, packet_commitment(forged))
    state_before = b.app(app_b)
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=a.header()),
        RecvPackets(
            packets=(forged,),
            proof_height=a.header().height,
            proofs=(theirs.prove_membership(key),),
        ),
    )
    assert results[1].items == ("InvalidProof",)
    # without any proof at all: refused too
    (bare,) = b.run(RecvPackets(packets=(forged,), proof_height=a.header().height))
    assert bare.items == ("InvalidProof",)
    assert b.ibc.receipt(b_channel, 7) is None
    assert b.app(app_b) == state_before


def test_forged_header_cannot_prove_a_forged_packet_I_17(channel: Channel) -> None:
    """A header with a made-up app hash (the root of the forger's tree) is not signed by
    the validators: the forger cannot get the client to hold it."""
    a, b, link, app_a, _, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    (honest,) = _pending(a, a_channel)
    forged = honest.model_copy(update={"sequence": 9})
    theirs = MerkleTree()
    key = commitment_key(forged.src.port_id, forged.src.channel_id, 9)
    theirs.set(key, packet_commitment(forged))
    mallory = tuple(KeyPair.from_seed(f"mallory/{i}") for i in range(4))
    header = _forged_header(a.header(), app_hash=theirs.root(), keys=mallory, real_set=False)
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=header),
        RecvPackets(
            packets=(forged,),
            proof_height=header.height,
            proofs=(theirs.prove_membership(key),),
        ),
    )
    assert results[0].status == "error"
    assert results[1].items == ("IbcConsensusNotFound",)
    assert b.ibc.receipt(b_channel, 9) is None


def test_forged_ack_is_refused_I_13_I_17(channel: Channel) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    (packet,) = _pending(a, a_channel)
    b.next_block()
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=b.header()),
        AcknowledgePackets(
            acks=(WrittenAck(packet=packet, ack=b'{"result":"AQ=="}'),),
            proof_height=b.header().height,
            proofs=(MembershipProof(path=()),),
        ),
    )
    assert results[1].items == ("InvalidProof",)
    assert a.ibc.pending_sequences(a_channel) == (packet.sequence,)
    assert a.ibc.outcome(a_channel, packet.sequence) is None


def test_forged_timeout_of_a_received_packet_is_refused_I_14_I_17(channel: Channel) -> None:
    a, b, link, app_a, _, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=30)).ok
    a.next_block()
    (packet,) = _pending(a, a_channel)
    # received on b (the ack is never relayed), then b's clock passes the timeout
    link.execute(
        link.plan(),
    )
    assert b.ibc.receipt(b_channel, packet.sequence) is not None
    b.next_block(count=10)
    header = b.header()
    # the forger's "no receipt" proof: from an empty tree of their own
    forged = NonMembershipProof(left=None, right=None)
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=header),
        TimeoutPackets(packets=(packet,), proof_height=header.height, proofs=(forged,)),
    )
    assert results[1].items == ("InvalidProof",)
    # and no honest proof exists: the receipt is in b's committed tree
    key = receipt_key(packet.dest.port_id, b_channel, packet.sequence)
    assert key in b.ibc.provable.tree
    assert a.ibc.outcome(a_channel, packet.sequence) is None


def test_header_from_the_far_future_is_refused_and_freezes_nothing_I_2(channel: Channel) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    a.next_block()
    future = _forged_header(a.header(), time_ns=a.header().time_ns + 10**15)
    (result,) = b.run(UpdateClient(client_id=link.b_side.client_id, header=future))
    assert (result.status, result.error) == ("error", "HeaderFromFuture")
    assert b.ibc.client_status(link.b_side.client_id) is ClientStatus.ACTIVE
    # later honest traffic still flows
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "acked"


def test_conflicting_headers_freeze_the_client_ICS_2(channel: Channel) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    a.next_block()
    honest = a.header()
    client_id = link.b_side.client_id
    (first,) = b.run(UpdateClient(client_id=client_id, header=honest))
    assert first.status in {"ok", "noop"}
    # the validators (all of them: equivocation) sign another header for the same height
    conflicting = _forged_header(
        honest, height=honest.height, time_ns=honest.time_ns, app_hash=b"\x07" * 32
    )
    (second,) = b.run(UpdateClient(client_id=client_id, header=conflicting))
    assert (second.status, second.error) == ("error", "ClientFrozen")
    assert b.ibc.client_status(client_id) is ClientStatus.FROZEN
    # the freeze stuck (not rolled back), and nothing is proven with a frozen client
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    link.settle(rounds=3)
    assert a.ibc.pending_sequences(a_channel) == (1,)


def test_proofs_off_accepts_unsigned_headers() -> None:
    """The switch: with ``verify_proofs=False`` headers are unsigned and trusted (the
    baseline the benchmark compares against)."""
    off = IbcConfig(verify_proofs=False)
    a, b = Side("chain-a", "cha", off), Side("chain-b", "chb", off)
    Link(a, b)
    assert a.header().signed is None


# -- tampering (Hypothesis) -------------------------------------------------------------------

_SHARED: dict[str, object] = {}


def _shared() -> tuple[Side, Side, Link, IbcPacket]:
    """One channel with one packet committed (built once: hypothesis examples only read it,
    every tampered op fails and is rolled back)."""
    if not _SHARED:
        a, b, link, app_a, _, a_channel, _ = _channel()
        assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=10**6)).ok
        a.next_block()
        (packet,) = _pending(a, a_channel)
        _SHARED.update(a=a, b=b, link=link, packet=packet)
    return _SHARED["a"], _SHARED["b"], _SHARED["link"], _SHARED["packet"]  # type: ignore[return-value]


def _flip(data: bytes, index: int, bit: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["app_hash", "validators_hash", "signature", "height", "time_ns"]),
    index=st.integers(min_value=0, max_value=63),
    bit=st.integers(min_value=0, max_value=7),
)
def test_tampered_header_is_always_refused(field: str, index: int, bit: int) -> None:
    a, b, link, _ = _shared()
    header = a.header()
    signed = header.signed
    assert signed is not None
    raw = signed.header
    # a header the client does not hold yet
    raw = raw.model_copy(update={"height": raw.height + 100, "time_ns": raw.time_ns + 1})
    good = _resign(raw, genesis_validator_keys("chain-a", VERIFY.validators), signed.validators)
    if field in {"app_hash", "validators_hash"}:
        tampered_raw = raw.model_copy(update={field: _flip(getattr(raw, field), index, bit)})
        tampered = good.model_copy(update={"header": tampered_raw})
    elif field == "signature":
        # a vote that is counted: the signers have equal power, so the first members of
        # the set up to more than 2/3 (CometBFT's light client stops checking there and
        # accepts a header whatever the votes beyond say; see test_light_client.py)
        members = good.validators.validators
        counted = [v.public_key for v in members[: 2 * len(members) // 3 + 1]]
        chosen = counted[index % len(counted)]
        (first,) = (s for s in good.commit.signatures if s.validator == chosen)
        sigs = tuple(
            s.model_copy(update={"signature": _flip(s.signature, index, bit)}) if s is first else s
            for s in good.commit.signatures
        )
        tampered = good.model_copy(update={"commit": Commit(signatures=sigs)})
    else:
        tampered_raw = raw.model_copy(update={field: getattr(raw, field) + 1 + index})
        tampered = good.model_copy(update={"header": tampered_raw})
    update = IbcHeader(
        chain_id="chain-a",
        height=tampered.header.height,
        time_ns=tampered.header.time_ns,
        signed=tampered,
    )
    client_id = link.b_side.client_id
    before = b.ibc.client(client_id)
    (result,) = b.run(UpdateClient(client_id=client_id, header=update))
    assert result.status == "error", (field, result)
    assert b.ibc.client(client_id) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    step=st.integers(min_value=0, max_value=63),
    index=st.integers(min_value=0, max_value=31),
    bit=st.integers(min_value=0, max_value=7),
    field=st.sampled_from(["sibling", "bit", "side", "drop"]),
)
def test_tampered_packet_proof_is_always_refused(
    step: int, index: int, bit: int, field: str
) -> None:
    a, b, link, packet = _shared()
    header = a.header()
    client_id = link.b_side.client_id
    (updated,) = b.run(UpdateClient(client_id=client_id, header=header))
    assert updated.status in {"ok", "noop"}
    proof = a.ibc.provable.prove_commitment(packet.src.port_id, packet.src.channel_id, 1)
    path = list(proof.path)
    assert path
    at = step % len(path)
    one = path[at]
    if field == "sibling":
        path[at] = ProofStep(
            bit=one.bit, sibling=_flip(one.sibling, index, bit), sibling_left=one.sibling_left
        )
    elif field == "bit":
        path[at] = ProofStep(
            bit=one.bit + 1 + index, sibling=one.sibling, sibling_left=one.sibling_left
        )
    elif field == "side":
        path[at] = ProofStep(bit=one.bit, sibling=one.sibling, sibling_left=not one.sibling_left)
    else:
        del path[at]
    tampered = MembershipProof(path=tuple(path))
    (result,) = b.run(
        RecvPackets(packets=(packet,), proof_height=header.height, proofs=(tampered,))
    )
    assert result.items == ("InvalidProof",), (field, result)
    assert b.ibc.receipt(packet.dest.channel_id, 1) is None


# -- handshakes and closes --------------------------------------------------------------------


def test_forged_counterparty_channel_end_is_refused_I_6(channel: Channel) -> None:
    """A ChanOpenTry for a channel end the counterparty never created (I-6)."""
    a, b, link, app_a, app_b, _, _ = channel
    a.next_block()
    made_up = ChannelView(
        port_id=port(app_a),
        channel_id="channel-9",
        state=ChannelState.INIT,
        ordering=IbcOrder.UNORDERED,
        counterparty_port_id=port(app_b),
        counterparty_channel_id="",
        connection_id=link.a_side.connection_id,
        version="",
    )
    before = len(b.ibc.channel_ends())
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=a.header()),
        ChanOpenTry(
            port_id=port(app_b),
            connection_id=link.b_side.connection_id,
            proof_height=a.header().height,
            counterparty=made_up,
        ),
    )
    assert (results[1].status, results[1].error) == ("error", "InvalidProof")
    assert len(b.ibc.channel_ends()) == before


def test_timeout_on_close_needs_the_proven_closed_end_I_15(channel: Channel) -> None:
    """The destination's end is OPEN: an honest proof of non-receipt with a made-up CLOSED
    end does not time the packet out (before proofs of the end, it did)."""
    a, b, link, app_a, _, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    b.next_block()
    (packet,) = _pending(a, a_channel)
    header = b.header()
    no_receipt = b.ibc.provable.prove_no_receipt(packet.dest.port_id, b_channel, packet.sequence)
    open_end = b.ibc.channel_end(b_channel)
    assert open_end is not None
    closed = open_end.view().model_copy(update={"state": ChannelState.CLOSED})
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=header),
        TimeoutPackets(
            packets=(packet,),
            proof_height=header.height,
            on_close=True,
            proofs=(no_receipt,),
            close_view=closed,
        ),
        TimeoutPackets(
            packets=(packet,), proof_height=header.height, on_close=True, proofs=(no_receipt,)
        ),
    )
    assert results[1].items == ("InvalidProof",)
    assert results[2].items == ("IbcCounterpartyMismatch",)
    assert a.ibc.outcome(a_channel, packet.sequence) is None
    # the honest relayer still delivers it
    link.settle()
    assert a.ibc.outcome(a_channel, packet.sequence) == "acked"
