"""A relayer answers `RelayerStatus` at once, whatever its links do (I-22).

Under drop plus delay, or drop plus reorder, on the links between a relayer and its chains,
a clearing's queries time out (a lost query waits ``query_timeout``, up to three per
clearing), longer than the clear interval. The relayer used to clear inside its tick
handler, so periodic ticks queued up faster than it handled them and a status request
waited behind them: 158 s at the first probe here, then thousands of seconds (``mesh run``
lost its relayer table: the snapshot leaves out relayers that do not answer). Its reads now
run in a child actor, so status, notices and control messages are handled as they come.
"""

from __future__ import annotations

import pytest

from chains import Mesh, Settlement
from chains.ibc import RelayerStats, RelayerStatus
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"
# clock seconds a status answer may take: the relayer's own system is local to the asker,
# so an answer that is not stuck behind other work takes no clock time at all
STATUS_BOUND = 1.0


@pytest.mark.parametrize(
    "faults",
    [
        "{ drop = 0.3, delay = 2.0 }",
        "{ drop = 0.3, reorder = 0.5, reorder_delay = 5.0 }",
        "{ drop = 0.5, delay = { uniform = [0.5, 8.0] } }",
    ],
    ids=["drop+delay", "drop+reorder", "heavy drop+jitter"],
)
async def test_relayers_answer_status_within_a_bound_under_faults_I_22(faults: str) -> None:
    mesh_topology = topology(SMALL, chains='["osmosis", "juno"]', count=2, faults=faults)
    async with Mesh(mesh_topology, seed=3) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        stakes = [await mesh.cross_stake(P, C, "alice", "val1", 10_000) for _ in range(5)]
        relayers = mesh.link(P, C).relayers
        assert len(relayers) == 2
        worst = 0.0
        for _ in range(30):
            await mesh.advance(seconds=60)
            for relayer in relayers:
                asked = mesh.clock.now()
                stats = await relayer.ask(
                    RelayerStatus(), expect=RelayerStats, timeout=STATUS_BOUND
                )
                worst = max(worst, mesh.clock.now() - asked)
                assert stats.clears > 0
        assert worst <= STATUS_BOUND
        # the relayers kept relaying through the faults: every stake was decided
        for stake in stakes:
            with mesh.clock.fail_after(3_600):
                assert await stake in (Settlement.COMMITTED, Settlement.TIMED_OUT)
        if "0.5" not in faults:  # half of everything lost both ways: all may time out
            assert any(stake.outcome is Settlement.COMMITTED for stake in stakes)
        # and the snapshot (mesh run's relayer table) has every relayer
        snapshot = await mesh.snapshot()
        assert len(snapshot.relayers) == 2
        assert all(view.clears > 0 for view in snapshot.relayers)
