"""Price feeds (consumer.md C-59..C-63), the simulated price host (C-65) and the ``icq-1``
channel (ibc.md I-96, I-98, I-99). The host runs on a second kit chain; packets are relayed by
hand."""

from __future__ import annotations

import pytest

from chains import Coin, Decimal18, Unauthorized
from chains.consumer import (
    ICQ_VERSION,
    TWAP_QUERY_PATH,
    EmptyTwap,
    EpochGate,
    HandleEpoch,
    IbcChannelNotOpen,
    IbcReceiveNotAccepted,
    IcqPriceHost,
    InvalidIbcVersion,
    InvalidResponseQuery,
    InvalidResponseQueryCode,
    MsgSetPriceFeedContract,
    NoPriceData,
    OnlyUnorderedChannel,
    OutdatedPriceData,
    PriceFeedConfig,
    PriceFeedConfigQuery,
    PriceHostInstantiate,
    PriceKeeper,
    PriceQuery,
    PriceResponse,
    RemotePriceFeedInstantiate,
    RemoteTwapPriceFeed,
    RequestPrice,
    SetHostFailure,
    SetHostPrice,
    SimplePriceFeed,
    SimplePriceFeedInstantiate,
    TaskType,
    TradingPair,
    TwapAnswer,
    TwapRequest,
    UpdatePrice,
    decode_twap_ack,
    decode_twap_request_packet,
    encode_twap_ack,
    encode_twap_payload,
    encode_twap_request_packet,
)
from chains.contract import (
    ChannelConnect,
    ChannelOpen,
    IbcAcknowledgement,
    IbcChannel,
    IbcChannelAlreadyOpen,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
    NonPayable,
    Store,
)
from chains.wire import StakePacket
from tests.chains.consumer._deploy import REMOTE, ConsumerKit, deploy_consumer

D = Decimal18.parse
PAIR = TradingPair(pool_id=7, base_asset="uosmo", quote_asset="stake")


def price(chain: ConsumerKit, feed: str) -> Decimal18:
    answer = chain.query(feed, PriceQuery())
    assert isinstance(answer, PriceResponse)
    return answer.native_per_foreign


# -- C-60 simple feed ------------------------------------------------------------------------------


def test_simple_feed_owner_updates_and_price_never_expires_C_60(chain: ConsumerKit) -> None:
    owner, other = chain.address("owner"), chain.address("other")
    feed = chain.create(
        SimplePriceFeed.code, SimplePriceFeedInstantiate(native_per_foreign=D("0.5")), sender=owner
    )
    assert chain.query(feed, PriceFeedConfigQuery()) == PriceFeedConfig(
        owner=owner, native_per_foreign=D("0.5")
    )
    with pytest.raises(Unauthorized):
        chain.call(other, feed, UpdatePrice(native_per_foreign=D("9")))
    chain.fund(owner, 5)
    with pytest.raises(NonPayable):
        chain.call(
            owner,
            feed,
            UpdatePrice(native_per_foreign=D("9")),
            funds=(Coin(denom="stake", amount=5),),
        )
    chain.call(owner, feed, UpdatePrice(native_per_foreign=D("0.75")))
    chain.advance(blocks=3)
    chain.next_block(seconds=10**8)  # years later: still valid
    assert price(chain, feed) == D("0.75")
    idle = chain.sudo(feed, HandleEpoch())  # nothing sent, nothing routed
    assert idle.ok and idle.packets == () and [e.source for e in idle.events] == ["wasm"]


def test_simple_feed_explicit_owner_and_nonpayable_C_60(chain: ConsumerKit) -> None:
    other = chain.address("other")
    feed = chain.create(
        SimplePriceFeed.code,
        SimplePriceFeedInstantiate(native_per_foreign=D("2"), owner=other),
        sender=chain.address("deployer"),
    )
    chain.call(other, feed, UpdatePrice(native_per_foreign=D("3")))
    assert price(chain, feed) == D("3")
    chain.fund(chain.address("deployer"), 1)
    with pytest.raises(NonPayable):
        chain.create(
            SimplePriceFeed.code,
            SimplePriceFeedInstantiate(native_per_foreign=D("2")),
            sender=chain.address("deployer"),
            funds=(Coin(denom="stake", amount=1),),
        )


def test_simple_feed_optional_ttl_extension_C_60_C_61(chain: ConsumerKit) -> None:
    feed = chain.create(
        SimplePriceFeed.code,
        SimplePriceFeedInstantiate(native_per_foreign=D("0.5"), price_info_ttl_in_secs=10),
        sender=chain.address("owner"),
    )
    chain.next_block()
    assert price(chain, feed) == D("0.5")
    chain.next_block()
    with pytest.raises(OutdatedPriceData):
        price(chain, feed)


