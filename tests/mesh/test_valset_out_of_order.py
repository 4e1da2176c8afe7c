"""Out-of-order validator-set delivery, end to end (issue 7; I-17, I-71..I-76, P-85..P-88).

The consumer's ``valset_update`` packets travel on an UNORDERED channel (I-31), so the
provider may receive them in any order (I-17). These tests hold the relayers, let the
consumer produce six reports in six blocks, then deliver them to the provider's channel end
by hand, one per provider block, in a chosen order — with the same proofs and operations
the relayer would submit (a client update to the consumer's committed header, then
``RecvPackets``) — and check that the provider's external staking ends in the same state
whatever the order: the CRDT of I-72..I-75 indexes entries by the consumer height carried
in the packet, not by arrival.

The six reports (the ``SMALL`` topology; alice cross-staked 200_000 uosmo on val2, which
the virtual staking contract turned into 90_000 ujuno of delegation):

==============  ==============================================================  ===========
label           consumer report (C-57)                                            slash
==============  ==============================================================  ===========
val2 jail       downtime: removals, updated, jailed, slashed                      19_822
val3 jail       downtime (no stake on val3: nothing to cut)                       0
val2 unjail     unjail and re-entry: additions, unjailed                          —
val3 unjail     unjail and re-entry                                               —
val2 tombstone  double sign: removals, updated, jailed, tombstoned, slashed       17_839
val3 rejail     downtime again: a removal sent after val3's re-addition           0
==============  ==============================================================  ===========

The slash amounts are the virtual staking contract's share of the burns converted to
provider tokens (I-89): 1_000_000 burned of 10_090_000 tokens → 8_920 ujuno → 19_822 uosmo;
then 900_000 of the jailed-and-slashed validator's 9_081_000 → 8_028 ujuno → 17_839 uosmo
(figures as the consumer computes them; the test reads them from the packets).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chains import Mesh
from chains.contract import IbcPacket, SdkDec
from chains.ibc import (
    IbcBatch,
    IbcBatchResult,
    QueryRelayState,
    RecvPackets,
    RelayState,
    UpdateClient,
)
from chains.provider import History, ValueRange
from chains.wire import ValsetUpdatePacket, decode_consumer_packet
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"

IN_ORDER = (
    "val2 jail",
    "val3 jail",
    "val2 unjail",
    "val3 unjail",
    "val2 tombstone",
    "val3 rejail",
)
# every report after the ones it follows: unjail before jail, a removal before the
# addition it undoes, a slash (val2's double sign) before val2's earlier jail, the
# tombstone first
REVERSED = tuple(reversed(IN_ORDER))
# the re-addition before the jail it follows, a later jail before the earlier one
MIXED = (
    "val2 unjail",
    "val2 jail",
    "val3 rejail",
    "val3 jail",
    "val2 tombstone",
    "val3 unjail",
)


def _label(mesh: Mesh, packet: ValsetUpdatePacket) -> str:
    """Name a consumer report by what it says (see the module docstring)."""
    names = {mesh.operator(C, v): v for v in ("val1", "val2", "val3")}
    if packet.tombstoned:
        return f"{names[packet.tombstoned[0]]} tombstone"
    if packet.unjailed:
        return f"{names[packet.unjailed[0]]} unjail"
    if packet.jailed:
        return f"{names[packet.jailed[0]]} jail"
    raise AssertionError(f"unexpected report {packet!r}")


async def _consumer_reports(mesh: Mesh) -> tuple[RelayState, dict[str, IbcPacket]]:
    """The consumer's pending ``valset_update`` packets (as a relayer reads them, provable
    at the returned state's header), by label."""
    ends = mesh.link(P, C).ends
    assert ends is not None
    consumer = ends.a if ends.a.chain_id == C else ends.b
    gateway = mesh.chain(P).system.ref(consumer.gateway)
    state: RelayState = await gateway.ask(
        QueryRelayState(connection_id=consumer.connection_id), expect=RelayState
    )
    reports: dict[str, IbcPacket] = {}
    for packet in sorted(state.pending, key=lambda p: p.sequence):
        decoded = decode_consumer_packet(packet.data)
        if not isinstance(decoded, ValsetUpdatePacket):
            continue
        label = _label(mesh, decoded)
        if label in reports:  # the second downtime of val3
            label = "val3 rejail"
        reports[label] = packet
    return state, reports


