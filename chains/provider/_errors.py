"""Errors shared by several provider contracts (P-5, §3.6, §5.9).

Contract-specific errors live beside each contract (``_vault_errors``,
``_native_staking_errors``, ``_external_staking_errors``); the ones here are raised by more
than one of them under the same stable name.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = ["InvalidStakeMsg", "NoInstantiateData", "WrongTypeTx"]


class WrongTypeTx(ChainError):
    """A pending tx exists under this id but is of another variant (P-28, §5.9)."""

    fields = ("tx_id", "tx")
    tx_id: int
    tx: str

    def __init__(self, tx_id: int, tx: str) -> None:
        super().__init__(tx_id, tx)


class InvalidStakeMsg(ChainError):
    """The opaque ``msg`` of a stake is not ``{"validator": "<address>"}`` (P-25, P-44, P-64)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class NoInstantiateData(ChainError):
    """The reply to a contract instantiation names no new contract (P-22, P-44)."""
