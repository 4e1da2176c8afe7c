"""The whole mesh at scale (issue 7's benchmark): the seed topology, many users, many days.

The seed topology (examples/topologies/seed.toml: Osmosis → Juno, Osmosis → Stargaze,
Akash → Juno, Juno → Osmosis), with every chain's validator set replaced by ``V``
validators of 10,000,000 tokens and ``U`` users ``u0 .. u{U-1}`` spread round-robin over the
four pairings (a user is an account of its pairing's provider). Each user bonds 1,000,000
and cross-stakes 200,000 to a consumer validator (round-robin); then the mesh runs ``D``
simulated days in virtual time (blocks every 6 s on four chains, epochs every 100 blocks,
rewards distributed and relayed), with one double-sign of a Juno validator at mid-run whose
slash propagates to both of Juno's providers. Relayers as in the seed file.

Printed, for ``U`` and for ``2U`` users (each run in a fresh forked process, so that the
peak RSS ``ru_maxrss`` is that run's own):

- the **idle baseline**: the same topology with no users, ``D`` days — CPU seconds per
  simulated day and blocks per CPU second (pure block production, epochs, relaying);
- the **setup** (mesh entry: deployment, channel handshakes), and the **users' transactions**
  (bond + cross-stake) as transactions per second;
- the **run**: CPU seconds per simulated day against the idle baseline, and its inverse in
  simulated days per second (target of issue 7: ≥ 1 day/s at 10,000 users and 100
  validators);
- **peak RSS** of each run, and the **growth** of run time and memory when users double
  (linear growth would be 2.0x time of the user part; the idle part is constant).

Rates use CPU time (``time.process_time``): the runs are single-threaded and never sleep in
real time, and the machine is shared.

Size knobs (environment variables)::

    MESH_BENCH_USERS       users U (default 100; the 2U run doubles it)
    MESH_BENCH_VALIDATORS  validators per chain V (default 10)
    MESH_BENCH_DAYS        simulated days D (default 2)
    MESH_BENCH_CLEAR       if set, every relayer's clear interval in seconds instead of the seed
                           file's 30 (e.g. 600: Hermes' default of 100 blocks at 6 s blocks)
    MESH_BENCH_PROFILE     if set to a path, one more U run under cProfile (not in the figures),
                           its stats saved there and the top 15 functions printed by cumulative
                           and by internal time

    .venv/bin/python -m benchmarks mesh                          # small: ~1-2 minutes
    # issue 7's full configuration: idle, 10,000 and 20,000 users, each 30 days
    # (about 13 minutes of CPU at the figures below):
    MESH_BENCH_USERS=10000 MESH_BENCH_VALIDATORS=100 MESH_BENCH_DAYS=30 \\
        .venv/bin/python -m benchmarks mesh

Measured (Python 3.11, x86_64, shared 2-core machine, loaded by other jobs: figures vary by
+-20% between runs; CPU seconds). With lazy block production (``_host.py``: the chains'
idle blocks are produced in one step when the virtual clock moves past them, and the clock
stops only at block boundaries with observable work):

- 100/200 users, 100 validators, 1 day (``MESH_BENCH_USERS=100 MESH_BENCH_VALIDATORS=100
  MESH_BENCH_DAYS=1``): idle mesh 4.2 s per simulated day (0.24 days/s, 13,700 blocks/s over
  the four chains); 100 users 5.8 s/day, 200 users 7.4 s/day; 1,500 / 1,860 tx/s; peak RSS
  46 / 49 / 50 MiB. Before (same command, same machine, same hour): idle 20.5 s/day
  (2,800 blocks/s), 100 users 24.6 s/day, 200 users 22.4 s/day.
- default (100/200 users, 10 validators, 2 days): idle 4.9 s/day; 7.1 / 5.2 s/day (noise:
  the user-dependent part is small at this size); 3,000 tx/s. Before: 10.0 / 11.9 / 12.3 s/day.
- the full configuration (10,000 users, 100 validators), run directly with the same steps
  (``run_mesh(10_000, 100, 6)``): setup 1.3 s; 20,000 transactions in 11.5 s (1,740 tx/s);
  then 74.8 s for 6 simulated days = 12.5 s per day (0.080 days/s; the first hours include
  relaying the 20,000 transactions' packets), 11.5 s for a steady-state day; peak RSS
  125 MiB. Before: 186.8 s of transactions (107 tx/s) and 25.5 s per day (0.039 days/s).

- **the full configuration through this benchmark, 30 days each** (commit d2c4498,
  ``MESH_BENCH_USERS=10000 MESH_BENCH_VALIDATORS=100 MESH_BENCH_DAYS=30``, 794 s in all):
  idle 3.6 s/day (0.28 days/s, 16,200 blocks/s, 45.7 MiB); **10,000 users 9.3 s/day
  (0.108 days/s)**, 2,977 tx/s, peak RSS 114 MiB; **20,000 users 11.0 s/day (0.091
  days/s)**, 2,005 tx/s, peak RSS 178 MiB. Doubling the users: days phase 1.2x (the
  user-dependent part 1.3x: sublinear, a day costs per validator and per epoch once every
  validator has delegations), RSS above idle 1.9x (linear), transactions phase 3.0x. That
  last figure is the machine's load, not the code: measured directly (bond + cross-stake
  for 8,000 and 16,000 users in one process, timing each quarter), 2,040 and 2,000 tx/s,
  each quarter of the users costing the same: linear.
- **the relayers' clear interval** is the seed file's 30 s. With Hermes' default of 100
  blocks (600 s at 6 s blocks; ``MESH_BENCH_CLEAR=600``, 1,000/2,000 users, 1 day): idle
  0.3 s/day (3.6 days/s), 1,000 users 5.0 s/day, 2,000 users 5.6 s/day: nearly all of an
  idle day is the periodic clears (2 asks each to the chains, 11,520 clears a day).

So the target (1 simulated day per second at 10,000 users and 100 validators) is still
missed, by a factor of about 9 at the full size (about 5 with a 100-block clear interval);
an idle mesh is about 3.6x too slow with 30-second clears and meets it with 100-block ones.

Profile of a steady-state half day at 10,000 users and 100 validators (28.0 s under
cProfile, after the users' packets were relayed):

1. **Epochs, about 50%** (`TxExecutor.end_block` → the sudo ``HandleEpoch`` calls): four
   virtual-staking contracts (Juno consumes twice) run an epoch every 100 blocks, and each
   withdraws the rewards of every validator it delegates to, one ``SubMsg`` and reply per
   validator (C-95, C-99): 4 x 144 x 100 = 57,600 withdrawal cascades per simulated day,
   about 0.1 ms each under cProfile (the executor's sub-message/reply machinery, the
   distribution's settlement, the reply's bookkeeping, the ``DistributeRewards`` cascade).
   This is O(validators) per epoch and independent of the number of users once every
   validator has a delegation. Since made cheaper, with the same state and events: the
   withdrawal ``SubMsg`` built once per validator, ``Reply``/its events and the reward
   payments built without validation (``Reply.trusted``, ``Event.trusted``,
   ``SubMsg.trusted``), one community-pool write per withdrawal, a memo of the members'
   per-block shares, the bank's denom check memoised. Measured without a profiler on a
   consumer chain with 100 validators and one virtual-staking contract bonded on all of
   them (an epoch = 100 cascades + the rebalance): 5.3 ms -> 3.4 ms CPU per epoch
   (53 -> 34 us per cascade, median of 3); ``MESH_BENCH_USERS=1000
   MESH_BENCH_VALIDATORS=100 MESH_BENCH_DAYS=1``: 1,000 users 10.3 -> 9.25 s/day (median of
   2 runs each, idle 3.5 s/day; about 2 s/day of the rest is now the epochs). A
   spec-level batched withdrawal would be the next lever: what is left is ~10 journaled
   writes and ~15 Python calls per cascade.
2. **Relayer clearing and its asks, about 20%** (`Relayer.on_clear_tick`, ~35,000 clears
   per simulated day for four relayers whose ``clear_interval`` is 30 s, mostly finding
   nothing): every clear is also a clock stop at which all four chains catch up.
3. **Block production, about 5%** (was 35%): ~3,800 clock stops per simulated day (the
   relayers' timers; an idle chain needs none of its own), at each of which every chain
   fast-forwards its idle blocks in one step (`TxExecutor.fast_forward`: reward allocation
   in closed form, the IBC module's begin-block replayed for the last two blocks only);
   due boundaries (a transaction in the block, an epoch, a valset update, an active-set
   change, a maturity, liveness work, IBC activity to announce) are produced one by one
   on time, as the timer did, with the hooks of modules that have nothing due skipped.
   The rest is actor messaging (mailboxes, asks, the network) around the relayers.

Transactions: `Mesh` now derives each user's and validator's address once per chain.
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing
import os
import pstats
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

from benchmarks._report import Report
from chains import AccountSpec, Mesh, Topology, ValidatorSpec, load_topology

__all__ = ["MeshRun", "build_topology", "run", "run_mesh"]

SEED = Path(__file__).resolve().parents[1] / "examples" / "topologies" / "seed.toml"
_DAY = 86_400.0
BOND = 1_000_000
CROSS_STAKE = 200_000
BALANCE = 10_000_000
VALIDATOR_TOKENS = 10_000_000
SLASHED_CHAIN = "juno"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def build_topology(users: int, validators: int) -> Topology:
    """The seed topology with ``validators`` per chain and ``users`` accounts spread
    round-robin over the pairings' providers (user ``u{i}`` belongs to pairing ``i % 4``)."""
    seed = load_topology(SEED)
    accounts: dict[str, list[AccountSpec]] = {c.id: [] for c in seed.chains}
    for i in range(users):
        provider = seed.pairings[i % len(seed.pairings)].provider
        accounts[provider].append(AccountSpec(name=f"u{i}", balance=BALANCE))
    chains = tuple(
        chain.model_copy(
            update={
                "validators": tuple(
                    ValidatorSpec(
                        name=f"{chain.id}-val{j}",
                        tokens=VALIDATOR_TOKENS,
                        commission=chain.validators[0].commission,
                    )
                    for j in range(validators)
                ),
                "accounts": chain.accounts + tuple(accounts[chain.id]),
                "max_validators": max(chain.max_validators, validators),
            }
        )
        for chain in seed.chains
    )
    update: dict[str, object] = {"chains": chains}
    clear = os.environ.get("MESH_BENCH_CLEAR")
    if clear:
        update["relayers"] = tuple(
            relayer.model_copy(update={"clear_interval": float(clear)}) for relayer in seed.relayers
        )
    return seed.model_copy(update=update)


