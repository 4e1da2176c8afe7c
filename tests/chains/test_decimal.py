"""Contract decimals (C-2, P-1) and chain-module decimals (C-3)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from chains import Decimal18
from chains.contract import (
    DecimalTooPrecise,
    DivideByZero,
    InvalidDecimal,
    NegativeDecimal,
    Overflow,
    SdkDec,
    Underflow,
)

D = Decimal18.parse
S = SdkDec.parse
SCALE = 10**18


# -- Decimal18 (C-2, P-1) -----------------------------------------------------------------


def test_parse_half_C_2() -> None:
    assert D("0.5").atomics == 5 * 10**17


@pytest.mark.parametrize(
    ("text", "shortest"),
    [
        ("0.1", "0.1"),
        ("1", "1"),
        ("0.05", "0.05"),
        ("0.100000000000000000", "0.1"),
        ("1.000000000000000000", "1"),
        ("12.340", "12.34"),
        ("0", "0"),
        ("0.000000000000000001", "0.000000000000000001"),
    ],
)
def test_parse_accepts_both_forms_and_prints_shortest_C_2(text: str, shortest: str) -> None:
    assert str(D(text)) == shortest


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("0.1234567890123456789", DecimalTooPrecise("0.1234567890123456789")),
        ("-0.5", NegativeDecimal("-0.5")),
        ("abc", InvalidDecimal("abc")),
        ("", InvalidDecimal("")),
        (".5", InvalidDecimal(".5")),
        ("1.", InvalidDecimal("1.")),
        ("1e5", InvalidDecimal("1e5")),
        (" 1", InvalidDecimal(" 1")),
    ],
)
def test_parse_errors_are_named_C_2(text: str, error: Exception) -> None:
    with pytest.raises(type(error)) as info:
        D(text)
    assert info.value == error


def test_out_of_range_atomics() -> None:
    with pytest.raises(Underflow):
        Decimal18(-1)
    with pytest.raises(Overflow):
        Decimal18(2**128)


def test_inv_examples_C_2() -> None:
    assert D("0.9").inv() == D("1.111111111111111111")
    assert D("0.5").inv() == D("2")
    assert D("0.6").inv() == D("1.666666666666666666")
    with pytest.raises(DivideByZero):
        Decimal18.zero().inv()


def test_mul_floor_is_exact_product_then_floor_C_2_P_1() -> None:
    assert D("0.5").mul_floor(3) == 1
    assert D("0.9").mul_floor(80_000_000) == 72_000_000
    assert D("1.111111111111111111").mul_floor(4_500_000) == 4_999_999
    assert D("0.1").mul_floor(10**30) == 10**29  # no float anywhere
    with pytest.raises(Overflow):
        D("2").mul_floor(2**127)
    with pytest.raises(Underflow):
        D("0.5").mul_floor(-1)


def test_mul_ceil_rounds_up_P_39() -> None:
    assert D("0.5").mul_ceil(3) == 2
    assert D("0.5").mul_ceil(4) == 2
    assert D("0.1").mul_ceil(1) == 1
    assert D("0").mul_ceil(100) == 0


def test_from_ratio_floors_C_2_P_1() -> None:
    assert Decimal18.from_ratio(1, 3) == D("0.333333333333333333")
    assert Decimal18.from_ratio(2, 3) == D("0.666666666666666666")
    assert Decimal18.from_ratio(45, 46).atomics == 45 * SCALE // 46
    with pytest.raises(DivideByZero):
        Decimal18.from_ratio(1, 0)


def test_one_minus_is_exact_C_2() -> None:
    assert Decimal18.one() - D("0.1") == D("0.9")
    assert D("0.3") + D("0.2") == D("0.5")
    with pytest.raises(Underflow):
        D("0.1") - D("0.2")


def test_product_and_quotient_floor() -> None:
    assert D("0.5") * D("0.9") == D("0.45")
    assert D("1") / D("3") == D("0.333333333333333333")
    assert D("0.000000000000000001") * D("0.5") == Decimal18.zero()
    with pytest.raises(DivideByZero):
        _ = D("1") / Decimal18.zero()


def test_ordering_and_conversion() -> None:
    assert D("0.1") < D("0.2") <= D("0.2")
    assert D("0.05").to_sdk() == S("0.05")
    assert S("0.05").to_decimal18() == D("0.05")
    assert Decimal18.from_int(3) == D("3")


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_decimal18_string_round_trip(atomics: int) -> None:
    value = Decimal18(atomics)
    assert D(str(value)) == value
    assert D(str(value.to_sdk())) == value  # the SDK 18-digit form is accepted too


@given(st.integers(min_value=1, max_value=10**30), st.integers(min_value=0, max_value=10**20))
def test_mul_floor_and_ceil_bracket_the_exact_product_P_1(atomics: int, amount: int) -> None:
    exact = Fraction(amount * atomics, SCALE)
    d = Decimal18(atomics)
    assert d.mul_floor(amount) <= exact <= d.mul_ceil(amount)
    assert d.mul_ceil(amount) - d.mul_floor(amount) <= 1


# -- SdkDec (C-3) ---------------------------------------------------------------------------


def test_string_form_has_18_digits_C_3() -> None:
    assert str(S("0.1")) == "0.100000000000000000"
    assert str(SdkDec.from_int(5)) == "5.000000000000000000"
    assert str(S("-1.5")) == "-1.500000000000000000"
    assert S("0.100000000000000000") == S("0.1")


def test_mul_rounds_half_even_at_18th_digit_C_3() -> None:
    tiny = S("0.000000000000000001")
    half = S("0.5")
    assert tiny.mul(half) == SdkDec.zero()  # 0.5e-18 -> 0 (even)
    assert S("0.000000000000000003").mul(half) == S("0.000000000000000002")  # 1.5 -> 2
    assert S("0.000000000000000005").mul(half) == S("0.000000000000000002")  # 2.5 -> 2
    assert S("0.000000000000000007").mul(half) == S("0.000000000000000004")  # 3.5 -> 4
    assert S("0.000000000000000003").mul(S("0.3")) == S("0.000000000000000001")  # 0.9 -> 1


def test_trunc_variants_truncate_C_25() -> None:
    assert S("0.000000000000000003").mul_trunc(S("0.5")) == S("0.000000000000000001")
    assert SdkDec.one().quo_trunc(3) == S("0.333333333333333333")
    assert SdkDec.from_int(2).quo_trunc(3) == S("0.666666666666666666")
    assert SdkDec.from_int(2).quo(3) == S("0.666666666666666667")


def test_quo_rounds_the_exact_quotient_half_even_C_3_C_56() -> None:
    # 45/46 = 0.978260869565217391|30... -> down ; 67.5/68.5 = 0.985401459854014598|54 -> up
    assert SdkDec.from_int(45).quo(SdkDec.from_int(46)) == S("0.978260869565217391")
    assert S("67.5").quo(S("68.5")) == S("0.985401459854014599")
    # C-56 figures: round_int(quo(shares, total_shares) * total_slash)
    assert SdkDec.from_int(45).quo(46).mul(4_600_000).round_int() == 4_500_000
    assert SdkDec.from_int(45).quo(46).mul(10_000_000).round_int() == 9_782_609
    assert S("67.5").quo(S("68.5")).mul(6_800_000).round_int() == 6_700_730


@pytest.mark.parametrize(
    ("text", "rounded"),
    [("0.5", 0), ("1.5", 2), ("2.5", 2), ("3.5", 4), ("2.500000000000000001", 3), ("-0.5", 0)],
)
def test_round_int_is_bankers_C_3(text: str, rounded: int) -> None:
    assert S(text).round_int() == rounded


def test_truncate_int_floors_non_negative_C_3() -> None:
    assert S("4.999999999999999999").truncate_int() == 4
    assert S("5").truncate_int() == 5


def test_division_by_zero_is_named_P_6() -> None:
    for call in (
        lambda: SdkDec.one().quo(0),
        lambda: SdkDec.one().quo(SdkDec.zero()),
        lambda: SdkDec.one().quo_trunc(0),
        lambda: SdkDec.one().quo_trunc(SdkDec.zero()),
    ):
        with pytest.raises(DivideByZero):
            call()


def test_sdk_parse_errors_C_3() -> None:
    with pytest.raises(DecimalTooPrecise):
        S("0.0000000000000000001")
    with pytest.raises(InvalidDecimal):
        S("1.2.3")


def test_mixed_types_do_not_compare() -> None:
    with pytest.raises(TypeError):
        _ = D("1") < S("1")  # type: ignore[operator]
    assert D("1") != S("1")


_ATOMICS = st.integers(min_value=-(10**40), max_value=10**40)
_NONZERO = _ATOMICS.filter(lambda a: a != 0)


def _half_even(q: Fraction) -> int:
    return round(q)  # Python's round on Fraction is exact half-to-even


@given(_ATOMICS, _ATOMICS)
def test_mul_matches_exact_half_even_reference_C_3(a: int, b: int) -> None:
    exact = Fraction(a * b, SCALE)
    assert SdkDec(a).mul(SdkDec(b)).atomics == _half_even(exact)
    assert SdkDec(a).mul_trunc(SdkDec(b)).atomics == int(exact)


@given(_ATOMICS, _NONZERO)
def test_quo_matches_exact_half_even_reference_C_3(a: int, b: int) -> None:
    exact = Fraction(a * SCALE, b)
    assert SdkDec(a).quo(SdkDec(b)).atomics == _half_even(exact)
    assert SdkDec(a).quo_trunc(SdkDec(b)).atomics == int(exact)


@given(_ATOMICS)
def test_sdk_string_round_trip_C_3(a: int) -> None:
    value = SdkDec(a)
    assert S(str(value)) == value


class _Model(BaseModel):
    ratio: Decimal18
    fraction: SdkDec


def test_decimals_as_pydantic_fields() -> None:
    model = _Model.model_validate({"ratio": "0.5", "fraction": "0.100000000000000000"})
    assert model.ratio == D("0.5")
    assert model.model_dump(mode="json") == {"ratio": "0.5", "fraction": "0.100000000000000000"}
    assert _Model.model_validate_json(model.model_dump_json()) == model
    with pytest.raises(ValidationError):
        _Model.model_validate({"ratio": "-1", "fraction": "0"})
    with pytest.raises(ValidationError):
        _Model.model_validate({"ratio": 0.5, "fraction": "0"})
