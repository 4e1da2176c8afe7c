"""The verifying light client (issue 13; I-2, I-17): honest headers pass, forgeries do not.

The attacks: a made-up ``UpdateClient`` header followed by a "proof" of a packet never
committed (a forged ``transfer_rewards``, ``stake``, ``valset_update``, ``distribute``), a
forged timeout of a packet that was received, and a header 10^15 ns in the future that made
every later packet look expired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import (
    ChainError,
    InvalidSignature,
    JournaledMap,
    KeyPair,
    PublicKey,
    Store,
)
from chains.ibc import (
    ClientExpired,
    ClientFrozen,
    ClientStatus,
    ClientUpdate,
    Commit,
    CommitSignature,
    ConsensusState,
    ConsensusValidatorSet,
    Header,
    HeaderExpired,
    HeaderFromFuture,
    IbcBadHeader,
    IbcConsensusNotFound,
    IbcUnknownClient,
    InsufficientVotingPower,
    InvalidHeader,
    InvalidMisbehaviour,
    InvalidProof,
    LightClient,
    LightClientState,
    MerkleTree,
    Misbehaviour,
    UpdateOutcome,
    commitment_key,
    receipt_key,
)

SECOND = 1_000_000_000
DAY = 86_400 * SECOND
T0 = 1_700_000_000 * SECOND
TRUSTING = 14 * DAY
DRIFT = 10 * SECOND
CHAIN = "osmo-1"
PORT, CHANNEL = "wasm.converter", "channel-0"


class SignedChain:
    """A counterparty chain in miniature: validators with keys, an IBC store, signed headers."""

    def __init__(self, powers: Iterable[int] = (10, 10, 10, 10), *, seed: str = "val") -> None:
        self.keys = [KeyPair.from_seed(f"{seed}-{i}") for i, _ in enumerate(powers)]
        self.powers = dict(zip((k.public_key for k in self.keys), powers, strict=True))
        self.valset = ConsensusValidatorSet.of(self.powers)
        self.store = MerkleTree()

    def header(self, height: int, time_ns: int, *, chain_id: str = CHAIN) -> Header:
        return Header(
            chain_id=chain_id,
            height=height,
            time_ns=time_ns,
            app_hash=self.store.root(),
            validators_hash=self.valset.hash(),
            next_validators_hash=self.valset.hash(),
        )

    def update(
        self,
        header: Header,
        *,
        trusted_height: int,
        signers: Iterable[KeyPair] | None = None,
        next_validators: ConsensusValidatorSet | None = None,
    ) -> ClientUpdate:
        signed = self.keys if signers is None else list(signers)
        return ClientUpdate(
            header=header,
            commit=sign_commit(header, signed),
            validators=self.valset,
            next_validators=next_validators or self.valset,
            trusted_height=trusted_height,
        )


def sign_commit(header: Header, keys: Iterable[KeyPair]) -> Commit:
    data = header.sign_bytes()
    return Commit(
        signatures=tuple(
            CommitSignature(validator=k.public_key, signature=k.sign(data)) for k in keys
        )
    )


def _client(chain: SignedChain) -> LightClient:
    return LightClient.create(
        "07-tendermint-0",
        chain.header(1, T0),
        chain.valset,
        trusting_period_ns=TRUSTING,
        max_clock_drift_ns=DRIFT,
    )


def _commit_packet(chain: SignedChain, sequence: int, data: bytes) -> bytes:
    commitment = hashlib.sha256(data).digest()
    chain.store.set(commitment_key(PORT, CHANNEL, sequence), commitment)
    return commitment


# -- honest traffic ---------------------------------------------------------------------------


def test_honest_headers_are_accepted_in_sequence_and_skipping() -> None:
    chain = SignedChain()
    client = _client(chain)
    now = T0 + 10 * SECOND
    for height in range(2, 6):
        header = chain.header(height, T0 + height * SECOND)
        assert client.update(chain.update(header, trusted_height=height - 1), now) is (
            UpdateOutcome.ACCEPTED
        )
    skip = chain.header(40, T0 + 40 * SECOND)
    assert client.update(chain.update(skip, trusted_height=1), T0 + 41 * SECOND) is (
        UpdateOutcome.ACCEPTED
    )
    assert client.state.latest_height == 40
    assert client.status(T0 + 41 * SECOND) is ClientStatus.ACTIVE
    again = chain.update(skip, trusted_height=5)
    assert client.update(again, T0 + 41 * SECOND) is UpdateOutcome.DUPLICATE


def test_packet_commitment_proven_at_its_height_I_10_I_17() -> None:
    chain = SignedChain()
    client = _client(chain)
    commitment = _commit_packet(chain, 1, b'{"stake": 100}')
    header = chain.header(2, T0 + SECOND)
    client.update(chain.update(header, trusted_height=1), T0 + 2 * SECOND)
    key = commitment_key(PORT, CHANNEL, 1)
    client.verify_membership(2, key, commitment, chain.store.prove_membership(key), T0)
    # a packet never committed on the source: no proof makes it so
    forged = commitment_key(PORT, CHANNEL, 2)
    with pytest.raises(InvalidProof):
        client.verify_membership(
            2, forged, commitment, chain.store.prove_membership(key), T0 + 2 * SECOND
        )
    # the right packet with other data (a forged transfer_rewards amount)
    with pytest.raises(InvalidProof):
        client.verify_membership(
            2,
            key,
            hashlib.sha256(b'{"stake": 10000000}').digest(),
            chain.store.prove_membership(key),
            T0 + 2 * SECOND,
        )
    # the genesis root (height 1) had no such packet
    with pytest.raises(InvalidProof):
        client.verify_membership(
            1, key, commitment, chain.store.prove_membership(key), T0 + 2 * SECOND
        )
    # a height the client never saw (I-2)
    with pytest.raises(IbcConsensusNotFound):
        client.verify_membership(
            3, key, commitment, chain.store.prove_membership(key), T0 + 2 * SECOND
        )


def test_timeout_needs_a_proof_of_no_receipt_I_14() -> None:
    chain = SignedChain()
    client = _client(chain)
    chain.store.set(receipt_key(PORT, CHANNEL, 1), b"\x01")
    client.update(chain.update(chain.header(2, T0 + SECOND), trusted_height=1), T0 + SECOND)
    not_received = receipt_key(PORT, CHANNEL, 2)
    proof = chain.store.prove_non_membership(not_received)
    client.verify_non_membership(2, not_received, proof, T0 + SECOND)
    # a timeout forged for a packet that was received (the one that ended both ways)
    with pytest.raises(InvalidProof):
        client.verify_non_membership(2, receipt_key(PORT, CHANNEL, 1), proof, T0 + SECOND)


# -- forgeries --------------------------------------------------------------------------------


def _fresh() -> tuple[SignedChain, LightClient]:
    chain = SignedChain()
    return chain, _client(chain)


def test_made_up_header_signed_by_strangers_is_refused() -> None:
    chain, client = _fresh()
    attacker = SignedChain(seed="mallory")
    attacker.store.set(commitment_key(PORT, CHANNEL, 1), b"forged")
    forged = attacker.update(attacker.header(2, T0 + SECOND), trusted_height=1)
    with pytest.raises(InvalidHeader, match="announced"):
        client.update(forged, T0 + SECOND)
    # the attacker's keys, but claiming the honest validator set: unknown signers
    claimed = forged.model_copy(
        update={
            "validators": chain.valset,
            "next_validators": chain.valset,
            "header": forged.header.model_copy(
                update={
                    "validators_hash": chain.valset.hash(),
                    "next_validators_hash": chain.valset.hash(),
                }
            ),
        }
    )
    claimed = claimed.model_copy(update={"commit": sign_commit(claimed.header, attacker.keys)})
    with pytest.raises(InvalidHeader, match="not in the validator set"):
        client.update(claimed, T0 + SECOND)
    assert client.state.latest_height == 1


def test_exactly_two_thirds_is_not_enough() -> None:
    chain = SignedChain((10, 10, 10))
    client = _client(chain)
    header = chain.header(2, T0 + SECOND)
    with pytest.raises(InsufficientVotingPower) as caught:
        client.update(chain.update(header, trusted_height=1, signers=chain.keys[:2]), T0)
    assert caught.value == InsufficientVotingPower(client.client_id, "trusted", 20, 30)
    assert client.update(chain.update(header, trusted_height=1), T0) is UpdateOutcome.ACCEPTED


def test_one_validator_signing_twice_counts_once() -> None:
    chain, client = _fresh()
    header = chain.header(2, T0 + SECOND)
    update = chain.update(header, trusted_height=1, signers=chain.keys[:2])
    doubled = update.model_copy(update={"commit": Commit(signatures=update.commit.signatures * 2)})
    with pytest.raises(InvalidHeader, match="twice"):
        client.update(doubled, T0 + SECOND)


def _replace_vote(update: ClientUpdate, key: KeyPair, signature: bytes) -> ClientUpdate:
    """``update`` with ``key``'s vote carrying ``signature`` instead."""
    votes = tuple(
        vote.model_copy(update={"signature": signature})
        if vote.validator == key.public_key
        else vote
        for vote in update.commit.signatures
    )
    return update.model_copy(update={"commit": Commit(signatures=votes)})


