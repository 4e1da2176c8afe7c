"""How often the relayer clears and how many queries a clearing costs (I-22, issue 7's
benchmark): blocks with client updates or plain packet traffic never bring a clearing
forward (the notices carry the packets), a clearing asks each chain once when nothing new is
pending, a handshake or close step is still cleared at once, and whatever a lost notice or a
lost batch carried is still recovered by the periodic clearing (I-22: the relayer may lose
anything and must still relay)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from chains.ibc import ChannelState, RelayerStats, RelayerStatus
from chains.testing import IbcAppClose, IbcAppSend
from mesh_actors import ActorRef
from tests.chains.ibc._world import World, ibc_world
from transport import LinkFaults

pytestmark = pytest.mark.anyio

INTERVAL = 10.0
LONG = {"timeout_seconds": 600}
SHORT = {"timeout_seconds": 60}


@asynccontextmanager
async def relayed(
    faulty: bool = False, **overrides: Any
) -> AsyncIterator[tuple[World, ActorRef[Any], str, str, float]]:
    """An OPEN channel between the test apps; the setup relayer stopped and one relayer
    (``overrides`` on its config) relaying, spawned at the clock time yielded last."""
    async with ibc_world(faults=LinkFaults() if faulty else None) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        setup = await world.spawn_relayer("setup")
        await world.setup_path(setup)
        a_channel, b_channel = await world.open_channel(setup)
        await world.relayer_systems[0].stop(setup)
        spawned_at = world.clock.now()
        relayer = await world.spawn_relayer("relayer", clear_interval=INTERVAL, **overrides)
        await world.clock.sleep(1.0)  # its first clearing (at start) is done
        yield world, relayer, a_channel, b_channel, spawned_at


async def stats(relayer: ActorRef[Any]) -> RelayerStats:
    result: RelayerStats = await relayer.ask(RelayerStatus(), expect=RelayerStats)
    return result


def resolved(world: World, channel: str, count: int) -> bool:
    module = world.a.ibc.module
    return module.next_sequence_send(channel) - 1 >= count and not module.pending_sequences(channel)


async def test_client_update_blocks_do_not_bring_clearing_forward_I_22() -> None:
    # blocks every second, each with a client update on both chains (the relayer's own
    # client-update cadence, I-22): 200 such blocks may cost 200 / INTERVAL clearings, not
    # one per block, and each clearing asks each chain once (nothing is pending)
    async with relayed(client_update_interval=1.0) as (world, relayer, *_):
        client = world.b.ibc.module.client("07-tendermint-0")
        assert client is not None
        updated_from = client.latest_height
        before = await stats(relayer)
        await world.clock.sleep(200.0)
        after = await stats(relayer)
        client = world.b.ibc.module.client("07-tendermint-0")
        assert client is not None and client.latest_height - updated_from >= 150
        clears = after.clears - before.clears
        assert 200 / INTERVAL - 1 <= clears <= 200 / INTERVAL + 1
        assert after.queries - before.queries == 2 * clears
        assert after.failed_clears == 0


async def test_packet_traffic_does_not_bring_clearing_forward_I_22() -> None:
    # a packet every 2 s for 100 s: each is relayed from the notices (receive, then ack),
    # and the clearings stay at the interval's pace
    async with relayed() as (world, relayer, a_channel, _, _):
        before = await stats(relayer)
        for _ in range(50):
            assert (await world.a.execute(IbcAppSend(channel_id=a_channel, **LONG))).ok
            await world.clock.sleep(2.0)
        await world.wait_until(lambda: resolved(world, a_channel, 50), 30)
        after = await stats(relayer)
        assert (await world.b.state()).received_total == 50
        clears = after.clears - before.clears
        elapsed = 100.0 + 30.0
        assert clears <= elapsed / INTERVAL + 1
        # a packet caught in flight by a clearing costs a third ask at most
        assert after.queries - before.queries <= 3 * clears
        assert after.notices - before.notices >= 50


async def test_a_channel_close_is_cleared_at_once_I_20_I_22() -> None:
    # a real change of a channel end is not left to the periodic clearing
    async with relayed(client_update_interval=1.0) as (world, relayer, a_channel, b_channel, _):
        before = await stats(relayer)
        assert (await world.a.execute(IbcAppClose(channel_id=a_channel))).ok
        closed_at = world.clock.now()

        def confirmed() -> bool:
            end = world.b.ibc.module.channel_end(b_channel)
            return end is not None and end.state is ChannelState.CLOSED

        await world.wait_until(confirmed, 60, step=0.1)
        assert world.clock.now() - closed_at < INTERVAL / 2
        assert (await stats(relayer)).clears > before.clears


@pytest.mark.parametrize("lost", ["notice", "batch"])
async def test_a_lost_message_is_recovered_by_the_periodic_clearing_I_22(lost: str) -> None:
    # the link that carries the sent-packet notice (chain-a -> relayer) or the receive batch
    # (relayer -> chain-b) is cut while the packet is sent, then healed: nothing brings a
    # clearing forward (no failure is ever reported), so the periodic one must find it
    async with relayed(faulty=True) as (world, relayer, a_channel, b_channel, spawned_at):
        assert world.faulty is not None
        cut = "chain-a" if lost == "notice" else "chain-b"
        world.faulty.partition(cut, "relayer-0")
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, **LONG))).ok
        await world.clock.sleep(3.0)  # the block ended; its notice (and batch) went out
        world.faulty.heal(cut, "relayer-0")
        next_clearing = spawned_at + INTERVAL
        assert world.clock.now() < next_clearing
        assert world.b.ibc.module.receipt(b_channel, 1) is None
        await world.wait_until(
            lambda: world.b.ibc.module.receipt(b_channel, 1) is not None, 2 * INTERVAL, step=0.1
        )
        assert next_clearing <= world.clock.now() <= next_clearing + 2.0
        await world.wait_until(lambda: resolved(world, a_channel, 1), INTERVAL)
        assert (await world.b.state()).received_total == 1
        counters = await stats(relayer)
        assert counters.failed_clears == 0 and counters.items_failed == 0


async def test_clearing_relays_both_directions_in_at_most_three_queries_I_22() -> None:
    # packets pending on both chains and no notices: each clearing reads both chains, the
    # status of each one's packets on the other (a third ask when the second chain's
    # packets were not foreseen) and relays everything, acks included
    async with relayed(subscribe=False) as (world, relayer, a_channel, b_channel, _):
        await world.relayer_systems[0].stop(relayer)
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=3, **LONG))).ok
        assert (await world.b.execute(IbcAppSend(channel_id=b_channel, count=2, **LONG))).ok
        await world.clock.sleep(3.0)
        assert len(world.a.ibc.module.pending_sequences(a_channel)) == 3
        assert len(world.b.ibc.module.pending_sequences(b_channel)) == 2
        late = await world.spawn_relayer("late", subscribe=False, clear_interval=INTERVAL)

        def both_resolved() -> bool:
            return not world.a.ibc.module.pending_sequences(
                a_channel
            ) and not world.b.ibc.module.pending_sequences(b_channel)

        await world.wait_until(both_resolved, 2 * INTERVAL)
        counters = await stats(late)
        assert counters.items_failed == 0
        assert counters.queries <= 3 * counters.clears
        assert (await world.b.state()).received_total == 3
        assert (await world.a.state()).received_total == 2
        assert world.a.ibc.module.invariant_violations() == []
        assert world.b.ibc.module.invariant_violations() == []


async def test_packets_left_pending_are_foreseen_two_queries_a_clearing_I_22() -> None:
    # a relayer that never delivers (I-22 drop probability 1) leaves the packets pending
    # until they time out: from the second clearing on they are foreseen, so each clearing
    # asks each chain once, and the timeouts still come
    async with relayed(drop_packets=1.0) as (world, relayer, a_channel, _, _):
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=3, **SHORT))).ok
        await world.clock.sleep(INTERVAL + 2.0)  # one clearing saw them pending
        assert len(world.a.ibc.module.pending_sequences(a_channel)) == 3
        before = await stats(relayer)
        await world.clock.sleep(3 * INTERVAL)
        after = await stats(relayer)
        clears = after.clears - before.clears
        assert clears >= 3
        assert after.queries - before.queries == 2 * clears
        await world.wait_until(lambda: resolved(world, a_channel, 3), 10 * INTERVAL)
        assert set((await world.a.state()).outcomes.values()) == {"timeout"}
