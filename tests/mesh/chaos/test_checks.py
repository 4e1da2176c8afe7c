"""Checkers: each holds on a clean run and fails when a component is broken on purpose."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import pytest

from chains.mesh import (
    CHECKERS,
    CapSample,
    ChaosPlan,
    LostBlock,
    Mesh,
    Operation,
    RelayerAnswer,
    SeedRecord,
    Withdrawal,
    replay_seed,
    run_checkers,
    run_seed,
)
from tests.mesh.chaos._chaos_fixtures import PLAN, TOPOLOGY, WORKLOAD

PAIRING = "osmosis→juno"


def _find_good() -> SeedRecord:
    for seed in range(40):
        record = anyio.run(run_seed, TOPOLOGY, PLAN, WORKLOAD, seed)
        if record.op_packets and record.withdrawals == [] and record.settled_at is not None:
            return record
    raise AssertionError("no seed with cross-chain operations")


@pytest.fixture(scope="module")
def good() -> SeedRecord:
    return _find_good()


@pytest.fixture
def record(good: SeedRecord) -> SeedRecord:
    return copy.deepcopy(good)


def _failing(record: SeedRecord) -> set[str]:
    return {name for name, found in run_checkers(record).items() if found}


def test_every_checker_holds_on_a_clean_faulty_run(record: SeedRecord) -> None:
    assert run_checkers(record) == {name: [] for name in CHECKERS}
    assert record.faults == {"link": 1, "partition": 1, "relayer_crash": 1}


# -- packets_once -------------------------------------------------------------------------


def test_packets_once_fails_on_a_second_delivery(record: SeedRecord) -> None:
    life = next(iter(record.history.packets.values()))
    life.received = 2
    assert _failing(record) == {"packets_once"}


def test_packets_once_fails_on_an_ack_and_a_timeout(record: SeedRecord) -> None:
    life = next(p for p in record.history.packets.values() if p.acked)
    life.timed_out = 1
    assert "packets_once" in _failing(record)


def test_packets_once_fails_on_a_packet_never_settled_at_quiescence(record: SeedRecord) -> None:
    life = next(p for p in record.history.packets.values() if p.acked)
    life.acked = 0
    assert "packets_once" in _failing(record)


# -- agreement and conservation -----------------------------------------------------------


def test_agreement_fails_when_the_sides_disagree_I_64(record: SeedRecord) -> None:
    record.violations.append(f"{PAIRING}: (u, v) consumer record 5 != provider stake 9")
    assert _failing(record) == {"agreement"}


def test_conservation_fails_when_supply_is_not_conserved_C_58(record: SeedRecord) -> None:
    record.violations.append("juno: ujuno balances add up to 10 != supply 11")
    assert _failing(record) == {"conservation"}


# -- rewards_once -------------------------------------------------------------------------


def test_rewards_once_fails_on_a_claim_paid_twice_I_54(record: SeedRecord) -> None:
    claim = Operation(900, 1.0, "claim_rewards", "alice", {"provider": "osmosis"})
    record.operations = (*record.operations, claim)
    history = record.history
    history.record(900, "invoke", claim.f, claim.process, claim.args, 1.0)
    history.record(900, "ok", claim.f, claim.process, claim.args, 2.0)
    assert "rewards_once" not in _failing(record)
    history.record(900, "ok", claim.f, claim.process, claim.args, 3.0)
    assert "rewards_once" in _failing(record)


def test_rewards_once_fails_when_a_claim_packet_is_delivered_twice(record: SeedRecord) -> None:
    life = next(iter(record.history.packets.values()))
    key = "/".join(map(str, life.key))
    claim = Operation(901, 1.0, "claim_rewards", "alice", {"provider": "osmosis"})
    record.operations = (*record.operations, claim)
    record.op_packets[key] = 901
    life.received = 2
    assert "rewards_once" in _failing(record)


# -- unbonding_not_early ------------------------------------------------------------------


def _unstake(record: SeedRecord, at: float, amount: int) -> None:
    args = {"provider": "osmosis", "consumer": "juno", "validator": "val1", "amount": amount}
    op = Operation(950, at, "unstake", "bob", args)
    record.operations = (*record.operations, op)
    record.history.record(950, "invoke", op.f, op.process, args, at)
    record.history.record(950, "ok", op.f, op.process, args, at)


def test_unbonding_released_early_fails_P_70(record: SeedRecord) -> None:
    _unstake(record, 100.0, 50)
    record.withdrawals.append(Withdrawal(100.0 + 599.0, PAIRING, "bob", 50))
    assert _failing(record) == {"unbonding_not_early"}


def test_unbonding_released_after_the_period_holds(record: SeedRecord) -> None:
    _unstake(record, 100.0, 50)
    record.withdrawals.append(Withdrawal(100.0 + 600.0, PAIRING, "bob", 50))
    assert "unbonding_not_early" not in _failing(record)


# -- max_cap ------------------------------------------------------------------------------


def test_max_cap_exceeded_fails_C_43(record: SeedRecord) -> None:
    record.cap_samples.append(CapSample(50.0, PAIRING, 101, 100))
    assert _failing(record) == {"max_cap"}


def test_max_cap_exceeded_while_a_lowered_cap_drains_is_allowed_C_96(record: SeedRecord) -> None:
    args = {"provider": "osmosis", "consumer": "juno", "amount": 100}
    op = Operation(960, 49.0, "set_max_cap", "world", args)
    record.operations = (*record.operations, op)
    record.history.record(960, "invoke", op.f, op.process, args, 49.0)
    record.cap_samples.append(CapSample(50.0, PAIRING, 101, 100))
    assert "max_cap" not in _failing(record)


# -- liveness -----------------------------------------------------------------------------


def test_liveness_fails_on_an_operation_that_never_settles(record: SeedRecord) -> None:
    op = record.operations[0]
    record.history.entries = [
        e for e in record.history.entries if e.op != op.index or e.type == "invoke"
    ]
    assert _failing(record) == {"liveness"}


def test_liveness_fails_on_a_relayer_that_does_not_answer(record: SeedRecord) -> None:
    record.relayers.append(RelayerAnswer("juno-osmosis", 1, None))
    assert _failing(record) == {"liveness"}


def test_liveness_is_not_owed_while_a_fault_never_heals(record: SeedRecord) -> None:
    record.heals_at = None
    record.history.entries = [e for e in record.history.entries if e.type == "invoke"]
    assert "liveness" not in _failing(record)


# -- lost_blocks ---------------------------------------------------------------------------


def _lose_last_answer(record: SeedRecord) -> LostBlock:
    """Record a crash that lost the block of the last ``ok`` answered by a transaction."""
    by_index = {op.index: op for op in record.operations}
    entry = [e for e in record.history.entries if e.type == "ok" and e.height is not None][-1]
    lost = LostBlock(entry.time, by_index[entry.op].chain, entry.height or 0)
    record.lost_blocks.append(lost)
    return lost


def test_lost_blocks_fails_on_an_answer_kept_ok_in_a_lost_block(record: SeedRecord) -> None:
    lost = _lose_last_answer(record)
    found = run_checkers(record)["lost_blocks"]
    assert found and _failing(record) == {"lost_blocks"}
    # marked as the runner marks them, the history holds, and liveness owes nothing
    for line in found:
        record.history.mark_lost(int(line.split("#")[1].split()[0]), lost.time)
    assert _failing(record) == set()


def test_lost_blocks_fails_on_block_lost_with_no_crash(record: SeedRecord) -> None:
    entry = [e for e in record.history.entries if e.type == "ok"][-1]
    assert record.history.mark_lost(entry.op, entry.time)
    assert _failing(record) == {"lost_blocks"}


def test_liveness_still_fails_on_an_info_that_no_crash_explains(record: SeedRecord) -> None:
    entry = [e for e in record.history.entries if e.type == "ok"][-1]
    assert record.history.mark_lost(entry.op, entry.time, error="unknown")
    assert _failing(record) == {"liveness"}


# -- components broken on purpose in a running mesh ---------------------------------------

STAKE = (
    Operation(0, 5.0, "bond", "alice", {"chain": "osmosis", "amount": 1_000_000}),
    Operation(
        1,
        10.0,
        "cross_stake",
        "alice",
        {"provider": "osmosis", "consumer": "juno", "validator": "val1", "amount": 200_000},
    ),
    Operation(2, 20.0, "bond", "bob", {"chain": "osmosis", "amount": 500_000}),
)


async def stall_relayers(mesh: Mesh) -> None:
    """A relayer that never relays: the link is paused and never resumed."""
    mesh.pause_relaying("juno", "osmosis")


async def overreport_cap(mesh: Mesh) -> None:
    """A virtual-staking query that reports more delegated than the cap."""
    real = mesh.virtual_stake

    async def broken(provider: str, consumer: str) -> Any:
        answer = await real(provider, consumer)
        delegated = answer.delegated.model_copy(update={"amount": answer.cap.amount + 1})
        return answer.model_copy(update={"delegated": delegated})

    mesh.virtual_stake = broken  # type: ignore[method-assign]


@pytest.mark.anyio
async def test_a_stalled_relayer_fails_liveness() -> None:
    workload = WORKLOAD.model_copy(update={"settle_bound": 600.0})
    clean = await run_seed(TOPOLOGY, ChaosPlan(), workload, 1, operations=STAKE)
    assert _failing(clean) == set()
    broken = await run_seed(
        TOPOLOGY, ChaosPlan(), workload, 1, operations=STAKE, sabotage=stall_relayers
    )
    assert "liveness" in _failing(broken)
    assert "op #1 cross_stake by alice never settled" in run_checkers(broken)["liveness"]


@pytest.mark.anyio
async def test_a_virtual_stake_over_the_cap_fails_max_cap() -> None:
    broken = await run_seed(
        TOPOLOGY, ChaosPlan(), WORKLOAD, 1, operations=STAKE, sabotage=overreport_cap
    )
    assert "max_cap" in _failing(broken)


def test_a_failing_seed_is_shrunk_to_a_smaller_reproduction() -> None:
    workload = WORKLOAD.model_copy(update={"settle_bound": 600.0})
    ops = (*STAKE, *(
        Operation(3 + i, 30.0 + i, "bond", "bob", {"chain": "osmosis", "amount": 10})
        for i in range(5)
    ))  # fmt: skip
    outcome = replay_seed(
        TOPOLOGY, ChaosPlan(), workload, 2, operations=ops, sabotage=stall_relayers
    )
    assert outcome.failed == ["liveness"]
    assert outcome.shrunk is not None
    assert [op.f for op in outcome.shrunk] == ["bond", "cross_stake"]
    again = replay_seed(
        TOPOLOGY, ChaosPlan(), workload, 2, operations=tuple(outcome.shrunk),
        sabotage=stall_relayers, shrink=False,
    )  # fmt: skip
    assert again.failed == ["liveness"]


def test_packets_once_fails_when_the_history_lost_events(record: SeedRecord) -> None:
    record.events_dropped = 3
    assert run_checkers(record)["packets_once"] == [
        "history incomplete: 3 chain events were dropped"
    ]