def _unequal() -> tuple[SignedChain, LightClient]:
    # powers 10, 20, 30, 40 (total 100): by power, 40 + 30 = 70 > 2/3 after two votes; the
    # commit lists the weakest first, so the order of checking is not the commit's
    chain = SignedChain((10, 20, 30, 40), seed="unequal")
    return chain, _client(chain)


def test_forged_signature_that_would_be_counted_is_refused_I_2() -> None:
    """A vote checked before the signed power passes 2/3 must verify (CometBFT's
    VerifyCommitLight returns an error for it): the strongest validators' votes are counted
    first, so a forged vote of the 30-power validator is met and refused."""
    chain, client = _unequal()
    update = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    forged = _replace_vote(update, chain.keys[2], bytes(64))
    with pytest.raises(InvalidSignature):
        client.update(forged, T0 + SECOND)
    # a signature of another header (a replay) is as forged as zeros
    other = chain.header(3, T0 + 2 * SECOND)
    replayed = _replace_vote(update, chain.keys[3], chain.keys[3].sign(other.sign_bytes()))
    with pytest.raises(InvalidSignature):
        client.update(replayed, T0 + SECOND)
    assert client.state.latest_height == 1
    assert client.update(update, T0 + SECOND) is UpdateOutcome.ACCEPTED


