"""Crash test: SIGKILL a chain process and the relayer process in the middle of traffic.

Seeded: each seed picks the operations (cross-stakes and unstakes of alice and bob), the
kill points (after which operation, how long after its block committed, so packets are in
flight), which chain dies, and how long both stay down. After each kill both processes are
restarted (the chain from its state file, the relayer re-relaying what is pending); after
the traffic the mesh must reach quiescence with every invariant holding across the
processes (conservation per denom, vault P-18/P-20/P-21, caps, provider/consumer
agreement I-64..I-69, every packet acked once or timed out once) and with exactly-once
effects: each committed stake equals the sum of the operations that were committed.

A couple of kill points run in the default suite; many seeds run under ``-m slow``.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from chains.mesh import RemoteMesh
from tests.chains.processes._cluster import (
    RELAYER,
    C,
    Cluster,
    P,
    cluster,
    committed,
    eventually,
)

USERS = ("alice", "bob")
VALIDATORS = ("val1", "val2")


async def _traffic(
    mesh: Cluster, remote: RemoteMesh, rng: random.Random, ops: int, kills: int
) -> None:
    for user in USERS:
        result = await remote.bond(P, user, 10_000_000)
        assert result.ok, result
        await committed(remote, P, result.height)
    kill_after = set(rng.sample(range(ops), kills))
    expected: dict[tuple[str, str], int] = {}
    for index in range(ops):
        user, validator = rng.choice(USERS), rng.choice(VALIDATORS)
        current = expected.get((user, validator), 0)
        # only what is committed can be unstaked (a cross-stake's ack may be on its way)
        low = (await remote.stake(P, C, user, validator)).stake.low if current else 0
        if low and rng.random() < 0.3:
            amount = rng.randint(1, low)
            result = await remote.unstake(P, C, user, validator, amount)
            delta = -amount
        else:
            amount = rng.randint(1_000, 200_000)
            result = await remote.cross_stake(P, C, user, validator, amount)
            delta = amount
        assert result.ok, result
        await committed(remote, P, result.height)
        expected[(user, validator)] = current + delta
        if index in kill_after:
            await anyio.sleep(rng.uniform(0.0, 1.0))  # packets and acks in flight
            victim = rng.choice((P, C))
            mesh.processes.kill(victim, signal.SIGKILL)
            mesh.processes.kill(RELAYER, signal.SIGKILL)
            await anyio.sleep(rng.uniform(0.0, 1.5))
            mesh.processes.restart(victim)
            mesh.processes.restart(RELAYER)
            await anyio.to_thread.run_sync(mesh.processes.wait_running)
            await remote.wait_ready()  # the client's links re-dialled the new processes
    assert await remote.settled(timeout=120), "no quiescence within 120 s"
    violations = await remote.check_invariants(quiescent=True)
    assert violations == []
    ends = [*await remote.channels(P), *await remote.channels(C)]
    timed_out = sum(end.timed_out for end in ends)
    if timed_out == 0:  # every operation's packet was delivered: each counted once
        for (user, validator), amount in expected.items():
            stake = await remote.stake(P, C, user, validator)
            assert stake.stake.low == stake.stake.high == amount, (user, validator)


def _crash(tmp_path: Path, seed: int, ops: int, kills: int) -> None:
    rng = random.Random(seed)
    with cluster(tmp_path, "tcp") as mesh:

        async def main() -> None:
            async with mesh.remote() as remote:
                await eventually(lambda: remote.status(P))
                await _traffic(mesh, remote, rng, ops, kills)

        anyio.run(main)


@pytest.mark.parametrize("seed", [1])
def test_kill_9_of_a_chain_and_the_relayer_loses_nothing_and_repeats_nothing(
    tmp_path: Path, seed: int
) -> None:
    _crash(tmp_path, seed, ops=4, kills=2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 12))
def test_kill_9_at_many_seeded_points(tmp_path: Path, seed: int) -> None:
    _crash(tmp_path, seed, ops=8, kills=4)
