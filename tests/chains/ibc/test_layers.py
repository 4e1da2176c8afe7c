"""The IBC module's layers seen through its public surface: the commitments the packet layer
stores are the spec's hashes whatever its caches hold (I-8, I-10.6), the success flag of
``write_acknowledgement`` follows the ack (I-11, I-25), and every relayer operation reaches
the layer that handles it."""

from __future__ import annotations

from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains.contract import IbcAcknowledgement, IbcOrder, IbcSendPacket, IbcTimeout
from chains.ibc import (
    AcknowledgePackets,
    ChanCloseConfirm,
    ChanCloseInit,
    ChannelState,
    ChannelView,
    ChanOpenAck,
    ChanOpenConfirm,
    ChanOpenInit,
    ChanOpenTry,
    ConnectionState,
    ConnectionView,
    ConnOpenAck,
    ConnOpenConfirm,
    ConnOpenInit,
    ConnOpenTry,
    CreateClient,
    IbcOp,
    RecvPackets,
    TimeoutPackets,
    UpdateClient,
    ack_commitment,
    packet_commitment,
)
from chains.testing import IbcAppConfigure, IbcAppSend
from tests.chains.ibc._sansio import Link, Side

NS = 1_000_000_000

# payloads around the size above which packet commitments are not cached (1 KiB)
_PAYLOADS = (b"", b"x", b'{"stake":{}}', b"a" * 1024, b"b" * 1025, bytes(range(256)) * 8)


def _channel() -> tuple[Side, Side, Link, str, str, str, str]:
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    link = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    return a, b, link, app_a, app_b, a_channel, b_channel


def _send_all(side: Side, app: str, channel_id: str, sends: list[tuple[bytes, IbcTimeout]]) -> None:
    def body() -> None:
        for data, timeout in sends:
            msg = IbcSendPacket(channel_id=channel_id, data=data, timeout=timeout)
            side.ibc.send_packet(app, msg, side.ex.height)

    result = side.ex.run(body)
    assert result.ok, result.error


def _assert_stored_commitments_are_the_hash(side: Side, channel_id: str) -> None:
    pending = side.ibc.pending_sequences(channel_id)
    assert pending
    for sequence in pending:
        ref = (channel_id, sequence)
        stored, _ = side.ibc.state.commitments[ref]
        assert stored == packet_commitment(side.ibc.state.packets[ref])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_PAYLOADS) | st.binary(max_size=40),
            st.integers(min_value=0, max_value=3),
            st.integers(min_value=0, max_value=2),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_stored_commitment_is_the_hash_whatever_the_cache_holds_I_8(
    sends: list[tuple[bytes, int, int]],
) -> None:
    """Repeated and fresh payloads and timeouts, cached sizes and uncached ones: each stored
    commitment is ``H(timeout_timestamp ‖ timeout_height ‖ H(data))`` of its own packet."""
    a, _, _, app_a, _, a_channel, _ = _channel()
    base = a.ex.time_s * NS
    timeouts = [
        IbcTimeout(timestamp_ns=base + (60 + t) * NS, revision=r, height=0 if r == 0 else 10**6)
        for t, r in ((0, 0), (1, 0), (0, 1), (7, 2))
    ]
    _send_all(
        a,
        app_a,
        a_channel,
        [(data, timeouts[(t + r) % len(timeouts)]) for data, t, r in sends],
    )
    _assert_stored_commitments_are_the_hash(a, a_channel)
    a.next_block()
    assert a.ibc.invariant_violations() == []  # I-29


def test_commitments_stay_the_hash_when_the_cache_fills_and_empties_I_8() -> None:
    """More distinct payloads than the packet-commitment cache keeps, sent twice over, so
    the cache is emptied and refilled between a payload's uses."""
    a, _, _, app_a, _, a_channel, _ = _channel()
    timeout = IbcTimeout(timestamp_ns=(a.ex.time_s + 600) * NS)
    payloads = [f"payload {n}".encode() for n in range(300)]
    _send_all(a, app_a, a_channel, [(data, timeout) for data in payloads * 2])
    _assert_stored_commitments_are_the_hash(a, a_channel)
    assert a.ibc.next_sequence_send(a_channel) == 601


