"""The relayer and the IBC actors (ibc.md I-1, I-2, I-22, I-26): batching, clearing, late
start, pause/resume, racing relayers, dropped and duplicated submissions, light-client lag,
restartable gateways, and the same code over the JSON codec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest

from chains.ibc import (
    GATEWAY_NAME,
    ClearNow,
    ClearReport,
    IbcGateway,
    PauseRelaying,
    QueryRelayState,
    RelayerStats,
    RelayerStatus,
    RelayState,
    ResumeRelaying,
)
from chains.testing import IbcAppSend
from mesh_actors import ActorRef
from tests.chains.ibc._world import World, ibc_world

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def opened(**world_options: Any) -> AsyncIterator[tuple[World, ActorRef[Any], str, str]]:
    async with ibc_world(**world_options) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer()
        await world.setup_path(relayer)
        a_channel, b_channel = await world.open_channel(relayer)
        yield world, relayer, a_channel, b_channel


def resolved(world: World, channel: str, count: int) -> bool:
    module = world.a.ibc.module
    return module.next_sequence_send(channel) - 1 >= count and not module.pending_sequences(channel)


async def stats(relayer: ActorRef[Any]) -> RelayerStats:
    result: RelayerStats = await relayer.ask(RelayerStatus(), expect=RelayerStats)
    return result


async def test_relays_in_batches_of_at_most_max_batch_I_22() -> None:
    async with opened() as (world, first, a_channel, _):
        await world.relayer_systems[0].stop(first)
        relayer = await world.spawn_relayer("batcher", max_batch=3)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=10, timeout_seconds=600))
        await world.wait_until(lambda: resolved(world, a_channel, 10), 120)
        counters = await stats(relayer)
        assert counters.batches_sent >= 8  # 10 receives and 10 acks, 3 per batch
        assert (await world.b.state()).received_total == 10
        assert world.a.ibc.module.invariant_violations() == []


async def test_relayer_started_late_clears_pending_I_22() -> None:
    async with opened() as (world, first, a_channel, _):
        await world.relayer_systems[0].stop(first)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=4, timeout_seconds=600))
        await world.clock.sleep(30)
        assert len(world.a.ibc.module.pending_sequences(a_channel)) == 4
        await world.spawn_relayer("late", subscribe=False, clear_interval=50.0)
        await world.wait_until(lambda: resolved(world, a_channel, 4), 40)


async def test_pause_and_resume_I_22() -> None:
    async with opened() as (world, relayer, a_channel, _):
        relayer.tell_nowait(PauseRelaying())
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600))
        await world.clock.sleep(30)
        assert (await stats(relayer)).paused
        assert len(world.a.ibc.module.pending_sequences(a_channel)) == 2
        relayer.tell_nowait(ResumeRelaying())
        await world.wait_until(lambda: resolved(world, a_channel, 2), 30)


async def test_racing_relayers_are_harmless_I_12_I_22() -> None:
    async with opened() as (world, first, a_channel, b_channel):
        second = await world.spawn_relayer("second", 1)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=5, timeout_seconds=600))
        await world.wait_until(lambda: resolved(world, a_channel, 5), 60)
        await world.clock.sleep(10)
        first_stats, second_stats = await stats(first), await stats(second)
        assert first_stats.items_noop + second_stats.items_noop > 0  # they did race
        receiver = await world.b.state()
        assert all(n == 1 for n in receiver.applied.values()) and len(receiver.applied) == 5
        assert (await world.a.state()).callbacks == {n: 1 for n in range(5)}
        del b_channel


async def test_duplicated_submissions_are_noops_I_22() -> None:
    async with opened() as (world, first, a_channel, _):
        await world.relayer_systems[0].stop(first)
        relayer = await world.spawn_relayer("twice", duplicate=1.0)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=3, timeout_seconds=600))
        await world.wait_until(lambda: resolved(world, a_channel, 3), 60)
        assert (await stats(relayer)).items_noop > 0
        assert (await world.b.state()).received_total == 3


async def test_dropped_packets_time_out_I_22() -> None:
    async with opened() as (world, first, a_channel, _):
        await world.relayer_systems[0].stop(first)
        await world.spawn_relayer("dropper", drop_packets=1.0)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=3, timeout_seconds=20))
        await world.wait_until(lambda: resolved(world, a_channel, 3), 120)
        sender = await world.a.state()
        assert set(sender.outcomes.values()) == {"timeout"}
        assert sender.balance == 10**12  # as if never sent
        assert (await world.b.state()).applied == {}


async def test_light_client_lag_waits_for_committed_block_I_2() -> None:
    async with opened(block_time=4.0) as (world, relayer, a_channel, b_channel):
        sent_at = world.clock.now()
        await world.a.execute(IbcAppSend(channel_id=a_channel, timeout_seconds=600))
        gateway = world.a.ibc.gateway
        state = await gateway.ask(QueryRelayState(connection_id="connection-0"), expect=RelayState)
        assert state.pending == ()  # sent in the open block: not provable yet
        await world.wait_until(
            lambda: world.b.ibc.module.receipt(b_channel, 1) is not None, 60, step=0.1
        )
        assert world.clock.now() - sent_at >= 0.5  # waited for A's block to end
        client = world.b.ibc.module.client("07-tendermint-0")
        assert client is not None and client.latest_height >= 1
        del relayer


async def test_clear_now_reports_I_22() -> None:
    async with opened() as (_, relayer, _, _):
        report = await relayer.ask(ClearNow(), expect=ClearReport)
        assert report.ok  # (what it found, if anything, was redundant: no-ops)


async def test_gateway_restart_keeps_state_I_26() -> None:
    async with opened() as (world, _, a_channel, _):
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600))
        await world.wait_until(lambda: resolved(world, a_channel, 2), 60)
        handle = world.a.ibc
        await handle.chain.system.stop(handle.gateway)
        assert b"[ibc/channels]" in await handle.chain.dump_state()  # chain state (I-26)
        await handle.chain.spawn_component(
            GATEWAY_NAME,
            partial(IbcGateway, handle.module, handle.chain.host),
            mailbox=IbcGateway.mailbox,
        )
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600))
        await world.wait_until(lambda: resolved(world, a_channel, 4), 60)
        assert (await world.b.state()).received_total == 4


async def test_relays_over_the_json_codec_I_22() -> None:
    async with opened(force_codec=True) as (world, _, a_channel, b_channel):
        await world.a.execute(
            IbcAppSend(channel_id=a_channel, data=b"\xff\x00 not utf-8", timeout_seconds=600)
        )
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600))
        await world.wait_until(lambda: resolved(world, a_channel, 3), 60)
        assert world.b.ibc.module.receipt(b_channel, 1) is not None
        assert (await world.b.state()).received_total == 2
