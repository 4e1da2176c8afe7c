"""Chaos runs (issue 17's benchmark): how many seeds a CPU minute buys, and one long run.

- **small**: the two-chain topology of the chaos tests (one validator each, two users, a
  10-minute unbonding period) under the mixed plan (a lossy, slow, reordering link window,
  a partition, a relayer crash and restart) with a 5-minute workload of about ten
  operations: seeds per CPU minute in this process (``jobs=1``; ``jobs=J`` multiplies it by
  the cores), and what each seed costs.
- **seed topology**: `benchmarks.bench_mesh.build_topology` with ``U`` users and 2
  validators per chain, ``D`` simulated days, a mixed plan over the four links (a lossy
  window on osmosis-juno on day 1, a partition of osmosis-stargaze for an hour, one of the
  two osmosis-juno relayers crashing for two hours) and a workload of ``R`` operations per
  hour: CPU seconds of the run, operations, checks.

Size knobs (environment variables)::

    CHAOS_BENCH_SEEDS   seeds of the small topology (default 60)
    CHAOS_BENCH_USERS   users of the seed topology (default 100)
    CHAOS_BENCH_DAYS    simulated days of the seed-topology run (default 7)
    CHAOS_BENCH_RATE    operations per hour in that run (default 20)

    .venv/bin/python -m benchmarks chaos

Measured (Python 3.11, x86_64, shared machine loaded by other jobs; CPU seconds): see the
report of the commit that added this file.
"""

from __future__ import annotations

import os
import time

from benchmarks._report import Report
from benchmarks.bench_mesh import build_topology
from chains import Topology, parse_topology
from chains.mesh import (
    ChaosPlan,
    OperationMix,
    Workload,
    parse_chaos_plan,
    run_chaos,
)

__all__ = ["run"]

SMALL = """
name = "chaos-small"

[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
block_time = 5
validators = [{ name = "val1", tokens = 10_000_000, commission = "0.05" }]
accounts = [
  { name = "alice", balance = 1_000_000_000 },
  { name = "bob", balance = 1_000_000_000 },
]

[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
block_time = 5
block_provision = 1_000_000
epoch_blocks = 6
validators = [{ name = "val1", tokens = 10_000_000, commission = "0.1" }]

[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 100_000_000
unbonding_period = 600
price_feed = { kind = "simple", price = "0.5" }
"""

SMALL_PLAN = """
name = "mixed"

[[faults]]
kind = "link"
chains = ["juno", "osmosis"]
start = 20
end = 200
drop = 0.1
duplicate = 0.05
reorder = 0.05
delay = { uniform = [0.5, 3.0] }

[[faults]]
kind = "partition"
chains = ["juno", "osmosis"]
side = "juno"
start = 90
end = 150

[[faults]]
kind = "relayer_crash"
chains = ["juno", "osmosis"]
at = 160
restart = 220
"""

SEED_PLAN = """
name = "seed mixed"

[[faults]]
kind = "link"
chains = ["juno", "osmosis"]
start = 86_400
end = 172_800
drop = 0.05
duplicate = 0.02
reorder = 0.05
delay = { exponential = 2.0 }

[[faults]]
kind = "partition"
chains = ["stargaze", "osmosis"]
start = 43_200
end = 46_800

[[faults]]
kind = "relayer_crash"
chains = ["juno", "osmosis"]
index = 1
at = 100_000
restart = 107_200
"""

MIX = OperationMix(
    bond=4.0,
    unbond=0.3,
    stake_local=0.5,
    cross_stake=4.0,
    unstake=2.0,
    withdraw_unbonded=1.0,
    claim_rewards=1.0,
    move_price=0.3,
    set_max_cap=0.2,
)


def _env(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _small(report: Report, seeds: int) -> None:
    topology = parse_topology(SMALL)
    plan = parse_chaos_plan(SMALL_PLAN)
    workload = Workload(duration=300.0, rate=120.0, amount=(10_000, 100_000), mix=MIX)
    started = time.process_time()
    summary = run_chaos(topology, plan, workload, range(seeds), 1, shrink=False)
    spent = time.process_time() - started
    report.figure(
        f"small topology, mixed plan: seeds per CPU minute ({seeds} seeds)",
        60.0 * seeds / spent,
        "seeds/min",
        note=f"{spent / seeds * 1000:.0f} ms per seed; {len(summary.failing)} failing",
    )


def _seed_topology(report: Report, users: int, days: float, rate: float) -> None:
    topology: Topology = build_topology(users, 2)
    plan: ChaosPlan = parse_chaos_plan(SEED_PLAN)
    workload = Workload(
        duration=days * 86_400.0,
        rate=rate,
        amount=(10_000, 200_000),
        mix=MIX,
        settle_bound=86_400.0,
    )
    started = time.process_time()
    summary = run_chaos(topology, plan, workload, [0], 1, shrink=False)
    spent = time.process_time() - started
    failed = ", ".join(sorted({n for names in summary.failing.values() for n in names}))
    report.figure(
        f"seed topology, {users} users, {days:g} days, {rate:g} ops/h: CPU s",
        spent,
        "s",
        note=f"{spent / days:.1f} s per simulated day; checks failed: {failed or 'none'}",
    )
    for flow in summary.latency.flows():
        p = summary.latency.percentiles(flow)
        report.figure(
            f"  {flow}: p50 / p99 / max (n={summary.latency.count(flow)})",
            p["p50"],
            "s",
            note=f"p99 {p['p99']:.1f} s, max {p['max']:.1f} s",
        )


def run(report: Report) -> None:
    """Print the figures (see the module docstring)."""
    seeds = int(_env("CHAOS_BENCH_SEEDS", 60))
    _small(report, seeds)
    _seed_topology(
        report,
        int(_env("CHAOS_BENCH_USERS", 100)),
        _env("CHAOS_BENCH_DAYS", 7),
        _env("CHAOS_BENCH_RATE", 20),
    )
