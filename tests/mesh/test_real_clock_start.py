"""A `Mesh` on the real clock is usable in a fraction of one block time (I-49).

Each step of the deployment waits for a block boundary (IBC proves only what an ended block
committed, I-2): clients, connection, channel handshake, the first validator sync. On the
clock that was about eight block times (8 s with 1 s blocks, over 20 s with 5 s blocks).
While it deploys on a real clock, the mesh now ends a chain's block as soon as a step ran
in it, so start-up no longer depends on the block time; each chain's time runs ahead of the
wall clock by the few blocks produced so.
"""

from __future__ import annotations

import time

import anyio
import pytest

from chains import Mesh
from mesh_actors import RealClock
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

BLOCK_TIME = 3  # seconds: eight of them would be 24 s; the bound below is one


async def test_real_clock_start_up_is_independent_of_block_time_I_49(anyio_backend: str) -> None:
    mesh_topology = topology(SMALL.replace("block_time = 5", f"block_time = {BLOCK_TIME}"))
    started = time.perf_counter()
    with anyio.fail_after(4 * BLOCK_TIME):  # fail, rather than wait 24 s, if it regressed
        async with Mesh(mesh_topology, clock=RealClock()) as mesh:
            took = time.perf_counter() - started
            assert took < BLOCK_TIME, f"start-up took {took:.2f} s of wall time"
            # the deployment is complete: the channel is open and the first valset arrived
            assert set((await mesh.provider_view("osmosis", "juno")).values()) == {"active"}
            view = (await mesh.snapshot()).pairings[0]
            assert view.channel_state == "OPEN"
            for chain_id in mesh.chains():
                # the blocks ended on demand: a handful, so chain time is only that many
                # block times ahead of the clock
                assert 1 <= await mesh.chain(chain_id).height() <= 20
