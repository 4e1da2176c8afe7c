"""Packets: send, receive, acknowledge, time out (ibc.md I-8..I-19, I-23..I-29, I-33, I-37)."""

from __future__ import annotations

import base64
import json

import pytest

from chains import Coin
from chains.contract import (
    MAX_PACKET_SIZE,
    IbcAcknowledgement,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
    IbcTransfer,
    PacketTooLarge,
)
from chains.ibc import (
    AcknowledgePackets,
    IbcBadChannelState,
    IbcConfig,
    IbcConsensusNotFound,
    IbcEventType,
    IbcNoTimeout,
    IbcPacketExpired,
    IbcPacketOutOfOrder,
    IbcPacketTimedOut,
    IbcTimeoutNotReached,
    IbcTransferUnsupported,
    IbcUnknownChannel,
    RecvPackets,
    TimeoutPackets,
    UpdateClient,
    WrittenAck,
    packet_commitment,
)
from chains.modules import ModuleCall
from chains.testing import IbcAppClose, IbcAppConfigure, IbcAppSend
from tests.chains.ibc._sansio import Link, Side, port

NS = 1_000_000_000


@pytest.fixture
def channel(pair: tuple[Side, Side, Link]) -> tuple[Side, Side, Link, str, str, str, str]:
    """An OPEN UNORDERED channel between two test apps."""
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    return a, b, link, app_a, app_b, a_channel, b_channel


def _sent(a: Side, channel_id: str) -> list[IbcPacket]:
    return [a.ibc.state.packets[(channel_id, seq)] for seq in a.ibc.pending_sequences(channel_id)]


def _check(*sides: Side) -> None:
    for side in sides:
        assert side.ibc.invariant_violations() == []  # I-29


# -- send (I-8, I-37, I-33) -----------------------------------------------------------------


def test_send_assigns_sequences_and_stores_commitments_I_8(channel: tuple) -> None:
    a, _, _, app_a, _, a_channel, _ = channel
    result = a.execute(app_a, IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=60))
    assert result.ok, result.error
    assert a.ibc.next_sequence_send(a_channel) == 3
    packets = _sent(a, a_channel)
    assert [p.sequence for p in packets] == [1, 2]
    for packet in packets:
        stored, _ = a.ibc.state.commitments[(a_channel, packet.sequence)]
        assert stored == packet_commitment(packet)
    # the commitment is H(timeout_timestamp || timeout_height || H(data)) (I-8)
    import hashlib
    import struct

    p = packets[0]
    expected = hashlib.sha256(
        struct.pack(">QQQ", p.timeout.timestamp_ns, 0, p.timeout.height)
        + hashlib.sha256(p.data).digest()
    ).digest()
    assert packet_commitment(p) == expected
    (event, _) = [e for e in result.events if e.type == IbcEventType.SEND_PACKET]
    assert event.get("seq") == "1" and event.get("src_channel") == a_channel  # I-25
    assert event.get("timeout_timestamp") == str(p.timeout.timestamp_ns)
    _check(a)


def test_send_needs_a_timeout_I_8(channel: tuple) -> None:
    a, _, _, app_a, _, a_channel, _ = channel
    result = a.execute(app_a, IbcAppSend(channel_id=a_channel))
    assert result.error == IbcNoTimeout()
    assert a.ibc.next_sequence_send(a_channel) == 1


def test_send_refused_when_already_expired_by_client_view_I_8(channel: tuple) -> None:
    a, _b, link, app_a, _, a_channel, _ = channel
    # a's client of b knows some height h of b: a timeout at or below h is already past
    client = a.ibc.client(link.a_side.client_id)
    assert client is not None
    expired = a.execute(
        app_a, IbcAppSend(channel_id=a_channel, timeout_height=client.latest_height)
    )
    assert expired.error == IbcPacketExpired(
        client.latest_height, 0, client.latest_height, client.latest_time_ns
    )
    late = a.execute(
        app_a, IbcAppSend(channel_id=a_channel, timeout_timestamp_ns=client.latest_time_ns)
    )
    assert isinstance(late.error, IbcPacketExpired)
    ok = a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=client.latest_height + 1))
    assert ok.ok
    assert a.app(app_a).balance == 10**12 - 1  # the refused sends reserved nothing


