"""The spec's departures from the reference implementation, shown through the chain host
where the other files of this folder do not already show them (consumer.md C-48, C-92,
C-93, C-97, C-98).

Where each "Reference:" departure of consumer.md is tested through the actors:
C-48 here; C-53 and C-82 in test_staking_flows (zero-cap drain: the task is not re-added,
duplicate follow-ups are caught); C-55 and C-56 in test_valset_updates; C-63 in
test_price_feeds; C-79 in test_deployment and test_valset_updates; C-83/C-84 (I-48, I-102)
in test_staking_flows; C-92, C-93, C-97 and C-98 (zero amounts) here; C-98 (unbonds first)
in test_staking_flows. Each one is also tested on its core in tests/chains/consumer.
"""

from __future__ import annotations

import pytest

from chains import Chain
from chains.wire import InternalUnstakePacket
from tests.chains.consumer_actors._kit import (
    DENOM,
    Consumer,
    close_confirm,
    mesh_of,
    start_consumer,
)

pytestmark = pytest.mark.anyio


async def test_provider_delegators_are_not_validated_C_48(consumer: Consumer) -> None:
    """Reference: the delegator is parsed with the consumer's prefix, so a provider address
    (``osmo1...``) would fail every stake."""
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    assert await c.stake(a, 1000, user="osmo1notastarsaddress")
    records = await chain.read(lambda ex: mesh_of(ex).delegation_records(c.vs))
    assert [(r.delegator, r.validator, r.amount) for r in records] == [
        ("osmo1notastarsaddress", a, 450)
    ]


async def test_internal_unbond_lowers_only_its_validator_C_92(consumer: Consumer) -> None:
    """Requests 600 / 400 bonded at 300 / 200 under cap 500; cap 0 drains; the ack of a's
    drain lowers only a's entry. Reference: ``bonded`` becomes a snapshot of all requests
    (b: 400 while 200 is delegated), so raising the cap again never bonds b's missing 200."""
    c, chain = consumer, consumer.chain
    a, b = sorted([chain.operator("val-a"), chain.operator("val-b")])
    assert await c.stake(a, 1334) and await c.stake(b, 890)  # 600, 400
    assert (await c.set_max_cap(500)).ok
    await c.next_epoch()
    assert await c.bonded() == {a: 300, b: 200}
    assert (await c.set_max_cap(0)).ok
    mark = len(await c.sent())
    await c.next_epoch()
    drains = [s for s in (await c.sent())[mark:] if isinstance(s.decoded(), InternalUnstakePacket)]
    (for_a,) = [s for s in drains if s.decoded().validator == a]
    assert for_a.decoded().normalize_amount.amount == 600  # the record, not the delegation
    assert (await c.ack(for_a)).ok
    assert await c.delegated(a) == 0  # capped at the live 300 (decision, as C-93)
    assert await c.bonded() == {a: 0, b: 200}
    assert await c.bond_requests() == {a: 0, b: 400}
    assert (await c.set_max_cap(2000)).ok
    await c.next_epoch()
    assert await c.delegated(b) == 400


async def test_close_after_a_slash_unbonds_the_live_value_C_93(consumer: Consumer) -> None:
    """Reference: the close unbonds the record amount (45_000_000), which exceeds the
    slashed delegation, so the unbond fails with InvalidSharesAmount and the close with it."""
    c, chain = consumer, consumer.chain
    a = chain.operator("val-a")
    assert await c.stake(a, 100_000_000)
    await c.next_epoch()
    await chain.produce_blocks(1)
    assert (await chain.force_downtime(a)).ok  # the delegation is now worth 40_500_000
    await chain.produce_blocks(1)
    assert await c.delegated(a) == 40_500_000
    result = await c.unit(close_confirm(c.converter, c.channel))
    assert result.ok
    assert await chain.delegation(c.vs, a) is None
    assert await c.total_delegated() == 0
    assert await chain.read(lambda ex: ex.bank.supply_offset(DENOM)) == 0


async def test_several_slashes_in_one_epoch_are_summed_C_97(chain: Chain) -> None:
    """Two downtime slashes of one validator before the epoch: shares 4_500_000 (power 46)
    and 4_010_870 (power 41, round(45/46 x 4_100_000)); the epoch subtracts both, landing
    on the live value 36_489_130. Reference: only the last one, leaving 40_989_130."""
    c = await start_consumer(chain, epoch_length=200)
    a = chain.operator("val-a")
    assert await c.stake(a, 100_000_000)
    await c.next_epoch()
    await chain.produce_blocks(1)
    assert (await chain.force_downtime(a)).data == 4_600_000
    await chain.produce_blocks(121)  # the 600 s jail
    assert (await chain.unjail(a)).ok
    await chain.produce_blocks(1)  # back in the set with power 41
    assert (await chain.force_downtime(a)).data == 4_100_000
    await chain.produce_blocks(1)
    assert [s.slash_amount for s in await c.slash_requests()] == ["4500000", "4010870"]
    await c.next_epoch()
    assert await c.bond_requests() == {a: 36_489_130}
    assert await c.bonded() == {a: 36_489_130}
    assert await c.delegated(a) == 36_489_130
    assert await c.total_delegated() == 36_489_130


async def test_floor_scaling_to_zero_sends_no_zero_bonds_C_98(consumer: Consumer) -> None:
    """Requests of 1 on three validators under cap 2: each scales to 0. Reference: it emits
    zero-amount bonds, which the module refuses (C-46), failing the epoch every time."""
    c, chain = consumer, consumer.chain
    names = ("val-a", "val-b", "val-c")
    for name in names:
        assert await c.stake(chain.operator(name), 4)  # floor(floor(4 x 0.5) x 0.9) = 1
    assert (await c.set_max_cap(2)).ok
    events = chain.events()
    await c.next_epoch()
    assert [e for e in events.drain() if e.type == "sudo_failed"] == []
    assert await c.bonded() == {chain.operator(n): 0 for n in names}
    assert await c.total_delegated() == 0
