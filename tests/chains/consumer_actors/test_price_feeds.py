"""Price feeds driving the converter through the chain host (consumer.md C-44, C-59..C-63,
C-65, C-69; ibc.md I-96, I-98, I-99).

The remote TWAP feed talks to a simulated price host (`IcqPriceHost`) on a **second `Chain`**
in the same actor system (same virtual clock); the test relays the ``icq-1`` packets and
acknowledgements by hand, one atomic unit per delivery on each chain, because the IBC module
and relayer are not used here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from chains import Chain, Decimal18
from chains.consumer import (
    ICQ_VERSION,
    IcqPriceHost,
    PriceHostInstantiate,
    PriceQuery,
    PriceResponse,
    RemotePriceFeedInstantiate,
    RemoteTwapPriceFeed,
    SetHostFailure,
    SetHostPrice,
    TaskType,
    TradingPair,
)
from chains.contract import IbcChannel, IbcEndpoint, IbcOrder
from tests.chains.consumer_actors._kit import (
    ADMIN,
    Consumer,
    Sent,
    ack_error,
    acknowledge,
    connect,
    consumer_config,
    deploy,
    install,
    mesh_of,
    open_init,
    open_try,
    outbound,
    receive,
    set_price_feed_contract,
    start_consumer,
    time_out,
)

pytestmark = pytest.mark.anyio

D = Decimal18.parse
PAIR = TradingPair(pool_id=7, base_asset="uosmo", quote_asset="stake")
FEED_CHANNEL = "channel-5"
HOST_CHANNEL = "channel-2"


async def _price(chain: Chain, feed: str) -> Decimal18:
    answer = await chain.query(feed, PriceQuery())
    assert isinstance(answer, PriceResponse)
    return answer.native_per_foreign


@dataclass
class Remote:
    """The consumer with a remote TWAP feed, and the price host's chain."""

    c: Consumer
    osmosis: Chain
    host: str
    owner: str

    @property
    def host_end(self) -> IbcEndpoint:
        return IbcEndpoint(port_id=f"wasm.{self.host}", channel_id=HOST_CHANNEL)

    async def requests(self, since: int = 0) -> list[Sent]:
        return [s for s in (await self.c.sent())[since:] if s.contract == self.c.feed]

    async def relay(self, sent: Sent) -> None:
        """Deliver a request to the host and its acknowledgement back to the feed."""
        packet = outbound(sent, self.host_end)
        ack = (await self.osmosis.run_unit(receive(self.host, packet))).unwrap()
        (await self.c.unit(acknowledge(self.c.feed, packet, ack))).unwrap()

    async def set_twap(self, twap: str) -> None:
        (
            await self.osmosis.execute(self.owner, self.host, SetHostPrice(pool_id=7, twap=D(twap)))
        ).unwrap()

    async def fail(self, mode: str) -> None:
        (await self.osmosis.execute(self.owner, self.host, SetHostFailure(mode=mode))).unwrap()

    async def next_feed_epoch(self) -> None:
        tasks = await self.c.chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
        (due,) = [h for k, h, ct, _ in tasks if k is TaskType.HANDLE_EPOCH and ct == self.c.feed]
        await self.c.chain.produce_blocks(due - await self.c.chain.height() + 1)


@asynccontextmanager
async def remote_consumer(chain: Chain) -> AsyncIterator[Remote]:
    await install(chain)
    # I-49 step 1 with a remote feed: TWAP requests at most every 60 s, prices live 600 s
    feed = await chain.instantiate(
        ADMIN,
        RemoteTwapPriceFeed.code,
        RemotePriceFeedInstantiate(trading_pair=PAIR, epoch_in_secs=60, price_info_ttl_in_secs=600),
    )
    c = await deploy(chain, feed=feed)
    async with Chain(consumer_config(chain_id="osmosis-1"), chain.system) as osmosis:
        await osmosis.register_code(IcqPriceHost)
        owner = osmosis.address("dex")
        host = await osmosis.instantiate(owner, IcqPriceHost.code, PriceHostInstantiate())
        remote = Remote(c=c, osmosis=osmosis, host=host, owner=owner)
        # the icq-1 handshake: OpenInit (feed), OpenTry (host), OpenAck, OpenConfirm (I-96)
        feed_end = IbcEndpoint(port_id=f"wasm.{feed}", channel_id=FEED_CHANNEL)
        on_feed = IbcChannel(
            endpoint=feed_end,
            counterparty_endpoint=remote.host_end,
            order=IbcOrder.UNORDERED,
            version=ICQ_VERSION,
            connection_id="connection-1",
        )
        on_host = on_feed.model_copy(
            update={"endpoint": remote.host_end, "counterparty_endpoint": feed_end}
        )
        (await chain.run_unit(open_init(feed, on_feed))).unwrap()
        (await osmosis.run_unit(open_try(host, on_host, ICQ_VERSION))).unwrap()
        (await chain.run_unit(connect(feed, on_feed, ICQ_VERSION))).unwrap()
        (await osmosis.run_unit(connect(host, on_host, None))).unwrap()
        # I-49 step 6: the feed receives epoch ticks from the mesh module
        (await set_price_feed_contract(chain, feed)).unwrap()
        yield remote


