"""A chain signs its own headers' commits on first read (issue 16), and nothing else changes
(I-17: a relayer can delay or drop, never forge).

A header's commit made by `ProvableStore.signed` holds its signers' keys and the header's
sign bytes; the signatures are computed the first time anything reads them (the field,
equality, a copy, a pickle, ``model_dump_json`` and the codec). ed25519 is deterministic, so
the JSON of a lazily signed header is byte-identical to an eagerly signed one. A light
client in the same process counts such a commit's votes by construction when it is bound to
exactly the header it verifies; any other commit (moved onto another header, tampered with,
decoded from the wire) is verified signature by signature.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import InvalidSignature, KeyPair, Store
from chains.ibc import (
    ClientFrozen,
    ClientUpdate,
    Commit,
    CommitSignature,
    HeaderReply,
    IbcHeader,
    IbcStore,
    InsufficientVotingPower,
    LightClient,
    ProvableStore,
    SignedHeader,
    UpdateOutcome,
)
from mesh_actors import Address, Envelope, MessageRegistry
from transport import JsonCodec

CHAIN = "juno-1"
SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND
NOW = T0 + 3_600 * SECOND


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every message `KeyPair.sign` signs while the test runs (the signatures computed)."""
    signed: list[bytes] = []
    sign = KeyPair.sign

    def counting(self: KeyPair, data: bytes) -> bytes:
        signed.append(data)
        return sign(self, data)

    monkeypatch.setattr(KeyPair, "sign", counting)
    yield signed


def _store(validators: int = 4, bonded: tuple[tuple[str, int], ...] = ()) -> ProvableStore:
    return ProvableStore(
        CHAIN,
        IbcStore(Store()),
        validators,
        (lambda: bonded) if bonded else None,
    )


def _signed(store: ProvableStore, height: int, time_ns: int = 0) -> SignedHeader:
    header = store.signed(
        IbcHeader(chain_id=CHAIN, height=height, time_ns=time_ns or T0 + height * SECOND)
    )
    assert header.signed is not None
    return header.signed


def _eager(signed: SignedHeader, keys: tuple[KeyPair, ...]) -> Commit:
    """The commit of ``signed``'s header as it was made before issue 16: signed at once."""
    data = signed.header.sign_bytes()
    return Commit(
        signatures=tuple(
            CommitSignature(validator=key.public_key, signature=key.sign(data)) for key in keys
        )
    )


def _update(
    signed: SignedHeader, trusted_height: int, commit: Commit | None = None
) -> ClientUpdate:
    return ClientUpdate(
        header=signed.header,
        commit=signed.commit if commit is None else commit,
        validators=signed.validators,
        next_validators=signed.next_validators or signed.validators,
        trusted_height=trusted_height,
    )


def _client(first: SignedHeader) -> LightClient:
    return LightClient.create(
        "07-tendermint-0",
        first.header,
        first.next_validators or first.validators,
        trusting_period_ns=14 * 86_400 * SECOND,
        max_clock_drift_ns=10 * SECOND,
    )


def _wire(header: IbcHeader) -> tuple[bytes, IbcHeader]:
    """``header``'s frame through the transport codec, and the header decoded from it."""
    codec = JsonCodec(MessageRegistry([HeaderReply]))
    frame = codec.encode(Envelope(Address("relayer", "juno"), HeaderReply(header=header)))
    decoded = codec.decode(frame).message
    assert isinstance(decoded, HeaderReply) and decoded.header is not None
    return frame, decoded.header


def test_a_header_is_signed_only_when_its_commit_is_read_I_17(signatures: list[bytes]) -> None:
    store = _store(validators=5)
    first = _signed(store, 1)
    second = _signed(store, 2)
    assert signatures == [], "handing out headers signs nothing"
    client = _client(first)
    assert client.update(_update(second, 1), NOW) is UpdateOutcome.ACCEPTED
    assert signatures == [], "a client in this process counts its own chain's votes"
    text = second.model_dump_json()
    assert signatures == [second.header.sign_bytes()] * 5, "the encoder signs, once per vote"
    assert second.model_dump_json() == text
    assert len(signatures) == 5, "and only once"


@settings(max_examples=25, deadline=None)
@given(
    height=st.integers(min_value=1, max_value=2**40),
    time_ns=st.integers(min_value=0, max_value=2**62),
    powers=st.lists(st.integers(min_value=1, max_value=10**9), min_size=0, max_size=7),
    validators=st.integers(min_value=1, max_value=6),
)
def test_lazy_and_eager_serialisations_are_equal_I_17(
    height: int, time_ns: int, powers: list[int], validators: int
) -> None:
    """Hypothesis: over heights, times and validator sets (equal-power genesis signers or
    a bonded set with powers), a lazily signed header's JSON, python dump and codec frame
    are byte-identical to those of the same header signed at once."""
    bonded = tuple((f"pubkey-{i}", power) for i, power in enumerate(powers))
    store = _store(validators, bonded)
    keys = store.signing_keys()
    header = store.signed(IbcHeader(chain_id=CHAIN, height=height, time_ns=time_ns))
    signed = header.signed
    assert signed is not None
    # the lazy one is read first, by the encoders themselves
    lazy_json = header.model_dump_json()
    lazy_frame, _ = _wire(header)
    lazy_dump = header.model_dump()
    eager = header.model_copy(
        update={"signed": signed.model_copy(update={"commit": _eager(signed, keys)})}
    )
    assert lazy_json == eager.model_dump_json()
    assert lazy_frame == _wire(eager)[0]
    assert lazy_dump == eager.model_dump()
    assert header == eager and eager == header
    assert len(signed.commit.signatures) == len(keys)


