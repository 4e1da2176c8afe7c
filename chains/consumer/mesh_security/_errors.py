"""Errors of the mesh-security chain module (consumer.md §4, C-40..C-58, catalogue §10).

The names are the ones the spec gives (the reference module's error kinds); each carries the
data that tells a caller what went wrong. ``InvalidSharesAmount`` and ``Unauthorized`` are the
shared ones of ``chains.contract._errors``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "Duplicate",
    "Invalid",
    "InvalidCoins",
    "InvalidRequest",
    "InvalidSigner",
    "MaxCapExceeded",
    "NoValidatorFound",
    "Unknown",
    "UnknownMsg",
    "Unsupported",
    "UnsupportedRequest",
]


class MaxCapExceeded(ChainError):
    """A virtual-stake ``bond`` would lift the contract's delegation above its cap (C-46)."""

    fields = ("contract", "cap", "delegated", "amount")
    contract: str
    cap: int
    delegated: int
    amount: int

    def __init__(self, contract: str, cap: int, delegated: int, amount: int) -> None:
        super().__init__(contract, cap, delegated, amount)


class InvalidRequest(ChainError):
    """A virtual-stake message with a bad amount or denomination (C-46, C-47)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class NoValidatorFound(ChainError):
    """Virtual stake for a validator the staking module does not know (C-46, C-47)."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class InvalidCoins(ChainError):
    """A max cap in another denomination than the bond denom (C-42)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class Invalid(ChainError):
    """A governance or scheduler request the module refuses (C-42 total cap, C-51 height)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class Unknown(ChainError):
    """A referenced object does not exist (C-43 contract, C-55 validator)."""

    fields = ("what",)
    what: str

    def __init__(self, what: str) -> None:
        super().__init__(what)


class Duplicate(ChainError):
    """A price feed that already has a repeating epoch task (C-44)."""

    fields = ("what",)
    what: str

    def __init__(self, what: str) -> None:
        super().__init__(what)


class InvalidSigner(ChainError):
    """A governance message not signed by the module authority (C-43, C-44)."""

    fields = ("expected", "got")
    expected: str
    got: str

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(expected, got)


class Unsupported(ChainError):
    """A capped contract emitted a native staking message (C-50)."""

    fields = ("message_type",)
    message_type: str

    def __init__(self, message_type: str) -> None:
        super().__init__(message_type)


class UnknownMsg(ChainError):
    """A message to the module that it does not know (C-50)."""

    fields = ("message_type",)
    message_type: str

    def __init__(self, message_type: str) -> None:
        super().__init__(message_type)


class UnsupportedRequest(ChainError):
    """A custom query the module does not answer (C-49)."""

    fields = ("query_type",)
    query_type: str

    def __init__(self, query_type: str) -> None:
        super().__init__(query_type)
