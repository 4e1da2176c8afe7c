"""The IBC module of one chain (spec ibc.md §1, I-1..I-29): the facade the chain host routes
to, over one object per IBC layer, cut as ibc-go cuts its core.

=====================  ==================================================================
``_client.py``         02-client: light clients, consensus states, lag, updates (I-2)
``_connection.py``     03-connection: the connection handshake, proofs through a connection
``_channel.py``        04-channel: channel ends, open and close handshakes (I-3..I-7, I-20)
``_packet.py``         04-channel: send, receive, ack, timeout, receipts, sequences
                       (I-8..I-19, I-24, I-29)
``_commitment.py``     23-commitment: the packet and ack commitment hashes (I-8, I-10.6)
``_port.py``           05-port: port bindings, the applications' callbacks (I-3)
``_state.py``          the records and maps all layers share in the chain's store (I-4, I-26)
=====================  ==================================================================

A `ChainModule` named ``"ibc"``, sans-IO like every core: all of its state is in the chain's
journaled `Store` (`IbcStore`, shared by the layers), so a transaction that fails leaves no
trace in it. The layers hold no state of their own but caches of pure functions.

**Sending** (I-8, I-37, I-33) happens inside a contract's transaction: the executor routes the
contract's ``IbcSendPacket`` / ``IbcCloseChannel`` / ``IbcTransfer`` here (`handle`; a send
goes straight to `send_packet`, the packet layer's method). A send assigns the next sequence,
stores the commitment, and is undone with the transaction.

**Relayer operations** (`run_ops`) run inside one atomic unit of the chain (the chain host
runs them for the IBC actors): each operation is atomic by itself, so a failing one is rolled
back alone and reported, as a relayer's multi-message transaction with ibc-go's "redundant
message = no-op" rule behaves; the packet operations go further, per packet. Proofs: the
simulation reads the counterparty's committed state through the counterparty's IBC actors
(I-2), and an operation that depends on such a fact says at which counterparty height it was
read (``proof_height``); it is accepted only if this chain's light client holds the
counterparty header of exactly that height (`IbcConsensusNotFound` otherwise: light-client
lag, the relayer must update the client first — client updates are operations too).

**What is provable** (`committed_header`, `relay_state`, `channels_reply`): the state as of
the end of the chain's last ended block. Records carry the height they were written at and
channel/connection ends their history, so facts of the current (uncommitted) block are never
shown.

**Application callbacks** are contract entry points (ports ``wasm.<address>``, or a module
port name bound to a contract with `bind_port`). Receive follows I-10 / I-19: a callback that
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
    Event,
    IbcCloseChannel,
    IbcSendPacket,
    IbcTransfer,
    Response,
)
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.contract._ibc_types import MAX_PACKET_SIZE, IbcPacket
from chains.ibc._channel import Channels
from chains.ibc._client import Clients
from chains.ibc._commitment_paths import channel_key, connection_key
from chains.ibc._connection import Connections
from chains.ibc._errors import IbcTransferUnsupported
from chains.ibc._light_client import ClientStatus
from chains.ibc._merkle import MembershipProof, NonMembershipProof, ProofUnavailable
from chains.ibc._msgs import (
    AcknowledgePackets,
    ChanCloseConfirm,
    ChanCloseInit,
    ChannelActivity,
    ChannelsReply,
    ChannelView,
    ChanOpenAck,
    ChanOpenConfirm,
    ChanOpenInit,
    ChanOpenTry,
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
    PacketKey,
    PacketStatus,
    QueryChannels,
    QueryHeader,
    QueryRelayState,
    RecvPackets,
    RelayState,
    TimeoutPackets,
    UpdateClient,
    WrittenAck,
)
from chains.ibc._packet import Packets
from chains.ibc._port import Ports
from chains.ibc._provable import ProvableStore
from chains.ibc._state import ChannelEnd, ClientState, IbcStore
from chains.modules._module import ModuleCall, SudoCall
from mesh_actors import construct_trusted

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor

__all__ = ["IbcConfig", "IbcModule", "NoticeListener"]

NoticeListener = Callable[[IbcBlockNotice], None]

_EMPTY_RESPONSE: Final = Response()


class IbcConfig(BaseModel):
    """Settings of one chain's IBC module.

    ``max_packet_size``: packet data above this many bytes is refused at send with
    `PacketTooLarge` (I-37, default 1 MiB). ``max_consensus_states``: headers each light
    client keeps (the oldest are pruned; a proof at a pruned height must be re-read).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_packet_size: int = Field(default=MAX_PACKET_SIZE, ge=1)
    max_consensus_states: int = Field(default=1000, ge=1)
    verify_proofs: bool = True
    """Issue 13: sign this chain's headers and prove its packets, acks and receipts'
    absence (as a source), and verify the counterparty's headers and proofs (as a
    destination). Off: headers are trusted as given (the unverified baseline, for
    benchmarks). Both chains of a connection must agree."""
    validators: int = Field(default=4, ge=1)
    """How many equal-power signers sign this chain's headers while it has no bonded
    validator (otherwise its bonded validators sign, with their power, see
    `ProvableStore`)."""
    trusting_period_ns: int = Field(default=365 * 86_400 * 10**9, gt=0)
    """How long a counterparty header stays trusted (a client whose latest header is older
    is expired). Long by default: simulated meshes idle for weeks between packets."""
    max_clock_drift_ns: int = Field(default=3_600 * 10**9, ge=0)
    """How far past this chain's block time a counterparty header may be (a header 10^15 ns
    ahead is refused with `HeaderFromFuture`)."""
    notice_page: int | None = Field(default=None, ge=1)
    """Issue 16: at most this many sent packets and written acks (with their proofs) in one
    block notice (``None``: no bound). A block with more gives the rest, still pending,
    in the notices of the next blocks, a page per block (the module asks for those blocks:
    `IbcModule.due_height`): what notices and their relaying hold at once is bounded by a
    page, not by the busiest block. Each page is a notice of its own (numbered, with the
    header of the block before it)."""


