"""The Mesh Security control-channel wire format (spec ibc.md I-34, I-35, I-50, I-55).

Packet data is UTF-8 JSON of an externally tagged union: one snake_case key naming the
variant, whose value is the field object. Token amounts are JSON strings, ``u64`` fields
(tx ids, heights, times, power) JSON numbers, decimals strings, coins
``{"denom": str, "amount": str}``. Decoding refuses unknown variants, missing or extra fields
and bad values with `PacketDecodeError` (the receiver turns it into an error ack, I-34).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer, field_validator

from chains.contract._coin import Coin
from chains.contract._errors import ChainError
from chains.contract._ibc_types import MAX_PACKET_SIZE, PacketTooLarge

__all__ = [
    "ACK_SUCCESS_BYTES",
    "BurnPacket",
    "ConsumerPacket",
    "DistributeBatchPacket",
    "DistributePacket",
    "InternalUnstakePacket",
    "PacketDecodeError",
    "ProviderPacket",
    "RewardInfo",
    "StakePacket",
    "TransferRewardsPacket",
    "UnstakePacket",
    "ValidatorInfo",
    "ValidatorSlashInfo",
    "ValsetUpdatePacket",
    "decode_consumer_packet",
    "decode_provider_packet",
    "encode_distribute_batch",
    "encode_packet",
]

# I-35: every success ack carries the JSON object {} (wrapped by IbcAcknowledgement.success).
ACK_SUCCESS_BYTES = b"{}"
# I-37: default framework limit on packet data.

_U64 = (1 << 64) - 1


class PacketDecodeError(ChainError):
    """Packet bytes that are not a valid variant of the expected union (I-34)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class _Packet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)
    variant: ClassVar[str]

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("floats are not allowed on the wire")
        return value


def _u64(value: int) -> int:
    if isinstance(value, bool) or not 0 <= value <= _U64:
        raise ValueError("must be a u64")
    return value


class _TxPacket(_Packet):
    tx_id: int

    @field_validator("tx_id")
    @classmethod
    def _check_tx_id(cls, value: int) -> int:
        return _u64(value)


# -- provider → consumer (I-50) ---------------------------------------------------------------


class StakePacket(_TxPacket):
    variant = "stake"
    delegator: str
    validator: str
    stake: Coin


class UnstakePacket(_TxPacket):
    variant = "unstake"
    delegator: str
    validator: str
    unstake: Coin


class BurnPacket(_Packet):
    variant = "burn"
    validators: tuple[str, ...]
    burn: Coin


class TransferRewardsPacket(_TxPacket):
    variant = "transfer_rewards"
    rewards: Coin
    recipient: str


ProviderPacket = StakePacket | UnstakePacket | BurnPacket | TransferRewardsPacket

# -- consumer → provider (I-55) ---------------------------------------------------------------


class ValidatorInfo(_Packet):
    valoper: str
    pub_key: str


class ValidatorSlashInfo(_Packet):
    address: str
    infraction_height: int
    infraction_time: int
    power: int
    slash_amount: Coin
    # A decimal string; the provider parses it (refusing with InvalidSlashRatio).
    slash_ratio: str

    @field_validator("infraction_height", "infraction_time", "power")
    @classmethod
    def _check_u64(cls, value: int) -> int:
        return _u64(value)


class ValsetUpdatePacket(_Packet):
    variant = "valset_update"
    height: int
    time: int
    additions: tuple[ValidatorInfo, ...] = ()
    removals: tuple[str, ...] = ()
    updated: tuple[ValidatorInfo, ...] = ()
    jailed: tuple[str, ...] = ()
    unjailed: tuple[str, ...] = ()
    tombstoned: tuple[str, ...] = ()
    slashed: tuple[ValidatorSlashInfo, ...] = ()

    @field_validator("height", "time")
    @classmethod
    def _check_u64(cls, value: int) -> int:
        return _u64(value)


class InternalUnstakePacket(_Packet):
    variant = "internal_unstake"
    delegator: str
    validator: str
    normalize_amount: Coin
    inverted_amount: Coin


class DistributePacket(_Packet):
    variant = "distribute"
    validator: str
    rewards: Coin


