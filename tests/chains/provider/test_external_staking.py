"""External staking core: stake, unstake, acks, unbonding, burns, internal unstake
(P-10, P-13, P-16, P-63..P-71, P-79..P-81, P-84, I-51..I-53, I-57, I-61)."""

from __future__ import annotations

import pytest

from chains import Decimal18, InvalidAmount, InvalidDenom, Unauthorized
from chains.contract import (
    InsufficientDelegations,
    NonPayable,
    ReplyOn,
    SubMsg,
    Underflow,
    WasmExecute,
)
from chains.provider import (
    BurnVirtualStake,
    CommitTx,
    ExternalUnstake,
    InFlightRemoteStaking,
    InFlightRemoteUnstaking,
    InvalidStakeMsg,
    MaxSlash,
    NotEnoughStake,
    ReceiveVirtualStake,
    ReleaseCrossStake,
    RollbackTx,
    StakeNotFound,
    StakeQuery,
    StakesQuery,
    ValidatorNotActive,
    ValueRange,
    encode_stake_target,
)
from chains.wire import (
    BurnPacket,
    InternalUnstakePacket,
    StakePacket,
    UnstakePacket,
    ValsetUpdatePacket,
)
from tests.chains.provider._ext_fixture import (
    EXT,
    PERIOD,
    VAULT,
    ExtFixture,
    decoded,
    vault_calls,
)
from tests.chains.provider._fakes import DENOM, coin, info, rejects


@pytest.fixture
def xf() -> ExtFixture:
    return ExtFixture()


def test_max_slash_reports_the_configured_ratios_P_63(xf: ExtFixture) -> None:
    answer = xf.ext.query(xf.env(), MaxSlash())
    assert answer.slash_ratio_dsign == Decimal18.parse("0.1")
    assert answer.slash_ratio_offline == Decimal18.parse("0.05")


# -- staking (P-64..P-66) ---------------------------------------------------------------------


def test_receive_virtual_stake_reserves_high_and_sends_stake_P_13_P_64_P_84(
    xf: ExtFixture,
) -> None:
    packet = xf.stake("alice", "valA", 100, tx_id=7)
    assert decoded(packet) == StakePacket(
        delegator="alice", validator="valA", stake=coin(100), tx_id=7
    )
    # I-61 / P-84: timeout = sending block time + 600 s, timestamp only
    assert packet.timeout.timestamp_ns == (xf.now + 600) * 10**9
    assert packet.timeout.height == 0
    assert xf.range("alice", "valA") == ValueRange(0, 100)
    # read committed (P-13, P-72): no reward weight yet
    assert xf.total("valA") == 0 and xf.stake_of("alice", "valA").committed == 0
    assert xf.ext.txs.get(7) == InFlightRemoteStaking(7, 100, "alice", "valA")


def test_receive_virtual_stake_errors_P_64(xf: ExtFixture) -> None:
    def call(sender: str, msg: ReceiveVirtualStake, *funds: int) -> object:
        return xf.ext.execute(xf.env(), info(sender, *funds), msg)

    good = ReceiveVirtualStake(
        owner="alice", amount=coin(5), tx_id=1, msg=encode_stake_target("valA")
    )
    rejects(xf.store, lambda: call("alice", good), Unauthorized())
    rejects(xf.store, lambda: call(VAULT, good, 1), NonPayable())
    bad_denom = good.model_copy(update={"amount": coin(5, "uother")})
    rejects(xf.store, lambda: call(VAULT, bad_denom), InvalidDenom(DENOM))
    inactive = good.model_copy(update={"msg": encode_stake_target("valZ")})
    rejects(xf.store, lambda: call(VAULT, inactive), ValidatorNotActive("valZ"))
    garbage = good.model_copy(update={"msg": b"nope"})
    rejects(xf.store, lambda: call(VAULT, garbage), InvalidStakeMsg("not JSON"))
    zero = good.model_copy(update={"amount": coin(0)})
    rejects(xf.store, lambda: call(VAULT, zero), InvalidAmount(0))