class _BondedSet:
    """The chain's active set as ``(consensus pubkey string, power)`` (what signs its
    headers), memoised on the staking module's active set: each header asks, and the set
    rarely changes. Sound because an `ActiveSet` is immutable and replaced (a new members
    tuple) whenever it changes, and a validator's consensus key never changes."""

    __slots__ = ("_executor", "_found", "_members")

    def __init__(self, executor: TxExecutor) -> None:
        self._executor = executor
        # the members tuple last seen (kept alive, so its identity is not reused) and the
        # answer built from it
        self._members: tuple[tuple[str, int], ...] | None = None
        self._found: tuple[tuple[str, int], ...] = ()

    def __call__(self) -> tuple[tuple[str, int], ...]:
        staking = self._executor.staking.staking
        members = staking.active_set().members
        if members is self._members:
            return self._found
        out: list[tuple[str, int]] = []
        for operator, power in members:
            record = staking.validator(operator)
            if record is not None and power > 0:
                out.append((record.consensus_pubkey, power))
        found = tuple(out)
        self._members = members
        self._found = found
        return found


class IbcModule:
    """The ``"ibc"`` module of one chain (see the module docstring).

    Build it with the chain's executor (``chain.add_module(IbcModule)`` passes it). Methods
    marked *in a unit* must run inside an atomic unit of that executor.
    """

    name = "ibc"

    send_packet: Callable[[str, IbcSendPacket, int], None]
    """(In a unit.) ``send_packet(sender, msg, height)``: contract ``sender`` sends ``msg`` at
    block ``height`` (I-8); what `handle` does with an ``IbcSendPacket``, without a
    `ModuleCall` or a response (the executor routes sends here directly). The packet layer's
    bound method itself, so a send pays no delegating call. Raises `IbcUnknownChannel`,
    `IbcBadChannelState`, `IbcNoTimeout`, `PacketTooLarge` or `IbcPacketExpired`."""

    def __init__(self, executor: TxExecutor, config: IbcConfig | None = None) -> None:
        self._executor = executor
        self.config = config = config or IbcConfig()
        self.chain_id = executor.chain_id
        self.state = state = IbcStore(executor.store)
        # shared (never replaced) with the layers, which log activity only while it is
        # non-empty
        self._listeners: list[NoticeListener] = []
        self._header_cache: IbcHeader | None = None
        # the last ended block's header unsigned (a look without proofs asks for it at
        # every clearing, most of them over idle blocks whose header nobody signs)
        self._plain_cache: IbcHeader | None = None
        # the number of the last notice (`IbcBlockNotice.number`): not state, a fresh
        # module (a restarted process) counts from 1 again, which subscribers see as a gap
        self._notice_number = 0
        # activity logged but not yet in a notice (`IbcConfig.notice_page`): not state, a
        # fresh module has none (a restart's notice names every channel as changed, and
        # relayers clear, which finds what was pending)
        self._backlog: list[tuple[object, ...]] = []
        listeners = self._listeners
        self.provable = ProvableStore(
            self.chain_id,
            state,
            config.validators,
            _BondedSet(executor),
            key_seed=executor.config.key_seed,
        )
        clients = Clients(
            executor,
            state,
            config.max_consensus_states,
            verify=config.verify_proofs,
            trusting_period_ns=config.trusting_period_ns,
            max_clock_drift_ns=config.max_clock_drift_ns,
        )
        self._clients = clients
        verifier = clients if config.verify_proofs else None
        connections = Connections(executor, state, listeners, clients.consensus_time, verifier)
        ports = Ports(executor, state)
        channels = Channels(
            executor,
            state,
            listeners,
            connections.connection,
            connections.proof_time,
            ports,
            verifier,
        )
        packets = Packets(
            executor,
            state,
            listeners,
            config.max_packet_size,
            connections.client_of,
            connections.proof_time,
            channels,
            ports,
            verifier,
        )
        self._ports = ports
        self._channels = channels
        self._packets = packets
        self.send_packet = packets.send_packet
        self._ops: dict[type[Any], Callable[[Any, str], OpResult]] = {
            CreateClient: clients.create_client,
            UpdateClient: clients.update_client,
            ConnOpenInit: connections.conn_open_init,
            ConnOpenTry: connections.conn_open_try,
            ConnOpenAck: connections.conn_open_ack,
            ConnOpenConfirm: connections.conn_open_confirm,
            ChanOpenInit: channels.chan_open_init,
            ChanOpenTry: channels.chan_open_try,
            ChanOpenAck: channels.chan_open_ack,
            ChanOpenConfirm: channels.chan_open_confirm,
            ChanCloseInit: channels.chan_close_init,
            ChanCloseConfirm: channels.chan_close_confirm,
            RecvPackets: packets.recv_packets,
            AcknowledgePackets: packets.acknowledge_packets,
            TimeoutPackets: packets.timeout_packets,
        }
        headers = state.headers
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
            channels = self._channels
            channels.close_init(channels.owned_channel(call.sender, msg.channel_id))
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
        IBC activity it had (with `IbcConfig.notice_page`, a page of it: the rest, less what
        was resolved meanwhile, goes first into the next blocks' notices). A notice names
        written acks by sequence, without their packets (`ChannelActivity`)."""
        headers = self.state.headers
        current = headers.get("current")
        if current is not None:
            headers["committed"] = current
        if self.config.verify_proofs:
            self.provable.catch_up()
        else:
            self.state.dirty.clear()
        headers["current"] = (block.height, block.time_ns)
        log = self.state.block_log
        if log or self._backlog:
            items = [item for _, item in sorted(log.raw_items())]
            if log:
                log.clear()
            if self._backlog:
                # earlier blocks' activity first, less what was resolved meanwhile
                items[:0] = self._still_pending(self._backlog)
                self._backlog = []
            header = self.committed_header()
            if header is not None and self._listeners:
                page = self.config.notice_page
                if page is not None:
                    items, self._backlog = _paged(items, page)
                notice = self._notice(header, items)
                for listener in tuple(self._listeners):
                    listener(notice)
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """Nothing to do at a block's end (what it did is noticed at the next begin)."""
        return []

    def on_state_loaded(self) -> None:
        """The chain's state was loaded from a durable store (`StateLoadedObserver`):
        rebuild the Merkle tree of the provable records from the loaded maps, forget the
        cached headers, and send the listeners a notice naming every channel as changed,
        so the gateway spawns the channel actors and relayers look at every channel again
        (the receipts make re-relaying what was pending exactly-once).

        The tree is built from the maps as loaded. The committed state is taken after the
        new block's begin-block hooks, so it matches the tree the module had (brought up to
        date in its own begin-block) unless a module after it wrote provable IBC records in
        that begin-block: none does."""
        self.provable.rebuild()
        self._backlog = []
        self._header_cache = None
        self._plain_cache = None
        self._packets.forget_caches()
        header = self.committed_header()
        if header is None or not self._listeners:
            return
        channels = [("changed", channel_id) for channel_id in self.state.channels]
        if not channels:
            return
        notice = self._notice(header, list(channels))
        for listener in tuple(self._listeners):
            listener(notice)

    # -- block schedule (lazy blocks, `TxExecutor.set_block_hint`) ---------------------------

    idle_memory: Final = 2
    """Over idle blocks ``begin_block`` only moves the last two headers along: replaying the
    last two gives the same state (the hint's ``idle_memory`` promise)."""

    def due_height(self, block: BlockEnv) -> int | None:
        """The module's `BlockHint`: a block with IBC activity is due (its notice goes to the
        listeners at the next begin-block); an idle one is not."""
        state = self.state
        return block.height if state.block_log or state.dirty or self._backlog else None

    # -- listeners --------------------------------------------------------------------------

    def add_listener(self, listener: NoticeListener) -> None:
        """Call ``listener(notice)`` (in the chain host's task, at each block start) for every
        ended block with IBC activity. While nobody listens, activity is not recorded."""
        self._listeners.append(listener)

    def remove_listener(self, listener: NoticeListener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners:
            self._backlog = []

    def _still_pending(self, items: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        """``items`` (a backlog) less the sent packets whose commitment is gone (acked or
        timed out through a clearing meanwhile: no proof of it exists any more) and the
        acks whose record is gone."""
        state = self.state
        commitments = state.commitments
        acks_written = state.acks
        kept: list[tuple[object, ...]] = []
        for item in items:
            kind = item[0]
            if kind == "sent":
                packet: IbcPacket = item[2]  # type: ignore[assignment]
                if (item[1], packet.sequence) in commitments:
                    kept.append(item)
            elif kind == "acks":
                written: tuple[WrittenAck, ...] = item[2]  # type: ignore[assignment]
                left = tuple(a for a in written if (item[1], a.packet.sequence) in acks_written)
                if left:
                    kept.append((kind, item[1], left))
            else:
                kept.append(item)
        return kept

    def _notice(self, header: IbcHeader, items: list[tuple[object, ...]]) -> IbcBlockNotice:
        """The notice of one ended block, from the items the layers logged in it (see
        `IbcStore.log`), by channel in order of first activity."""
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
        prove = self.config.verify_proofs
        provable = self.provable
        for channel_id in order:
            end = channels.get(channel_id)
            if end is None:
                continue
            sent_proofs: tuple[MembershipProof, ...] = ()
            ack_proofs: tuple[MembershipProof, ...] = ()
            if prove:
                sent_proofs = tuple(
                    provable.prove_commitment(p.src.port_id, channel_id, p.sequence)
                    for p in sent[channel_id]
                )
                ack_proofs = tuple(
                    provable.prove_ack(a.packet.dest.port_id, channel_id, a.packet.sequence)
                    for a in acks[channel_id]
                )
            # the acks by sequence, without their packets (the relayer that delivered a
            # packet has it; see `ChannelActivity`)
            written = acks[channel_id]
            activity.append(
                ChannelActivity.model_construct(
                    port_id=end.port_id,
                    channel_id=channel_id,
                    connection_id=end.connection_id,
                    sent=tuple(sent[channel_id]),
                    acks=(),
                    changed=channel_id in changed,
                    sent_proofs=sent_proofs,
                    ack_proofs=ack_proofs,
                    # (list comprehensions: a generator costs a call per item)
                    ack_sequences=tuple([a.packet.sequence for a in written]),
                    ack_data=tuple([a.ack for a in written]),
                )
            )
        self._notice_number += 1
        return IbcBlockNotice(
            chain_id=self.chain_id,
            header=header,
            activity=tuple(activity),
            connections_changed=connections_changed,
            number=self._notice_number,
        )

    # -- ports (I-3) ------------------------------------------------------------------------

    @property
    def batch_path(self) -> bool:
        """Whether the relayer's packet batches take the batch path (issue 16: per-end
        checks once per batch, sends from ack callbacks straight to `send_packet`); the
        default. ``False`` runs the general per-packet path, with the same state, events and
        results (the equivalence tests compare the two)."""
        return self._packets.batch_path

    @batch_path.setter
    def batch_path(self, value: bool) -> None:
        self._packets.batch_path = value

    def bind_port(self, port_id: str, contract: str) -> None:
        """(In a unit.) Bind a module port name (``icqhost``, ``oracle``...) to a contract, so
        channels on that port reach the contract's IBC entry points (I-3). Raises
        `IbcUnboundPort` if there is no such contract."""
        self._ports.bind_port(port_id, contract)

    def port_contract(self, port_id: str) -> str:
        """The contract behind ``port_id``; raises `IbcUnboundPort`."""
        return self._ports.port_contract(port_id)

    # -- relayer operations -----------------------------------------------------------------

    def run_ops(self, ops: tuple[Any, ...], signer: str = "relayer") -> tuple[OpResult, ...]:
        """(In a unit.) Apply relayer operations in order, each atomic by itself, each by
        the layer it belongs to; return one `OpResult` per operation (a failure is a result,
        never an exception)."""
        nested = self._executor.nested
        handlers = self._ops
        results: list[OpResult] = []
        for op in ops:
            handler = handlers.get(type(op))
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
                results.append(nested(handler, op, signer))
            except ChainError as exc:
                results.append(OpResult(status="error", error=exc.name, detail=str(exc)))
        return tuple(results)

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
        if self.config.verify_proofs:
            header = self.provable.signed(header)
        self._header_cache = header
        return header

    def _plain_header(self) -> IbcHeader | None:
        # the last ended block's header unsigned (a look without proofs), or the signed
        # one if it is at hand already
        committed = self.state.headers.get("committed")
        if committed is None:
            return None
        cached = self._header_cache
        if cached is not None and cached.height == committed[0]:
            return cached
        plain = self._plain_cache
        if plain is not None and (plain.height, plain.time_ns) == committed:
            return plain
        # what ``model_construct`` of the three fields gives (``signed`` its default)
        plain = self._plain_cache = construct_trusted(
            IbcHeader,
            {
                "chain_id": self.chain_id,
                "height": committed[0],
                "time_ns": committed[1],
                "signed": None,
            },
            {"chain_id", "height", "time_ns"},
        )
        return plain

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
        block (see `QueryRelayState`; without proofs if ``query.proofs`` is false)."""
        proved = query.proofs
        header = self.committed_header() if proved else self._plain_header()
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
            for ref in state.commitment_refs(end.channel_id):
                if count >= query.limit:
                    break
                if commitments[ref][1] <= height:
                    pending.append(packets[ref])
                    count += 1
        prove = proved and self.config.verify_proofs
        provable = self.provable
        pending_proofs: tuple[MembershipProof, ...] = ()
        if prove:
            pending_proofs = tuple(
                provable.prove_commitment(p.src.port_id, p.src.channel_id, p.sequence)
                for p in pending
            )
        statuses: list[PacketStatus] = []
        for key in query.keys:
            ref = (key.channel_id, key.sequence)
            received_at = state.receipts.get(ref)
            received = received_at is not None and received_at <= height
            ack = state.acks.get(ref) if received else None
            proof: MembershipProof | NonMembershipProof | None = None
            if prove:
                proof = self._status_proof(key, received, ack is not None)
            # typed store values throughout: no validation (every relayer clear asks this)
            statuses.append(
                construct_trusted(
                    PacketStatus,
                    {
                        "key": key,
                        "received": received,
                        "ack": None if ack is None else ack.ack,
                        "proof": proof,
                    },
                    {"key", "received", "ack", "proof"},
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
                "pending_proofs": pending_proofs,
                "connection_proof": (
                    provable.prove_key(connection_key(connection.connection_id))
                    if prove and connection is not None
                    else None
                ),
                "channel_proofs": (
                    tuple(
                        provable.prove_key(channel_key(v.port_id, v.channel_id)) for v in channels
                    )
                    if prove
                    else ()
                ),
                "notice_number": self._notice_number,
            },
            {
                "header",
                "connection",
                "channels",
                "pending",
                "statuses",
                "pending_proofs",
                "connection_proof",
                "channel_proofs",
                "notice_number",
            },
        )

    def _status_proof(
        self, key: PacketKey, received: bool, acked: bool
    ) -> MembershipProof | NonMembershipProof | None:
        """The proof of a packet's status as committed: its ack's membership, or its
        receipt's absence; ``None`` when the committed tree does not show it (an ack
        written after the committed block)."""
        provable = self.provable
        try:
            if not received:
                return provable.prove_no_receipt(key.port_id, key.channel_id, key.sequence)
            if acked:
                return provable.prove_ack(key.port_id, key.channel_id, key.sequence)
        except ProofUnavailable:
            return None
        return None

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

    def client_status(self, client_id: str) -> ClientStatus:
        """ICS-2 status of the verifying client ``client_id`` (``FROZEN`` after
        misbehaviour); raises `IbcUnknownClient`."""
        return self._clients.client_status(client_id)

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
        keys = self.state.commitment_refs(channel_id)
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
        ack a receipt.
        """
        return self._packets.invariant_violations()


def _paged(
    items: list[tuple[object, ...]], page: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """``items`` cut into what one notice carries (at most ``page`` sent packets and written
    acks, in order; channel and connection changes always) and the rest, in order."""
    taken: list[tuple[object, ...]] = []
    rest: list[tuple[object, ...]] = []
    room = page
    for item in items:
        kind = item[0]
        if kind == "sent":
            if room:
                taken.append(item)
                room -= 1
            else:
                rest.append(item)
        elif kind == "acks":
            written: tuple[WrittenAck, ...] = item[2]  # type: ignore[assignment]
            if len(written) <= room:
                taken.append(item)
                room -= len(written)
            elif room:
                taken.append((kind, item[1], written[:room]))
                rest.append((kind, item[1], written[room:]))
                room = 0
            else:
                rest.append(item)
        else:
            taken.append(item)
    return taken, rest