# -- C-61, C-62 shared components ------------------------------------------------------------------


def _deps() -> object:
    from chains.contract import ContractStorage, Deps

    store = Store()
    return Deps(ContractStorage(store, "stars1feed"), None, lambda a: a, "c")  # type: ignore[arg-type]


def test_price_keeper_ttl_and_ordering_C_61() -> None:
    keeper = PriceKeeper(_deps())  # type: ignore[arg-type]
    with pytest.raises(NoPriceData):
        keeper.price(1000, 600)
    keeper.update(1000, D("1"))
    assert keeper.price(1559, 600) == D("1")  # age 559
    with pytest.raises(OutdatedPriceData):
        keeper.price(1600, 600)  # age 600
    with pytest.raises(OutdatedPriceData) as info:
        keeper.price(1601, 600)  # age 601
    assert info.value == OutdatedPriceData(1000, 1601, 600)
    keeper.update(999, D("2"))  # older than the stored one: ignored
    assert keeper.latest() == (1000, D("1"))
    keeper.update(1000, D("3"))  # equal time overwrites
    assert keeper.latest() == (1000, D("3"))
    keeper.update(1200, D("4"))
    assert keeper.latest() == (1200, D("4"))


def test_epoch_gate_C_62() -> None:
    gate = EpochGate(_deps())  # type: ignore[arg-type]
    t = 1_700_000_000
    assert gate.trigger(t, 100)  # the first trigger always fires (last_epoch = 0)
    assert not gate.trigger(t + 99, 100)
    assert gate.trigger(t + 100, 100)
    assert not gate.trigger(t + 199, 100)


# -- I-96 wire format ------------------------------------------------------------------------------


def test_icq_request_and_ack_round_trip_I_96() -> None:
    request = TwapRequest(
        pool_id=7, base_asset="uosmo", quote_asset="stake", start_time=1_700_000_000
    )
    data = encode_twap_request_packet(request)
    assert data.startswith(b'{"data":"') and data.endswith(b'","memo":""}')
    assert decode_twap_request_packet(data) == [(TWAP_QUERY_PATH, request)]
    ack = encode_twap_ack([TwapAnswer(value=encode_twap_payload(D("0.55")))])
    assert decode_twap_ack(ack) == D("0.55")
    # the reference reads the TWAP from the response's key field: accepted too
    assert decode_twap_ack(encode_twap_ack([TwapAnswer(key=encode_twap_payload(D("2")))])) == D("2")


@pytest.mark.parametrize(
    ("ack", "error"),
    [
        (IbcAcknowledgement.error("boom"), InvalidResponseQuery("boom")),
        (encode_twap_ack([]), InvalidResponseQuery("expected one response, got 0")),
        (
            encode_twap_ack([TwapAnswer(), TwapAnswer()]),
            InvalidResponseQuery("expected one response, got 2"),
        ),
        (encode_twap_ack([TwapAnswer(code=3)]), InvalidResponseQueryCode(3)),
        (encode_twap_ack([TwapAnswer()]), EmptyTwap()),
        (IbcAcknowledgement.success(b"not json"), None),
    ],
)
def test_icq_ack_checks_in_order_C_63(ack: IbcAcknowledgement, error: Exception | None) -> None:
    with pytest.raises((InvalidResponseQuery, InvalidResponseQueryCode, EmptyTwap)) as info:
        decode_twap_ack(ack)
    if error is not None:
        assert info.value == error


# -- C-63 / I-96 remote feed with the C-65 host ----------------------------------------------------


def _icq_channel(
    contract: str, cid: str, *, order: IbcOrder = IbcOrder.UNORDERED, version: str = ICQ_VERSION
) -> IbcChannel:
    return IbcChannel(
        endpoint=IbcEndpoint(port_id=f"wasm.{contract}", channel_id=cid),
        counterparty_endpoint=IbcEndpoint(port_id="icqhost", channel_id="channel-1"),
        order=order,
        version=version,
        connection_id="connection-1",
    )


