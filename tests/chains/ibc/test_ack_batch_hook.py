"""The ack batch hook ``ibc_packet_ack_batch`` (issue 16) against the general path.

A relayer's ``AcknowledgePackets`` for one channel whose application has the optional hook
is checked first, delivered to the application in one call, then its commitments deleted
(exactly once), its outcomes recorded and the sends its callbacks answer with run, in
order; anything else (a failing hook, a hook answering other than plain sends, a failing
send, an ack the batch's own refills could make valid) falls back to packet by packet, each
packet in its own savepoint. Whatever the mix — successful and error acks, repeats, tampered
packets, acks of a packet a refill in the same batch sends, timeouts beside it in the same
transaction, refills that fail — a chain taking the batch path and one taking the general
path (`IbcModule.batch_path = False`) must agree byte for byte: store, events, results
(I-13, I-14, I-16, I-24, I-29, I-37).
"""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import (
    Env,
    Event,
    IbcAcknowledgement,
    IbcBasicResponse,
    IbcPacket,
    UnsupportedMessage,
)
from chains.ibc import AcknowledgePackets, TimeoutPackets, UpdateClient, written_ack
from chains.testing import BenchAppInit, BenchAppQuery, BenchAppState, BenchStart, IbcBenchApp
from tests.chains.ibc._sansio import Link, Side

_SUCCESS = IbcAcknowledgement.success(b"1").data  # the bench app's own ack
_ERROR = IbcAcknowledgement.error("refused").data
_WINDOW = 6


class _CountingApp(IbcBenchApp):
    """The bench app, noting each call of its ack hook (how many acks it was handed)."""

    code = "bench.ibc-echo-counting"
    hook_calls: ClassVar[list[int]] = []

    def ibc_packet_ack_batch(
        self,
        env: Env,
        acks: tuple[IbcAcknowledgement, ...],
        packets: tuple[IbcPacket, ...],
        relayer: str,
    ) -> tuple[IbcBasicResponse, ...]:
        self.hook_calls.append(len(acks))
        return super().ibc_packet_ack_batch(env, acks, packets, relayer)


class _RefusingApp(IbcBenchApp):
    """Refuses error acks (its callback fails): the hook then fails as a whole, after
    counting, so its writes must be rolled back and the batch run packet by packet."""

    code = "bench.ibc-echo-refusing"

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        if ack.data != _SUCCESS:
            raise UnsupportedMessage("ibc_packet_ack", "an error ack")
        return super().ibc_packet_ack(env, ack, packet, relayer)

    def ibc_packet_ack_batch(
        self,
        env: Env,
        acks: tuple[IbcAcknowledgement, ...],
        packets: tuple[IbcPacket, ...],
        relayer: str,
    ) -> tuple[IbcBasicResponse, ...]:
        responses = super().ibc_packet_ack_batch(env, acks, packets, relayer)
        if any(ack.data != _SUCCESS for ack in acks):
            raise UnsupportedMessage("ibc_packet_ack", "an error ack")
        return responses


class _EventfulApp(IbcBenchApp):
    """Its callbacks answer with an event: not plain sends, so the hook's answer is refused
    and the batch runs packet by packet (the hook's count writes rolled back)."""

    code = "bench.ibc-echo-eventful"

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        response = super().ibc_packet_ack(env, ack, packet, relayer)
        return IbcBasicResponse(messages=response.messages, events=(Event(type="acked"),))

    def ibc_packet_ack_batch(
        self,
        env: Env,
        acks: tuple[IbcAcknowledgement, ...],
        packets: tuple[IbcPacket, ...],
        relayer: str,
    ) -> tuple[IbcBasicResponse, ...]:
        responses = super().ibc_packet_ack_batch(env, acks, packets, relayer)
        return tuple(
            IbcBasicResponse(messages=r.messages, events=(Event(type="acked"),)) for r in responses
        )


_APPS: dict[str, type[IbcBenchApp]] = {
    "bench": IbcBenchApp,
    "counting": _CountingApp,
    "refusing": _RefusingApp,
    "eventful": _EventfulApp,
}


def _world(
    batch_path: bool, app: str, refill: int, expire: bool
) -> tuple[Side, Link, str, tuple[IbcPacket, ...]]:
    """Chain A's app (``app``) sends ``_WINDOW`` packets with ``refill`` more to send from
    its ack callbacks; with ``expire``, A's client of B is moved past the packets' timeout,
    so every refill send fails (the callback fails) and every packet can be timed out."""
    a, b = Side("chain-a", "cha"), Side("chain-b", "chb")
    a.ibc.batch_path = batch_path
    for side in (a, b):
        for cls in _APPS.values():
            side.ex.register_code(cls)
    link = Link(a, b)
    app_a = a.ex.instantiate(a.admin, _APPS[app].code, BenchAppInit()).unwrap()
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
    b.next_block(count=30 if expire else 1)
    (updated,) = a.run(UpdateClient(client_id=link.a_side.client_id, header=b.header()))
    assert updated.status == "ok", updated
    packets = tuple(a.ibc.state.packets[(a_channel, seq)] for seq in range(1, _WINDOW + 1))
    return a, link, app_a, packets