def test_success_ack_commits_and_tells_the_vault_P_65_P_97(xf: ExtFixture) -> None:
    packet = xf.stake("alice", "valA", 100, tx_id=7)
    response = xf.ack(packet)
    assert xf.range("alice", "valA") == ValueRange(100, 100)
    assert xf.total("valA") == 100
    (sub,) = response.messages
    assert sub == SubMsg(
        id=sub.id,
        msg=WasmExecute(contract_addr=VAULT, msg=CommitTx(tx_id=7)),
        reply_on=ReplyOn.ERROR,
    )
    assert xf.ext.txs.get(7) is None


@pytest.mark.parametrize("outcome", ["error_ack", "timeout"])
def test_error_ack_or_timeout_rolls_back_and_tells_the_vault_P_66(
    xf: ExtFixture, outcome: str
) -> None:
    xf.staked("alice", "valA", 50, tx_id=1)
    packet = xf.stake("alice", "valA", 100, tx_id=2)
    response = xf.ack(packet, ok=False) if outcome == "error_ack" else xf.timeout(packet)
    assert xf.range("alice", "valA") == ValueRange(50, 50)
    assert xf.total("valA") == 50
    assert vault_calls(list(response.messages)) == [RollbackTx(tx_id=2)]


def test_vault_callback_failure_is_an_alarm_not_a_failed_ack_P_97(xf: ExtFixture) -> None:
    from chains.contract import NotFound, Reply

    response = xf.ext.reply(xf.env(), Reply(id=1, ok=False, error=NotFound("tx", "7")))
    assert [e.type for e in response.events] == ["internal_consistency_alarm"]


def test_unknown_finished_or_mismatched_tx_is_ignored_with_a_warning_P_16(
    xf: ExtFixture,
) -> None:
    packet = xf.stake("alice", "valA", 100, tx_id=7)
    xf.ack(packet)
    before = xf.store.snapshot()
    for deliver in (
        lambda: xf.ack(packet),
        lambda: xf.ack(packet, ok=False),
        lambda: xf.timeout(packet),
    ):
        response = deliver()
        assert [e.type for e in response.events] == ["TxNotPending"]
        assert response.events[0].get("tx_id") == "7"
        assert response.messages == ()
    assert xf.store.snapshot() == before
    # an unstake tx id echoed in a stake packet: another variant, ignored
    unstake = xf.unstake("alice", "valA", 10)
    fake = packet.model_copy(
        update={
            "data": packet.data.replace(b'"tx_id":7', f'"tx_id":{decoded(unstake).tx_id}'.encode())
        }
    )
    response = xf.ack(fake)
    assert [e.type for e in response.events] == ["TxNotPending"]
    assert xf.range("alice", "valA") == ValueRange(90, 100)


# -- unstaking (P-67..P-71) -------------------------------------------------------------------


