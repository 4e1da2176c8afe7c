"""The relayer's decisions, sans-IO: from what two chains can prove, which operations to
submit where (I-22).

`plan_path` takes, for each end of a path, the chain's `RelayState` read twice: once for
its pending packets (first round) and once for the status of the counterparty's pending
packets on it (second round). It returns a `RelayPlan`: per destination IBC actor, the
operations to submit and the counterparty headers its light client must hold first (every
operation's proof height is the height of the answer the fact came from, I-2).

For each packet pending on its source (a commitment exists):

- acknowledged on the destination → ``AcknowledgePackets`` on the source (unless the source
  end is CLOSED: that ack can never be processed, I-13, I-15);
- not received and the destination end CLOSED → ``TimeoutPackets(on_close=True)`` (I-15);
- not received and the destination's proven header at or past its timeout →
  ``TimeoutPackets`` (I-14; judged by the destination's height and time, I-23);
- else, if the destination end is OPEN → ``RecvPackets`` on the destination.

Channel handshakes and closes advance from the two sides' channel views: an INIT end without
a counterparty end → ``ChanOpenTry``; INIT facing TRYOPEN → ``ChanOpenAck``; OPEN facing
TRYOPEN → ``ChanOpenConfirm``; CLOSED facing a not-CLOSED end → ``ChanCloseConfirm``.

Nothing here can corrupt a chain: every operation is checked by the destination, and one
that is stale or redundant is refused or is a no-op there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chains.contract._ibc_types import IbcPacket
from chains.ibc._msgs import (
    AcknowledgePackets,
    ChanCloseConfirm,
    ChannelState,
    ChannelView,
    ChanOpenAck,
    ChanOpenConfirm,
    ChanOpenTry,
    IbcHeader,
    PacketKey,
    RecvPackets,
    RelayState,
    TimeoutPackets,
    UpdateClient,
    WrittenAck,
)

__all__ = ["GATEWAY", "PathSide", "RelayPlan", "destination_keys", "plan_path"]

GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class PathSide:
    """One end of a path: the chain, its light client of the other chain, its connection."""

    chain_id: str
    client_id: str
    connection_id: str


@dataclass
class RelayPlan:
    """Operations per destination: ``ops[(chain_id, actor)]`` where ``actor`` is a channel
    id or `GATEWAY`; ``headers[(chain_id, actor)]`` the counterparty headers (by height) the
    chain's client must hold before them."""

    ops: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    headers: dict[tuple[str, str], dict[int, IbcHeader]] = field(default_factory=dict)

    def add(self, chain_id: str, actor: str, op: Any, header: IbcHeader) -> None:
        key = (chain_id, actor)
        self.ops.setdefault(key, []).append(op)
        self.headers.setdefault(key, {})[header.height] = header

    def batches(
        self, sides: dict[str, PathSide], max_ops: int
    ) -> list[tuple[str, str, tuple[Any, ...]]]:
        """``(chain_id, actor, ops)`` with the client updates first, at most ``max_ops``
        packet-carrying items per batch (a packet operation is split as needed)."""
        out: list[tuple[str, str, tuple[Any, ...]]] = []
        for (chain_id, actor), ops in self.ops.items():
            client_id = sides[chain_id].client_id
            updates = tuple(
                UpdateClient.model_construct(client_id=client_id, header=header)
                for _, header in sorted(self.headers[(chain_id, actor)].items())
            )
            for chunk in _chunks(ops, max_ops):
                out.append((chain_id, actor, updates + chunk))
        return out

    def __bool__(self) -> bool:
        return bool(self.ops)


def _size(op: Any) -> int:
    if isinstance(op, RecvPackets | TimeoutPackets):
        return len(op.packets)
    if isinstance(op, AcknowledgePackets):
        return len(op.acks)
    return 1


def _split(op: Any, room: int) -> tuple[Any, Any | None]:
    """``op`` cut to ``room`` items, and the rest (or None)."""
    if _size(op) <= room:
        return op, None
    proofs = op.proofs
    if isinstance(op, AcknowledgePackets):
        return (
            op.model_copy(update={"acks": op.acks[:room], "proofs": proofs[:room]}),
            op.model_copy(update={"acks": op.acks[room:], "proofs": proofs[room:]}),
        )
    return (
        op.model_copy(update={"packets": op.packets[:room], "proofs": proofs[:room]}),
        op.model_copy(update={"packets": op.packets[room:], "proofs": proofs[room:]}),
    )