def test_written_acks_commitment_and_success_flag_follow_the_ack_I_10_6_I_11_I_25() -> None:
    """Acks that differ per packet (more than the ack cache keeps) and acks that repeat,
    success and error shaped, interleaved: every ack record holds ``H(ack)`` and every
    ``write_acknowledgement`` event says ``success`` exactly for the success acks."""
    a, b, link, app_a, app_b, a_channel, b_channel = _channel()
    flags: dict[int, str] = {}
    for error_ack, fail_receive, count in (
        # repeated acks while the ack cache has room, then more distinct acks than it keeps
        # (it stops growing), then repeated ones again
        (True, False, 5),  # the app's own error-shaped ack: one repeated value
        (False, True, 5),  # a failing receive: the module's error ack
        (False, False, 70),  # success acks carrying the nonce: all distinct
        (True, False, 5),
        (False, False, 5),
    ):
        configured = b.execute(
            app_b, IbcAppConfigure(error_ack=error_ack, fail_receive=fail_receive)
        )
        assert configured.ok, configured.error
        sent = a.execute(app_a, IbcAppSend(channel_id=a_channel, count=count, timeout_seconds=600))
        assert sent.ok, sent.error
        a.next_block()
        plan = link.plan()
        ops = [
            op for (chain_id, _), ops in plan.ops.items() if chain_id == b.chain_id for op in ops
        ]
        assert ops
        update = UpdateClient(client_id=link.b_side.client_id, header=a.header())
        result = b.run_tx(update, *ops)
        assert result.ok, result.error
        for event in result.events:
            if event.type == "write_acknowledgement":
                seq, success = event.get("seq"), event.get("success")
                assert seq is not None and success is not None
                flags[int(seq)] = success
        b.next_block()
        link.settle()
    assert sorted(flags) == list(range(1, 91))
    kinds = set()
    for sequence, flag in flags.items():
        ack = b.ibc.acknowledgement(b_channel, sequence)
        assert ack is not None
        record = b.ibc.state.acks[(b_channel, sequence)]
        assert record.commitment == ack_commitment(ack)
        succeeded = IbcAcknowledgement(data=ack).error_text() is None
        assert flag == ("true" if succeeded else "false"), (sequence, ack)
        kinds.add((succeeded, ack if not succeeded else b"distinct"))
    assert len(kinds) == 3  # success, the app's error ack, the module's error ack
    assert not a.ibc.pending_sequences(a_channel)
    assert a.ibc.invariant_violations() == [] and b.ibc.invariant_violations() == []


def test_every_relayer_operation_reaches_its_layer() -> None:
    """Each operation type of ``IbcOp`` is handled by its layer: against unknown clients,
    connections and channels each fails with the layer's own error, none is answered as an
    unsupported message (an operation left out of the facade's routing would be)."""
    a = Side("chain-a", "cha")
    a.next_block()
    header = a.header()
    connection = ConnectionView(
        connection_id="connection-7",
        state=ConnectionState.INIT,
        client_id="07-tendermint-7",
        counterparty_chain_id="chain-a",
        counterparty_client_id="07-tendermint-0",
        counterparty_connection_id="",
    )
    channel = ChannelView(
        port_id="wasm.x",
        channel_id="channel-7",
        state=ChannelState.INIT,
        ordering=IbcOrder.UNORDERED,
        counterparty_port_id="wasm.y",
        counterparty_channel_id="",
        connection_id="connection-7",
        version="",
    )
    conn, chan, port = "connection-9", "channel-9", "wasm.y"
    expected = {
        CreateClient(header=header): "",
        UpdateClient(client_id="07-tendermint-9", header=header): "IbcUnknownClient",
        ConnOpenInit(client_id="07-tendermint-9", counterparty_client_id="x"): "IbcUnknownClient",
        ConnOpenTry(
            client_id="07-tendermint-9", proof_height=1, counterparty=connection
        ): "IbcUnknownClient",
        ConnOpenAck(
            connection_id=conn, proof_height=1, counterparty=connection
        ): "IbcUnknownConnection",
        ConnOpenConfirm(
            connection_id=conn, proof_height=1, counterparty=connection
        ): "IbcUnknownConnection",
        ChanOpenInit(
            port_id=port,
            connection_id=conn,
            counterparty_port_id="wasm.x",
            ordering=IbcOrder.UNORDERED,
        ): "IbcUnknownConnection",
        ChanOpenTry(
            port_id=port, connection_id=conn, proof_height=1, counterparty=channel
        ): "IbcUnknownConnection",
        ChanOpenAck(
            port_id=port, channel_id=chan, proof_height=1, counterparty=channel
        ): "IbcUnknownChannel",
        ChanOpenConfirm(
            port_id=port, channel_id=chan, proof_height=1, counterparty=channel
        ): "IbcUnknownChannel",
        ChanCloseInit(port_id=port, channel_id=chan): "IbcUnknownChannel",
        ChanCloseConfirm(
            port_id=port, channel_id=chan, proof_height=1, counterparty=channel
        ): "IbcUnknownChannel",
        # the packet operations fail per packet: an empty batch is fine
        RecvPackets(packets=(), proof_height=1): "",
        AcknowledgePackets(acks=(), proof_height=1): "",
        TimeoutPackets(packets=(), proof_height=1): "",
    }
    (union, *_) = get_args(IbcOp)
    assert {type(op) for op in expected} == set(get_args(union))
    results = a.run(*expected)
    assert [r.error for r in results] == list(expected.values())
    assert results[0].value == "07-tendermint-0"
