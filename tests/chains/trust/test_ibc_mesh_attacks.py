"""Issue 13's forged Mesh Security packets, end to end (I-17).

A running mesh (the ``SMALL`` topology); ``mallory``, an actor system of its own on the
mesh's network, sends a forged ``valset_update`` (a report the consumer never committed) to
the provider's channel end, as a relayer would: a client update to the consumer's real
header, then ``RecvPackets`` with a proof. It is refused (`InvalidProof`) and the provider's
view of the validators and the user's stake are unchanged; honest relaying then goes on.
"""

from __future__ import annotations

import pytest

from chains import Mesh
from chains.ibc import (
    IbcBatch,
    IbcBatchResult,
    QueryRelayState,
    RecvPackets,
    RelayState,
    UpdateClient,
)
from chains.wire import ValsetUpdatePacket, decode_consumer_packet
from mesh_actors import ActorSystem
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def test_forged_valset_update_is_refused_and_changes_nothing_I_17() -> None:
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val2", 200_000)).ok
        assert await mesh.settle()
        mesh.pause_relaying(P, C)
        assert (await mesh.misbehave(C, "val2", "downtime")).ok
        await mesh.advance(seconds=10)

        ends = mesh.link(P, C).ends
        assert ends is not None
        consumer = ends.a if ends.a.chain_id == C else ends.b
        provider = ends.b if consumer is ends.a else ends.a
        async with ActorSystem(
            "mallory", clock=mesh.chain(P).system.clock, transport=mesh.network
        ) as mallory:
            state: RelayState = await mallory.ref(consumer.gateway).ask(
                QueryRelayState(connection_id=consumer.connection_id), expect=RelayState
            )
            assert state.header is not None
            (report,) = [
                p
                for p in state.pending
                if isinstance(decode_consumer_packet(p.data), ValsetUpdatePacket)
            ]
            proofs = dict(zip(state.pending, state.pending_proofs, strict=True))
            honest_proof = proofs[report]
            # the forgery: the real report re-sent as a new sequence, and the real report's
            # bytes changed to tombstone val1 too, each with the real report's proof
            val1 = mesh.operator(C, "val1")
            tampered = report.data.replace(b'"tombstoned":[]', f'"tombstoned":["{val1}"]'.encode())
            assert tampered != report.data, report.data
            forged = (
                report.model_copy(update={"sequence": report.sequence + 1000}),
                report.model_copy(update={"data": tampered}),
            )
            view_before = await mesh.provider_view(P, C)
            stake_before = (await mesh.stake(P, C, "alice", "val2")).stake
            channel = mallory.ref(f"{provider.gateway}/{report.dest.channel_id}")
            result: IbcBatchResult = await channel.ask(
                IbcBatch(
                    ops=(
                        UpdateClient(client_id=provider.client_id, header=state.header),
                        RecvPackets(
                            packets=forged,
                            proof_height=state.header.height,
                            proofs=(honest_proof, honest_proof),
                        ),
                    ),
                    signer="mallory",
                ),
                expect=IbcBatchResult,
            )
            assert not result.error, result.error
            assert result.results[-1].items == ("InvalidProof", "InvalidProof"), result.results
            assert await mesh.provider_view(P, C) == view_before
            assert (await mesh.stake(P, C, "alice", "val2")).stake == stake_before

        mesh.resume_relaying(P, C)
        assert await mesh.settle()
        assert await mesh.check_invariants(quiescent=True) == []
        assert mesh.violations == []
