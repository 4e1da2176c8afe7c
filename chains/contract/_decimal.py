"""Exact fixed-point decimals with 18 fractional digits, never floats.

Two types, because the reference computes in two worlds with different rounding:

- ``Decimal18`` is the contract-level decimal (consumer.md C-2, provider.md P-1): unsigned,
  below ``2**128 / 10**18``, products and quotients **floored** (``mul_ceil`` is the one
  round-up, for P-39). Its string form is the shortest one (``"0.1"``, ``"1"``).
- ``SdkDec`` is the chain-module decimal (C-3): signed, ``mul`` and ``quo`` round the 19th and
  later digits **half to even**; ``*_trunc`` variants truncate instead. Its string form always
  has 18 fractional digits (``"0.100000000000000000"``).

Both store an integer ``atomics`` (value = atomics / 10**18), are immutable and hashable, and
parse either string form. Both can be used as pydantic fields (validated from their string
form or an instance, serialised to the string form in JSON).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from chains.contract._errors import (
    ChainError,
    DecimalTooPrecise,
    DivideByZero,
    InvalidDecimal,
    InvalidValue,
    NegativeDecimal,
    Overflow,
    Underflow,
)

__all__ = ["Decimal18", "SdkDec"]

SCALE = 10**18
_UINT128 = 2**128
_DECIMAL_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


def _parse_atomics(text: str, *, allow_negative: bool) -> int:
    if not isinstance(text, str):
        raise InvalidDecimal(repr(text))
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        raise InvalidDecimal(text)
    sign, whole, frac = match.groups()
    if sign and not allow_negative:
        raise NegativeDecimal(text)
    frac = frac or ""
    if len(frac) > 18:
        raise DecimalTooPrecise(text)
    atomics = int(whole) * SCALE + int(frac.ljust(18, "0"))
    return -atomics if sign else atomics


def div_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even (``denominator != 0``)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    # floor divmod keeps 0 <= r < d for either sign, so one rule covers both signs
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    if twice > denominator or (twice == denominator and q & 1):
        q += 1
    return q


def div_trunc(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` truncated toward zero (``denominator != 0``)."""
    q = abs(numerator) // abs(denominator)
    return q if (numerator >= 0) == (denominator > 0) else -q


def _pydantic_schema(cls: type[Any]) -> CoreSchema:
    def validate(value: object) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls.parse(value)
            except ChainError as err:
                # pydantic only turns a ValueError (InvalidValue is one) into a
                # ValidationError
                raise InvalidValue(str(err)) from err
        raise InvalidValue(f"expected a decimal string, got {type(value).__name__}")

    return core_schema.no_info_plain_validator_function(
        validate,
        serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="json"),
    )


