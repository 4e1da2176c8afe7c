"""Coins and payment checks (C-1, C-4, P-5)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chains import Coin
from chains.contract import (
    ExtraDenoms,
    MissingDenom,
    MultipleDenoms,
    NoFunds,
    NonPayable,
    may_pay,
    must_pay,
    nonpayable,
)


def test_coin_json_form_has_string_amount_C_4() -> None:
    coin = Coin(denom="x", amount=123)
    assert coin.model_dump(mode="json") == {"denom": "x", "amount": "123"}
    assert coin.model_dump() == {"denom": "x", "amount": 123}
    assert Coin.model_validate_json('{"denom":"x","amount":"123"}') == coin
    assert Coin.model_validate({"denom": "x", "amount": 123}) == coin
    assert str(coin) == "123x"


@pytest.mark.parametrize("amount", [-1, 2**128, "12a", "-5", " 5", 1.0, True, None, "1e3"])
def test_coin_amount_must_be_uint128_C_1(amount: object) -> None:
    with pytest.raises(ValidationError):
        Coin.model_validate({"denom": "x", "amount": amount})


def test_coin_accepts_bounds_C_1() -> None:
    assert Coin(denom="x", amount=0).amount == 0
    assert Coin.model_validate({"denom": "x", "amount": str(2**128 - 1)}).amount == 2**128 - 1


def test_coin_is_frozen() -> None:
    coin = Coin(denom="x", amount=1)
    with pytest.raises(ValidationError):
        coin.amount = 2  # type: ignore[misc]


def _coins(*pairs: tuple[str, int]) -> list[Coin]:
    return [Coin(denom=d, amount=a) for d, a in pairs]


def test_must_pay_C_4_P_5() -> None:
    assert must_pay(_coins(("stake", 5)), "stake") == 5
    with pytest.raises(NoFunds):
        must_pay([], "stake")
    with pytest.raises(NoFunds):
        must_pay(_coins(("stake", 0)), "stake")
    with pytest.raises(MultipleDenoms):
        must_pay(_coins(("stake", 5), ("other", 1)), "stake")
    with pytest.raises(MissingDenom) as info:
        must_pay(_coins(("other", 5)), "stake")
    assert info.value == MissingDenom("stake")


def test_nonpayable_C_4_P_5() -> None:
    nonpayable([])
    with pytest.raises(NonPayable):
        nonpayable(_coins(("stake", 1)))


def test_may_pay_P_5() -> None:
    assert may_pay([], "stake") == 0
    assert may_pay(_coins(("stake", 7)), "stake") == 7
    with pytest.raises(ExtraDenoms) as info:
        may_pay(_coins(("stake", 7), ("junk", 1)), "stake")
    assert info.value == ExtraDenoms("junk")
    with pytest.raises(ExtraDenoms):
        may_pay(_coins(("junk", 1)), "stake")