def test_unstake_reserves_low_with_an_external_tx_id_P_10_P_67(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    packet = xf.unstake("alice", "valA", 30)
    body = decoded(packet)
    assert body == UnstakePacket(delegator="alice", validator="valA", unstake=coin(30), tx_id=2**63)
    assert decoded(xf.unstake("alice", "valA", 1)).tx_id == 2**63 + 1
    assert xf.range("alice", "valA") == ValueRange(69, 100)
    # nothing else moves before the ack
    assert xf.total("valA") == 100
    assert xf.ext.txs.get(2**63) == InFlightRemoteUnstaking(2**63, 30, "alice", "valA")


def test_unstake_errors_P_67(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.unstake("alice", "valA", 60)

    def unstake(amount: int, denom: str = DENOM, sender: str = "alice", *funds: int) -> object:
        return xf.ext.execute(
            xf.env(),
            info(sender, *funds),
            ExternalUnstake(validator="valA", amount=coin(amount, denom)),
        )

    rejects(xf.store, lambda: unstake(41), NotEnoughStake(40))
    rejects(xf.store, lambda: unstake(1, sender="bob"), NotEnoughStake(0))
    rejects(xf.store, lambda: unstake(1, "uother"), InvalidDenom(DENOM))
    rejects(xf.store, lambda: unstake(1, DENOM, "alice", 5), NonPayable())


def test_unbonding_clock_starts_at_the_ack_P_68(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    packet = xf.unstake("alice", "valA", 30)
    xf.now += 250  # the ack arrives later
    xf.ack(packet)
    stake = xf.stake_of("alice", "valA")
    assert stake.stake == ValueRange(70, 70)
    assert [(u.amount, u.release_at) for u in stake.pending_unbonds] == [(30, xf.now + PERIOD)]
    assert xf.total("valA") == 70


def test_unstake_rollback_restores_low_P_69(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.timeout(xf.unstake("alice", "valA", 30))
    assert xf.range("alice", "valA") == ValueRange(100, 100)
    xf.ack(xf.unstake("alice", "valA", 30), ok=False)
    assert xf.range("alice", "valA") == ValueRange(100, 100)
    assert xf.stake_of("alice", "valA").pending_unbonds == ()


def test_withdraw_unbonded_releases_due_entries_inclusive_P_70(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.ack(xf.unstake("alice", "valA", 30))
    release_at = xf.now + PERIOD
    xf.now = release_at - 1
    assert xf.withdraw_unbonded("alice") == []  # zero sum: a successful no-op
    xf.now = release_at
    (sub,) = xf.withdraw_unbonded("alice")
    assert sub.msg == WasmExecute(
        contract_addr=VAULT, msg=ReleaseCrossStake(owner="alice", amount=coin(30))
    )
    assert xf.stake_of("alice", "valA").pending_unbonds == ()


def test_due_entry_behind_a_later_one_is_released_ref_quirk_P_70(xf: ExtFixture) -> None:
    # unbonding period 1000 s: unstake 10 at t=0 from an Active validator, it becomes
    # Unbonded, unstake 5 at t=100 ⇒ at t=100 the reference releases 0, this build 5
    t = xf.now
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.ack(xf.unstake("alice", "valA", 10))
    xf.receive(ValsetUpdatePacket(height=300, time=t, removals=("valA",)))
    xf.now = t + 100
    xf.ack(xf.unstake("alice", "valA", 5))
    stake = xf.stake_of("alice", "valA")
    assert [(u.amount, u.release_at) for u in stake.pending_unbonds] == [
        (10, t + PERIOD),
        (5, t + 100),
    ]
    (sub,) = xf.withdraw_unbonded("alice")
    assert sub.msg.msg.amount == coin(5)
    assert [u.amount for u in xf.stake_of("alice", "valA").pending_unbonds] == [10]


@pytest.mark.parametrize("change", ["removals", "tombstoned"])
def test_unstake_from_unbonded_or_tombstoned_is_releasable_at_once_P_68_P_71(
    xf: ExtFixture, change: str
) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    packet = xf.unstake("alice", "valA", 40)
    xf.receive(ValsetUpdatePacket(height=300, time=xf.now, **{change: ("valA",)}))
    xf.ack(packet)
    (sub,) = xf.withdraw_unbonded("alice")
    assert sub.msg.msg.amount == coin(40)


def test_jailed_validator_unstake_waits_the_full_period_P_68(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.receive(ValsetUpdatePacket(height=300, time=xf.now, jailed=("valA",)))
    xf.ack(xf.unstake("alice", "valA", 40))
    assert xf.withdraw_unbonded("alice") == []
    assert xf.stake_of("alice", "valA").pending_unbonds[0].release_at == xf.now + PERIOD


def test_slash_while_unstake_in_flight_uses_saturating_forms_P_79(xf: ExtFixture) -> None:
    # stake 200 with 200 in-flight unstake ⇒ (0, 200); slash 20 ⇒ (0, 180);
    # commit ⇒ unbond 180 (not 200); rollback instead ⇒ (180, 180)
    for commit in (True, False):
        fx = ExtFixture()
        fx.staked("alice", "valA", 200, tx_id=1)
        packet = fx.unstake("alice", "valA", 200)
        assert fx.range("alice", "valA") == ValueRange(0, 200)
        fx.slash("valA", 20)
        assert fx.range("alice", "valA") == ValueRange(0, 180)
        if commit:
            fx.ack(packet)
            assert fx.range("alice", "valA") == ValueRange(0, 0)
            assert [u.amount for u in fx.stake_of("alice", "valA").pending_unbonds] == [180]
        else:
            fx.ack(packet, ok=False)
            assert fx.range("alice", "valA") == ValueRange(180, 180)


# -- burns (P-80) -----------------------------------------------------------------------------


def _burn(xf: ExtFixture, amount: int, validator: str | None = None) -> list[object]:
    response = xf.ext.execute(
        xf.env(),
        info(VAULT),
        BurnVirtualStake(owner="alice", amount=coin(amount), validator=validator),
    )
    return xf._collect(response)


def test_burn_spreads_over_validators_and_sends_a_burn_packet_P_80(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.staked("alice", "valB", 200, tx_id=2)
    (packet,) = _burn(xf, 101)
    assert decoded(packet) == BurnPacket(validators=("valA", "valB"), burn=coin(101))
    assert xf.range("alice", "valA") == ValueRange(49, 49)
    assert xf.range("alice", "valB") == ValueRange(150, 150)
    assert (xf.total("valA"), xf.total("valB")) == (49, 150)
    (packet,) = _burn(xf, 10, "valB")
    assert decoded(packet).validators == ("valB",)
    # burn acks, error acks and timeouts only produce an event
    for deliver in (
        lambda: xf.ack(packet),
        lambda: xf.ack(packet, ok=False),
        lambda: xf.timeout(packet),
    ):
        response = deliver()
        assert [e.type for e in response.events] == ["burn_ack"]
    assert xf.range("alice", "valB") == ValueRange(140, 140)


def test_burn_errors_P_80(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    rejects(xf.store, lambda: _burn(xf, 101), InsufficientDelegations("alice", 101))
    rejects(xf.store, lambda: _burn(xf, 1, "valB"), InsufficientDelegations("alice", 1))
    msg = BurnVirtualStake(owner="bob", amount=coin(1))
    rejects(
        xf.store,
        lambda: xf.ext.execute(xf.env(), info(VAULT), msg),
        InsufficientDelegations("bob", 1),
    )
    rejects(xf.store, lambda: xf.ext.execute(xf.env(), info("x"), msg), Unauthorized())
    wrong = BurnVirtualStake(owner="alice", amount=coin(1, "uother"))
    rejects(xf.store, lambda: xf.ext.execute(xf.env(), info(VAULT), wrong), InvalidDenom(DENOM))


def test_burn_with_an_unstake_in_flight_saturates_low_rec_P_80(xf: ExtFixture) -> None:
    # [ref-quirk] the reference subtracts from both ends unguarded and aborts here
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.unstake("alice", "valA", 90)
    assert xf.range("alice", "valA") == ValueRange(10, 100)
    _burn(xf, 30)
    assert xf.range("alice", "valA") == ValueRange(0, 70)


# -- internal unstake (P-81) ------------------------------------------------------------------


def _internal(xf: ExtFixture, amount: int, delegator: str = "alice") -> object:
    return xf.receive(
        InternalUnstakePacket(
            delegator=delegator,
            validator="valA",
            normalize_amount=coin(amount, "ucons"),
            inverted_amount=coin(amount),
        )
    )


def test_internal_unstake_is_released_now_and_clamped_P_81(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    response = _internal(xf, 150)
    assert response.ack.result() == b"{}"  # DistributeAck {} [ref-quirk]
    stake = xf.stake_of("alice", "valA")
    assert stake.stake == ValueRange(0, 0)
    assert [(u.amount, u.release_at) for u in stake.pending_unbonds] == [(100, xf.now)]
    assert xf.total("valA") == 0
    assert xf.withdraw_unbonded("alice")[0].msg.msg.amount == coin(100)


def test_internal_unstake_errors_P_81(xf: ExtFixture) -> None:
    with pytest.raises(StakeNotFound):
        _internal(xf, 1)
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.unstake("alice", "valA", 60)
    with pytest.raises(Underflow):
        _internal(xf, 50)


def test_stake_queries_P_89_P_35(xf: ExtFixture) -> None:
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.staked("alice", "valB", 5, tx_id=2)
    info_ = xf.ext.query(xf.env(), StakeQuery(user="alice", validator="valA"))
    assert (info_.stake, info_.committed) == (ValueRange(100, 100), 100)
    zero = xf.ext.query(xf.env(), StakeQuery(user="nobody", validator="valA"))
    assert zero.stake == ValueRange(0, 0)
    stakes = xf.ext.query(xf.env(), StakesQuery(user="alice", start_after="valA"))
    assert [s.validator for s in stakes.stakes] == ["valB"]
    assert EXT == "ext"


def test_in_flight_ops_never_lock_and_conflicts_are_refused_up_front_P_8_P_12(
    xf: ExtFixture,
) -> None:
    # value ranges, not locks (P-8, P-14): other operations on the same keys go on
    xf.staked("alice", "valA", 100, tx_id=1)
    in_flight = xf.stake("alice", "valA", 50, tx_id=2)
    unstake = xf.unstake("alice", "valA", 100)
    assert xf.range("alice", "valA") == ValueRange(0, 150)
    # the in-flight stake cannot be unstaked yet: refused at once, never queued (P-12)
    rejects(
        xf.store,
        lambda: xf.ext.execute(
            xf.env(), info("alice"), ExternalUnstake(validator="valA", amount=coin(1))
        ),
        NotEnoughStake(0),
    )
    # any order of acks gives the serial result
    xf.ack(unstake)
    xf.ack(in_flight)
    assert xf.range("alice", "valA") == ValueRange(50, 50)


def test_external_pagination_caps_at_30_P_35(xf: ExtFixture) -> None:
    from chains.provider import AllPendingRewardsQuery, ExternalAllPendingTxsDescQuery
    from chains.wire import ValidatorInfo

    validators = tuple(f"v{i:02d}" for i in range(35))
    xf.receive(
        ValsetUpdatePacket(
            height=300,
            time=xf.now,
            additions=tuple(ValidatorInfo(valoper=v, pub_key="pk") for v in validators),
        )
    )
    for i, v in enumerate(validators):
        xf.stake("alice", v, 1, tx_id=i + 1)
    stakes = xf.ext.query(xf.env(), StakesQuery(user="alice", limit=100)).stakes
    assert len(stakes) == 30
    assert len(xf.ext.query(xf.env(), StakesQuery(user="alice")).stakes) == 10
    rewards = xf.ext.query(xf.env(), AllPendingRewardsQuery(user="alice", limit=50)).rewards
    assert len(rewards) == 30
    txs = xf.ext.query(xf.env(), ExternalAllPendingTxsDescQuery(limit=99))
    assert [t.id for t in txs] == list(range(35, 5, -1))


def test_queries_never_write_P_4(xf: ExtFixture) -> None:
    from chains.provider import (
        AllPendingRewardsQuery,
        AuthorizedEndpointQuery,
        ExternalConfigQuery,
        IbcChannelQuery,
        ListValidatorsQuery,
        PendingRewardsQuery,
    )

    xf.staked("alice", "valA", 100, tx_id=1)
    point = xf.store.savepoint()
    for query in (
        ExternalConfigQuery(),
        AuthorizedEndpointQuery(),
        IbcChannelQuery(),
        MaxSlash(),
        StakeQuery(user="zed", validator="valQ"),
        StakesQuery(user="alice"),
        PendingRewardsQuery(user="zed", validator="valQ"),
        AllPendingRewardsQuery(user="alice"),
        ListValidatorsQuery(),
    ):
        xf.ext.query(xf.env(), query)
    assert xf.store.journal_length == point.mark
    xf.store.release(point)
