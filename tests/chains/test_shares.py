"""Delegation share math (C-17, C-18, C-19)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.contract import DivideByZero, SdkDec
from chains.modules import shares_from_tokens, token_value, tokens_from_shares

S = SdkDec.parse


def test_first_delegation_issues_one_share_per_token_C_17() -> None:
    assert shares_from_tokens(7, 0, SdkDec.zero()) == SdkDec.from_int(7)


def test_shares_truncate_at_18_decimals_C_17() -> None:
    # 1 * 2 / 3 = 0.6666...: truncated, not rounded to ...667
    assert shares_from_tokens(1, 3, SdkDec.from_int(2)) == S("0.666666666666666666")


def test_shares_of_a_validator_without_tokens_is_an_error_P_6() -> None:
    with pytest.raises(DivideByZero):
        shares_from_tokens(1, 0, SdkDec.one())


def test_rounding_happens_before_truncation_C_18() -> None:
    # validator: 5 tokens, 25 shares; delegation: 24.999999999999999998 shares
    # exact value = 24.999999999999999998 * 5 / 25 = 4.9999999999999999996
    shares = S("24.999999999999999998")
    assert tokens_from_shares(shares, 5, SdkDec.from_int(25)) == SdkDec.from_int(5)
    assert token_value(shares, 5, SdkDec.from_int(25)) == 5


def test_tokens_from_shares_banker_rounding_C_18() -> None:
    # 1 share of 3 on 2 tokens = 0.6666...67 (rounded half-even at 18 digits)
    assert tokens_from_shares(SdkDec.one(), 2, SdkDec.from_int(3)) == S("0.666666666666666667")
    assert token_value(SdkDec.one(), 2, SdkDec.from_int(3)) == 0


def test_token_value_of_nothing_is_zero_C_49() -> None:
    assert token_value(SdkDec.zero(), 10, SdkDec.one()) == 0
    assert token_value(SdkDec.one(), 10, SdkDec.zero()) == 0
    with pytest.raises(DivideByZero):
        tokens_from_shares(SdkDec.one(), 10, SdkDec.zero())


@given(
    st.integers(min_value=1, max_value=10**24),
    st.integers(min_value=1, max_value=10**30),
    st.integers(min_value=1, max_value=10**24),
)
def test_shares_for_an_amount_are_never_worth_more_than_the_amount_C_19(
    tokens: int, share_atomics: int, amount: int
) -> None:
    total = SdkDec(share_atomics)
    shares = shares_from_tokens(amount, tokens, total)
    if shares <= total:
        assert token_value(shares, tokens, total) <= amount
