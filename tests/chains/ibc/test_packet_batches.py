"""A relayer's multi-packet receive: one `RecvPackets` of many packets in one transaction
(ibc.md I-10, I-12, I-19, I-29; issue #16's batched delivery).

Each packet of the batch is handled by itself: a repeat within the batch (or of an earlier
batch) is a no-op and the receipt is written exactly once (I-10.3, I-12); a packet the
application fails gets an error acknowledgement with its own changes discarded, while the
packets around it keep theirs (I-10.5, I-19).
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.ibc import IbcEventType, RecvPackets, UpdateClient
from chains.testing import IbcAppSend
from tests.chains.ibc._sansio import Link, Side

# a packet of the batch: (index of one of the sent packets, whether its data is malformed)
_SENT = 6


def _world(malformed: frozenset[int]) -> tuple[Side, Side, Link, str, str, str]:
    """Two chains, a channel, and ``_SENT`` packets sent by A (amounts 1, 2, 4, ...; the
    indexes in ``malformed`` carry data the receiving app refuses), all committed; B's
    client holds A's header."""
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    link = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    for index in range(_SENT):
        data = b"\xff{not json" if index in malformed else None
        send = IbcAppSend(channel_id=a_channel, amount=2**index, timeout_seconds=3600)
        if data is not None:
            send = send.model_copy(update={"data": data})
        assert a.execute(app_a, send).ok
    a.next_block()
    b.run(UpdateClient(client_id=link.b_side.client_id, header=a.header()))
    return a, b, link, app_b, a_channel, b_channel


@settings(max_examples=20, deadline=None)
@given(
    order=st.lists(st.integers(0, _SENT - 1), min_size=1, max_size=14),
    malformed=st.frozensets(st.integers(0, _SENT - 1), max_size=3),
)
def test_batch_receives_each_packet_once_and_rolls_back_only_failures_I_10_I_12_I_19(
    order: list[int], malformed: frozenset[int]
) -> None:
    a, b, _link, app_b, a_channel, b_channel = _world(malformed)
    packets = [a.ibc.state.packets[(a_channel, index + 1)] for index in order]
    (result,) = b.run(RecvPackets(packets=tuple(packets), proof_height=a.header().height))
    # one status per packet: the first of each sequence is received, every repeat a no-op
    seen: set[int] = set()
    expected: list[str] = []
    for index in order:
        expected.append("noop" if index in seen else "ok")
        seen.add(index)
    assert result.items == tuple(expected)
    assert result.status == "ok"
    # exactly one receipt and one ack per distinct packet; the refused ones error acks
    for index in seen:
        assert b.ibc.receipt(b_channel, index + 1) is not None
        ack = b.ibc.acknowledgement(b_channel, index + 1)
        assert ack is not None
        assert ("error" in json.loads(ack)) is (index in malformed)
    for index in set(range(_SENT)) - seen:
        assert b.ibc.receipt(b_channel, index + 1) is None
    # the app's changes: those of the good packets, each applied once; none of the refused
    state = b.app(app_b)
    good = seen - malformed
    assert state.received_total == sum(2**index for index in good)
    # (the app numbers its nonces over its well-formed sends only)
    assert len(state.applied) == len(good)
    assert all(count == 1 for count in state.applied.values())
    # a second delivery of the whole batch (another relayer) changes nothing
    (again,) = b.run(RecvPackets(packets=tuple(packets), proof_height=a.header().height))
    assert again.items == ("noop",) * len(packets)
    assert b.app(app_b) == state
    assert b.ibc.invariant_violations() == []  # I-29


def test_batch_emits_one_receive_event_per_received_packet_I_25() -> None:
    a, b, _link, _app_b, a_channel, _b_channel = _world(frozenset({1}))
    packets = [a.ibc.state.packets[(a_channel, seq)] for seq in (1, 2, 1, 3)]
    result = b.run_tx(RecvPackets(packets=tuple(packets), proof_height=a.header().height))
    assert result.ok, result.error
    received = [e for e in result.events if e.type == IbcEventType.RECV_PACKET.value]
    written = [e for e in result.events if e.type == IbcEventType.WRITE_ACKNOWLEDGEMENT.value]
    assert [dict(e.attributes)["seq"] for e in received] == ["1", "2", "3"]
    assert [dict(e.attributes)["success"] for e in written] == ["true", "false", "true"]
