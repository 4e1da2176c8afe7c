"""Native (SDK-style) messages users and tests submit to a chain, besides `CosmosMsg`.

Contracts cannot emit these (a `Response` only carries `CosmosMsg` values); they reach the
chain as the root message of a transaction (``TxExecutor.submit``, ``Chain.submit``). They
cover the validator lifecycle and the test control surface of consumer.md C-34:

- signed by an account: `CreateValidator` (the sender's operator address becomes the
  validator), `Unjail` and `SetCommission` (sender must be the validator's operator account,
  else `Unauthorized`), `WithdrawCommission`;
- test controls, executed inside the current block without a signature check:
  `RecordLiveness`, `ForceDowntime`, `SubmitEquivocation` (C-35, C-36) and `Mint` (a faucet).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chains.contract._coin import Coin
from chains.contract._decimal import SdkDec

__all__ = [
    "CreateValidator",
    "ForceDowntime",
    "Mint",
    "NativeMsg",
    "RecordLiveness",
    "SetCommission",
    "SubmitEquivocation",
    "Unjail",
    "WithdrawCommission",
]


class _Native(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateValidator(_Native):
    """``MsgCreateValidator``: the sender bonds ``self_bond`` and becomes a validator (C-34).

    ``self_bond_shares`` sets the shares the self-bond is worth (genesis profiles use other
    ratios than one share per token, C-13).
    """

    pubkey: str
    self_bond: int
    commission: SdkDec = SdkDec.zero()
    min_self_delegation: int = Field(default=0, ge=0)
    max_rate: SdkDec | None = None
    max_change_rate: SdkDec | None = None
    self_bond_shares: SdkDec | None = None


class Unjail(_Native):
    """``MsgUnjail`` by the validator's operator (C-29)."""

    validator: str


class SetCommission(_Native):
    """``MsgEditValidator`` of the commission rate by the operator; fires modified (C-16)."""

    validator: str
    rate: SdkDec


class WithdrawCommission(_Native):
    """Withdraw the whole-token commission of the sender's validator to its account."""

    validator: str


class RecordLiveness(_Native):
    """Test control: record whether ``validator`` signed the current block (C-35)."""

    validator: str
    signed: bool


class ForceDowntime(_Native):
    """Test control: the downtime slash and jail of C-35, now."""

    validator: str


class SubmitEquivocation(_Native):
    """Test control: double-sign evidence (C-36)."""

    consensus_address: str
    infraction_height: int
    infraction_time: int
    power: int


class Mint(_Native):
    """Test control: create coins in an account (a faucet; supply grows)."""

    to_address: str
    amount: tuple[Coin, ...]


NativeMsg = (
    CreateValidator
    | Unjail
    | SetCommission
    | WithdrawCommission
    | RecordLiveness
    | ForceDowntime
    | SubmitEquivocation
    | Mint
)
