"""Signed transactions and the host's account sequences (issue 13, ARCHITECTURE rule 3).

The attacks: a transaction in another account's name (``SubmitTx(sender=alice, ...)`` from
mallory), replayed on its own chain or on another, or tampered with in flight.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.contract import (
    BankSend,
    ChainError,
    Coin,
    InvalidSignature,
    KeyPair,
    SequenceMismatch,
    SignedTx,
    Store,
    Unauthorized,
    WasmExecute,
    WrongChain,
    sign_tx,
    verify_tx,
)
from chains.host import AccountSequences, authenticate_tx
from mesh_actors import Address, Envelope, Message, MessageRegistry
from transport import JsonCodec

PREFIX = "stars"
CHAIN = "stars-1"
ALICE = KeyPair.from_seed("alice")
MALLORY = KeyPair.from_seed("mallory")


class Deposit(Message):
    """A contract message nested in a `WasmExecute`, to sign through two levels."""

    type_name = "tests.trust.deposit"
    amount: int
    memo: str = ""


def _send(amount: int = 100, to: str | None = None) -> BankSend:
    return BankSend(
        to_address=to or MALLORY.address(PREFIX), amount=(Coin(denom="stake", amount=amount),)
    )


def _tx(msg: Any = None, *, key: KeyPair = ALICE, sequence: int = 0) -> SignedTx:
    return sign_tx(key, prefix=PREFIX, chain_id=CHAIN, sequence=sequence, msg=msg or _send())


def test_honest_transaction_verifies() -> None:
    tx = _tx()
    assert tx.sender == ALICE.address(PREFIX)
    verify_tx(tx, chain_id=CHAIN, sequence=0, prefix=PREFIX)


def test_sender_someone_else_is_unauthorized() -> None:
    """Mallory signs with her key but names alice as the sender: the key's address differs."""
    forged = _tx(key=MALLORY).model_copy(update={"sender": ALICE.address(PREFIX)})
    with pytest.raises(Unauthorized):
        verify_tx(forged, chain_id=CHAIN, sequence=0, prefix=PREFIX)


def test_alices_key_with_a_signature_not_hers_is_refused() -> None:
    """Mallory copies alice's public key into her transaction; her signature does not verify."""
    mine = _tx(key=MALLORY)
    forged = mine.model_copy(
        update={"sender": ALICE.address(PREFIX), "public_key": ALICE.public_key}
    )
    with pytest.raises(InvalidSignature):
        verify_tx(forged, chain_id=CHAIN, sequence=0, prefix=PREFIX)


def test_signed_for_another_chain_is_refused() -> None:
    with pytest.raises(WrongChain) as caught:
        verify_tx(_tx(), chain_id="osmo-1", sequence=0, prefix=PREFIX)
    assert caught.value == WrongChain("osmo-1", CHAIN)


def test_replay_is_a_sequence_mismatch() -> None:
    tx = _tx(sequence=3)
    with pytest.raises(SequenceMismatch) as caught:
        verify_tx(tx, chain_id=CHAIN, sequence=4, prefix=PREFIX)
    assert caught.value == SequenceMismatch(tx.sender, 4, 3)


def test_message_swapped_under_a_signature_is_refused() -> None:
    tx = _tx(_send(1))
    forged = tx.model_copy(update={"msg": _send(10**12)})
    with pytest.raises(InvalidSignature):
        verify_tx(forged, chain_id=CHAIN, sequence=0, prefix=PREFIX)


def test_message_of_another_type_than_signed_is_refused() -> None:
    tx = _tx(Deposit(amount=1))
    forged = tx.model_copy(update={"msg_type": "tests.trust.other"})
    with pytest.raises(InvalidSignature):
        verify_tx(forged, chain_id=CHAIN, sequence=0, prefix=PREFIX)
    relabelled = tx.model_copy(update={"msg": _send(1)})
    with pytest.raises(InvalidSignature, match="not a"):
        verify_tx(relabelled, chain_id=CHAIN, sequence=0, prefix=PREFIX)


def test_signature_survives_the_transport_codec() -> None:
    """A transaction decoded from a frame verifies before its message class is rebuilt, and
    the frame's bytes with one byte changed never verify."""
    msg = WasmExecute(contract_addr="stars1vault", msg=Deposit(amount=7, memo="ü"), funds=())
    tx = _tx(msg)
    codec = JsonCodec(MessageRegistry([SignedTx]))
    frame = codec.encode(Envelope(Address("chain", "host"), tx))
    decoded = codec.decode(frame).message
    assert isinstance(decoded, SignedTx)
    assert isinstance(decoded.msg, dict)
    verify_tx(decoded, chain_id=CHAIN, sequence=0, prefix=PREFIX)