def _chunks(ops: list[Any], max_ops: int) -> list[tuple[Any, ...]]:
    chunks: list[tuple[Any, ...]] = []
    current: list[Any] = []
    room = max_ops
    queue = list(ops)
    while queue:
        op = queue.pop(0)
        head, rest = _split(op, room)
        current.append(head)
        room -= _size(head)
        if rest is not None:
            queue.insert(0, rest)
        if room <= 0:
            chunks.append(tuple(current))
            current, room = [], max_ops
    if current:
        chunks.append(tuple(current))
    return chunks


def destination_keys(state: RelayState) -> tuple[PacketKey, ...]:
    """The keys, on the counterparty chain, of the packets pending in ``state``."""
    construct = PacketKey.model_construct
    return tuple(
        construct(port_id=p.dest.port_id, channel_id=p.dest.channel_id, sequence=p.sequence)
        for p in state.pending
    )


def _views(state: RelayState) -> dict[str, ChannelView]:
    return {view.channel_id: view for view in state.channels}


def _channel_proofs(state: RelayState) -> dict[str, Any]:
    """Each channel's proof by channel id (empty when the chain does not prove)."""
    proofs = state.channel_proofs
    if not proofs:
        return {}
    return {view.channel_id: proof for view, proof in zip(state.channels, proofs, strict=True)}


def _plan_packets(
    plan: RelayPlan,
    src: PathSide,
    src_pending: RelayState,
    dst: PathSide,
    dst_status: RelayState,
    relay_filter: Callable[[IbcPacket], bool],
) -> None:
    src_header = src_pending.header
    dst_header = dst_status.header
    if src_header is None or dst_header is None:
        return
    src_views = _views(src_pending)
    dst_views = _views(dst_status)
    statuses = {(s.key.channel_id, s.key.sequence): s for s in dst_status.statuses}
    recvs: dict[str, list[IbcPacket]] = {}
    acks: dict[str, list[WrittenAck]] = {}
    timeouts: dict[tuple[str, bool], list[IbcPacket]] = {}
    # the proofs each operation carries, in step with its packets (issue 13; empty when
    # the chains do not prove: then none are attached)
    src_proofs = src_pending.pending_proofs
    proven = bool(src_proofs)
    recv_proofs: dict[str, list[Any]] = {}
    ack_proofs: dict[str, list[Any]] = {}
    timeout_proofs: dict[tuple[str, bool], list[Any]] = {}
    for index, packet in enumerate(src_pending.pending):
        status = statuses.get((packet.dest.channel_id, packet.sequence))
        if status is None:
            continue  # asked before it was pending: next round
        src_view = src_views.get(packet.src.channel_id)
        if status.received:
            if (
                status.ack is not None
                and src_view is not None
                and (src_view.state is not ChannelState.CLOSED)
            ):
                acks.setdefault(packet.src.channel_id, []).append(
                    WrittenAck.model_construct(packet=packet, ack=status.ack)
                )
                ack_proofs.setdefault(packet.src.channel_id, []).append(status.proof)
            continue
        dst_view = dst_views.get(packet.dest.channel_id)
        if dst_view is not None and dst_view.state is ChannelState.CLOSED:
            timeouts.setdefault((packet.src.channel_id, True), []).append(packet)
            timeout_proofs.setdefault((packet.src.channel_id, True), []).append(status.proof)
        elif packet.timeout.expired(dst_header.height, dst_header.time_ns):
            timeouts.setdefault((packet.src.channel_id, False), []).append(packet)
            timeout_proofs.setdefault((packet.src.channel_id, False), []).append(status.proof)
        elif dst_view is not None and dst_view.state is ChannelState.OPEN and relay_filter(packet):
            recvs.setdefault(packet.dest.channel_id, []).append(packet)
            if proven:
                recv_proofs.setdefault(packet.dest.channel_id, []).append(src_proofs[index])
    # the operations are built unvalidated: their parts come from validated answers, and
    # re-validating every packet of a large clearing was a measurable part of its cost
    for channel_id, written in acks.items():
        ack_op = AcknowledgePackets.model_construct(
            acks=tuple(written),
            proof_height=dst_header.height,
            proofs=_proofs(ack_proofs.get(channel_id, ())),
        )
        plan.add(src.chain_id, channel_id, ack_op, dst_header)
    dst_channel_proofs = _channel_proofs(dst_status)
    for (channel_id, on_close), packets in timeouts.items():
        close_view = close_proof = None
        if on_close:
            close_view = dst_views.get(packets[0].dest.channel_id)
            close_proof = dst_channel_proofs.get(packets[0].dest.channel_id)
        timeout_op = TimeoutPackets.model_construct(
            packets=tuple(packets),
            proof_height=dst_header.height,
            on_close=on_close,
            proofs=_proofs(timeout_proofs.get((channel_id, on_close), ())),
            close_view=close_view,
            close_proof=close_proof,
        )
        plan.add(src.chain_id, channel_id, timeout_op, dst_header)
    for channel_id, packets in recvs.items():
        recv_op = RecvPackets.model_construct(
            packets=tuple(packets),
            proof_height=src_header.height,
            proofs=tuple(recv_proofs.get(channel_id, ())),
        )
        plan.add(dst.chain_id, channel_id, recv_op, src_header)


