"""Messages of the mesh-security chain module (consumer.md C-11, C-43, C-44, C-46..C-56).

Three kinds:

- custom messages a virtual-staking contract emits as ``CustomMsg(module="virtual_stake",
  msg=...)``: `VirtualStakeBond`, `VirtualStakeUnbond`, `UpdateDelegation`,
  `DeleteAllScheduledTasks` (C-11), and the governance messages `MsgSetVirtualStakingMaxCap`,
  `MsgSetPriceFeedContract` (C-43, C-44) that the gov account sends the same way;
- custom queries (``deps.querier.custom("virtual_stake", ...)``) and their answers (C-49);
- the sudo messages the module's end-blocker sends to contracts: `HandleValsetUpdate` with
  the validator-set report (C-55, C-56) and `HandleEpoch` (C-56, also what price feeds get).
"""

from __future__ import annotations

from typing import Any

from chains.contract._coin import Coin
from mesh_actors import Message

__all__ = [
    "AllDelegationsQuery",
    "AllDelegationsResponse",
    "BondStatusQuery",
    "BondStatusResponse",
    "DelegationRecord",
    "DeleteAllScheduledTasks",
    "HandleEpoch",
    "HandleValsetUpdate",
    "ValsetChanges",
    "MsgSetPriceFeedContract",
    "MsgSetVirtualStakingMaxCap",
    "SlashRatioQuery",
    "SlashRatioResponse",
    "TotalDelegationQuery",
    "TotalDelegationResponse",
    "UpdateDelegation",
    "ValsetSlash",
    "ValsetValidator",
    "VirtualStakeBond",
    "VirtualStakeUnbond",
]

# -- custom messages (C-11, C-46..C-48, C-53) -------------------------------------------------


class VirtualStakeBond(Message):
    """Mint ``amount`` of virtual stake and delegate it to ``validator`` (C-46).

    ``amount`` may be absent on the wire; the module refuses that with ``InvalidRequest``.
    """

    type_name = "virtual_stake.bond"
    validator: str
    amount: Coin | None = None


class VirtualStakeUnbond(Message):
    """Instantly undelegate ``amount`` from ``validator`` and burn it (C-47)."""

    type_name = "virtual_stake.unbond"
    validator: str
    amount: Coin | None = None


class UpdateDelegation(Message):
    """Add to (or, with ``is_deduct``, subtract from) a per-delegator record (C-48).

    ``delegator`` is a provider-side address and is never validated on the consumer.
    """

    type_name = "virtual_stake.update_delegation"
    amount: Coin
    is_deduct: bool
    delegator: str
    validator: str


class DeleteAllScheduledTasks(Message):
    """Remove every epoch task of the sending contract (C-53)."""

    type_name = "virtual_stake.delete_all_scheduled_tasks"


class MsgSetVirtualStakingMaxCap(Message):
    """Governance: set a virtual-staking contract's max cap (C-43)."""

    type_name = "virtual_stake.msg_set_virtual_staking_max_cap"
    authority: str
    contract: str
    max_cap: Coin


class MsgSetPriceFeedContract(Message):
    """Governance: give a price-feed contract a repeating epoch task (C-44)."""

    type_name = "virtual_stake.msg_set_price_feed_contract"
    authority: str
    contract: str


# -- custom queries (C-49) --------------------------------------------------------------------


class BondStatusQuery(Message):
    """``bond_status{contract}`` → `BondStatusResponse` (zeros if never authorized)."""

    type_name = "virtual_stake.bond_status"
    contract: str


class BondStatusResponse(Message):
    """The cap and the live delegated amount of a contract (C-45, C-49)."""

    type_name = "virtual_stake.bond_status_response"
    cap: Coin
    delegated: Coin


class SlashRatioQuery(Message):
    """``slash_ratio{}`` → `SlashRatioResponse` (the staking params of C-38)."""

    type_name = "virtual_stake.slash_ratio"


class SlashRatioResponse(Message):
    """The slashing module's fractions as SDK decimal strings (C-38)."""

    type_name = "virtual_stake.slash_ratio_response"
    slash_fraction_downtime: str
    slash_fraction_double_sign: str


