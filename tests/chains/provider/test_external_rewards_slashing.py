"""External staking rewards (P-72..P-76, I-82) and slashing (P-78, P-79, P-88, I-90)."""

from __future__ import annotations

import pytest

from chains import Decimal18, InvalidDenom
from chains.contract import InvalidSlashRatio, MissingDenom
from chains.provider import (
    REWARD_SCALE,
    AllPendingRewardsQuery,
    CrossSlash,
    NoRewards,
    NoStake,
    PendingRewardsQuery,
    RewardDistribution,
    SlashInfo,
    StakeRemote,
    ValueRange,
    VaultBond,
    encode_stake_target,
    pending_reward,
)
from chains.wire import (
    DistributeBatchPacket,
    DistributePacket,
    RewardInfo,
    TransferRewardsPacket,
    encode_packet,
)
from tests.chains.provider._deploy import build_provider
from tests.chains.provider._ext_fixture import PERIOD, REWARDS, ExtFixture, decoded, vault_calls
from tests.chains.provider._fakes import coin, rejects


@pytest.fixture
def xf() -> ExtFixture:
    return ExtFixture()


# -- rewards ----------------------------------------------------------------------------------


def test_points_per_stake_example_T_500_P_73() -> None:
    d = RewardDistribution(total_stake=500).distribute("v", 71)
    assert d.points_per_stake == 71 * 10**9 // 500 == 142_000_000
    assert d.points_leftover == 0
    assert REWARD_SCALE == 10**9


def test_leftover_is_carried_to_the_next_distribution_P_73() -> None:
    d = RewardDistribution(total_stake=3).distribute("v", 1)
    assert (d.points_per_stake, d.points_leftover) == (333_333_333, 1)
    d = d.distribute("v", 2)
    # points = 2 * 10**9 + 1, inc = 666_666_667, leftover 0: the carried point completes it
    assert (d.points_per_stake, d.points_leftover) == (1_000_000_000, 0)


def test_reward_example_200_300_I_82_P_74(xf: ExtFixture) -> None:
    # stakes 200 and 300; distribute 50 → 20 and 30; distribute 71 → +28 and +42
    xf.staked("alice", "valA", 200, tx_id=1)
    xf.staked("bob", "valA", 300, tx_id=2)
    xf.distribute(("valA", 50))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (20, 30)
    xf.distribute(("valA", 71))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (48, 72)
    assert xf.ext.state.distribution("valA").points_leftover == 0
    # the 121st token sits as fractions in the floors (48.4 and 72.6): after both withdraw,
    # distribute 9 → 4 and 6
    for user in ("alice", "bob"):
        xf.ack(xf.withdraw_rewards(user, "valA"))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (0, 0)
    xf.distribute(("valA", 9))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (4, 6)


