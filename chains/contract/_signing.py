"""Signed transactions: canonical sign bytes, `sign_tx` and `verify_tx`.

What this protects against (issue 13): ``SubmitTx(sender=alice, msg=BankSend(to=mallory))``
from anyone who can reach a host. A `SignedTx` carries the signer's public key, the chain id,
a per-account sequence number and an ed25519 signature over all of them and the message, so:

- a transaction in someone else's name needs their private key (`Unauthorized` when the key's
  address is not the sender, `InvalidSignature` when the signature is not the key's);
- a transaction signed for one chain cannot be replayed on another (`WrongChain`);
- a transaction cannot be replayed on its own chain, since the account's sequence number has
  moved on once it ran (`SequenceMismatch`, as Cosmos' account sequence);
- any change to the message, one field or one byte, breaks the signature.

The sign bytes are domain separated (``mesh-actors/tx/v1``) so that no other signed object
(a block header, a vote) can be passed off as a transaction, and the message is encoded
canonically: its stable type name and its JSON form with sorted keys and no whitespace
(bytes as base64, decimals and coin amounts as their strings). The encoding depends only on
the message's fields, so a message decoded from the wire signs to the same bytes as the one
its sender signed. Fields that are sets would make it depend on hash order; protocol messages
use tuples.

Wiring (for the lead): the host calls `chains.host.authenticate_tx` (which calls `verify_tx`
with the account's expected sequence and then consumes it) before it executes the message,
*outside* the transaction's savepoint. `Chain.sign` signs for the embedder with
``chains.host.signed_host_tx`` (a host transaction body around the message).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict, Field
from pydantic_core import to_jsonable_python

from chains.contract._errors import ChainError, Unauthorized
from chains.contract._keys import InvalidSignature, KeyPair, PublicKey
from mesh_actors import Message

__all__ = [
    "SequenceMismatch",
    "SignedTx",
    "TX_SIGN_DOMAIN",
    "WrongChain",
    "canonical_json",
    "message_type_name",
    "sign_tx",
    "tx_sign_bytes",
    "verify_tx",
]

TX_SIGN_DOMAIN = b"mesh-actors/tx/v1\x00"


class SequenceMismatch(ChainError):
    """The transaction's sequence is not the account's next one: a replay (``got`` below
    ``expected``) or a transaction signed ahead of its predecessors (``got`` above)."""

    fields = ("sender", "expected", "got")
    sender: str
    expected: int
    got: int

    def __init__(self, sender: str, expected: int, got: int) -> None:
        super().__init__(sender, expected, got)


class WrongChain(ChainError):
    """The transaction was signed for another chain (a cross-chain replay)."""

    fields = ("expected", "got")
    expected: str
    got: str

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(expected, got)


def message_type_name(msg: object) -> str:
    """The stable name a message signs under: its ``type_name`` if it has one (every
    `mesh_actors.Message`), else ``module.QualName`` of its class."""
    name = getattr(type(msg), "type_name", None)
    if isinstance(name, str):
        return name
    cls = type(msg)
    return f"{cls.__module__}.{cls.__qualname__}"


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (pydantic models, tuples, dicts, scalars):
    sorted keys, no whitespace, ASCII only, bytes as base64, NaN refused.

    Raises ``ValueError`` or pydantic's ``PydanticSerializationError`` for values JSON cannot
    carry (these are programming errors: every protocol message is JSON-serialisable).
    """
    plain = to_jsonable_python(value, round_trip=True, serialize_as_any=True, bytes_mode="base64")
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def tx_sign_bytes(chain_id: str, sender: str, sequence: int, msg_type: str, msg: Any) -> bytes:
    """What the signer of a transaction signs: domain, chain id, sender, sequence and the
    message (its type name and canonical JSON body).

    ``msg`` may be the message model or the JSON value a codec decoded it to: both give the
    same bytes, so a host can check the signature before it rebuilds the message's class.
    """
    return TX_SIGN_DOMAIN + canonical_json(
        {
            "chain_id": chain_id,
            "sender": sender,
            "sequence": sequence,
            "msg_type": msg_type,
            "msg": msg,
        }
    )


class SignedTx(Message):
    """A transaction as it crosses a transport: ``msg`` signed by ``sender``'s key.

    ``public_key`` is the signer's key (the sender's address derives from it), ``sequence``
    the sender's account sequence it was signed at, ``msg_type`` the message's stable type
    name (`message_type_name`; after a transport ``msg`` is its JSON value, and the host
    rebuilds the class from this name once the signature holds) and ``signature`` the
    ed25519 signature of `tx_sign_bytes`. Bytes travel as base64 and the key as hex in
    JSON. Build one with `sign_tx`; check one with `verify_tx`.
    """

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")
    type_name = "chains.auth.signed_tx"

    sender: str
    public_key: PublicKey
    chain_id: str
    sequence: int = Field(ge=0)
    msg_type: str
    msg: Any
    signature: bytes

    def sign_bytes(self) -> bytes:
        """The bytes ``signature`` must sign (see `tx_sign_bytes`)."""
        return tx_sign_bytes(self.chain_id, self.sender, self.sequence, self.msg_type, self.msg)


def sign_tx(key: KeyPair, *, prefix: str, chain_id: str, sequence: int, msg: Any) -> SignedTx:
    """``msg`` signed by ``key`` for ``chain_id`` at the account's ``sequence``.

    The sender is the key's address under ``prefix`` (the chain's account prefix). Raises
    ``ValueError`` for an invalid prefix or a message JSON cannot carry.
    """
    sender = key.address(prefix)
    msg_type = message_type_name(msg)
    signature = key.sign(tx_sign_bytes(chain_id, sender, sequence, msg_type, msg))
    return SignedTx(
        sender=sender,
        public_key=key.public_key,
        chain_id=chain_id,
        sequence=sequence,
        msg_type=msg_type,
        msg=msg,
        signature=signature,
    )


def verify_tx(tx: SignedTx, *, chain_id: str, sequence: int, prefix: str) -> None:
    """Check that ``tx`` may run on ``chain_id`` as its sender's ``sequence``-th transaction.

    Cheap checks come first, so a flood of junk costs no signature verification:

    - `WrongChain` if it was signed for another chain;
    - `Unauthorized` if ``tx.public_key`` is not the key of ``tx.sender`` under ``prefix``
      (a key that signs for someone else's account);
    - `SequenceMismatch` if ``tx.sequence`` is not ``sequence`` (a replay, or out of order);
    - `InvalidSignature` if the signature is not the key's over the sign bytes (a forgery or
      any tampering with the message, its type, sender, chain id or sequence), or if ``msg``
      is a model of another type than ``msg_type`` says.

    Pure: it consumes nothing (see ``chains.host.authenticate_tx`` for that).
    """
    if tx.chain_id != chain_id:
        raise WrongChain(chain_id, tx.chain_id)
    try:
        owner = tx.public_key.address(prefix)
    except ValueError:
        raise Unauthorized() from None
    if owner != tx.sender:
        raise Unauthorized()
    if tx.sequence != sequence:
        raise SequenceMismatch(tx.sender, sequence, tx.sequence)
    if not isinstance(tx.msg, dict | list | str | int | float | bool | None) and (
        message_type_name(tx.msg) != tx.msg_type
    ):
        raise InvalidSignature(f"transaction of {tx.sender}: message is not a {tx.msg_type}")
    tx.public_key.verify(tx.signature, tx.sign_bytes(), what=f"transaction of {tx.sender}")
