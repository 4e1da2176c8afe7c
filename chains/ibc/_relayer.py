"""The relayer actor: moves handshakes, packets, acks and timeouts between two chains (I-1,
I-22).

A `Relayer` lives in an actor system of its own and reaches the chains' IBC actors only by
address, through whatever transport joins the systems, so the same code relays in memory and
across processes. It never changes a chain by itself: it reads what a chain can prove (the
gateway's queries answer as of the chain's last ended block, I-2) and submits operations that
the destination checks. Whatever it does — lose messages, repeat them, race other relayers,
stop half way — cannot corrupt a chain; the worst a silent relayer does is let packets time
out.

How it relays:

- **Clearing** (every ``clear_interval``, at start, on resume, ``retry_delay`` after a
  failure, at once after a block that changed a channel or connection end, and — for a
  relayer without notices — ``retry_delay`` after a round that found work, so the acks of
  what it delivered follow; never for client updates or plain packet traffic, which the
  notices carry): it reads both gateways' pending packets and the status on each chain of
  the other's pending packets, and submits what `plan_path` decides: receives, acks,
  timeouts (by height/time, or on close), handshake and close steps, each batch preceded
  by the client updates its proofs need (light-client lag: a proof at height h needs the
  destination's client to hold the header of h first). A relayer started late therefore
  clears everything pending on its first round.
- **Queries of a clearing**: one ask per chain when the second chain asked has no pending
  packet that the first answer could not foresee, else a third (`Relayer._read_path`): the
  asks' round trips are most of what a clearing costs, and a mesh clears every relayer's
  path every ``clear_interval`` whether or not anything is pending. After a clearing that
  found nothing, and no notice of activity since, the next one first *looks* without
  proofs (`QueryRelayState.proofs` false: the chains build no proof and sign no header,
  which is most of what a clearing that finds nothing costs them) and reads again with
  proofs only if the look finds work (issue 16). With notices, a clearing looks first
  whenever no notice told of activity in the last quarter interval: the notices carry the
  traffic, so a header is signed for a clearing only when it will submit something.
- **Quiet back-off** (`RelayerConfig.quiet_backoff`): while clearings find nothing pending
  on either chain, each doubles the wait before the next, up to ``quiet_backoff`` clear
  intervals (every clock stop makes every chain produce its idle blocks, so an idle mesh's
  cost is its clearings); activity, a submission or a failure brings the period back. The
  notices are numbered per chain (`IbcBlockNotice.number`, and `RelayState.notice_number`
  as of a clearing's answer): a gap means a lost notice and clears at once; a lost last
  notice is found by the backed-off clearing.
- **Notices** (``subscribe``): the gateways tell it, after each block with IBC activity, the
  packets sent and acks written in it; it forwards them at once (or after ``batch_delay``)
  as receives and acks, with the block's header as the client update. Lost notices are
  caught by the next clearing. A notice names a written ack by its packet's sequence,
  without the packet (issue 16): the relayer keeps a record of each packet it submitted
  for receipt (keyed by destination chain, channel and sequence) and builds the ack from
  it, dropping the record once the ack is submitted. An ack it has no record of (another
  relayer delivered the packet, this relayer restarted, or the notice is a duplicate)
  brings a clearing forward, which reads the packet from its source: every ack is still
  relayed, and the destination's receipts and the source's commitments make it
  exactly-once. Records of packets resolved otherwise (timed out, acked through a
  clearing) are dropped by the next clearing that reads the source's whole pending list,
  and at most `_MAX_DELIVERED` are kept.
- Batches hold at most ``max_batch`` packets; they are told (not asked) to the channel or
  gateway actor with ``reply_to`` set, so the relayer never blocks on a chain; results come
  back as `IbcBatchResult` and any failure schedules an early clearing (retries).
- **Reads never block the relayer.** The queries of a periodic or retry clearing (and of a
  client update tick) are asked by a child actor, the relayer's *reader*, which tells the
  answers back; the relayer itself only ever waits on the network for an explicit
  `ClearNow`, `SetupPath` or `OpenChannel`. One read is in flight at a time: a clearing
  asked for meanwhile runs once when it returns (periodic ticks are dropped, the next one
  comes anyway). So a relayer answers `RelayerStatus`, notices and control messages as
  soon as it has handled what was queued before them, however long its queries take on a
  lossy, slow link. (It used to clear inside the tick handler: under drop plus delay a
  clearing waited up to three query timeouts, longer than the clear interval, so ticks
  queued up faster than they were handled and a status request waited behind thousands of
  seconds of them.)

Control: `PauseRelaying` / `ResumeRelaying`, `ClearNow`, `RelayerStatus`; stop it like any
actor and spawn a new one to restart it (it keeps no state that matters). `SetupPath`
creates the clients and the connection; `OpenChannel` starts a channel handshake.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from chains.contract._errors import ChainError
from chains.contract._ibc_types import IbcPacket
from chains.ibc._merkle import MembershipProof
from chains.ibc._msgs import (
    AcknowledgePackets,
    ChannelActivity,
    ChanOpenInit,
    ConnectionState,
    ConnectionView,
    ConnOpenAck,
    ConnOpenConfirm,
    ConnOpenInit,
    ConnOpenTry,
    CreateClient,
    HeaderReply,
    IbcBatch,
    IbcBatchResult,
    IbcBlockNotice,
    IbcHeader,
    PacketKey,
    QueryHeader,
    QueryRelayState,
    RecvPackets,
    RelayState,
    Subscribe,
    UpdateClient,
    WrittenAck,
    written_ack,
)
from chains.ibc._relay_plan import GATEWAY, PathSide, RelayPlan, destination_keys, plan_path
from chains.ibc._relayer_msgs import (
    ClearNow,
    ClearReport,
    OpenChannel,
    OpenChannelReply,
    PathEnd,
    PathReady,
    PauseRelaying,
    RelayerConfig,
    RelayerStats,
    RelayerStatus,
    ResumeRelaying,
    SetClientLag,
    SetupPath,
)
from mesh_actors import Actor, ActorRef, MailboxConfig, MeshActorsError, Message, handler

__all__ = ["Relayer", "RelayerMsg", "RelayerSetupError"]

_CLEAR = "clear"
_RETRY = "retry"
_FLUSH = "flush"
_UPDATE = "update"
_POLL_SECONDS = 0.5
# setup gives up after this many clock seconds of polling (1000 polls at the default)
_SETUP_PATIENCE = 500.0
# a subscription lasts this many clear intervals and is renewed every
# _RENEW_INTERVALS of them: two renewals in a row may be lost before notices stop (and
# clearing covers the gap even then); renewing at every clearing cost a tell per chain
_LEASE_INTERVALS = 6
_RENEW_INTERVALS = 2
# the most records of delivered packets kept (`Relayer._delivered`): beyond, the oldest go
# (an ack whose record went is relayed by a clearing instead)
_MAX_DELIVERED = 100_000


class RelayerSetupError(ChainError):
    """`SetupPath` or `OpenChannel` could not complete (a gateway refused a step)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


