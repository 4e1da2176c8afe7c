"""Durable chains inside a running two-chain mesh (issue 15).

A `Mesh` with ``store_dir`` keeps each chain in ``<dir>/<chain id>.sqlite``. Here a chain
"crashes" in the middle of cross-chain traffic: everything it did since its last committed
block is thrown away and it resumes from its file (`Chain.attach_store` on the same chain,
after its store was detached: what a restarted process does). The relayers carry on against
the resumed chain (they only ever saw committed blocks: a header is of an ended block, which
is on disk by the time it is provable), the receipts make re-relaying exactly-once, and at
quiescence every mesh invariant holds: chain-local ones, packet origins (I-17), and the
provider's and consumer's views of every delegation (I-64..I-69).
"""

from __future__ import annotations

import random
from pathlib import Path

import anyio
import pytest

from chains import Chain, Mesh
from chains.host import TxExecutor, state_app_hash
from chains.ibc import IbcModule, install_ibc
from mesh_actors.testing import virtual_system
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def crash_and_restart(chain: Chain) -> int:
    """Discard what ``chain`` did since its last commit and resume it from its store file;
    check the resumed state is the committed one. Returns the resumed height."""

    def detach(ex: TxExecutor) -> Path:
        durable = ex.durable
        assert durable is not None
        ex.durable = None
        durable.close()
        return durable.path

    path = await chain.read(detach)
    height = await chain.attach_store(path)
    assert height is not None

    def committed(ex: TxExecutor) -> tuple[bool, bytes | None, bytes]:
        durable = ex.durable
        assert durable is not None
        untouched = ex.height == durable.height and ex.tx_index == 0
        return untouched, durable.app_hash, state_app_hash(ex)

    untouched, on_disk, in_memory = await chain.read(committed)
    if untouched:  # nothing ran since the resume: memory is exactly the file
        assert on_disk == in_memory
    return height


@pytest.mark.parametrize("seed", [1, 2])
async def test_chain_crashes_mid_traffic_resume_and_mesh_invariants_hold(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    async with Mesh(topology(SMALL), store_dir=tmp_path, seed=seed, check_invariants=True) as mesh:
        files = sorted([p.name async for p in anyio.Path(tmp_path).glob("*.sqlite")])
        assert files == [f"{C}.sqlite", f"{P}.sqlite"]
        assert (await mesh.bond(P, "alice", 2_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
        # let the stake travel part of its way, then crash a chain
        await mesh.advance(seconds=rng.choice([5, 10, 15, 25]))
        victim = rng.choice([P, C])
        before = await mesh.chain(victim).height()
        assert await crash_and_restart(mesh.chain(victim)) <= before + 1
        assert (await mesh.cross_stake(P, C, "alice", "val2", 150_000)).ok
        await mesh.advance(seconds=rng.choice([5, 10, 20]))
        for chain_id in (P, C):
            await crash_and_restart(mesh.chain(chain_id))
        assert await mesh.settle(), "the mesh did not settle after the restarts"
        assert await mesh.check_invariants(quiescent=True) == []
        # both stakes arrived and were committed (exactly once: the views agree, I-64..I-69)
        assert (await mesh.unstake(P, C, "alice", "val1", 50_000)).ok
        await mesh.advance(seconds=rng.choice([5, 10]))
        await crash_and_restart(mesh.chain(rng.choice([P, C])))
        assert await mesh.settle()
        await mesh.advance(seconds=65)  # an epoch of the consumer
        assert await mesh.settle()
        assert await mesh.check_invariants(quiescent=True) == []
        assert mesh.violations == []
        stakes = await mesh.provider_view(P, C)
        assert set(stakes) >= {"val1", "val2"}


async def test_fresh_chain_resumes_the_ibc_state_of_a_mesh_chain_I_17(tmp_path: Path) -> None:
    """A chain process started afresh (a new `Chain` with IBC installed, then the store)
    rebuilds the provable IBC tree from the loaded records: the same root, so the same
    signed headers and proofs as the chain that committed it."""
    recorded: dict[str, tuple[int | None, bytes, bytes, int]] = {}
    configs = {}
    async with Mesh(topology(SMALL), store_dir=tmp_path, seed=3) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
        await mesh.advance(seconds=12)  # packets in flight when the mesh stops
        for chain_id in (P, C):
            chain = mesh.chain(chain_id)
            configs[chain_id] = chain.config

            def read(ex: TxExecutor) -> tuple[int | None, bytes, bytes, int]:
                ibc = ex.module_object("ibc")
                assert isinstance(ibc, IbcModule)
                assert ex.durable is not None and ex.durable.app_hash is not None
                return (
                    ex.durable.height,
                    ex.durable.app_hash,
                    ibc.provable.tree.root(),
                    len(ibc.channel_ends()),
                )

            recorded[chain_id] = await chain.read(read)
    for chain_id in (P, C):
        height, app_hash, root, channels = recorded[chain_id]
        assert channels >= 1
        async with virtual_system(chain_id) as system, Chain(configs[chain_id], system) as chain:
            handle = await install_ibc(chain)
            assert await chain.attach_store(tmp_path / f"{chain_id}.sqlite") == height
            assert await chain.app_hash() == app_hash
            assert handle.module.provable.tree.root() == root
            assert len(handle.module.channel_ends()) == channels
            header = handle.module.committed_header()
            assert header is not None and header.signed is not None
            assert header.signed.header.app_hash == root
