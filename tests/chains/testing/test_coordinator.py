"""The step-wise IBC coordinator: exact interleavings of deliveries, acks, timeouts and
clock moves on a running two-chain mesh, with the relayer's planner underneath."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains import parse_topology
from chains.contract import IbcPacket
from chains.mesh import Mesh
from chains.testing import IbcCoordinator, NotOnLink, NotRelayable

pytestmark = pytest.mark.anyio

TOPOLOGY = parse_topology(
    (Path(__file__).resolve().parents[3] / "examples" / "chaos" / "small.toml").read_text(
        encoding="utf-8"
    )
)
P, C = "osmosis", "juno"


async def _cross_stake(mesh: Mesh, coord: IbcCoordinator, amount: int = 100_000) -> IbcPacket:
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    assert (await mesh.cross_stake(P, C, "alice", "val1", amount)).ok
    await coord.commit()  # the packet's commitment is provable once the block ended (I-2)
    (packet,) = await coord.pending(P)
    return packet


async def _seconds_past_timeout(coord: IbcCoordinator, packet: IbcPacket) -> float:
    header = await coord.header(C)
    assert header is not None and packet.timeout.timestamp_ns
    return (packet.timeout.timestamp_ns - header.time_ns) / 1e9 + 10


async def test_a_duplicate_delivery_is_refused_by_the_receipt_I_10_I_25() -> None:
    async with Mesh(TOPOLOGY, seed=1) as mesh, IbcCoordinator(mesh, P, C) as coord:
        packet = await _cross_stake(mesh, coord)
        delivered = await coord.relay_packet(packet)
        assert delivered.ok and delivered.items == ("ok",)
        again = await coord.submit(delivered.step)
        assert again.items == ("noop",) and not again.ok
        await coord.commit()
        # once the receipt is committed, the planner has nothing more to deliver
        with pytest.raises(NotRelayable):
            await coord.relay_packet(packet)
        acked = await coord.relay_ack(packet)
        assert acked.ok
        assert (await coord.submit(acked.step)).items == ("noop",)  # an ack twice: I-13
        assert await coord.pending(P) == ()
        stake = await mesh.stake(P, C, "alice", "val1")
        assert stake.stake.low == stake.stake.high == 100_000  # committed once (P-65)


async def test_a_received_packet_cannot_time_out_while_its_ack_is_in_flight_I_14() -> None:
    async with Mesh(TOPOLOGY, seed=2) as mesh, IbcCoordinator(mesh, P, C) as coord:
        packet = await _cross_stake(mesh, coord)
        assert (await coord.relay_packet(packet)).ok
        # the ack is written; before it travels, the consumer's time passes the timeout
        await coord.advance_chain(C, await _seconds_past_timeout(coord, packet))
        await coord.update_client(P)
        with pytest.raises(NotRelayable) as refused:
            await coord.timeout_packet(packet)  # the receipt is there: no timeout proof
        assert refused.value.what == "timeout"
        assert (await coord.relay_ack(packet)).ok
        stake = await mesh.stake(P, C, "alice", "val1")
        assert stake.stake.low == 100_000


async def test_a_stale_delivery_after_the_timeout_is_refused_and_the_stake_rolls_back_P_66() -> (
    None
):
    async with Mesh(TOPOLOGY, seed=3) as mesh, IbcCoordinator(mesh, P, C) as coord:
        packet = await _cross_stake(mesh, coord)
        held = await coord.packet_step(packet)  # a relayer's delivery, held in flight
        await coord.advance_chain(C, await _seconds_past_timeout(coord, packet))
        timed_out = await coord.timeout_packet(packet)
        assert timed_out.ok
        # the held delivery lands after the timeout: the destination refuses it (I-10)
        late = await coord.submit(held)
        assert late.items == ("IbcPacketTimedOut",)
        assert await coord.pending(P) == ()
        stake = await mesh.stake(P, C, "alice", "val1")
        assert stake.stake.high == 0  # rolled back (P-66)
        assert (await mesh.collateral(P, "alice")).max_lien.high == 0
        await mesh.settle(timeout=600)
        assert await mesh.check_invariants(quiescent=True) == []


async def test_nothing_to_relay_before_the_block_ends_I_2() -> None:
    async with Mesh(TOPOLOGY, seed=4) as mesh, IbcCoordinator(mesh, P, C) as coord:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 1_000)).ok
        assert await coord.pending(P) == ()  # committed only when the block ends
        await coord.commit()
        (packet,) = await coord.pending(P)
        with pytest.raises(NotRelayable):
            await coord.relay_ack(packet)  # no ack written yet


async def test_clients_update_and_an_epoch_runs_on_demand_C_45() -> None:
    async with Mesh(TOPOLOGY, seed=5) as mesh, IbcCoordinator(mesh, P, C) as coord:
        updated = await coord.update_client(C)
        assert updated.result.results[0].status in ("ok", "noop")
        provider_height = await mesh.chain(P).height()
        height = await mesh.chain(C).height()
        assert await coord.run_epoch(C) == height + 6  # juno's epochs are 6 blocks
        assert await mesh.chain(P).height() == provider_height  # juno's clock alone


async def test_a_client_in_the_signers_process_does_not_reverify_its_votes_I_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A header's votes signed in this process are known to verify (the signing chain notes
    each triple it makes), so a light client of that chain in the same process accepts the
    header without verifying a commit signature again; the client still advances. (Forged
    or altered votes are other triples and are verified: tests/chains/trust.)"""
    from chains.contract import PublicKey

    checked: list[str] = []
    original = PublicKey.verify

    def counting(key: PublicKey, signature: bytes, data: bytes, *, what: str = "") -> None:
        checked.append(what)
        original(key, signature, data, what=what)

    async with Mesh(TOPOLOGY, seed=4) as mesh, IbcCoordinator(mesh, P, C) as coord:
        await _cross_stake(mesh, coord)
        await coord.commit()
        monkeypatch.setattr(PublicKey, "verify", counting)
        update = await coord.update_client(C)
        assert update.ok
        assert [what for what in checked if what.startswith("commit of")] == []


async def test_a_chain_off_the_link_is_named() -> None:
    async with Mesh(TOPOLOGY, seed=5) as mesh, IbcCoordinator(mesh, P, C) as coord:
        with pytest.raises(NotOnLink) as refused:
            await coord.update_client("stargaze")
        assert refused.value.chain_id == "stargaze"
        assert {refused.value.a, refused.value.b} == {P, C}
        assert isinstance(refused.value, ValueError)  # as before it was named
        assert coord.other(P) == C
