"""Workloads: seeded, configurable mix and rate, validated like the other files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.mesh import (
    OPERATION_KINDS,
    Operation,
    OperationMix,
    Workload,
    WorkloadError,
    generate_operations,
    parse_workload,
)
from tests.mesh.chaos._chaos_fixtures import TOPOLOGY, WORKLOAD


def test_the_same_seed_gives_the_same_operations() -> None:
    first = generate_operations(TOPOLOGY, WORKLOAD, 7)
    assert first == generate_operations(TOPOLOGY, WORKLOAD, 7)
    assert first != generate_operations(TOPOLOGY, WORKLOAD, 8)


def test_operations_round_trip_through_json() -> None:
    for op in generate_operations(TOPOLOGY, WORKLOAD, 3):
        assert Operation.from_json(op.to_json()) == op


def test_the_mix_decides_the_kinds() -> None:
    only = OperationMix(**{k: 0.0 for k in OPERATION_KINDS} | {"claim_rewards": 1.0})
    ops = generate_operations(TOPOLOGY, Workload(duration=36_000, mix=only), 1)
    assert ops
    assert {op.f for op in ops} == {"claim_rewards"}


def test_a_mix_of_zeros_is_refused() -> None:
    with pytest.raises(ValueError, match="every weight is 0"):
        OperationMix(**dict.fromkeys(OPERATION_KINDS, 0.0))


def test_unknown_users_are_refused() -> None:
    with pytest.raises(WorkloadError, match="'mallory' is no account of a provider chain"):
        generate_operations(TOPOLOGY, Workload(users=("alice", "mallory")), 0)


def test_workload_toml_errors_are_located() -> None:
    with pytest.raises(WorkloadError) as caught:
        parse_workload("duration = 60\nrate = -1\n", "w.toml")
    assert str(caught.value).startswith("w.toml:2: rate: ")
    assert parse_workload("duration = 60\n[mix]\nbond = 2.0\n").mix.bond == 2.0


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    rate=st.floats(1.0, 2_000.0),
    duration=st.floats(1.0, 7_200.0),
    low=st.integers(1, 1_000),
    span=st.integers(0, 1_000),
)
def test_operations_are_ordered_within_the_duration_and_amount_range(
    seed: int, rate: float, duration: float, low: int, span: int
) -> None:
    workload = Workload(duration=duration, rate=rate, amount=(low, low + span))
    ops = generate_operations(TOPOLOGY, workload, seed)
    times = [op.time for op in ops]
    assert times == sorted(times)
    assert all(0 <= t <= duration for t in times)
    assert [op.index for op in ops] == list(range(len(ops)))
    for op in ops:
        amount = op.args.get("amount")
        if op.f in ("cross_stake", "unstake", "unbond", "stake_local"):
            assert low <= amount <= low + span
        elif op.f == "bond":
            assert 5 * low <= amount <= 5 * (low + span)
