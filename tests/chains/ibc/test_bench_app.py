"""The benchmark's echo app goes through the whole IBC path and counts every outcome.

`benchmarks/bench_ibc.py` trusts these counters to say that every packet was sent,
received and acknowledged exactly once (I-10, I-12, I-29); here they are checked against the
IBC module's own records, with a window smaller than the total (refills sent from the ack
callbacks) and with packets that time out instead.
"""

from __future__ import annotations

import pytest

from chains.testing import BenchAppInit, BenchAppQuery, BenchAppState, BenchStart, IbcBenchApp
from tests.chains.ibc._world import ChainSide, World, ibc_world

pytestmark = pytest.mark.anyio


async def _deploy(side: ChainSide) -> None:
    await side.chain.register_code(IbcBenchApp)
    side.app = await side.chain.instantiate(side.admin, IbcBenchApp.code, BenchAppInit())


async def _state(side: ChainSide) -> BenchAppState:
    state: BenchAppState = await side.chain.query(side.app, BenchAppQuery())
    return state


def _resolved(world: World, channel: str) -> int:
    module = world.a.ibc.module
    return module.next_sequence_send(channel) - 1 - len(module.pending_sequences(channel))


async def test_window_and_refills_deliver_each_packet_once_I_10_I_12_I_29() -> None:
    async with ibc_world() as world:
        await _deploy(world.a)
        await _deploy(world.b)
        relayer = await world.spawn_relayer(max_batch=7)
        await world.setup_path(relayer)
        a_channel, b_channel = await world.open_channel(relayer)
        deadline_ns = (await world.a.chain.time() + 3_600) * 1_000_000_000
        started = await world.a.execute(
            BenchStart(channel_id=a_channel, window=5, total=23, timeout_timestamp_ns=deadline_ns)
        )
        assert started.ok, started.error
        assert (await _state(world.a)).sent == 5  # the window, the rest as refills
        await world.wait_until(lambda: _resolved(world, a_channel) >= 23, 600)
        a, b = await _state(world.a), await _state(world.b)
        assert (a.sent, a.acked, a.error_acks, a.timed_out, a.refill) == (23, 23, 0, 0, 0)
        assert b.received == 23
        assert world.a.ibc.module.next_sequence_send(a_channel) == 24
        assert all(world.b.ibc.module.receipt(b_channel, seq) is not None for seq in range(1, 24))
        assert world.a.ibc.module.invariant_violations() == []


async def test_timeouts_are_counted_and_refill_too_I_13() -> None:
    async with ibc_world() as world:
        await _deploy(world.a)
        await _deploy(world.b)
        relayer = await world.spawn_relayer()
        await world.setup_path(relayer)
        a_channel, _ = await world.open_channel(relayer)
        # nothing is relayed while paused; the packets expire on B's clock meanwhile
        await world.relayer_systems[0].stop(relayer)
        deadline_ns = (await world.a.chain.time() + 30) * 1_000_000_000
        started = await world.a.execute(
            BenchStart(channel_id=a_channel, window=3, total=3, timeout_timestamp_ns=deadline_ns)
        )
        assert started.ok, started.error
        await world.clock.sleep(120)
        await world.spawn_relayer("late")
        await world.wait_until(lambda: _resolved(world, a_channel) >= 3, 600)
        a, b = await _state(world.a), await _state(world.b)
        assert (a.sent, a.acked, a.timed_out) == (3, 0, 3)
        assert b.received == 0
        assert world.a.ibc.module.invariant_violations() == []
