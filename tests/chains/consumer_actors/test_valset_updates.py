"""Validator-set updates through the chain host: captured by the mesh module in the block of
the event, reported to each virtual staking contract with its own share of every slash in
that block's end-block, forwarded by the converter in provider tokens, and applied by the
virtual staking contract at its next epoch (consumer.md §8, C-29, C-35, C-36, C-54..C-57,
C-79, C-94, C-97, C-98, C-107..C-109; ibc.md I-89, I-93).

Figures: one share is worth 1_000_000 tokens on every genesis validator (C-13), so a VS that
bonds 45_000_000 leaves the validator with 46_000_000 tokens / 46 shares, of which it holds
45 (the C-56 examples).
"""

from __future__ import annotations

import pytest

from chains import Chain
from chains.modules import JailedUntilNotPassed
from chains.wire import ValsetUpdatePacket
from tests.chains.consumer_actors._kit import (
    Consumer,
    deploy,
    install,
    mesh_of,
    remote,
    start_consumer,
)

pytestmark = pytest.mark.anyio


async def _bond(c: Consumer, validator: str, provider_amount: int) -> None:
    """Stake, run the epoch, and let the staking end-block apply the new power."""
    assert await c.stake(validator, provider_amount)
    await c.next_epoch()
    await c.chain.produce_blocks(1)


async def _updates(c: Consumer, since: int) -> list[ValsetUpdatePacket]:
    return [p for p in await c.packets(since) if isinstance(p, ValsetUpdatePacket)]


async def test_downtime_jail_is_reported_in_its_block_section_8_C_56_C_57_I_89(
    consumer: Consumer,
) -> None:
    """A validator carrying 45_000_000 of its 46_000_000 tokens for the VS, jailed for
    downtime at 10%: burn 4_600_000, VS share 4_500_000 → 9_999_999 provider tokens."""
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    await _bond(c, a, 100_000_000)  # 45_000_000 at 0.5 x 0.9
    validator = await chain.validator(a)
    assert validator is not None and validator.tokens == 46_000_000
    mark = len(await c.sent())
    jail = await chain.force_downtime(a)
    assert jail.data == 4_600_000
    # C-56: the module counts the live value at once (Reference: it ignores slashes)
    assert await c.total_delegated() == 40_500_000
    await chain.produce_blocks(1)  # the end-block of the jail's block
    (update,) = await _updates(c, mark)
    assert update.height == jail.height  # forwarded at the block of the event
    # C-57: downtime jail → removals, updated, jailed, slashed
    assert update.removals == (a,) and update.jailed == (a,)
    assert [v.valoper for v in update.updated] == [a]
    assert update.unjailed == update.tombstoned == () and update.additions == ()
    (slash,) = update.slashed
    assert slash.address == a
    assert slash.slash_amount == remote(9_999_999)  # C-70: invert(4_500_000)
    assert slash.slash_ratio == "0.100000000000000000"
    assert slash.power == 46
    assert slash.infraction_height == jail.height - 2  # h - validator_update_delay - 1
    (pending,) = await c.slash_requests()
    assert pending.slash_amount == "4500000"  # C-56: the VS's share
    assert not pending.is_tombstoned
    assert await c.inactive() == {a: False}
    # C-97, I-93: the next epoch lowers the view and the requests; no oversized unbond
    await c.next_epoch()
    assert await c.bond_requests() == {a: 40_500_000}
    assert await c.bonded() == {a: 40_500_000}
    assert await c.delegated(a) == 40_500_000
    assert await c.slash_requests() == ()


async def test_unjail_and_reentry_report_C_29_C_57(consumer: Consumer) -> None:
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    await _bond(c, a, 100_000_000)
    assert (await chain.force_downtime(a)).ok
    await chain.produce_blocks(1)
    early = await chain.unjail(a)
    assert isinstance(early.error, JailedUntilNotPassed)  # C-29: jailed for 600 s
    await chain.produce_blocks(121)
    mark = len(await c.sent())
    unjail = await chain.unjail(a)
    assert unjail.ok
    await chain.produce_blocks(1)
    # C-57: unjail and re-entry in the same block → additions + unjailed
    (update,) = await _updates(c, mark)
    assert update.height == unjail.height
    assert [v.valoper for v in update.additions] == [a]
    assert update.additions[0].pub_key == "pubkey-val-a"
    assert update.unjailed == (a,)
    assert update.removals == update.jailed == ()
    assert update.slashed == ()
    assert await c.inactive() == {}  # C-94: an addition is active again


