"""The read-only view of the chain's staking module that local staking contracts use.

Cores reach it through ``deps.querier.module("staking")`` (P-4: queries never write). The
chain's ``chains.Staking`` satisfies this protocol; tests may pass a small fake.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = [
    "DelegationView",
    "StakingParamsView",
    "StakingReader",
    "UnbondingEntryView",
    "staking_reader",
]


class DelegationView(Protocol):
    @property
    def validator(self) -> str: ...


class UnbondingEntryView(Protocol):
    @property
    def creation_height(self) -> int: ...

    @property
    def completion_time(self) -> int: ...

    @property
    def initial_balance(self) -> int: ...


class StakingParamsView(Protocol):
    @property
    def max_entries(self) -> int: ...


class StakingReader(Protocol):
    """What the native staking contract and its proxies read from the staking module."""

    @property
    def params(self) -> StakingParamsView: ...

    def delegation_value(self, delegator: str, validator: str) -> int:
        """Token value of the delegation (truncated), 0 if none (C-18)."""
        ...

    def delegations_of(self, delegator: str) -> tuple[DelegationView, ...]:
        """The delegator's delegations, in the module's order."""
        ...

    def unbonding_entries(self, delegator: str, validator: str) -> tuple[UnbondingEntryView, ...]:
        """Open unbonding entries of the pair (C-20)."""
        ...

    def redelegations_from(
        self, delegator: str, src_validator: str
    ) -> tuple[tuple[str, tuple[UnbondingEntryView, ...]], ...]:
        """``(dst, entries)`` of the delegator's open redelegations out of ``src_validator``
        (C-22); entries carry ``creation_height``, ``completion_time``, ``initial_balance``."""
        ...


def staking_reader(querier: Any) -> StakingReader:
    """The staking view of ``querier.module("staking")``.

    A chain host may hand out its whole staking module (which keeps ``delegations_of`` on
    its ``staking`` sub-module) or the x/staking keeper itself; both are accepted.
    """
    handle = querier.module("staking")
    inner = getattr(handle, "staking", None)
    reader: StakingReader = inner if inner is not None else handle
    return reader