def test_send_is_part_of_the_callers_unit_I_8(channel: tuple) -> None:
    a, _, _, app_a, _, a_channel, _ = channel
    # the app reserves from its balance per packet: too many packets fail the whole tx
    assert a.execute(app_a, IbcAppConfigure()).ok
    result = a.execute(
        app_a, IbcAppSend(channel_id=a_channel, count=3, amount=10**12 // 2, timeout_seconds=60)
    )
    assert not result.ok
    assert a.ibc.next_sequence_send(a_channel) == 1  # no packet exists
    assert a.ibc.pending_sequences(a_channel) == ()


def test_send_on_unknown_or_foreign_channel_I_8(channel: tuple) -> None:
    a, _, _, app_a, _, _, _ = channel
    other = a.deploy_app()
    result = a.execute(other, IbcAppSend(channel_id="channel-0", timeout_seconds=60))
    assert result.error == IbcUnknownChannel(port(other), "channel-0")
    result = a.execute(app_a, IbcAppSend(channel_id="channel-9", timeout_seconds=60))
    assert result.error == IbcUnknownChannel(port(app_a), "channel-9")


def test_packet_size_limit_I_37() -> None:
    a, b = (
        Side("chain-a", "cha", IbcConfig(max_packet_size=64, verify_proofs=False)),
        Side("chain-b", "chb"),
    )
    link = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, _ = link.open_channel(app_a, app_b)
    at_limit = a.execute(app_a, IbcAppSend(channel_id=a_channel, data=b"x" * 64, timeout_seconds=9))
    assert at_limit.ok
    over = a.execute(app_a, IbcAppSend(channel_id=a_channel, data=b"x" * 65, timeout_seconds=9))
    assert over.error == PacketTooLarge(65, 64)
    assert IbcConfig().max_packet_size == MAX_PACKET_SIZE == 1 << 20  # default 1 MiB


def test_ics20_transfer_refused_I_33(channel: tuple) -> None:
    a, _, _, app_a, _, a_channel, _ = channel
    call = ModuleCall(block=a.ex.block_env, sender=app_a)
    transfer = IbcTransfer(
        channel_id=a_channel,
        to_address="x",
        amount=Coin(denom="stake", amount=1),
        timeout=IbcTimeout(height=99),
    )
    with pytest.raises(IbcTransferUnsupported):
        a.ibc.handle(call, transfer)


# -- receive (I-10, I-11, I-12, I-19, I-27) -------------------------------------------------


def test_receive_writes_receipt_and_success_ack_I_10_I_11(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=7, timeout_seconds=60)).ok
    a.next_block()
    link.step()
    assert b.ibc.receipt(b_channel, 1) is not None
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack is not None
    body = json.loads(ack)
    assert list(body) == ["result"]  # {"result": base64} (I-11)
    assert base64.b64decode(body["result"]) == b'{"nonce":0,"amount":7}'
    assert b.app(app_b).received_total == 7
    link.step()
    assert a.ibc.outcome(a_channel, 1) == "acked"
    assert a.app(app_a).outcomes == {0: "ack"}
    _check(a, b)


def test_redundant_receive_is_a_noop_I_10_I_12(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    a.next_block()
    plan = link.plan()
    first = link.execute(plan)
    again = link.execute(plan)  # a second relayer, or a duplicated message
    assert first[0][2][-1].items == ("ok",)
    assert again[0][2][-1].items == ("noop",)
    assert b.app(app_b).applied == {(b_channel, 0): 1}  # the callback ran once
    _check(b)


def test_receive_needs_open_channel_and_matching_source_I_10(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, _b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    a.next_block()
    (packet,) = _sent(a, a_channel)
    update = UpdateClient(client_id=link.b_side.client_id, header=a.header())
    forged = packet.model_copy(
        update={"src": packet.src.model_copy(update={"channel_id": "channel-7"})}
    )
    results = b.run(update, RecvPackets(packets=(forged,), proof_height=a.header().height))
    assert results[1].items == ("IbcCounterpartyMismatch",)
    wrong_dest = packet.model_copy(
        update={"dest": packet.dest.model_copy(update={"channel_id": "channel-5"})}
    )
    results = b.run(RecvPackets(packets=(wrong_dest,), proof_height=a.header().height))
    assert results[0].items == ("IbcUnknownChannel",)
    assert b.app(app_b).applied == {}


def test_receive_proof_needs_the_client_height_I_2(channel: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    # not yet provable: the block holding the commitment has not ended (only committed state)
    assert a.relay_state(link.a_side.connection_id).pending == ()
    a.next_block()
    (packet,) = a.relay_state(link.a_side.connection_id).pending
    (result,) = b.run(RecvPackets(packets=(packet,), proof_height=a.header().height))
    assert result.items == (IbcConsensusNotFound.__name__,)
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=a.header()),
        RecvPackets(packets=(packet,), proof_height=a.header().height),
    )
    assert results[1].items == ("ok",)


def test_receive_timeout_judged_on_destination_I_10_I_23() -> None:
    # the destination's clock runs 100 s behind the source's: timeouts follow the destination
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    link2 = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link2.open_channel(app_a, app_b)
    for _ in range(20):
        a.next_block(seconds=5)  # a races ahead of b by 100 s
    b_time_ns = b.ex.block_env.time_ns
    assert a.ex.block_env.time_ns > b_time_ns + 90 * NS
    # timeout 30 s ahead of B's time is already past A's time, yet B can still receive it
    timeout_ns = b_time_ns + 30 * NS
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_timestamp_ns=timeout_ns)).ok
    a.next_block()
    link2.step()
    assert b.ibc.receipt(b_channel, 1) is not None