@given(st.data())
def test_one_byte_changed_in_the_frame_is_refused(data: st.DataObject) -> None:
    """Hypothesis: any one-byte change of an encoded signed transaction either fails to decode
    or fails verification (or leaves the meaning unchanged, e.g. a JSON escape's case)."""
    tx = _tx(WasmExecute(contract_addr="stars1vault", msg=Deposit(amount=7), funds=()))
    codec = JsonCodec(MessageRegistry([SignedTx]))
    frame = bytearray(codec.encode(Envelope(Address("chain", "host"), tx)))
    index = data.draw(st.integers(0, len(frame) - 1))
    frame[index] = data.draw(st.integers(0, 255).filter(lambda b: b != frame[index]))
    try:
        decoded = codec.decode(bytes(frame)).message
    except Exception:
        return  # the codec refused it: the host never sees it
    if not isinstance(decoded, SignedTx):
        return
    try:
        verify_tx(decoded, chain_id=CHAIN, sequence=0, prefix=PREFIX)
    except ChainError:
        return
    # accepted: then it must be the very transaction alice signed
    assert decoded.sign_bytes() == tx.sign_bytes()
    assert decoded.signature == tx.signature


_FIELDS = st.sampled_from(["sender", "public_key", "chain_id", "sequence", "msg", "signature"])


@given(field=_FIELDS, data=st.data())
def test_tampering_with_any_one_field_is_refused(field: str, data: st.DataObject) -> None:
    """Hypothesis: change one field of a signed transaction to any other value: refused."""
    tx = _tx(_send(5), sequence=2)
    value: object
    if field == "sender":
        value = data.draw(st.sampled_from([MALLORY.address(PREFIX), "stars1x", ""]))
    elif field == "public_key":
        value = KeyPair.from_seed(data.draw(st.binary(min_size=1, max_size=8))).public_key
    elif field == "chain_id":
        value = data.draw(st.text(max_size=10).filter(lambda c: c != CHAIN))
    elif field == "sequence":
        value = data.draw(st.integers(0, 2**64).filter(lambda s: s != 2))
    elif field == "msg":
        value = _send(data.draw(st.integers(0, 2**64).filter(lambda a: a != 5)))
    else:
        index = data.draw(st.integers(0, 63))
        flip = data.draw(st.integers(1, 255))
        raw = bytearray(tx.signature)
        raw[index] ^= flip
        value = bytes(raw)
    tampered = tx.model_copy(update={field: value})
    with pytest.raises((InvalidSignature, Unauthorized, SequenceMismatch, WrongChain)):
        verify_tx(tampered, chain_id=CHAIN, sequence=2, prefix=PREFIX)


# -- the host's book --------------------------------------------------------------------------


def test_authenticate_consumes_the_sequence_and_refuses_a_replay() -> None:
    store = Store()
    book = AccountSequences(store)
    alice = ALICE.address(PREFIX)
    assert book.get(alice) == 0
    first = _tx(sequence=0)
    assert authenticate_tx(first, chain_id=CHAIN, prefix=PREFIX, sequences=book) == alice
    assert book.get(alice) == 1
    with pytest.raises(SequenceMismatch):
        authenticate_tx(first, chain_id=CHAIN, prefix=PREFIX, sequences=book)
    assert book.get(alice) == 1
    authenticate_tx(_tx(sequence=1), chain_id=CHAIN, prefix=PREFIX, sequences=book)
    assert book.get(alice) == 2
    assert "auth/sequences" in store.names()


def test_refused_transactions_consume_nothing() -> None:
    book = AccountSequences(Store())
    bad = [
        _tx(key=MALLORY).model_copy(update={"sender": ALICE.address(PREFIX)}),
        _tx(sequence=5),
        _tx().model_copy(update={"msg": _send(1)}),
    ]
    for tx in bad:
        with pytest.raises(ChainError):
            authenticate_tx(tx, chain_id=CHAIN, prefix=PREFIX, sequences=book)
    with pytest.raises(WrongChain):
        authenticate_tx(_tx(), chain_id="other", prefix=PREFIX, sequences=book)
    assert len(book) == 0


def test_sequences_are_chain_state_rolled_back_with_their_savepoint() -> None:
    """Why the host must authenticate outside the transaction's savepoint: inside, a failing
    message would roll the sequence back and the same signed bytes could run again."""
    store = Store()
    book = AccountSequences(store)
    point = store.savepoint()
    authenticate_tx(_tx(), chain_id=CHAIN, prefix=PREFIX, sequences=book)
    store.rollback_to(point)
    assert book.get(ALICE.address(PREFIX)) == 0
