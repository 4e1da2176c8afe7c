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
  failure, and — for a relayer without notices — ``retry_delay`` after a round that found
  work, so the acks of what it delivered follow): it asks both gateways for their pending
  packets, then for the status on each chain of the other's pending packets, and submits
  what `plan_path` decides: receives, acks, timeouts (by height/time, or on close),
  handshake and close steps, each batch preceded by the client updates its proofs need
  (light-client lag: a proof at height h needs the destination's client to hold the header
  of h first). A relayer started late therefore clears everything pending on its first
  round.
- **Notices** (``subscribe``): the gateways tell it, after each block with IBC activity, the
  packets sent and acks written in it; it forwards them at once (or after ``batch_delay``)
  as receives and acks, with the block's header as the client update. Lost notices are
  caught by the next clearing.
- Batches hold at most ``max_batch`` packets; they are told (not asked) to the channel or
  gateway actor with ``reply_to`` set, so the relayer never blocks on a chain; results come
  back as `IbcBatchResult` and any failure schedules an early clearing (retries).

Control: `PauseRelaying` / `ResumeRelaying`, `ClearNow`, `RelayerStatus`; stop it like any
actor and spawn a new one to restart it (it keeps no state that matters). `SetupPath`
creates the clients and the connection; `OpenChannel` starts a channel handshake.
"""

from __future__ import annotations

import random
from typing import Any

from chains._errors import ChainError
from chains._ibc_msgs import (
    AcknowledgePackets,
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
    QueryHeader,
    QueryRelayState,
    RecvPackets,
    RelayState,
    Subscribe,
    UpdateClient,
)
from chains._ibc_types import IbcPacket
from chains._relay_plan import GATEWAY, PathSide, RelayPlan, destination_keys, plan_path
from chains._relayer_msgs import (
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
    SetupPath,
)
from mesh_actors import Actor, MailboxConfig, MeshActorsError, Message, handler

__all__ = ["Relayer", "RelayerMsg", "RelayerSetupError"]

_CLEAR = "clear"
_RETRY = "retry"
_FLUSH = "flush"
_UPDATE = "update"
_POLL_SECONDS = 0.5
_SETUP_POLLS = 1000


class RelayerSetupError(ChainError):
    """`SetupPath` or `OpenChannel` could not complete (a gateway refused a step)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class _ClearTick(Message):
    type_name = "relayer.tick.clear"


class _FlushTick(Message):
    type_name = "relayer.tick.flush"


class _UpdateTick(Message):
    type_name = "relayer.tick.update"


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
)


