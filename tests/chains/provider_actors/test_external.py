"""External staking through the chain host actor, the consumer played by the test: packets
captured by the chain's ``"ibc"`` module, acks / error acks / timeouts / consumer packets
delivered back as units (P-64..P-84, P-91..P-93, §8), and the vault's slash propagation
with the exact figures of the spec (P-36..P-42)."""

from __future__ import annotations

import pytest

from chains import Coin
from chains.provider import (
    ExternalUnstake,
    ExternalWithdrawRewards,
    NoRewards,
    NoStake,
    PendingRewardsQuery,
    ProxyConfigQuery,
    ValidatorNotActive,
    ValueRange,
    VaultClaimQuery,
    WithdrawUnbonded,
)
from chains.wire import (
    BurnPacket,
    DistributePacket,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
)
from tests.chains.provider_actors._kit import (
    ALICE,
    REMOTE_VALIDATORS,
    REWARDS,
    UNBONDING,
    ProviderKit,
    coin,
    make_config,
    provider_chain,
)

pytestmark = pytest.mark.anyio

VAL = REMOTE_VALIDATORS[0]


async def _lien(kit: ProviderKit, holder: str) -> ValueRange | None:
    state = await kit.chain.contract_state(kit.vault)
    lien = state.get("liens", {}).get((ALICE, holder))
    return None if lien is None else lien.amount


async def _committed_stake(kit: ProviderKit, amount: int, ext: str | None = None) -> None:
    result = await kit.stake_remote(ALICE, amount, ext=ext)
    assert result.ok, result.error
    assert (await kit.ack(await kit.one_packet())).ok


async def test_stake_commits_on_success_ack_P_64_P_65_P_28() -> None:
    async with provider_chain() as kit:
        assert (await kit.bond(ALICE, 1_000)).ok
        result = await kit.stake_remote(ALICE, 100)
        assert result.ok, result.error
        sent = await kit.one_packet()
        assert sent.decoded == StakePacket(delegator=ALICE, validator=VAL, stake=coin(100), tx_id=1)
        assert sent.packet.timeout.timestamp_ns == (await kit.chain.time() + 600) * 10**9  # P-84
        assert await _lien(kit, kit.ext) == ValueRange(0, 100)
        assert (await kit.stake(ALICE)).stake == ValueRange(0, 100)
        assert (await kit.account(ALICE)).free == ValueRange(900, 1_000)
        assert (await kit.ack(sent)).ok
        assert await _lien(kit, kit.ext) == ValueRange(100, 100)
        info = await kit.stake(ALICE)
        assert (info.stake, info.committed) == (ValueRange(100, 100), 100)


async def test_error_ack_and_timeout_roll_back_both_sides_P_66_P_29_P_19() -> None:
    async with provider_chain() as kit:
        assert (await kit.bond(ALICE, 1_000)).ok
        assert (await kit.stake_remote(ALICE, 100)).ok
        assert (await kit.error_ack(await kit.one_packet())).ok
        assert await _lien(kit, kit.ext) is None  # emptied lien deleted (P-19)
        assert (await kit.stake(ALICE)).stake == ValueRange(0, 0)
        assert (await kit.stake_remote(ALICE, 50)).ok
        sent = await kit.one_packet()
        assert (await kit.timeout(sent)).ok
        assert await _lien(kit, kit.ext) is None
        assert (await kit.account(ALICE)).free == ValueRange(1_000, 1_000)
        # a late ack for the rolled-back tx is ignored (P-16)
        late = await kit.ack(sent)
        assert late.ok and [e.type for e in late.events if e.type == "TxNotPending"] == [
            "TxNotPending"
        ]


async def test_failing_receive_virtual_stake_sends_nothing_P_96_P_2() -> None:
    async with provider_chain() as kit:
        assert (await kit.bond(ALICE, 1_000)).ok
        before = await kit.chain.contract_state(kit.vault)
        result = await kit.stake_remote(ALICE, 100, validator="cosmosvaloper1unknown")
        assert result.error == ValidatorNotActive("cosmosvaloper1unknown")
        assert await kit.new_packets() == []
        assert await kit.chain.contract_state(kit.vault) == before


