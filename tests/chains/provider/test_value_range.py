"""Value ranges (P-7, P-8) and the pagination limits (P-35)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains import Decimal18
from chains.contract import Overflow, Underflow
from chains.provider import InvalidRange, NotOneValue, ValueRange, max_range, page_limit

amounts = st.integers(min_value=0, max_value=10**6)


@st.composite
def ranges(draw: st.DrawFn) -> ValueRange:
    low = draw(amounts)
    return ValueRange(low, low + draw(amounts))


def test_plain_value_and_val_P_7() -> None:
    r = ValueRange.of(5)
    assert (r.low, r.high) == (5, 5)
    assert r.val() == 5
    with pytest.raises(NotOneValue):
        ValueRange(1, 2).val()


def test_construction_refuses_low_above_high_P_7() -> None:
    with pytest.raises(InvalidRange):
        ValueRange(3, 2)
    with pytest.raises(InvalidRange):
        ValueRange(-1, 2)


def test_prepare_commit_rollback_add_P_7() -> None:
    r = ValueRange.of(10).prepare_add(5, maximum=15)
    assert r == ValueRange(10, 15)
    assert r.commit_add(5) == ValueRange(15, 15)
    assert r.rollback_add(5) == ValueRange(10, 10)
    with pytest.raises(Overflow):
        ValueRange.of(10).prepare_add(6, maximum=15)


def test_prepare_commit_rollback_sub_P_7() -> None:
    r = ValueRange.of(10).prepare_sub(4, minimum=0)
    assert r == ValueRange(6, 10)
    assert r.commit_sub(4) == ValueRange(6, 6)
    assert r.rollback_sub(4) == ValueRange(10, 10)
    with pytest.raises(Underflow):
        ValueRange.of(3).prepare_sub(4, minimum=0)
    with pytest.raises(Underflow):
        ValueRange.of(10).prepare_sub(4, minimum=7)


def test_failed_commit_is_a_named_error_and_keeps_the_range_P_6_P_7() -> None:
    r = ValueRange(5, 6)
    with pytest.raises(InvalidRange):
        r.commit_add(2)
    with pytest.raises(InvalidRange):
        r.rollback_add(2)
    with pytest.raises(InvalidRange):
        r.commit_sub(2)
    with pytest.raises(InvalidRange):
        r.rollback_sub(2)
    assert r == ValueRange(5, 6)


def test_add_and_sub_move_both_ends_P_7() -> None:
    assert ValueRange(2, 5).add(3, maximum=8) == ValueRange(5, 8)
    with pytest.raises(Overflow):
        ValueRange(2, 5).add(4, maximum=8)
    assert ValueRange(4, 5).sub(3, minimum=0) == ValueRange(1, 2)
    with pytest.raises(Underflow):
        ValueRange(2, 5).sub(3, minimum=0)


def test_saturating_forms_in_the_reference_abort_corners_P_7() -> None:
    # the reference aborts in rollback_add_saturating when x > high ...
    assert ValueRange(0, 3).rollback_add_saturating(5) == ValueRange(0, 3 - 3)
    assert ValueRange(2, 3).rollback_add_saturating(5) == ValueRange(2, 2)
    # ... and in commit_sub_saturating when x <= high but high - x < low
    assert ValueRange(4, 6).commit_sub_saturating(5) == ValueRange(4, 4)
    assert ValueRange(4, 6).commit_add_saturating(5) == ValueRange(9, 9)
    assert ValueRange(4, 6).rollback_sub_saturating(5) == ValueRange(6, 6)


@given(ranges(), amounts)
def test_saturating_forms_are_total_P_7(r: ValueRange, x: int) -> None:
    for op in (
        r.commit_add_saturating,
        r.rollback_add_saturating,
        r.commit_sub_saturating,
        r.rollback_sub_saturating,
        r.sub_saturating,
    ):
        out = op(x)
        assert 0 <= out.low <= out.high


@given(ranges(), amounts)
def test_prepare_then_settle_returns_to_a_plain_value_P_7(r: ValueRange, x: int) -> None:
    v = ValueRange.of(r.low)
    assert v.prepare_add(x).commit_add(x) == ValueRange.of(r.low + x)
    assert v.prepare_add(x).rollback_add(x) == v
    if x <= r.low:
        assert v.prepare_sub(x, 0).commit_sub(x) == ValueRange.of(r.low - x)
        assert v.prepare_sub(x, 0).rollback_sub(x) == v


def test_helpers_P_7() -> None:
    assert max_range(ValueRange(1, 9), ValueRange(3, 4)) == ValueRange(3, 9)
    assert ValueRange(1, 2) + ValueRange(3, 4) == ValueRange(4, 6)
    assert ValueRange(15, 33).mul_floor(Decimal18.parse("0.1")) == ValueRange(1, 3)
    assert ValueRange(1, 9).is_under_max(9) and not ValueRange(1, 9).is_under_max(8)
    assert ValueRange(1, 9).is_over_min(1) and not ValueRange(1, 9).is_over_min(2)
    assert ValueRange(5, 9).cut(7) == ValueRange(0, 2)
    with pytest.raises(Underflow):
        ValueRange(5, 9).cut(10)


def test_page_limit_default_10_max_30_P_35() -> None:
    assert page_limit(None) == 10
    assert page_limit(5) == 5
    assert page_limit(30) == 30
    # [ref-quirk] the reference computes max(limit or 10, 30): at least 30 and no cap
    assert page_limit(31) == 30
    assert page_limit(1000) == 30
    assert page_limit(-1) == 0


@given(ranges(), ranges())
def test_max_range_is_the_componentwise_maximum_and_shares_a_dominating_range_P_7(
    a: ValueRange, b: ValueRange
) -> None:
    """P-7's ``max_range``; a user's ``max_lien`` shares its lien's range (issue 16)."""
    out = max_range(a, b)
    assert out == ValueRange(max(a.low, b.low), max(a.high, b.high))
    if a.low >= b.low and a.high >= b.high:
        assert out is a
    elif b.low >= a.low and b.high >= a.high:
        assert out is b


@given(ranges(), amounts)
def test_commit_add_saturating_value_and_one_int_for_a_single_value_P_7(
    r: ValueRange, x: int
) -> None:
    """``low += x`` then ``high = max(high, low)`` (P-7 [rec]); a single value keeps one int
    for both ends (issue 16: every committed lien and stake is such a range)."""
    out = r.commit_add_saturating(x)
    assert out == ValueRange(r.low + x, max(r.high, r.low + x))
    if out.low == out.high:
        assert out.low is out.high
