"""The IBC module's batch path against its general per-packet path (issue #16).

A relayer's ``AcknowledgePackets`` (with a ``TimeoutPackets`` beside it in the same
transaction) runs on a chain whose module takes the batch path (`IbcModule.batch_path`, the
default: per-end checks once per batch, the sends an ack callback answers with taken straight
to ``send_packet``) and on an identical chain that takes the general path. Whatever the mix
of successful and error acks, repeats (already acknowledged), acks of packets that were never
committed as given, timeouts and callbacks that fail (a refill send that has expired), the
two must agree byte for byte: the store, the transaction's events, the operations' results
(I-13, I-14, I-16, I-24, I-29, I-37). Likewise ``RecvPackets`` (repeats, error acks, timed-out
packets, packets for another port), with the test app (packet by packet) and with the bench
app's batch hook ``ibc_packet_receive_batch`` (and a picky variant whose hook fails, so the
batch falls back to packet by packet) (I-10, I-12, I-19, I-29).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import (
    Env,
    IbcAcknowledgement,
    IbcPacket,
    IbcReceiveResponse,
    UnsupportedMessage,
)
from chains.ibc import AcknowledgePackets, RecvPackets, TimeoutPackets, UpdateClient, written_ack
from chains.testing import (
    BENCH_PAYLOAD,
    BenchAppInit,
    BenchAppQuery,
    BenchAppState,
    BenchStart,
    IbcAppSend,
    IbcBenchApp,
)
from tests.chains.ibc._sansio import Link, Side

_SUCCESS = IbcAcknowledgement.success(b"1").data  # the bench app's own ack
_ERROR = IbcAcknowledgement.error("refused").data
_WINDOW = 6

# an ack of the batch: (index of one of the sent packets, its kind)
_KINDS = st.sampled_from(("success", "error", "tampered"))
_ITEMS = st.lists(st.tuples(st.integers(0, _WINDOW - 1), _KINDS), min_size=1, max_size=16)


def _world(
    batch_path: bool, refill: int, expire: bool
) -> tuple[Side, Link, str, tuple[IbcPacket, ...]]:
    """Chain A's bench app sends ``_WINDOW`` packets with ``refill`` more to send from its
    ack callbacks; with ``expire``, A's client of B is then moved past the packets' timeout,
    so every refill send fails (IbcPacketExpired: the callback fails) and every packet can
    be timed out. Returns A, the link, A's app and the packets."""
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    a.ibc.batch_path = batch_path
    for side in (a, b):
        side.ex.register_code(IbcBenchApp)
    link = Link(a, b)
    app_a = a.ex.instantiate(a.admin, IbcBenchApp.code, BenchAppInit()).unwrap()
    app_b = b.ex.instantiate(b.admin, IbcBenchApp.code, BenchAppInit()).unwrap()
    a_channel, _ = link.open_channel(app_a, app_b)
    deadline_ns = (b.header().time_ns // 1_000_000_000 + 60) * 1_000_000_000
    started = a.execute(
        app_a,
        BenchStart(
            channel_id=a_channel,
            window=_WINDOW,
            total=_WINDOW + refill,
            timeout_timestamp_ns=deadline_ns,
        ),
    )
    assert started.ok, started.error
    a.next_block()
    if expire:
        b.next_block(count=30)
    else:
        b.next_block()
    (updated,) = a.run(UpdateClient(client_id=link.a_side.client_id, header=b.header()))
    assert updated.status == "ok", updated
    packets = tuple(a.ibc.state.packets[(a_channel, seq)] for seq in range(1, _WINDOW + 1))
    return a, link, app_a, packets


def _run(
    batch_path: bool,
    items: list[tuple[int, str]],
    refill: int,
    expire: bool,
    timeouts: list[int],
    timeouts_first: bool,
) -> tuple[str, str, str, BenchAppState]:
    a, link, app_a, packets = _world(batch_path, refill, expire)
    acks = []
    for index, kind in items:
        packet = packets[index]
        if kind == "tampered":
            # the same sequence with other data: not what was committed (I-13)
            packet = packet.model_copy(update={"data": b'{"other":1}'})
        acks.append(written_ack(packet, _ERROR if kind == "error" else _SUCCESS))
    # acks and timeouts are proven at the B header A's client holds (unverified: only the
    # height is checked)
    b_height = link.b.header().height
    ops: list[object] = [AcknowledgePackets(acks=tuple(acks), proof_height=b_height)]
    if timeouts:
        timeout = TimeoutPackets(
            packets=tuple(packets[index] for index in timeouts), proof_height=b_height
        )
        ops.insert(0 if timeouts_first else 1, timeout)
    result = a.run_tx(*ops)
    state: BenchAppState = a.ex.query(app_a, BenchAppQuery())
    assert a.ibc.invariant_violations() == []  # I-29 on both paths
    return repr(result), repr(result.events), repr(a.ex.store.snapshot()), state


@settings(max_examples=40, deadline=None)
@given(
    items=_ITEMS,
    refill=st.integers(0, 8),
    expire=st.booleans(),
    timeouts=st.lists(st.integers(0, _WINDOW - 1), max_size=4),
    timeouts_first=st.booleans(),
)
def test_batch_path_matches_per_packet_path_I_13_I_14_I_24_I_29_I_37(
    items: list[tuple[int, str]],
    refill: int,
    expire: bool,
    timeouts: list[int],
    timeouts_first: bool,
) -> None:
    batch = _run(True, items, refill, expire, timeouts, timeouts_first)
    general = _run(False, items, refill, expire, timeouts, timeouts_first)
    assert batch == general


def test_expired_refill_rolls_back_only_its_packet_I_13_I_16() -> None:
    """A callback whose refill send fails (expired) is rolled back alone: its packet stays
    committed and the batch's other packets are acknowledged (on the batch path)."""
    items = [(0, "success"), (1, "success"), (2, "error")]
    result, _events, _dump, state = _run(True, items, 1, True, [], False)
    # the first ack's refill fails (expired): that packet alone is rolled back; the refill
    # count was not consumed, so the second's fails too, and so on
    assert "IbcPacketExpired" in result
    assert (state.acked, state.error_acks, state.sent) == (0, 0, _WINDOW)
    result, _events, _dump, state = _run(True, items, 1, False, [], False)
    assert (state.acked, state.error_acks, state.sent, state.refill) == (2, 1, _WINDOW + 1, 0)


def test_repeated_ack_is_a_noop_exactly_once_I_16_I_29() -> None:
    items = [(3, "success"), (3, "success"), (3, "error")]
    batch = _run(True, items, 2, False, [], False)
    assert "'ok', 'noop', 'noop'" in batch[0]
    assert batch[3].acked == 1 and batch[3].sent == _WINDOW + 1
    assert batch == _run(False, items, 2, False, [], False)


# -- receives (I-10, I-12, I-19) ------------------------------------------------------------

_SENT = 6


def _recv_world(
    batch_path: bool, malformed: frozenset[int], short: frozenset[int]
) -> tuple[Side, tuple[IbcPacket, ...], int]:
    """Chain B (taking the batch path or not) after A's test app sent ``_SENT`` packets
    (those in ``malformed`` with data B's app refuses: error acks; those in ``short`` with a
    10 s timeout, passed on B by the time they arrive) and B's client holds A's header.
    Returns B, A's packets and the height of A's header B's client holds."""
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    b.ibc.batch_path = batch_path
    link = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, _ = link.open_channel(app_a, app_b)
    for index in range(_SENT):
        send = IbcAppSend(
            channel_id=a_channel,
            amount=2**index,
            timeout_seconds=10 if index in short else 3600,
        )
        if index in malformed:
            send = send.model_copy(update={"data": b"\xff{not json"})
        assert a.execute(app_a, send).ok
    a.next_block()
    b.next_block(count=4)
    (updated,) = b.run(UpdateClient(client_id=link.b_side.client_id, header=a.header()))
    assert updated.status == "ok", updated
    packets = tuple(a.ibc.state.packets[(a_channel, seq)] for seq in range(1, _SENT + 1))
    return b, packets, a.header().height


def _receive(
    batch_path: bool, order: list[int], malformed: frozenset[int], short: frozenset[int]
) -> tuple[str, str, str]:
    b, sent, proof_height = _recv_world(batch_path, malformed, short)
    packets = tuple(sent[index] for index in order)
    first = b.run_tx(RecvPackets(packets=packets, proof_height=proof_height))
    # a second relayer delivering the same batch: all repeats (exactly once, I-12)
    again = b.run_tx(RecvPackets(packets=packets, proof_height=proof_height))
    assert b.ibc.invariant_violations() == []  # I-29
    return repr((first, again)), repr((first.events, again.events)), repr(b.ex.store.snapshot())


@settings(max_examples=30, deadline=None)
@given(
    order=st.lists(st.integers(0, _SENT - 1), min_size=1, max_size=14),
    malformed=st.frozensets(st.integers(0, _SENT - 1), max_size=3),
    short=st.frozensets(st.integers(0, _SENT - 1), max_size=2),
)
def test_batch_receive_matches_per_packet_path_I_10_I_12_I_19_I_29(
    order: list[int], malformed: frozenset[int], short: frozenset[int]
) -> None:
    batch = _receive(True, order, malformed, short)
    assert batch == _receive(False, order, malformed, short)
    # the batch itself: each distinct packet in time received once, error-acked if refused
    statuses = batch[0]
    for index in set(order) & short:
        assert "IbcPacketTimedOut" in statuses, index


# -- receives through the application's batch hook (issue 16) -------------------------------


class _PickyBenchApp(IbcBenchApp):
    """The bench app, refusing packets whose data is not the bench payload: its batch hook
    then fails as a whole (the module delivers the batch packet by packet, each refused
    one error-acked alone, I-19)."""

    code = "bench.ibc-echo-picky"

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        if packet.data != BENCH_PAYLOAD:
            raise UnsupportedMessage("ibc_packet_receive", "not the bench payload")
        return super().ibc_packet_receive(env, packet, relayer)

    def ibc_packet_receive_batch(
        self, env: Env, packets: tuple[IbcPacket, ...], relayer: str
    ) -> tuple[IbcReceiveResponse, ...]:
        for packet in packets:
            if packet.data != BENCH_PAYLOAD:
                raise UnsupportedMessage("ibc_packet_receive", "not the bench payload")
        return super().ibc_packet_receive_batch(env, packets, relayer)


_BENCH_SENT = 8


def _hook_world(
    batch_path: bool, short: int, picky: bool
) -> tuple[Side, tuple[IbcPacket, ...], int, str, str]:
    """Chain B (batch path or not) with a bench app (``picky``: `_PickyBenchApp`) after A's
    bench app sent ``_BENCH_SENT`` packets, the first ``short`` of them with a 10 s timeout
    (passed on B by the time they arrive); B's client holds A's header. Returns B, the
    packets, the proof height, B's channel and B's app."""
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    b.ibc.batch_path = batch_path
    for side in (a, b):
        side.ex.register_code(IbcBenchApp)
        side.ex.register_code(_PickyBenchApp)
    link = Link(a, b)
    code = _PickyBenchApp.code if picky else IbcBenchApp.code
    app_a = a.ex.instantiate(a.admin, IbcBenchApp.code, BenchAppInit()).unwrap()
    app_b = b.ex.instantiate(b.admin, code, BenchAppInit()).unwrap()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    now_s = b.header().time_ns // 1_000_000_000
    for window, seconds in ((short, 10), (_BENCH_SENT - short, 3600)):
        if window:
            start = BenchStart(
                channel_id=a_channel,
                window=window,
                total=window,
                timeout_timestamp_ns=(now_s + seconds) * 1_000_000_000,
            )
            assert a.execute(app_a, start).ok
    a.next_block()
    b.next_block(count=4)
    (updated,) = b.run(UpdateClient(client_id=link.b_side.client_id, header=a.header()))
    assert updated.status == "ok", updated
    packets = tuple(a.ibc.state.packets[(a_channel, seq)] for seq in range(1, _BENCH_SENT + 1))
    return b, packets, a.header().height, b_channel, app_b


def _hook_receive(
    batch_path: bool, order: list[int], short: int, odd: frozenset[int], picky: bool
) -> tuple[str, str, str]:
    b, sent, proof_height, _, _ = _hook_world(batch_path, short, picky)
    packets = []
    for index in order:
        packet = sent[index]
        if index in odd:
            # another payload (refused by the picky app) or, for the plain app, another
            # destination port (refused by the module: the packet's own check)
            update = (
                {"data": b'{"other":1}'}
                if picky
                else {"dest": packet.dest.model_copy(update={"port_id": "wasm.nobody"})}
            )
            packet = packet.model_copy(update=update)
        packets.append(packet)
    first = b.run_tx(RecvPackets(packets=tuple(packets), proof_height=proof_height))
    again = b.run_tx(RecvPackets(packets=tuple(packets), proof_height=proof_height))
    assert b.ibc.invariant_violations() == []  # I-29
    return repr((first, again)), repr((first.events, again.events)), repr(b.ex.store.snapshot())


@settings(max_examples=30, deadline=None)
@given(
    order=st.lists(st.integers(0, _BENCH_SENT - 1), min_size=1, max_size=16),
    short=st.integers(0, 3),
    odd=st.frozensets(st.integers(0, _BENCH_SENT - 1), max_size=2),
    picky=st.booleans(),
)
def test_batch_hook_receive_matches_per_packet_path_I_10_I_12_I_19_I_29(
    order: list[int], short: int, odd: frozenset[int], picky: bool
) -> None:
    batch = _hook_receive(True, order, short, odd, picky)
    assert batch == _hook_receive(False, order, short, odd, picky)


def test_batch_hook_counts_each_packet_once_and_error_acks_only_the_refused_I_12_I_19() -> None:
    """Through the hook: one count per distinct packet; with one refused packet the hook
    fails, and the packet-by-packet delivery error-acks that packet alone."""
    for picky, odd in ((False, frozenset[int]()), (True, frozenset({2}))):
        b, sent, proof_height, b_channel, app_b = _hook_world(True, 0, picky)
        packets = [sent[index] for index in (0, 1, 2, 1, 3)]
        if odd:
            packets[2] = packets[2].model_copy(update={"data": b'{"other":1}'})
        (result,) = b.run(RecvPackets(packets=tuple(packets), proof_height=proof_height))
        assert result.items == ("ok", "ok", "ok", "noop", "ok")
        state: BenchAppState = b.ex.query(app_b, BenchAppQuery())
        assert state.received == (3 if odd else 4)
        ack = b.ibc.acknowledgement(b_channel, 3)
        assert ack is not None and (b"error" in ack) is bool(odd)