def test_only_committed_stake_earns_read_committed_P_72_I_83(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    in_flight = xf.stake("bob", "valA", 100, tx_id=2)
    xf.distribute(("valA", 10))
    xf.ack(in_flight)
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (10, 0)
    xf.distribute(("valA", 10))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (15, 5)


def test_in_flight_unstake_still_earns_until_committed_and_never_underflows_P_74(
    xf: ExtFixture,
) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.distribute(("valA", 10))
    packet = xf.unstake("alice", "valA", 100)
    # the reference computes with stake.low (0 now) and can underflow here [rec]
    assert xf.reward("alice", "valA") == 10
    xf.distribute(("valA", 10))
    assert xf.reward("alice", "valA") == 20
    xf.ack(packet)
    assert xf.reward("alice", "valA") == 20
    assert pending_reward(0, 0, -5 * 10**9, 0, 0) == 0  # clamped at 0


def test_distribute_errors_P_73(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    # [ref-quirk] the single form names the *received* denom
    rejects(
        xf.store,
        lambda: xf.receive(DistributePacket(validator="valA", rewards=coin(5, "uwrong"))),
        MissingDenom("uwrong"),
    )
    rejects(
        xf.store,
        lambda: xf.receive(
            DistributeBatchPacket(rewards=(RewardInfo(validator="valA", reward=5),), denom="uwrong")
        ),
        InvalidDenom(REWARDS),
    )
    # T == 0: the reference divides by zero; here NoStake fails the whole batch. The core
    # credits valA before it finds valB without stake: all-or-nothing is the host's rollback
    # of a failed receive (P-93), checked on the real executor in the next test
    point = xf.store.savepoint()
    with pytest.raises(NoStake):
        xf.distribute(("valA", 5), ("valB", 5))
    xf.store.rollback_to(point)
    response = xf.receive(DistributePacket(validator="valA", rewards=coin(5, REWARDS)))
    assert response.ack.result() == b"{}"
    assert xf.reward("alice", "valA") == 5


def test_failed_batch_distribute_is_undone_by_the_executor_P_73_P_93() -> None:
    """The batch above credits valA, then fails on valB: on the chain nothing of it stays,
    because the executor rolls the failed receive back (the check runs after the unit, so it
    would see a credit that leaked)."""
    p = build_provider()
    alice = p.user("alice")
    p.chain.fund(alice, 1_000)
    assert p.chain.execute(alice, p.vault, VaultBond(), (p.coin(100),)).ok
    staked = p.chain.execute(
        alice,
        p.vault,
        StakeRemote(contract=p.ext, amount=p.coin(100), msg=encode_stake_target("valA")),
    )
    assert p.chain.ack(staked.packets[0]).ok
    batch = DistributeBatchPacket(
        rewards=(RewardInfo(validator="valA", reward=5), RewardInfo(validator="valB", reward=5)),
        denom=REWARDS,
    )
    p.chain.expect_rejected(
        lambda: p.chain.receive(p.ext, encode_packet(batch)).result, NoStake("valB")
    )
    state = p.ext_core().state
    assert state.pending_reward("valA", state.stake(alice, "valA")) == 0


def test_withdraw_rewards_commit_and_rollback_P_75(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.distribute(("valA", 30))
    packet = xf.withdraw_rewards("alice", "valA")
    body = decoded(packet)
    assert isinstance(body, TransferRewardsPacket)
    assert (body.rewards, body.recipient) == (coin(30, REWARDS), "cons1rcpt")
    xf.ack(packet, ok=False)
    assert xf.reward("alice", "valA") == 30
    xf.timeout(xf.withdraw_rewards("alice", "valA"))
    assert xf.reward("alice", "valA") == 30
    xf.ack(xf.withdraw_rewards("alice", "valA"))
    assert xf.reward("alice", "valA") == 0
    assert xf.stake_of("alice", "valA").withdrawn_funds == 30
    assert xf.range("alice", "valA") == ValueRange(100, 100)
    with pytest.raises(NoRewards):
        xf.withdraw_rewards("alice", "valA")


def test_second_withdrawal_before_the_ack_finds_nothing_rec_P_76(xf: ExtFixture) -> None:
    # [ref-quirk → rec] the reference pays the full amount twice
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.distribute(("valA", 30))
    first = xf.withdraw_rewards("alice", "valA")
    with pytest.raises(NoRewards):
        xf.withdraw_rewards("alice", "valA")
    xf.distribute(("valA", 10))
    second = xf.withdraw_rewards("alice", "valA")
    assert decoded(second).rewards.amount == 10
    xf.ack(first)
    xf.ack(second)
    assert xf.stake_of("alice", "valA").withdrawn_funds == 40


def test_reward_queries_P_77(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.staked("alice", "valB", 100, tx_id=2)
    xf.ack(xf.unstake("alice", "valB", 100))
    xf.distribute(("valA", 7))
    assert xf.ext.query(xf.env(), PendingRewardsQuery(user="alice", validator="valA")) == coin(
        7, REWARDS
    )
    rewards = xf.ext.query(xf.env(), AllPendingRewardsQuery(user="alice")).rewards
    # a validator fully unstaked still appears; never-staked ones do not
    assert [(r.validator, r.rewards.amount) for r in rewards] == [("valA", 7), ("valB", 0)]


# -- slashing ---------------------------------------------------------------------------------


def test_slash_one_user_100_amount_10_I_90(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.slash("valA", 10)
    assert xf.range("alice", "valA") == ValueRange(90, 90)
    assert xf.total("valA") == 90
    assert vault_calls(xf.last_out) == [
        CrossSlash(slashes=(SlashInfo(user="alice", slash=10),), validator="valA")
    ]


def test_slash_e2e_figures_150_000_000_P_78_I_90(xf: ExtFixture) -> None:
    # 150_000_000 staked, 14_890_511 reported ⇒ effective 0.099270073333333333 ⇒ cut 14_890_510
    xf.staked("alice", "valA", 150_000_000, tx_id=1)
    assert Decimal18.from_ratio(14_890_511, 150_000_000) == Decimal18.parse("0.099270073333333333")
    xf.slash("valA", 14_890_511)
    assert xf.range("alice", "valA") == ValueRange.of(150_000_000 - 14_890_510)
    (call,) = vault_calls(xf.last_out)
    assert call.slashes == (SlashInfo(user="alice", slash=14_890_510),)


def test_slash_cuts_pending_unbonds_after_the_infraction_by_the_nominal_ratio_P_78(
    xf: ExtFixture,
) -> None:
    xf.staked("alice", "valA", 1000, tx_id=1)
    xf.ack(xf.unstake("alice", "valA", 100))  # started at T0
    xf.now += 10
    xf.ack(xf.unstake("alice", "valA", 200))  # started at T0 + 10
    xf.slash("valA", 70, ratio="0.1", infraction_time=xf.now - 5)
    stake = xf.stake_of("alice", "valA")
    # only the unbond that started after the infraction loses floor(200 * 0.1) = 20
    assert [u.amount for u in stake.pending_unbonds] == [100, 180]
    assert stake.stake == ValueRange(630, 630)
    (call,) = vault_calls(xf.last_out)
    assert call.slashes == (SlashInfo(user="alice", slash=70 + 20),)


def test_slash_skips_releasable_unbonds_and_includes_zero_stake_users_rec_P_78(
    xf: ExtFixture,
) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.staked("bob", "valA", 100, tx_id=2)
    xf.ack(xf.unstake("bob", "valA", 100))  # bob: zero stake, one pending unbond
    xf.slash("valA", 10, ratio="0.5")
    # [ref-quirk → rec] bob's pending unbond is slashed although his stake is 0
    assert [u.amount for u in xf.stake_of("bob", "valA").pending_unbonds] == [50]
    (call,) = vault_calls(xf.last_out)
    assert call.slashes == (SlashInfo(user="alice", slash=10), SlashInfo(user="bob", slash=50))
    # a releasable entry (release_at <= now) is not touched
    xf.now += PERIOD
    xf.slash("valA", 0, ratio="0.5")
    assert [u.amount for u in xf.stake_of("bob", "valA").pending_unbonds] == [50]


def test_slash_with_zero_total_and_oversized_amount_rec_P_78(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.slash("valA", 1000, ratio="2")
    # eff and ratio clamp to 1
    assert xf.range("alice", "valA") == ValueRange(0, 0)
    assert xf.total("valA") == 0
    xf.slash("valA", 5)  # total 0: no division by zero
    (call,) = vault_calls(xf.last_out)
    assert call.slashes == (SlashInfo(user="alice", slash=0),)


def test_slash_only_if_active_at_the_infraction_height_P_88(xf: ExtFixture) -> None:
    # valA was added at height 100
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.slash("valA", 10, infraction_height=99)
    assert xf.range("alice", "valA") == ValueRange(100, 100)
    assert vault_calls(xf.last_out) == []
    xf.slash("valA", 10, infraction_height=100)
    assert xf.range("alice", "valA") == ValueRange(90, 90)


def test_unparsable_ratio_fails_the_packet_only_when_applicable_P_88(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    rejects(xf.store, lambda: xf.slash("valA", 10, ratio="abc"), InvalidSlashRatio())
    xf.slash("valA", 10, ratio="abc", infraction_height=1)  # not active then: no-op


def test_slash_before_same_packet_tombstone_P_88_I_94(xf: ExtFixture) -> None:
    from chains.wire import ValidatorSlashInfo, ValsetUpdatePacket

    xf.staked("alice", "valA", 100, tx_id=1)
    xf.receive(
        ValsetUpdatePacket(
            height=600,
            time=xf.now,
            tombstoned=("valA",),
            slashed=(
                ValidatorSlashInfo(
                    address="valA",
                    infraction_height=600,
                    infraction_time=0,
                    power=1,
                    slash_amount=coin(10),
                    slash_ratio="0.1",
                ),
            ),
        )
    )
    assert xf.range("alice", "valA") == ValueRange(90, 90)
    assert xf.ext.valset.state("valA").value == "tombstoned"
    # applied twice when delivered twice (P-94): a slash is not idempotent
    # (eff = floor18(10 / 90), cut = floor(90 * 0.111111111111111111) = 9)
    xf.slash("valA", 10, infraction_height=599)
    assert xf.range("alice", "valA") == ValueRange(81, 81)
