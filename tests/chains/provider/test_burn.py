"""The burn distribution helper (P-17)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.contract import InsufficientDelegations, distribute_burn


def _split(available: list[int], amount: int) -> tuple[int, list[int]]:
    entries = [(f"v{i}", a) for i, a in enumerate(available)]
    burned, parts = distribute_burn(entries, amount)
    return burned, [parts.get(f"v{i}", 0) for i in range(len(available))]


@pytest.mark.parametrize(
    ("available", "amount", "burned", "parts"),
    [
        ([100, 200, 300], 100, 100, [34, 33, 33]),
        ([100, 100], 15, 15, [8, 7]),
        ([100, 1], 101, 101, [100, 1]),
        ([100, 1], 102, 52, [51, 1]),
        # known limitation kept: 91 is available but the remainder fits nowhere
        ([29, 30, 31, 1], 91, 67, [22, 22, 22, 1]),
    ],
)
def test_spec_examples_P_17(
    available: list[int], amount: int, burned: int, parts: list[int]
) -> None:
    assert _split(available, amount) == (burned, parts)


def test_empty_entries_are_insufficient_delegations_P_17() -> None:
    # "entries non-empty" is the precondition; a burn with nowhere to go is what every
    # caller reports (P-58, P-80, C-91): the named error, not a bare ValueError
    with pytest.raises(InsufficientDelegations) as caught:
        distribute_burn([], 1, owner="alice")
    assert caught.value == InsufficientDelegations("alice", 1)


def test_parts_keep_entry_order_and_skip_zero_parts_P_17() -> None:
    burned, parts = distribute_burn([("b", 0), ("a", 10)], 4)
    assert (burned, parts) == (4, {"a": 4})
    burned, parts = distribute_burn([("z", 10), ("a", 10)], 5)
    assert (burned, list(parts.items())) == (5, [("z", 3), ("a", 2)])


@given(
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=3000),
)
def test_never_burns_more_than_asked_or_available_P_17(available: list[int], amount: int) -> None:
    burned, parts = _split(available, amount)
    assert burned == sum(parts) <= amount
    assert all(0 <= p <= a for p, a in zip(parts, available, strict=True))
    if amount <= min(available) * len(available) and amount % len(available) == 0:
        assert burned == amount