def _proofs(proofs: Any) -> tuple[Any, ...]:
    """The proofs of an operation's items, or none at all if a chain gave none (an
    unproving chain: its statuses carry ``None``)."""
    out = tuple(proofs)
    return () if all(p is None for p in out) else out


def _plan_handshakes(
    plan: RelayPlan, src: PathSide, src_state: RelayState, dst: PathSide, dst_state: RelayState
) -> None:
    src_header = src_state.header
    dst_header = dst_state.header
    if src_header is None or dst_header is None:
        return
    dst_ends = list(dst_state.channels)
    src_proofs = _channel_proofs(src_state)
    dst_proofs = _channel_proofs(dst_state)
    for x in src_state.channels:
        facing = [
            y
            for y in dst_ends
            if y.counterparty_port_id == x.port_id and y.counterparty_channel_id == x.channel_id
        ]
        if x.state is ChannelState.INIT:
            if not facing:
                try_op = ChanOpenTry(
                    port_id=x.counterparty_port_id,
                    connection_id=dst.connection_id,
                    proof_height=src_header.height,
                    counterparty=x,
                    proof=src_proofs.get(x.channel_id),
                )
                plan.add(dst.chain_id, GATEWAY, try_op, src_header)
            elif facing[0].state is ChannelState.TRYOPEN:
                ack = ChanOpenAck(
                    port_id=x.port_id,
                    channel_id=x.channel_id,
                    proof_height=dst_header.height,
                    counterparty=facing[0],
                    proof=dst_proofs.get(facing[0].channel_id),
                )
                plan.add(src.chain_id, x.channel_id, ack, dst_header)
            continue
        for y in facing:
            if x.state is ChannelState.OPEN and y.state is ChannelState.TRYOPEN:
                confirm = ChanOpenConfirm(
                    port_id=y.port_id,
                    channel_id=y.channel_id,
                    proof_height=src_header.height,
                    counterparty=x,
                    proof=src_proofs.get(x.channel_id),
                )
                plan.add(dst.chain_id, y.channel_id, confirm, src_header)
            elif x.state is ChannelState.CLOSED and y.state is not ChannelState.CLOSED:
                close = ChanCloseConfirm(
                    port_id=y.port_id,
                    channel_id=y.channel_id,
                    proof_height=src_header.height,
                    counterparty=x,
                    proof=src_proofs.get(x.channel_id),
                )
                plan.add(dst.chain_id, y.channel_id, close, src_header)


def _accept_all(packet: IbcPacket) -> bool:
    return True


def plan_path(
    a: PathSide,
    a_pending: RelayState,
    a_status: RelayState,
    b: PathSide,
    b_pending: RelayState,
    b_status: RelayState,
    *,
    relay_filter: Callable[[IbcPacket], bool] = _accept_all,
) -> RelayPlan:
    """Everything to submit on the path ``a`` - ``b`` (see the module docstring).

    ``x_pending`` is chain x's first answer (its pending packets); ``x_status`` its second,
    asked with `destination_keys` of the other chain's first answer. ``relay_filter`` may
    hold packets back from delivery (a relayer that drops packets, I-22): they time out.
    """
    plan = RelayPlan()
    _plan_packets(plan, a, a_pending, b, b_status, relay_filter)
    _plan_packets(plan, b, b_pending, a, a_status, relay_filter)
    _plan_handshakes(plan, a, a_status, b, b_status)
    _plan_handshakes(plan, b, b_status, a, a_status)
    return plan
