"""Generic IBC requirements no other test named: the packet record (I-9), no cross-chain
atomicity (I-21), no fees or gas (I-28).

Most tests drive two chains synchronously (`tests.chains.ibc._sansio`); the wire test runs
the channel actors and a relayer over the JSON codec on asyncio and trio.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chains import TxResult
from chains.contract import IbcAcknowledgement, IbcEndpoint, IbcPacket, IbcTimeout
from chains.ibc import (
    AcknowledgePackets,
    IbcCommitmentMismatch,
    IbcConfig,
    RelayerConfig,
    UpdateClient,
    WrittenAck,
    packet_commitment,
)
from chains.testing import IbcAppConfigure, IbcAppSend
from tests.chains.ibc._sansio import Link, Side, port
from tests.chains.ibc._world import ibc_world

Channel = tuple[Side, Side, Link, str, str, str, str]
NS = 1_000_000_000
START = 10**12  # the test app's default balance


@pytest.fixture
def channel(pair: tuple[Side, Side, Link]) -> Channel:
    """An OPEN UNORDERED channel between two test apps."""
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    return a, b, link, app_a, app_b, a_channel, b_channel


def _committed(side: Side, channel_id: str) -> list[IbcPacket]:
    return [
        side.ibc.state.packets[(channel_id, seq)] for seq in side.ibc.pending_sequences(channel_id)
    ]


def _no_violations(*sides: Side) -> None:
    for side in sides:
        assert side.ibc.invariant_violations() == []  # I-29


# -- I-9 the packet --------------------------------------------------------------------------


def test_packet_record_has_every_field_of_I_9(channel: Channel) -> None:
    """I-9: ``{sequence, source port/channel, destination port/channel, data,
    timeout_height (revision, height) | 0, timeout_timestamp ns | 0}``, and the destination
    sees the very same data (the test app echoes it in its success ack)."""
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    height = b.ex.height + 100
    deadline = b.ex.block_env.time_ns + 3600 * NS
    sent = a.execute(
        app_a,
        IbcAppSend(
            channel_id=a_channel, amount=5, timeout_height=height, timeout_timestamp_ns=deadline
        ),
    )
    assert sent.ok, sent.error
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=6, timeout_height=height)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=7, timeout_seconds=60)).ok
    first, height_only, time_only = _committed(a, a_channel)
    assert first == IbcPacket(
        sequence=1,
        src=IbcEndpoint(port_id=port(app_a), channel_id=a_channel),
        dest=IbcEndpoint(port_id=port(app_b), channel_id=b_channel),
        data=b'{"nonce":0,"amount":5}',
        timeout=IbcTimeout(revision=0, height=height, timestamp_ns=deadline),
    )
    # an unused timeout is 0, never "missing"
    assert (height_only.sequence, height_only.timeout) == (2, IbcTimeout(height=height))
    assert time_only.sequence == 3
    assert time_only.timeout.height == 0 and time_only.timeout.timestamp_ns > 0
    a.next_block()
    link.settle()
    for sequence, packet in enumerate((first, height_only, time_only), start=1):
        assert b.ibc.receipt(b_channel, sequence) is not None
        ack = b.ibc.acknowledgement(b_channel, sequence)
        assert ack is not None
        assert IbcAcknowledgement(data=ack).result() == packet.data  # the bytes as sent
        assert a.ibc.outcome(a_channel, sequence) == "acked"
    assert b.app(app_b).received_total == 18
    _no_violations(a, b)


def test_packet_values_are_frozen_and_zero_means_unused_I_9() -> None:
    packet = IbcPacket(
        sequence=4,
        src=IbcEndpoint(port_id="wasm.a", channel_id="channel-0"),
        dest=IbcEndpoint(port_id="wasm.b", channel_id="channel-3"),
        data=b"\x00\xffraw",
        timeout=IbcTimeout(revision=2, height=7),
    )
    assert set(IbcPacket.model_fields) == {"sequence", "src", "dest", "data", "timeout"}
    assert set(IbcTimeout.model_fields) == {"revision", "height", "timestamp_ns"}
    assert IbcTimeout() == IbcTimeout(revision=0, height=0, timestamp_ns=0)
    with pytest.raises(ValidationError):
        packet.sequence = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        IbcPacket(**packet.model_dump(), memo="x")  # type: ignore[call-arg]
    # 0 = unused: a packet with no height timeout is receivable at any height, and so on
    assert not IbcTimeout(timestamp_ns=10 * NS).expired(10**12, 10 * NS - 1)
    assert IbcTimeout(timestamp_ns=10 * NS).expired(1, 10 * NS)
    assert not IbcTimeout(height=7).expired(6, 10**30)
    assert IbcTimeout(height=7).expired(7, 0)


def test_timeout_height_revision_is_part_of_the_packet_I_9(channel: Channel) -> None:
    """The timeout height is ``(revision, height)``: the commitment binds the revision, so a
    relayer that hands back the packet with another revision is refused."""
    a, b, link, app_a, _, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    (packet,) = _committed(a, a_channel)
    other = packet.model_copy(update={"timeout": packet.timeout.model_copy(update={"revision": 1})})
    assert packet_commitment(other) != packet_commitment(packet)
    a.next_block()
    link.step()  # received on b
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack is not None
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=b.header()),
        AcknowledgePackets(
            acks=(WrittenAck(packet=other, ack=ack),), proof_height=b.header().height
        ),
    )
    assert results[1].items == (IbcCommitmentMismatch.__name__,)
    assert a.ibc.pending_sequences(a_channel) == (1,)
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "acked"
    _no_violations(a, b)


@pytest.mark.anyio
async def test_packet_fields_survive_the_wire_codec_I_9() -> None:
    """Through channel actors and a relayer over the JSON codec, a packet with both timeouts
    arrives intact: the ack is accepted against the stored commitment (which hashes every
    timeout field and the data) and echoes the data."""
    async with ibc_world(force_codec=True) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer()
        await world.setup_path(relayer)
        a_channel, b_channel = await world.open_channel(relayer)
        b_height = await world.b.chain.height()
        result = await world.a.execute(
            IbcAppSend(
                channel_id=a_channel,
                amount=9,
                timeout_height=b_height + 10_000,
                timeout_seconds=3600,
            )
        )
        assert result.ok, result.error
        module_a, module_b = world.a.ibc.module, world.b.ibc.module
        packet = module_a.state.packets[(a_channel, 1)]
        assert packet.timeout.height == b_height + 10_000 and packet.timeout.timestamp_ns > 0
        await world.wait_until(lambda: module_a.outcome(a_channel, 1) == "acked", 300)
        ack = module_b.acknowledgement(b_channel, 1)
        assert ack is not None and IbcAcknowledgement(data=ack).result() == packet.data
        assert (await world.b.state()).received_total == 9
        assert module_a.invariant_violations() == module_b.invariant_violations() == []


# -- I-21 no cross-chain atomicity -------------------------------------------------------------


def test_destination_commits_before_the_source_learns_I_21(channel: Channel) -> None:
    """The receive is committed on b while a still holds its reservation; a failing ack
    callback on a reverts a's step only, never b's receive."""
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppConfigure(fail_ack=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=7, timeout_seconds=600)).ok
    a.next_block()
    link.step()  # receive on b only: b's ack is provable from the next round on
    assert b.app(app_b).received_total == 7
    assert b.ibc.receipt(b_channel, 1) is not None
    sender = a.app(app_a)
    assert sender.pending == {0: 7} and sender.outcomes == {}
    assert sender.balance == START - 7
    done = link.step()  # the ack reaches a, whose callback fails: only a's step reverts
    assert done[-1][2][-1].items == ("IbcTestAppError",)
    assert a.ibc.pending_sequences(a_channel) == (1,)
    assert a.app(app_a).pending == {0: 7}
    assert b.app(app_b).received_total == 7  # b is not rolled back
    assert b.app(app_b).applied == {(b_channel, 0): 1}
    assert a.execute(app_a, IbcAppConfigure(fail_ack=False)).ok
    link.settle()
    sender = a.app(app_a)
    assert sender.outcomes == {0: "ack"} and sender.pending == {}
    assert sender.balance == START - 7
    _no_violations(a, b)


def test_source_learns_a_refusal_only_through_the_ack_I_21(channel: Channel) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert b.execute(app_b, IbcAppConfigure(fail_receive=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=5, timeout_seconds=600)).ok
    a.next_block()
    link.step()
    # b refused and wrote an error ack; a's send stays committed, its reservation held
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack is not None and IbcAcknowledgement(data=ack).error_text() is not None
    assert b.app(app_b).received_total == 0
    assert a.app(app_a).balance == START - 5 and a.app(app_a).pending == {0: 5}
    link.settle()
    sender = a.app(app_a)
    assert sender.outcomes == {0: "error"} and sender.balance == START  # refunded on the ack
    _no_violations(a, b)


def test_source_learns_a_loss_only_through_the_timeout_I_21(channel: Channel) -> None:
    a, b, link, app_a, app_b, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=4, timeout_seconds=20)).ok
    a.next_block()
    b.next_block(count=10)  # nothing relayed while b's time passes the deadline
    assert a.app(app_a).pending == {0: 4}  # a cannot know yet
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "timed_out"
    assert a.app(app_a).outcomes == {0: "timeout"} and a.app(app_a).balance == START
    assert b.app(app_b).applied == {}
    _no_violations(a, b)


# -- I-28 fees and gas are not modelled --------------------------------------------------------


def test_relaying_costs_no_fees_and_meters_no_gas_I_28(channel: Channel) -> None:
    """A heavy round (400 packets sent in one transaction, received in one operation) moves
    no token anywhere: no fee is charged to the sender or to the relayer (which has no
    account at all), and nothing runs out of gas."""
    a, b, link, app_a, app_b, a_channel, _ = channel
    balances = {s.chain_id: sorted(s.ex.bank.iter_balances()) for s in (a, b)}
    supply = {s.chain_id: s.ex.bank.supply("stake") for s in (a, b)}
    sent = a.execute(app_a, IbcAppSend(channel_id=a_channel, count=400, timeout_seconds=3600))
    assert sent.ok, sent.error
    a.next_block()
    first = link.step()
    (recv,) = [results for chain_id, _, results in first if chain_id == b.chain_id]
    assert recv[-1].items == ("ok",) * 400  # one RecvPackets operation, no gas limit
    link.settle()
    assert a.ibc.pending_sequences(a_channel) == ()
    assert b.app(app_b).received_total == 400
    for side in (a, b):
        assert sorted(side.ex.bank.iter_balances()) == balances[side.chain_id]
        assert side.ex.bank.supply("stake") == supply[side.chain_id]
        assert side.ex.bank.all_balances("relayer") == ()
    # no gas or fee anywhere in what a transaction reports or the IBC layers are told
    for fields in (TxResult._fields, IbcConfig.model_fields, RelayerConfig.model_fields):
        assert not [f for f in fields if "gas" in f or "fee" in f], fields
    _no_violations(a, b)