def test_a_lazily_signed_header_verifies_as_an_eager_one_across_the_codec_I_17(
    signatures: list[bytes],
) -> None:
    store = _store(validators=4)
    first, second = _signed(store, 1), _signed(store, 2)
    _, decoded = _wire(IbcHeader(chain_id=CHAIN, height=2, time_ns=T0 + 2 * SECOND, signed=second))
    assert decoded.signed is not None
    assert type(decoded.signed.commit) is Commit, "what the wire gives is a plain commit"
    assert decoded.signed == second
    eager = _eager(second, store.signing_keys())
    assert decoded.signed.commit == eager
    outcomes = []
    for commit in (second.commit, decoded.signed.commit, eager):
        client = _client(first)
        outcomes.append(client.update(_update(second, 1, commit), NOW))
        assert client.consensus_state(2) is not None
    assert outcomes == [UpdateOutcome.ACCEPTED] * 3
    # the decoded commit with one signature altered is verified, and refused
    votes = list(decoded.signed.commit.signatures)
    forged = bytes([votes[0].signature[0] ^ 1]) + votes[0].signature[1:]
    votes[0] = CommitSignature(validator=votes[0].validator, signature=forged)
    with pytest.raises(InvalidSignature):
        _client(first).update(_update(second, 1, Commit(signatures=tuple(votes))), NOW)


def test_a_lazy_commit_moved_onto_another_header_is_refused_I_17(
    signatures: list[bytes],
) -> None:
    """A relayer that attaches a chain's commit to a header it made up (another app hash at
    the same height) gains nothing from the commit being lazy: it is not bound to that
    header, so its votes are signed and verified against it, and fail."""
    honest = _store(validators=4)
    first, second = _signed(honest, 1), _signed(honest, 2)
    made_up = _store(validators=4)
    made_up.tree.set(b"commitments/ports/wasm.vault/channels/channel-0/sequences/1", b"forged")
    _signed(made_up, 1)
    forged = _signed(made_up, 2)
    assert forged.header.app_hash != second.header.app_hash
    update = ClientUpdate(
        header=forged.header,
        commit=second.commit,
        validators=second.validators,
        next_validators=second.validators,
        trusted_height=1,
    )
    client = _client(first)
    with pytest.raises(InvalidSignature):
        client.update(update, NOW)
    assert client.consensus_state(2) is None
    assert signatures, "the moved commit's votes were computed to be verified"
    # and onto the next height: not bound to it either
    third = _signed(honest, 3)
    with pytest.raises(InvalidSignature):
        client.update(_update(third, 1, second.commit), NOW)
    assert client.update(_update(third, 1), NOW) is UpdateOutcome.ACCEPTED


def test_a_tampered_or_thinned_vote_is_refused_I_17() -> None:
    store = _store(validators=4)
    first, second = _signed(store, 1), _signed(store, 2)
    votes = list(second.commit.signatures)
    votes[0] = CommitSignature(validator=votes[0].validator, signature=votes[1].signature)
    with pytest.raises(InvalidSignature):
        _client(first).update(_update(second, 1, Commit(signatures=tuple(votes))), NOW)
    two_of_four = Commit(signatures=second.commit.signatures[:2])
    with pytest.raises(InsufficientVotingPower):
        _client(first).update(_update(second, 1, two_of_four), NOW)


def test_two_lazily_signed_headers_for_one_height_freeze_the_client_I_17(
    signatures: list[bytes],
) -> None:
    """Misbehaviour: the chain's own keys signing two different headers for one height
    (its validators equivocating) are both valid, so the client freezes, lazily or not."""
    store = _store(validators=4)
    first, second = _signed(store, 1), _signed(store, 2)
    twin = _store(validators=4)
    twin.tree.set(b"receipts/x", b"\x01")
    _signed(twin, 1)
    other = _signed(twin, 2)
    client = _client(first)
    assert client.update(_update(second, 1), NOW) is UpdateOutcome.ACCEPTED
    assert client.update(_update(second, 1), NOW) is UpdateOutcome.DUPLICATE
    assert client.update(_update(other, 1), NOW) is UpdateOutcome.MISBEHAVIOUR
    with pytest.raises(ClientFrozen):
        client.update(_update(_signed(store, 3), 2), NOW)
    assert signatures == [], "both commits were counted by construction"


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda c: pickle.loads(pickle.dumps(c)), id="pickle"),
        pytest.param(copy.copy, id="copy"),
        pytest.param(copy.deepcopy, id="deepcopy"),
        pytest.param(lambda c: c.model_copy(), id="model_copy"),
        pytest.param(lambda c: Commit.model_validate_json(c.model_dump_json()), id="json"),
        pytest.param(lambda c: Commit.model_validate(c.model_dump()), id="dump"),
    ],
)
def test_a_lazy_commit_reads_as_the_eager_commit_I_17(read: Callable[[Commit], Commit]) -> None:
    store = _store(validators=3)
    keys = store.signing_keys()
    signed = _signed(store, 7)
    lazy = signed.commit
    eager = _eager(signed, keys)
    again = read(lazy)
    assert type(again) is Commit, "copies and pickles are plain commits (no keys inside)"
    assert again == eager and eager == again and lazy == eager
    assert hash(lazy) == hash(eager)
    assert repr(lazy) == repr(eager)
    assert lazy.model_fields_set == eager.model_fields_set
    assert dict(lazy) == dict(eager)
    assert lazy != Commit(signatures=eager.signatures[:2])
    updated = lazy.model_copy(update={"signatures": eager.signatures[:1]})
    assert updated == Commit(signatures=eager.signatures[:1])
