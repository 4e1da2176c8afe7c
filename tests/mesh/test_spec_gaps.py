"""ibc.md requirements of sections 2-10 checked end to end through the `Mesh` (issue 7).

Each test runs a mesh in virtual time on both backends, through the real IBC modules,
channel actors and relayers; figures are those of the ``SMALL`` topology
(tests/mesh/_topologies.py: price 0.5 JUNO per OSMO, discount 0.1, so 200_000 uosmo become
90_000 ujuno of virtual stake).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from functools import partial

import pytest

from chains import ChainEvent, Mesh
from chains.host import TxExecutor
from chains.ibc import IbcModule, QueryRelayState, RelayState
from chains.provider import (
    AuthorizedEndpoint,
    AuthorizedEndpointQuery,
    ExternalConfigQuery,
    ExternalConfigResponse,
    ListActiveValidatorsQuery,
    ListValidatorsQuery,
    PendingRewardsQuery,
    ValidatorsResponse,
)
from chains.wire import ValsetUpdatePacket, channel_version, decode_consumer_packet
from tests.mesh._topologies import ONE_TO_TWO, SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"
SUCCESS_ACK = b'{"result":"e30="}'  # {"result": base64("{}")}, I-35


@pytest.fixture
async def mesh() -> AsyncIterator[Mesh]:
    async with Mesh(topology(SMALL), check_invariants=True) as running:
        yield running


async def quiet(mesh: Mesh) -> None:
    assert await mesh.settle(), "the mesh did not settle"
    assert await mesh.check_invariants(quiescent=True) == []
    assert mesh.violations == []


def of_type(events: list[ChainEvent], chain: str, type_: str) -> list[dict[str, str]]:
    return [dict(e.attributes) for e in events if e.chain_id == chain and e.type == type_]


def _ibc(ex: TxExecutor) -> IbcModule:
    module = ex.module_object("ibc")
    assert isinstance(module, IbcModule)
    return module


# -- I-42, I-106: the deployed channel ----------------------------------------------------------


async def test_control_channel_version_is_0_11_0_on_both_ends_I_42(mesh: Mesh) -> None:
    """I-42: both sides support exactly 0.11.0, so the negotiated version of the deployed
    channel is ``{"protocol":"mesh-security","version":"0.11.0"}`` on both ends (I-6: the
    same final version)."""
    pairing = mesh.pairing(P, C)
    expected = '{"protocol":"mesh-security","version":"0.11.0"}'
    assert channel_version() == expected
    for chain, channel_id in ((P, pairing.provider_channel), (C, pairing.consumer_channel)):

        def version(ex: TxExecutor, channel_id: str = channel_id) -> str:
            end = _ibc(ex).channel_end(channel_id)
            assert end is not None
            return end.version

        assert await mesh.chain(chain).read(version) == expected
    await quiet(mesh)


async def test_provider_authorizes_its_own_connection_id_I_106() -> None:
    """I-106: in the one-provider-two-consumers topology the provider's end of its
    connection to stargaze is ``connection-1`` while stargaze's end is ``connection-0``;
    external staking is configured with (and checks) the provider-local id, and the
    channel opens."""
    async with Mesh(topology(ONE_TO_TWO), check_invariants=True) as mesh:
        pairing = mesh.pairing(P, "stargaze")
        assert pairing.provider_connection == "connection-1"
        assert pairing.consumer_connection == "connection-0"
        endpoint: AuthorizedEndpoint = await mesh.chain(P).query(
            pairing.external_staking, AuthorizedEndpointQuery()
        )
        assert endpoint == AuthorizedEndpoint(
            connection_id="connection-1", port_id=f"wasm.{pairing.converter}"
        )
        states = {(c.chain, c.channel_id): c.state for c in await mesh.channels()}
        assert states[(P, pairing.provider_channel)] == "OPEN"
        assert states[("stargaze", pairing.consumer_channel)] == "OPEN"
        assert (await mesh.provider_view(P, "stargaze"))["val1"] == "active"
        assert (await mesh.bond(P, "alice", 100_000)).ok
        assert (await mesh.cross_stake(P, "stargaze", "alice", "val1", 100_000)).ok
        await quiet(mesh)
        assert (await mesh.stake(P, "stargaze", "alice", "val1")).stake.low == 100_000


# -- one flow with every packet kind: I-60, I-63, I-80, I-85, I-86 ------------------------------


async def test_tx_ids_acks_and_rewards_across_the_flow_I_60_I_63_I_80_I_85_I_86(
    mesh: Mesh,
) -> None:
    """One flow with every provider packet (stake, unstake, transfer_rewards) and the
    consumer's (valset_update, distribute_batch):

    - I-63: stake tx ids come from the vault's counter (1, 2), unstake and reward
      withdrawal ids from external staking's, starting at 2**63;
    - I-60: every acknowledgement written on either end of the control channel is the
      success ack ``{}``;
    - I-86: the virtual staking contract sends its rewards in the batch form only;
    - I-85: ``distribute_batch.denom``, ``transfer_rewards.rewards.denom`` and the
      provider's ``rewards_denom`` are all the consumer's staking denom, ``ujuno``;
    - I-80: the rewards stay on the consumer, in the converter, until claimed, and are paid
      there; no token crosses chains (the provider's supply and the user's provider balance
      do not move, and no ICS-20 channel exists).
    """
    events = mesh.events()
    pairing = mesh.pairing(P, C)
    provider_supply = await mesh.chain(P).supply()
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
    assert (await mesh.cross_stake(P, C, "alice", "val2", 100_000)).ok
    assert await mesh.settle()
    await mesh.advance(seconds=3 * 60 + 5)  # three epochs: rewards withdrawn and sent
    assert await mesh.settle()
    assert (await mesh.unstake(P, C, "alice", "val1", 50_000)).ok
    reserve = await mesh.chain(C).balance(pairing.converter)
    claimable = (await mesh.rewards(P, C, "alice"))["val1"]
    assert 0 < claimable <= reserve
    alice_before = await mesh.balance(P, "alice")
    assert (await mesh.claim_rewards(P, C, "alice", "val1", recipient="carol")).ok
    await quiet(mesh)
    seen = events.drain()

    # I-63
    assert [int(e["tx_id"]) for e in of_type(seen, P, "receive_virtual_stake")] == [1, 2]
    assert [int(e["tx_id"]) for e in of_type(seen, P, "stake_committed")] == [1, 2]
    assert [int(e["tx_id"]) for e in of_type(seen, P, "unstake")] == [2**63]
    assert [int(e["tx_id"]) for e in of_type(seen, P, "withdraw_rewards")] == [2**63 + 1]
    assert [int(e["tx_id"]) for e in of_type(seen, P, "rewards_transferred")] == [2**63 + 1]

    # I-60: both directions, every sequence sent
    for src, dst, src_channel, dst_channel in (
        (P, C, pairing.provider_channel, pairing.consumer_channel),
        (C, P, pairing.consumer_channel, pairing.provider_channel),
    ):

        def sent(ex: TxExecutor, channel_id: str = src_channel) -> int:
            return _ibc(ex).next_sequence_send(channel_id) - 1

        def acks(ex: TxExecutor, channel_id: str = dst_channel, count: int = 0) -> list[bytes]:
            module = _ibc(ex)
            return [module.acknowledgement(channel_id, s) or b"" for s in range(1, count + 1)]

        count = await mesh.chain(src).read(sent)
        assert count >= 2, (src, count)
        written = await mesh.chain(dst).read(partial(acks, channel_id=dst_channel, count=count))
        assert written == [SUCCESS_ACK] * count, (src, written)
    assert json.loads(SUCCESS_ACK) == {"result": base64.b64encode(b"{}").decode()}

    # I-86: batches only
    assert of_type(seen, P, "distribute_batch")
    assert of_type(seen, P, "distribute") == []

    # I-85
    config: ExternalConfigResponse = await mesh.chain(P).query(
        pairing.external_staking, ExternalConfigQuery()
    )
    assert config.rewards_denom == mesh.chain(C).config.bond_denom == "ujuno"
    pending = await mesh.chain(P).query(
        pairing.external_staking,
        PendingRewardsQuery(user=mesh.address(P, "alice"), validator=mesh.operator(C, "val2")),
    )
    assert pending.denom == "ujuno"
    (transfer,) = of_type(seen, C, "mesh-transfer-rewards")
    assert transfer == {"recipient": mesh.address(C, "carol"), "rewards": str(claimable)}

    # I-80
    assert await mesh.balance(C, "carol") == 1_000_000_000 + claimable
    assert await mesh.chain(C).balance(pairing.converter) == reserve - claimable
    assert await mesh.chain(P).supply() == provider_supply
    assert await mesh.chain(P).balance(mesh.address(P, "alice"), "ujuno") == 0
    assert await mesh.balance(P, "alice") == alice_before
    assert not [c for c in await mesh.channels() if c.port_id == "transfer"]


# -- I-71: a timed-out valset update is re-sent with the same data ------------------------------


async def test_timed_out_valset_update_is_resent_with_the_same_height_I_71() -> None:
    """I-71: with the relayers silent for more than the 86_400 s timeout (I-61), the
    consumer's jail report times out; the converter re-sends the identical data, which
    arrives: the provider records the jail at the height of the original report."""
    # one-minute blocks: a day of virtual time costs fewer blocks
    text = SMALL.replace("block_time = 5", "block_time = 60")
    async with Mesh(topology(text), check_invariants=True) as mesh:
        pairing = mesh.pairing(P, C)
        mesh.pause_relaying(P, C)
        assert (await mesh.misbehave(C, "val2", "downtime")).ok
        await mesh.advance(seconds=120)
        ends = mesh.link(P, C).ends
        assert ends is not None
        consumer = ends.a if ends.a.chain_id == C else ends.b
        state: RelayState = (
            await mesh.chain(C)
            .system.ref(consumer.gateway)
            .ask(QueryRelayState(connection_id=consumer.connection_id), expect=RelayState)
        )
        reports = [
            (packet, decoded)
            for packet in state.pending
            if isinstance(decoded := decode_consumer_packet(packet.data), ValsetUpdatePacket)
            and decoded.jailed
        ]
        ((original, report),) = reports
        assert report.jailed == (mesh.operator(C, "val2"),)
        assert original.timeout.timestamp_ns == (report.time + 86_400) * 10**9
        await mesh.advance(seconds=86_400 + 120)
        assert (await mesh.provider_view(P, C))["val2"] == "active"  # nothing arrived
        mesh.resume_relaying(P, C)
        await quiet(mesh)
        ends_now = {(c.chain, c.channel_id): c for c in await mesh.channels()}
        consumer_end = ends_now[(C, pairing.consumer_channel)]
        assert consumer_end.timed_out >= 1
        assert consumer_end.acked == consumer_end.sent - consumer_end.timed_out
        assert (await mesh.provider_view(P, C))["val2"] == "jailed"
        raw = await mesh.chain(P).read(
            lambda ex: ex.contract_state(pairing.external_staking)["validators"]
        )
        latest = raw[mesh.operator(C, "val2")][0]
        assert (latest.state.value, latest.start_height) == ("jailed", report.height)
        assert latest.start_time == report.time


# -- I-76, I-79 through the mesh ------------------------------------------------------------------


async def test_listings_and_slash_eligibility_through_the_mesh_I_76_I_79(mesh: Mesh) -> None:
    """I-79: the provider lists the current state of every consumer validator, ascending
    by operator address, in pages; I-76: a slash reported while the validator is Active
    applies (19_822 off alice's 200_000, as in the double-sign scenario), and the listing
    follows jail and unjail."""
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    assert (await mesh.cross_stake(P, C, "alice", "val2", 200_000)).ok
    assert await mesh.settle()
    await mesh.advance(seconds=65)
    pairing = mesh.pairing(P, C)
    operators = sorted(mesh.operator(C, v) for v in ("val1", "val2", "val3"))

    async def listing(query: ListValidatorsQuery | ListActiveValidatorsQuery) -> list[str]:
        answer: ValidatorsResponse = await mesh.chain(P).query(pairing.external_staking, query)
        return [f"{v.validator}:{v.state}" for v in answer.validators]

    assert await listing(ListValidatorsQuery()) == [f"{v}:active" for v in operators]
    assert await listing(ListValidatorsQuery(limit=2)) == [f"{v}:active" for v in operators[:2]]
    assert await listing(ListValidatorsQuery(start_after=operators[1])) == [
        f"{operators[2]}:active"
    ]
    assert (await mesh.misbehave(C, "val2", "downtime")).ok
    await mesh.advance(seconds=10)
    assert await mesh.settle()
    val2 = mesh.operator(C, "val2")
    assert f"{val2}:jailed" in await listing(ListValidatorsQuery())
    assert [v.split(":")[0] for v in await listing(ListActiveValidatorsQuery())] == [
        v for v in operators if v != val2
    ]
    assert (await mesh.stake(P, C, "alice", "val2")).stake.high == 200_000 - 19_822
    await mesh.advance(seconds=600)
    assert (await mesh.unjail(C, "val2")).ok
    await mesh.advance(seconds=10)
    await quiet(mesh)
    assert await listing(ListActiveValidatorsQuery()) == [f"{v}:active" for v in operators]
