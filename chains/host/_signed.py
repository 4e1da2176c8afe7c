"""Signed host transactions: how a transaction is put in a `SignedTx` and taken out again.

What this protects against (issue 13, ARCHITECTURE rule 3): a transaction that reaches a
chain's host from another actor system is only run if it is signed by its sender's key
(`chains.host.authenticate_tx` checks the key, the chain id, the account sequence and the
signature), and only as that sender: the signer must be the transaction's ``sender`` (or,
for ``gov_*`` transactions, its ``authority``; the governance module account has no key,
so only the embedder's own process, acting for governance, can make those).

**The signed body** of a `SignedTx` is one of the plain-data host transactions (`SubmitTx`,
`ExecuteTx`, `InstantiateTx`, `GovExecuteTx`, `GovSudoTx`) in JSON form, with its inner
``msg`` (a contract message, a `CosmosMsg` or a native message, whose class a plain JSON
value would lose) as ``{"type": <stable type name>, "value": <its JSON>}``. ``msg_type`` is
the host transaction's type name. The body is built by `signed_host_tx` and is JSON before
and after a transport, so the sign bytes are the same on both sides, and the host rebuilds
both classes from their names (`decode_signed_body`) only after the signature holds. One
level of typing: a message whose own fields are typed as ``Any`` gets them back as JSON.

`SudoTx` (the chain calling a contract) and the callable-carrying messages (`RunUnit`,
`ReadState`, `RegisterCode`, `AddModule`, `SpawnComponent`) are never a signed body: the
first has no signer, the others exist only inside one process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from chains.contract._contract import (
    BankBurn,
    BankSend,
    CustomMsg,
    DistributionSetWithdrawAddress,
    DistributionWithdrawReward,
    IbcCloseChannel,
    IbcSendPacket,
    IbcTransfer,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    StargateMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._errors import Unauthorized, UnsupportedMessage
from chains.contract._keys import KeyPair
from chains.contract._signing import SignedTx, message_type_name, tx_sign_bytes
from chains.host._msgs import (
    AddModule,
    BlockTick,
    ExecuteTx,
    GovExecuteTx,
    GovSudoTx,
    InstantiateTx,
    ReadState,
    RegisterCode,
    RunUnit,
    SpawnComponent,
    SubmitTx,
    SudoTx,
    TxBatch,
)
from chains.modules._gov_msgs import ProposalMessage
from chains.modules._msgs import (
    CreateValidator,
    ForceDowntime,
    Mint,
    RecordLiveness,
    SetCommission,
    SubmitEquivocation,
    Unjail,
    WithdrawCommission,
)
from mesh_actors import Message, MessageRegistry

__all__ = [
    "LOCAL_ONLY_MESSAGES",
    "SignedBody",
    "decode_proposal_message",
    "decode_signed_body",
    "signed_host_tx",
]

SignedBody = SubmitTx | ExecuteTx | InstantiateTx | GovExecuteTx | GovSudoTx

_BODIES: Mapping[str, type[SignedBody]] = {
    cls.type_name: cls for cls in (SubmitTx, ExecuteTx, InstantiateTx, GovExecuteTx, GovSudoTx)
}

LOCAL_ONLY_MESSAGES: frozenset[type[Message]] = frozenset(
    (RunUnit, ReadState, RegisterCode, AddModule, SpawnComponent, TxBatch, BlockTick, SudoTx)
)
"""Host messages that are never taken from another actor system: they carry callables
(``RunUnit``, ...), are the chain's own (``SudoTx``, ``BlockTick``) or bundle unsigned
transactions (``TxBatch``). `ProduceBlocks` is refused from a remote system by the host."""

# root messages without a ``type_name`` (CosmWasm's CosmosMsg and the native messages),
# named as `message_type_name` names them
_PLAIN_ROOTS: tuple[type[BaseModel], ...] = (
    WasmExecute,
    WasmInstantiate,
    BankSend,
    BankBurn,
    StakingDelegate,
    StakingUndelegate,
    StakingRedelegate,
    DistributionWithdrawReward,
    DistributionSetWithdrawAddress,
    IbcSendPacket,
    IbcTransfer,
    IbcCloseChannel,
    CustomMsg,
    StargateMsg,
    CreateValidator,
    Unjail,
    SetCommission,
    WithdrawCommission,
    RecordLiveness,
    ForceDowntime,
    SubmitEquivocation,
    Mint,
)

# inner messages that are plain JSON values, by `message_type_name`
_JSON_TYPES = frozenset(f"builtins.{t.__name__}" for t in (dict, list, str, int, float, bool))

_inner_classes: dict[str, type[BaseModel]] | None = None


def _inner_class(name: str) -> type[BaseModel] | None:
    # built on first use (not at import: the message classes of every package in use must be
    # defined by then); local-only messages are never rebuilt from the wire
    global _inner_classes
    if _inner_classes is None:
        registry = MessageRegistry.from_subclasses()
        found: dict[str, type[BaseModel]] = {}
        for type_name in registry:
            cls = registry.get(type_name)
            if cls is not None and cls not in LOCAL_ONLY_MESSAGES and cls is not SignedTx:
                found[type_name] = cls
        for plain in _PLAIN_ROOTS:
            found[message_type_name(plain.model_construct())] = plain
        _inner_classes = found
    return _inner_classes.get(name)


def _plain(value: Any) -> Any:
    return to_jsonable_python(value, round_trip=True, serialize_as_any=True, bytes_mode="base64")


def signed_host_tx(
    key: KeyPair, *, prefix: str, chain_id: str, sequence: int, tx: SignedBody | BaseModel
) -> SignedTx:
    """``tx`` signed by ``key`` for ``chain_id`` at the account's ``sequence``.

    ``tx`` is a host transaction (`SubmitTx`, `ExecuteTx`, `InstantiateTx`, `GovExecuteTx`,
    `GovSudoTx`) or a root message (a `CosmosMsg` or a native message), which is signed as
    ``SubmitTx(sender=<the key's address>, msg=tx)``. Raises ``ValueError`` for a local-only
    message or an invalid prefix.
    """
    sender = key.address(prefix)
    if type(tx) in LOCAL_ONLY_MESSAGES:
        raise ValueError(f"{type(tx).__name__} is local-only and cannot be signed")
    if not isinstance(tx, SubmitTx | ExecuteTx | InstantiateTx | GovExecuteTx | GovSudoTx):
        tx = SubmitTx(sender=sender, msg=tx)
    body = _plain(tx)
    if isinstance(tx.msg, CustomMsg) and isinstance(body["msg"], dict):
        # a module message keeps its class too (a second level of typing), so a module
        # reached from another process (a governance proposal, a vote) gets its message
        body["msg"]["msg"] = {"type": message_type_name(tx.msg.msg), "value": body["msg"]["msg"]}
    body["msg"] = {"type": message_type_name(tx.msg), "value": body["msg"]}
    msg_type = tx.type_name
    signature = key.sign(tx_sign_bytes(chain_id, sender, sequence, msg_type, body))
    return SignedTx(
        sender=sender,
        public_key=key.public_key,
        chain_id=chain_id,
        sequence=sequence,
        msg_type=msg_type,
        msg=body,
        signature=signature,
    )


def decode_signed_body(tx: SignedTx, signer: str) -> SignedBody:
    """The host transaction an authenticated `SignedTx` carries, to run as ``signer``.

    Call it once the signature holds (`verify_tx`). Raises `Unauthorized` if the body's
    ``sender`` (``authority`` for ``gov_*``) is not ``signer`` (checked first);
    `UnsupportedMessage` if ``msg_type`` or the inner type is not a signable host
    transaction or a known message (or a plain JSON value), or the body does not validate
    as one.
    """
    cls = _BODIES.get(tx.msg_type)
    body = tx.msg
    if cls is None or not isinstance(body, dict):
        raise UnsupportedMessage("signed transaction", tx.msg_type)
    # whose name the body is in, before anything else is rebuilt from it
    claimed = body.get("authority" if cls in (GovExecuteTx, GovSudoTx) else "sender")
    if claimed != signer:
        raise Unauthorized()
    inner = body.get("msg")
    if not isinstance(inner, dict) or set(inner) != {"type", "value"}:
        raise UnsupportedMessage("signed transaction", f"{tx.msg_type} without a typed msg")
    try:
        msg = _decode_typed(inner["type"], inner["value"])
        outer = cls.model_validate_json(json.dumps({**body, "msg": None}))
    except (ValidationError, TypeError, ValueError) as exc:
        raise UnsupportedMessage("signed transaction", f"{tx.msg_type}: {exc}") from None
    decoded = outer.model_copy(update={"msg": msg})
    return decoded


def _decode_typed(name: Any, value: Any) -> Any:
    """The message of type ``name`` whose JSON form is ``value``. Raises
    `UnsupportedMessage` for an unknown (or local-only) type, ``ValidationError`` /
    ``ValueError`` / ``TypeError`` for a value that does not fit it."""
    if name in _JSON_TYPES:
        # a plain JSON message (a contract that takes dicts): kept as it is
        if type(value).__name__ != name.removeprefix("builtins."):
            raise ValueError(f"not a {name}")
        return value
    cls = _inner_class(name) if isinstance(name, str) else None
    if cls is None:
        raise UnsupportedMessage("signed transaction", str(name))
    if cls is CustomMsg and isinstance(value, dict):
        nested = value.get("msg")
        if isinstance(nested, dict) and set(nested) == {"type", "value"}:
            inner = _decode_typed(nested["type"], nested["value"])
            outer = CustomMsg.model_validate_json(json.dumps({**value, "msg": None}))
            return outer.model_copy(update={"msg": inner})
    # through JSON again: the body is the JSON form (bytes as base64, amounts as text)
    return cls.model_validate_json(json.dumps(value))


def decode_proposal_message(item: ProposalMessage) -> Any:
    """The message a governance proposal carries (see `chains.modules.proposal_message`),
    rebuilt from its type name and JSON as a signed transaction's message is. Raises
    `UnsupportedMessage` for an unknown or local-only type or a value that does not fit."""
    try:
        return _decode_typed(item.type, item.value)
    except (ValidationError, TypeError, ValueError) as exc:
        raise UnsupportedMessage("proposal message", f"{item.type}: {exc}") from None
