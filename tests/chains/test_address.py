"""Bech32 addresses (BIP-173) per chain prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains import InvalidAddress
from chains.contract import (
    address_bytes,
    convert_prefix,
    derive_address,
    encode_address,
    operator_prefix,
    validate_address,
)

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def test_bip173_reference_vectors_are_valid() -> None:
    # BIP-173 valid strings; the first has a correct checksum but no payload, which an
    # address must have
    with pytest.raises(InvalidAddress) as info:
        validate_address("a12uel5l", "a")
    assert info.value.reason == "too short"
    addr = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"
    assert address_bytes(addr, "abcdef") == bytes.fromhex(
        "00443214c74254b635cf84653a56d7c675be77df"
    )
    # BIP-173 invalid: checksum computed with an uppercase HRP
    with pytest.raises(InvalidAddress):
        validate_address("a1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "a")


def test_derive_address_is_deterministic_and_well_formed() -> None:
    a = derive_address("stars", "alice")
    assert a == derive_address("stars", b"alice")
    assert a != derive_address("stars", "bob")
    assert a.startswith("stars1")
    assert len(a) == len("stars1") + 38
    assert set(a[len("stars1") :]) <= set(_CHARSET)
    assert validate_address(a, "stars") == a
    assert len(address_bytes(a, "stars")) == 20
    assert len(address_bytes(derive_address("wasm", "c", length=32), "wasm")) == 32


def test_operator_address_shares_the_payload() -> None:
    account = derive_address("stars", "val")
    operator = convert_prefix(account, "stars", operator_prefix("stars"))
    assert operator.startswith("starsvaloper1")
    assert convert_prefix(operator, "starsvaloper", "stars") == account
    assert encode_address("stars", address_bytes(account, "stars")) == account


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("osmo1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "wrong prefix (expected 'stars')"),
        ("stars", "missing prefix or separator"),
        ("1qqqqqq", "missing prefix or separator"),
        ("stars1qqqqq", "too short"),
        ("stars1qqqqqqqqqb", "invalid character"),
        ("Stars1qqqqqqqqq", "not normalized (must be lowercase)"),
        ("stars1" + "q" * 100, "too long"),
    ],
)
def test_invalid_addresses_are_named(address: str, reason: str) -> None:
    with pytest.raises(InvalidAddress) as info:
        validate_address(address, "stars")
    assert info.value == InvalidAddress(address, reason)


@given(st.text(min_size=1, max_size=12), st.integers(min_value=6, max_value=43), st.data())
def test_any_single_character_typo_is_detected(
    seed: str, position: int, data: st.DataObject
) -> None:
    address = derive_address("stars", seed)
    index = len("stars1") + min(position, 37)
    replacement = data.draw(st.sampled_from([c for c in _CHARSET if c != address[index]]))
    typo = address[:index] + replacement + address[index + 1 :]
    with pytest.raises(InvalidAddress) as info:
        validate_address(typo, "stars")
    assert info.value.reason == "invalid checksum"


def test_uppercase_and_non_string_rejected() -> None:
    address = derive_address("stars", "x")
    with pytest.raises(InvalidAddress):
        validate_address(address.upper(), "stars")
    with pytest.raises(InvalidAddress):
        validate_address(123, "stars")  # type: ignore[arg-type]