class Relayer(Actor[RelayerMsg]):
    """A relayer of one path (see the module docstring and `RelayerConfig`)."""

    mailbox = MailboxConfig(capacity=100_000)

    def __init__(self, config: RelayerConfig) -> None:
        self.config = config
        self._ends = {config.a.chain_id: config.a, config.b.chain_id: config.b}
        self._a = config.a
        self._b = config.b
        self._paused = False
        self._queue = RelayPlan()
        self._rng = random.Random(f"{config.seed}:{config.name}")
        self._clears = 0
        self._failed_clears = 0
        self._notices = 0
        self._batches = 0
        self._results = 0
        self._ok = 0
        self._noop = 0
        self._failed = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Subscribe to both gateways, clear at once, then periodically."""
        config = self.config
        self._subscribe()
        timers = self.ctx.timers
        timers.send_periodic(_CLEAR, config.clear_interval, _ClearTick())
        timers.send_after(_RETRY, 0.0, _ClearTick())
        if config.client_update_interval is not None:
            timers.send_periodic(_UPDATE, config.client_update_interval, _UpdateTick())

    def _subscribe(self) -> None:
        config = self.config
        if not config.subscribe:
            return
        me = str(self.ctx.self_ref.address)
        lease = config.clear_interval * 3
        for end in (self._a, self._b):
            self._tell(end.gateway, Subscribe(subscriber=me, lease=lease))

    def _tell(self, address: str, message: Any) -> None:
        try:
            self.ctx.system.ref(address).tell_nowait(message)
        except Exception as exc:  # the transport may refuse (closed, unknown system)
            self.ctx.log.debug("not sent", to=address, error=repr(exc))

    def _sides(self) -> dict[str, PathSide] | None:
        a, b = self._a, self._b
        if not (a.client_id and a.connection_id and b.client_id and b.connection_id):
            return None
        return {
            a.chain_id: PathSide(a.chain_id, a.client_id, a.connection_id),
            b.chain_id: PathSide(b.chain_id, b.client_id, b.connection_id),
        }

    def _relay_filter(self, packet: IbcPacket) -> bool:
        drop = self.config.drop_packets
        if not drop:
            return True
        # decided per packet, the same way at every clearing and for every incarnation
        key = f"{self.config.seed}:{packet.src.channel_id}:{packet.sequence}"
        return random.Random(key).random() >= drop

    # -- submitting -------------------------------------------------------------------------

    def _submit(self, plan: RelayPlan) -> tuple[int, int]:
        sides = self._sides()
        if sides is None or not plan:
            return 0, 0
        me = str(self.ctx.self_ref.address)
        config = self.config
        batches = operations = 0
        for chain_id, actor, ops in plan.batches(sides, config.max_batch):
            gateway = self._ends[chain_id].gateway
            address = gateway if actor == GATEWAY else f"{gateway}/{actor}"
            batch = IbcBatch.model_construct(ops=ops, reply_to=me, signer=config.name)
            self._tell(address, batch)
            if config.duplicate and self._rng.random() < config.duplicate:
                self._tell(address, batch)
            batches += 1
            operations += len(ops)
        self._batches += batches
        return batches, operations

    def _schedule_clear(self, delay: float) -> None:
        timers = self.ctx.timers
        if not timers.is_active(_RETRY):
            timers.send_after(_RETRY, delay, _ClearTick())

    # -- clearing ---------------------------------------------------------------------------

    async def _query(self, end: PathEnd, query: QueryRelayState) -> RelayState:
        ref = self.ctx.system.ref(end.gateway)
        state: RelayState = await ref.ask(
            query, expect=RelayState, timeout=self.config.query_timeout
        )
        return state

    async def _clear(self) -> ClearReport:
        sides = self._sides()
        if sides is None:
            return ClearReport(ok=False, error="path not set up")
        self._clears += 1
        a, b = self._a, self._b
        limit = self.config.clear_limit
        try:
            a_pending = await self._query(
                a, QueryRelayState(connection_id=a.connection_id, limit=limit)
            )
            b_pending = await self._query(
                b, QueryRelayState(connection_id=b.connection_id, limit=limit)
            )
            a_status = await self._query(
                a,
                QueryRelayState(
                    connection_id=a.connection_id, limit=limit, keys=destination_keys(b_pending)
                ),
            )
            b_status = await self._query(
                b,
                QueryRelayState(
                    connection_id=b.connection_id, limit=limit, keys=destination_keys(a_pending)
                ),
            )
        except (MeshActorsError, TimeoutError) as exc:
            self._failed_clears += 1
            self._schedule_clear(self.config.retry_delay)
            return ClearReport(ok=False, error=f"{type(exc).__name__}: {exc}")
        plan = plan_path(
            sides[a.chain_id],
            a_pending,
            a_status,
            sides[b.chain_id],
            b_pending,
            b_status,
            relay_filter=self._relay_filter,
        )
        batches, operations = self._submit(plan)
        if batches and not self.config.subscribe:
            # without notices, what this round started (receives whose acks will need
            # relaying back) is only seen by clearing again
            self._schedule_clear(self.config.retry_delay)
        return ClearReport(ok=True, batches=batches, operations=operations)

    @handler
    async def on_clear_tick(self, _: _ClearTick) -> None:
        """Periodic (and retry) clearing; renews the subscriptions too."""
        if self._paused:
            return
        self._subscribe()
        await self._clear()

    @handler
    async def on_clear_now(self, _: ClearNow) -> ClearReport:
        """One clearing now (even while paused: an explicit request)."""
        return await self._clear()

    # -- notices (the fast path) ------------------------------------------------------------

    @handler
    def on_notice(self, notice: IbcBlockNotice) -> None:
        """Forward a block's sent packets and written acks to the other chain."""
        self._notices += 1
        if self._paused:
            return
        sides = self._sides()
        if sides is None or notice.chain_id not in sides:
            return
        src = sides[notice.chain_id]
        dst = next(side for chain_id, side in sides.items() if chain_id != notice.chain_id)
        header = notice.header
        changed = notice.connections_changed
        queue = self._queue
        for activity in notice.activity:
            if activity.connection_id != src.connection_id:
                continue
            changed = changed or activity.changed
            sent = activity.sent
            if sent and sent[0].dest.channel_id:
                if self.config.drop_packets:
                    sent = tuple(p for p in sent if self._relay_filter(p))
                if sent:
                    recv = RecvPackets.model_construct(packets=sent, proof_height=header.height)
                    queue.add(dst.chain_id, sent[0].dest.channel_id, recv, header)
            if activity.acks:
                channel_id = activity.acks[0].packet.src.channel_id
                ack = AcknowledgePackets.model_construct(
                    acks=activity.acks, proof_height=header.height
                )
                queue.add(dst.chain_id, channel_id, ack, header)
        if changed:
            self._schedule_clear(0.0)
        if queue:
            delay = self.config.batch_delay
            if delay <= 0:
                self._flush()
            elif not self.ctx.timers.is_active(_FLUSH):
                self.ctx.timers.send_after(_FLUSH, delay, _FlushTick())

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
            self._schedule_clear(self.config.retry_delay)

    # -- client updates without traffic -----------------------------------------------------

    @handler
    async def on_update_tick(self, _: _UpdateTick) -> None:
        sides = self._sides()
        if self._paused or sides is None:
            return
        for end, other in ((self._a, self._b), (self._b, self._a)):
            try:
                header = await self._header(other)
            except (MeshActorsError, TimeoutError):
                continue
            if header is not None:
                update = UpdateClient(client_id=end.client_id, header=header)
                batch = IbcBatch(ops=(update,), reply_to=str(self.ctx.self_ref.address))
                self._tell(end.gateway, batch)

    # -- control ----------------------------------------------------------------------------

    @handler
    def on_pause(self, _: PauseRelaying) -> None:
        self._paused = True
        self._queue = RelayPlan()

    @handler
    def on_resume(self, _: ResumeRelaying) -> None:
        self._paused = False
        self._subscribe()
        self._schedule_clear(0.0)

    @handler
    def on_status(self, _: RelayerStatus) -> RelayerStats:
        return RelayerStats(
            paused=self._paused,
            clears=self._clears,
            failed_clears=self._failed_clears,
            notices=self._notices,
            batches_sent=self._batches,
            results=self._results,
            items_ok=self._ok,
            items_noop=self._noop,
            items_failed=self._failed,
        )

    # -- setup ------------------------------------------------------------------------------

    async def _header(self, end: PathEnd) -> IbcHeader | None:
        ref = self.ctx.system.ref(end.gateway)
        reply: HeaderReply = await ref.ask(
            QueryHeader(), expect=HeaderReply, timeout=self.config.query_timeout
        )
        return reply.header

    async def _wait_header(self, end: PathEnd) -> IbcHeader:
        for _ in range(_SETUP_POLLS):
            header = await self._header(end)
            if header is not None:
                return header
            await self.ctx.clock.sleep(_POLL_SECONDS)
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

    async def _wait_connection(
        self, end: PathEnd, connection_id: str, state: ConnectionState
    ) -> tuple[ConnectionView, IbcHeader]:
        for _ in range(_SETUP_POLLS):
            answer = await self._query(end, QueryRelayState(connection_id=connection_id, limit=0))
            view = answer.connection
            if view is not None and view.state is state and answer.header is not None:
                return view, answer.header
            await self.ctx.clock.sleep(_POLL_SECONDS)
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
        a_view, a_header = await self._wait_connection(a, a_conn, ConnectionState.INIT)
        tried = await self._run(
            b,
            UpdateClient(client_id=b_client, header=a_header),
            ConnOpenTry(client_id=b_client, proof_height=a_header.height, counterparty=a_view),
        )
        b_conn = tried.results[1].value
        b_view, b_header = await self._wait_connection(b, b_conn, ConnectionState.TRYOPEN)
        await self._run(
            a,
            UpdateClient(client_id=a_client, header=b_header),
            ConnOpenAck(connection_id=a_conn, proof_height=b_header.height, counterparty=b_view),
        )
        a_view, a_header = await self._wait_connection(a, a_conn, ConnectionState.OPEN)
        await self._run(
            b,
            UpdateClient(client_id=b_client, header=a_header),
            ConnOpenConfirm(
                connection_id=b_conn, proof_height=a_header.height, counterparty=a_view
            ),
        )
        await self._wait_connection(b, b_conn, ConnectionState.OPEN)
        self._a = a.model_copy(update={"client_id": a_client, "connection_id": a_conn})
        self._b = b.model_copy(update={"client_id": b_client, "connection_id": b_conn})
        self._ends = {self._a.chain_id: self._a, self._b.chain_id: self._b}
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