def test_forged_signature_beyond_two_thirds_is_accepted_as_cometbft_does_I_2() -> None:
    """CometBFT's light-client verification spec, [LCV-FUNC-VERIFYCOMMITLIGHT.1]:
    "VerifyCommitLight verifies that 2/3+ of the signatures for a validator set were for a
    given blockID. The function will finish early and thus may not check all signatures."
    A header whose commit holds valid signatures of more than 2/3 of the power (here 40 +
    30 of 100) is committed by the chain whatever the remaining votes say: the forged votes
    of the two weakest validators are never looked at, and the header is accepted."""
    chain, client = _unequal()
    update = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    forged = _replace_vote(_replace_vote(update, chain.keys[0], bytes(64)), chain.keys[1], b"x")
    assert client.update(forged, T0 + SECOND) is UpdateOutcome.ACCEPTED
    assert client.state.latest_height == 2
    # skipping heights (trust level 1/3 of the trusted set, then 2/3 of the header's set):
    # the same, a forged vote past both thresholds is not looked at
    skip = chain.update(chain.header(9, T0 + 9 * SECOND), trusted_height=2)
    assert client.update(_replace_vote(skip, chain.keys[0], bytes(64)), T0 + 9 * SECOND) is (
        UpdateOutcome.ACCEPTED
    )


