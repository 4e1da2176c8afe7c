"""The relayer's quiet back-off (issue 16, I-22): on an idle path the periodic clearing
comes less and less often (up to ``quiet_backoff`` clear intervals), so an idle mesh stops
its clock a few times a day, not every 100 blocks; traffic, carried by the notices, brings
the period back; a lost notice is found at once by the gap in the chain's notice numbers
when a later notice comes, and by the (backed-off) periodic clearing when none comes."""

from __future__ import annotations

import pytest

from chains.testing import IbcAppSend
from tests.chains.ibc.test_relayer_clearing import INTERVAL, LONG, relayed, resolved, stats

pytestmark = pytest.mark.anyio

CAP = 8


async def test_an_idle_path_backs_off_its_clearings_up_to_the_cap_I_22() -> None:
    # 200 intervals of nothing: the periods double (1, 2, 4, 8) and then stay at the cap,
    # so about 200 / CAP clearings, not 200; the safety net still runs at the cap's pace
    async with relayed(quiet_backoff=CAP) as (world, relayer, *_):
        before = await stats(relayer)
        await world.clock.sleep(200 * INTERVAL)
        after = await stats(relayer)
        clears = after.clears - before.clears
        assert 200 / CAP - 2 <= clears <= 200 / CAP + 4
        assert after.failed_clears == 0


async def test_without_backoff_an_idle_path_clears_every_interval_I_22() -> None:
    # the default (quiet_backoff 1) keeps Hermes' fixed period
    async with relayed() as (world, relayer, *_):
        before = await stats(relayer)
        await world.clock.sleep(50 * INTERVAL)
        clears = (await stats(relayer)).clears - before.clears
        assert 49 <= clears <= 51


async def test_traffic_after_a_quiet_stretch_is_relayed_and_resets_the_period_I_22() -> None:
    async with relayed(quiet_backoff=CAP) as (world, relayer, a_channel, _, _):
        await world.clock.sleep(100 * INTERVAL)  # backed off to the cap
        before = await stats(relayer)
        sent_at = world.clock.now()
        for _ in range(5):
            assert (await world.a.execute(IbcAppSend(channel_id=a_channel, **LONG))).ok
            await world.clock.sleep(2.0)
        # from the notices, not from a clearing: well before a capped period
        await world.wait_until(lambda: resolved(world, a_channel, 5), INTERVAL)
        assert (await world.b.state()).received_total == 5
        # the period is back to the interval: clearings every INTERVAL after the traffic,
        # and numbered notices without a gap bring none forward
        await world.clock.sleep(3 * INTERVAL)
        after = await stats(relayer)
        clears = after.clears - before.clears
        elapsed = world.clock.now() - sent_at
        assert 2 <= clears <= elapsed / INTERVAL + 1
        assert after.notices - before.notices >= 5
        assert after.items_failed == 0


async def test_a_lost_notice_is_cleared_at_the_next_notices_gap_I_22() -> None:
    # backed off to 64 intervals; the notice of packet 1 is lost (the chain-a -> relayer
    # link cut while it is sent); the notice of packet 2 comes with a number that skips
    # one, so the relayer clears at once and packet 1 is relayed long before the period
    async with relayed(faulty=True, quiet_backoff=64) as (world, relayer, a_channel, b_channel, _):
        assert world.faulty is not None
        await world.clock.sleep(200 * INTERVAL)
        before = await stats(relayer)
        world.faulty.partition("chain-a", "relayer-0")
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, **LONG))).ok
        await world.clock.sleep(3.0)
        world.faulty.heal("chain-a", "relayer-0")
        assert world.b.ibc.module.receipt(b_channel, 1) is None
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, **LONG))).ok
        sent_at = world.clock.now()
        await world.wait_until(
            lambda: world.b.ibc.module.receipt(b_channel, 1) is not None, INTERVAL, step=0.1
        )
        assert world.clock.now() - sent_at < INTERVAL
        await world.wait_until(lambda: resolved(world, a_channel, 2), INTERVAL)
        after = await stats(relayer)
        assert after.clears > before.clears
        assert after.failed_clears == 0 and after.items_failed == 0


async def test_a_lost_last_notice_is_recovered_within_the_backoff_cap_I_22() -> None:
    # no later notice to show the gap: the backed-off periodic clearing still finds it
    async with relayed(faulty=True, quiet_backoff=CAP) as (world, _, a_channel, b_channel, _):
        assert world.faulty is not None
        await world.clock.sleep(100 * INTERVAL)
        world.faulty.partition("chain-a", "relayer-0")
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, **LONG))).ok
        await world.clock.sleep(3.0)
        world.faulty.heal("chain-a", "relayer-0")
        assert world.b.ibc.module.receipt(b_channel, 1) is None
        await world.wait_until(
            lambda: world.b.ibc.module.receipt(b_channel, 1) is not None,
            CAP * INTERVAL + 5.0,
        )
        await world.wait_until(lambda: resolved(world, a_channel, 1), 2 * INTERVAL)
        assert (await world.b.state()).received_total == 1
