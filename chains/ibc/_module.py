"""The IBC module of one chain (spec ibc.md §1, I-1..I-29): clients, connections, channel
ends, packets, acknowledgements and timeouts.

A `ChainModule` named ``"ibc"``, sans-IO like every core: all of its state is in the chain's
journaled `Store` (``_ibc_state``), so a transaction that fails leaves no trace in it.

**Sending** (I-8, I-37, I-33) happens inside a contract's transaction: the executor routes the
contract's ``IbcSendPacket`` / ``IbcCloseChannel`` / ``IbcTransfer`` here (`handle`). A send
assigns the next sequence, stores the commitment, and is undone with the transaction.

**Relayer operations** (`run_ops`) run inside one atomic unit of the chain (the chain host
runs them for the IBC actors): each operation, and each packet of a packet operation, is
atomic by itself, so a failing one is rolled back alone and reported, as a relayer's
multi-message transaction with ibc-go's "redundant message = no-op" rule behaves (acks and
timeouts run each packet in a savepoint; a receive checks everything before it changes
anything, so only its app callback needs one). Proofs:
the simulation reads the counterparty's committed state through the counterparty's IBC
actors (I-2), and an operation that depends on such a fact says at which counterparty height
it was read (``proof_height``); it is accepted only if this chain's light client holds the
counterparty header of exactly that height (`IbcConsensusNotFound` otherwise: light-client
lag, the relayer must update the client first — client updates are operations too).

**What is provable** (`committed_header`, `relay_state`, `channels_reply`): the state as of
the end of the chain's last ended block. Records carry the height they were written at and
channel/connection ends their history, so facts of the current (uncommitted) block are never
shown.

**Application callbacks** are contract entry points (ports ``wasm.<address>``, or a module
port name bound to a contract with `bind_port`); the close callbacks are
``ibc_channel_close_init`` / ``ibc_channel_close_confirm`` when the contract defines them,
else ``ibc_channel_close(..., confirm=...)``. Receive follows I-10 / I-19: a callback that
raises (or whose messages fail) has all its changes discarded and an error ack
``{"error": text}`` written instead; `IbcExecutionAborted` (the out-of-gas analogue) fails
the receive as a whole.

ICS-20 (``IbcTransfer``) is refused with `IbcTransferUnsupported`: Mesh Security does not
use it (I-33), and modelling escrow and vouchers would be dead weight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from chains.contract._contract import (
    BlockEnv,
    ChannelConnect,
    ChannelOpen,
    Event,
    IbcBasicResponse,
    IbcCloseChannel,
    IbcReceiveResponse,
    IbcSendPacket,
    IbcTransfer,
    Response,
)
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.contract._ibc_types import (
    MAX_PACKET_SIZE,
    IbcAcknowledgement,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
    PacketTooLarge,
    trusted_packet,
)
from chains.host._errors import ContractPanic, InternalError
from chains.ibc._errors import (
    IbcBadChannelState,
    IbcBadConnectionState,
    IbcBadHeader,
    IbcCommitmentMismatch,
    IbcConsensusNotFound,
    IbcCounterpartyMismatch,
    IbcExecutionAborted,
    IbcNoTimeout,
    IbcPacketExpired,
    IbcPacketOutOfOrder,
    IbcPacketTimedOut,
    IbcTimeoutNotReached,
    IbcTransferUnsupported,
    IbcUnboundPort,
    IbcUnknownChannel,
    IbcUnknownClient,
    IbcUnknownConnection,
)
from chains.ibc._events import IbcEventType, channel_attributes, packet_attributes
from chains.ibc._msgs import (
    AcknowledgePackets,
    ChanCloseConfirm,
    ChanCloseInit,
    ChannelActivity,
    ChannelsReply,
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
    HeaderReply,
    IbcBlockNotice,
    IbcHeader,
    OpResult,
    PacketStatus,
    QueryChannels,
    QueryHeader,
    QueryRelayState,
    RecvPackets,
    RelayState,
    TimeoutPackets,
    UpdateClient,
    WrittenAck,
    written_ack,
)
from chains.ibc._state import (
    ACKED,
    TIMED_OUT,
    AckRecord,
    ChannelEnd,
    ClientState,
    ConnectionEnd,
    IbcStore,
    ack_commitment,
    packet_commitment,
)
from chains.modules._module import ModuleCall, SudoCall
from mesh_actors import construct_trusted

if TYPE_CHECKING:
    from chains.contract._contract import Contract, Env
    from chains.host._executor import TxExecutor

__all__ = ["IbcConfig", "IbcModule", "NoticeListener"]

NoticeListener = Callable[[IbcBlockNotice], None]

_OPEN: Final = ChannelState.OPEN
_CLOSED: Final = ChannelState.CLOSED
_ORDERED: Final = IbcOrder.ORDERED
_EMPTY_RESPONSE: Final = Response()
_OK: Final = "ok"
_NOOP: Final = "noop"
_OK_RESULT: Final = OpResult(status="ok")
_NOOP_RESULT: Final = OpResult(status="noop")
_SEQ_BIG: Final = 1 << 62
_RECV_EVENT: Final = IbcEventType.RECV_PACKET.value
_WRITE_ACK_EVENT: Final = IbcEventType.WRITE_ACKNOWLEDGEMENT.value
_SEND_EVENT: Final = IbcEventType.SEND_PACKET.value
_ACK_EVENT: Final = IbcEventType.ACKNOWLEDGE_PACKET.value
_TIMEOUT_EVENT: Final = IbcEventType.TIMEOUT_PACKET.value
_CACHE_ENTRIES: Final = 256
_CACHED_DATA_SIZE: Final = 1024
_SUCCESS_TRUE: Final = ("success", "true")
_SUCCESS_FALSE: Final = ("success", "false")


class IbcConfig(BaseModel):
    """Settings of one chain's IBC module.

    ``max_packet_size``: packet data above this many bytes is refused at send with
    `PacketTooLarge` (I-37, default 1 MiB). ``max_consensus_states``: headers each light
    client keeps (the oldest are pruned; a proof at a pruned height must be re-read).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_packet_size: int = Field(default=MAX_PACKET_SIZE, ge=1)
    max_consensus_states: int = Field(default=1000, ge=1)