async def _deliver(mesh: Mesh, state: RelayState, packets: Sequence[IbcPacket]) -> None:
    """Receive ``packets`` on the provider one by one, in this order, one block apart: the
    operations a relayer submits (client update, then ``RecvPackets`` proven at the header
    of ``state``, with the commitment proofs the provider's answer carried, issue 13)."""
    assert state.header is not None
    proofs = {
        (p.src.channel_id, p.sequence): proof
        for p, proof in zip(state.pending, state.pending_proofs, strict=True)
    }
    ends = mesh.link(P, C).ends
    assert ends is not None
    provider = ends.a if ends.a.chain_id == P else ends.b
    for packet in packets:
        channel = mesh.chain(P).system.ref(f"{provider.gateway}/{packet.dest.channel_id}")
        batch = IbcBatch(
            ops=(
                UpdateClient(client_id=provider.client_id, header=state.header),
                RecvPackets(
                    packets=(packet,),
                    proof_height=state.header.height,
                    proofs=(proofs[(packet.src.channel_id, packet.sequence)],),
                ),
            ),
            signer="hand-relayer",
        )
        result: IbcBatchResult = await channel.ask(batch, expect=IbcBatchResult)
        assert not result.error, result.error
        assert result.results[-1].items == ("ok",), result.results
        await mesh.advance(seconds=5)


def _history(entries: History) -> list[tuple[str, int]]:
    return [(e.state.value, e.start_height) for e in entries]


async def _run(order: Sequence[str]) -> dict[str, object]:
    """The six reports delivered in ``order``; the provider's resulting state."""
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val2", 200_000)).ok
        assert await mesh.settle()
        await mesh.advance(seconds=65)  # an epoch: the virtual delegation exists (C-56)
        assert await mesh.virtual_delegation(P, C, "val2") == 90_000

        mesh.pause_relaying(P, C)
        for step in (
            mesh.misbehave(C, "val2", "downtime"),
            mesh.misbehave(C, "val3", "downtime"),
        ):
            assert (await step).ok
            await mesh.advance(seconds=10)
        await mesh.advance(seconds=600)  # downtime_jail_duration (C-13)
        for step in (
            mesh.unjail(C, "val2"),
            mesh.unjail(C, "val3"),
            mesh.misbehave(C, "val2", "double_sign"),
            mesh.misbehave(C, "val3", "downtime"),
        ):
            assert (await step).ok
            await mesh.advance(seconds=10)

        state, reports = await _consumer_reports(mesh)
        assert sorted(reports) == sorted(IN_ORDER)
        # the consumer sent them in this order, at increasing heights
        heights = [decode_consumer_packet(reports[label].data).height for label in IN_ORDER]  # type: ignore[union-attr]
        assert heights == sorted(heights)
        await _deliver(mesh, state, [reports[label] for label in order])
        mesh.resume_relaying(P, C)
        assert await mesh.settle()
        assert await mesh.check_invariants(quiescent=True) == []
        assert mesh.violations == []

        pairing = mesh.pairing(P, C)
        raw = await mesh.chain(P).read(
            lambda ex: ex.contract_state(pairing.external_staking)["validators"]
        )
        names = {mesh.operator(C, v): v for v in ("val1", "val2", "val3")}
        account = await mesh.collateral(P, "alice")
        return {
            "heights": dict(zip(IN_ORDER, heights, strict=True)),
            "view": await mesh.provider_view(P, C),
            "histories": {names[v]: _history(h) for v, h in raw.items()},
            "stake": (await mesh.stake(P, C, "alice", "val2")).stake,
            "collateral": account.bonded,
            "lien": account.max_lien,
        }