async def test_unstake_unbonds_from_the_ack_for_21_days_then_releases_the_lien_P_67_P_68_P_70() -> (
    None
):
    async with provider_chain() as kit:
        chain = kit.chain
        assert (await kit.bond(ALICE, 1_000)).ok
        await _committed_stake(kit, 100)
        unstake = await chain.execute(
            ALICE, kit.ext, ExternalUnstake(validator=VAL, amount=coin(40))
        )
        assert unstake.ok, unstake.error
        sent = await kit.one_packet()
        assert isinstance(sent.decoded, UnstakePacket)
        assert (await kit.stake(ALICE)).stake == ValueRange(60, 100)
        await chain.system.clock.sleep(3_000)  # the ack arrives later: the clock starts there
        acked_at = await chain.time()
        assert (await kit.ack(sent)).ok
        info = await kit.stake(ALICE)
        assert info.stake == ValueRange(60, 60)
        assert [(u.amount, u.release_at) for u in info.pending_unbonds] == [
            (40, acked_at + UNBONDING)
        ]
        await chain.system.clock.sleep(UNBONDING - 1_200)
        assert (await chain.execute(ALICE, kit.ext, WithdrawUnbonded())).ok
        assert await _lien(kit, kit.ext) == ValueRange(100, 100)
        await chain.system.clock.sleep(1_200)
        assert await chain.time() >= acked_at + UNBONDING
        assert (await chain.execute(ALICE, kit.ext, WithdrawUnbonded())).ok
        assert await _lien(kit, kit.ext) == ValueRange(60, 60)
        assert (await kit.account(ALICE)).free == ValueRange(940, 940)


async def test_unstake_error_ack_restores_the_stake_P_69() -> None:
    async with provider_chain() as kit:
        assert (await kit.bond(ALICE, 1_000)).ok
        await _committed_stake(kit, 100)
        msg = ExternalUnstake(validator=VAL, amount=coin(40))
        assert (await kit.chain.execute(ALICE, kit.ext, msg)).ok
        assert (await kit.error_ack(await kit.one_packet())).ok
        info = await kit.stake(ALICE)
        assert (info.stake, info.pending_unbonds) == (ValueRange(100, 100), ())


async def test_rewards_from_distribute_packets_and_withdrawal_P_73_P_75_P_76() -> None:
    """T = 500, distribute 71 ⇒ points per stake += 71·10^9 // 500 = 142_000_000, leftover
    0 (P-73); the sole staker's pending reward is 71."""
    async with provider_chain() as kit:
        chain = kit.chain
        assert (await kit.bond(ALICE, 1_000)).ok
        await _committed_stake(kit, 500)
        ack, _ = await kit.receive(
            kit.ext, DistributePacket(validator=VAL, rewards=coin(71, REWARDS))
        )
        assert ack.result() == b"{}"
        state = await chain.contract_state(kit.ext)
        distribution = state["distributions"][VAL]
        assert (distribution.points_per_stake, distribution.points_leftover) == (142_000_000, 0)
        pending = await chain.query(kit.ext, PendingRewardsQuery(user=ALICE, validator=VAL))
        assert pending == Coin(denom=REWARDS, amount=71)
        withdraw = ExternalWithdrawRewards(validator=VAL, remote_recipient="consumer1alice")
        assert (await chain.execute(ALICE, kit.ext, withdraw)).ok
        sent = await kit.one_packet()
        assert isinstance(sent.decoded, TransferRewardsPacket)
        assert (sent.decoded.rewards, sent.decoded.recipient) == (
            coin(71, REWARDS),
            "consumer1alice",
        )
        # in flight: a second withdrawal finds nothing left (P-76 [rec])
        assert (await chain.execute(ALICE, kit.ext, withdraw)).error == NoRewards()
        assert (await kit.error_ack(sent)).ok  # the reward stays withdrawable
        assert (await chain.execute(ALICE, kit.ext, withdraw)).ok
        assert (await kit.ack(await kit.one_packet())).ok
        assert (await kit.stake(ALICE)).withdrawn_funds == 71
        assert (await chain.execute(ALICE, kit.ext, withdraw)).error == NoRewards()
        # no stake on a validator: the whole packet fails with an error ack (P-73 [rec])
        ack, result = await kit.receive(
            kit.ext, DistributePacket(validator=REMOTE_VALIDATORS[1], rewards=coin(5, REWARDS))
        )
        text = ack.error_text()
        assert text is not None and NoStake.__name__ in text
        assert result.events == ()