class Pair:
    """A consumer chain with a remote feed and a host chain with the price host."""

    def __init__(self, chain: ConsumerKit) -> None:
        self.c = chain
        self.h = ConsumerKit(chain_id="osmosis-1")
        self.owner = self.h.address("owner")
        self.host = self.h.create(IcqPriceHost.code, PriceHostInstantiate(), sender=self.owner)
        self.feed = chain.create(
            RemoteTwapPriceFeed.code,
            RemotePriceFeedInstantiate(
                trading_pair=PAIR, epoch_in_secs=60, price_info_ttl_in_secs=600
            ),
            sender=chain.address("deployer"),
        )

    def connect(self) -> None:
        self.c.open_channel(
            self.feed,
            channel_id="channel-4",
            version=ICQ_VERSION,
            counterparty_version=ICQ_VERSION,
            initiator=True,
        )

    def set_twap(self, value: str) -> None:
        self.h.call(self.owner, self.host, SetHostPrice(pool_id=7, twap=D(value)))

    def relay(self) -> IbcAcknowledgement:
        """Deliver the feed's last packet to the host and its ack back to the feed."""
        sent = self.c.sent[-1]
        packet = IbcPacket(
            sequence=sent.sequence,
            src=IbcEndpoint(port_id=f"wasm.{self.feed}", channel_id=sent.channel_id),
            dest=IbcEndpoint(port_id=f"wasm.{self.host}", channel_id="channel-1"),
            data=sent.data,
            timeout=sent.timeout,
        )
        ack = self.h.receive(self.host, packet).ack
        self.c.acknowledge(self.feed, packet, ack)
        return ack


@pytest.fixture
def pair(chain: ConsumerKit) -> Pair:
    return Pair(chain)


def test_remote_feed_handshake_checks_I_96(chain: ConsumerKit, pair: Pair) -> None:
    core, env = chain.core(pair.feed), chain.env(pair.feed)
    with pytest.raises(OnlyUnorderedChannel):
        core.ibc_channel_open(
            env, ChannelOpen(channel=_icq_channel(pair.feed, "c", order=IbcOrder.ORDERED))
        )
    with pytest.raises(InvalidIbcVersion):
        core.ibc_channel_open(
            env, ChannelOpen(channel=_icq_channel(pair.feed, "c", version="icq-2"))
        )
    with pytest.raises(InvalidIbcVersion):
        core.ibc_channel_open(
            env, ChannelOpen(channel=_icq_channel(pair.feed, "c"), counterparty_version="x")
        )
    # OpenTry is handled too
    assert (
        core.ibc_channel_open(
            env, ChannelOpen(channel=_icq_channel(pair.feed, "c"), counterparty_version=ICQ_VERSION)
        )
        == ICQ_VERSION
    )
    pair.connect()
    with pytest.raises(IbcChannelAlreadyOpen):
        core.ibc_channel_open(env, ChannelOpen(channel=_icq_channel(pair.feed, "channel-5")))
    with pytest.raises(IbcChannelAlreadyOpen):
        core.ibc_channel_connect(env, ChannelConnect(channel=_icq_channel(pair.feed, "channel-5")))


def test_remote_feed_requests_need_a_channel_and_never_receive_C_63(
    chain: ConsumerKit, pair: Pair
) -> None:
    with pytest.raises(IbcChannelNotOpen):
        chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    with pytest.raises(IbcChannelNotOpen):
        chain.sudo(
            pair.feed, HandleEpoch()
        ).unwrap()  # the gate fires, the request fails: all reverted
    with pytest.raises(NonPayable):
        chain.fund(chain.address("d"), 1)
        chain.create(
            RemoteTwapPriceFeed.code,
            RemotePriceFeedInstantiate(
                trading_pair=PAIR, epoch_in_secs=1, price_info_ttl_in_secs=1
            ),
            sender=chain.address("d"),
            funds=(Coin(denom="stake", amount=1),),
        )
    packet = IbcPacket(
        sequence=1,
        src=IbcEndpoint(port_id="icqhost", channel_id="channel-1"),
        dest=IbcEndpoint(port_id=f"wasm.{pair.feed}", channel_id="channel-4"),
        data=b"{}",
        timeout=IbcTimeout(timestamp_ns=(chain.time_s + 600) * 10**9),
    )
    assert chain.receive(pair.feed, packet).ack.error_text() == str(IbcReceiveNotAccepted())


def test_remote_feed_full_loop_with_price_host_C_63_C_65_I_98(
    chain: ConsumerKit, pair: Pair
) -> None:
    pair.connect()
    with pytest.raises(NoPriceData):
        price(chain, pair.feed)
    pair.set_twap("0.55")
    chain.sent.clear()
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())  # permissionless
    (sent,) = chain.sent
    assert sent.channel_id == "channel-4"
    assert sent.timeout.timestamp_ns == (chain.time_s + 600) * 10**9
    ((path, request),) = decode_twap_request_packet(sent.data)
    assert path == TWAP_QUERY_PATH
    assert request == TwapRequest(
        pool_id=7, base_asset="uosmo", quote_asset="stake", start_time=chain.time_s
    )
    chain.next_block()  # the ack is processed in a later block
    pair.relay()
    assert price(chain, pair.feed) == D("0.55")
    stored_at = chain.core(pair.feed)._keeper.latest()[0]  # type: ignore[attr-defined]
    assert stored_at == chain.time_s  # stamped when the ack is processed (I-98)
    assert pair.h.core(pair.host).queries_answered() == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["error_ack", "bad_code", "empty", "no_responses"])
