"""The vault's generic interfaces towards lien holders (P-1 component map, P-25, P-26, P-40).

``LocalStakingApi`` is what a local staking contract (the native staking contract, or a DAO
token staker) accepts from the vault: ``ReceiveStake`` with real tokens attached and
``BurnStake``. ``CrossStakingApi`` is what an external staking contract accepts:
``ReceiveVirtualStake`` (no tokens, a tx id to commit or roll back) and ``BurnVirtualStake``.
Both answer the ``MaxSlash`` query. The ``msg`` payload of a stake is opaque bytes to the
vault; the provider's own lien holders expect ``{"validator": "<valoper>"}``
(`encode_stake_target` / `decode_stake_target`).
"""

from __future__ import annotations

import json
import sys

from chains.contract._coin import Coin
from chains.contract._decimal import Decimal18
from chains.provider._errors import InvalidStakeMsg
from mesh_actors import Message

__all__ = [
    "BurnStake",
    "BurnVirtualStake",
    "CrossStakingApi",
    "LocalStakingApi",
    "MaxSlash",
    "MaxSlashResponse",
    "ReceiveStake",
    "ReceiveVirtualStake",
    "decode_stake_target",
    "encode_stake_target",
]


class ReceiveStake(Message):
    """Vault → local staking: stake the attached tokens for ``owner`` (P-25, P-44)."""

    type_name = "local_staking.receive_stake"
    owner: str
    msg: bytes


class BurnStake(Message):
    """Vault → local staking: burn ``amount`` of ``owner``'s stake, preferably from
    ``validator`` (P-40, P-46)."""

    type_name = "local_staking.burn_stake"
    owner: str
    amount: Coin
    validator: str | None = None


class ReceiveVirtualStake(Message):
    """Vault → external staking: stake ``amount`` for ``owner`` under the vault's ``tx_id``
    (P-26, P-64). No tokens move."""

    type_name = "cross_staking.receive_virtual_stake"
    owner: str
    amount: Coin
    tx_id: int
    msg: bytes


class BurnVirtualStake(Message):
    """Vault → external staking: burn ``amount`` of ``owner``'s virtual stake (P-40, P-80)."""

    type_name = "cross_staking.burn_virtual_stake"
    owner: str
    amount: Coin
    validator: str | None = None


class MaxSlash(Message):
    """Query every lien holder answers: its worst-case slash ratios (P-47, P-63)."""

    type_name = "lien_holder.max_slash"


class MaxSlashResponse(Message):
    """``slash_ratio_dsign`` is what the vault uses as a new lien's slashable ratio."""

    type_name = "lien_holder.max_slash_response"
    slash_ratio_dsign: Decimal18
    slash_ratio_offline: Decimal18


LocalStakingApi = ReceiveStake | BurnStake
CrossStakingApi = ReceiveVirtualStake | BurnVirtualStake


def encode_stake_target(validator: str) -> bytes:
    """The ``msg`` of a stake towards ``validator``: ``{"validator": "<valoper>"}``."""
    return json.dumps({"validator": validator}, separators=(",", ":")).encode()


def decode_stake_target(msg: bytes) -> str:
    """The validator named by a stake's ``msg``; raises ``InvalidStakeMsg``."""
    try:
        body = json.loads(msg)
    except (ValueError, UnicodeDecodeError):
        raise InvalidStakeMsg("not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("validator"), str):
        raise InvalidStakeMsg('expected {"validator": "<address>"}')
    validator: str = body["validator"]
    if not validator:
        raise InvalidStakeMsg("empty validator")
    # interned: the contracts key every user's stake by its validator, and a freshly decoded
    # string per stake would be a copy of the same ~60 characters per user (issue 16)
    return sys.intern(validator)
