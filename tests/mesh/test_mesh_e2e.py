"""The mesh end to end, through the real IBC modules, channel actors and relayers.

Every test runs a `Mesh` in virtual time on asyncio and trio, with the chain-local
invariants checked after every block (vault P-18/P-20/P-21, virtual stake ≤ max cap,
token conservation) and, at quiescence, the provider's and consumer's views of every
delegation compared (I-64..I-69).

Figures of the ``SMALL`` topology (tests/mesh/_topologies.py): price 0.5 JUNO per OSMO,
discount 0.1, so ``normalize(200_000) = floor(floor(200_000 * 0.5) * 0.9) = 90_000`` (C-69);
Juno validators of 10_000_000 tokens, slash fractions 0.1; epochs every 12 blocks of 5 s;
unbonding period 3_600 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from chains import BlockPhase, ChainEvent, Mesh, UnknownChain, UnknownPairing, UnknownValidator
from chains.provider import ValueRange
from mesh_actors import VirtualClock
from tests.mesh._topologies import EXAMPLES, MUTUAL, ONE_TO_TWO, SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def quiet(mesh: Mesh) -> None:
    """Relay until nothing is in flight, then check every invariant (I-64..I-69 too)."""
    assert await mesh.settle(), "the mesh did not settle"
    assert await mesh.check_invariants(quiescent=True) == []
    assert mesh.violations == []


async def epochs(mesh: Mesh, count: int = 1) -> None:
    """Let ``count`` virtual-staking epochs of Juno pass (12 blocks of 5 s)."""
    await mesh.advance(seconds=60 * count + 5)


def of_type(events: list[ChainEvent], chain: str, type_: str) -> list[ChainEvent]:
    return [e for e in events if e.chain_id == chain and e.type == type_]


@pytest.fixture
async def mesh() -> AsyncIterator[Mesh]:
    async with Mesh(topology(SMALL), check_invariants=True) as running:
        yield running


async def staked(mesh: Mesh, amount: int = 200_000, validator: str = "val1") -> None:
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    assert (await mesh.cross_stake(P, C, "alice", validator, amount)).ok
    await mesh.settle()
    await epochs(mesh)


# -- deployment (I-40..I-49) ----------------------------------------------------------------


async def test_deployment_opens_the_channel_syncs_the_valset_and_sets_the_cap_I_46_I_49(
    mesh: Mesh,
) -> None:
    pairing = mesh.pairing(P, C)
    # the provider already learnt the validator set; its ack may still be on its way back
    assert await mesh.provider_view(P, C) == {"val1": "active", "val2": "active", "val3": "active"}
    assert await mesh.settle()
    channels = {(c.chain, c.channel_id): c for c in await mesh.channels()}
    consumer_end = channels[(C, pairing.consumer_channel)]
    provider_end = channels[(P, pairing.provider_channel)]
    # I-40: the converter initiated; I-30: one channel between converter and external staking
    assert consumer_end.port_id == f"wasm.{pairing.converter}"
    assert provider_end.port_id == f"wasm.{pairing.external_staking}"
    assert consumer_end.state == provider_end.state == "OPEN"
    # I-46: the initial validator sync was the consumer's first packet, acknowledged
    assert consumer_end.sent >= 1 and consumer_end.acked == consumer_end.sent
    assert provider_end.received == consumer_end.sent
    # I-49 step 5: governance authorized the max cap (C-43)
    status = await mesh.virtual_stake(P, C)
    assert status.cap.amount == 100_000_000 and status.delegated.amount == 0
    await quiet(mesh)


# -- cross-stake (I-51, I-65, C-69, C-71, C-88, C-56) ----------------------------------------


async def test_cross_stake_end_to_end_through_the_relayer_I_51_I_65_C_56(mesh: Mesh) -> None:
    events = mesh.events()
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    result = await mesh.cross_stake(P, C, "alice", "val1", 200_000)
    assert result.ok, result.error
    # prepare (I-65): high raised, low not yet; the vault's lien likewise (P-26)
    stake = await mesh.stake(P, C, "alice", "val1")
    assert stake.stake == ValueRange(0, 200_000)
    account = await mesh.collateral(P, "alice")
    assert account.max_lien == ValueRange(0, 200_000)
    assert [e.type for e in result.events if e.source == "ibc"] == ["send_packet"]

    await mesh.settle()
    # commit on the success ack (I-51): low == high, lien final, nothing pending (P-28)
    stake = await mesh.stake(P, C, "alice", "val1")
    assert stake.stake == ValueRange(200_000, 200_000)
    account = await mesh.collateral(P, "alice")
    assert account.max_lien == ValueRange(200_000, 200_000)
    assert account.free == ValueRange(800_000, 800_000)

    await epochs(mesh)
    # the virtual delegation: 200_000 uosmo * 0.5 * (1 - 0.1) = 90_000 ujuno (C-69)
    assert await mesh.virtual_delegation(P, C, "val1") == 90_000
    assert (await mesh.virtual_stake(P, C)).delegated.amount == 90_000

    seen = events.drain()
    sent = of_type(seen, P, "send_packet")[0]
    received = of_type(seen, C, "recv_packet")
    bonded = of_type(seen, C, "mesh-bond")
    committed = of_type(seen, P, "stake_committed")
    delegated = of_type(seen, C, "instant_delegate")
    # converter → virtual staking bond request when the packet is received (C-71, C-88)
    assert [dict(e.attributes)["amount"] for e in bonded] == ["90000"]
    assert bonded[0].height == received[-1].height and bonded[0].phase is BlockPhase.TX
    # the ack is written in the receive (I-10.4) and committed on the provider (I-51)
    assert dict(committed[0].attributes) == {"tx_id": "1", "amount": "200000"}
    assert committed[0].height > sent.height
    # the delegation itself happens at the next epoch, in an end-block (C-56, C-95)
    (epoch,) = delegated
    assert epoch.phase is BlockPhase.END_BLOCK and epoch.height > received[-1].height
    assert dict(epoch.attributes)["amount"] == "90000ujuno"
    assert epoch.height - received[-1].height <= 12
    await quiet(mesh)


async def test_cross_stake_to_an_unknown_validator_fails_before_sending_I_51(mesh: Mesh) -> None:
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    with pytest.raises(UnknownValidator):
        await mesh.cross_stake(P, C, "alice", "val9", 1_000)
    # an operator address the provider never heard of: refused by external staking
    stranger = mesh.chain(C).operator("stranger")
    result = await mesh.cross_stake(P, C, "alice", stranger, 1_000)
    assert not result.ok and result.error is not None
    assert result.error.name == "ValidatorNotActive"
    assert (await mesh.collateral(P, "alice")).max_lien == ValueRange(0, 0)
    await quiet(mesh)


# -- unstake and unbonding release (I-52, P-70) ---------------------------------------------


async def test_unstake_then_release_after_the_unbonding_period_I_52_P_70(mesh: Mesh) -> None:
    await staked(mesh)
    result = await mesh.unstake(P, C, "alice", "val1", 50_000)
    assert result.ok, result.error
    assert (await mesh.stake(P, C, "alice", "val1")).stake == ValueRange(150_000, 200_000)
    await mesh.settle()
    info = await mesh.stake(P, C, "alice", "val1")
    assert info.stake == ValueRange(150_000, 150_000)
    (unbond,) = info.pending_unbonds
    assert unbond.amount == 50_000
    # the unbonding clock starts at the ack (I-52): one hour later
    acked_at = await mesh.chain(P).time()
    assert acked_at - 3_600 <= unbond.release_at - 3_600 <= acked_at
    await epochs(mesh)
    # the consumer's request fell by normalize(50_000) = 22_500 (C-72, C-89)
    assert await mesh.virtual_delegation(P, C, "val1") == 67_500
    # too early: nothing released, the lien stays
    assert (await mesh.withdraw_unbonded(P, C, "alice")).ok
    assert (await mesh.collateral(P, "alice")).max_lien == ValueRange(200_000, 200_000)
    await mesh.advance(seconds=3_600)
    assert (await mesh.withdraw_unbonded(P, C, "alice")).ok
    account = await mesh.collateral(P, "alice")
    assert account.max_lien == ValueRange(150_000, 150_000)
    assert account.free == ValueRange(850_000, 850_000)
    assert (await mesh.unbond(P, "alice", 850_000)).ok
    assert await mesh.balance(P, "alice") == 1_000_000_000 - 150_000
    await quiet(mesh)


async def test_unstake_more_than_committed_is_refused_on_the_provider_I_69(mesh: Mesh) -> None:
    await staked(mesh)
    result = await mesh.unstake(P, C, "alice", "val1", 200_001)
    assert not result.ok and result.error is not None
    assert result.error.name == "NotEnoughStake"
    await quiet(mesh)


# -- rewards (I-81, I-82, I-84, I-54) -------------------------------------------------------


async def test_rewards_flow_and_withdrawal_to_a_consumer_address_I_81_I_84_I_54(
    mesh: Mesh,
) -> None:
    events = mesh.events()
    await staked(mesh)
    await epochs(mesh, 3)
    await mesh.settle()
    seen = events.drain()
    # consumer epochs withdraw the virtual delegation's rewards and send them as a batch
    # (I-81 steps 2-3); the provider credits reward points (I-82)
    assert of_type(seen, C, "distribute_reward") and of_type(seen, P, "distribute_batch")
    rewards = await mesh.rewards(P, C, "alice")
    pairing = mesh.pairing(P, C)
    reserve = await mesh.chain(C).balance(pairing.converter)
    # one staker of 200_000: the points divide exactly, so every token is claimable and the
    # converter's reserve covers exactly the claims (I-82, I-84)
    assert rewards["val1"] == reserve > 0
    result = await mesh.claim_rewards(P, C, "alice", "val1", recipient="carol")
    assert result.ok, result.error
    # in flight: excluded from what may be withdrawn again (P-76)
    assert (await mesh.rewards(P, C, "alice"))["val1"] == 0
    await mesh.settle()
    assert await mesh.balance(C, "carol") == 1_000_000_000 + reserve
    info = await mesh.stake(P, C, "alice", "val1")
    assert info.withdrawn_funds == reserve
    assert await mesh.chain(C).balance(pairing.converter) <= reserve
    nothing = await mesh.claim_rewards(P, C, "alice", "val1")
    assert nothing.error is not None and nothing.error.name == "NoRewards"
    await quiet(mesh)


# -- validator-set sync and slashing (I-70..I-77, I-87..I-94) -------------------------------


async def test_double_sign_slash_reaches_the_vault_I_88_I_89_I_90_I_91(mesh: Mesh) -> None:
    events = mesh.events()
    await staked(mesh)
    result = await mesh.misbehave(C, "val1", "double_sign")
    assert result.ok and result.data == 1_000_000  # 10 power * 10 % (C-36)
    await mesh.advance(seconds=10)
    await mesh.settle()
    seen = events.drain()
    # I-89: the VS holds 90_000 of 10_090_000 tokens: its share of the 1_000_000 burned is
    # round(90_000 / 10_090_000 * 1_000_000) = 8_920 ujuno, inverted at 0.5 and 0.9 to
    # floor(floor(8_920 * 2) * 1.111111111111111111) = 19_822 uosmo
    (slash,) = of_type(seen, P, "slash")[:1]
    assert dict(slash.attributes)["amount"] == "19822"
    # I-90: the only staker loses all of it; I-91: the vault's collateral follows
    assert (await mesh.stake(P, C, "alice", "val1")).stake == ValueRange(180_178, 180_178)
    account = await mesh.collateral(P, "alice")
    assert account.bonded == 980_178
    assert account.max_lien == ValueRange(180_178, 180_178)
    # I-73: the provider's view: tombstoned (absorbing), so no new stake (I-77)
    assert (await mesh.provider_view(P, C))["val1"] == "tombstoned"
    refused = await mesh.cross_stake(P, C, "alice", "val1", 1_000)
    assert refused.error is not None and refused.error.name == "ValidatorNotActive"
    # I-93: at the next epoch the VS undelegates what is left on the tombstoned validator
    await epochs(mesh)
    assert await mesh.virtual_delegation(P, C, "val1") == 0
    assert (await mesh.virtual_stake(P, C)).delegated.amount == 0
    await quiet(mesh)


async def test_slash_burns_cross_stake_on_the_other_consumer_I_91_I_92() -> None:
    async with Mesh(topology(ONE_TO_TWO), check_invariants=True) as mesh:
        events = mesh.events()
        # the same 200_000 of collateral backs both consumers (two liens, P-26)
        assert (await mesh.bond(P, "alice", 200_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
        assert (await mesh.cross_stake(P, "stargaze", "alice", "val1", 200_000)).ok
        await mesh.settle()
        await epochs(mesh)
        # 200_000 * 2 * 0.9 = 360_000 ustars
        assert await mesh.virtual_delegation(P, "stargaze", "val1") == 360_000
        assert (await mesh.misbehave(C, "val1", "double_sign")).ok
        await mesh.advance(seconds=10)
        await mesh.settle()
        # the juno slash (19_822, as in the single-consumer case) lowers the collateral to
        # 180_178, below the stargaze lien: the vault burns the excess there (I-91) and
        # external staking tells stargaze (I-92): 19_822 * 2 * 0.9 = 35_679 ustars (C-90)
        assert (await mesh.collateral(P, "alice")).bonded == 180_178
        other = await mesh.stake(P, "stargaze", "alice", "val1")
        assert other.stake == ValueRange(180_178, 180_178)
        seen = events.drain()
        (burned,) = of_type(seen, "stargaze", "mesh-burn")
        assert dict(burned.attributes)["amount"] == "35679"
        (acked,) = of_type(seen, P, "burn_ack")
        assert dict(acked.attributes)["outcome"] == "success"
        await epochs(mesh)
        assert await mesh.virtual_delegation(P, "stargaze", "val1") == 360_000 - 35_679
        await quiet(mesh)


async def test_downtime_jails_then_unjail_reactivates_I_73_I_77(mesh: Mesh) -> None:
    await staked(mesh, validator="val2")
    assert (await mesh.misbehave(C, "val2", "downtime")).ok
    await mesh.advance(seconds=10)
    await mesh.settle()
    assert (await mesh.provider_view(P, C))["val2"] == "jailed"
    # a jailed validator's stake is slashed too (I-88: downtime 10 %) but stays staked
    assert (await mesh.stake(P, C, "alice", "val2")).stake.high < 200_000
    early = await mesh.unjail(C, "val2")
    assert early.error is not None and early.error.name == "JailedUntilNotPassed"
    await mesh.advance(seconds=600)  # downtime_jail_duration (C-13)
    assert (await mesh.unjail(C, "val2")).ok
    await mesh.advance(seconds=10)
    await mesh.settle()
    assert (await mesh.provider_view(P, C))["val2"] == "active"
    await quiet(mesh)


# -- max cap, price, close ------------------------------------------------------------------


async def test_zero_max_cap_drains_through_internal_unstake_C_96_I_57_I_104(mesh: Mesh) -> None:
    await staked(mesh)
    assert (await mesh.set_max_cap(P, C, 0)).ok
    await epochs(mesh, 2)
    await mesh.settle()
    assert (await mesh.virtual_stake(P, C)).delegated.amount == 0
    info = await mesh.stake(P, C, "alice", "val1")
    # internal_unstake carries invert(90_000) = floor(floor(90_000 * 2) * 1.111111111111111111)
    # = 199_999 uosmo: the round trip loses one unit, left staked on the provider (I-104)
    assert info.stake == ValueRange(1, 1)
    (unbond,) = info.pending_unbonds
    assert unbond.amount == 199_999
    # released immediately (I-57)
    assert (await mesh.withdraw_unbonded(P, C, "alice")).ok
    assert (await mesh.collateral(P, "alice")).max_lien == ValueRange(1, 1)
    await quiet(mesh)


async def test_price_move_changes_only_new_virtual_stake_C_69_C_70(mesh: Mesh) -> None:
    await staked(mesh)
    assert (await mesh.move_price(P, C, "0.25")).ok
    assert str(await mesh.price(P, C)) == "0.25"
    assert (await mesh.cross_stake(P, C, "alice", "val2", 200_000)).ok
    await mesh.settle()
    await epochs(mesh)
    assert await mesh.virtual_delegation(P, C, "val1") == 90_000  # unchanged
    assert await mesh.virtual_delegation(P, C, "val2") == 45_000  # 200_000 * 0.25 * 0.9
    await quiet(mesh)


async def test_max_cap_bounds_virtual_stake_C_45_C_56() -> None:
    text = SMALL.replace("max_cap = 100000000", "max_cap = 50000")
    async with Mesh(topology(text), check_invariants=True) as mesh:
        await staked(mesh)  # asks for 90_000 under a cap of 50_000
        await epochs(mesh)
        assert (await mesh.virtual_stake(P, C)).delegated.amount == 50_000
        assert (await mesh.stake(P, C, "alice", "val1")).stake == ValueRange(200_000, 200_000)
        await quiet(mesh)


async def test_channel_close_releases_every_stake_I_100_I_101_I_102(mesh: Mesh) -> None:
    await staked(mesh)
    result = await mesh.close_channel(P, C)
    assert result.ok, result.error
    info = await mesh.stake(P, C, "alice", "val1")
    assert info.stake == ValueRange(0, 0)
    (unbond,) = info.pending_unbonds
    assert unbond.amount == 200_000 and unbond.release_at <= await mesh.chain(P).time()
    await mesh.advance(seconds=60)
    pairing = mesh.pairing(P, C)
    states = {(c.chain, c.channel_id): c.state for c in await mesh.channels()}
    assert states[(P, pairing.provider_channel)] == "CLOSED"
    assert states[(C, pairing.consumer_channel)] == "CLOSED"  # CloseConfirm relayed (I-101)
    await epochs(mesh)
    assert (await mesh.virtual_stake(P, C)).delegated.amount == 0
    assert (await mesh.withdraw_unbonded(P, C, "alice")).ok
    assert (await mesh.collateral(P, "alice")).max_lien == ValueRange(0, 0)
    refused = await mesh.cross_stake(P, C, "alice", "val2", 1_000)
    assert not refused.ok
    assert await mesh.check_invariants() == [] and mesh.violations == []


# -- topologies and faults ------------------------------------------------------------------


async def test_two_chains_providing_to_each_other_share_one_connection() -> None:
    async with Mesh(topology(MUTUAL), check_invariants=True) as mesh:
        there, back = mesh.pairing(P, C), mesh.pairing(C, P)
        assert there.provider_connection == back.consumer_connection
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
        assert (await mesh.bond(C, "carol", 1_000_000)).ok
        assert (await mesh.cross_stake(C, P, "carol", "val1", 100_000)).ok
        await mesh.settle()
        await epochs(mesh)
        assert await mesh.virtual_delegation(P, C, "val1") == 90_000
        assert await mesh.virtual_delegation(C, P, "val1") == 180_000  # 100_000 * 2 * 0.9
        await quiet(mesh)


async def test_faulty_relaying_converges_to_equal_views_I_17_I_64_I_69() -> None:
    text = SMALL.replace('name = "small"', 'name = "faulty"')
    faulty = topology(
        text,
        chains='["osmosis", "juno"]',
        count=2,
        max_batch=3,
        clear_interval=20,
        faults="{ drop = 0.2, duplicate = 0.2, reorder = 0.3, delay = { uniform = [0.1, 3.0] } }",
    )
    async with Mesh(faulty, seed=11, check_invariants=True) as mesh:
        for user in ("alice", "bob"):
            assert (await mesh.bond(P, user, 1_000_000)).ok
        for amount in (10_000, 20_000, 30_000):
            for user, validator in (("alice", "val1"), ("bob", "val2"), ("alice", "val3")):
                assert (await mesh.cross_stake(P, C, user, validator, amount)).ok
        assert (await mesh.unstake(P, C, "alice", "val1", 5_000)).ok is False  # not committed
        await mesh.settle(timeout=6 * 3_600)
        assert (await mesh.unstake(P, C, "alice", "val1", 5_000)).ok
        assert (await mesh.cross_stake(P, C, "bob", "val1", 7_000)).ok
        await mesh.settle(timeout=6 * 3_600)
        await epochs(mesh)
        stats = mesh.network.statistics()
        assert any(s.dropped or s.duplicated for s in stats.values())
        await quiet(mesh)
        assert (await mesh.stake(P, C, "alice", "val1")).stake == ValueRange(55_000, 55_000)


async def test_seed_topology_runs_every_pairing() -> None:
    # the stress profile of the seed topology: its 100-block epochs (600 s) have delegated
    # every pairing's virtual stake by the 700 s below
    async with Mesh.from_topology(
        EXAMPLES / "topologies" / "stress.toml", check_invariants=True
    ) as mesh:
        assert (await mesh.bond("osmosis", "alice", 10_000_000)).ok
        assert (await mesh.bond("akash", "dave", 10_000_000)).ok
        assert (await mesh.bond("juno", "carol", 10_000_000)).ok
        moves = [
            ("osmosis", "juno", "alice", "juno-val1"),
            ("osmosis", "stargaze", "alice", "stars-val1"),
            ("akash", "juno", "dave", "juno-val2"),
            ("juno", "osmosis", "carol", "osmo-val1"),
        ]
        for provider, consumer, user, validator in moves:
            result = await mesh.cross_stake(provider, consumer, user, validator, 1_000_000)
            assert result.ok, (provider, consumer, result.error)
        await mesh.settle()
        await mesh.advance(seconds=700)
        snapshot = await mesh.snapshot(invariants=True)
        assert {(p.provider, p.consumer): p.virtual_delegated for p in snapshot.pairings} == {
            ("osmosis", "juno"): 450_000,  # 1_000_000 * 0.5 * 0.9
            ("osmosis", "stargaze"): 3_200_000,  # * 4 * 0.8
            ("akash", "juno"): 1_125_000,  # * 1.5 * 0.75
            ("juno", "osmosis"): 1_800_000,  # * 2 * 0.9
        }
        assert snapshot.invariant_violations == ()
        await quiet(mesh)


async def test_provider_double_sign_slashes_local_stake_and_burns_cross_stake_P_32_I_92_I_95(
    mesh: Mesh,
) -> None:
    events = mesh.events()
    # 200_000 of collateral backs both a local stake and a cross-stake (two liens)
    assert (await mesh.bond(P, "alice", 200_000)).ok
    assert (await mesh.stake_locally(P, "alice", "val1", 200_000)).ok
    assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
    await mesh.settle()
    await epochs(mesh)
    assert (await mesh.misbehave(P, "val1", "double_sign")).ok
    await mesh.advance(seconds=10)
    await mesh.settle()
    seen = events.drain()
    # I-95: the provider's own slash goes through its chain module and native staking
    # (P-51: jailing before the burn): 200_000 * 0.05 = 10_000 off the collateral (P-32)
    (jailing,) = of_type(seen, P, "jailing")
    assert jailing.phase is BlockPhase.TX
    account = await mesh.collateral(P, "alice")
    assert account.bonded == 190_000
    # the cross-stake lien no longer fits: 10_000 burned from it (P-40, I-91) and sent to
    # the consumer (I-92), which burns normalize(10_000) = 4_500 ujuno (C-90)
    assert (await mesh.stake(P, C, "alice", "val1")).stake == ValueRange(190_000, 190_000)
    (burned,) = of_type(seen, C, "mesh-burn")
    assert dict(burned.attributes)["amount"] == "4500"
    await epochs(mesh)
    assert await mesh.virtual_delegation(P, C, "val1") == 85_500
    await quiet(mesh)


async def test_remote_price_feed_over_icq_I_96_C_62_C_63() -> None:
    text = SMALL.replace(
        'price_feed = { kind = "simple", price = "0.5" }',
        'price_feed = { kind = "remote", host = "osmosis", price = "0.5", pool_id = 3,'
        " epoch_secs = 60, ttl_secs = 3_600 }",
    )
    async with Mesh(topology(text), check_invariants=True) as mesh:
        pairing = mesh.pairing(P, C)
        # I-49 step 6: the feed has its icq-1 channel to the host's icqhost port, and a
        # first price before anyone stakes
        ends = {(c.chain, c.channel_id): c for c in await mesh.channels()}
        feed_end = ends[(C, pairing.feed_channel)]
        host_end = ends[(P, feed_end.counterparty_channel_id)]
        assert host_end.port_id == "icqhost" and feed_end.state == host_end.state == "OPEN"
        assert str(await mesh.price(P, C)) == "0.5"
        await staked(mesh)
        assert await mesh.virtual_delegation(P, C, "val1") == 90_000
        assert (await mesh.move_price(P, C, "0.25")).ok
        await mesh.advance(seconds=30)
        assert str(await mesh.price(P, C)) == "0.25"
        # the epoch task keeps asking (C-62): queries are acknowledged, none time out
        await mesh.advance(hours=1)
        feed_end = {(c.chain, c.channel_id): c for c in await mesh.channels()}[
            (C, pairing.feed_channel)
        ]
        assert feed_end.sent >= 60 and feed_end.timed_out == 0
        assert await mesh.check_invariants() == [] and mesh.violations == []


async def test_events_merge_every_chain_and_end_with_the_mesh() -> None:
    async with Mesh(topology(SMALL)) as mesh:
        events = mesh.events()
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
        await mesh.settle()
    chains = {event.chain_id async for event in events}  # ends: the mesh closed
    assert chains == {P, C}
    assert not mesh.running


async def test_cancellation_closes_the_mesh_cleanly() -> None:
    with anyio.CancelScope() as scope:
        async with Mesh(topology(SMALL)) as mesh:
            assert (await mesh.bond(P, "alice", 1_000)).ok
            scope.cancel()
            await mesh.advance(days=100)
    assert scope.cancelled_caught and not mesh.running
    # cancelled half-way through the deployment (the handshake takes tens of clock seconds)
    clock = VirtualClock()
    with clock.move_on_after(20.0) as early:
        async with Mesh(topology(SMALL), clock=clock):
            raise AssertionError("the mesh cannot be deployed in 20 s of clock time")
    assert early.cancelled_caught


async def test_unknown_names_raise_mesh_errors(mesh: Mesh) -> None:
    with pytest.raises(UnknownChain):
        await mesh.bond("akash", "alice", 1)
    with pytest.raises(UnknownPairing):
        await mesh.cross_stake(C, P, "carol", "val1", 1)
    with pytest.raises(ValueError):
        await mesh.misbehave(C, "val1", "bribery")
