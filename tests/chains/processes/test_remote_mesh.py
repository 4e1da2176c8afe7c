"""`RemoteMesh` drives a mesh from another actor system, over TCP, with signed transactions.

The mesh runs in this process (`serve_mesh` gives each chain the node service a `mesh node`
process has); the client joins the same topology's network as a system of its own, as a
client process does, and knows only the manifest and the key files.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from chains import Mesh
from chains.mesh import RemoteMesh, RemoteQueryFailed, run_relayer, save_manifest, serve_mesh
from chains.provider import StakeInfo, StakeQuery
from tests.chains.processes._topology import processes_topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def _eventually(check: object, timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while True:
            if await check():  # type: ignore[operator]
                return
            await anyio.sleep(0.1)


async def test_a_remote_client_cross_stakes_with_signed_txs_and_checks_the_mesh_I_51(
    anyio_backend: str, tmp_path: Path
) -> None:
    topology = processes_topology("tcp")
    async with Mesh.from_topology(topology) as mesh:
        save_manifest(tmp_path, await serve_mesh(mesh))
        (tmp_path / "keys").mkdir()
        mesh.save_keys(tmp_path / "keys")
        async with RemoteMesh.connect(topology, tmp_path) as remote:
            status = await remote.status(P)
            assert status.chain_id == P and status.height >= 1
            before = await remote.balance(P, "alice")
            bonded = await remote.bond(P, "alice", 1_000_000)
            assert bonded.ok, bonded
            assert await remote.balance(P, "alice") == before - 1_000_000
            staked = await remote.cross_stake(P, C, "alice", "val1", 200_000)
            assert staked.ok, staked

            async def arrived() -> bool:
                return (await remote.virtual_stake(P, C)).delegated.amount == 90_000

            await _eventually(arrived)
            # the same figures as the in-process mesh reads
            assert (await mesh.virtual_stake(P, C)).delegated.amount == 90_000
            stake = await remote.stake(P, C, "alice", "val1")
            assert stake.stake.low == stake.stake.high == 200_000
            assert await remote.settled(timeout=30)
            assert await remote.check_invariants(quiescent=True) == []
            assert await mesh.check_invariants(quiescent=True) == []


async def test_a_refused_tx_and_a_failed_query_come_back_by_name(
    anyio_backend: str, tmp_path: Path
) -> None:
    topology = processes_topology("tcp")
    async with Mesh.from_topology(topology) as mesh:
        save_manifest(tmp_path, await serve_mesh(mesh))
        (tmp_path / "keys").mkdir()
        mesh.save_keys(tmp_path / "keys")
        async with RemoteMesh.connect(topology, tmp_path) as remote:
            # more than the balance: the vault refuses, nothing changes
            result = await remote.bond(P, "alice", 10**15)
            assert not result.ok and result.error
            assert (await remote.collateral(P, "alice")).bonded == 0
            query = StakeQuery(user=remote.address(P, "alice"), validator="nobody")
            with pytest.raises(RemoteQueryFailed) as refused:
                await remote.query(P, "osmo1nothere", query, StakeInfo)
            assert refused.value.chain_id == P and refused.value.error_name


async def test_a_relayer_of_its_own_relays_for_a_mesh_nobody_else_relays_I_22(
    anyio_backend: str, tmp_path: Path
) -> None:
    """`run_relayer` (the body of ``mesh relayer``) relays the pair's packets: with the
    mesh's own relayers at ``count = 0`` a cross-stake stays pending until it runs."""
    topology = processes_topology("tcp")
    silent = topology.model_copy(
        update={"relayers": (topology.relayers[0].model_copy(update={"count": 0}),)}
    )
    async with Mesh.from_topology(silent) as mesh:
        save_manifest(tmp_path, await serve_mesh(mesh))
        (tmp_path / "keys").mkdir()
        mesh.save_keys(tmp_path / "keys")
        async with RemoteMesh.connect(topology, tmp_path) as remote:
            assert (await remote.bond(P, "alice", 1_000_000)).ok
            assert (await remote.cross_stake(P, C, "alice", "val1", 200_000)).ok
            await anyio.sleep(1.5)  # a clearing period: nobody relays
            assert (await remote.status(P)).pending_packets == 1
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_relayer, topology, P, C, tmp_path)

                async def arrived() -> bool:
                    return (await remote.virtual_stake(P, C)).delegated.amount == 90_000

                await _eventually(arrived)
                assert await remote.settled(timeout=30)
                tg.cancel_scope.cancel()
            assert await remote.check_invariants(quiescent=True) == []
            status = json.loads((tmp_path / "status" / f"relayer-{C}-{P}.json").read_text())
            assert status["kind"] == "relayer" and status["last_error"] == ""
