"""Provider packets through the converter and the virtual staking epochs in EndBlock, on the
chain host (consumer.md §8, C-69..C-75, C-80..C-84, C-86..C-101, C-106; ibc.md I-101, I-105).

Every packet is delivered as one atomic unit (``Chain.run_unit``); epochs run from the mesh
module's scheduler in the end-block of their height.
"""

from __future__ import annotations

import pytest

from chains import BlockPhase, Coin
from chains.consumer import AllStakeResponse, GetAllStake, GetStake, StakeResponse, TaskType
from chains.contract import IbcAcknowledgement
from chains.wire import (
    BurnPacket,
    InternalUnstakePacket,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    ValsetUpdatePacket,
)
from tests.chains.consumer_actors._kit import (
    DENOM,
    SUCCESS_ACK,
    Consumer,
    ack_error,
    close_confirm,
    close_init,
    control_channel,
    inbound,
    local,
    mesh_of,
    receive,
    remote,
)

pytestmark = pytest.mark.anyio


async def test_cross_stake_epoch_and_unstake_figures_section_8(consumer: Consumer) -> None:
    """80_000_000 at price 0.5, discount 0.1: 36_000_000 requested at once, delegated only
    by the epoch in EndBlock; unstaking 30_000_000 leaves 22_500_000 after the next one."""
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    events = chain.events()
    assert await c.stake(a, 80_000_000)
    assert await c.bond_requests() == {a: 36_000_000}  # C-88: updated at once
    await chain.produce_blocks(3)
    assert await c.total_delegated() == 0  # §8: nothing before the epoch
    assert await c.delegated(a) == 0
    height = await c.next_epoch()
    assert await c.delegated(a) == 36_000_000
    assert await c.total_delegated() == 36_000_000
    # the epoch was a sudo call of the module's end-blocker at its height (C-52, C-56)
    sudo = [
        e
        for e in events.drain()
        if e.type == "sudo" and ("_contract_address", c.vs) in e.attributes
    ]
    assert [(e.height, e.phase) for e in sudo] == [(height, BlockPhase.END_BLOCK)]
    # C-101
    assert await chain.query(c.vs, GetStake(validator=a)) == StakeResponse(stake=36_000_000)
    assert await chain.query(c.vs, GetAllStake()) == AllStakeResponse(stakes=((a, 36_000_000),))
    assert await c.unstake(a, 30_000_000)
    assert await c.bond_requests() == {a: 22_500_000}
    await c.next_epoch()
    assert await c.delegated(a) == 22_500_000
    assert await c.total_delegated() == 22_500_000


