"""Errors are named values (C-5, P-5, P-6)."""

from __future__ import annotations

import pickle

import pytest

import chains
import chains.consumer
import chains.contract
import chains.host
import chains.ibc
import chains.mesh
import chains.modules
import chains.provider
import chains.wire
from chains import ChainError, InsufficientFunds
from chains.contract import MissingDenom, NoFunds, WrongDenom
from chains.modules import SelfDelegationTooLow

PUBLIC_ROOMS = (
    chains,
    chains.contract,
    chains.modules,
    chains.host,
    chains.ibc,
    chains.wire,
    chains.provider,
    chains.consumer,
    chains.mesh,
)


def test_error_carries_name_and_fields_C_5() -> None:
    err = WrongDenom("uosmo", "ustars")
    assert err.name == "WrongDenom"
    assert (err.sent, err.expected) == ("uosmo", "ustars")
    assert err.to_dict() == {"error": "WrongDenom", "sent": "uosmo", "expected": "ustars"}
    assert str(err) == "WrongDenom(sent='uosmo', expected='ustars')"


def test_error_without_fields_P_5() -> None:
    assert NoFunds().to_dict() == {"error": "NoFunds"}
    assert str(NoFunds()) == "NoFunds"


def test_errors_compare_by_name_and_data_C_5() -> None:
    assert MissingDenom("x") == MissingDenom("x")
    assert MissingDenom("x") != MissingDenom("y")
    assert hash(MissingDenom("x")) == hash(MissingDenom("x"))
    assert InsufficientFunds("a", "d", 1, 2) != SelfDelegationTooLow("a", 1, 2)


def test_errors_pickle_round_trip_C_5() -> None:
    err = InsufficientFunds("addr", "stake", 3, 7)
    copy = pickle.loads(pickle.dumps(err))
    assert copy == err
    assert copy.required == 7


def test_wrong_number_of_values_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        ChainError("unexpected")


def test_every_exported_error_is_a_chain_error_with_stable_name() -> None:
    errors = {
        getattr(room, n)
        for room in PUBLIC_ROOMS
        for n in room.__all__
        if isinstance(getattr(room, n), type) and issubclass(getattr(room, n), Exception)
    }
    assert len(errors) > 100
    for cls in errors:
        assert issubclass(cls, ChainError)
        values = ["v"] * len(cls.fields)
        err = cls(*values)
        assert err.name == cls.__name__
        assert err.to_dict()["error"] == cls.__name__
        assert pickle.loads(pickle.dumps(err)) == err


def test_invalid_value_is_a_value_error_whose_text_is_the_reason_C_5() -> None:
    # pydantic turns only a ValueError raised by a validator into a ValidationError, and
    # shows its text to whoever wrote the config
    from pydantic import ValidationError

    from chains.contract import InvalidValue

    err = InvalidValue("amount must be in [0, 2**128)")
    assert isinstance(err, ValueError)
    assert str(err) == "amount must be in [0, 2**128)"
    assert err.to_dict() == {"error": "InvalidValue", "reason": "amount must be in [0, 2**128)"}
    with pytest.raises(ValidationError, match=r"amount must be in \[0, 2\*\*128\)"):
        chains.Coin(denom="stake", amount=2**128)
