"""Rewards of virtual stake through the chain host: withdrawn at each epoch from the previous
epoch's active targets, batched by balance delta in the replies, and sent to the provider as
one ``distribute_batch`` packet while the tokens stay in the converter's reserve (consumer.md
C-24..C-26, C-95, C-99, C-100, C-105, C-110; ibc.md I-81).

The e2e profile collects fees only (C-13); these chains mint a block provision instead, so
every block has rewards to allocate.
"""

from __future__ import annotations

import pytest

from chains import Chain
from chains.consumer import TaskType
from chains.wire import DistributeBatchPacket, InternalUnstakePacket
from tests.chains.consumer_actors._kit import (
    DENOM,
    Consumer,
    consumer_config,
    mesh_of,
    running,
    start_consumer,
)

pytestmark = pytest.mark.anyio

PROVISION = 1_000_000


async def _epoch_with_pending(c: Consumer) -> tuple[dict[str, int], int]:
    """Run the next epoch; return the VS's whole-token pending rewards per validator as they
    were in the epoch's block (what its withdrawals pay, C-26) and the epoch's height."""
    chain = c.chain
    tasks = await chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
    (due,) = [h for kind, h, ct, _ in tasks if kind is TaskType.HANDLE_EPOCH and ct == c.vs]
    await chain.produce_blocks(due - await chain.height())  # block `due` is open

    def pending(ex: object) -> dict[str, int]:
        staking = ex.staking  # type: ignore[attr-defined]
        return {
            d.validator: staking.distribution.pending_rewards(c.vs, d.validator).truncate_int()
            for d in staking.staking.delegations_of(c.vs)
        }

    owed = await chain.read(pending)
    await chain.produce_blocks(1)  # its end-block runs the epoch
    return owed, due


async def test_epoch_withdraws_and_sends_one_batch_C_95_C_99_C_105_I_81() -> None:
    async with running(consumer_config(block_provision=PROVISION)) as chain:
        c = await start_consumer(chain)
        a, b = sorted([chain.operator("val-a"), chain.operator("val-b")])
        assert await c.stake(a, 20_000_000)
        assert await c.stake(b, 40_000_000)
        mark = len(await c.sent())
        await c.next_epoch()  # first epoch: nothing bonded before, nothing to withdraw
        assert [p for p in await c.packets(mark) if isinstance(p, DistributeBatchPacket)] == []
        mark = len(await c.sent())
        owed, _ = await _epoch_with_pending(c)
        assert owed[a] > 0 and owed[b] > owed[a]  # b carries twice the stake
        (batch,) = [p for p in await c.packets(mark) if isinstance(p, DistributeBatchPacket)]
        assert batch.denom == DENOM
        # C-99: one entry per target, ascending, each the balance delta of its withdrawal
        assert [(r.validator, r.reward) for r in batch.rewards] == [(a, owed[a]), (b, owed[b])]
        # C-105: the converter keeps what the provider may release; the VS keeps nothing
        assert await chain.balance(c.converter) == owed[a] + owed[b]
        assert await chain.balance(c.vs) == 0
        # the next epoch sends the next batch, the reserve grows
        mark = len(await c.sent())
        owed_again, _ = await _epoch_with_pending(c)
        (again,) = [p for p in await c.packets(mark) if isinstance(p, DistributeBatchPacket)]
        assert [(r.validator, r.reward) for r in again.rewards] == [
            (a, owed_again[a]),
            (b, owed_again[b]),
        ]
        assert await chain.balance(c.converter) == sum(owed.values()) + sum(owed_again.values())


async def test_rewards_are_sent_before_the_drain_C_100() -> None:
    """With the cap at 0 the epoch still withdraws first: the batch packet precedes the
    internal unstake packets of the same epoch."""
    async with running(consumer_config(block_provision=PROVISION)) as chain:
        c = await start_consumer(chain)
        a = chain.operator("val-a")
        assert await c.stake(a, 20_000_000)
        await c.next_epoch()
        assert (await c.set_max_cap(0)).ok
        mark = len(await c.sent())
        await c.next_epoch()
        kinds = [type(p).__name__ for p in await c.packets(mark)]
        assert kinds == ["DistributeBatchPacket", "InternalUnstakePacket"]
        drain = (await c.packets(mark))[1]
        assert isinstance(drain, InternalUnstakePacket)


async def test_auto_withdrawn_rewards_go_to_the_first_positive_delta_C_110() -> None:
    """Known limitation kept: rewards auto-withdrawn when the epoch unbonds from an inactive
    (jailed) validator wait in the VS and are attributed to the first target with a positive
    delta at the next epoch."""
    async with running(consumer_config(block_provision=PROVISION)) as chain:
        c = await start_consumer(chain)
        a, b = sorted([chain.operator("val-a"), chain.operator("val-b")])
        assert await c.stake(a, 20_000_000)
        assert await c.stake(b, 20_000_000)
        await c.next_epoch()
        await _epoch_with_pending(c)
        await chain.produce_blocks(3)  # rewards accrue on a after the last withdrawal
        jail = await chain.force_downtime(a)
        assert jail.ok
        await chain.produce_blocks(1)
        assert await c.inactive() == {a: False}
        assert await c.unstake(a, 2_000_000)  # the epoch will unbond from a
        owed, _ = await _epoch_with_pending(c)
        assert set(owed) == {a, b}
        # a was not a target; its rewards were paid to the VS by the unbond (C-26) and stay
        auto = await chain.balance(c.vs)
        assert auto == owed[a] > 0
        mark = len(await c.sent())
        owed_next, _ = await _epoch_with_pending(c)
        (batch,) = [p for p in await c.packets(mark) if isinstance(p, DistributeBatchPacket)]
        assert [(r.validator, r.reward) for r in batch.rewards] == [(b, owed_next[b] + auto)]


async def test_reward_flow_is_on_the_clock_C_10(chain: Chain) -> None:
    """Blocks come from the host's timer in virtual time: sleeping 10 block times runs the
    epoch scheduled 10 blocks after the cap, with no explicit block production."""
    c = await start_consumer(chain)
    a = chain.operator("val-a")
    assert await c.stake(a, 80_000_000)
    tasks = await chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
    (due,) = [h for kind, h, ct, _ in tasks if kind is TaskType.HANDLE_EPOCH and ct == c.vs]
    blocks = due - await chain.height() + 1
    await chain.system.clock.sleep(blocks * chain.config.block_time + 0.5)
    assert await chain.height() == due + 1
    assert await c.delegated(a) == 36_000_000
