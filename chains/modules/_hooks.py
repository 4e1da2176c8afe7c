"""Observer interfaces of the native staking modules (consumer.md C-16, C-30, C-39, C-54).

A module or contract that must react to validator events (the mesh-security module captures
them for valset updates, the provider host turns them into ``jailing`` calls) registers a
``StakingHooks`` subclass with ``StakingModule.add_hooks``. Hooks are called synchronously,
inside the transaction or block step that caused the event, after the event's state change:
querying the staking module from a hook sees the new state. A hook that raises aborts that
transaction or block step, which is then rolled back with the store; hooks should not raise.
"""

from __future__ import annotations

import enum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from chains.contract._decimal import SdkDec

__all__ = [
    "DelegationHooks",
    "InfractionReason",
    "PendingSlash",
    "SlashEvent",
    "StakingHooks",
]


class InfractionReason(enum.StrEnum):
    """Why a validator was slashed (C-35, C-36); ``UNSPECIFIED`` for direct slashes."""

    UNSPECIFIED = "unspecified"
    DOWNTIME = "downtime"
    DOUBLE_SIGN = "double_sign"


class SlashEvent(BaseModel):
    """What the slash capture point reports (C-30, C-39, C-54).

    ``total_slash_amount`` is the amount burned from the validator's tokens as returned by
    the slash primitive (C-28 step 3), not counting unbonding entries. ``tokens_before`` and
    ``tokens_after`` let an observer recompute the drop in a delegation's value (C-56):
    ``delegator_shares`` does not change in a slash.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    validator: str
    power: int
    infraction_height: int
    total_slash_amount: int
    slash_fraction: SdkDec
    reason: InfractionReason
    height: int
    time_s: int
    tokens_before: int
    tokens_after: int


class PendingSlash(BaseModel):
    """A slash the slashing or evidence module is about to apply (``before_validator_slashed``).

    ``infraction_height`` is the height the slash primitive will use (C-28 step 2 slashes the
    unbonding entries and redelegations created at or after it, when it is below ``height``).
    Nothing has been burned yet: delegations still have their pre-slash value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    validator: str
    infraction_height: int
    power: int
    slash_fraction: SdkDec
    reason: InfractionReason
    height: int
    time_s: int


class StakingHooks:
    """Validator events of the staking, slashing and evidence modules.

    The first three are the staking hooks of C-16 (they fire from end-block set changes,
    commission changes and every slash); the next four are the capture points of C-30/C-39,
    which fire only on the slashing/evidence/unjail code paths (not for the self-delegation
    jail of C-23). ``before_validator_slashed`` fires on the same path just before a slash is
    applied (the SDK's ``BeforeValidatorSlashed``; the provider chain sends native staking's
    ``jailing`` there, P-51), and ``after_unbonding_matured`` when staking end-block pays out
    a matured unbonding entry (C-20; the provider chain drains proxies' queues there, P-62).
    Arguments are validator operator addresses.

    Every hook does nothing here: an observer subclasses this and overrides the events it
    needs (one type for what the staking module calls and what observers implement, so a
    hook added here reaches every observer without a second list to keep in step).
    """

    def after_validator_bonded(self, validator: str) -> None:
        """The validator entered the active set (staking end-block, C-16)."""

    def after_validator_begin_unbonding(self, validator: str) -> None:
        """The validator left the active set and started unbonding (end-block, C-16)."""

    def before_validator_modified(self, validator: str) -> None:
        """Commission changed or the validator was slashed (C-16, C-28 step 4)."""

    def after_validator_slashed(self, event: SlashEvent) -> None:
        """A slash from the slashing or evidence module was applied (C-30, C-39)."""

    def after_validator_jailed(self, validator: str) -> None:
        """The validator was jailed by the slashing or evidence module (C-30)."""

    def after_validator_unjailed(self, validator: str) -> None:
        """The operator's unjail succeeded (C-29, C-30)."""

    def after_validator_tombstoned(self, validator: str) -> None:
        """The validator was tombstoned for double signing (C-30, C-33, C-37)."""

    def before_validator_slashed(self, slash: PendingSlash) -> None:
        """A slash from the slashing or evidence module is about to be applied (P-51)."""

    def after_unbonding_matured(self, delegator: str, validator: str, amount: int) -> None:
        """An unbonding entry matured and ``amount`` tokens were paid to ``delegator``
        (staking end-block, C-20, C-27)."""


class DelegationHooks(Protocol):
    """Delegation-level events, used by distribution to settle rewards (C-26)."""

    def before_delegation_shares_modified(self, delegator: str, validator: str) -> None:
        """An existing delegation's shares are about to change."""
        ...

    def after_delegation_modified(self, delegator: str, validator: str) -> None:
        """A delegation was created or its shares changed (it still exists)."""
        ...

    def after_delegation_removed(self, delegator: str, validator: str) -> None:
        """A delegation lost all its shares and was deleted."""
        ...