# what most clearings report (nothing found): one frozen instance, not one per round
_NOTHING_CLEARED = ClearReport(ok=True)


class _ClearTick(Message):
    type_name = "relayer.tick.clear"


class _FlushTick(Message):
    type_name = "relayer.tick.flush"


class _UpdateTick(Message):
    type_name = "relayer.tick.update"


class _Lagged(Message):
    # a batch held back by `SetClientLag`, due now at ``address``
    type_name = "relayer.lagged"
    address: str
    batch: Any


class _RetryTick(Message):
    """A clearing asked for (retry, notice of a handshake step, resume), not the period's."""

    type_name = "relayer.tick.retry"


class _ReadPath(Message):
    """To the reader: read the path for clearing ``round`` (see `read_path`)."""

    type_name = "relayer.read_path"
    round: int
    first: PathEnd
    second: PathEnd
    foreseen: tuple[PacketKey, ...]
    limit: int
    timeout: float
    proofs: bool = True


class _PathRead(Message):
    """From the reader: the answers of round ``round`` (empty and ``error`` set if an ask
    failed), how many queries it asked, and whether the answers carry proofs."""

    type_name = "relayer.path_read"
    round: int
    answers: tuple[RelayState, ...] = ()
    queries: int = 0
    error: str = ""
    proofs: bool = True


class _ReadHeaders(Message):
    """To the reader: the latest headers of both ends (for client updates)."""

    type_name = "relayer.read_headers"
    ends: tuple[PathEnd, ...]
    timeout: float


class _HeadersRead(Message):
    """From the reader: ``(chain id, header)`` of each end that answered."""

    type_name = "relayer.headers_read"
    headers: tuple[tuple[str, IbcHeader], ...] = ()


_READER = "reader"
# a clearing within this many clear intervals of a notice of activity reads with proofs at
# once (it likely catches that traffic in flight); later ones look without proofs first
_RECENT = 0.25
# a read not answered after this many query timeouts is given up (the reader restarted, or
# its answer was lost): the relayer starts a new one
_READ_GIVE_UP = 4


async def _ask_state(
    ref: ActorRef[Any],
    end: PathEnd,
    keys: tuple[PacketKey, ...],
    limit: int,
    timeout: float,
    proofs: bool = True,
) -> RelayState:
    # built unvalidated: every field is ours and already typed (keys come from validated
    # answers), and this runs twice or thrice per clearing
    query = QueryRelayState.model_construct(
        connection_id=end.connection_id, limit=limit, keys=keys, proofs=proofs
    )
    state: RelayState = await ref.ask(query, expect=RelayState, timeout=timeout)
    return state


async def read_path(
    ref_of: Any,
    first: PathEnd,
    second: PathEnd,
    foreseen: tuple[PacketKey, ...],
    limit: int,
    timeout: float,
    proofs: bool = True,
) -> tuple[tuple[RelayState, RelayState, RelayState], int]:
    """Both chains' pending packets and the status of each one's on the other chain:
    ``((first_pending, first_status, second_answer), queries asked)`` (the second chain's
    one answer is both its pending and its status answer). ``ref_of`` maps a gateway
    address to a reference.

    ``first`` is asked for its pending packets and, at once, for the status of the
    packets pending on ``second`` at the last clearing (``foreseen``); ``second`` for its
    pending packets and the status of those just read on ``first``. Only if ``second``
    now has a pending packet that was not foreseen is ``first`` asked a third time, for
    those statuses alone (``limit=0``: no pending list). Facts from different answers
    may be proven at different heights: each is a fact at its answer's height, and each
    operation built from it carries that height (a status read before the pending list
    of the other chain is still true: a receipt, an ack and an expired timeout never
    go away), so mixing them is safe. With ``proofs`` false the answers carry no proof
    (`QueryRelayState.proofs`): a look, to be read again with proofs if it finds work.

    Raises what the asks raise (`MeshActorsError`, `TimeoutError`); cancellation stops
    the asks.
    """
    first_answer = await _ask_state(ref_of(first.gateway), first, foreseen, limit, timeout, proofs)
    second_answer = await _ask_state(
        ref_of(second.gateway), second, destination_keys(first_answer), limit, timeout, proofs
    )
    needed = destination_keys(second_answer)
    first_status = first_answer
    queries = 2
    if needed and not set(needed) <= set(foreseen):
        first_status = await _ask_state(ref_of(first.gateway), first, needed, 0, timeout, proofs)
        queries = 3
    return (first_answer, first_status, second_answer), queries