class TotalDelegationQuery(Message):
    """``total_delegation{contract, validator}`` → the delegation's token value (C-18)."""

    type_name = "virtual_stake.total_delegation"
    contract: str
    validator: str


class TotalDelegationResponse(Message):
    """The token value of one delegation, truncated (C-18); 0 if none."""

    type_name = "virtual_stake.total_delegation_response"
    delegation: Coin


class DelegationRecord(Message):
    """One per-delegator record of C-48."""

    type_name = "virtual_stake.delegation_record"
    delegator: str
    validator: str
    amount: int


class AllDelegationsQuery(Message):
    """``all_delegations{contract, max_retrieve}`` → up to ``max_retrieve`` records in key
    order (delegator, then validator)."""

    type_name = "virtual_stake.all_delegations"
    contract: str
    max_retrieve: int


class AllDelegationsResponse(Message):
    """Per-delegator records in key order (C-48)."""

    type_name = "virtual_stake.all_delegations_response"
    delegations: tuple[DelegationRecord, ...] = ()


# -- sudo messages from the end-blocker (C-55, C-56) -------------------------------------------


class ValsetValidator(Message):
    """A validator in the report: address and commission figures as SDK decimal strings."""

    type_name = "virtual_stake.valset_validator"
    address: str
    commission: str
    max_commission: str
    max_change_rate: str


class ValsetSlash(Message):
    """A slash in the report (C-55). ``slash_amount`` is a decimal string of tokens: the
    validator's total burn in the raw report, the receiving contract's share in the sudo
    message (C-56). ``infraction_time`` is always 0."""

    type_name = "virtual_stake.valset_slash"
    address: str
    height: int
    time: int
    infraction_height: int
    infraction_time: int = 0
    power: int
    slash_amount: str
    slash_ratio: str
    is_tombstoned: bool


class ValsetChanges(Message):
    """The validator lists of a validator-set report, one meaning on the whole path (C-55,
    C-79, C-94): the module's sudo to a virtual staking contract (`HandleValsetUpdate`) and
    that contract's call to its converter (`ConverterValsetUpdate`) carry the same six lists.

    The two messages stay two types because their slashes are not the same record: the
    module reports the contract's share of a burn as a token string with the block and the
    tombstone flag (`ValsetSlash`), the contract forwards it as a coin of its denom, which
    the converter inverts (C-94 step 3, C-79). Each subclass adds its own ``slashed``.
    """

    type_name = "virtual_stake.valset_changes"
    additions: tuple[ValsetValidator, ...] = ()
    removals: tuple[str, ...] = ()
    updated: tuple[ValsetValidator, ...] = ()
    jailed: tuple[str, ...] = ()
    unjailed: tuple[str, ...] = ()
    tombstoned: tuple[str, ...] = ()

    def changes(self) -> dict[str, tuple[Any, ...]]:
        """The six lists by field name (to build the other report type from this one)."""
        return {
            "additions": self.additions,
            "removals": self.removals,
            "updated": self.updated,
            "jailed": self.jailed,
            "unjailed": self.unjailed,
            "tombstoned": self.tombstoned,
        }

    def has_changes(self) -> bool:
        """Whether any of the six lists is non-empty."""
        return bool(
            self.additions
            or self.removals
            or self.updated
            or self.jailed
            or self.unjailed
            or self.tombstoned
        )


class HandleValsetUpdate(ValsetChanges):
    """Sudo ``handle_valset_update``: the block's validator-set report (C-55, C-94)."""

    type_name = "virtual_stake.handle_valset_update"
    slashed: tuple[ValsetSlash, ...] = ()

    def is_empty(self) -> bool:
        """Whether every list is empty."""
        return not (self.has_changes() or self.slashed)


class HandleEpoch(Message):
    """Sudo ``handle_epoch``: the periodic call into a virtual-staking contract or a remote
    price feed (C-56, C-62)."""

    type_name = "virtual_stake.handle_epoch"
