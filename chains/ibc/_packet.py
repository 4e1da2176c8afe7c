"""Packets (ibc-go's 04-channel, the packet half): send, receive, acknowledge, time out.

- **Send** (I-8, I-37): inside the sending contract's transaction; the next sequence, the
  commitment (``_commitment.py``), the packet kept for relayers while it is pending.
- **Receive** (I-10, I-12, I-19, I-24): on the destination, proven at a height this chain's
  client holds; a receipt (exactly once), the application's ack or an error ack with the
  application's changes discarded (`IbcExecutionAborted` fails the receive as a whole), the
  ack commitment.
- **Acknowledge** (I-13, I-24) and **time out** (I-14, I-15): on the source; the commitment
  is checked and deleted, the outcome recorded (I-16, I-29) and the source application's
  callback run; a timed-out packet closes an ORDERED channel.

A packet operation (``RecvPackets``, ``AcknowledgePackets``, ``TimeoutPackets``) handles
each packet atomically by itself: a failing one is rolled back alone and reported in the
result's ``items`` (acks and timeouts run each packet in a savepoint; a receive checks
everything before it changes anything, so only its app callback needs one).

Collaborators' methods are bound once at construction, and a few pure per-packet results
(event attributes, shared ack values) are cached. Unverified receives and acks take the
**batch path** (issue 16, `batch_path`): the checks of the channel end a relayer batch's
packets share (port, state, counterparty channel, proof height, the port's contract) run once
per end and batch, each packet keeping its own checks, its own savepoint and its own ack;
and an ack callback whose response is only sends has them run straight by `send_packet`
instead of through the executor's response -> sub-message -> dispatch -> route path (same
commitments, sequences, events and errors); a receive batch for one UNORDERED channel whose
application has the optional hook ``ibc_packet_receive_batch`` is delivered in one call of
it (`_recv_together`: checks, then the hook, then receipts, acks and events per packet; any
failure or a response with messages falls back to packet by packet, so an error ack still
discards only its packet's changes); likewise an ack batch for one UNORDERED channel whose
application has the optional hook ``ibc_packet_ack_batch`` (`_ack_together`: checks, then
the hook, then, in one savepoint, the commitments deleted, the outcomes recorded, the sends
the callbacks answer with run by `_send_batch` and the events in the per-packet order; any
failure, any answer but plain sends, or an ack the batch's own sends could make valid falls
back to packet by packet, each packet in its savepoint). The batch paths write receipts,
acks, commitments, stored packets and outcomes with one bulk call per map
(`JournaledMap.set_many` / ``delete_many``: the same undo records as key by key).
``batch_path = False`` runs the general path; ``tests/chains/ibc/test_batch_path.py`` and
``test_ack_batch_hook.py`` run both on random batches and compare the stores, events and
results byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from chains.contract._contract import (
    BlockEnv,
    IbcBasicResponse,
    IbcReceiveResponse,
    IbcSendPacket,
    ReplyOn,
    SubMsg,
)
from chains.contract._errors import ChainError
from chains.contract._ibc_types import (
    IbcAcknowledgement,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
    PacketTooLarge,
    trusted_packet,
)
from chains.host._errors import ContractPanic, InternalError, ModulePanic, panic_detail
from chains.ibc._commitment import CommitmentCache, ack_commitment
from chains.ibc._commitment_paths import ack_key, commitment_key, receipt_key
from chains.ibc._errors import (
    IbcBadChannelState,
    IbcCommitmentMismatch,
    IbcCounterpartyMismatch,
    IbcExecutionAborted,
    IbcNoTimeout,
    IbcPacketExpired,
    IbcPacketOutOfOrder,
    IbcPacketTimedOut,
    IbcTimeoutNotReached,
    IbcUnknownChannel,
)
from chains.ibc._events import IbcEventType, packet_attributes
from chains.ibc._msgs import (
    AcknowledgePackets,
    ChannelState,
    IbcBlockNotice,
    OpResult,
    RecvPackets,
    TimeoutPackets,
    WrittenAck,
    written_ack,
)
from chains.ibc._state import ACKED, TIMED_OUT, AckRecord, ChannelEnd, ClientState, IbcStore

if TYPE_CHECKING:
    from chains.contract._contract import Contract, Env
    from chains.host._executor import TxExecutor
    from chains.ibc._channel import Channels
    from chains.ibc._client import Clients
    from chains.ibc._port import Ports

__all__: list[str] = []

_OPEN: Final = ChannelState.OPEN
_CLOSED: Final = ChannelState.CLOSED
_ORDERED: Final = IbcOrder.ORDERED
_OK: Final = "ok"
_NOOP: Final = "noop"
_RECV_EVENT: Final = IbcEventType.RECV_PACKET.value
_WRITE_ACK_EVENT: Final = IbcEventType.WRITE_ACKNOWLEDGEMENT.value
_SEND_EVENT: Final = IbcEventType.SEND_PACKET.value
_ACK_EVENT: Final = IbcEventType.ACKNOWLEDGE_PACKET.value
_TIMEOUT_EVENT: Final = IbcEventType.TIMEOUT_PACKET.value
_SUCCESS_TRUE: Final = ("success", "true")
_SUCCESS_FALSE: Final = ("success", "false")
_CACHE_ENTRIES: Final = 256
_CACHED_ACK_OBJECTS: Final = 64
_NEVER: Final = ReplyOn.NEVER
_NOTHING: Final = IbcBasicResponse()


class Packets:
    """The packet layer of one chain's IBC module (see the module docstring).

    Shares the module's `IbcStore`, executor and listener list (sends and written acks are
    logged for the block notice only while someone listens); proofs and the send's timeout
    check go through the connection layer, callbacks through the port layer, and a timeout
    on an ORDERED channel closes it through the channel layer. Everything runs *in a unit*
    of the executor.
    """

    def __init__(
        self,
        executor: TxExecutor,
        state: IbcStore,
        listeners: list[Callable[[IbcBlockNotice], None]],
        max_packet_size: int,
        client_of: Callable[[str], ClientState],
        proof_time: Callable[[str, int], int],
        channels: Channels,
        ports: Ports,
        verifier: Clients | None = None,
    ) -> None:
        # the client layer when proofs are verified (issue 13), else None
        self._verifier = verifier
        # the timeout operation being applied (its on-close proof), verified chains only
        self._timeout_op: TimeoutPackets | None = None
        self._state = state
        self._listeners = listeners
        self._max_packet_size = max_packet_size
        # collaborators bound once: this is the per-packet path
        self._executor = executor
        self._emit_raw = executor.emit_raw
        self._emit_raw_many = executor.emit_raw_many
        self._nested = executor.nested
        self._call_contract = executor.call_contract
        self._log = state.log
        self._client_of = client_of
        self._proof_time = proof_time
        self._port_contract = ports.port_contract
        self._callback = ports.callback
        self._channels = channels
        commitments = CommitmentCache()
        self._commitment = commitments.packet
        self._known_ack = commitments.known_ack
        self._ack_commitment_of = commitments.ack_commitment_of
        # shared IbcAcknowledgement values for the few acks apps repeat (frozen: safe)
        self._ack_objects: dict[bytes, IbcAcknowledgement] = {}
        self._attribute_tails: dict[tuple[str, str, str, str, int, int, int], Any] = {}
        # the last packet's (src, dest, timeout) objects and their attribute tail: in memory
        # the packets of a channel share these objects, so an identity check finds the tail
        self._last_tail: tuple[IbcEndpoint, IbcEndpoint, IbcTimeout, Any] | None = None
        # during one packet operation: the channel end and proof height already checked
        # against the light client (ends are immutable, replaced on change, so identity
        # means the same end; reset around every operation, as an update may come between)
        self._proved_end: ChannelEnd | None = None
        self._proved_height = -1
        # the batch path (issue 16): acks of a relayer batch in one lean loop, and the sends
        # an ack callback answers with taken straight to `send_packet`; False runs the
        # general per-packet path (the equivalence tests compare the two)
        self.batch_path = True
        # during one acknowledge operation: the channel end whose checks passed (identity:
        # ends are immutable, so a callback that closes the channel makes a new one) and
        # the contract behind its port
        self._batch_end: ChannelEnd | None = None
        self._batch_contract = ""

    def forget_caches(self) -> None:
        """Drop the shared-object caches (after a durable store loaded the chain's state:
        they only ever hold values equal to fresh ones, but the loaded objects are new)."""
        self._ack_objects.clear()
        self._attribute_tails.clear()
        self._last_tail = None
        self._proved_end = None
        self._proved_height = -1
        self._batch_end = None

    # -- sending (I-8) ----------------------------------------------------------------------

    def send_packet(self, sender: str, msg: IbcSendPacket, height: int) -> None:
        """(In a unit.) Contract ``sender`` sends ``msg`` at block ``height`` (I-8): the
        packet's commitment, its event and its block-log entry. What the module's ``handle``
        does with an ``IbcSendPacket``, without a `ModuleCall` or a response: the executor
        routes sends here directly (the per-packet path).

        Raises `IbcUnknownChannel` (no such channel on the sender's port),
        `IbcBadChannelState`, `IbcNoTimeout`, `PacketTooLarge` or `IbcPacketExpired`.
        """
        end = self._send_check(sender, msg)
        state = self._state
        channel_id = msg.channel_id
        sequence = state.next_send.get(channel_id, 1)
        state.next_send[channel_id] = sequence + 1
        packet = trusted_packet(sequence, end.endpoint, end.counterparty, msg.data, msg.timeout)
        ref = (channel_id, sequence)
        state.commitments[ref] = (self._commitment(packet), height)
        state.packets[ref] = packet
        if self._listeners:
            self._log(("sent", channel_id, packet))
        self._emit_raw("ibc", _SEND_EVENT, self._packet_attributes(packet))

    def _send_check(self, sender: str, msg: IbcSendPacket) -> ChannelEnd:
        """`send_packet`'s checks, in its order (nothing is changed): returns the channel
        end ``msg`` is sent on. Raises what `send_packet` raises."""
        state = self._state
        channel_id = msg.channel_id
        end = state.channels.get(channel_id)
        if end is None:
            raise IbcUnknownChannel(f"wasm.{sender}", channel_id)
        port_id = end.port_id
        # the port layer's port_owner, inlined on the per-packet path
        owner = state.ports.get(port_id)
        if owner is None and port_id.startswith("wasm."):
            owner = port_id[5:]
        if owner != sender:
            raise IbcUnknownChannel(f"wasm.{sender}", channel_id)
        if end.state is _CLOSED:
            raise IbcBadChannelState(end.port_id, channel_id, end.state.value, "not CLOSED")
        timeout = msg.timeout
        if not timeout.height and not timeout.timestamp_ns:
            raise IbcNoTimeout()
        data = msg.data
        limit = self._max_packet_size
        if len(data) > limit:
            raise PacketTooLarge(len(data), limit)
        client = self._client_of(end.connection_id)
        if timeout.expired(client.latest_height, client.latest_time_ns):
            raise IbcPacketExpired(
                timeout.height, timeout.timestamp_ns, client.latest_height, client.latest_time_ns
            )
        return end

    def _send_batch(self, sender: str, msgs: list[IbcSendPacket], height: int) -> list[IbcPacket]:
        """`send_packet` of each of ``msgs`` in order (contract ``sender``, block ``height``)
        but its events, which the caller emits (returns the packets, in order): each
        distinct message is checked once (nothing a send writes changes what the checks
        read), the sequences are allocated and the commitments, packets and block-log
        entries written in one call per map (issue 16). Raises what `send_packet` raises,
        possibly after writes: run it in a savepoint."""
        state = self._state
        checked: dict[int, ChannelEnd] = {}
        next_send = state.next_send
        sequences: dict[str, int] = {}
        commitment = self._commitment
        packets: list[IbcPacket] = []
        commitments: list[tuple[tuple[str, int], tuple[bytes, int]]] = []
        stored: list[tuple[tuple[str, int], IbcPacket]] = []
        for msg in msgs:
            end = checked.get(id(msg))
            if end is None:
                end = checked[id(msg)] = self._send_check(sender, msg)
            channel_id = msg.channel_id
            sequence = sequences.get(channel_id)
            if sequence is None:
                sequence = next_send.get(channel_id, 1)
            sequences[channel_id] = sequence + 1
            packet = trusted_packet(sequence, end.endpoint, end.counterparty, msg.data, msg.timeout)
            ref = (channel_id, sequence)
            commitments.append((ref, (commitment(packet), height)))
            stored.append((ref, packet))
            packets.append(packet)
        next_send.set_many(list(sequences.items()))
        state.commitments.set_many(commitments)
        state.packets.set_many(stored)
        if self._listeners:
            state.log_many([("sent", packet.src.channel_id, packet) for packet in packets])
        return packets

    def _packet_attributes(self, packet: IbcPacket) -> tuple[tuple[str, str], ...]:
        """`packet_attributes`: all but the ``seq`` attribute are shared by the packets of a
        channel with the same timeout (small cache, emptied when full)."""
        src = packet.src
        dest = packet.dest
        timeout = packet.timeout
        last = self._last_tail
        if last is not None and last[0] is src and last[1] is dest and last[2] is timeout:
            return (("seq", str(packet.sequence)), *last[3])
        key = (
            src.port_id,
            src.channel_id,
            dest.port_id,
            dest.channel_id,
            timeout.revision,
            timeout.height,
            timeout.timestamp_ns,
        )
        cache = self._attribute_tails
        tail = cache.get(key)
        if tail is None:
            if len(cache) >= _CACHE_ENTRIES:
                cache.clear()
            tail = cache[key] = packet_attributes(packet)[1:]
        self._last_tail = (src, dest, timeout, tail)
        return (("seq", str(packet.sequence)), *tail)

    # -- receiving (I-10, I-12, I-19) -------------------------------------------------------

    def recv_packets(self, op: RecvPackets, signer: str) -> OpResult:
        """The relayer's ``RecvPackets``: receive each packet, proven at ``op.proof_height``;
        one item status per packet (``ok``, ``noop`` for a repeat, or the error's name).

        Raises only what fails the operation as a whole: `IbcExecutionAborted` (I-19).
        """
        block = self._executor.block_env
        proof_height = op.proof_height
        statuses: list[str] = []
        failures: dict[int, str] = {}
        self._proved_end = None
        # the acks written, by channel, logged once for the whole operation (the operation
        # is atomic: if it fails, the log entry goes with it)
        written: dict[str, list[WrittenAck]] | None = {} if self._listeners else None
        batch = self.batch_path and self._verifier is None
        recv = self._batch_recv if batch else self._recv
        self._batch_end = None
        proofs = op.proofs
        packets = op.packets
        if batch and len(packets) > 1:
            together = self._recv_together(packets, proof_height, signer, block, written)
            if together is not None:
                self._proved_end = None
                return together
            if written:
                written.clear()
        for index, packet in enumerate(packets):
            # no savepoint per packet: `_recv` changes nothing before its last possible
            # failure (the app callback runs in a savepoint of its own)
            try:
                proof = proofs[index] if index < len(proofs) else None
                statuses.append(recv(packet, proof_height, signer, block, written, proof))
            except ChainError as exc:
                failures[len(statuses)] = str(exc)
                statuses.append(exc.name)
            except BaseException:
                self._proved_end = None
                self._batch_end = None
                raise
        self._proved_end = None
        self._batch_end = None
        self._log_written(written)
        return _items_result(statuses, failures)

    def _log_written(self, written: dict[str, list[WrittenAck]] | None) -> None:
        # the acks an operation wrote, by channel, logged once for the whole operation
        if written:
            for channel_id, channel_acks in written.items():
                self._log(("acks", channel_id, tuple(channel_acks)))

    def _recv(
        self,
        packet: IbcPacket,
        proof_height: int,
        signer: str,
        block: BlockEnv,
        written: dict[str, list[WrittenAck]] | None,
        proof: object = None,
    ) -> str:
        """Receive one packet (I-10). Every check comes before the first change, and the app
        callback (which may fail, I-19) undoes its own changes, so a failure leaves no trace
        without a savepoint around the whole step."""
        state = self._state
        dest = packet.dest
        channel_id = dest.channel_id
        end = state.channels.get(channel_id)
        if end is None or end.port_id != dest.port_id:
            raise IbcUnknownChannel(dest.port_id, channel_id)
        if end.state is not _OPEN:
            raise IbcBadChannelState(end.port_id, channel_id, end.state.value, "OPEN")
        if not _same_endpoint(packet.src, end.counterparty):
            raise IbcCounterpartyMismatch("packet source is not this channel's counterparty")
        sequence = packet.sequence
        height = block.height
        time_ns = block.time_s * 1_000_000_000
        if packet.timeout.expired(height, time_ns):
            raise IbcPacketTimedOut(sequence, height, time_ns)
        if end is not self._proved_end or proof_height != self._proved_height:
            self._proof_time(end.connection_id, proof_height)
            self._proved_end, self._proved_height = end, proof_height
        verifier = self._verifier
        if verifier is not None:
            # I-17: the packet must be committed on its source (before any change)
            src = packet.src
            verifier.verify_membership(
                self._client_of(end.connection_id).client_id,
                proof_height,
                commitment_key(src.port_id, src.channel_id, sequence),
                self._commitment(packet),
                proof,
            )
        ref = (channel_id, sequence)
        receipts = state.receipts
        ordered = end.ordering is _ORDERED
        expected = 0
        if ordered:
            expected = state.next_recv.get(channel_id, 1)
            if sequence < expected:
                return _NOOP
            if sequence > expected:
                raise IbcPacketOutOfOrder(sequence, expected)
        elif receipts.get(ref) is not None:  # (heights are never None; get is a C call)
            return _NOOP
        # the app runs before the receipt is written: nothing it can see depends on it (the
        # module answers queries as of the last ended block), and an aborted receive
        # (IbcExecutionAborted, I-19) then has nothing of the module's to undo
        ack = self._app_receive(end, packet, signer)
        if ordered:
            state.next_recv[channel_id] = expected + 1
        self._record_receive(
            packet, ack, height, None if written is None else written.setdefault(channel_id, [])
        )
        return _OK

    def _record_receive(
        self, packet: IbcPacket, ack: bytes, height: int, channel_acks: list[WrittenAck] | None
    ) -> None:
        """What a delivered packet leaves, the one copy every receive path uses: its receipt
        (exactly once), its ack commitment and record, the written-ack log entry (when
        ``channel_acks`` collects them) and its two events, in that order."""
        state = self._state
        dest = packet.dest
        channel_id = dest.channel_id
        ref = (channel_id, packet.sequence)
        state.receipts[ref] = height
        known = self._known_ack(ack)
        if known is None:
            known = self._ack_commitment_of(ack)
        ack_hash, succeeded = known
        state.acks[ref] = AckRecord(ack_hash, ack, height)
        if channel_acks is not None:
            channel_acks.append(written_ack(packet, ack))
        emit = self._emit_raw
        attributes = self._packet_attributes(packet)
        emit("ibc", _RECV_EVENT, attributes)
        emit(
            "ibc",
            _WRITE_ACK_EVENT,
            (
                attributes[0],  # ("seq", str(sequence))
                ("dst_port", dest.port_id),
                ("dst_channel", channel_id),
                _SUCCESS_TRUE if succeeded else _SUCCESS_FALSE,
            ),
        )

    def _record_receives(
        self,
        channel_id: str,
        packets: list[IbcPacket],
        responses: tuple[IbcReceiveResponse, ...],
        height: int,
        channel_acks: list[WrittenAck] | None,
    ) -> None:
        """`_record_receive` of each of ``packets`` (distinct, all received on
        ``channel_id``) with its response's ack, in order: the same receipts, ack records,
        written-ack log entries and events, each map written in one call (issue 16)."""
        state = self._state
        known_ack = self._known_ack
        attributes_of = self._packet_attributes
        receipts: list[tuple[tuple[str, int], int]] = []
        records: list[tuple[tuple[str, int], AckRecord]] = []
        events: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
        for packet, response in zip(packets, responses, strict=True):
            ack = response.ack.data
            ref = (channel_id, packet.sequence)
            receipts.append((ref, height))
            known = known_ack(ack)
            if known is None:
                known = self._ack_commitment_of(ack)
            records.append((ref, AckRecord(known[0], ack, height)))
            if channel_acks is not None:
                channel_acks.append(written_ack(packet, ack))
            attributes = attributes_of(packet)
            events.append(("ibc", _RECV_EVENT, attributes))
            dest = packet.dest
            events.append(
                (
                    "ibc",
                    _WRITE_ACK_EVENT,
                    (
                        attributes[0],
                        ("dst_port", dest.port_id),
                        ("dst_channel", channel_id),
                        _SUCCESS_TRUE if known[1] else _SUCCESS_FALSE,
                    ),
                )
            )
        state.receipts.set_many(receipts)
        state.acks.set_many(records)
        self._emit_raw_many(events)

    def _recv_together(
        self,
        packets: tuple[IbcPacket, ...],
        proof_height: int,
        signer: str,
        block: BlockEnv,
        written: dict[str, list[WrittenAck]] | None,
    ) -> OpResult | None:
        """The receives of a batch whose packets all go to one UNORDERED channel, delivered
        to the application in one call of its optional batch hook,
        ``ibc_packet_receive_batch(env, packets, relayer)`` (one `IbcReceiveResponse` per
        packet, as its per-packet calls in order would answer). The packets' checks come
        first (none depends on a callback that sends nothing: only a message could change a
        channel), then the hook, then the receipts, ack commitments and events of each
        delivered packet in order: what `_batch_recv` packet by packet gives, when every
        response is a plain ack without messages or events.

        Returns ``None``, having changed nothing, whenever that does not hold (another
        channel, an ORDERED or unbound one, no hook, a hook that fails or answers otherwise):
        the packet-by-packet path then runs (and gives a failing packet its error ack with
        only its own changes discarded).
        """
        state = self._state
        channel_id = packets[0].dest.channel_id
        end = state.channels.get(channel_id)
        if end is None or end.ordering is _ORDERED or end.state is not _OPEN:
            return None
        port_id = end.port_id
        try:
            contract = self._port_contract(port_id)
        except ChainError:
            return None
        counterparty = end.counterparty
        height = block.height
        time_ns = block.time_s * 1_000_000_000
        receipts = state.receipts
        statuses: list[str] = []
        failures: dict[int, str] = {}
        deliver: list[IbcPacket] = []
        taken: set[tuple[str, int]] = set()
        for packet in packets:
            dest = packet.dest
            if dest.channel_id != channel_id:
                return None
            try:
                # `_recv`'s checks, in its order
                if dest.port_id != port_id:
                    raise IbcUnknownChannel(dest.port_id, channel_id)
                src = packet.src
                if src is not counterparty and not _same_endpoint(src, counterparty):
                    raise IbcCounterpartyMismatch(
                        "packet source is not this channel's counterparty"
                    )
                sequence = packet.sequence
                if packet.timeout.expired(height, time_ns):
                    raise IbcPacketTimedOut(sequence, height, time_ns)
                if end is not self._proved_end or proof_height != self._proved_height:
                    self._proof_time(end.connection_id, proof_height)
                    self._proved_end, self._proved_height = end, proof_height
            except ChainError as exc:
                failures[len(statuses)] = str(exc)
                statuses.append(exc.name)
                continue
            ref = (channel_id, sequence)
            if ref in taken or receipts.get(ref) is not None:
                statuses.append(_NOOP)
                continue
            taken.add(ref)
            deliver.append(packet)
            statuses.append(_OK)
        if deliver:
            try:
                responses, _ = self._nested(
                    self._call_contract,
                    contract,
                    "ibc_packet_receive_batch",
                    _receive_batch,
                    tuple(deliver),
                    signer,
                )
            except ChainError:
                return None
            if responses is None:
                return None
            channel_acks: list[WrittenAck] | None = None
            if written is not None:
                channel_acks = written.setdefault(channel_id, [])
            self._record_receives(channel_id, deliver, responses, height, channel_acks)
        self._log_written(written)
        return _items_result(statuses, failures)

    def _batch_recv(
        self,
        packet: IbcPacket,
        proof_height: int,
        signer: str,
        block: BlockEnv,
        written: dict[str, list[WrittenAck]] | None,
        proof: object = None,
    ) -> str:
        """`_recv` (unverified) on the batch path: the channel end's checks (port, OPEN, proof
        height, the port's contract) run once per end and batch, the packet's own (its
        source, its timeout, its receipt) for each packet. Same checks in the same order,
        same errors, same writes and events as `_recv`."""
        state = self._state
        dest = packet.dest
        channel_id = dest.channel_id
        end = state.channels.get(channel_id)
        if end is None or end.port_id != dest.port_id:
            raise IbcUnknownChannel(dest.port_id, channel_id)
        # an end already checked in this batch is still OPEN: ends are immutable, and a
        # callback that closes the channel replaces it
        fresh = end is not self._batch_end
        if fresh and end.state is not _OPEN:
            raise IbcBadChannelState(end.port_id, channel_id, end.state.value, "OPEN")
        if not _same_endpoint(packet.src, end.counterparty):
            raise IbcCounterpartyMismatch("packet source is not this channel's counterparty")
        sequence = packet.sequence
        height = block.height
        time_ns = block.time_s * 1_000_000_000
        if packet.timeout.expired(height, time_ns):
            raise IbcPacketTimedOut(sequence, height, time_ns)
        if fresh:
            if end is not self._proved_end or proof_height != self._proved_height:
                self._proof_time(end.connection_id, proof_height)
                self._proved_end, self._proved_height = end, proof_height
            # the port's contract: an unbound port is the callback's failure (an error
            # ack), so it is looked up where `_app_receive` would, and not cached then
            try:
                self._batch_contract = self._port_contract(end.port_id)
            except ChainError:
                self._batch_end = None
            else:
                self._batch_end = end
        ref = (channel_id, sequence)
        receipts = state.receipts
        ordered = end.ordering is _ORDERED
        expected = 0
        if ordered:
            expected = state.next_recv.get(channel_id, 1)
            if sequence < expected:
                return _NOOP
            if sequence > expected:
                raise IbcPacketOutOfOrder(sequence, expected)
        elif receipts.get(ref) is not None:
            return _NOOP
        if self._batch_end is end:
            # `_app_receive` with the contract known
            try:
                response, _ = self._nested(
                    self._call_contract,
                    self._batch_contract,
                    "ibc_packet_receive",
                    _receive,
                    packet,
                    signer,
                )
                ack: bytes = response.ack.data
            except IbcExecutionAborted:
                raise
            except ChainError as exc:
                ack = IbcAcknowledgement.error(str(exc)).data
        else:
            ack = self._app_receive(end, packet, signer)
        if ordered:
            state.next_recv[channel_id] = expected + 1
        self._record_receive(
            packet, ack, height, None if written is None else written.setdefault(channel_id, [])
        )
        return _OK

    def _app_receive(self, end: ChannelEnd, packet: IbcPacket, signer: str) -> bytes:
        """I-10.4, I-10.5, I-19: the app's ack, or an error ack with its changes discarded.

        Raises `IbcExecutionAborted` (with the app's changes discarded) and nothing else."""
        try:
            contract = self._port_contract(end.port_id)
            response, _ = self._nested(
                self._call_contract, contract, "ibc_packet_receive", _receive, packet, signer
            )
        except IbcExecutionAborted:
            raise
        except ChainError as exc:
            return IbcAcknowledgement.error(str(exc)).data
        ack: IbcAcknowledgement = response.ack
        return ack.data

    # -- source side: acks (I-13) and timeouts (I-14, I-15) ---------------------------------

    def _per_packet(self, items: tuple[Any, ...], step: Callable[..., str], *args: Any) -> OpResult:
        """``step(item, *args)`` for each item, each in a savepoint of its own: a failing
        one is rolled back alone and reported in the result's ``items``."""
        nested = self._nested
        statuses: list[str] = []
        # the failures' details by index: an all-ok batch builds no per-item list for them
        failures: dict[int, str] = {}
        for item in items:
            try:
                statuses.append(nested(step, item, *args))
            except ChainError as exc:
                failures[len(statuses)] = str(exc)
                statuses.append(exc.name)
        return _items_result(statuses, failures)

    def acknowledge_packets(self, op: AcknowledgePackets, signer: str) -> OpResult:
        """The relayer's ``AcknowledgePackets``: process each written ack, proven at
        ``op.proof_height``, in a savepoint of its own; one item status per ack."""
        self._proved_end = None
        self._batch_end = None
        try:
            if self._verifier is not None:
                return self._per_packet(
                    _with_proofs(op.acks, op.proofs), self._verified_ack, op.proof_height, signer
                )
            if self.batch_path:
                acks = op.acks
                if len(acks) > 1:
                    together = self._ack_together(acks, op.proof_height, signer)
                    if together is not None:
                        return together
                return self._per_packet(acks, self._batch_ack, op.proof_height, signer)
            return self._per_packet(op.acks, self._ack, op.proof_height, signer)
        finally:
            self._proved_end = None
            self._batch_end = None

    # -- the batch path (issue 16) --

    def _ack_together(
        self, acks: tuple[WrittenAck, ...], proof_height: int, signer: str
    ) -> OpResult | None:
        """The acks of a batch whose packets all come from one UNORDERED channel, delivered
        to the application in one call of its optional batch hook,
        ``ibc_packet_ack_batch(env, acks, packets, relayer)`` (one `IbcBasicResponse` per
        packet, as its per-packet ``ibc_packet_ack`` calls in order would answer). The
        packets' checks come first (as `_batch_ack` runs them: port, counterparty,
        commitment; a repeat in the batch is a no-op, I-16), then the hook, then, in one
        savepoint, each delivered packet's commitment deleted (exactly once, I-13, I-29),
        its outcome recorded, the sends its response asks for (`_send_batch`) and the
        events in the per-packet order (each packet's sends, then its acknowledge_packet).

        Returns ``None``, having changed nothing, whenever that would not be what the
        packet-by-packet path gives: another channel in the batch, an ORDERED, not OPEN or
        unbound one, a failing end check, a message filter, a packet at or past the
        channel's next send sequence (a refill in the batch could commit it), no hook, a
        hook that fails or answers anything but plain sends, a send that fails. The
        packet-by-packet path then runs, each packet in its own savepoint.
        """
        state = self._state
        channel_id = acks[0].packet.src.channel_id
        end = state.channels.get(channel_id)
        if end is None or end.ordering is _ORDERED or end.state is not _OPEN:
            return None
        if self._executor.has_message_filters:
            return None
        port_id = end.port_id
        try:
            # the end's checks, which `_batch_ack` runs for the first packet that passes
            # its own: if one fails, the packet-by-packet path reports it
            self._proof_time(end.connection_id, proof_height)
            contract = self._port_contract(port_id)
            hooked, _ = self._call_contract(contract, "ibc_packet_ack_batch", _has_ack_hook)
        except ChainError:
            return None
        if not hooked:
            return None
        counterparty = end.counterparty
        limit = state.next_send.get(channel_id, 1)
        commitments = state.commitments
        stored_packets = state.packets
        statuses: list[str] = []
        failures: dict[int, str] = {}
        delivered_acks: list[IbcAcknowledgement] = []
        delivered: list[IbcPacket] = []
        refs: list[tuple[str, int]] = []
        refs_seen: set[tuple[str, int]] = set()
        kept: list[tuple[str, int]] = []  # refs whose packet is stored (dropped with them)
        acknowledgement = self._acknowledgement
        for written in acks:
            packet = written.packet
            src = packet.src
            sequence = packet.sequence
            if src.channel_id != channel_id or sequence >= limit:
                return None
            try:
                # `_source_end`'s packet checks, then `_batch_ack`'s commitment check
                if src.port_id != port_id:
                    raise IbcUnknownChannel(src.port_id, channel_id)
                dest = packet.dest
                if dest is not counterparty and not _same_endpoint(dest, counterparty):
                    raise IbcCounterpartyMismatch(
                        "packet destination is not this channel's counterparty"
                    )
                ref = (channel_id, sequence)
                stored = commitments.get(ref)
                if stored is None or ref in refs_seen:
                    statuses.append(_NOOP)
                    continue
                known = stored_packets.get(ref)
                if known is not packet and stored[0] != self._commitment(packet):
                    raise IbcCommitmentMismatch(sequence)
            except ChainError as exc:
                failures[len(statuses)] = str(exc)
                statuses.append(exc.name)
                continue
            refs_seen.add(ref)
            refs.append(ref)
            if known is not None:
                kept.append(ref)
            delivered.append(packet)
            delivered_acks.append(acknowledgement(written.ack))
            statuses.append(_OK)
        if delivered:
            try:
                self._nested(
                    self._ack_deliver,
                    contract,
                    tuple(delivered_acks),
                    tuple(delivered),
                    refs,
                    kept,
                    signer,
                )
            except ChainError:
                return None
        return _items_result(statuses, failures)

    def _ack_deliver(
        self,
        contract: str,
        acks: tuple[IbcAcknowledgement, ...],
        packets: tuple[IbcPacket, ...],
        refs: list[tuple[str, int]],
        kept: list[tuple[str, int]],
        signer: str,
    ) -> None:
        """(In a savepoint: raises, having written, on any failure.) `_ack_together`'s
        delivery: the hook, the commitments and stored packets deleted, the outcomes, the
        sends and the events, in the per-packet order."""
        responses, _ = self._call_contract(
            contract, "ibc_packet_ack_batch", _ack_batch, acks, packets, signer
        )
        state = self._state
        outcomes = state.outcomes
        for ref in refs:
            if outcomes.get(ref) is not None:  # impossible by construction (I-29)
                raise InternalError(f"packet {ref} resolved twice")
        state.commitments.delete_many(refs)
        if kept:
            state.packets.delete_many(kept)
        outcomes.set_many([(ref, ACKED) for ref in refs])
        attributes = self._packet_attributes
        msgs: list[IbcSendPacket] = []
        for response in responses:
            for sub in response.messages:
                msg: Any = sub.msg  # (an IbcSendPacket: `_ack_batch` checked)
                msgs.append(msg)
        if not msgs:
            self._emit_raw_many([("ibc", _ACK_EVENT, attributes(packet)) for packet in packets])
            return
        try:
            sent = self._send_batch(contract, msgs, self._executor.height)
        except ChainError:
            raise
        except Exception as exc:
            # what the IBC route makes of a send's non-ChainError (see `_invoke_ack`)
            raise ModulePanic("ibc", panic_detail(exc)) from exc
        events: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
        index = 0
        for packet, response in zip(packets, responses, strict=True):
            for _ in response.messages:
                events.append(("ibc", _SEND_EVENT, attributes(sent[index])))
                index += 1
            events.append(("ibc", _ACK_EVENT, attributes(packet)))
        self._emit_raw_many(events)

    def _batch_ack(self, written: WrittenAck, proof_height: int, signer: str) -> str:
        """`_ack` (unverified) on the batch path: the channel end's checks (port,
        counterparty, OPEN, proof height, the port's contract) run once per end and batch,
        the commitment check and resolution are inlined, and the callback's sends go
        straight to `send_packet` (`_invoke_ack`). Same checks in the same order, same
        errors, same writes and events as `_ack`."""
        packet = written.packet
        src = packet.src
        state = self._state
        end = state.channels.get(src.channel_id)
        if end is not self._batch_end or end is None:
            # `_source_end`, the OPEN check and the proof height, as `_ack` runs them
            end = self._source_end(packet)
            if end.state is not _OPEN:
                raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "OPEN")
            if end is not self._proved_end or proof_height != self._proved_height:
                self._proof_time(end.connection_id, proof_height)
                self._proved_end, self._proved_height = end, proof_height
            self._batch_contract = self._port_contract(end.port_id)
            self._batch_end = end
        elif end.port_id != src.port_id or (
            packet.dest is not (counterparty := end.counterparty)
            and not _same_endpoint(packet.dest, counterparty)
        ):
            # the same end, another packet: only the packet's own endpoints are new (in
            # memory the packet holds the very endpoint the end does: identity first)
            end = self._source_end(packet)
        channel_id = end.channel_id
        sequence = packet.sequence
        ref = (channel_id, sequence)
        commitments = state.commitments
        stored = commitments.get(ref)
        if stored is None:
            return _NOOP
        packets = state.packets
        if packets.get(ref) is not packet and stored[0] != self._commitment(packet):
            raise IbcCommitmentMismatch(sequence)
        if end.ordering is _ORDERED:
            next_ack = state.next_ack
            expected = next_ack.get(channel_id, 1)
            if sequence != expected:
                raise IbcPacketOutOfOrder(sequence, expected)
            next_ack[channel_id] = expected + 1
        self._resolve(ref, ACKED)
        self._call_contract(
            self._batch_contract,
            "ibc_packet_ack",
            self._invoke_ack,
            self._acknowledgement(written.ack),
            packet,
            signer,
        )
        self._emit_raw("ibc", _ACK_EVENT, self._packet_attributes(packet))
        return _OK

    def _invoke_ack(
        self, core: Contract, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        """The ack callback; when its response is only sends (plain ``IbcBasicResponse``,
        no events, every message a reply-never ``IbcSendPacket``), run them here, straight
        to `send_packet`, and return the empty response: what the executor's response ->
        sub-message -> dispatch -> IBC route path does with it (the sends in order; a
        non-`ChainError` from a send is the route's `ModulePanic`). Only while no module
        filters messages (`has_message_filters`): else the general path."""
        response = core.ibc_packet_ack(env, ack, packet, relayer)
        if type(response) is not IbcBasicResponse or response.events:
            return response
        if self._executor.has_message_filters:
            # a filter's own failure would surface differently here than from `dispatch`
            return response
        messages = response.messages
        if not messages:
            return response
        for sub in messages:
            if type(sub) is not SubMsg or sub.reply_on is not _NEVER:
                return response
            if type(sub.msg) is not IbcSendPacket:
                return response
        sender = env.contract_address
        send = self.send_packet
        height = self._executor.height
        for sub in messages:
            msg: Any = sub.msg
            try:
                send(sender, msg, height)
            except ChainError:
                raise
            except Exception as exc:
                raise ModulePanic("ibc", panic_detail(exc)) from exc
        return _NOTHING

    # -- proofs (issue 13, I-17) --

    def _verified_ack(self, item: tuple[WrittenAck, object], proof_height: int, signer: str) -> str:
        """`_ack` of ``(written ack, its proof)``."""
        written, proof = item
        return self._ack(written, proof_height, signer, proof)

    def _verified_timeout(
        self, item: tuple[IbcPacket, object], proof_height: int, on_close: bool, signer: str
    ) -> str:
        """`_timeout` of ``(packet, the proof of its receipt's absence)``."""
        packet, proof = item
        return self._timeout(packet, proof_height, on_close, signer, proof)

    def _prove_closed(self, packet: IbcPacket, end: ChannelEnd, proof_height: int) -> None:
        """I-15 on a verified chain: the timeout on close carries the destination end, CLOSED,
        and its proof at ``proof_height`` (raises `IbcCounterpartyMismatch`, `InvalidProof`
        and the client's errors)."""
        op = self._timeout_op
        view = None if op is None else op.close_view
        if view is None or view.state is not ChannelState.CLOSED:
            raise IbcCounterpartyMismatch("a timeout on close needs the CLOSED counterparty end")
        if view.port_id != packet.dest.port_id or view.channel_id != packet.dest.channel_id:
            raise IbcCounterpartyMismatch("the CLOSED end is not the packet's destination")
        assert op is not None
        self._channels.prove_end(end.connection_id, proof_height, view, op.close_proof)

    def _source_end(self, packet: IbcPacket) -> ChannelEnd:
        src = packet.src
        end = self._state.channels.get(src.channel_id)
        if end is None or end.port_id != src.port_id:
            raise IbcUnknownChannel(src.port_id, src.channel_id)
        if not _same_endpoint(packet.dest, end.counterparty):
            raise IbcCounterpartyMismatch("packet destination is not this channel's counterparty")
        return end

    def _committed(self, ref: tuple[str, int], packet: IbcPacket) -> bool:
        """Whether ``packet`` is committed under ``ref``; False if the commitment is gone
        (a redundant relay); raises `IbcCommitmentMismatch` for another packet."""
        state = self._state
        stored = state.commitments.get(ref)
        if stored is None:
            return False
        # in memory the relayer hands back the very object we stored: skip the hash
        if state.packets.get(ref) is not packet and stored[0] != self._commitment(packet):
            raise IbcCommitmentMismatch(packet.sequence)
        return True

    def _resolve(self, ref: tuple[str, int], outcome: str) -> None:
        state = self._state
        del state.commitments[ref]
        state.packets.pop(ref, None)
        outcomes = state.outcomes
        if outcomes.get(ref) is not None:  # impossible by construction; I-29 would be broken
            raise InternalError(f"packet {ref} resolved twice")
        outcomes[ref] = outcome

    def _acknowledgement(self, data: bytes) -> IbcAcknowledgement:
        """``IbcAcknowledgement(data=data)``, shared for the few acks apps repeat (the value
        is frozen, so sharing it is safe)."""
        ack = self._ack_objects.get(data)
        if ack is None:
            ack = IbcAcknowledgement(data=data)
            if len(self._ack_objects) < _CACHED_ACK_OBJECTS:
                self._ack_objects[data] = ack
        return ack

    def _ack(
        self, written: WrittenAck, proof_height: int, signer: str, proof: object = None
    ) -> str:
        packet = written.packet
        end = self._source_end(packet)
        channel_id = end.channel_id
        if end.state is not _OPEN:
            raise IbcBadChannelState(end.port_id, channel_id, end.state.value, "OPEN")
        if end is not self._proved_end or proof_height != self._proved_height:
            self._proof_time(end.connection_id, proof_height)
            self._proved_end, self._proved_height = end, proof_height
        verifier = self._verifier
        if verifier is not None:
            # I-17: the ack must be written on the destination (before any change)
            dest = packet.dest
            verifier.verify_membership(
                self._client_of(end.connection_id).client_id,
                proof_height,
                ack_key(dest.port_id, dest.channel_id, packet.sequence),
                ack_commitment(written.ack),
                proof,
            )
        sequence = packet.sequence
        ref = (channel_id, sequence)
        if not self._committed(ref, packet):
            return _NOOP
        if end.ordering is _ORDERED:
            next_ack = self._state.next_ack
            expected = next_ack.get(channel_id, 1)
            if sequence != expected:
                raise IbcPacketOutOfOrder(sequence, expected)
            next_ack[channel_id] = expected + 1
        self._resolve(ref, ACKED)
        self._call_contract(
            self._port_contract(end.port_id),
            "ibc_packet_ack",
            _on_ack,
            self._acknowledgement(written.ack),
            packet,
            signer,
        )
        self._emit_raw("ibc", _ACK_EVENT, self._packet_attributes(packet))
        return _OK

    def timeout_packets(self, op: TimeoutPackets, signer: str) -> OpResult:
        """The relayer's ``TimeoutPackets``: time out each packet, its non-receipt (and, with
        ``on_close``, the counterparty's CLOSED end) proven at ``op.proof_height``, in a
        savepoint of its own; one item status per packet."""
        if self._verifier is not None:
            self._timeout_op = op
            try:
                return self._per_packet(
                    _with_proofs(op.packets, op.proofs),
                    self._verified_timeout,
                    op.proof_height,
                    op.on_close,
                    signer,
                )
            finally:
                self._timeout_op = None
        return self._per_packet(op.packets, self._timeout, op.proof_height, op.on_close, signer)

    def _timeout(
        self,
        packet: IbcPacket,
        proof_height: int,
        on_close: bool,
        signer: str,
        proof: object = None,
    ) -> str:
        end = self._source_end(packet)
        proof_time = self._proof_time(end.connection_id, proof_height)
        # I-15: on close the counterparty's CLOSED state (proven by the relayer at the same
        # height as the missing receipt) replaces the timeout condition
        if not on_close and not packet.timeout.expired(proof_height, proof_time):
            raise IbcTimeoutNotReached(packet.sequence, proof_height, proof_time)
        verifier = self._verifier
        if verifier is not None and on_close:
            self._prove_closed(packet, end, proof_height)
        if verifier is not None:
            # I-14: the destination must not have received it at the proof height
            dest = packet.dest
            verifier.verify_non_membership(
                self._client_of(end.connection_id).client_id,
                proof_height,
                receipt_key(dest.port_id, dest.channel_id, packet.sequence),
                proof,
            )
        ref = (end.channel_id, packet.sequence)
        if not self._committed(ref, packet):
            return _NOOP
        self._resolve(ref, TIMED_OUT)
        if end.ordering is _ORDERED and end.state is not _CLOSED:
            # I-14: one timed-out packet closes an ORDERED channel for good
            channels = self._channels
            end = end.advanced(self._executor.height, _CLOSED)
            channels.save(end)
            channels.event(IbcEventType.CHANNEL_CLOSE, end, ("step", "timeout"))
        self._callback(
            end.port_id,
            "ibc_packet_timeout",
            lambda core, env: core.ibc_packet_timeout(env, packet, signer),
        )
        self._emit_raw(
            "ibc",
            _TIMEOUT_EVENT,
            (*packet_attributes(packet), ("on_close", "true" if on_close else "false")),
        )
        return _OK

    # -- bookkeeping (I-29) -----------------------------------------------------------------

    def invariant_violations(self) -> list[str]:
        """The I-29 checks; an empty list when they all hold.

        Per channel: ``#commitments + #acked + #timed_out == next_sequence_send - 1``; no
        sequence both committed and resolved; every receipt has exactly one ack and every
        ack a receipt (acks are keyed by sequence, so "exactly one" is "one").
        """
        state = self._state
        problems: list[str] = []
        counts: dict[str, list[int]] = {}
        for channel_id, _ in state.commitments:
            counts.setdefault(channel_id, [0, 0, 0])[0] += 1
        for ref, outcome in state.outcomes.items():
            row = counts.setdefault(ref[0], [0, 0, 0])
            row[1 if outcome == ACKED else 2] += 1
            if ref in state.commitments:
                problems.append(f"{ref} is resolved ({outcome}) but still committed")
        for channel_id in state.channels:
            row = counts.get(channel_id, [0, 0, 0])
            sent = state.next_send.get(channel_id, 1) - 1
            if sum(row) != sent:
                problems.append(
                    f"{channel_id}: {row[0]} committed + {row[1]} acked + {row[2]} timed out"
                    f" != {sent} sent"
                )
        for ref in state.receipts:
            if ref not in state.acks:
                problems.append(f"receipt {ref} has no ack")
        for ref in state.acks:
            if ref not in state.receipts:
                problems.append(f"ack {ref} has no receipt")
        return problems


# -- helpers of the per-packet path ---------------------------------------------------------


def _items_result(statuses: list[str], failures: dict[int, str]) -> OpResult:
    """The result of a per-packet operation: one status per item, and the details of the
    failed ones (``""`` for the others)."""
    count = len(statuses)
    if failures:
        details = tuple([failures.get(index, "") for index in range(count)])
    else:
        details = ("",) * count
    return OpResult.model_construct(
        status="error" if failures else "ok",
        value="",
        error="",
        detail="",
        items=tuple(statuses),
        item_details=details,
    )


def _same_endpoint(a: IbcEndpoint, b: IbcEndpoint) -> bool:
    # field by field: pydantic's __eq__ costs several times more on the per-packet path
    return a is b or (a.channel_id == b.channel_id and a.port_id == b.port_id)


def _on_ack(
    core: Contract, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
) -> IbcBasicResponse:
    return core.ibc_packet_ack(env, ack, packet, relayer)


def _receive(core: Contract, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
    response = core.ibc_packet_receive(env, packet, relayer)
    if not isinstance(response, IbcReceiveResponse):
        raise ContractPanic(
            env.contract_address,
            "ibc_packet_receive",
            f"returned {type(response).__name__}, not an IbcReceiveResponse",
        )
    return response


class _NotPlain(ChainError):
    """A batch hook answered something else than one plain ack per packet (caught inside
    the module: the packets are then delivered one by one)."""


def _receive_batch(
    core: Contract, env: Env, packets: tuple[IbcPacket, ...], relayer: str
) -> tuple[IbcReceiveResponse, ...] | None:
    """``core.ibc_packet_receive_batch(env, packets, relayer)`` if the contract has that
    hook, else ``None``; raises `_NotPlain` (rolling the hook's changes back) unless it
    answered one `IbcReceiveResponse` per packet, each without messages or events."""
    hook = getattr(core, "ibc_packet_receive_batch", None)
    if hook is None:
        return None
    responses = hook(env, packets, relayer)
    if type(responses) is not tuple or len(responses) != len(packets):
        raise _NotPlain()
    for response in responses:
        if type(response) is not IbcReceiveResponse or response.messages or response.events:
            raise _NotPlain()
    return responses


def _has_ack_hook(core: Contract, env: Env) -> bool:
    return hasattr(core, "ibc_packet_ack_batch")


def _ack_batch(
    core: Contract,
    env: Env,
    acks: tuple[IbcAcknowledgement, ...],
    packets: tuple[IbcPacket, ...],
    relayer: str,
) -> tuple[IbcBasicResponse, ...]:
    """``core.ibc_packet_ack_batch(env, acks, packets, relayer)``; raises `_NotPlain` (the
    caller rolls the hook's changes back) unless it answered one plain `IbcBasicResponse`
    per packet, without events, whose messages are all reply-never `IbcSendPacket`s."""
    responses = core.ibc_packet_ack_batch(env, acks, packets, relayer)  # type: ignore[attr-defined]
    if type(responses) is not tuple or len(responses) != len(packets):
        raise _NotPlain()
    for response in responses:
        if type(response) is not IbcBasicResponse or response.events:
            raise _NotPlain()
        for sub in response.messages:
            if type(sub) is not SubMsg or sub.reply_on is not _NEVER:
                raise _NotPlain()
            if type(sub.msg) is not IbcSendPacket:
                raise _NotPlain()
    return responses


def _with_proofs(items: tuple[Any, ...], proofs: tuple[Any, ...]) -> tuple[tuple[Any, Any], ...]:
    """Each item with its proof (``None`` past the proofs given: refused when checked)."""
    return tuple(
        (item, proofs[index] if index < len(proofs) else None) for index, item in enumerate(items)
    )