def test_forged_signatures_cannot_make_up_the_missing_power_I_2() -> None:
    """Every vote of the set is checked when the threshold is not reached earlier: two valid
    votes of 40 + 20 (60 of 100) and a forged 30 are refused, whatever the order."""
    chain, client = _unequal()
    update = chain.update(chain.header(2, T0 + SECOND), trusted_height=1, signers=chain.keys[1:])
    with pytest.raises(InvalidSignature):
        client.update(_replace_vote(update, chain.keys[2], bytes(64)), T0 + SECOND)
    short = chain.update(
        chain.header(2, T0 + SECOND), trusted_height=1, signers=(chain.keys[1], chain.keys[3])
    )
    with pytest.raises(InsufficientVotingPower) as caught:
        client.update(short, T0 + SECOND)
    assert caught.value == InsufficientVotingPower(client.client_id, "trusted", 60, 100)


def test_each_signature_is_verified_at_most_once_per_update_I_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A header that skips heights is checked against the trusted set (trust level 1/3) and
    then against its own set (2/3): the votes verified by the first check count for the
    second without a second verification, and a check stops at its threshold (here 3 of 4
    equal votes in all). A second client verifying the same commit (a header relayed to two
    chains) verifies nothing: the triples are known to verify."""
    chain = SignedChain(seed="counted")
    client = _client(chain)
    checked: list[bytes] = []
    original = PublicKey.verify

    def counting(key: PublicKey, signature: bytes, data: bytes, *, what: str = "") -> None:
        checked.append(key.raw)
        original(key, signature, data, what=what)

    monkeypatch.setattr(PublicKey, "verify", counting)
    update = chain.update(chain.header(7, T0 + 7 * SECOND), trusted_height=1)
    assert client.update(update, T0 + 7 * SECOND) is UpdateOutcome.ACCEPTED
    assert len(checked) == 3 == len(set(checked))
    assert set(checked) <= {k.public_key.raw for k in chain.keys}
    checked.clear()
    assert _client(chain).update(update, T0 + 7 * SECOND) is UpdateOutcome.ACCEPTED
    assert checked == []
    # a forged signature is never remembered: refused each time it is met
    forged = _replace_vote(
        chain.update(chain.header(8, T0 + 8 * SECOND), trusted_height=7),
        chain.keys[0],
        bytes(64),
    )
    for _ in range(2):
        with pytest.raises(InvalidSignature):
            client.update(forged, T0 + 8 * SECOND)


def test_header_from_the_future_is_refused() -> None:
    """The 10^15 ns header that froze the channel: refused, and the client keeps working."""
    chain, client = _fresh()
    future = chain.header(2, T0 + 10**15)
    with pytest.raises(HeaderFromFuture) as caught:
        client.update(chain.update(future, trusted_height=1), T0 + SECOND)
    assert isinstance(caught.value, InvalidHeader)
    assert isinstance(caught.value, IbcBadHeader)
    assert caught.value.to_dict()["max_clock_drift_ns"] == DRIFT
    within = chain.header(2, T0 + SECOND + DRIFT)
    assert client.update(chain.update(within, trusted_height=1), T0 + SECOND) is (
        UpdateOutcome.ACCEPTED
    )


def test_expired_trust_refuses_updates_and_proofs() -> None:
    chain, client = _fresh()
    late = T0 + TRUSTING
    with pytest.raises(HeaderExpired):
        client.update(chain.update(chain.header(2, late - SECOND), trusted_height=1), late)
    assert client.status(late) is ClientStatus.EXPIRED
    key = commitment_key(PORT, CHANNEL, 1)
    with pytest.raises(ClientExpired):
        client.verify_non_membership(1, key, chain.store.prove_non_membership(key), late)


@pytest.mark.parametrize(
    ("height", "time_ns", "trusted", "chain_id", "reason"),
    [
        (2, T0 + SECOND, 1, "stars-1", "chain"),
        (1, T0 + SECOND, 1, CHAIN, "above the trusted height"),
        (2, T0, 1, CHAIN, "time not after the trusted"),
    ],
)
def test_header_out_of_order_or_for_another_chain_is_refused(
    height: int, time_ns: int, trusted: int, chain_id: str, reason: str
) -> None:
    chain, client = _fresh()
    header = chain.header(height, time_ns, chain_id=chain_id)
    with pytest.raises(InvalidHeader, match=reason):
        client.update(chain.update(header, trusted_height=trusted), T0 + SECOND)


def test_unknown_trusted_height_and_older_than_latest_are_refused() -> None:
    chain, client = _fresh()
    client.update(chain.update(chain.header(5, T0 + 5 * SECOND), trusted_height=1), T0 + 5 * SECOND)
    with pytest.raises(IbcConsensusNotFound):
        client.update(
            chain.update(chain.header(6, T0 + 6 * SECOND), trusted_height=3), T0 + 6 * SECOND
        )
    with pytest.raises(InvalidHeader, match="latest height"):
        client.update(
            chain.update(chain.header(3, T0 + 3 * SECOND), trusted_height=1), T0 + 6 * SECOND
        )
    with pytest.raises(InvalidHeader, match="latest header"):
        client.update(
            chain.update(chain.header(6, T0 + 4 * SECOND), trusted_height=1), T0 + 6 * SECOND
        )


def test_validator_set_changes_only_as_announced() -> None:
    chain, client = _fresh()
    successor = SignedChain((10, 10, 10, 10), seed="next")
    # the next header is signed by a set the trusted header did not announce
    rogue = successor.update(successor.header(2, T0 + SECOND), trusted_height=1)
    with pytest.raises(InvalidHeader, match="announced"):
        client.update(rogue, T0 + SECOND)
    # announced at height 2, it signs height 3
    handover = chain.header(2, T0 + SECOND).model_copy(
        update={"next_validators_hash": successor.valset.hash()}
    )
    update = chain.update(handover, trusted_height=1, next_validators=successor.valset)
    assert client.update(update, T0 + SECOND) is UpdateOutcome.ACCEPTED
    header3 = successor.header(3, T0 + 2 * SECOND)
    assert client.update(successor.update(header3, trusted_height=2), T0 + 2 * SECOND) is (
        UpdateOutcome.ACCEPTED
    )
    # the new set carrying the validator hashes of an other set
    mismatched = successor.update(successor.header(4, T0 + 3 * SECOND), trusted_height=3)
    mismatched = mismatched.model_copy(update={"validators": chain.valset})
    with pytest.raises(InvalidHeader, match="do not match"):
        client.update(mismatched, T0 + 3 * SECOND)


# -- misbehaviour -----------------------------------------------------------------------------


def test_two_headers_for_one_height_freeze_the_client_ICS_2() -> None:
    chain, client = _fresh()
    now = T0 + 3 * SECOND
    client.update(chain.update(chain.header(2, T0 + SECOND), trusted_height=1), now)
    chain.store.set(commitment_key(PORT, CHANNEL, 9), b"equivocation")
    conflicting = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    assert client.update(conflicting, now) is UpdateOutcome.MISBEHAVIOUR
    assert client.status(now) is ClientStatus.FROZEN
    assert client.state.frozen_height == 2
    with pytest.raises(ClientFrozen):
        client.update(chain.update(chain.header(3, T0 + 2 * SECOND), trusted_height=2), now)
    key = commitment_key(PORT, CHANNEL, 9)
    with pytest.raises(ClientFrozen):
        client.verify_membership(2, key, b"equivocation", chain.store.prove_membership(key), now)


def test_submitted_misbehaviour_freezes_only_when_both_headers_are_valid() -> None:
    chain, client = _fresh()
    now = T0 + 3 * SECOND
    first = chain.update(chain.header(3, T0 + SECOND), trusted_height=1)
    chain.store.set(b"x", b"y")
    second = chain.update(chain.header(3, T0 + SECOND), trusted_height=1)
    with pytest.raises(InvalidMisbehaviour):
        client.submit_misbehaviour(Misbehaviour(first=first, second=first), now)
    other_height = chain.update(chain.header(4, T0 + SECOND), trusted_height=1)
    with pytest.raises(InvalidMisbehaviour):
        client.submit_misbehaviour(Misbehaviour(first=first, second=other_height), now)
    unsigned = second.model_copy(update={"commit": Commit(signatures=())})
    with pytest.raises(InsufficientVotingPower):
        client.submit_misbehaviour(Misbehaviour(first=first, second=unsigned), now)
    assert client.status(now) is ClientStatus.ACTIVE
    client.submit_misbehaviour(Misbehaviour(first=first, second=second), now)
    assert client.status(now) is ClientStatus.FROZEN


def test_client_updates_cross_the_wire() -> None:
    chain, client = _fresh()
    update = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    again = ClientUpdate.model_validate_json(update.model_dump_json())
    assert again == update
    assert client.update(again, T0 + SECOND) is UpdateOutcome.ACCEPTED


# -- tampering (Hypothesis) -------------------------------------------------------------------

_HEADER_FIELDS = st.sampled_from(
    ["chain_id", "height", "time_ns", "app_hash", "validators_hash", "next_validators_hash"]
)


def _flip(data: bytes, index: int, mask: int) -> bytes:
    raw = bytearray(data)
    raw[index % len(raw)] ^= mask
    return bytes(raw)


@given(field=_HEADER_FIELDS, data=st.data())
@settings(max_examples=60, deadline=None)
def test_tampering_one_header_field_is_refused(field: str, data: st.DataObject) -> None:
    chain, client = _fresh()
    _commit_packet(chain, 1, b"honest")
    update = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    header = update.header
    value: object
    if field == "chain_id":
        value = data.draw(st.text(max_size=8).filter(lambda c: c != CHAIN))
    elif field in ("height", "time_ns"):
        original = getattr(header, field)
        value = data.draw(st.integers(1, 2**63).filter(lambda v: v != original))
    else:
        original = getattr(header, field)
        value = _flip(original, data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255)))
    tampered = update.model_copy(update={"header": header.model_copy(update={field: value})})
    with pytest.raises(ChainError):
        client.update(tampered, T0 + SECOND)
    assert client.state.latest_height == 1


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_tampering_one_commit_signature_byte_or_signer_is_refused(data: st.DataObject) -> None:
    """A flipped byte in a vote that is counted (four equal votes: those of the first three
    members of the set pass 2/3; the fourth is never looked at, see
    `test_forged_signature_beyond_two_thirds_is_accepted_as_cometbft_does_I_2`), or any vote
    naming another member (then one member votes twice), is refused."""
    chain, client = _fresh()
    update = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    signatures = list(update.commit.signatures)
    counted = [
        i
        for i, vote in enumerate(signatures)
        if vote.validator in {v.public_key for v in chain.valset.validators[:3]}
    ]
    index = data.draw(st.integers(0, len(signatures) - 1))
    vote = signatures[index]
    if data.draw(st.booleans()):
        index = counted[index % len(counted)]
        vote = signatures[index]
        flipped = _flip(
            vote.signature, data.draw(st.integers(0, 63)), data.draw(st.integers(1, 255))
        )
        signatures[index] = vote.model_copy(update={"signature": flipped})
    else:
        other = data.draw(
            st.sampled_from([k for k in chain.keys if k.public_key != vote.validator])
        )
        signatures[index] = vote.model_copy(update={"validator": other.public_key})
    tampered = update.model_copy(update={"commit": Commit(signatures=tuple(signatures))})
    with pytest.raises((InvalidSignature, InvalidHeader)):
        client.update(tampered, T0 + SECOND)
    assert client.state.latest_height == 1


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_tampering_a_packet_proof_through_the_client_is_refused(data: st.DataObject) -> None:
    chain, client = _fresh()
    for sequence in range(1, 20):
        _commit_packet(chain, sequence, b"packet %d" % sequence)
    client.update(chain.update(chain.header(2, T0 + SECOND), trusted_height=1), T0 + SECOND)
    sequence = data.draw(st.integers(1, 19))
    key = commitment_key(PORT, CHANNEL, sequence)
    value = hashlib.sha256(b"packet %d" % sequence).digest()
    proof = chain.store.prove_membership(key)
    client.verify_membership(2, key, value, proof, T0 + SECOND)
    step_index = data.draw(st.integers(0, len(proof.path) - 1))
    step = proof.path[step_index]
    flipped = step.model_copy(
        update={
            "sibling": _flip(
                step.sibling, data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255))
            )
        }
    )
    path = (*proof.path[:step_index], flipped, *proof.path[step_index + 1 :])
    with pytest.raises(InvalidProof):
        client.verify_membership(
            2, key, value, proof.model_copy(update={"path": path}), T0 + SECOND
        )
    with pytest.raises(InvalidProof):
        client.verify_membership(
            2, key, _flip(value, data.draw(st.integers(0, 31)), 1), proof, T0 + SECOND
        )


def test_skipping_needs_the_trusted_set_and_the_new_set() -> None:
    """Skipping heights (non-adjacent): more than the trust level, 1/3, of the trusted set
    must sign (VerifyCommitLightTrusting), and more than 2/3 of the header's own set."""
    chain, client = _fresh()
    attacker = SignedChain(seed="mallory")
    forged = attacker.update(attacker.header(40, T0 + SECOND), trusted_height=1)
    with pytest.raises(InsufficientVotingPower) as caught:
        client.update(forged, T0 + SECOND)
    assert caught.value.validator_set == "trusted"
    # the honest validators plus newcomers holding most of the power: the honest signatures
    # carry the trusted set but not the new one
    grown = SignedChain((10, 10, 10, 10, 50, 50), seed="val")
    grown.keys = chain.keys + [KeyPair.from_seed(f"new-{i}") for i in range(2)]
    grown.powers = dict(
        zip((k.public_key for k in grown.keys), (10, 10, 10, 10, 50, 50), strict=True)
    )
    grown.valset = ConsensusValidatorSet.of(grown.powers)
    header = grown.header(40, T0 + SECOND)
    with pytest.raises(InsufficientVotingPower) as caught:
        client.update(grown.update(header, trusted_height=1, signers=chain.keys), T0 + SECOND)
    assert caught.value == InsufficientVotingPower(client.client_id, "header", 40, 140)
    assert client.update(grown.update(header, trusted_height=1), T0 + SECOND) is (
        UpdateOutcome.ACCEPTED
    )