def test_failed_answers_are_consumed_price_unchanged_C_63_I_99(
    chain: ConsumerKit, pair: Pair, mode: str
) -> None:
    """Reference: these make the ack callback fail, so the relayer can never clear them."""
    pair.connect()
    pair.set_twap("0.5")
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    pair.relay()
    pair.h.call(pair.owner, pair.host, SetHostFailure(mode=mode))
    pair.set_twap("0.9")
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    pair.relay()  # does not raise
    assert price(chain, pair.feed) == D("0.5")
    errors = [e for e in chain.events if e.type == "price_feed_error"]
    assert len(errors) == 1


def test_timeout_and_staleness_C_63_I_99(chain: ConsumerKit, pair: Pair) -> None:
    pair.connect()
    pair.set_twap("0.5")
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    pair.relay()
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    sent = chain.sent[-1]
    packet = IbcPacket(
        sequence=sent.sequence,
        src=IbcEndpoint(port_id=f"wasm.{pair.feed}", channel_id=sent.channel_id),
        dest=IbcEndpoint(port_id="icqhost", channel_id="channel-1"),
        data=sent.data,
        timeout=sent.timeout,
    )
    chain.time_out(pair.feed, packet)  # silence: the relayer let it time out
    assert [e.get("error") for e in chain.events if e.type == "price_feed_error"] == ["timeout"]
    chain.next_block(seconds=600)
    with pytest.raises(OutdatedPriceData):
        price(chain, pair.feed)


def test_epoch_ticks_pace_requests_C_44_C_62(chain: ConsumerKit, pair: Pair) -> None:
    pair.connect()
    chain.gov(MsgSetPriceFeedContract(authority=chain.mesh.authority, contract=pair.feed))
    tasks = [t for t in chain.mesh.scheduled_tasks() if t[2] == pair.feed]
    assert [t[0] for t in tasks] == [TaskType.HANDLE_EPOCH]

    def tick() -> int:
        """Run blocks through the feed's next epoch; return how many packets it sent."""
        (task,) = [t for t in chain.mesh.scheduled_tasks() if t[2] == pair.feed]
        chain.sent.clear()
        chain.run_until(task[1])
        chain.next_block()
        return len(chain.sent)

    # epochs come every 10 blocks of 5 s = 50 s; the gate opens every 60 s
    assert tick() == 1  # the first trigger always fires
    assert tick() == 0  # 50 s later
    assert tick() == 1  # 100 s after the first
    assert tick() == 0
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    assert len(chain.sent) == 1  # request{} fires at once ...
    assert tick() == 1  # ... without moving last_epoch: 100 s after the last epoch fire


def test_host_is_owner_controlled_C_65(pair: Pair) -> None:
    with pytest.raises(Unauthorized):
        pair.h.call(pair.h.address("mallory"), pair.host, SetHostPrice(pool_id=7, twap=D("1")))
    with pytest.raises(Exception):  # noqa: B017 - an unknown mode is refused
        pair.h.call(pair.owner, pair.host, SetHostFailure(mode="sometimes"))
    pair.set_twap("1.25")
    assert pair.h.core(pair.host).twap(7) == D("1.25")  # type: ignore[attr-defined]


def test_converter_on_remote_feed_fails_when_price_is_stale_C_59(
    chain: ConsumerKit, pair: Pair
) -> None:
    consumer = deploy_consumer(chain, max_cap=10**9)
    core = consumer.converter_core
    core._config.save(core.config().model_copy(update={"price_feed": pair.feed}))
    v = chain.operator("a")
    packet = StakePacket(delegator="u", validator=v, stake=Coin(denom=REMOTE, amount=1000), tx_id=1)
    assert "NoPriceData" in (consumer.receive(packet).error_text() or "")
    pair.connect()
    pair.set_twap("0.5")
    chain.call(chain.address("anyone"), pair.feed, RequestPrice())
    pair.relay()
    assert consumer.receive(packet, 2).error_text() is None
    assert consumer.vs_core.bond_requests() == {v: 450}
    chain.next_block(seconds=601)
    assert "OutdatedPriceData" in (consumer.receive(packet, 3).error_text() or "")
