"""A mesh of OS processes on loopback: one process per chain, one per relayer (issue 15).

Genesis deploys the small test topology once; `mesh node` processes resume from the state
files in real time (0.25 s blocks), a `mesh relayer` process relays, and a client in this
process signs with the users' key files: a cross-stake is committed on both sides (I-51),
the virtual stake arrives (C-69), rewards come back to the user on the consumer (I-82), and
the invariants hold across the processes at quiescence. Over TCP, and (``-m slow``) over
NATS and with a trio client.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from chains.mesh import RemoteMesh
from tests.chains.processes._cluster import C, P, cluster, eventually
from transport import NatsServer


async def _cross_stake_and_rewards(remote: RemoteMesh) -> None:
    assert (await remote.bond(P, "alice", 1_000_000)).ok
    staked = await remote.cross_stake(P, C, "alice", "val1", 200_000)
    assert staked.ok, staked

    async def committed() -> bool:
        stake = await remote.stake(P, C, "alice", "val1")
        return stake.stake.low == stake.stake.high == 200_000

    await eventually(committed)  # the ack came back: committed on the provider (I-51)

    async def delegated() -> bool:
        return (await remote.virtual_stake(P, C)).delegated.amount == 90_000

    await eventually(delegated)  # 200_000 * 0.5 * (1 - 0.1) on the consumer (C-69)

    async def rewarded() -> int:
        return sum((await remote.rewards(P, C, "alice")).values())

    await eventually(rewarded)  # epochs' rewards reached the provider's books (I-80)
    claimed = await remote.claim_rewards(P, C, "alice", "val1")
    assert claimed.ok, claimed
    await eventually(lambda: remote.balance(C, "alice"))  # ... and alice on the consumer
    assert await remote.settled(timeout=60)
    assert await remote.check_invariants(quiescent=True) == []


def test_processes_over_tcp_cross_stake_and_rewards_I_51_C_69_I_82(tmp_path: Path) -> None:
    with cluster(tmp_path, "tcp") as mesh:

        async def main() -> None:
            async with mesh.remote() as remote:
                await _cross_stake_and_rewards(remote)

        anyio.run(main)
        rows = {row.name: row for row in mesh.processes.rows()}
        assert all(row.state == "running" for row in rows.values()), rows
        assert rows[P].height is not None and rows[P].height > 1


@pytest.mark.slow  # the default suite runs a NATS mesh in-process (test_mesh_transport)
def test_processes_over_nats_cross_stake_and_rewards_I_51(tmp_path: Path) -> None:
    with NatsServer() as server, cluster(tmp_path, "nats", nats_url=server.url) as mesh:

        async def main() -> None:
            async with mesh.remote() as remote:
                await _cross_stake_and_rewards(remote)

        anyio.run(main)


@pytest.mark.slow  # trio over TCP runs in-process in the default suite (test_remote_mesh)
@pytest.mark.parametrize("backend", ["trio"])
def test_a_trio_client_drives_the_processes_over_tcp(tmp_path: Path, backend: str) -> None:
    with cluster(tmp_path, "tcp") as mesh:

        async def main() -> None:
            async with mesh.remote() as remote:
                assert (await remote.bond(P, "bob", 5_000)).ok
                assert (await remote.collateral(P, "bob")).bonded == 5_000

        anyio.run(main, backend=backend)