@dataclass(frozen=True)
class MeshRun:
    """CPU seconds of each phase of one run, and the process's peak RSS (bytes)."""

    users: int
    validators: int
    days: float
    setup_s: float
    txs: int
    txs_s: float
    run_s: float
    peak_rss: int


async def _drive(users: int, validators: int, days: float) -> MeshRun:
    topology = build_topology(users, validators)
    started = time.process_time()
    async with Mesh(topology, seed=7) as mesh:
        setup = time.process_time() - started
        started = time.process_time()
        txs = 0
        for i in range(users):
            pairing = topology.pairings[i % len(topology.pairings)]
            user = f"u{i}"
            assert (await mesh.bond(pairing.provider, user, BOND)).ok
            target = f"{pairing.consumer}-val{(i // len(topology.pairings)) % validators}"
            result = await mesh.cross_stake(
                pairing.provider, pairing.consumer, user, target, CROSS_STAKE
            )
            assert result.ok, result
            txs += 2
        tx_time = time.process_time() - started
        started = time.process_time()
        await mesh.advance(days=days / 2)
        if users:
            # one slash, mid-run: Juno's validator 0 double-signs (C-36, I-88/I-89)
            assert (await mesh.misbehave(SLASHED_CHAIN, f"{SLASHED_CHAIN}-val0")).ok
        await mesh.advance(days=days / 2)
        run_time = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return MeshRun(users, validators, days, setup, txs, tx_time, run_time, peak)


