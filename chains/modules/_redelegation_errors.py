"""Errors of redelegation in the native staking module (consumer.md C-22, SDK x/staking).

Kept apart from the shared ``_errors`` module; the names follow the SDK's
``ErrSelfRedelegation``, ``ErrTransitiveRedelegation``, ``ErrMaxRedelegationEntries`` and
``ErrTinyRedelegationAmount``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "SelfRedelegation",
    "TinyRedelegationAmount",
    "TooManyRedelegationEntries",
    "TransitiveRedelegation",
]


class SelfRedelegation(ChainError):
    """Source and destination validator are the same."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class TransitiveRedelegation(ChainError):
    """The delegator redelegated *into* ``validator`` and that redelegation has not matured
    yet, so it cannot redelegate *from* it (SDK ``HasReceivingRedelegation``)."""

    fields = ("delegator", "validator")
    delegator: str
    validator: str

    def __init__(self, delegator: str, validator: str) -> None:
        super().__init__(delegator, validator)


class TooManyRedelegationEntries(ChainError):
    """(delegator, src, dst) already has ``max_entries`` redelegation entries (P-61)."""

    fields = ("delegator", "src_validator", "dst_validator")
    delegator: str
    src_validator: str
    dst_validator: str

    def __init__(self, delegator: str, src_validator: str, dst_validator: str) -> None:
        super().__init__(delegator, src_validator, dst_validator)


class TinyRedelegationAmount(ChainError):
    """The shares removed from the source validator are worth no whole token."""

    fields = ()

    def __init__(self) -> None:
        super().__init__()
