"""Chaos runs under node-level faults (the `Mesh` fault hooks through fault plans): every
checker holds under each fault alone and under all of them with the mixed link plan, and a
chain that never comes back is caught (the checks are not vacuous under these faults)."""

from __future__ import annotations

import anyio
import pytest

from chains.mesh import CHECKERS, ChaosPlan, Mesh, run_chaos, run_checkers, run_seed
from tests.mesh.chaos._chaos_fixtures import NODES, PLAN, TOPOLOGY, WORKLOAD


@pytest.mark.parametrize("fault", NODES.faults, ids=lambda f: f.kind)
def test_every_checker_holds_under_each_node_fault_alone(fault: object) -> None:
    plan = ChaosPlan(name=getattr(fault, "kind", "?"), faults=(fault,))  # type: ignore[arg-type]
    summary = run_chaos(TOPOLOGY, plan, WORKLOAD, range(12), shrink=False)
    assert summary.failing == {}, summary.failing
    assert summary.passed == dict.fromkeys(CHECKERS, 12)
    assert summary.faults == {plan.name: 12}


def test_node_faults_and_the_mixed_plan_together_hold_and_count_redundant_deliveries() -> None:
    plan = PLAN.compose(NODES)
    summary = run_chaos(TOPOLOGY, plan, WORKLOAD, range(60), jobs=2, shrink=False)
    assert summary.failing == {}, summary.failing
    assert summary.faults == {
        "chain_crash": 60,
        "chain_halt": 60,
        "clock_skew": 60,
        "competing_relayers": 60,
        "link": 60,
        "partition": 60,
        "relayer_crash": 120,
        "relayer_lag": 60,
    }
    # the racing relayer's second deliveries were refused by receipts (I-25): counted
    assert summary.redundant > 0
    assert summary.latency.count("cross_stake_committed") > 10


def test_a_chain_that_never_resumes_fails_liveness() -> None:
    async def halt_juno_for_good(mesh: Mesh) -> None:
        mesh.halt_chain("juno")

    async def run() -> dict[str, list[str]]:
        for seed in range(20):
            record = await run_seed(TOPOLOGY, PLAN, WORKLOAD, seed, sabotage=halt_juno_for_good)
            if record.op_packets:
                return run_checkers(record)
        raise AssertionError("no seed with a cross-chain operation")

    found = anyio.run(run)
    assert found["liveness"], found
    assert any("never settled" in v for v in found["liveness"])