def test_receive_of_expired_packet_fails_I_10(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    b_height = b.ex.height
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=b_height + 2)).ok
    a.next_block()
    b.next_block(2)  # b reaches the timeout height
    (packet,) = a.relay_state(link.a_side.connection_id).pending
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=a.header()),
        RecvPackets(packets=(packet,), proof_height=a.header().height),
    )
    assert results[1].items == (IbcPacketTimedOut.__name__,)
    assert b.ibc.receipt(b_channel, 1) is None
    # it can only be timed out on the source now
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "timed_out"
    assert a.app(app_a).outcomes == {0: "timeout"}
    assert b.app(app_b).applied == {}
    _check(a, b)


def test_failing_receive_writes_error_ack_and_rolls_back_I_19(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert b.execute(app_b, IbcAppConfigure(fail_receive=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=9, timeout_seconds=60)).ok
    a.next_block()
    (done,) = link.step()
    assert done[2][-1].items == ("ok",)  # the relayer's transaction succeeds
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack is not None
    assert json.loads(ack) == {"error": "IbcTestAppError(reason='receive failed')"}
    state = b.app(app_b)
    assert state.applied == {} and state.received_total == 0  # app changes discarded
    assert b.ibc.receipt(b_channel, 1) is not None  # receipt written anyway (I-10.5)
    link.step()
    sender = a.app(app_a)
    assert sender.outcomes == {0: "error"} and sender.balance == 10**12  # refunded
    _check(a, b)


def test_failing_emitted_message_rolls_back_receive_I_19(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert b.execute(app_b, IbcAppConfigure(fail_emitted=True, echo=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    a.next_block()
    link.step()
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack is not None and "error" in json.loads(ack)
    assert b.app(app_b).applied == {}
    assert b.ibc.next_sequence_send(b_channel) == 1  # the echo packet it sent is gone too
    _check(b)


def test_app_error_shaped_ack_keeps_state_I_10_5(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert b.execute(app_b, IbcAppConfigure(error_ack=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, amount=4, timeout_seconds=60)).ok
    a.next_block()
    link.step()
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack == IbcAcknowledgement.error("app says no").data
    assert b.app(app_b).received_total == 4  # the contract's own error ack keeps its changes
    link.step()
    assert a.app(app_a).outcomes == {0: "error"}


def test_write_acknowledgement_event_reports_success_I_25(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, _ = channel
    assert b.execute(app_b, IbcAppConfigure(fail_receive=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    a.next_block()
    plan = link.plan()
    ((_chain_id, _), ops) = next(iter(plan.ops.items()))
    result = b.run_tx(*[UpdateClient(client_id=link.b_side.client_id, header=a.header())], *ops)
    types = [e.type for e in result.events if e.source == "ibc"]
    assert types == ["update_client", "recv_packet", "write_acknowledgement"]
    (written,) = [e for e in result.events if e.type == "write_acknowledgement"]
    assert written.get("success") == "false"
    # the failing callback's own events were discarded with its changes
    assert all(e.source == "ibc" for e in result.events)


def test_aborted_execution_writes_nothing_I_19(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert b.execute(app_b, IbcAppConfigure(abort_receive=True)).ok
    b_height = b.ex.height
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=b_height + 3)).ok
    a.next_block()
    (done,) = link.step()
    assert done[2][-1].items == ("IbcExecutionAborted",)
    assert b.ibc.receipt(b_channel, 1) is None and b.ibc.acknowledgement(b_channel, 1) is None
    assert a.ibc.pending_sequences(a_channel) == (1,)  # pending, and eventually times out
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "timed_out"
    _check(a, b)


def test_malformed_data_is_an_app_error_I_27(channel: tuple) -> None:
    a, b, link, app_a, _app_b, a_channel, b_channel = channel
    assert a.execute(
        app_a, IbcAppSend(channel_id=a_channel, data=b"\xff{not json", timeout_seconds=60)
    ).ok
    a.next_block()
    link.step()
    ack = b.ibc.acknowledgement(b_channel, 1)
    assert ack is not None and "malformed packet data" in json.loads(ack)["error"]
    link.step()
    assert a.ibc.outcome(a_channel, 1) == "acked"  # an error ack is still an ack
    _check(a, b)


# -- acknowledge (I-13, I-18) ---------------------------------------------------------------


def test_redundant_ack_is_a_noop_I_13(channel: tuple) -> None:
    a, _, link, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    a.next_block()
    link.step()
    plan = link.plan()
    first = link.execute(plan)
    again = link.execute(plan)
    assert first[0][2][-1].items == ("ok",) and again[0][2][-1].items == ("noop",)
    assert a.app(app_a).callbacks == {0: 1}  # the ack callback ran exactly once
    _check(a)


def test_ack_on_closed_source_is_rejected_I_13_I_15(channel: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=60)).ok
    a.next_block()
    link.step()  # received on b: it has an ack, so it can never time out
    assert a.execute(app_a, IbcAppClose(channel_id=a_channel)).ok
    a.next_block()
    (packet,) = _sent(a, a_channel)
    ack = b.ibc.acknowledgement(packet.dest.channel_id, 1)
    assert ack is not None
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=b.header()),
        AcknowledgePackets(
            acks=(WrittenAck(packet=packet, ack=ack),), proof_height=b.header().height
        ),
    )
    assert results[1].items == (IbcBadChannelState.__name__,)
    link.settle()
    # pending forever: received, and its source closed before the ack (I-15, I-16)
    assert a.ibc.pending_sequences(a_channel) == (1,)
    assert a.ibc.outcome(a_channel, 1) is None
    _check(a, b)


def test_failing_ack_callback_reverts_and_can_be_retried_I_18(channel: tuple) -> None:
    a, _, link, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppConfigure(fail_ack=True)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    link.step()
    done = link.step()
    assert done[0][2][-1].items == ("IbcTestAppError",)
    assert a.ibc.pending_sequences(a_channel) == (1,)  # the commitment stays
    assert a.execute(app_a, IbcAppConfigure(fail_ack=False)).ok
    link.step()
    assert a.ibc.outcome(a_channel, 1) == "acked"
    assert a.app(app_a).callbacks == {0: 1}


# -- timeouts (I-14, I-15, I-16, I-23) ------------------------------------------------------


def test_timeout_by_height_on_destination_I_14(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, _ = channel
    b_height = b.ex.height
    assert a.execute(
        app_a, IbcAppSend(channel_id=a_channel, amount=3, timeout_height=b_height + 2)
    ).ok
    a.next_block()
    b.next_block(3)
    done = link.step()
    ((chain_id, _actor, results),) = done
    assert chain_id == "chain-a" and results[-1].items == ("ok",)
    assert a.ibc.outcome(a_channel, 1) == "timed_out"
    sender = a.app(app_a)
    assert sender.outcomes == {0: "timeout"} and sender.balance == 10**12  # as if never sent
    assert b.app(app_b).applied == {}
    _check(a, b)


def test_timeout_by_timestamp_on_destination_I_14_I_23(channel: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    deadline = b.ex.block_env.time_ns + 12 * NS
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_timestamp_ns=deadline)).ok
    a.next_block()
    b.next_block(3, seconds=5)  # b's block time passes the deadline
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "timed_out"


def test_timeout_not_reached_is_refused_I_14(channel: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    (packet,) = _sent(a, a_channel)
    b.next_block()
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=b.header()),
        TimeoutPackets(packets=(packet,), proof_height=b.header().height),
    )
    assert results[1].items == (IbcTimeoutNotReached.__name__,)
    assert a.ibc.pending_sequences(a_channel) == (1,)


def test_redundant_timeout_is_a_noop_and_never_both_I_14_I_16(channel: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    b_height = b.ex.height
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=b_height + 1)).ok
    a.next_block()
    b.next_block(2)
    plan = link.plan()
    first = link.execute(plan)
    again = link.execute(plan)
    assert first[0][2][-1].items == ("ok",) and again[0][2][-1].items == ("noop",)
    assert a.app(app_a).callbacks == {0: 1}
    _check(a, b)


def test_timeout_on_close_I_15(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=10**6)).ok
    assert b.execute(app_b, IbcAppClose(channel_id=b_channel)).ok
    a.next_block()
    b.next_block()
    link.settle()
    # not received, destination CLOSED: timed out at once despite a far timeout
    assert a.ibc.outcome(a_channel, 1) == "timed_out"
    assert a.app(app_a).outcomes == {0: "timeout"}
    end = a.ibc.channel_end(a_channel)
    assert end is not None and end.state.value == "CLOSED"  # closed by CloseConfirm
    _check(a, b)


def test_received_packet_never_times_out_I_16(channel: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = channel
    b_height = b.ex.height
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=b_height + 3)).ok
    a.next_block()
    link.step()  # received before the timeout
    b.next_block(5)  # now past the timeout height
    link.settle()
    assert a.ibc.outcome(a_channel, 1) == "acked"
    _check(a, b)