# -- executor adapters ----------------------------------------------------------------------


def _emit(executor: TxExecutor, type_: str, attributes: tuple[tuple[str, str], ...]) -> None:
    executor.emit_raw("ibc", type_, attributes)


def _error_text(exc: ChainError) -> str:
    return str(exc)


class IbcModule:
    """The ``"ibc"`` module of one chain (see the module docstring).

    Build it with the chain's executor (``chain.add_module(IbcModule)`` passes it). Methods
    marked *in a unit* must run inside an atomic unit of that executor.
    """

    name = "ibc"

    def __init__(self, executor: TxExecutor, config: IbcConfig | None = None) -> None:
        self._executor = executor
        self.config = config or IbcConfig()
        self.chain_id = executor.chain_id
        self.state = IbcStore(executor.store)
        self._listeners: list[NoticeListener] = []
        self._header_cache: IbcHeader | None = None
        self._ack_hashes: dict[bytes, tuple[bytes, bool]] = {}
        self._ack_objects: dict[bytes, IbcAcknowledgement] = {}
        self._commitments: dict[tuple[int, int, int, bytes], bytes] = {}
        self._attribute_tails: dict[tuple[str, str, str, str, int, int, int], Any] = {}
        # the last packet's (src, dest, timeout) objects and their attribute tail: in memory
        # the packets of a channel share these objects, so an identity check finds the tail
        self._last_tail: tuple[IbcEndpoint, IbcEndpoint, IbcTimeout, Any] | None = None
        # during one packet operation: the channel end and proof height already checked
        # against the light client (ends are immutable, replaced on change, so identity
        # means the same end; reset around every operation, as an update may come between)
        self._proved_end: ChannelEnd | None = None
        self._proved_height = -1
        self._ops: dict[type[Any], Callable[[Any, str], OpResult]] = {
            CreateClient: self._create_client,
            UpdateClient: self._update_client,
            ConnOpenInit: self._conn_open_init,
            ConnOpenTry: self._conn_open_try,
            ConnOpenAck: self._conn_open_ack,
            ConnOpenConfirm: self._conn_open_confirm,
            ChanOpenInit: self._chan_open_init,
            ChanOpenTry: self._chan_open_try,
            ChanOpenAck: self._chan_open_ack,
            ChanOpenConfirm: self._chan_open_confirm,
            ChanCloseInit: self._chan_close_init,
            ChanCloseConfirm: self._chan_close_confirm,
            RecvPackets: self._recv_packets,
            AcknowledgePackets: self._acknowledge_packets,
            TimeoutPackets: self._timeout_packets,
        }
        headers = self.state.headers
        if executor.block_open and "current" not in headers:
            headers["current"] = (executor.height, executor.block_env.time_ns)

    # -- ChainModule ------------------------------------------------------------------------

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """A contract's IBC message (in a unit): ``IbcSendPacket`` (I-8), ``IbcCloseChannel``
        (I-20, the contract's own channel) or ``IbcTransfer`` (refused, I-33).

        Raises `IbcUnknownChannel` (no such channel on the sender's port),
        `IbcBadChannelState`, `IbcNoTimeout`, `PacketTooLarge`, `IbcPacketExpired`,
        `IbcTransferUnsupported`, `UnsupportedMessage`, or the close callback's error.
        """
        if type(msg) is IbcSendPacket:
            self.send_packet(call.sender, msg, call.block.height)
            return _EMPTY_RESPONSE
        if isinstance(msg, IbcCloseChannel):
            end = self._owned_channel(call.sender, msg.channel_id)
            self._close_init(end)
            return _EMPTY_RESPONSE
        if isinstance(msg, IbcTransfer):
            raise IbcTransferUnsupported(msg.channel_id)
        raise UnsupportedMessage("ibc", type(msg).__name__)

    def query(self, block: BlockEnv, msg: Any) -> Any:
        """``QueryHeader``, ``QueryChannels`` or ``QueryRelayState`` (what is provable)."""
        if isinstance(msg, QueryRelayState):
            return self.relay_state(msg)
        if isinstance(msg, QueryChannels):
            return self.channels_reply()
        if isinstance(msg, QueryHeader):
            return HeaderReply(header=self.committed_header())
        raise UnsupportedMessage("ibc query", type(msg).__name__)

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """The previous block is now committed: remember its header, and tell listeners what
        IBC activity it had."""
        headers = self.state.headers
        current = headers.get("current")
        if current is not None:
            headers["committed"] = current
        headers["current"] = (block.height, block.time_ns)
        log = self.state.block_log
        if log:
            items = [item for _, item in sorted(log.raw_items())]
            log.clear()
            header = self.committed_header()
            if header is not None and self._listeners:
                notice = self._notice(header, items)
                for listener in tuple(self._listeners):
                    listener(notice)
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        return []

    # -- block schedule (lazy blocks, `TxExecutor.set_block_hint`) ---------------------------

    idle_memory: Final = 2
    """Over idle blocks ``begin_block`` only moves the last two headers along: replaying the
    last two gives the same state (the hint's ``idle_memory`` promise)."""

    def due_height(self, block: BlockEnv) -> int | None:
        """The module's `BlockHint`: a block with IBC activity is due (its notice goes to the
        listeners at the next begin-block); an idle one is not."""
        return block.height if self.state.block_log else None

    # -- listeners --------------------------------------------------------------------------

    def add_listener(self, listener: NoticeListener) -> None:
        """Call ``listener(notice)`` (in the chain host's task, at each block start) for every
        ended block with IBC activity. While nobody listens, activity is not recorded."""
        self._listeners.append(listener)

    def remove_listener(self, listener: NoticeListener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _log(self, item: tuple[object, ...]) -> None:
        log = self.state.block_log
        log[len(log)] = item

    def _notice(self, header: IbcHeader, items: list[tuple[object, ...]]) -> IbcBlockNotice:
        sent: dict[str, list[IbcPacket]] = {}
        acks: dict[str, list[WrittenAck]] = {}
        changed: set[str] = set()
        order: list[str] = []
        connections_changed = False
        for item in items:
            kind = item[0]
            if kind == "conn":
                connections_changed = True
                continue
            channel_id = str(item[1])
            if channel_id not in sent:
                sent[channel_id] = []
                acks[channel_id] = []
                order.append(channel_id)
            if kind == "sent":
                sent[channel_id].append(item[2])  # type: ignore[arg-type]
            elif kind == "acks":  # one relayer operation's acks on this channel
                acks[channel_id].extend(item[2])  # type: ignore[arg-type]
            else:
                changed.add(channel_id)
        activity = []
        channels = self.state.channels
        for channel_id in order:
            end = channels.get(channel_id)
            if end is None:
                continue
            activity.append(
                ChannelActivity.model_construct(
                    port_id=end.port_id,
                    channel_id=channel_id,
                    connection_id=end.connection_id,
                    sent=tuple(sent[channel_id]),
                    acks=tuple(acks[channel_id]),
                    changed=channel_id in changed,
                )
            )
        return IbcBlockNotice(
            chain_id=self.chain_id,
            header=header,
            activity=tuple(activity),
            connections_changed=connections_changed,
        )

    # -- ports ------------------------------------------------------------------------------

    def bind_port(self, port_id: str, contract: str) -> None:
        """(In a unit.) Bind a module port name (``icqhost``, ``oracle``...) to a contract, so
        channels on that port reach the contract's IBC entry points (I-3)."""
        if self._executor.contract_info(contract) is None:
            raise IbcUnboundPort(port_id)
        self.state.ports[port_id] = contract

    def port_contract(self, port_id: str) -> str:
        """The contract behind ``port_id``; raises `IbcUnboundPort`."""
        bound = self.state.ports.get(port_id)
        if bound is not None:
            return bound
        if port_id.startswith("wasm."):
            address = port_id[5:]
            if self._executor.contract_info(address) is not None:
                return address
        raise IbcUnboundPort(port_id)

    def _owned_channel(self, sender: str, channel_id: str) -> ChannelEnd:
        end = self.state.channels.get(channel_id)
        if end is None or self._port_owner(end.port_id) != sender:
            raise IbcUnknownChannel(f"wasm.{sender}", channel_id)
        return end

    def _port_owner(self, port_id: str) -> str | None:
        bound = self.state.ports.get(port_id)
        if bound is not None:
            return bound
        return port_id[5:] if port_id.startswith("wasm.") else None

    # -- app callbacks ----------------------------------------------------------------------

    def _callback(
        self, end_port: str, entry_point: str, invoke: Callable[[Contract, Env], Any]
    ) -> Any:
        contract = self.port_contract(end_port)
        response, _ = self._executor.call_contract(contract, entry_point, invoke)
        return response

    # -- sending (I-8) ----------------------------------------------------------------------

    def send_packet(self, sender: str, msg: IbcSendPacket, height: int) -> None:
        """(In a unit.) Contract ``sender`` sends ``msg`` at block ``height`` (I-8): the
        packet's commitment, its event and its block-log entry. What ``handle`` does with an
        ``IbcSendPacket``, without a `ModuleCall` or a response: the executor routes sends
        here directly (the per-packet path).

        Raises `IbcUnknownChannel` (no such channel on the sender's port),
        `IbcBadChannelState`, `IbcNoTimeout`, `PacketTooLarge` or `IbcPacketExpired`.
        """
        state = self.state
        channel_id = msg.channel_id
        end = state.channels.get(channel_id)
        if end is None:
            raise IbcUnknownChannel(f"wasm.{sender}", channel_id)
        port_id = end.port_id
        # _port_owner, inlined on the per-packet path
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
        limit = self.config.max_packet_size
        if len(data) > limit:
            raise PacketTooLarge(len(data), limit)
        client = self._client_of(end)
        if timeout.expired(client.latest_height, client.latest_time_ns):
            raise IbcPacketExpired(
                timeout.height, timeout.timestamp_ns, client.latest_height, client.latest_time_ns
            )
        sequence = state.next_send.get(channel_id, 1)
        state.next_send[channel_id] = sequence + 1
        packet = trusted_packet(sequence, end.endpoint, end.counterparty, data, timeout)
        ref = (channel_id, sequence)
        state.commitments[ref] = (self._commitment(packet), height)
        state.packets[ref] = packet
        if self._listeners:
            self._log(("sent", channel_id, packet))
        self._executor.emit_raw("ibc", _SEND_EVENT, self._packet_attributes(packet))

    # -- per-packet caches ------------------------------------------------------------------
    # Pure functions of a packet's data, timeout and endpoints, which an application repeats
    # from packet to packet (the same payload shape, the same channel, often the same
    # timeout). Small, and emptied when full, so an app that never repeats costs one failed
    # lookup per packet.

    def _commitment(self, packet: IbcPacket) -> bytes:
        """`packet_commitment` (I-8): it covers the data and the timeout, not the sequence."""
        data = packet.data
        if len(data) > _CACHED_DATA_SIZE:
            return packet_commitment(packet)
        timeout = packet.timeout
        key = (timeout.timestamp_ns, timeout.revision, timeout.height, data)
        cache = self._commitments
        commitment = cache.get(key)
        if commitment is None:
            if len(cache) >= _CACHE_ENTRIES:
                cache.clear()
            commitment = cache[key] = packet_commitment(packet)
        return commitment

    def _packet_attributes(self, packet: IbcPacket) -> tuple[tuple[str, str], ...]:
        """`packet_attributes`: all but the ``seq`` attribute are shared by the packets of a
        channel with the same timeout."""
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

    # -- relayer operations -----------------------------------------------------------------

    def run_ops(self, ops: tuple[Any, ...], signer: str = "relayer") -> tuple[OpResult, ...]:
        """(In a unit.) Apply relayer operations in order, each atomic by itself; return one
        `OpResult` per operation (a failure is a result, never an exception)."""
        executor = self._executor
        results: list[OpResult] = []
        for op in ops:
            handler = self._ops.get(type(op))
            if handler is None:
                results.append(
                    OpResult(
                        status="error",
                        error="UnsupportedMessage",
                        detail=f"not an IBC operation: {type(op).__name__}",
                    )
                )
                continue
            try:
                results.append(executor.nested(handler, op, signer))
            except ChainError as exc:
                results.append(OpResult(status="error", error=exc.name, detail=_error_text(exc)))
        return tuple(results)

    # -- clients (I-2) ----------------------------------------------------------------------

    def _create_client(self, op: CreateClient, signer: str) -> OpResult:
        state = self.state
        header = op.header
        client_id = f"07-tendermint-{state.next_id('client')}"
        state.clients[client_id] = ClientState(
            client_id, header.chain_id, header.height, header.time_ns, 1
        )
        state.consensus[(client_id, header.height)] = header.time_ns
        _emit(
            self._executor,
            IbcEventType.CREATE_CLIENT.value,
            (
                ("client_id", client_id),
                ("chain_id", header.chain_id),
                ("height", str(header.height)),
            ),
        )
        return OpResult(status="ok", value=client_id)

    def _update_client(self, op: UpdateClient, signer: str) -> OpResult:
        state = self.state
        client_id = op.client_id
        client = state.clients.get(client_id)
        if client is None:
            raise IbcUnknownClient(client_id)
        header = op.header
        if header.chain_id != client.chain_id:
            raise IbcBadHeader(client_id, f"header of {header.chain_id}, not {client.chain_id}")
        height, time_ns = header.height, header.time_ns
        consensus = state.consensus
        known = consensus.get((client_id, height))
        if known is not None:
            if known != time_ns:
                raise IbcBadHeader(client_id, f"conflicting header at height {height}")
            return _NOOP_RESULT
        if height > client.latest_height:
            if time_ns <= client.latest_time_ns:
                raise IbcBadHeader(client_id, "time does not increase with height")
            client = ClientState(client_id, client.chain_id, height, time_ns, client.count + 1)
        else:
            # an older header: it must fit between its neighbours
            keys = consensus.keys_between((client_id, 0), (client_id, _SEQ_BIG))
            below = [consensus[k] for k in keys if k[1] < height]
            above = [consensus[k] for k in keys if k[1] > height]
            if (below and below[-1] >= time_ns) or (above and above[0] <= time_ns):
                raise IbcBadHeader(client_id, "time does not increase with height")
            client = ClientState(
                client_id,
                client.chain_id,
                client.latest_height,
                client.latest_time_ns,
                client.count + 1,
            )
        consensus[(client_id, height)] = time_ns
        limit = self.config.max_consensus_states
        if client.count > limit + limit // 4:
            # prune in chunks, so the scan is paid once per limit/4 updates
            keys = consensus.keys_between((client_id, 0), (client_id, _SEQ_BIG))
            drop = len(keys) - limit
            for key in keys[:drop]:
                if key[1] != client.latest_height:
                    del consensus[key]
            client = ClientState(
                client_id,
                client.chain_id,
                client.latest_height,
                client.latest_time_ns,
                len(keys) - drop,
            )
        state.clients[client_id] = client
        _emit(
            self._executor,
            IbcEventType.UPDATE_CLIENT.value,
            (("client_id", client_id), ("height", str(height))),
        )
        return _OK_RESULT

    def _client_of(self, end: ChannelEnd) -> ClientState:
        connection = self.state.connections.get(end.connection_id)
        if connection is None:
            raise IbcUnknownConnection(end.connection_id)
        client = self.state.clients.get(connection.client_id)
        if client is None:
            raise IbcUnknownClient(connection.client_id)
        return client

    def _consensus_time(self, client_id: str, height: int) -> int:
        time_ns = self.state.consensus.get((client_id, height))
        if time_ns is None:
            client = self.state.clients.get(client_id)
            if client is None:
                raise IbcUnknownClient(client_id)
            raise IbcConsensusNotFound(client_id, height, client.latest_height)
        return time_ns

    def _proof_time(self, end: ChannelEnd, height: int) -> int:
        connection = self.state.connections.get(end.connection_id)
        if connection is None:
            raise IbcUnknownConnection(end.connection_id)
        return self._consensus_time(connection.client_id, height)

    # -- connections (ICS-03) ---------------------------------------------------------------

    def _height(self) -> int:
        return self._executor.height

    def _connection(self, connection_id: str) -> ConnectionEnd:
        connection = self.state.connections.get(connection_id)
        if connection is None:
            raise IbcUnknownConnection(connection_id)
        return connection

    def _conn_event(self, type_: IbcEventType, connection: ConnectionEnd) -> None:
        if self._listeners:
            self._log(("conn",))
        _emit(
            self._executor,
            type_.value,
            (
                ("connection_id", connection.connection_id),
                ("client_id", connection.client_id),
                ("counterparty_client_id", connection.counterparty_client_id),
                ("counterparty_connection_id", connection.counterparty_connection_id),
            ),
        )

    def _conn_open_init(self, op: ConnOpenInit, signer: str) -> OpResult:
        state = self.state
        client = state.clients.get(op.client_id)
        if client is None:
            raise IbcUnknownClient(op.client_id)
        connection_id = f"connection-{state.next_id('connection')}"
        height = self._height()
        connection = ConnectionEnd(
            connection_id,
            ConnectionState.INIT,
            op.client_id,
            client.chain_id,
            op.counterparty_client_id,
            "",
            ((height, ConnectionState.INIT, ""),),
        )
        state.connections[connection_id] = connection
        self._conn_event(IbcEventType.CONNECTION_OPEN_INIT, connection)
        return OpResult(status="ok", value=connection_id)

    def _conn_open_try(self, op: ConnOpenTry, signer: str) -> OpResult:
        state = self.state
        client = state.clients.get(op.client_id)
        if client is None:
            raise IbcUnknownClient(op.client_id)
        view = op.counterparty
        for existing in state.connections.values():
            if (
                existing.client_id == op.client_id
                and existing.counterparty_connection_id == view.connection_id
            ):
                return OpResult(status="noop", value=existing.connection_id)
        self._consensus_time(op.client_id, op.proof_height)
        if view.state is not ConnectionState.INIT:
            raise IbcCounterpartyMismatch(f"counterparty connection is {view.state}, not INIT")
        if view.counterparty_client_id != op.client_id or view.counterparty_chain_id != (
            self.chain_id
        ):
            raise IbcCounterpartyMismatch("counterparty connection names another client")
        connection_id = f"connection-{state.next_id('connection')}"
        height = self._height()
        connection = ConnectionEnd(
            connection_id,
            ConnectionState.TRYOPEN,
            op.client_id,
            client.chain_id,
            view.client_id,
            view.connection_id,
            ((height, ConnectionState.TRYOPEN, view.connection_id),),
        )
        state.connections[connection_id] = connection
        self._conn_event(IbcEventType.CONNECTION_OPEN_TRY, connection)
        return OpResult(status="ok", value=connection_id)

    def _conn_open_ack(self, op: ConnOpenAck, signer: str) -> OpResult:
        connection = self._connection(op.connection_id)
        view = op.counterparty
        if (
            connection.state is ConnectionState.OPEN
            and connection.counterparty_connection_id == view.connection_id
        ):
            return _NOOP_RESULT
        if connection.state is not ConnectionState.INIT:
            raise IbcBadConnectionState(op.connection_id, connection.state.value, "INIT")
        if view.state is not ConnectionState.TRYOPEN:
            raise IbcCounterpartyMismatch(f"counterparty connection is {view.state}, not TRYOPEN")
        if (
            view.counterparty_connection_id != op.connection_id
            or view.client_id != connection.counterparty_client_id
        ):
            raise IbcCounterpartyMismatch("counterparty connection is not ours")
        self._consensus_time(connection.client_id, op.proof_height)
        connection = connection.advanced(self._height(), ConnectionState.OPEN, view.connection_id)
        self.state.connections[op.connection_id] = connection
        self._conn_event(IbcEventType.CONNECTION_OPEN_ACK, connection)
        return _OK_RESULT

    def _conn_open_confirm(self, op: ConnOpenConfirm, signer: str) -> OpResult:
        connection = self._connection(op.connection_id)
        if connection.state is ConnectionState.OPEN:
            return _NOOP_RESULT
        if connection.state is not ConnectionState.TRYOPEN:
            raise IbcBadConnectionState(op.connection_id, connection.state.value, "TRYOPEN")
        view = op.counterparty
        if view.state is not ConnectionState.OPEN:
            raise IbcCounterpartyMismatch(f"counterparty connection is {view.state}, not OPEN")
        if (
            view.connection_id != connection.counterparty_connection_id
            or view.counterparty_connection_id != op.connection_id
        ):
            raise IbcCounterpartyMismatch("counterparty connection is not ours")
        self._consensus_time(connection.client_id, op.proof_height)
        connection = connection.advanced(
            self._height(), ConnectionState.OPEN, connection.counterparty_connection_id
        )
        self.state.connections[op.connection_id] = connection
        self._conn_event(IbcEventType.CONNECTION_OPEN_CONFIRM, connection)
        return _OK_RESULT

    # -- channel handshake (I-6, I-7, I-20) -------------------------------------------------

    def _channel(self, port_id: str, channel_id: str) -> ChannelEnd:
        end = self.state.channels.get(channel_id)
        if end is None or end.port_id != port_id:
            raise IbcUnknownChannel(port_id, channel_id)
        return end

    def _save_channel(self, end: ChannelEnd) -> None:
        self.state.channels[end.channel_id] = end
        if self._listeners:
            self._log(("changed", end.channel_id))

    def _chan_event(self, type_: IbcEventType, end: ChannelEnd, *extra: tuple[str, str]) -> None:
        attributes = channel_attributes(
            end.port_id,
            end.channel_id,
            end.counterparty_port_id,
            end.counterparty_channel_id,
            end.connection_id,
            end.version,
            end.ordering.value,
        )
        _emit(self._executor, type_.value, attributes + extra)

    def _check_view(self, end: ChannelEnd, view: ChannelView, state: ChannelState) -> None:
        """The proven counterparty view must be ``state`` and point back at ``end``."""
        if view.state is not state:
            raise IbcCounterpartyMismatch(f"counterparty end is {view.state}, not {state}")
        if view.counterparty_port_id != end.port_id or (
            view.counterparty_channel_id not in ("", end.channel_id)
        ):
            raise IbcCounterpartyMismatch("counterparty end does not point at this end")
        if view.port_id != end.counterparty_port_id or view.ordering is not end.ordering:
            raise IbcCounterpartyMismatch("counterparty end has another port or ordering")
        if end.counterparty_channel_id and view.channel_id != end.counterparty_channel_id:
            raise IbcCounterpartyMismatch("counterparty end is another channel")
        connection = self._connection(end.connection_id)
        if view.connection_id != connection.counterparty_connection_id:
            raise IbcCounterpartyMismatch("counterparty end is on another connection")

    def _chan_open_init(self, op: ChanOpenInit, signer: str) -> OpResult:
        state = self.state
        self._connection(op.connection_id)
        contract = self.port_contract(op.port_id)
        channel_id = f"channel-{state.next_id('channel')}"
        end = ChannelEnd.create(
            self._height(),
            op.port_id,
            channel_id,
            ChannelState.INIT,
            op.ordering,
            op.counterparty_port_id,
            "",
            op.connection_id,
            op.version,
        )
        opening = ChannelOpen(channel=end.channel(), counterparty_version=None)
        version = self._executor.call_contract(
            contract, "ibc_channel_open", lambda core, env: _open(core, env, opening)
        )[0].value
        if version is not None and version != end.version:
            end = ChannelEnd.create(
                self._height(),
                op.port_id,
                channel_id,
                ChannelState.INIT,
                op.ordering,
                op.counterparty_port_id,
                "",
                op.connection_id,
                str(version),
            )
        self._save_channel(end)
        self._chan_event(IbcEventType.CHANNEL_OPEN_INIT, end)
        return OpResult(status="ok", value=channel_id)

    def _chan_open_try(self, op: ChanOpenTry, signer: str) -> OpResult:
        state = self.state
        view = op.counterparty
        for existing in state.channels.values():
            if (
                existing.port_id == op.port_id
                and existing.connection_id == op.connection_id
                and existing.counterparty_port_id == view.port_id
                and existing.counterparty_channel_id == view.channel_id
            ):
                return OpResult(status="noop", value=existing.channel_id)
        connection = self._connection(op.connection_id)
        if connection.state is not ConnectionState.OPEN:
            raise IbcBadConnectionState(op.connection_id, connection.state.value, "OPEN")
        contract = self.port_contract(op.port_id)
        if view.state is not ChannelState.INIT:
            raise IbcCounterpartyMismatch(f"counterparty end is {view.state}, not INIT")
        if view.counterparty_port_id != op.port_id:
            raise IbcCounterpartyMismatch("counterparty end is for another port")
        if view.connection_id != connection.counterparty_connection_id:
            raise IbcCounterpartyMismatch("counterparty end is on another connection")
        self._consensus_time(connection.client_id, op.proof_height)
        channel_id = f"channel-{state.next_id('channel')}"
        height = self._height()
        end = ChannelEnd.create(
            height,
            op.port_id,
            channel_id,
            ChannelState.TRYOPEN,
            view.ordering,
            view.port_id,
            view.channel_id,
            op.connection_id,
            view.version,
        )
        opening = ChannelOpen(channel=end.channel(), counterparty_version=view.version)
        version = self._executor.call_contract(
            contract, "ibc_channel_open", lambda core, env: _open(core, env, opening)
        )[0].value
        if version is not None and version != end.version:
            end = ChannelEnd.create(
                height,
                op.port_id,
                channel_id,
                ChannelState.TRYOPEN,
                view.ordering,
                view.port_id,
                view.channel_id,
                op.connection_id,
                str(version),
            )
        self._save_channel(end)
        self._chan_event(IbcEventType.CHANNEL_OPEN_TRY, end)
        return OpResult(status="ok", value=channel_id)

    def _chan_open_ack(self, op: ChanOpenAck, signer: str) -> OpResult:
        end = self._channel(op.port_id, op.channel_id)
        view = op.counterparty
        if end.state is _OPEN and end.counterparty_channel_id == view.channel_id:
            return _NOOP_RESULT
        if end.state is not ChannelState.INIT:
            raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "INIT")
        self._check_view(end, view, ChannelState.TRYOPEN)
        self._proof_time(end, op.proof_height)
        # written before the callback: an app may send from its connect callback (the
        # converter's initial sync, I-46) and its packets need the counterparty channel id;
        # a refusal rolls the write back with everything else
        end = end.advanced(self._height(), _OPEN, view.channel_id, view.version)
        self._save_channel(end)
        connect = ChannelConnect(channel=end.channel(), counterparty_version=view.version)
        self._callback(
            end.port_id,
            "ibc_channel_connect",
            lambda core, env: core.ibc_channel_connect(env, connect),
        )
        self._chan_event(IbcEventType.CHANNEL_OPEN_ACK, end)
        return _OK_RESULT

    def _chan_open_confirm(self, op: ChanOpenConfirm, signer: str) -> OpResult:
        end = self._channel(op.port_id, op.channel_id)
        if end.state is _OPEN:
            return _NOOP_RESULT
        if end.state is not ChannelState.TRYOPEN:
            raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "TRYOPEN")
        view = op.counterparty
        self._check_view(end, view, _OPEN)
        if view.version != end.version:
            raise IbcCounterpartyMismatch(
                f"counterparty version {view.version!r} is not {end.version!r}"
            )
        self._proof_time(end, op.proof_height)
        end = end.advanced(self._height(), _OPEN)
        self._save_channel(end)
        connect = ChannelConnect(channel=end.channel(), counterparty_version=None)
        self._callback(
            end.port_id,
            "ibc_channel_connect",
            lambda core, env: core.ibc_channel_connect(env, connect),
        )
        self._chan_event(IbcEventType.CHANNEL_OPEN_CONFIRM, end)
        return _OK_RESULT

    def _close_init(self, end: ChannelEnd) -> None:
        if end.state is _CLOSED:
            raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "not CLOSED")
        channel = end.channel()
        self._callback(
            end.port_id,
            "ibc_channel_close",
            lambda core, env: _close(core, env, channel, False),
        )
        end = end.advanced(self._height(), _CLOSED)
        self._save_channel(end)
        self._chan_event(IbcEventType.CHANNEL_CLOSE, end, ("step", "init"))

    def _chan_close_init(self, op: ChanCloseInit, signer: str) -> OpResult:
        self._close_init(self._channel(op.port_id, op.channel_id))
        return _OK_RESULT

    def _chan_close_confirm(self, op: ChanCloseConfirm, signer: str) -> OpResult:
        end = self._channel(op.port_id, op.channel_id)
        if end.state is _CLOSED:
            return _NOOP_RESULT
        self._check_view(end, op.counterparty, _CLOSED)
        self._proof_time(end, op.proof_height)
        channel = end.channel()
        self._callback(
            end.port_id,
            "ibc_channel_close",
            lambda core, env: _close(core, env, channel, True),
        )
        end = end.advanced(self._height(), _CLOSED)
        self._save_channel(end)
        self._chan_event(IbcEventType.CHANNEL_CLOSE, end, ("step", "confirm"))
        return _OK_RESULT

    # -- packets ----------------------------------------------------------------------------

    def _per_packet(self, items: tuple[Any, ...], step: Callable[..., str], *args: Any) -> OpResult:
        """``step(item, *args)`` for each item, each in a savepoint of its own: a failing
        one is rolled back alone and reported in the result's ``items``."""
        nested = self._executor.nested
        statuses: list[str] = []
        # the failures' details by index: an all-ok batch builds no per-item list for them
        failures: dict[int, str] = {}
        for item in items:
            try:
                statuses.append(nested(step, item, *args))
            except ChainError as exc:
                failures[len(statuses)] = _error_text(exc)
                statuses.append(exc.name)
        return _items_result(statuses, failures)

    def _recv_packets(self, op: RecvPackets, signer: str) -> OpResult:
        block = self._executor.block_env
        proof_height = op.proof_height
        statuses: list[str] = []
        failures: dict[int, str] = {}
        self._proved_end = None
        # the acks written, by channel, logged once for the whole operation (the operation
        # is atomic: if it fails, the log entry goes with it)
        written: dict[str, list[WrittenAck]] | None = {} if self._listeners else None
        for packet in op.packets:
            # no savepoint per packet: `_recv` changes nothing before its last possible
            # failure (the app callback runs in a savepoint of its own)
            try:
                statuses.append(self._recv(packet, proof_height, signer, block, written))
            except ChainError as exc:
                failures[len(statuses)] = _error_text(exc)
                statuses.append(exc.name)
            except BaseException:
                self._proved_end = None
                raise
        self._proved_end = None
        if written:
            for channel_id, channel_acks in written.items():
                self._log(("acks", channel_id, tuple(channel_acks)))
        return _items_result(statuses, failures)

    def _recv(
        self,
        packet: IbcPacket,
        proof_height: int,
        signer: str,
        block: BlockEnv,
        written: dict[str, list[WrittenAck]] | None,
    ) -> str:
        """Receive one packet (I-10). Every check comes before the first change, and the app
        callback (which may fail, I-19) undoes its own changes, so a failure leaves no trace
        without a savepoint around the whole step."""
        state = self.state
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
            self._proof_time(end, proof_height)
            self._proved_end, self._proved_height = end, proof_height
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
        receipts[ref] = height
        known = self._ack_hashes.get(ack)
        if known is None:
            known = (ack_commitment(ack), IbcAcknowledgement(data=ack).error_text() is None)
            if len(self._ack_hashes) < 64:  # the few acks apps repeat (success shapes)
                self._ack_hashes[ack] = known
        ack_hash, succeeded = known
        # tuple.__new__ straight: a NamedTuple's generated __new__ costs twice as much
        state.acks[ref] = _new_tuple(AckRecord, (ack_hash, ack, height))
        if written is not None:
            channel_acks = written.get(channel_id)
            if channel_acks is None:
                channel_acks = written[channel_id] = []
            channel_acks.append(written_ack(packet, ack))
        emit = self._executor.emit_raw
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
        return _OK

    def _app_receive(self, end: ChannelEnd, packet: IbcPacket, signer: str) -> bytes:
        """I-10.4, I-10.5, I-19: the app's ack, or an error ack with its changes discarded.

        Raises `IbcExecutionAborted` (with the app's changes discarded) and nothing else."""
        executor = self._executor
        try:
            contract = self.port_contract(end.port_id)
            response, _ = executor.nested(
                executor.call_contract, contract, "ibc_packet_receive", _receive, packet, signer
            )
        except IbcExecutionAborted:
            raise
        except ChainError as exc:
            return IbcAcknowledgement.error(_error_text(exc)).data
        ack: IbcAcknowledgement = response.ack
        return ack.data

    def _acknowledge_packets(self, op: AcknowledgePackets, signer: str) -> OpResult:
        self._proved_end = None
        try:
            return self._per_packet(op.acks, self._ack, op.proof_height, signer)
        finally:
            self._proved_end = None

    def _source_end(self, packet: IbcPacket) -> ChannelEnd:
        src = packet.src
        end = self.state.channels.get(src.channel_id)
        if end is None or end.port_id != src.port_id:
            raise IbcUnknownChannel(src.port_id, src.channel_id)
        if not _same_endpoint(packet.dest, end.counterparty):
            raise IbcCounterpartyMismatch("packet destination is not this channel's counterparty")
        return end

    def _committed(self, ref: tuple[str, int], packet: IbcPacket) -> bool:
        """Whether ``packet`` is committed under ``ref``; False if the commitment is gone
        (a redundant relay); raises `IbcCommitmentMismatch` for another packet."""
        state = self.state
        stored = state.commitments.get(ref)
        if stored is None:
            return False
        # in memory the relayer hands back the very object we stored: skip the hash
        if state.packets.get(ref) is not packet and stored[0] != self._commitment(packet):
            raise IbcCommitmentMismatch(packet.sequence)
        return True

    def _resolve(self, ref: tuple[str, int], outcome: str) -> None:
        state = self.state
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
            if len(self._ack_objects) < 64:
                self._ack_objects[data] = ack
        return ack

    def _ack(self, written: WrittenAck, proof_height: int, signer: str) -> str:
        packet = written.packet
        end = self._source_end(packet)
        channel_id = end.channel_id
        if end.state is not _OPEN:
            raise IbcBadChannelState(end.port_id, channel_id, end.state.value, "OPEN")
        if end is not self._proved_end or proof_height != self._proved_height:
            self._proof_time(end, proof_height)
            self._proved_end, self._proved_height = end, proof_height
        sequence = packet.sequence
        ref = (channel_id, sequence)
        if not self._committed(ref, packet):
            return _NOOP
        if end.ordering is _ORDERED:
            next_ack = self.state.next_ack
            expected = next_ack.get(channel_id, 1)
            if sequence != expected:
                raise IbcPacketOutOfOrder(sequence, expected)
            next_ack[channel_id] = expected + 1
        self._resolve(ref, ACKED)
        executor = self._executor
        executor.call_contract(
            self.port_contract(end.port_id),
            "ibc_packet_ack",
            _on_ack,
            self._acknowledgement(written.ack),
            packet,
            signer,
        )
        executor.emit_raw("ibc", _ACK_EVENT, self._packet_attributes(packet))
        return _OK

    def _timeout_packets(self, op: TimeoutPackets, signer: str) -> OpResult:
        return self._per_packet(op.packets, self._timeout, op.proof_height, op.on_close, signer)

    def _timeout(self, packet: IbcPacket, proof_height: int, on_close: bool, signer: str) -> str:
        end = self._source_end(packet)
        proof_time = self._proof_time(end, proof_height)
        # I-15: on close the counterparty's CLOSED state (proven by the relayer at the same
        # height as the missing receipt) replaces the timeout condition
        if not on_close and not packet.timeout.expired(proof_height, proof_time):
            raise IbcTimeoutNotReached(packet.sequence, proof_height, proof_time)
        ref = (end.channel_id, packet.sequence)
        if not self._committed(ref, packet):
            return _NOOP
        self._resolve(ref, TIMED_OUT)
        if end.ordering is _ORDERED and end.state is not _CLOSED:
            # I-14: one timed-out packet closes an ORDERED channel for good
            end = end.advanced(self._height(), _CLOSED)
            self._save_channel(end)
            self._chan_event(IbcEventType.CHANNEL_CLOSE, end, ("step", "timeout"))
        self._callback(
            end.port_id,
            "ibc_packet_timeout",
            lambda core, env: core.ibc_packet_timeout(env, packet, signer),
        )
        _emit(
            self._executor,
            _TIMEOUT_EVENT,
            (*packet_attributes(packet), ("on_close", "true" if on_close else "false")),
        )
        return _OK

    # -- what is provable -------------------------------------------------------------------

    def committed_header(self) -> IbcHeader | None:
        """This chain's last ended block as a header, or ``None`` before the module saw one."""
        committed = self.state.headers.get("committed")
        if committed is None:
            return None
        cached = self._header_cache
        if cached is not None and cached.height == committed[0]:
            return cached
        header = IbcHeader(chain_id=self.chain_id, height=committed[0], time_ns=committed[1])
        self._header_cache = header
        return header

    def channels_reply(self) -> ChannelsReply:
        """Every connection and channel end as committed at the last ended block."""
        header = self.committed_header()
        if header is None:
            return ChannelsReply(header=None, connections=(), channels=())
        height = header.height
        connections = tuple(
            view for c in self.state.connections.values() if (view := c.view_at(height)) is not None
        )
        channels = tuple(
            seen for e in self.state.channels.values() if (seen := e.view_at(height)) is not None
        )
        return ChannelsReply(header=header, connections=connections, channels=channels)

    def relay_state(self, query: QueryRelayState) -> RelayState:
        """What a relayer needs about one connection, all as committed at the last ended
        block (see `QueryRelayState`)."""
        header = self.committed_header()
        if header is None:
            return RelayState(header=None, connection=None, channels=(), pending=(), statuses=())
        height = header.height
        state = self.state
        stored = state.connections.get(query.connection_id)
        connection = stored.view_at(height) if stored is not None else None
        channels: list[ChannelView] = []
        pending: list[IbcPacket] = []
        commitments = state.commitments
        packets = state.packets
        for end in state.channels.values():
            if end.connection_id != query.connection_id:
                continue
            view = end.view_at(height)
            if view is None:
                continue
            channels.append(view)
            count = 0
            for ref in commitments.keys_between((end.channel_id, 0), (end.channel_id, _SEQ_BIG)):
                if count >= query.limit:
                    break
                if commitments[ref][1] <= height:
                    pending.append(packets[ref])
                    count += 1
        statuses: list[PacketStatus] = []
        for key in query.keys:
            ref = (key.channel_id, key.sequence)
            received_at = state.receipts.get(ref)
            received = received_at is not None and received_at <= height
            ack = state.acks.get(ref) if received else None
            # typed store values throughout: no validation (every relayer clear asks this)
            statuses.append(
                construct_trusted(
                    PacketStatus,
                    {"key": key, "received": received, "ack": None if ack is None else ack.ack},
                    {"key", "received", "ack"},
                )
            )
        return construct_trusted(
            RelayState,
            {
                "header": header,
                "connection": connection,
                "channels": tuple(channels),
                "pending": tuple(pending),
                "statuses": tuple(statuses),
            },
            {"header", "connection", "channels", "pending", "statuses"},
        )

    # -- inspection (tests, invariants) -----------------------------------------------------

    def channel_end(self, channel_id: str) -> ChannelEnd | None:
        """The current channel end ``channel_id`` (any port), or ``None``."""
        return self.state.channels.get(channel_id)

    def channel_ends(self) -> tuple[ChannelEnd, ...]:
        """Every channel end, by creation."""
        return tuple(self.state.channels.values())

    def connection_view(self, connection_id: str) -> ConnectionView | None:
        """The current state of a connection, or ``None``."""
        connection = self.state.connections.get(connection_id)
        return None if connection is None else connection.view()

    def client(self, client_id: str) -> ClientState | None:
        """A light client's state, or ``None``."""
        return self.state.clients.get(client_id)

    def next_sequence_send(self, channel_id: str) -> int:
        return self.state.next_send.get(channel_id, 1)

    def next_sequence_recv(self, channel_id: str) -> int:
        return self.state.next_recv.get(channel_id, 1)

    def next_sequence_ack(self, channel_id: str) -> int:
        return self.state.next_ack.get(channel_id, 1)

    def pending_sequences(self, channel_id: str) -> tuple[int, ...]:
        """Sequences of ``channel_id`` whose commitment exists (sent, not yet resolved)."""
        keys = self.state.commitments.keys_between((channel_id, 0), (channel_id, _SEQ_BIG))
        return tuple(seq for _, seq in keys)

    def outcome(self, channel_id: str, sequence: int) -> str | None:
        """``"acked"``, ``"timed_out"`` or ``None`` (pending or never sent)."""
        return self.state.outcomes.get((channel_id, sequence))

    def receipt(self, channel_id: str, sequence: int) -> int | None:
        """The height ``sequence`` was received at on ``channel_id``, or ``None``."""
        return self.state.receipts.get((channel_id, sequence))

    def acknowledgement(self, channel_id: str, sequence: int) -> bytes | None:
        """The ack written for ``sequence`` received on ``channel_id``, or ``None``."""
        record = self.state.acks.get((channel_id, sequence))
        return None if record is None else record.ack

    def invariant_violations(self) -> list[str]:
        """The I-29 checks; an empty list when they all hold.

        Per channel: ``#commitments + #acked + #timed_out == next_sequence_send - 1``; no
        sequence both committed and resolved; every receipt has exactly one ack and every
        ack a receipt (acks are keyed by sequence, so "exactly one" is "one").
        """
        state = self.state
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


# -- entry-point invocations ----------------------------------------------------------------


def _open(core: Contract, env: Env, msg: ChannelOpen) -> Any:
    # ibc_channel_open answers a version (or None), not a response: wrap it so the executor
    # finds nothing to run
    return _Answer(core.ibc_channel_open(env, msg))


class _Answer:
    """A callback's plain return value, carried through ``call_contract`` untouched."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _close(core: Contract, env: Env, channel: Any, confirm: bool) -> IbcBasicResponse:
    # a core may split the one close callback of the contract model into two methods
    specific = getattr(
        core, "ibc_channel_close_confirm" if confirm else "ibc_channel_close_init", None
    )
    if callable(specific):
        response: IbcBasicResponse = specific(env, channel)
        return response
    return core.ibc_channel_close(env, channel, confirm=confirm)


_new_tuple: Final = tuple.__new__


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