async def test_stake_ack_event_and_exact_normalization_C_69_C_71_C_106(consumer: Consumer) -> None:
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    expected = 0
    for price, amount in (("0.5", 999), ("0.37", 12_345), ("2", 7), ("0", 1000)):
        assert (await c.set_price(price)).ok
        time_s = await chain.time()
        packet = StakePacket(delegator="osmo1u", validator=a, stake=remote(amount), tx_id=1)
        result = await c.unit(receive(c.converter, inbound(c.converter, packet, 1, time_s)))
        assert result.data == SUCCESS_ACK
        # C-69: two floors, in this order (0.9 = 1 - discount)
        p = {"0.5": (1, 2), "0.37": (37, 100), "2": (2, 1), "0": (0, 1)}[price]
        normalized = (amount * p[0] // p[1]) * 9 // 10
        expected += normalized
        assert await c.events(result, "mesh-bond") == [{"validator": a, "amount": str(normalized)}]
        assert (await c.bond_requests())[a] == expected  # C-106
    # a failed stake changes nothing (C-106): wrong denom
    before = await c.vs_state()
    bad = StakePacket(delegator="u", validator=a, stake=Coin(denom="ufoo", amount=5), tx_id=9)
    ack = await c.deliver(bad)
    assert "WrongDenom" in ack_error(ack)
    assert await c.vs_state() == before


async def test_scaling_to_the_cap_on_a_copy_with_floor_C_98_C_103(consumer: Consumer) -> None:
    """Requests 600 and 400 (provider 1334 and 890): cap 500 bonds 300 and 200; the requests
    keep their full amounts, so cap 2000 bonds them fully; cap 999 unbonds 1 and 1."""
    c, chain = consumer, consumer.chain
    a, b = sorted([chain.operator("val-a"), chain.operator("val-b")])
    assert await c.stake(a, 1334) and await c.stake(b, 890)
    assert await c.bond_requests() == {a: 600, b: 400}
    assert (await c.set_max_cap(500)).ok
    await c.next_epoch()
    assert (await c.delegated(a), await c.delegated(b)) == (300, 200)
    assert await c.bonded() == {a: 300, b: 200}
    assert await c.bond_requests() == {a: 600, b: 400}  # not scaled
    assert await c.total_delegated() == 500
    assert (await c.set_max_cap(2000)).ok
    await c.next_epoch()
    assert (await c.delegated(a), await c.delegated(b)) == (600, 400)
    assert (await c.set_max_cap(999)).ok  # 600*999//1000 = 599, 400*999//1000 = 399
    await c.next_epoch()
    assert (await c.delegated(a), await c.delegated(b)) == (599, 399)
    assert await c.total_delegated() == 998


async def test_moving_stake_at_the_cap_unbonds_first_C_98(consumer: Consumer) -> None:
    """Reference: bonds and unbonds in validator order, so bonding b before unbonding c at
    the cap fails with MaxCapExceeded and the epoch fails every time; here it succeeds."""
    c, chain = consumer, consumer.chain
    b, cc = sorted([chain.operator("val-b"), chain.operator("val-c")])
    assert (await c.set_max_cap(450)).ok
    assert await c.stake(cc, 1000)
    await c.next_epoch()
    assert await c.total_delegated() == 450
    events = chain.events()
    assert await c.unstake(cc, 1000)
    assert await c.stake(b, 1000)
    await c.next_epoch()
    assert [e for e in events.drain() if e.type == "sudo_failed"] == []
    assert await c.delegated(b) == 450
    assert await chain.delegation(c.vs, cc) is None


async def test_burn_splits_over_requests_C_73_C_90_C_91(consumer: Consumer) -> None:
    """Requests 100, 200, 300 (provider 224, 446, 668); a burn of 100 (provider 224) takes
    34, 33, 33; a burn the requests cannot cover fails whole with an error ack."""
    c, chain = consumer, consumer.chain
    a, b, cc = (chain.operator(n) for n in ("val-a", "val-b", "val-c"))
    for v, amount in ((a, 224), (b, 446), (cc, 668)):
        assert await c.stake(v, amount)
    assert await c.bond_requests() == {a: 100, b: 200, cc: 300}
    await c.next_epoch()
    ack = await c.deliver(BurnPacket(validators=(a, b, cc), burn=remote(224)))
    assert ack == SUCCESS_ACK
    assert await c.bond_requests() == {a: 66, b: 167, cc: 267}
    assert dict((await c.vs_state())["burned"]) == {a: 34, b: 33, cc: 33}
    before = await c.vs_state()
    assert not await c.burn((a,), 224 * 10)  # InsufficientDelegations: nothing changes
    assert await c.vs_state() == before
    await c.next_epoch()  # the actual unbonding happens at the epoch
    assert [await c.delegated(v) for v in (a, b, cc)] == [66, 167, 267]


async def test_unstake_after_a_price_rise_fails_C_72_I_104(consumer: Consumer) -> None:
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    assert await c.stake(a, 1000)  # 450
    assert (await c.set_price("0.6")).ok
    before = await c.vs_state()
    # normalized at the current price: 540 > 450
    unstake = UnstakePacket(delegator="osmo1user", validator=a, unstake=remote(1000), tx_id=2)
    ack = await c.deliver(unstake)
    assert "InsufficientBond" in ack_error(ack)
    assert await c.vs_state() == before


async def test_zero_max_cap_drains_every_delegation_section_8_C_96_C_80_C_82_I_105(
    consumer: Consumer,
) -> None:
    c, chain = consumer, consumer.chain
    a, b = chain.operator("val-a"), chain.operator("val-b")
    assert await c.stake(a, 1000, user="osmo1alice")
    assert await c.stake(b, 2000, user="osmo1bob")
    await c.next_epoch()
    assert await c.total_delegated() == 1350
    assert (await c.set_max_cap(0)).ok
    mark = len(await c.sent())
    await c.next_epoch()
    drains = [s for s in (await c.sent())[mark:] if isinstance(s.decoded(), InternalUnstakePacket)]
    packets = [s.decoded() for s in drains]
    assert [(p.delegator, p.validator, p.normalize_amount.amount) for p in packets] == [
        ("osmo1alice", a, 450),
        ("osmo1bob", b, 900),
    ]
    assert [p.inverted_amount.amount for p in packets] == [999, 1999]  # C-70
    # C-80: no local change until the success acks (C-82)
    assert await c.total_delegated() == 1350
    # I-105: an epoch before the acks re-sends for the records still present
    mark = len(await c.sent())
    await c.next_epoch()
    again = [s for s in (await c.sent())[mark:] if isinstance(s.decoded(), InternalUnstakePacket)]
    assert [s.decoded() for s in again] == packets
    for sent in drains:
        assert (await c.ack(sent)).ok
    assert await c.total_delegated() == 0
    assert await chain.delegation(c.vs, a) is None and await chain.delegation(c.vs, b) is None
    records = await chain.read(lambda ex: mesh_of(ex).delegation_records(c.vs))
    assert records == ()
    # the duplicates' follow-ups find nothing left: caught and reported, the acks succeed
    for sent in again:
        result = await c.ack(sent)
        assert result.ok
        (error,) = await c.events(result, "mesh_ibc_error")
        assert error["sequence"] == str(sent.sequence)
    # with no records left, the next epoch drops the epoch task (C-96, C-53)
    await c.next_epoch()
    tasks = await chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
    assert [t for t in tasks if t[0] is TaskType.HANDLE_EPOCH and t[2] == c.vs] == []


async def test_transfer_rewards_pays_from_the_reserve_C_74_C_75(consumer: Consumer) -> None:
    c, chain = consumer, consumer.chain
    recipient = chain.address("rewardee")
    ack = await c.transfer_rewards(recipient, 50)  # nothing in reserve yet
    assert ack.error_text() is not None
    assert (await chain.mint(c.converter, local(80))).ok
    assert await c.transfer_rewards(recipient, 50) == SUCCESS_ACK
    assert await chain.balance(recipient) == 50
    assert await chain.balance(c.converter) == 30
    wrong = Coin(denom="uosmo", amount=1)
    bad = await c.deliver(TransferRewardsPacket(rewards=wrong, recipient=recipient, tx_id=3))
    assert "WrongDenom" in ack_error(bad)
    assert "tx_id" not in str(await chain.contract_state(c.converter))  # C-75


async def test_timeouts_resend_and_error_acks_are_logged_C_82_C_83(consumer: Consumer) -> None:
    c, chain = consumer, consumer.chain
    (sync,) = await c.sent()
    assert isinstance(sync.decoded(), ValsetUpdatePacket)
    await chain.produce_blocks(2)
    result = await c.timeout(sync)
    assert result.ok
    (resent,) = (await c.sent())[1:]
    assert resent.data == sync.data and resent.channel_id == sync.channel_id
    assert resent.timeout.timestamp_ns == (result.time + 86_400) * 10**9
    # an error ack: reported, no retry, no rollback
    result = await c.ack(resent, IbcAcknowledgement.error("nope"))
    assert result.ok
    assert await c.events(result, "mesh_ibc_error") == [
        {"error": "nope", "channel": "channel-0", "sequence": str(resent.sequence)}
    ]
    assert len(await c.sent()) == 2


async def test_close_confirm_unbonds_everything_C_84_C_93_I_101_I_102(consumer: Consumer) -> None:
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    assert await c.stake(a, 1000)
    await c.next_epoch()
    refused = await c.unit(close_init(c.converter, c.channel))
    assert refused.error is not None and refused.error.name == "IbcChannelCloseInitDisallowed"
    wrong = control_channel(c.converter).model_copy(
        update={"endpoint": c.channel.endpoint.model_copy(update={"channel_id": "channel-3"})}
    )
    refused = await c.unit(close_confirm(c.converter, wrong))
    assert refused.error is not None and refused.error.name == "IbcChannelNotMatch"
    assert (await c.unit(close_confirm(c.converter, c.channel))).ok
    assert await chain.delegation(c.vs, a) is None
    assert await c.total_delegated() == 0
    assert await c.bond_requests() == {a: 0}
    tasks = await chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
    assert [t for t in tasks if t[0] is TaskType.HANDLE_EPOCH] == []
    supply_offset = await chain.read(lambda ex: ex.bank.supply_offset(DENOM))
    assert supply_offset == 0  # every virtual token is gone (C-58)
    # I-102: a timeout after the close is reported, not re-sent
    (sync,) = await c.sent()
    result = await c.timeout(sync)
    assert result.ok
    (error,) = await c.events(result, "mesh_ibc_error")
    assert error["error"] == "channel closed"
    assert len(await c.sent()) == 1