# -- ordering (I-10.3, I-13, I-14, I-17, I-24) ----------------------------------------------


@pytest.fixture
def ordered(pair: tuple[Side, Side, Link]) -> tuple[Side, Side, Link, str, str, str, str]:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b, IbcOrder.ORDERED)
    return a, b, link, app_a, app_b, a_channel, b_channel


def test_ordered_receive_in_sequence_only_I_10_3_I_24(ordered: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = ordered
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, count=3, timeout_seconds=600)).ok
    a.next_block()
    packets = _sent(a, a_channel)
    update = UpdateClient(client_id=link.b_side.client_id, header=a.header())
    proof = a.header().height
    results = b.run(update, RecvPackets(packets=(packets[2], packets[0]), proof_height=proof))
    assert results[1].items == (IbcPacketOutOfOrder.__name__, "ok")
    assert b.ibc.next_sequence_recv(b_channel) == 2
    results = b.run(RecvPackets(packets=(packets[0], packets[1], packets[2]), proof_height=proof))
    assert results[0].items == ("noop", "ok", "ok")  # earlier sequence: no-op
    assert b.app(app_b).receive_order == {b_channel: (1, 2, 3)}
    link.settle()
    assert [a.ibc.outcome(a_channel, s) for s in (1, 2, 3)] == ["acked"] * 3
    assert a.ibc.next_sequence_ack(a_channel) == 4
    _check(a, b)


