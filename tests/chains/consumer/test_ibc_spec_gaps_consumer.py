"""Consumer-side requirements of ibc.md sections 7 and 9 that no other test named (issue 7):
the converter's reactions to the outcome of its ``distribute`` / ``distribute_batch``
packets (I-58, I-59), their denomination (I-85), and the Band oracle feed (I-97, not built).
"""

from __future__ import annotations

import pytest

from chains import Coin, TopologyError, parse_topology
from chains.consumer import DistributeReward, DistributeRewards, RewardPayment
from chains.contract import IbcAcknowledgement
from chains.wire import DistributeBatchPacket, DistributePacket, decode_consumer_packet
from tests.chains.consumer._deploy import DENOM, Consumer, ConsumerKit, deploy_consumer

SUCCESS = IbcAcknowledgement.success(b"{}")


@pytest.fixture
def consumer(chain: ConsumerKit) -> Consumer:
    return deploy_consumer(chain, max_cap=10**9)


def _events(chain: ConsumerKit, kind: str) -> list[dict[str, str]]:
    return [dict(e.attributes) for e in chain.events if e.type == kind]


def _send(chain: ConsumerKit, consumer: Consumer, form: str) -> object:
    """The converter sends 30 (single) or 10 + 20 (batch) of rewards; its packet."""
    chain.fund(consumer.vs, 30)
    chain.sent.clear()
    if form == "single":
        msg: DistributeReward | DistributeRewards = DistributeReward(validator="v1")
    else:
        msg = DistributeRewards(
            payments=(
                RewardPayment(validator="v1", reward=10),
                RewardPayment(validator="v2", reward=20),
            )
        )
    chain.call(consumer.vs, consumer.converter, msg, funds=(Coin(denom=DENOM, amount=30),))
    (sent,) = chain.sent
    return sent.packet


@pytest.mark.parametrize("form", ["single", "batch"])
def test_distribute_outcomes_on_the_consumer_I_58_I_59(
    chain: ConsumerKit, consumer: Consumer, form: str
) -> None:
    """I-58 / I-59, consumer side: the tokens stay in the converter whatever happens; a
    success ack does nothing more; an error ack (e.g. the provider's ``NoStake``) is an
    event only, no retry (the tokens become unclaimable, I-103); a timeout re-sends the
    identical data with ``now + 86_400 s`` (I-61)."""
    packet = _send(chain, consumer, form)
    assert chain.bank.balance(consumer.converter, DENOM) == 30
    chain.sent.clear()
    chain.acknowledge(consumer.converter, packet, SUCCESS)  # type: ignore[arg-type]
    assert chain.sent == [] and _events(chain, "mesh_ibc_error") == []
    chain.acknowledge(consumer.converter, packet, IbcAcknowledgement.error("NoStake(v2)"))  # type: ignore[arg-type]
    assert chain.sent == []
    (error,) = _events(chain, "mesh_ibc_error")
    assert error["error"] == "NoStake(v2)"
    assert chain.bank.balance(consumer.converter, DENOM) == 30
    chain.advance(blocks=2)
    chain.time_out(consumer.converter, packet)  # type: ignore[arg-type]
    (resent,) = chain.sent
    assert resent.data == packet.data  # type: ignore[attr-defined]
    assert resent.timeout.timestamp_ns == (chain.time_s + 86_400) * 10**9
    assert chain.bank.balance(consumer.converter, DENOM) == 30


def test_distribute_packets_carry_the_consumer_staking_denom_I_85(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    """I-85: ``distribute.rewards.denom`` and ``distribute_batch.denom`` are the consumer's
    staking denom (the converter's ``local_denom``), never the provider's."""
    single = decode_consumer_packet(_send(chain, consumer, "single").data)  # type: ignore[attr-defined]
    batch = decode_consumer_packet(_send(chain, consumer, "batch").data)  # type: ignore[attr-defined]
    assert isinstance(single, DistributePacket) and isinstance(batch, DistributeBatchPacket)
    assert single.rewards == Coin(denom=DENOM, amount=30)
    assert batch.denom == DENOM == consumer.converter_core.config().local_denom
    assert [(r.validator, r.reward) for r in batch.rewards] == [("v1", 10), ("v2", 20)]


_BAND_TOPOLOGY = """
name = "band"
[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
validators = [{ name = "val1", tokens = 10_000_000 }]
[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
validators = [{ name = "val1", tokens = 10_000_000 }]
[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 100_000_000
unbonding_period = 3_600
price_feed = { kind = "band", host = "osmosis", base = "OSMO", quote = "JUNO" }
"""


def test_band_oracle_feed_is_refused_with_the_line_and_field_I_97() -> None:
    """I-97 / C-64: the Band oracle feed (``bandchain-1``) is not built. A topology that asks
    for it is refused up front with a named error pointing at the file, line and field, and
    listing the feeds that exist, rather than failing later or silently using another."""
    with pytest.raises(TopologyError) as refused:
        parse_topology(_BAND_TOPOLOGY, "band.toml")
    text = str(refused.value)
    assert text.startswith("band.toml:19: pairings[0].price_feed:")
    assert "'band'" in text and "'simple', 'remote'" in text