def test_client_state_lives_in_the_journaled_store() -> None:
    """Kept in the IBC store's journaled maps, an update rolled back with its transaction
    leaves nothing; a freeze is an outcome, not an error, so its own unit can keep it."""
    chain = SignedChain()
    store = Store()
    states: JournaledMap[str, LightClientState] = JournaledMap(store, "ibc/light-clients")
    heights: JournaledMap[int, ConsensusState] = JournaledMap(store, "ibc/consensus")
    client = LightClient.create(
        "07-tendermint-0",
        chain.header(1, T0),
        chain.valset,
        trusting_period_ns=TRUSTING,
        max_clock_drift_ns=DRIFT,
        states=states,
        consensus_states=heights,
    )
    point = store.savepoint()
    client.update(chain.update(chain.header(2, T0 + SECOND), trusted_height=1), T0 + SECOND)
    assert client.state.latest_height == 2
    store.rollback_to(point)
    assert client.state.latest_height == 1
    assert client.consensus_state(2) is None
    reopened = LightClient("07-tendermint-0", states, heights)
    assert reopened.state == client.state
    with pytest.raises(IbcUnknownClient):
        LightClient("07-tendermint-9", states, heights)


def test_skipping_trusts_a_third_of_the_trusted_set_ICS_07() -> None:
    """ICS-07's default trust level: a header that skips heights is accepted when signers
    holding more than 1/3 of the trusted set's power (and more than 2/3 of its own set's)
    signed it; exactly 1/3 is not enough."""
    chain, client = _fresh()
    # two of the four trusted validators (20 of 40) and a newcomer form the new set
    newcomer = KeyPair.from_seed("newcomer")
    moved = SignedChain((10, 10, 10), seed="moved")
    moved.keys = [*chain.keys[:2], newcomer]
    moved.powers = {k.public_key: 10 for k in moved.keys}
    moved.valset = ConsensusValidatorSet.of(moved.powers)
    header = moved.header(30, T0 + 30 * SECOND)
    assert client.update(moved.update(header, trusted_height=1), T0 + 30 * SECOND) is (
        UpdateOutcome.ACCEPTED
    )
    # a set of three equal validators trusted; one of them (exactly 1/3) and newcomers
    trio = SignedChain((10, 10, 10), seed="trio")
    trusting = _client(trio)
    strangers = [KeyPair.from_seed(f"stranger-{i}") for i in range(3)]
    taken = SignedChain((10, 10, 10, 10), seed="taken")
    taken.keys = [trio.keys[0], *strangers]
    taken.powers = {k.public_key: 10 for k in taken.keys}
    taken.valset = ConsensusValidatorSet.of(taken.powers)
    with pytest.raises(InsufficientVotingPower) as caught:
        trusting.update(
            taken.update(taken.header(30, T0 + 30 * SECOND), trusted_height=1), T0 + 30 * SECOND
        )
    assert caught.value == InsufficientVotingPower(trusting.client_id, "trusted", 10, 30)


