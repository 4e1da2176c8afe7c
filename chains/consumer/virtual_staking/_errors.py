"""Errors of the virtual staking contract (consumer.md C-89..C-92, catalogue §10).

``NotFound`` and ``InsufficientDelegations`` are the shared ones of ``chains.provider._errors``
(same names and data on both sides of the mesh).
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = ["InsufficientBond"]


class InsufficientBond(ChainError):
    """An unbond larger than the validator's bond request (C-89, C-92)."""

    fields = ("validator", "amount")
    validator: str
    amount: int

    def __init__(self, validator: str, amount: int) -> None:
        super().__init__(validator, amount)