async def test_valset_slash_propagates_with_docs_scenario_5_figures_P_36_P_41_P_78() -> None:
    """Collateral 200; liens local 100 @10 %, A 180 @50 %, B 80 @50 %, C 100 @50 %; the
    consumer of A slashes A's validator by 90 ⇒ f = 55 < 90, d = 35, R = 1.6,
    k = ceil(21.875) = 22: liens 78 / 68 / 58 / 78, collateral 110, max lien 78, total
    slashable 110, free 0 (P-41). Burns go to native staking (the proxy undelegates and
    counts 22 as burned) and to the three external staking contracts (burn packets)."""
    config = make_config(dsign="0.1")  # the chain's double-sign fraction = native's (P-51)
    async with provider_chain(
        config, externals=3, native_dsign="0.1", ext_dsign="0.5", ext_offline="0.5"
    ) as kit:
        chain = kit.chain
        a, b, c = kit.externals
        assert (await kit.bond(ALICE, 200)).ok
        assert (await kit.stake_local(ALICE, 100)).ok
        for ext, amount in ((a, 180), (b, 80), (c, 100)):
            await _committed_stake(kit, amount, ext=ext)
        slash = ValsetUpdatePacket(
            height=200,
            time=await chain.time(),
            slashed=(
                ValidatorSlashInfo(
                    address=VAL,
                    infraction_height=150,
                    infraction_time=await chain.time() - 60,
                    power=180,
                    slash_amount=coin(90),
                    slash_ratio="0.5",
                ),
            ),
        )
        ack, result = await kit.receive(a, slash)
        assert ack.result() == b"{}", ack.error_text()
        details = await kit.account(ALICE)
        assert details.bonded == 110
        assert details.max_lien == ValueRange(78, 78)
        assert details.total_slashable == ValueRange(110, 110)
        assert details.free == ValueRange(0, 0)
        liens = {
            holder: (
                await chain.query(kit.vault, VaultClaimQuery(owner=ALICE, lienholder=holder))
            ).amount
            for holder in (kit.native, a, b, c)
        }
        assert liens == {
            kit.native: ValueRange(78, 78),
            a: ValueRange(68, 68),
            b: ValueRange(58, 58),
            c: ValueRange(78, 78),
        }
        assert (await kit.stake(ALICE, ext=a)).stake == ValueRange(68, 68)
        assert (await kit.stake(ALICE, ext=b)).stake == ValueRange(58, 58)
        assert (await kit.stake(ALICE, ext=c)).stake == ValueRange(78, 78)
        proxy = await kit.proxy_of(ALICE)
        assert (await chain.query(proxy, ProxyConfigQuery())).burned == 22
        assert await chain.delegation_value(proxy, kit.val_a) == 78
        burns = await kit.new_packets()
        assert sorted((s.contract, s.decoded) for s in burns) == sorted(
            (ext, BurnPacket(validators=(VAL,), burn=coin(22))) for ext in (a, b, c)
        )
        assert not [e for e in result.events if e.type == "BurnFailed"]


async def test_cross_slash_caps_the_local_lien_section_8_P_38_P_100_P_101() -> None:
    """Collateral 200; local 150 @5 %, cross 200 @10 %; the consumer slashes 100 ⇒ lien
    capping: local 150 → 100 (the proxy burns 50), cross 100, collateral 100."""
    async with provider_chain() as kit:
        chain = kit.chain
        assert (await kit.bond(ALICE, 200)).ok
        assert (await kit.stake_local(ALICE, 150)).ok
        await _committed_stake(kit, 200)
        slash = ValsetUpdatePacket(
            height=600,
            time=await chain.time(),
            slashed=(
                ValidatorSlashInfo(
                    address=VAL,
                    infraction_height=600,
                    infraction_time=0,
                    power=1,
                    slash_amount=coin(100),
                    slash_ratio="0.1",
                ),
            ),
        )
        ack, _ = await kit.receive(kit.ext, slash)
        assert ack.result() == b"{}"
        assert (await kit.account(ALICE)).bonded == 100
        assert await _lien(kit, kit.native) == ValueRange(100, 100)
        assert await _lien(kit, kit.ext) == ValueRange(100, 100)
        proxy = await kit.proxy_of(ALICE)
        assert (await chain.query(proxy, ProxyConfigQuery())).burned == 50


async def test_tombstoned_validator_refuses_stake_and_releases_unstakes_at_once_P_71_P_88() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        assert (await kit.bond(ALICE, 1_000)).ok
        await _committed_stake(kit, 100)
        update = ValsetUpdatePacket(height=300, time=await chain.time(), tombstoned=(VAL,))
        ack, _ = await kit.receive(kit.ext, update)
        assert ack.result() == b"{}"
        assert (await kit.stake_remote(ALICE, 10)).error == ValidatorNotActive(VAL)
        msg = ExternalUnstake(validator=VAL, amount=coin(100))
        assert (await chain.execute(ALICE, kit.ext, msg)).ok
        assert (await kit.ack(await kit.one_packet())).ok
        assert (await chain.execute(ALICE, kit.ext, WithdrawUnbonded())).ok
        assert await _lien(kit, kit.ext) is None
        assert (await kit.account(ALICE)).free == ValueRange(1_000, 1_000)
