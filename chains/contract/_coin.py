"""Coins and the payment checks of contract entry points (consumer.md C-4, provider.md P-5)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from chains.contract._errors import (
    ExtraDenoms,
    InvalidValue,
    MissingDenom,
    MultipleDenoms,
    NoFunds,
    NonPayable,
)

__all__ = ["Coin", "may_pay", "must_pay", "nonpayable"]

_UINT128 = 2**128
_DIGITS = re.compile(r"[0-9]+")


class Coin(BaseModel):
    """An amount of one denomination: ``{"denom": "x", "amount": "123"}`` in JSON (C-4).

    ``amount`` is an ``int`` with ``0 <= amount < 2**128`` (C-1). On input it accepts an
    ``int`` or a string of decimal digits; in JSON it is written as a string. Construction
    with anything else (floats, bools, signs, out-of-range values) raises pydantic's
    ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    denom: str
    amount: int

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_in_range(cls, value: object) -> int:
        # bool is an int subclass; a True amount is certainly a bug upstream
        if isinstance(value, bool):
            raise InvalidValue("amount must be an integer, not a bool")
        if isinstance(value, str):
            if _DIGITS.fullmatch(value) is None:
                raise InvalidValue("amount string must be decimal digits")
            value = int(value)
        if not isinstance(value, int):
            raise InvalidValue("amount must be an integer or a string of digits")
        if not 0 <= value < _UINT128:
            raise InvalidValue("amount must be in [0, 2**128)")
        return value

    @field_serializer("amount", when_used="json")
    def _amount_as_string(self, amount: int) -> str:
        return str(amount)

    def __str__(self) -> str:
        return f"{self.amount}{self.denom}"


def must_pay(funds: Sequence[Coin], denom: str) -> int:
    """Return the amount of the single positive coin of ``denom`` in ``funds`` (C-4).

    Raises ``NoFunds`` (nothing attached, or a zero amount), ``MultipleDenoms`` (more than one
    coin) or ``MissingDenom(denom)`` (one coin of another denomination).
    """
    if not funds:
        raise NoFunds()
    if len(funds) > 1:
        raise MultipleDenoms()
    coin = funds[0]
    if coin.amount == 0:
        raise NoFunds()
    if coin.denom != denom:
        raise MissingDenom(denom)
    return coin.amount


def may_pay(funds: Sequence[Coin], denom: str) -> int:
    """Return the attached amount of ``denom``, or 0 when nothing is attached (P-5).

    Raises ``ExtraDenoms(d)`` naming the first coin of another denomination when anything
    other than a single coin of ``denom`` is attached.
    """
    if not funds:
        return 0
    if len(funds) == 1 and funds[0].denom == denom:
        return funds[0].amount
    extra = next((c.denom for c in funds if c.denom != denom), denom)
    raise ExtraDenoms(extra)


def nonpayable(funds: Sequence[Coin]) -> None:
    """Check that no funds are attached (C-4, P-5). Raises ``NonPayable`` otherwise."""
    if funds:
        raise NonPayable()
