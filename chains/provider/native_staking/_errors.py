"""Errors of the native staking contract (P-43..P-51).

Shared ones (``NotFound``, ``InvalidSlashRatio``, ``NoInstantiateData``) are in
``_provider_errors``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = ["NoProxy"]


class NoProxy(ChainError):
    """``burn_stake`` for an owner that has no proxy (P-46)."""

    fields = ("owner",)
    owner: str

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