class _Reader(Actor[Any]):
    """The relayer's child that asks the gateways, so that the relayer never waits on them
    for its routine work. It handles one request at a time (the relayer sends one at a
    time) and tells the parent the answers; a failed ask becomes an ``error`` answer, never
    a failure of this actor."""

    def __init__(self) -> None:
        self._refs: dict[str, ActorRef[Any]] = {}

    def _ref(self, address: str) -> ActorRef[Any]:
        ref = self._refs.get(address)
        if ref is None:
            ref = self._refs[address] = self.ctx.system.ref(address)
        return ref

    def _reply(self, message: Any) -> None:
        parent = self.ctx.parent
        if parent is not None:
            parent.tell_nowait(message)

    @handler
    async def on_read_path(self, msg: _ReadPath) -> None:
        try:
            answers, queries = await read_path(
                self._ref,
                msg.first,
                msg.second,
                msg.foreseen,
                msg.limit,
                msg.timeout,
                msg.proofs,
            )
        except Exception as exc:  # lost, late or refused: the relayer retries
            self._reply(
                _PathRead.model_construct(
                    round=msg.round,
                    answers=(),
                    queries=0,
                    error=f"{type(exc).__name__}: {exc}",
                    proofs=msg.proofs,
                )
            )
            return
        self._reply(
            _PathRead.model_construct(
                round=msg.round, answers=answers, queries=queries, error="", proofs=msg.proofs
            )
        )

    @handler
    async def on_read_headers(self, msg: _ReadHeaders) -> None:
        headers: list[tuple[str, IbcHeader]] = []
        for end in msg.ends:
            try:
                reply: HeaderReply = await self._ref(end.gateway).ask(
                    QueryHeader(), expect=HeaderReply, timeout=msg.timeout
                )
            except Exception:  # an update is only an optimisation: skip this end
                continue
            if reply.header is not None:
                headers.append((end.chain_id, reply.header))
        self._reply(_HeadersRead.model_construct(headers=tuple(headers)))


RelayerMsg = (
    IbcBlockNotice
    | IbcBatchResult
    | PauseRelaying
    | ResumeRelaying
    | ClearNow
    | RelayerStatus
    | SetupPath
    | OpenChannel
    | _ClearTick
    | _FlushTick
    | _UpdateTick
    | _Lagged
    | SetClientLag
    | _RetryTick
    | _PathRead
    | _HeadersRead
)


