"""Errors of the vault contract (P-24..P-31, §3.6).

Shared provider errors (``NotFound``, ``WrongTypeTx``, ...) are in ``_provider_errors``;
payment and range errors in ``_errors`` and ``_value_range``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError
from chains.provider._value_range import ValueRange

__all__ = [
    "ClaimsLocked",
    "InsufficientBalance",
    "InsufficientLien",
    "NoClaim",
    "NoLocalStaking",
    "UnexpectedDenom",
    "UnknownLienholder",
    "WrongContractTx",
]


class UnexpectedDenom(ChainError):
    """An amount in another denom than the vault's collateral denom (P-24..P-26, P-30)."""

    fields = ("denom",)
    denom: str

    def __init__(self, denom: str) -> None:
        super().__init__(denom)


class ClaimsLocked(ChainError):
    """Unbonding more than the free collateral's low end; carries the whole free range
    (P-24)."""

    fields = ("free_low", "free_high")
    free_low: int
    free_high: int

    def __init__(self, free_low: int, free_high: int) -> None:
        super().__init__(free_low, free_high)

    @classmethod
    def of(cls, free: ValueRange) -> ClaimsLocked:
        return cls(free.low, free.high)


class InsufficientBalance(ChainError):
    """A new lien would not be covered by the collateral (P-25, P-26).

    The reference spells it ``InsufficentBalance``.
    """


class UnknownLienholder(ChainError):
    """A release from a holder that has no lien on this user (P-30, P-31)."""

    fields = ("owner", "lienholder")
    owner: str
    lienholder: str

    def __init__(self, owner: str, lienholder: str) -> None:
        super().__init__(owner, lienholder)


class InsufficientLien(ChainError):
    """A release larger than the lien's settled low end (P-30)."""

    fields = ("available", "requested")
    available: int
    requested: int

    def __init__(self, available: int, requested: int) -> None:
        super().__init__(available, requested)


class WrongContractTx(ChainError):
    """A commit or rollback by a contract that is not the tx's lien holder (P-28)."""

    fields = ("tx_id", "caller")
    tx_id: int
    caller: str

    def __init__(self, tx_id: int, caller: str) -> None:
        super().__init__(tx_id, caller)


class NoLocalStaking(ChainError):
    """``stake_local`` on a vault created without a local staking contract (P-25)."""


class NoClaim(ChainError):
    """The ``claim`` query for a (user, holder) pair without a lien (P-34)."""