@pytest.mark.parametrize(
    "order", [IN_ORDER, REVERSED, MIXED], ids=["in-order", "reversed", "mixed"]
)
async def test_valset_reports_in_any_order_converge_to_the_in_order_state_I_75_I_76(
    order: tuple[str, ...],
) -> None:
    """Issue 7: "validator-set sync (additions, removals, jail, unjail, tombstone, slash)
    including out-of-order delivery". The reversed order has every unjail before its jail,
    val3's removal (rejail at the highest height) before its re-addition, val2's double-sign
    slash before val2's earlier jail and the tombstone before everything; the provider ends
    in the same state as with in-order delivery."""
    result = await _run(order)
    h = result["heights"]
    assert isinstance(h, dict)
    assert result["view"] == {"val1": "active", "val2": "tombstoned", "val3": "jailed"}
    histories = result["histories"]
    assert isinstance(histories, dict)
    initial = histories["val1"][-1][1]  # the initial sync (I-46)
    assert histories["val1"] == [("active", initial)]
    # val3 keeps its whole history (indexed by consumer height, I-75); val2's tombstone is
    # absorbing and erases what is above it (I-73)
    assert histories["val3"] == [
        ("jailed", h["val3 rejail"]),
        ("active", h["val3 unjail"]),
        ("jailed", h["val3 jail"]),
        ("active", initial),
    ]
    assert histories["val2"][0] == ("tombstoned", h["val2 tombstone"])
    # both slashes of val2 applied, whatever the order (I-76: Active at each infraction
    # height): in order 200_000 - 19_822 = 180_178, then floor(180_178 * 17_839 /
    # 180_178 at 18 decimals) = 17_838; reversed 200_000 - 17_839 = 182_161, then 19_821:
    # 162_340 either way
    assert result["stake"] == ValueRange(162_340, 162_340)
    assert result["collateral"] == 1_000_000 - 37_660
    assert result["lien"] == ValueRange(162_340, 162_340)


async def test_commission_change_report_before_the_jail_keeps_the_validator_jailed_I_75() -> None:
    """val2 is jailed for downtime (report at h1: removals, updated, jailed, slashed), then
    changes its commission while jailed (report at h2 > h1: ``updated=[val2]`` only). The
    relayer delivers the h2 report first. In order the provider ends with val2 jailed;
    here it must too, and must refuse new stake on it (I-77): P-87's optional [rec], which
    this build takes (taken literally, I-73 would show val2 Active)."""
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        mesh.pause_relaying(P, C)
        assert (await mesh.misbehave(C, "val2", "downtime")).ok
        await mesh.advance(seconds=10)
        operator = mesh.operator(C, "val2")
        assert (await mesh.chain(C).set_commission(operator, SdkDec.parse("0.11"))).ok
        await mesh.advance(seconds=10)
        ends = mesh.link(P, C).ends
        assert ends is not None
        consumer = ends.a if ends.a.chain_id == C else ends.b
        state: RelayState = (
            await mesh.chain(P)
            .system.ref(consumer.gateway)
            .ask(QueryRelayState(connection_id=consumer.connection_id), expect=RelayState)
        )
        decoded = {p.sequence: decode_consumer_packet(p.data) for p in state.pending}
        by_sequence = {p.sequence: p for p in state.pending}
        # (the initial sync may still be pending: received, its ack held back)
        (jail,) = [
            by_sequence[s]
            for s, d in decoded.items()
            if isinstance(d, ValsetUpdatePacket) and d.jailed == (operator,)
        ]
        (update,) = [
            by_sequence[s]
            for s, d in decoded.items()
            if isinstance(d, ValsetUpdatePacket) and d.updated and not d.jailed
        ]
        assert update.sequence > jail.sequence
        await _deliver(mesh, state, [update, jail])
        mesh.resume_relaying(P, C)
        assert await mesh.settle()
        assert (await mesh.provider_view(P, C))["val2"] == "jailed"
        refused = await mesh.cross_stake(P, C, "alice", "val2", 1_000)
        assert refused.error is not None and refused.error.name == "ValidatorNotActive"
