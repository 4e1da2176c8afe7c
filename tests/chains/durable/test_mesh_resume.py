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
import tempfile
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains import Chain, Mesh
from chains.host import TxExecutor, state_app_hash
from chains.ibc import IbcModule, install_ibc
from mesh_actors.testing import virtual_system
from tests.mesh._topologies import SMALL, topology

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


@pytest.mark.anyio
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


async def _mesh_then_fresh_chains(
    folder: Path, seed: int, stakes: list[tuple[str, int]], wait: float
) -> None:
    """Run a two-chain mesh with ``store_dir``, cross-stake ``stakes`` (validator, amount)
    with ``wait`` seconds between, stop it with packets in flight, then start each chain
    afresh (a new `Chain` with IBC installed, then the store) and compare."""
    recorded: dict[str, tuple[int | None, bytes, bytes, int, bytes, int]] = {}
    configs = {}
    async with Mesh(topology(SMALL), store_dir=folder, seed=seed) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        for validator, amount in stakes:
            await mesh.cross_stake(P, C, "alice", validator, amount)
            await mesh.advance(seconds=wait)
        for chain_id in (P, C):
            chain = mesh.chain(chain_id)
            configs[chain_id] = chain.config

            def read(ex: TxExecutor) -> tuple[int | None, bytes, bytes, int, bytes, int]:
                ibc = ex.module_object("ibc")
                assert isinstance(ibc, IbcModule)
                assert ex.durable is not None and ex.durable.app_hash is not None
                # at a block boundary nothing ran since the commit: memory is the file
                boundary = ex.tx_index == 0 and ex.height == ex.durable.height
                return (
                    ex.durable.height,
                    ex.durable.app_hash,
                    ibc.provable.tree.root(),
                    len(ibc.channel_ends()),
                    ex.dump_state() if boundary else b"",
                    ex.time_s,
                )

            recorded[chain_id] = await chain.read(read)
    for chain_id in (P, C):
        height, app_hash, root, channels, dump, time_s = recorded[chain_id]
        assert channels >= 1
        async with virtual_system(chain_id) as system, Chain(configs[chain_id], system) as chain:
            handle = await install_ibc(chain)
            assert await chain.attach_store(folder / f"{chain_id}.sqlite") == height
            assert await chain.app_hash() == app_hash
            assert await chain.read(state_app_hash) == app_hash
            if dump:
                assert await chain.dump_state() == dump
                assert await chain.time() == time_s
            # the provable tree is rebuilt: the same root, so the same signed headers
            assert handle.module.provable.tree.root() == root
            assert len(handle.module.channel_ends()) == channels
            header = handle.module.committed_header()
            assert header is not None and header.signed is not None
            assert header.signed.header.app_hash == root


@pytest.mark.anyio
async def test_fresh_chain_resumes_the_ibc_state_of_a_mesh_chain_I_17(tmp_path: Path) -> None:
    """A chain process started afresh rebuilds the provable IBC tree from the loaded
    records: the same root, so the same signed headers and proofs (I-17) as the chain that
    committed it; and the same app hash and state."""
    await _mesh_then_fresh_chains(tmp_path, 3, [("val1", 200_000)], 12.0)


@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 1_000),
    stakes=st.lists(
        st.tuples(st.sampled_from(["val1", "val2", "val3"]), st.integers(1_000, 300_000)),
        min_size=1,
        max_size=3,
    ),
    wait=st.sampled_from([0.0, 5.0, 12.0, 31.0]),
    backend=st.sampled_from(["asyncio", "trio"]),
)
def test_mesh_chains_reopen_byte_identical(
    seed: int, stakes: list[tuple[str, int]], wait: float, backend: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        anyio.run(_mesh_then_fresh_chains, Path(folder), seed, stakes, wait, backend=backend)