class RewardInfo(_Packet):
    validator: str
    reward: int

    @field_serializer("reward")
    def _reward_as_string(self, value: int) -> str:
        return str(value)

    @field_validator("reward", mode="before")
    @classmethod
    def _reward_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.isdigit():
                raise ValueError("amount must be a decimal string of digits")
            return int(value)
        return value


class DistributeBatchPacket(_Packet):
    variant = "distribute_batch"
    rewards: tuple[RewardInfo, ...]
    denom: str


ConsumerPacket = (
    ValsetUpdatePacket | InternalUnstakePacket | DistributePacket | DistributeBatchPacket
)

P = TypeVar("P", bound=_Packet)

_PROVIDER: dict[str, type[_Packet]] = {
    c.variant: c for c in (StakePacket, UnstakePacket, BurnPacket, TransferRewardsPacket)
}
_CONSUMER: dict[str, type[_Packet]] = {
    c.variant: c
    for c in (ValsetUpdatePacket, InternalUnstakePacket, DistributePacket, DistributeBatchPacket)
}


def encode_packet(packet: _Packet, limit: int = MAX_PACKET_SIZE) -> bytes:
    """The wire bytes of ``packet``; raises `PacketTooLarge` over ``limit`` (I-37)."""
    body = packet.model_dump(mode="json")
    data = json.dumps({packet.variant: body}, separators=(",", ":")).encode()
    if len(data) > limit:
        raise PacketTooLarge(len(data), limit)
    return data


def encode_distribute_batch(
    rewards: Sequence[tuple[str, int]], denom: str, limit: int = MAX_PACKET_SIZE
) -> bytes:
    """The wire bytes of ``DistributeBatchPacket(rewards=(RewardInfo(validator=v,
    reward=r), ...), denom=denom)`` for ``(v, r)`` in ``rewards``, written without building
    the models (the converter sends one per epoch with a record per bonded validator, C-78).

    Byte-identical to `encode_packet` of that packet when every validator and the denom are
    ``str`` and every reward an ``int`` (exactly: what the models would keep as they are);
    any other value takes the models' way, so the result, and what it raises (pydantic's
    ``ValidationError`` for a value the models refuse), are the same. Raises
    `PacketTooLarge` over ``limit`` (I-37).
    """
    exact = type(denom) is str
    if exact:
        for validator, reward in rewards:
            if type(validator) is not str or type(reward) is not int:
                exact = False
                break
    if not exact:
        packet = DistributeBatchPacket(
            rewards=tuple([RewardInfo(validator=v, reward=r) for v, r in rewards]), denom=denom
        )
        return encode_packet(packet, limit)
    # the fields in the models' order; rewards as decimal strings (`RewardInfo`'s serializer)
    body = {
        "rewards": [{"validator": v, "reward": str(r)} for v, r in rewards],
        "denom": denom,
    }
    data = json.dumps({DistributeBatchPacket.variant: body}, separators=(",", ":")).encode()
    if len(data) > limit:
        raise PacketTooLarge(len(data), limit)
    return data


def _decode(data: bytes, variants: dict[str, type[_Packet]]) -> _Packet:
    try:
        outer = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PacketDecodeError(f"not JSON: {exc}") from None
    if not isinstance(outer, dict) or len(outer) != 1:
        raise PacketDecodeError("expected an object with exactly one variant key")
    ((key, body),) = outer.items()
    cls = variants.get(key)
    if cls is None:
        raise PacketDecodeError(f"unknown variant {key!r}")
    if not isinstance(body, dict):
        raise PacketDecodeError(f"variant {key!r} must hold an object")
    validator = body.get("validator")
    if type(validator) is str:
        # a chain has a hundred validators and keeps the name of each stake's one (the
        # consumer's stake keys): one string per validator, not one per packet decoded
        # (issue 16, ~100 bytes per stake)
        body["validator"] = sys.intern(validator)
    try:
        return cls.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PacketDecodeError(f"{key}.{where}: {first['msg']}") from None


def decode_provider_packet(data: bytes) -> ProviderPacket:
    """Decode a packet the provider sent (consumer side); raises `PacketDecodeError`."""
    return _decode(data, _PROVIDER)  # type: ignore[return-value]


def decode_consumer_packet(data: bytes) -> ConsumerPacket:
    """Decode a packet the consumer sent (provider side); raises `PacketDecodeError`."""
    return _decode(data, _CONSUMER)  # type: ignore[return-value]