def run_mesh(users: int, validators: int, days: float, profile: str | None = None) -> MeshRun:
    """One run of the benchmark in this process (on asyncio); with ``profile`` a path,
    under cProfile, the stats dumped there."""
    if profile is None:
        return anyio.run(_drive, users, validators, days)
    profiler = cProfile.Profile()
    result: MeshRun = profiler.runcall(anyio.run, _drive, users, validators, days)
    profiler.dump_stats(profile)
    return result


def _in_child(users: int, validators: int, days: float, profile: str | None = None) -> MeshRun:
    # a fresh forked process per run: ru_maxrss is then that run's own peak
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        result: MeshRun = pool.apply(run_mesh, (users, validators, days, profile))
    return result


def _print_profile(path: str) -> None:
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(path, stream=out)
        stats.sort_stats(key).print_stats(15)
        print(f"\n  -- profile, top 15 by {key} --")
        body = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(body) if "ncalls" in line), 0)
        for line in body[start:]:
            if line.strip():
                print("  " + line)


def run(report: Report) -> None:
    users = _env_int("MESH_BENCH_USERS", 100)
    validators = _env_int("MESH_BENCH_VALIDATORS", 10)
    days = float(os.environ.get("MESH_BENCH_DAYS") or 2)
    profile = os.environ.get("MESH_BENCH_PROFILE") or None
    print(f"  seed topology, {validators} validators per chain, {days:g} simulated days")

    idle = _in_child(0, validators, days)
    base = "idle mesh, 0 users: CPU s per simulated day"
    report.baseline(base, idle.run_s / days, "s/day", note=f"{days / idle.run_s:.4f} days/s")
    blocks_per_day = sum(_DAY / c.block_time for c in build_topology(0, 1).chains)
    report.figure(
        "idle mesh: blocks per CPU s (all four chains)",
        blocks_per_day * days / idle.run_s,
        "blocks/s",
        note=f"1 day/s needs {blocks_per_day:,.0f} blocks/s",
    )
    report.figure("idle mesh: setup (deploy + handshakes)", idle.setup_s, "s")
    report.figure("idle mesh: peak RSS", idle.peak_rss / 2**20, "MiB")

    runs = [_in_child(users, validators, days), _in_child(2 * users, validators, days)]
    for r in runs:
        report.compare(
            f"{r.users} users: CPU s per simulated day",
            r.run_s / r.days,
            "s/day",
            base,
            note=f"{r.days / r.run_s:.4f} days/s; target >= 1 day/s at 10,000 users",
        )
        report.figure(f"{r.users} users: bond + cross-stake txs per CPU s", r.txs / r.txs_s, "tx/s")
        report.figure(f"{r.users} users: peak RSS", r.peak_rss / 2**20, "MiB")
    small, large = runs
    report.figure(
        "growth when users double: run time (days phase)",
        large.run_s / small.run_s,
        "x",
        note="linear = 2.0; idle part is constant",
    )
    report.figure(
        "growth when users double: user-dependent run time",
        (large.run_s - idle.run_s) / max(small.run_s - idle.run_s, 1e-9),
        "x",
        note="run minus idle run; linear = 2.0",
    )
    report.figure(
        "growth when users double: tx phase time",
        large.txs_s / small.txs_s,
        "x",
        note="linear = 2.0",
    )
    report.figure(
        "growth when users double: peak RSS above idle",
        (large.peak_rss - idle.peak_rss) / max(small.peak_rss - idle.peak_rss, 1),
        "x",
        note="linear = 2.0",
    )
    # extrapolate to issue 7's size (10,000 users, 30 days) at this validator count:
    # transactions linearly in users from the 2U run; a simulated day at the 2U run's cost.
    # The per-user slope of a day's cost is printed, not extrapolated: between two small
    # runs it is mostly noise multiplied by 10,000 (a day costs per block and per validator;
    # the direct 10,000-user run in the docstring costs 1.4x the 2,000-user one per day)
    slope = (large.run_s - small.run_s) / (large.users - small.users) / days
    per_day = large.run_s / days
    txs = large.txs_s / large.users * 10_000
    print(
        f"  extrapolated to 10,000 users, {validators} validators, 30 days: "
        f"{txs / 60:.1f} min of transactions + 30 x {per_day:.1f} s/day = "
        f"{(txs + 30 * per_day) / 60:.1f} min of CPU ({1 / per_day:.3f} simulated days/s); "
        f"measured slope {slope * 1e3:+.3f} ms per user per day"
    )
    if profile:
        # a separate run: cProfile roughly doubles the cost, so it must not enter the figures
        _in_child(users, validators, days, profile)
        _print_profile(profile)
