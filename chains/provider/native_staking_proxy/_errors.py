"""Errors of the per-user native staking proxy (P-52..P-62).

``InsufficientDelegations`` (burns) is shared, in ``_provider_errors``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = ["NotEnoughDelegation"]


class NotEnoughDelegation(ChainError):
    """An unstake or restake of more than the delegation still available to the user: its
    value minus what is already queued for unbonding (P-57, P-62)."""

    fields = ("validator", "available")
    validator: str
    available: int

    def __init__(self, validator: str, available: int) -> None:
        super().__init__(validator, available)