def test_ordered_acks_in_sequence_only_I_13(ordered: tuple) -> None:
    a, b, link, app_a, _, a_channel, _ = ordered
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600)).ok
    a.next_block()
    link.step()
    packets = _sent(a, a_channel)
    acks = [
        WrittenAck(packet=p, ack=b.ibc.acknowledgement(p.dest.channel_id, p.sequence) or b"")
        for p in packets
    ]
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=b.header()),
        AcknowledgePackets(acks=(acks[1], acks[0]), proof_height=b.header().height),
    )
    assert results[1].items == (IbcPacketOutOfOrder.__name__, "ok")


def test_ordered_channel_closes_on_first_timeout_I_14_I_24(ordered: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = ordered
    b_height = b.ex.height
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=b_height + 1)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=10**6)).ok
    a.next_block()
    b.next_block(2)
    link.settle()
    end = a.ibc.channel_end(a_channel)
    assert end is not None and end.state.value == "CLOSED"
    b_end = b.ibc.channel_end(b_channel)
    assert b_end is not None and b_end.state.value == "CLOSED"  # close-confirmed
    # the second packet is resolved by timeout-on-close: every packet resolved, none received
    assert [a.ibc.outcome(a_channel, s) for s in (1, 2)] == ["timed_out", "timed_out"]
    assert b.app(app_b).applied == {}
    _check(a, b)


def test_unordered_delivery_in_any_order_I_17(channel: tuple) -> None:
    a, b, link, app_a, app_b, a_channel, b_channel = channel
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, count=3, timeout_seconds=600)).ok
    a.next_block()
    packets = _sent(a, a_channel)
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=a.header()),
        RecvPackets(packets=(packets[2], packets[0], packets[1]), proof_height=a.header().height),
    )
    assert results[1].items == ("ok", "ok", "ok")
    assert b.app(app_b).receive_order == {b_channel: (3, 1, 2)}
    link.settle()
    _check(a, b)


def test_invariants_I_29(channel: tuple) -> None:
    a, b, link, app_a, _app_b, a_channel, _b_channel = channel
    b_height = b.ex.height
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, count=3, timeout_seconds=600)).ok
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_height=b_height + 1)).ok
    a.next_block()
    b.next_block(2)
    link.settle()
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok  # pending
    _check(a, b)
    counts = {"acked": 0, "timed_out": 0}
    for seq in range(1, 6):
        outcome = a.ibc.outcome(a_channel, seq)
        if outcome:
            counts[outcome] += 1
    assert counts == {"acked": 3, "timed_out": 1}
    assert len(a.ibc.pending_sequences(a_channel)) + 4 == a.ibc.next_sequence_send(a_channel) - 1
    # a broken state is reported
    a.ibc.state.outcomes[(a_channel, 5)] = "acked"
    assert a.ibc.invariant_violations()