class Relayer(Actor[RelayerMsg]):
    """A relayer of one path (see the module docstring and `RelayerConfig`)."""

    mailbox = MailboxConfig(capacity=100_000)

    def __init__(self, config: RelayerConfig) -> None:
        self.config = config
        self._set_ends(config.a, config.b)
        # statuses to ask of a chain at the next clearing before its counterparty's pending
        # packets are known: the counterparty's pending packets at the last clearing (they
        # are usually still there, and asking for a resolved one costs nothing but a lookup)
        self._foreseen: dict[str, tuple[PacketKey, ...]] = {}
        self._subscription: Subscribe | None = None
        # references by address: parsing an address per tell or ask showed in profiles (a
        # remote reference routes by address; a stale local one falls back to routing too)
        self._refs: dict[str, ActorRef[Any]] = {}
        self._me = ""
        self._renewed_at = float("-inf")
        self._ask_b_first = False
        self._paused = False
        self._queue = RelayPlan()
        self._rng = random.Random(f"{config.seed}:{config.name}")
        self._clears = 0
        self._failed_clears = 0
        self._queries = 0
        self._notices = 0
        self._batches = 0
        self._results = 0
        self._ok = 0
        self._noop = 0
        self._failed = 0
        self._reader: ActorRef[Any] | None = None
        # the round of the read in flight (None: none) and when it was asked; whether a
        # clearing was asked for meanwhile; whether a header read is in flight
        self._round = 0
        self._reading: int | None = None
        self._read_at = 0.0
        self._read_first: PathEnd | None = None
        self._again = False
        self._reading_headers = False
        # the last clearing found nothing and no notice told of activity since: the next
        # clearing looks without proofs first (`_start_read`)
        self._quiet = False
        # `SetClientLag`: seconds each batch is held back, and a counter for timer keys
        self._lag = 0.0
        self._lagged = 0
        # the clearing period's multiple now (`RelayerConfig.quiet_backoff`), and the clock
        # time the next periodic clearing was planned from
        self._backoff = 1
        self._clear_from = 0.0
        # when a notice last told of activity (`_start_read`)
        self._active_at = float("-inf")
        # the last notice number seen of each chain (`IbcBlockNotice.number`)
        self._numbers: dict[str, int] = {}
        # the packets submitted for receipt whose ack is not yet relayed, by (destination
        # chain, destination channel, sequence): a notice names an ack by sequence only
        self._delivered: dict[tuple[str, str, int], IbcPacket] = {}
        self._acks_cleared = 0

    # -- lifecycle --------------------------------------------------------------------------

    def _set_ends(self, a: PathEnd, b: PathEnd) -> None:
        self._a, self._b = a, b
        self._ends = {a.chain_id: a, b.chain_id: b}
        # the path's sides, fixed once the path is set up: built once, not per notice
        self._path: dict[str, PathSide] | None = None
        self._facing: dict[str, PathSide] = {}
        if a.client_id and a.connection_id and b.client_id and b.connection_id:
            side_a = PathSide(a.chain_id, a.client_id, a.connection_id)
            side_b = PathSide(b.chain_id, b.client_id, b.connection_id)
            self._path = {a.chain_id: side_a, b.chain_id: side_b}
            self._facing = {a.chain_id: side_b, b.chain_id: side_a}

    async def on_start(self) -> None:
        """Subscribe to both gateways, clear at once, then periodically."""
        config = self.config
        self._me = str(self.ctx.self_ref.address)
        self._subscription = Subscribe.model_construct(
            subscriber=self._me,
            lease=self._lease(),
        )
        self._reader = self.ctx.spawn(_Reader, name=_READER)
        self._subscribe()
        timers = self.ctx.timers
        self._clear_from = self.ctx.clock.now()
        self._arm_clear()
        timers.send_after(_RETRY, 0.0, _RetryTick())
        if config.client_update_interval is not None:
            timers.send_periodic(_UPDATE, config.client_update_interval, _UpdateTick())

    def _subscribe(self) -> None:
        subscription = self._subscription
        if not self.config.subscribe or subscription is None:
            return
        self._renewed_at = self.ctx.clock.now()
        for end in (self._a, self._b):
            self._tell(end.gateway, subscription)

    def _lease(self) -> float:
        # long enough that a relayer backed off to its longest quiet period still renews
        # twice before its lease ends (`_renew`)
        return self.config.clear_interval * _LEASE_INTERVALS * self.config.quiet_backoff

    def _renew(self) -> None:
        """Renew the subscriptions if `_RENEW_INTERVALS` clearing periods (with the
        back-off now) have passed: as often as before while traffic keeps the period at
        ``clear_interval`` (a restarted gateway, which forgot its subscribers, is told
        again soon), and at most ``2 x quiet_backoff`` intervals apart, well inside the
        lease."""
        # a hair of slack: the periodic tick may land a float rounding early
        period = self.config.clear_interval * self._backoff
        due = self._renewed_at + period * (_RENEW_INTERVALS - 0.01)
        if self.ctx.clock.now() >= due:
            self._subscribe()

    # -- the clearing period (back-off while quiet) --------------------------------------------

    def _arm_clear(self) -> None:
        """Plan the next periodic clearing ``clear_interval`` x the back-off after the
        last one was planned (fixed rate, as a periodic timer: a late handler does not
        shift the period)."""
        due = self._clear_from + self.config.clear_interval * self._backoff
        self._clear_from = due
        delay = max(0.0, due - self.ctx.clock.now())
        self.ctx.timers.send_after(_CLEAR, delay, _ClearTick())

    def _wake(self) -> None:
        """Activity, a lost notice, a submission or a failure: back to clearing every
        ``clear_interval`` from now (nothing to do unless backed off)."""
        if self._backoff == 1:
            return
        self._backoff = 1
        self._clear_from = self.ctx.clock.now()
        self._arm_clear()

    def _note_numbers(self, answers: tuple[RelayState, ...]) -> None:
        """A clearing covered each chain's blocks up to its answer: judge gaps in later
        notices from the chain's notice number then (`RelayState.notice_number`); and
        drop the records of delivered packets no longer pending on their source."""
        numbers = self._numbers
        for answer in answers:
            header = answer.header
            if header is not None and answer.notice_number:
                chain_id = header.chain_id
                numbers[chain_id] = max(numbers.get(chain_id, 0), answer.notice_number)
        if self._delivered:
            # the first chain's pending list and the second's (the middle answer is the
            # first chain's statuses alone, with no pending list)
            self._forget_resolved(answers[0])
            self._forget_resolved(answers[-1])

    def _forget_resolved(self, answer: RelayState) -> None:
        """Drop the records of packets sent by ``answer``'s chain that are no longer
        pending there (acked or timed out), if the answer lists every pending packet."""
        header = answer.header
        limit = self.config.clear_limit
        if header is None or limit <= 0 or len(answer.pending) >= limit:
            return  # no list, or a cut one: a packet not in it may still be pending
        facing = self._facing.get(header.chain_id)
        if facing is None:
            return
        dest = facing.chain_id
        pending = {(dest, p.dest.channel_id, p.sequence) for p in answer.pending}
        delivered = self._delivered
        for key in [k for k in delivered if k[0] == dest and k not in pending]:
            del delivered[key]

    def _settle(self, answers: tuple[RelayState, ...], found: bool) -> None:
        """After a clearing: back off further if it found nothing to do and nothing
        pending on either chain (an idle path: what happens next is sent in a block whose
        notice says so), else clear at the base period again."""
        cap = self.config.quiet_backoff
        if found or any(answer.pending for answer in answers):
            self._wake()
        elif cap > 1 and self.config.subscribe:
            self._backoff = min(self._backoff * 2, cap)

    def _ref(self, address: str) -> ActorRef[Any]:
        ref = self._refs.get(address)
        if ref is None:
            ref = self._refs[address] = self.ctx.system.ref(address)
        return ref

    def _tell(self, address: str, message: Any) -> None:
        try:
            self._ref(address).tell_nowait(message)
        except Exception as exc:  # the transport may refuse (closed, unknown system)
            self.ctx.log.debug("not sent", to=address, error=repr(exc))

    def _send(self, address: str, batch: IbcBatch) -> None:
        if not self._lag:
            self._tell(address, batch)
            return
        self._lagged += 1
        held = _Lagged.model_construct(address=address, batch=batch)
        self.ctx.timers.send_after(f"lag-{self._lagged}", self._lag, held)

    @handler
    def on_lagged(self, msg: _Lagged) -> None:
        """A batch held back by `SetClientLag` is due: send it now."""
        self._tell(msg.address, msg.batch)

    @handler
    def on_set_lag(self, msg: SetClientLag) -> None:
        """Hold every later batch back ``msg.lag`` clock seconds (0: none)."""
        self._lag = msg.lag

    def _relay_filter(self, packet: IbcPacket) -> bool:
        drop = self.config.drop_packets
        if not drop:
            return True
        # decided per packet, the same way at every clearing and for every incarnation
        key = f"{self.config.seed}:{packet.src.channel_id}:{packet.sequence}"
        return random.Random(key).random() >= drop

    # -- submitting -------------------------------------------------------------------------

    def _submit(self, plan: RelayPlan) -> tuple[int, int]:
        sides = self._path
        if sides is None or not plan:
            return 0, 0
        me = self._me
        config = self.config
        batches = operations = 0
        delivered = self._delivered
        for chain_id, actor, ops in plan.batches(sides, config.max_batch):
            for op in ops:
                if type(op) is RecvPackets:
                    for packet in op.packets:
                        delivered[(chain_id, packet.dest.channel_id, packet.sequence)] = packet
            gateway = self._ends[chain_id].gateway
            address = gateway if actor == GATEWAY else f"{gateway}/{actor}"
            batch = IbcBatch.model_construct(ops=ops, reply_to=me, signer=config.name)
            self._send(address, batch)
            if config.duplicate and self._rng.random() < config.duplicate:
                self._send(address, batch)
            batches += 1
            operations += len(ops)
        self._batches += batches
        if len(delivered) > _MAX_DELIVERED:
            # the oldest first (insertion order): their acks are the likeliest relayed
            # already by a clearing, or lost
            # (a slice of the keys' iterator: the excess only, not a copy of all of them)
            for key in list(itertools.islice(delivered, len(delivered) - _MAX_DELIVERED)):
                del delivered[key]
        if batches:
            self._wake()  # a lost batch is found pending by the next clearing
        return batches, operations

    def _schedule_clear(self, delay: float) -> None:
        timers = self.ctx.timers
        if not timers.is_active(_RETRY):
            timers.send_after(_RETRY, delay, _RetryTick())

    # -- clearing ---------------------------------------------------------------------------

    def _order(self) -> tuple[PathEnd, PathEnd]:
        # a clearing that needed a third ask (the chain asked second had pending packets
        # not foreseen) swaps the order: a chain that keeps having fresh pending packets
        # ends up asked first, where its packets need no foresight
        a, b = self._a, self._b
        return (b, a) if self._ask_b_first else (a, b)

    def _start_read(self, *, asked: bool, proofs: bool = False) -> None:
        """Start a clearing's read in the reader, unless one is in flight: then an
        ``asked`` clearing (retry, handshake step, resume) runs once it returns, and a
        periodic one is dropped (the next period's comes anyway).

        A clearing first looks without proofs (no proof built, no header signed: most of
        what a clearing that finds nothing costs the chains) and reads again with proofs
        only if that look finds work (`on_path_read`), unless it likely finds work: then
        it reads with proofs at once. Likely: without notices, after a clearing that found
        work; with notices, after a notice of activity within `_RECENT` clear intervals
        (the clearing may catch that traffic in flight) and no clearing that found nothing
        since."""
        continuing = proofs  # the read with proofs of a clearing whose look found work
        if self._path is None or self._reader is None:
            return
        now = self.ctx.clock.now()
        if self.config.subscribe:
            # the notices carry the traffic: a clearing finds work only if it catches
            # traffic in flight (right after a notice of activity) or a notice was lost
            recent = now - self._active_at < self.config.clear_interval * _RECENT
            proofs = proofs or (recent and not self._quiet)
        else:
            proofs = proofs or not self._quiet
        if self._reading is not None:
            if now - self._read_at < _READ_GIVE_UP * self.config.query_timeout:
                self._again = self._again or asked
                return
            # never answered (the reader restarted, or its answer was lost): start anew,
            # the late answer of the old round is ignored
            self._failed_clears += 1
        if not continuing:
            self._clears += 1
        self._round += 1
        self._reading = self._round
        self._read_at = now
        self._again = False
        first, second = self._order()
        self._read_first = first
        request = _ReadPath.model_construct(
            round=self._round,
            first=first,
            second=second,
            foreseen=self._foreseen.get(first.chain_id, ()),
            limit=self.config.clear_limit,
            timeout=self.config.query_timeout,
            proofs=proofs,
        )
        self._reader.tell_nowait(request)

    @handler
    def on_path_read(self, msg: _PathRead) -> None:
        """A read of the reader came back: plan and submit (the rest of a clearing)."""
        if msg.round != self._reading:
            return  # given up on
        self._reading = None
        first = self._read_first
        assert first is not None
        self._queries += msg.queries
        if msg.error:
            self._failed_clears += 1
            self._wake()
            self._schedule_clear(self.config.retry_delay)
        elif not self._paused:
            first_pending, first_status, second_answer = msg.answers
            answers = (first_pending, first_status, second_answer)
            self._note_numbers(answers)
            if msg.proofs:
                self._quiet = not self._plan_and_submit(first, answers, msg.queries).batches
                self._settle(answers, not self._quiet)
            elif self._plan(first, answers, msg.queries):
                # the look found work: read again, with the proofs its operations carry
                # (a clearing asked for meanwhile still runs after that)
                self._wake()
                again = self._again
                self._start_read(asked=True, proofs=True)
                self._again = again
                return
            else:
                self._settle(answers, False)
        if self._again and not self._paused:
            self._start_read(asked=True)

    async def _clear(self) -> ClearReport:
        """One clearing read here, in the handler (an explicit `ClearNow`)."""
        if self._path is None:
            return ClearReport(ok=False, error="path not set up")
        self._clears += 1
        first, second = self._order()
        try:
            answers, queries = await read_path(
                self._ref,
                first,
                second,
                self._foreseen.get(first.chain_id, ()),
                self.config.clear_limit,
                self.config.query_timeout,
            )
        except (MeshActorsError, TimeoutError) as exc:
            self._failed_clears += 1
            self._schedule_clear(self.config.retry_delay)
            return ClearReport(ok=False, error=f"{type(exc).__name__}: {exc}")
        self._queries += queries
        self._note_numbers(answers)
        return self._plan_and_submit(first, answers, queries)

    def _plan_and_submit(
        self,
        first: PathEnd,
        answers: tuple[RelayState, RelayState, RelayState],
        queries: int,
    ) -> ClearReport:
        plan = self._plan(first, answers, queries)
        if not plan:
            return _NOTHING_CLEARED
        batches, operations = self._submit(plan)
        if batches and not self.config.subscribe:
            # without notices, what this round started (receives whose acks will need
            # relaying back) is only seen by clearing again
            self._schedule_clear(self.config.retry_delay)
        return ClearReport.model_construct(
            ok=True, batches=batches, operations=operations, error=""
        )

    def _plan(
        self,
        first: PathEnd,
        answers: tuple[RelayState, RelayState, RelayState],
        queries: int,
    ) -> RelayPlan:
        """What a clearing's answers call for (`plan_path`); remembers what to foresee
        at the next clearing."""
        sides = self._path
        assert sides is not None
        a, b = self._a, self._b
        second = b if first.chain_id == a.chain_id else a
        first_pending, first_status, second_answer = answers
        needed = destination_keys(second_answer)
        self._foreseen[first.chain_id] = needed
        self._foreseen[second.chain_id] = destination_keys(first_pending)
        if queries > 2:
            self._ask_b_first = not self._ask_b_first
        if first.chain_id == a.chain_id:
            a_pending, a_status = first_pending, first_status
            b_pending = b_status = second_answer
        else:
            b_pending, b_status = first_pending, first_status
            a_pending = a_status = second_answer
        return plan_path(
            sides[a.chain_id],
            a_pending,
            a_status,
            sides[b.chain_id],
            b_pending,
            b_status,
            relay_filter=self._relay_filter,
        )

    @handler
    def on_clear_tick(self, _: _ClearTick) -> None:
        """Periodic clearing (its read runs in the reader); renews the subscriptions too."""
        self._arm_clear()
        if self._paused:
            return
        self._renew()
        self._start_read(asked=False)

    @handler
    def on_retry_tick(self, _: _RetryTick) -> None:
        """A clearing asked for (retry, handshake step, resume, start)."""
        if self._paused:
            return
        self._renew()
        self._start_read(asked=True)

    @handler
    async def on_clear_now(self, _: ClearNow) -> ClearReport:
        """One clearing now (even while paused: an explicit request)."""
        return await self._clear()

    # -- notices (the fast path) ------------------------------------------------------------

    @handler
    def on_notice(self, notice: IbcBlockNotice) -> None:
        """Forward a block's sent packets and written acks to the other chain."""
        self._notices += 1
        sides = self._path
        if sides is None or notice.chain_id not in sides:
            return
        number = notice.number
        if number:
            last = self._numbers.get(notice.chain_id)
            self._numbers[notice.chain_id] = number
            if last is not None and number != last + 1 and not self._paused:
                # a notice was lost (or the chain restarted): what it carried is found
                # by clearing, now rather than at the next period
                self._wake()
                self._schedule_clear(0.0)
        if self._paused:
            return
        src = sides[notice.chain_id]
        dst = self._facing[notice.chain_id]
        header = notice.header
        # only a handshake or close step (a channel or connection end changed state) needs
        # a clearing now: sent packets and written acks are forwarded below, and client
        # updates are never in a notice; everything else waits for the periodic clearing
        changed = notice.connections_changed
        if notice.activity:
            self._quiet = False  # traffic: a clearing now would likely find work
            self._active_at = self.ctx.clock.now()
            self._wake()
        queue = self._queue
        missing = False
        for activity in notice.activity:
            if activity.connection_id != src.connection_id:
                continue
            changed = changed or activity.changed
            sent = activity.sent
            sent_proofs = activity.sent_proofs
            if sent and sent[0].dest.channel_id:
                if self.config.drop_packets:
                    kept = [i for i, p in enumerate(sent) if self._relay_filter(p)]
                    sent = tuple(sent[i] for i in kept)
                    if sent_proofs:
                        sent_proofs = tuple(sent_proofs[i] for i in kept)
                if sent:
                    recv = RecvPackets.model_construct(
                        packets=sent, proof_height=header.height, proofs=sent_proofs
                    )
                    queue.add(dst.chain_id, sent[0].dest.channel_id, recv, header)
            if activity.acks:  # the form with packets (an older peer's notice)
                channel_id = activity.acks[0].packet.src.channel_id
                ack = AcknowledgePackets.model_construct(
                    acks=activity.acks, proof_height=header.height, proofs=activity.ack_proofs
                )
                queue.add(dst.chain_id, channel_id, ack, header)
            elif activity.ack_sequences and self._forward_acks(
                notice.chain_id, activity, dst.chain_id, header
            ):
                missing = True
        if missing:
            # acks of packets this relayer has no record of: a clearing reads them
            self._schedule_clear(0.0)
        if changed:
            self._schedule_clear(0.0)
        if queue:
            delay = self.config.batch_delay
            if delay <= 0:
                self._flush()
            elif not self.ctx.timers.is_active(_FLUSH):
                self.ctx.timers.send_after(_FLUSH, delay, _FlushTick())

    def _forward_acks(
        self, chain_id: str, activity: ChannelActivity, to_chain: str, header: IbcHeader
    ) -> bool:
        """Queue the acks ``activity`` names by sequence (written on ``chain_id``) for
        ``to_chain``, each with the packet from this relayer's record of it (the record is
        dropped: the ack is on its way, and a lost one is found by clearing). Returns
        whether any had no record."""
        delivered = self._delivered
        channel_id = activity.channel_id
        proofs = activity.ack_proofs
        acks: list[WrittenAck] = []
        kept: list[MembershipProof] = []
        missing = False
        sequences = activity.ack_sequences
        if len(activity.ack_data) != len(sequences) or (proofs and len(proofs) != len(sequences)):
            self._acks_cleared += len(sequences)
            return True  # not in step (a validated notice always is): leave it to clearing
        for index, (sequence, data) in enumerate(zip(sequences, activity.ack_data, strict=True)):
            packet = delivered.pop((chain_id, channel_id, sequence), None)
            if packet is None or packet.dest.port_id != activity.port_id:
                missing = True
                self._acks_cleared += 1
                continue
            acks.append(written_ack(packet, data))
            if proofs:
                kept.append(proofs[index])
        if acks:
            op = AcknowledgePackets.model_construct(
                acks=tuple(acks), proof_height=header.height, proofs=tuple(kept)
            )
            self._queue.add(to_chain, acks[0].packet.src.channel_id, op, header)
        return missing

    def _flush(self) -> None:
        plan, self._queue = self._queue, RelayPlan()
        self._submit(plan)

    @handler
    def on_flush(self, _: _FlushTick) -> None:
        if not self._paused:
            self._flush()

    @handler
    def on_result(self, result: IbcBatchResult) -> None:
        """Count outcomes; any failure brings the next clearing forward."""
        self._results += 1
        failed = bool(result.error)
        for op in result.results:
            if op.items:
                for item in op.items:
                    if item == "ok":
                        self._ok += 1
                    elif item == "noop":
                        self._noop += 1
                    else:
                        self._failed += 1
                        failed = True
            elif op.status == "ok":
                self._ok += 1
            elif op.status == "noop":
                self._noop += 1
            else:
                self._failed += 1
                failed = True
        if failed and not self._paused:
            self._wake()
            self._schedule_clear(self.config.retry_delay)

    # -- client updates without traffic -----------------------------------------------------

    @handler
    def on_update_tick(self, _: _UpdateTick) -> None:
        """Ask the reader for both chains' headers (one read at a time)."""
        if self._paused or self._path is None or self._reader is None:
            return
        if self._reading_headers:
            return
        self._reading_headers = True
        ends = (self._a, self._b)
        self._reader.tell_nowait(
            _ReadHeaders.model_construct(ends=ends, timeout=self.config.query_timeout)
        )

    @handler
    def on_headers_read(self, msg: _HeadersRead) -> None:
        """Update each chain's client of the other with the other's latest header."""
        self._reading_headers = False
        if self._paused or self._path is None:
            return
        me = self._me
        signer = self.config.name
        for chain_id, header in msg.headers:
            # the header of one chain updates the client on the other
            end = self._b if chain_id == self._a.chain_id else self._a
            update = UpdateClient.model_construct(client_id=end.client_id, header=header)
            batch = IbcBatch.model_construct(ops=(update,), reply_to=me, signer=signer)
            self._tell(end.gateway, batch)

    # -- control ----------------------------------------------------------------------------

    @handler
    def on_pause(self, _: PauseRelaying) -> None:
        self._paused = True
        self._queue = RelayPlan()

    @handler
    def on_resume(self, _: ResumeRelaying) -> None:
        self._paused = False
        self._wake()
        self._subscribe()
        self._schedule_clear(0.0)

    @handler
    def on_status(self, _: RelayerStatus) -> RelayerStats:
        return RelayerStats(
            paused=self._paused,
            clears=self._clears,
            failed_clears=self._failed_clears,
            queries=self._queries,
            notices=self._notices,
            batches_sent=self._batches,
            results=self._results,
            items_ok=self._ok,
            items_noop=self._noop,
            items_failed=self._failed,
            in_flight=len(self._delivered),
            acks_cleared=self._acks_cleared,
        )

    # -- setup ------------------------------------------------------------------------------

    async def _header(self, end: PathEnd) -> IbcHeader | None:
        ref = self.ctx.system.ref(end.gateway)
        reply: HeaderReply = await ref.ask(
            QueryHeader(), expect=HeaderReply, timeout=self.config.query_timeout
        )
        return reply.header

    async def _wait_header(self, end: PathEnd) -> IbcHeader:
        poll = self.config.poll_interval
        for _ in range(max(1, int(_SETUP_PATIENCE / poll))):
            header = await self._header(end)
            if header is not None:
                return header
            await self.ctx.clock.sleep(poll)
        raise RelayerSetupError(f"{end.chain_id} never committed a block")

    async def _run(self, end: PathEnd, *ops: Any) -> IbcBatchResult:
        ref = self.ctx.system.ref(end.gateway)
        result: IbcBatchResult = await ref.ask(
            IbcBatch(ops=ops, signer=self.config.name),
            expect=IbcBatchResult,
            timeout=self.config.query_timeout,
        )
        if result.error or any(r.status == "error" for r in result.results):
            raise RelayerSetupError(f"{end.chain_id} refused {ops}: {result}")
        return result

    async def _ask_state(self, end: PathEnd, connection_id: str) -> RelayState:
        ref = self.ctx.system.ref(end.gateway)
        state: RelayState = await ref.ask(
            QueryRelayState(connection_id=connection_id, limit=0),
            expect=RelayState,
            timeout=self.config.query_timeout,
        )
        return state

    async def _wait_connection(
        self, end: PathEnd, connection_id: str, state: ConnectionState
    ) -> tuple[ConnectionView, IbcHeader, MembershipProof | None]:
        poll = self.config.poll_interval
        for _ in range(max(1, int(_SETUP_PATIENCE / poll))):
            answer = await self._ask_state(end, connection_id)
            view = answer.connection
            if view is not None and view.state is state and answer.header is not None:
                return view, answer.header, answer.connection_proof
            await self.ctx.clock.sleep(poll)
        raise RelayerSetupError(f"{connection_id} on {end.chain_id} never reached {state}")

    @handler
    async def on_setup(self, _: SetupPath) -> PathReady:
        """Create the two clients and open the connection (ICS-03), waiting for each step to
        be committed (and so provable) before the next. Raises `RelayerSetupError`. Meant
        to run before faults are injected: a lost answer fails the setup."""
        a, b = self._a, self._b
        a_header = await self._wait_header(a)
        b_header = await self._wait_header(b)
        a_client = (await self._run(a, CreateClient(header=b_header))).results[0].value
        b_client = (await self._run(b, CreateClient(header=a_header))).results[0].value
        init = await self._run(a, ConnOpenInit(client_id=a_client, counterparty_client_id=b_client))
        a_conn = init.results[0].value
        a_view, a_header, a_proof = await self._wait_connection(a, a_conn, ConnectionState.INIT)
        tried = await self._run(
            b,
            UpdateClient(client_id=b_client, header=a_header),
            ConnOpenTry(
                client_id=b_client,
                proof_height=a_header.height,
                counterparty=a_view,
                proof=a_proof,
            ),
        )
        b_conn = tried.results[1].value
        b_view, b_header, b_proof = await self._wait_connection(b, b_conn, ConnectionState.TRYOPEN)
        await self._run(
            a,
            UpdateClient(client_id=a_client, header=b_header),
            ConnOpenAck(
                connection_id=a_conn,
                proof_height=b_header.height,
                counterparty=b_view,
                proof=b_proof,
            ),
        )
        a_view, a_header, a_proof = await self._wait_connection(a, a_conn, ConnectionState.OPEN)
        await self._run(
            b,
            UpdateClient(client_id=b_client, header=a_header),
            ConnOpenConfirm(
                connection_id=b_conn,
                proof_height=a_header.height,
                counterparty=a_view,
                proof=a_proof,
            ),
        )
        await self._wait_connection(b, b_conn, ConnectionState.OPEN)
        self._set_ends(
            a.model_copy(update={"client_id": a_client, "connection_id": a_conn}),
            b.model_copy(update={"client_id": b_client, "connection_id": b_conn}),
        )
        return PathReady(a=self._a, b=self._b)

    @handler
    async def on_open_channel(self, msg: OpenChannel) -> OpenChannelReply:
        """``ChanOpenInit`` on chain a; clearing then completes the handshake."""
        a = self._a
        if not a.connection_id:
            return OpenChannelReply(error="path not set up")
        init = ChanOpenInit(
            port_id=msg.port_a,
            connection_id=a.connection_id,
            counterparty_port_id=msg.port_b,
            ordering=msg.ordering,
            version=msg.version,
        )
        ref = self.ctx.system.ref(a.gateway)
        result: IbcBatchResult = await ref.ask(
            IbcBatch(ops=(init,), signer=self.config.name),
            expect=IbcBatchResult,
            timeout=self.config.query_timeout,
        )
        (outcome,) = result.results or (None,)
        if outcome is None or outcome.status != "ok":
            detail = result.error if outcome is None else f"{outcome.error}: {outcome.detail}"
            return OpenChannelReply(error=detail)
        self._schedule_clear(_POLL_SECONDS)
        return OpenChannelReply(channel_id=outcome.value)