@dataclass(frozen=True, slots=True, order=True)
class Decimal18:
    """A contract-level decimal: ``atomics / 10**18`` with ``0 <= atomics < 2**128`` (C-2).

    Raises ``Underflow`` / ``Overflow`` when constructed (or computed) outside that range.
    """

    atomics: int

    def __post_init__(self) -> None:
        if self.atomics < 0:
            raise Underflow("Decimal18 below zero")
        if self.atomics >= _UINT128:
            raise Overflow("Decimal18 above 2**128 atomics")

    # -- construction --

    @classmethod
    def parse(cls, text: str) -> Decimal18:
        """Parse ``"0.5"`` or ``"0.500000000000000000"``.

        Raises ``InvalidDecimal`` (malformed), ``NegativeDecimal``, ``DecimalTooPrecise``
        (more than 18 fractional digits) or ``Overflow``.
        """
        return cls(_parse_atomics(text, allow_negative=False))

    @classmethod
    def from_int(cls, value: int) -> Decimal18:
        """The decimal equal to a whole number. Raises ``Underflow`` / ``Overflow``."""
        return cls(value * SCALE)

    @classmethod
    def from_ratio(cls, numerator: int, denominator: int) -> Decimal18:
        """``numerator / denominator`` floored to 18 digits (C-2, P-1).

        Raises ``DivideByZero`` when ``denominator == 0``, ``Underflow`` / ``Overflow`` when
        the result is out of range.
        """
        if denominator == 0:
            raise DivideByZero("Decimal18.from_ratio")
        return cls(numerator * SCALE // denominator)

    @classmethod
    def one(cls) -> Decimal18:
        """The decimal 1."""
        return cls(SCALE)

    @classmethod
    def zero(cls) -> Decimal18:
        """The decimal 0."""
        return cls(0)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return _pydantic_schema(cls)

    # -- arithmetic --

    def mul_floor(self, amount: int) -> int:
        """``floor(amount * self)`` with the exact big-int product (C-2, P-1).

        Raises ``Underflow`` for a negative amount, ``Overflow`` if the result is ``>= 2**128``.
        """
        if amount < 0:
            raise Underflow("mul_floor of a negative amount")
        result = amount * self.atomics // SCALE
        if result >= _UINT128:
            raise Overflow("mul_floor")
        return result

    def mul_ceil(self, amount: int) -> int:
        """``ceil(amount * self)``: the one round-up of the provider (P-39).

        Raises ``Underflow`` for a negative amount, ``Overflow`` if the result is ``>= 2**128``.
        """
        if amount < 0:
            raise Underflow("mul_ceil of a negative amount")
        result = -(-(amount * self.atomics) // SCALE)
        if result >= _UINT128:
            raise Overflow("mul_ceil")
        return result

    def inv(self) -> Decimal18:
        """``1 / self`` floored: atomics ``10**36 // atomics`` (C-2). Raises ``DivideByZero``."""
        if self.atomics == 0:
            raise DivideByZero("Decimal18.inv")
        return Decimal18(SCALE * SCALE // self.atomics)

    def __add__(self, other: Decimal18) -> Decimal18:
        if not isinstance(other, Decimal18):
            return NotImplemented
        return Decimal18(self.atomics + other.atomics)

    def __sub__(self, other: Decimal18) -> Decimal18:
        """Exact subtraction (``one - d``, C-2). Raises ``Underflow`` below zero."""
        if not isinstance(other, Decimal18):
            return NotImplemented
        return Decimal18(self.atomics - other.atomics)

    def __mul__(self, other: Decimal18) -> Decimal18:
        """Product floored to 18 digits. Raises ``Overflow``."""
        if not isinstance(other, Decimal18):
            return NotImplemented
        return Decimal18(self.atomics * other.atomics // SCALE)

    def __truediv__(self, other: Decimal18) -> Decimal18:
        """Quotient floored to 18 digits. Raises ``DivideByZero`` / ``Overflow``."""
        if not isinstance(other, Decimal18):
            return NotImplemented
        if other.atomics == 0:
            raise DivideByZero("Decimal18 division")
        return Decimal18(self.atomics * SCALE // other.atomics)

    def is_zero(self) -> bool:
        """Whether the value is 0."""
        return self.atomics == 0

    # -- conversion --

    def to_sdk(self) -> SdkDec:
        """The same value as an ``SdkDec``."""
        return SdkDec(self.atomics)

    def __str__(self) -> str:
        whole, frac = divmod(self.atomics, SCALE)
        if frac == 0:
            return str(whole)
        return f"{whole}.{frac:018d}".rstrip("0")

    def __repr__(self) -> str:
        return f"Decimal18('{self}')"


@dataclass(frozen=True, slots=True, order=True, init=False)
class SdkDec:
    """A chain-module decimal: signed ``atomics / 10**18`` with SDK rounding (C-3).

    ``mul`` / ``quo`` round half to even at the 18th digit; ``mul_trunc`` / ``quo_trunc``
    truncate toward zero. Multiplying or dividing by an ``int`` uses the exact integer
    product before rounding. Division by zero raises ``DivideByZero``.
    """

    atomics: int

    def __init__(self, atomics: int) -> None:
        # what the frozen dataclass's own __init__ does (there is nothing to check: any
        # int is a value), through the slot's setter instead of ``object.__setattr__``:
        # the distribution module builds several per reward withdrawal (C-95)
        _set_sdk_atomics(self, atomics)

    @classmethod
    def parse(cls, text: str) -> SdkDec:
        """Parse ``"0.1"``, ``"0.100000000000000000"`` or ``"-2.5"``.

        Raises ``InvalidDecimal`` (malformed) or ``DecimalTooPrecise`` (over 18 digits).
        """
        return cls(_parse_atomics(text, allow_negative=True))

    @classmethod
    def from_int(cls, value: int) -> SdkDec:
        """The decimal equal to a whole number."""
        return cls(value * SCALE)

    @classmethod
    def one(cls) -> SdkDec:
        """The decimal 1."""
        return cls(SCALE)

    @classmethod
    def zero(cls) -> SdkDec:
        """The decimal 0."""
        return cls(0)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return _pydantic_schema(cls)

    # -- arithmetic --

    def mul(self, other: SdkDec | int) -> SdkDec:
        """Product; by an ``int`` exact, by a decimal rounded half to even (C-3)."""
        if isinstance(other, int):
            return SdkDec(self.atomics * other)
        return SdkDec(div_half_even(self.atomics * other.atomics, SCALE))

    def mul_trunc(self, other: SdkDec | int) -> SdkDec:
        """Product truncated toward zero at the 18th digit (C-25 ``mul_trunc``)."""
        if isinstance(other, int):
            return SdkDec(self.atomics * other)
        return SdkDec(div_trunc(self.atomics * other.atomics, SCALE))

    def quo(self, other: SdkDec | int) -> SdkDec:
        """Quotient of the exact values rounded half to even at the 18th digit (C-3, C-18).

        Raises ``DivideByZero``.
        """
        if isinstance(other, int):
            if other == 0:
                raise DivideByZero("SdkDec.quo")
            return SdkDec(div_half_even(self.atomics, other))
        if other.atomics == 0:
            raise DivideByZero("SdkDec.quo")
        return SdkDec(div_half_even(self.atomics * SCALE, other.atomics))

    def quo_trunc(self, other: SdkDec | int) -> SdkDec:
        """Quotient truncated toward zero at the 18th digit (C-25). Raises ``DivideByZero``."""
        if isinstance(other, int):
            if other == 0:
                raise DivideByZero("SdkDec.quo_trunc")
            return SdkDec(div_trunc(self.atomics, other))
        if other.atomics == 0:
            raise DivideByZero("SdkDec.quo_trunc")
        return SdkDec(div_trunc(self.atomics * SCALE, other.atomics))

    def round_int(self) -> int:
        """Nearest integer, ties to even (C-3, C-35, C-56)."""
        return div_half_even(self.atomics, SCALE)

    def truncate_int(self) -> int:
        """Integer part, truncated toward zero (= floor for the non-negative values used)."""
        return div_trunc(self.atomics, SCALE)

    def __add__(self, other: SdkDec) -> SdkDec:
        if not isinstance(other, SdkDec):
            return NotImplemented
        return SdkDec(self.atomics + other.atomics)

    def __sub__(self, other: SdkDec) -> SdkDec:
        if not isinstance(other, SdkDec):
            return NotImplemented
        return SdkDec(self.atomics - other.atomics)

    def __neg__(self) -> SdkDec:
        return SdkDec(-self.atomics)

    def is_zero(self) -> bool:
        """Whether the value is 0."""
        return self.atomics == 0

    def is_negative(self) -> bool:
        """Whether the value is below 0."""
        return self.atomics < 0

    # -- conversion --

    def to_decimal18(self) -> Decimal18:
        """The same value as a ``Decimal18``. Raises ``Underflow`` / ``Overflow``."""
        return Decimal18(self.atomics)

    def __str__(self) -> str:
        sign = "-" if self.atomics < 0 else ""
        whole, frac = divmod(abs(self.atomics), SCALE)
        return f"{sign}{whole}.{frac:018d}"

    def __repr__(self) -> str:
        return f"SdkDec('{self}')"


# the slot's own setter (bypasses the frozen dataclass's __setattr__; see `SdkDec.__init__`)
_set_sdk_atomics: Final = SdkDec.__dict__["atomics"].__set__