# an ack of the batch: (index of a sent packet, or _WINDOW + k for the k-th refill's packet
# as it will be sent; its kind)
_KINDS = st.sampled_from(("success", "success", "error", "tampered"))
_ITEMS = st.lists(st.tuples(st.integers(0, _WINDOW + 1), _KINDS), min_size=1, max_size=16)


def _run(
    batch_path: bool,
    app: str,
    items: list[tuple[int, str]],
    refill: int,
    expire: bool,
    timeouts: list[int],
    timeouts_first: bool,
) -> tuple[str, str, str, BenchAppState]:
    a, link, app_a, packets = _world(batch_path, app, refill, expire)
    acks = []
    for index, kind in items:
        if index < _WINDOW:
            packet = packets[index]
        else:
            # the packet a refill of this very batch commits (same data, timeout, ends)
            packet = packets[0].model_copy(update={"sequence": index + 1})
        if kind == "tampered":
            packet = packet.model_copy(update={"data": b'{"other":1}'})  # not committed
        acks.append(written_ack(packet, _ERROR if kind == "error" else _SUCCESS))
    b_height = link.b.header().height
    ops: list[Any] = [AcknowledgePackets(acks=tuple(acks), proof_height=b_height)]
    if timeouts:
        timeout = TimeoutPackets(
            packets=tuple(packets[index] for index in timeouts), proof_height=b_height
        )
        ops.insert(0 if timeouts_first else 1, timeout)
    result = a.run_tx(*ops)
    state: BenchAppState = a.ex.query(app_a, BenchAppQuery())
    assert a.ibc.invariant_violations() == []  # I-29 on both paths
    return repr(result), repr(result.events), repr(a.ex.store.snapshot()), state


@settings(max_examples=60, deadline=None)
@given(
    app=st.sampled_from(tuple(_APPS)),
    items=_ITEMS,
    refill=st.integers(0, 8),
    expire=st.booleans(),
    timeouts=st.lists(st.integers(0, _WINDOW - 1), max_size=3),
    timeouts_first=st.booleans(),
)
def test_ack_hook_matches_per_packet_path_I_13_I_14_I_16_I_24_I_29_I_37(
    app: str,
    items: list[tuple[int, str]],
    refill: int,
    expire: bool,
    timeouts: list[int],
    timeouts_first: bool,
) -> None:
    hooked = _run(True, app, items, refill, expire, timeouts, timeouts_first)
    general = _run(False, app, items, refill, expire, timeouts, timeouts_first)
    assert hooked == general


def test_ack_hook_takes_a_plain_batch_in_one_call_I_13_I_37() -> None:
    """A batch of acks on one channel (a repeat and an error ack among them) reaches the
    hook once, with each distinct committed packet once; the refills are sent in order,
    and the result is what the general path gives."""
    items = [(0, "success"), (1, "error"), (0, "success"), (2, "success")]
    _CountingApp.hook_calls.clear()
    hooked = _run(True, "counting", items, 2, False, [], False)
    assert _CountingApp.hook_calls == [3]
    assert "'ok', 'ok', 'noop', 'ok'" in hooked[0]
    assert (hooked[3].acked, hooked[3].error_acks, hooked[3].sent) == (2, 1, _WINDOW + 2)
    _CountingApp.hook_calls.clear()
    assert hooked == _run(False, "counting", items, 2, False, [], False)
    assert _CountingApp.hook_calls == []  # the general path never calls the hook


def test_ack_hook_falls_back_when_a_refill_fails_I_13_I_16() -> None:
    """Expired refills: the hook's answer is rolled back with its count writes, and each
    packet fails alone on the per-packet path (its commitment kept, I-13)."""
    _CountingApp.hook_calls.clear()
    items = [(0, "success"), (1, "success")]
    result, _events, _dump, state = _run(True, "counting", items, 1, True, [], False)
    assert _CountingApp.hook_calls == [2]
    assert result.count("IbcPacketExpired") >= 2
    # each callback rolled back alone: nothing counted, the refill not consumed
    assert (state.acked, state.error_acks, state.sent, state.refill) == (0, 0, _WINDOW, 1)


def test_ack_of_a_packet_the_batch_itself_sends_takes_the_general_path_I_13_I_37() -> None:
    """An ack for the sequence the first ack's refill commits is valid only after that
    refill: the hook path must not judge it before, so the batch runs packet by packet."""
    items = [(0, "success"), (_WINDOW, "success")]
    _CountingApp.hook_calls.clear()
    hooked = _run(True, "counting", items, 1, False, [], False)
    assert _CountingApp.hook_calls == []
    assert "'ok', 'ok'" in hooked[0]
    assert hooked == _run(False, "counting", items, 1, False, [], False)