async def test_remote_twap_feed_prices_the_stakes_C_44_C_62_C_63_C_65_I_96_I_98(
    chain: Chain,
) -> None:
    async with remote_consumer(chain) as r:
        c = r.c
        a = chain.operator("val-a")
        # C-59: no price yet, so the stake fails (error ack, nothing changed)
        assert not await c.stake(a, 80_000_000)
        await r.set_twap("0.5")
        await r.next_feed_epoch()  # the gate's first trigger always fires (C-62)
        (request,) = await r.requests()
        assert request.channel_id == FEED_CHANNEL
        await chain.produce_blocks(1)  # the ack arrives in a later block
        await r.relay(request)
        assert await _price(chain, c.feed) == D("0.5")
        assert await c.stake(a, 80_000_000)
        assert await c.bond_requests() == {a: 36_000_000}  # C-69 at the TWAP
        # the host moves its price; the next request after 60 s brings it in
        await r.set_twap("0.6")
        mark = len(await c.sent())
        for _ in range(2):  # epochs every 10 blocks (50 s): the gate opens every other one
            await r.next_feed_epoch()
        (request,) = await r.requests(mark)
        await r.relay(request)
        assert await _price(chain, c.feed) == D("0.6")
        assert await c.stake(a, 1000)  # floor(floor(1000 x 0.6) x 0.9) = 540
        assert await c.bond_requests() == {a: 36_000_540}


async def test_failed_answers_leave_the_price_to_go_stale_C_61_C_63_I_99(chain: Chain) -> None:
    """Error acks and timeouts are consumed (Reference: the callback fails); the price stays
    until its 600 s TTL runs out, then every stake fails until a good answer arrives."""
    async with remote_consumer(chain) as r:
        c = r.c
        a = chain.operator("val-a")
        await r.set_twap("0.5")
        await r.next_feed_epoch()
        (first,) = await r.requests()
        await r.relay(first)
        priced_at = await chain.time()
        await r.fail("error_ack")
        mark = len(await c.sent())
        await r.next_feed_epoch()
        await r.next_feed_epoch()
        (failing,) = await r.requests(mark)
        await r.relay(failing)  # consumed: the unit succeeds
        assert await _price(chain, c.feed) == D("0.5")
        # a timed-out request is consumed too
        mark = len(await c.sent())
        await r.next_feed_epoch()
        await r.next_feed_epoch()
        (lost,) = await r.requests(mark)
        result = await c.unit(time_out(c.feed, outbound(lost, r.host_end)))
        assert result.ok
        assert [
            dict(e.attributes)["error"] for e in result.events if e.type == "price_feed_error"
        ] == ["timeout"]
        assert await c.stake(a, 1000)
        # the TTL (C-61): at age 600 s the price is outdated
        await chain.produce_blocks((priced_at + 600 - await chain.time()) // 5)
        assert await chain.time() - priced_at == 600
        ack = await c.stake_ack(a, 1000)
        assert "OutdatedPriceData" in ack_error(ack)
        # a good answer again
        await r.fail("ok")
        mark = len(await c.sent())
        await r.next_feed_epoch()
        await r.next_feed_epoch()
        (good,) = await r.requests(mark)
        await r.relay(good)
        assert await c.stake(a, 1000)


async def test_admin_feed_expiry_fails_every_dependent_operation_C_59_C_60(chain: Chain) -> None:
    """The admin feed with the optional TTL extension: once stale, stakes get error acks and
    the valset forward (which converts slashes at the price) fails its whole sudo."""
    c = await start_consumer(chain, ttl=600)
    a, b = chain.operator("val-a"), chain.operator("val-b")
    assert await c.stake(a, 1000)
    await chain.produce_blocks(121)  # 605 s
    assert not await c.stake(a, 1000)
    events = chain.events()
    assert (await chain.force_downtime(b)).ok
    await chain.produce_blocks(1)
    failed = [dict(e.attributes) for e in events.drain() if e.type == "sudo_failed"]
    assert [f["contract"] for f in failed] == [c.vs]
    assert failed[0]["error"] == "OutdatedPriceData"
    assert (await c.set_price("0.5")).ok
    assert await c.stake(a, 1000)
    assert await c.bond_requests() == {a: 900}