async def test_double_sign_tombstones_and_unbonds_at_the_epoch_C_36_C_56_C_98_C_107_C_108(
    consumer: Consumer,
) -> None:
    """Evidence of power 100 at 10% on 46_000_000 tokens: burn 10_000_000; the VS's share
    9_782_609 → 21_739_131 provider tokens; at its next epoch the VS unbonds everything."""
    c, chain = consumer, consumer.chain
    b = chain.operator("val-b")
    await _bond(c, b, 100_000_000)
    record = await chain.validator(b)
    assert record is not None
    mark = len(await c.sent())
    height = await chain.height()
    evidence = await chain.submit_equivocation(
        record.consensus_address, height - 1, await chain.time() - 5, 100
    )
    assert evidence.data == 10_000_000
    await chain.produce_blocks(1)
    (update,) = await _updates(c, mark)
    assert update.height == evidence.height
    assert update.removals == update.jailed == update.tombstoned == (b,)
    (slash,) = update.slashed
    assert slash.slash_amount == remote(21_739_131)
    (pending,) = await c.slash_requests()
    assert pending.slash_amount == "9782609" and pending.is_tombstoned
    assert await c.inactive() == {b: True}
    await c.next_epoch()
    # C-98: a tombstoned validator's whole live delegation is unbonded, its request zeroed
    assert await c.delegated(b) == 0
    assert await c.bond_requests() == {b: 0}
    assert await c.bonded() == {b: 0}
    assert await c.total_delegated() == 0
    # C-107 (known limitation): a later provider unstake for it fails
    assert not await c.unstake(b, 1000)
    # C-108 (known limitation): a stake for it is accepted ... and dropped at the next epoch
    assert await c.stake(b, 1000)
    assert await c.bond_requests() == {b: 450}
    await c.next_epoch()
    assert await c.bond_requests() == {b: 0}
    assert await c.delegated(b) == 0


async def test_slash_share_with_fractional_shares_C_28_C_56(consumer: Consumer) -> None:
    """68.5 shares of which the VS holds 67.5, tokens 68_500_000 (power 68), 10%: burn
    6_800_000, the VS's share 6_700_730 → 14_890_511 provider tokens."""
    c, chain = consumer, consumer.chain
    v = chain.operator("val-c")
    await _bond(c, v, 150_000_000)  # 67_500_000
    mark = len(await c.sent())
    jail = await chain.force_downtime(v)
    assert jail.data == 6_800_000
    validator = await chain.validator(v)
    assert validator is not None and validator.tokens == 61_700_000
    await chain.produce_blocks(1)
    (update,) = await _updates(c, mark)
    (slash,) = update.slashed
    assert slash.slash_amount == remote(14_890_511)
    (pending,) = await c.slash_requests()
    assert pending.slash_amount == "6700730"


async def test_each_contract_gets_its_own_share_of_one_report_C_55_C_56(chain: Chain) -> None:
    """Two virtual staking contracts on one validator (45 and 22.5 of 68.5 shares): one
    report per block, identical but for each contract's share of the slash, including the
    tombstone flag (Reference: cleared by the first contract's report)."""
    await install(chain)
    one = await deploy(chain)
    two = await deploy(chain, remote_denom="uatom", channel_id="channel-1")
    a = chain.operator("val-a")
    assert await one.stake(a, 100_000_000)  # 45_000_000
    assert await two.stake(a, 50_000_000)  # 22_500_000
    await one.next_epoch()
    await chain.produce_blocks(1)
    assert (await one.delegated(a), await two.delegated(a)) == (45_000_000, 22_500_000)
    record = await chain.validator(a)
    assert record is not None and record.tokens == 68_500_000
    mark = len(await one.sent())
    height = await chain.height()
    evidence = await chain.submit_equivocation(
        record.consensus_address, height - 1, await chain.time() - 5, 68
    )
    assert evidence.data == 6_800_000
    await chain.produce_blocks(1)
    # round(45/68.5 x 6_800_000) = 4_467_153, round(22.5/68.5 x 6_800_000) = 2_233_577
    (first,) = await one.slash_requests()
    (second,) = await two.slash_requests()
    assert (first.slash_amount, second.slash_amount) == ("4467153", "2233577")
    assert first.is_tombstoned and second.is_tombstoned
    assert first.model_copy(update={"slash_amount": "0"}) == second.model_copy(
        update={"slash_amount": "0"}
    )
    sent = (await one.sent())[mark:]
    assert sorted(s.channel_id for s in sent) == ["channel-0", "channel-1"]


async def test_no_valset_updates_before_governance_cap_C_109(chain: Chain) -> None:
    """Known limitation kept: only contracts with a cap above 0 get valset updates."""
    c = await start_consumer(chain, max_cap=None)
    a, b = chain.operator("val-a"), chain.operator("val-b")
    assert (await chain.force_downtime(a)).ok
    await chain.produce_blocks(1)
    assert len(await c.sent()) == 1  # the initial sync only
    tasks = await chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
    assert tasks == ()
    assert (await c.set_max_cap(10**9)).ok
    assert (await chain.force_downtime(b)).ok
    await chain.produce_blocks(1)
    (update,) = await _updates(c, 1)
    assert update.jailed == (b,)
