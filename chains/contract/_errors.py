"""The flat hierarchy of chain-side errors.

Every failure on a chain is a *named* error that carries the data the spec shows for it
(consumer.md C-5, provider.md P-5/P-6). Errors are values: they compare equal when their name
and data are equal, they pickle, and ``to_dict()`` gives the JSON shape carried in replies and
acks (``{"error": name, **fields}``). Raising one inside an atomic unit (a transaction, a
savepoint) leaves state exactly as it was before the unit started; the store does that, not the
error.

This module holds the base `ChainError` and the errors both sides of the protocol share
(arithmetic, coins and payments, addresses, records, burns, channels). The native modules'
errors (staking, slashing, distribution, governance) are in ``chains.modules``, the host's
(routing, registry, panics) in ``chains.host``, each contract's beside the contract.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ChainError",
    "DecimalTooPrecise",
    "DivideByZero",
    "ExtraDenoms",
    "IbcChannelAlreadyOpen",
    "IbcChannelNotMatch",
    "InsufficientDelegations",
    "InsufficientFunds",
    "InvalidAddress",
    "InvalidAmount",
    "InvalidDecimal",
    "InvalidDenom",
    "InvalidFraction",
    "InvalidSlashRatio",
    "InvalidValue",
    "MapExists",
    "MissingDenom",
    "MissingKey",
    "MultipleDenoms",
    "NegativeDecimal",
    "NoFunds",
    "NonPayable",
    "NotFound",
    "Overflow",
    "SavepointNotOpen",
    "Unauthorized",
    "Underflow",
    "UnsupportedMessage",
    "WrongDenom",
]

_Scalar = str | int | bool | None


def _jsonable(value: object) -> _Scalar:
    # Decimals and other value types travel in their string form, as in the JSON messages.
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


class ChainError(Exception):
    """Base of every chain error.

    ``name`` is the stable error name (the class name). Subclasses list their data fields in
    ``fields``; the positional constructor arguments are stored under those names and in
    ``args``, so errors pickle and compare by value.
    """

    fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # "error" is the key that carries the name in to_dict(); a field may not shadow it.
        if "error" in cls.fields:
            raise TypeError(f"{cls.__name__}: a ChainError field may not be named 'error'")

    def __init__(self, *values: object) -> None:
        if len(values) != len(self.fields):
            raise TypeError(
                f"{type(self).__name__} takes {len(self.fields)} values "
                f"({', '.join(self.fields)}), got {len(values)}"
            )
        super().__init__(*values)
        for field, value in zip(self.fields, values, strict=True):
            setattr(self, field, value)

    @property
    def name(self) -> str:
        """The stable error name carried in replies and acks."""
        return type(self).__name__

    def to_dict(self) -> dict[str, _Scalar]:
        """The JSON form: ``{"error": name, field: value, ...}`` (decimals as strings)."""
        out: dict[str, _Scalar] = {"error": self.name}
        for field, value in zip(self.fields, self.args, strict=True):
            out[field] = _jsonable(value)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChainError):
            return NotImplemented
        return type(self) is type(other) and self.args == other.args

    def __hash__(self) -> int:
        return hash((self.name, repr(self.args)))

    def __str__(self) -> str:
        if not self.fields:
            return self.name
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self.fields, self.args, strict=True))
        return f"{self.name}({inner})"

    def __repr__(self) -> str:
        return str(self)


# --- values and the store (programming errors; also the builtin they replace) -----------------


class InvalidValue(ChainError, ValueError):
    """A value a field or an argument does not accept (a coin amount, a decimal string, a
    genesis config, a bech32 prefix); ``reason`` says why.

    Also a ``ValueError``: pydantic reports it inside its ``ValidationError`` when a message
    or config field's validator raises it, and callers catching ``ValueError`` keep working.
    Its text is the bare reason, since that is what pydantic shows a user of a config file.
    """

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason


class MapExists(ChainError, ValueError):
    """The store already has a journaled map of this name (two owners of one state)."""

    fields = ("map_name",)
    map_name: str

    def __init__(self, map_name: str) -> None:
        super().__init__(map_name)


class SavepointNotOpen(ChainError, ValueError):
    """A rollback or release of a savepoint that this store does not have open."""


class MissingKey(ChainError, KeyError):
    """A journaled map has no entry under ``key`` (``del`` or ``pop`` without a default).

    Also a ``KeyError``, as the mapping protocol requires.
    """

    fields = ("key",)
    key: object

    def __init__(self, key: object) -> None:
        super().__init__(key)


# --- arithmetic (C-1, C-2, C-3, P-6) ---------------------------------------------------------


class Overflow(ChainError):
    """An amount or decimal left the range ``[0, 2**128)`` upwards (C-1)."""

    fields = ("operation",)
    operation: str

    def __init__(self, operation: str) -> None:
        super().__init__(operation)


class Underflow(ChainError):
    """An amount or decimal would become negative (C-1)."""

    fields = ("operation",)
    operation: str

    def __init__(self, operation: str) -> None:
        super().__init__(operation)


class DivideByZero(ChainError):
    """A division or inversion by zero (C-2 ``inv(0)``, ``from_ratio(a, 0)``; P-6)."""

    fields = ("operation",)
    operation: str

    def __init__(self, operation: str) -> None:
        super().__init__(operation)


class InvalidDecimal(ChainError):
    """A decimal string that is not of the form ``digits[.digits]``."""

    fields = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        super().__init__(text)


class NegativeDecimal(ChainError):
    """A negative value where only non-negative decimals are allowed (C-2)."""

    fields = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        super().__init__(text)


class DecimalTooPrecise(ChainError):
    """A decimal string with more than 18 fractional digits (C-2, C-3)."""

    fields = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        super().__init__(text)


class InvalidFraction(ChainError):
    """A ratio that must lie in ``[0, 1]`` does not (slash fractions, tax, ...)."""

    fields = ("value",)
    value: str

    def __init__(self, value: str) -> None:
        super().__init__(value)


# --- coins, payments, addresses (C-4, P-5) ---------------------------------------------------


class InvalidAmount(ChainError):
    """An amount that must be a positive integer below ``2**128`` is not."""

    fields = ("amount",)
    amount: int

    def __init__(self, amount: int) -> None:
        super().__init__(amount)


class InvalidDenom(ChainError):
    """A denomination that is malformed or not the one this operation works in."""

    fields = ("denom",)
    denom: str

    def __init__(self, denom: str) -> None:
        super().__init__(denom)


class WrongDenom(ChainError):
    """Funds or an amount in another denomination than the expected one."""

    fields = ("sent", "expected")
    sent: str
    expected: str

    def __init__(self, sent: str, expected: str) -> None:
        super().__init__(sent, expected)


class InsufficientFunds(ChainError):
    """An account holds less of ``denom`` than an operation takes from it."""

    fields = ("address", "denom", "available", "required")
    address: str
    denom: str
    available: int
    required: int

    def __init__(self, address: str, denom: str, available: int, required: int) -> None:
        super().__init__(address, denom, available, required)


class InvalidAddress(ChainError):
    """An address string that fails bech32 validation for the expected prefix."""

    fields = ("address", "reason")
    address: str
    reason: str

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(address, reason)


class Unauthorized(ChainError):
    """The caller may not perform this operation (P-5)."""


class NonPayable(ChainError):
    """Funds were attached to a call that takes none (C-4, P-5)."""


class NoFunds(ChainError):
    """No funds (or a zero amount) were attached where a payment is required (C-4, P-5)."""


class MissingDenom(ChainError):
    """The single attached coin is not of the required denomination (C-4, P-5)."""

    fields = ("denom",)
    denom: str

    def __init__(self, denom: str) -> None:
        super().__init__(denom)


class MultipleDenoms(ChainError):
    """More than one coin was attached where exactly one is required (C-4, P-5)."""


class ExtraDenoms(ChainError):
    """A coin of an unexpected denomination was attached to an optional payment (P-5).

    ``denom`` is the first unexpected denomination.
    """

    fields = ("denom",)
    denom: str

    def __init__(self, denom: str) -> None:
        super().__init__(denom)


# --- contracts, records, burns, channels (both sides) ---------------------------------------


class UnsupportedMessage(ChainError):
    """A contract entry point was called with a message it does not handle."""

    fields = ("entry_point", "message_type")
    entry_point: str
    message_type: str

    def __init__(self, entry_point: str, message_type: str) -> None:
        super().__init__(entry_point, message_type)


class NotFound(ChainError):
    """No record of this kind under this key (a pending tx, a lien, a proxy ...)."""

    fields = ("kind", "key")
    kind: str
    key: str

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(kind, key)


class InvalidSlashRatio(ChainError):
    """A slash ratio above 1 in a config, or an unparsable one in a packet (P-43, P-88)."""


class InsufficientDelegations(ChainError):
    """A burn cannot be spread over the owner's stake (P-17 step 3, P-58, P-80)."""

    fields = ("owner", "amount")
    owner: str
    amount: int

    def __init__(self, owner: str, amount: int) -> None:
        super().__init__(owner, amount)


class IbcChannelAlreadyOpen(ChainError):
    """A handshake while a channel is stored, open or closed (P-82, I-47)."""


class IbcChannelNotMatch(ChainError):
    """A close for a channel other than the stored one (P-83)."""