def test_removed_validator_alone_cannot_sign_a_header_I_2() -> None:
    """A validator that left the set (jailed: the header that removed it announced the set
    without it) signs nothing the client accepts on its own, neither as a member of a set it
    names nor as a signer of the trusted set's header."""
    chain, client = _fresh()
    jailed = chain.keys[3]
    remaining = SignedChain((10, 10, 10), seed="remaining")
    remaining.keys = chain.keys[:3]
    remaining.powers = {k.public_key: 10 for k in remaining.keys}
    remaining.valset = ConsensusValidatorSet.of(remaining.powers)
    handover = chain.header(2, T0 + SECOND).model_copy(
        update={"next_validators_hash": remaining.valset.hash()}
    )
    update = chain.update(handover, trusted_height=1, next_validators=remaining.valset)
    assert client.update(update, T0 + SECOND) is UpdateOutcome.ACCEPTED
    # the old set's header for the next height, signed by the jailed key alone
    alone = chain.update(chain.header(3, T0 + 2 * SECOND), trusted_height=2, signers=[jailed])
    with pytest.raises(InvalidHeader, match="announced"):
        client.update(alone, T0 + 2 * SECOND)
    # a header skipping heights that names a set of the jailed key alone
    own = SignedChain((10,), seed="own")
    own.keys = [jailed]
    own.powers = {jailed.public_key: 10}
    own.valset = ConsensusValidatorSet.of(own.powers)
    with pytest.raises(InsufficientVotingPower) as caught:
        client.update(own.update(own.header(9, T0 + 9 * SECOND), trusted_height=2), T0 + 9 * SECOND)
    assert caught.value.validator_set == "trusted"
    # the jailed key slipped into the remaining set's commit is not a member of it
    votes = remaining.update(remaining.header(3, T0 + 2 * SECOND), trusted_height=2)
    extra = sign_commit(votes.header, [jailed]).signatures
    padded = votes.model_copy(
        update={"commit": Commit(signatures=(*votes.commit.signatures, *extra))}
    )
    with pytest.raises(InvalidHeader, match="not in the validator set"):
        client.update(padded, T0 + 2 * SECOND)
    assert client.state.latest_height == 2


def test_conflicting_header_freezes_only_when_its_counted_votes_verify_ICS_2() -> None:
    """Misbehaviour detection with the early-stopping check: a conflicting header whose
    counted votes are forged is refused and freezes nothing; one that passes the check
    (its forged vote beyond 2/3, as CometBFT accepts it) freezes the client."""
    chain, client = _unequal()
    now = T0 + 3 * SECOND
    client.update(chain.update(chain.header(2, T0 + SECOND), trusted_height=1), now)
    chain.store.set(commitment_key(PORT, CHANNEL, 9), b"equivocation")
    conflicting = chain.update(chain.header(2, T0 + SECOND), trusted_height=1)
    with pytest.raises(InvalidSignature):
        client.update(_replace_vote(conflicting, chain.keys[3], bytes(64)), now)
    assert client.status(now) is ClientStatus.ACTIVE
    beyond = _replace_vote(conflicting, chain.keys[0], bytes(64))
    assert client.update(beyond, now) is UpdateOutcome.MISBEHAVIOUR
    assert client.status(now) is ClientStatus.FROZEN
