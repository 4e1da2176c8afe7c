"""What verification costs the whole mesh (issue 13): simulated days per CPU second with
IBC verification on (every chain signs its headers with its bonded validators, every packet,
ack and timeout carries a Merkle proof that the counterparty's light client checks) next to
the same run with it off (``Topology.verify_proofs = False``: headers trusted as given, no
proof built or checked).

Two meshes, each run on and off in a fresh forked process, in alternation, median of
``TRUST_BENCH_RUNS`` (default 3) pairs:

- the seed topology (four chains, four pairings) with ``TRUST_BENCH_USERS`` users (default
  100) who each bond and cross-stake, ``TRUST_BENCH_VALIDATORS`` validators per chain
  (default 10), then ``TRUST_BENCH_DAYS`` simulated days (default 1) with one double-sign
  slash midway: the rate is days per CPU second of the days phase, as in ``bench_mesh``;
- the small idle mesh (two chains, one validator each, no users) for
  ``TRUST_BENCH_IDLE_DAYS`` days (default 20).

The embedder-local (trusted, unsigned) against the signed-and-verified submit path of a bank
send is ``bench_auth``'s figure (``python -m benchmarks auth``).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time

import anyio

from benchmarks._report import Report
from benchmarks.bench_mesh import SLASHED_CHAIN, build_topology, stake_users
from benchmarks.bench_mesh import small_idle_topology as _small_idle
from chains import Mesh, Topology

__all__ = ["run"]


def _env(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


async def _days_rate(topology: Topology, users: int, validators: int, days: float) -> float:
    async with Mesh(topology, seed=7) as mesh:
        await stake_users(mesh, topology, users, validators)
        started = time.process_time()
        await mesh.advance(days=days / 2)
        if users:
            assert (await mesh.misbehave(SLASHED_CHAIN, f"{SLASHED_CHAIN}-val0")).ok
        await mesh.advance(days=days / 2)
        elapsed = time.process_time() - started
        assert await mesh.settle()
        assert mesh.violations == [], mesh.violations
    return days / elapsed


def _one(topology: Topology, users: int, validators: int, days: float) -> float:
    rate: float = anyio.run(_days_rate, topology, users, validators, days)
    return rate


def _in_child(topology: Topology, users: int, validators: int, days: float) -> float:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        rate: float = pool.apply(_one, (topology, users, validators, days))
    return rate


def _pair(
    topology: Topology, users: int, validators: int, days: float, runs: int
) -> tuple[float, float]:
    on: list[float] = []
    off: list[float] = []
    unverified = topology.model_copy(update={"verify_proofs": False})
    for _ in range(runs):
        on.append(_in_child(topology, users, validators, days))
        off.append(_in_child(unverified, users, validators, days))
    return statistics.median(on), statistics.median(off)


def run(report: Report) -> None:
    users = int(_env("TRUST_BENCH_USERS", 100))
    validators = int(_env("TRUST_BENCH_VALIDATORS", 10))
    days = _env("TRUST_BENCH_DAYS", 1)
    idle_days = _env("TRUST_BENCH_IDLE_DAYS", 20)
    runs = int(_env("TRUST_BENCH_RUNS", 3))
    seed = build_topology(users, validators)
    on, off = _pair(seed, users, validators, days, runs)
    label = f"seed mesh, {users} users, {validators} validators/chain, {days:g} day(s)"
    report.figure(f"{label}, verification on", on, "days/s")
    report.figure(f"{label}, verification off", off, "days/s", note=f"on/off = {on / off:.2f}")
    idle = _small_idle()
    on, off = _pair(idle, 0, 1, idle_days, runs)
    label = f"small idle mesh, {idle_days:g} days"
    report.figure(f"{label}, verification on", on, "days/s")
    report.figure(f"{label}, verification off", off, "days/s", note=f"on/off = {on / off:.2f}")
