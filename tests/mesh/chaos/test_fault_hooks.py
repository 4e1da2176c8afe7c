"""The `Mesh` fault hooks: halt and resume, crash and restart a chain, crash and restart a
relayer, competing relayers, clock skew. Each is observed from outside, as a chaos run or
an embedder sees it, on both backends, in virtual time."""

from __future__ import annotations

import pytest

from chains.host import ChainHalted
from chains.mesh import InvalidArgument, Mesh, UnknownChain
from mesh_actors import MeshActorsError
from tests.mesh.chaos._chaos_fixtures import TOPOLOGY

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def _stake(mesh: Mesh, amount: int = 100_000) -> None:
    assert (await mesh.bond(P, "alice", 10 * amount)).ok
    assert (await mesh.cross_stake(P, C, "alice", "val1", amount)).ok


async def test_a_halted_chain_makes_no_blocks_refuses_txs_and_jumps_on_resume() -> None:
    async with Mesh(TOPOLOGY, seed=1) as mesh:
        juno = mesh.chain(C)
        height, time_s = await juno.height(), await juno.time()
        mesh.halt_chain(C)
        assert mesh.chain_down(C)
        await mesh.advance(seconds=120)
        assert (await juno.height(), await juno.time()) == (height, time_s)
        refused = await mesh.move_price(P, C, "0.6")
        assert not refused.ok and refused.error == ChainHalted(C)
        # reads still answer from the state the chain has
        assert (await mesh.virtual_stake(P, C)).cap.amount > 0
        mesh.resume_chain(C)
        await mesh.advance(seconds=6)
        assert await juno.height() == height + 1
        # the next block carries the clock's time: time jumped over the halt
        assert await juno.time() >= time_s + 120
        assert (await mesh.move_price(P, C, "0.6")).ok


async def test_packets_to_a_halted_chain_wait_and_settle_after_it_resumes_I_25() -> None:
    async with Mesh(TOPOLOGY, seed=2) as mesh:
        mesh.halt_chain(C)
        await _stake(mesh)
        assert not await mesh.settle(timeout=300)
        mesh.resume_chain(C)
        assert await mesh.settle(timeout=600)
        assert await mesh.check_invariants(quiescent=True) == []


async def test_a_crashed_chain_fails_calls_and_restarts_from_its_committed_state() -> None:
    async with Mesh(TOPOLOGY, seed=3) as mesh:
        await _stake(mesh)
        assert await mesh.settle(timeout=600)
        before = await mesh.virtual_stake(P, C)
        await mesh.crash_chain(C)
        assert mesh.chain(C).crashed and mesh.chain_down(C)
        with pytest.raises(MeshActorsError):
            await mesh.virtual_stake(P, C)
        # the provider's half goes on; its packet waits for the consumer to come back
        assert (await mesh.cross_stake(P, C, "alice", "val1", 50_000)).ok
        await mesh.advance(seconds=120)
        height = await mesh.chain(P).height()
        mesh.restart_chain(C)
        assert not mesh.chain_down(C)
        after = await mesh.virtual_stake(P, C)
        assert after.cap == before.cap  # committed state survived
        assert await mesh.settle(timeout=900)
        assert await mesh.chain(P).height() > height
        assert await mesh.check_invariants(quiescent=True) == []


async def test_a_crashed_relayer_restarts_with_no_memory_and_recovers_pending_packets() -> None:
    async with Mesh(TOPOLOGY, seed=4) as mesh:
        link = mesh.link(P, C)
        first = link.relayers[0]
        await mesh.crash_relayer(P, C)
        assert link.crashed(0)
        assert await link.statistics() == []  # gone: no answer
        await _stake(mesh)
        assert not await mesh.settle(timeout=120)
        mesh.restart_relayer(P, C)
        (stats,) = await link.statistics()
        assert stats.batches_sent == 0  # a fresh incarnation: no counters carried over
        assert link.relayers[0] == first  # same address, new actor
        assert await mesh.settle(timeout=600)
        assert await mesh.check_invariants(quiescent=True) == []


async def test_competing_relayers_deliver_once_and_count_redundant_deliveries_I_25() -> None:
    async with Mesh(TOPOLOGY, seed=5) as mesh:
        assert mesh.add_relayers(P, C, 2) == 2
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        for _ in range(4):
            assert (await mesh.cross_stake(P, C, "alice", "val1", 10_000)).ok
        assert await mesh.settle(timeout=600)
        redundant = await mesh.remove_relayers(P, C)
        assert redundant > 0
        assert mesh.link(P, C).extra == []
        assert await mesh.check_invariants(quiescent=True) == []
        # every packet was received once: 40,000 at price 0.5, discount 0.1 (C-18), once
        await mesh.advance(seconds=60)  # the next epoch applies the bond requests
        assert await mesh.virtual_delegation(P, C, "val1") == 18_000


async def test_a_lagging_relayer_delivers_late_and_everything_settles() -> None:
    async with Mesh(TOPOLOGY, seed=8) as mesh:
        mesh.lag_relayer(P, C, 0, 300.0)
        await _stake(mesh)
        await mesh.advance(seconds=200)
        assert (await mesh.stake(P, C, "alice", "val1")).stake.low == 0  # not committed yet
        mesh.lag_relayer(P, C, 0, 0.0)
        assert await mesh.settle(timeout=900)
        assert (await mesh.stake(P, C, "alice", "val1")).stake.low == 100_000
        assert await mesh.check_invariants(quiescent=True) == []


async def test_clock_skew_moves_one_chains_block_time_only() -> None:
    async with Mesh(TOPOLOGY, seed=6) as mesh:
        gap = await mesh.chain(C).time() - await mesh.chain(P).time()
        mesh.skew_clock(C, 600)
        await mesh.advance(seconds=10)
        skewed = await mesh.chain(C).time() - await mesh.chain(P).time()
        assert 595 <= skewed - gap <= 605
        mesh.skew_clock(C, drift=0.5)
        await mesh.advance(seconds=100)
        drifted = await mesh.chain(C).time() - await mesh.chain(P).time()
        assert 40 <= drifted - skewed <= 60


async def test_fault_hooks_refuse_unknown_names_and_bad_arguments() -> None:
    async with Mesh(TOPOLOGY, seed=7) as mesh:
        with pytest.raises(UnknownChain):
            mesh.halt_chain("nope")
        with pytest.raises(UnknownChain):
            await mesh.crash_chain("nope")
        with pytest.raises(InvalidArgument):
            await mesh.crash_relayer(P, C, 3)
        with pytest.raises(InvalidArgument):
            mesh.add_relayers(P, C, 0)
        with pytest.raises(InvalidArgument):
            mesh.skew_clock(C, drift=-1.0)
        with pytest.raises(InvalidArgument):
            mesh.lag_relayer(P, C, 0, -1.0)
