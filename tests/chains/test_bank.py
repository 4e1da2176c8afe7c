"""The bank core: balances, transfers, mint, burn, supply (C-1, C-8, C-46)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains import Coin, InsufficientFunds, InvalidAmount, InvalidDenom
from chains.contract import Overflow, Store
from chains.modules import Bank


@pytest.fixture
def bank() -> Bank:
    bank = Bank(Store())
    bank.mint("alice", "stake", 100)
    bank.mint("alice", "uosmo", 5)
    return bank


def test_mint_transfer_burn_keep_supply_equal_to_balances(bank: Bank) -> None:
    bank.transfer("alice", "bob", "stake", 30)
    assert bank.balance("alice", "stake") == 70
    assert bank.balance("bob", "stake") == 30
    bank.burn("bob", "stake", 10)
    assert bank.supply("stake") == 90
    assert bank.all_balances("alice") == (
        Coin(denom="stake", amount=70),
        Coin(denom="uosmo", amount=5),
    )
    assert bank.all_balances("nobody") == ()
    assert bank.denoms() == ("stake", "uosmo")


def test_zero_balances_are_not_stored(bank: Bank) -> None:
    bank.transfer("alice", "bob", "uosmo", 5)
    assert bank.all_balances("alice") == (Coin(denom="stake", amount=100),)
    bank.burn("bob", "uosmo", 5)
    assert bank.supply("uosmo") == 0
    assert "uosmo" not in bank.denoms()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda b: b.transfer("alice", "bob", "stake", 101),
            InsufficientFunds("alice", "stake", 100, 101),
        ),
        (lambda b: b.transfer("alice", "bob", "stake", 0), InvalidAmount(0)),
        (lambda b: b.transfer("alice", "bob", "stake", -1), InvalidAmount(-1)),
        (lambda b: b.transfer("alice", "bob", "s", 1), InvalidDenom("s")),
        (lambda b: b.transfer("alice", "bob", "1abc", 1), InvalidDenom("1abc")),
        (lambda b: b.burn("bob", "stake", 1), InsufficientFunds("bob", "stake", 0, 1)),
        (lambda b: b.mint("bob", "stake", 2**128), InvalidAmount(2**128)),
        (lambda b: b.mint("bob", "stake", 2**128 - 100), Overflow("supply of stake")),
        (
            lambda b: b.send("alice", "bob", [Coin(denom="stake", amount=60)] * 2),
            InsufficientFunds("alice", "stake", 100, 120),
        ),
        (
            lambda b: b.transfer("alice", "alice", "stake", 101),
            InsufficientFunds("alice", "stake", 100, 101),
        ),
    ],
)
def test_errors_leave_state_unchanged_C_1_C_5(bank: Bank, call, error, rejects) -> None:
    rejects(bank.store, lambda: call(bank), error)


def test_send_moves_several_coins(bank: Bank) -> None:
    bank.send(
        "alice",
        "bob",
        [
            Coin(denom="stake", amount=1),
            Coin(denom="uosmo", amount=2),
            Coin(denom="stake", amount=0),
        ],
    )
    assert bank.all_balances("bob") == (
        Coin(denom="stake", amount=1),
        Coin(denom="uosmo", amount=2),
    )


def test_self_transfer_is_a_checked_no_op(bank: Bank) -> None:
    bank.transfer("alice", "alice", "stake", 100)
    assert bank.balance("alice", "stake") == 100


def test_supply_offset_C_46_C_47(bank: Bank) -> None:
    bank.add_supply_offset("stake", -40)
    assert bank.supply("stake") == 100
    assert bank.reported_supply("stake") == 60
    bank.add_supply_offset("stake", 40)
    assert bank.supply_offset("stake") == 0


def test_rollback_reverts_bank_movements_C_8(bank: Bank) -> None:
    point = bank.store.savepoint()
    bank.transfer("alice", "bob", "stake", 50)
    bank.mint("carol", "stake", 7)
    bank.store.rollback_to(point)
    assert bank.balance("alice", "stake") == 100
    assert bank.balance("bob", "stake") == 0
    assert bank.supply("stake") == 100


_ACCOUNTS = st.sampled_from(["a", "b", "c"])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["mint", "burn", "transfer"]), _ACCOUNTS, _ACCOUNTS, st.integers(-5, 50)
        ),
        max_size=40,
    )
)
def test_supply_equals_sum_of_balances_and_moves_only_by_mint_burn(
    ops: list[tuple[str, str, str, int]],
) -> None:
    bank = Bank(Store())
    expected_supply = 0
    for kind, src, dst, amount in ops:
        try:
            if kind == "mint":
                bank.mint(dst, "stake", amount)
                expected_supply += amount
            elif kind == "burn":
                bank.burn(src, "stake", amount)
                expected_supply -= amount
            else:
                bank.transfer(src, dst, "stake", amount)
        except (InsufficientFunds, InvalidAmount):
            pass
        assert bank.supply("stake") == expected_supply
        assert sum(a for _, _, a in bank.iter_balances()) == expected_supply
        assert all(a > 0 for _, _, a in bank.iter_balances())
