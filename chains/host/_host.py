"""The chain host actor: the serial sequencer of one chain.

One `ChainHost` per chain. Its mailbox *is* the chain's transaction queue: it handles one
message at a time, in arrival order, so transactions execute one after another as on a real
chain (ARCHITECTURE rule 2). It holds the chain's `TxExecutor` and runs each transaction as
one atomic unit there, publishes the committed events on the chain's event stream, and
spawns a `ContractActor` for every contract a committed unit instantiated.

**Blocks come from the clock.** A periodic timer (``ctx.timers.send_periodic``) ticks every
``block_time`` clock seconds; each tick ends block ``h`` (staking end-block, module
end-blockers and their sudo calls) and begins ``h + 1`` (distribution and slashing, then
module begin-blockers; consumer.md C-10). Transactions arriving between two ticks run in the
current block. Block time is ``first_block_time + floor(clock seconds since start)`` (plus the
shift `ProduceBlocks` adds), in whole seconds, forced to increase strictly.

**Inside a transaction the host calls contract cores synchronously**, not through their
actors: the chain is serial, so a mailbox hop per step of a cascade would add latency and
nothing else, and atomicity (roll back everything a failed unit touched, P-2) is the store's
job, which only works if the whole cascade runs inside one synchronous unit.

**Lazy blocks** (``BlockClock.lazy``, on a `VirtualClock`; the mesh uses them): instead of a
timer message per block, the host registers a `ClockDriver` with the clock. Whenever virtual
time moves, the driver first produces every block whose tick time has been reached, with
exactly the times the timer would have given them, before anything else runs at the new time;
and the clock stops at a tick only if that block boundary is *due* — it may do something
another party could observe (`TxExecutor.block_due`: a transaction ran in the block, an epoch
or valset task, an active-set change, a maturity, liveness work, IBC activity to announce,
or a module that cannot tell). An idle block is thus produced only when time moves past it
anyway, several in one go, without a message, a mailbox turn or a clock stop of its own;
anything that reads the chain at some time (a relayer's query, a transaction) sees it with
every block up to that time produced, as before. The state after every block is the same as
with the timer (the tests compare state dumps). One ordering differs: a block boundary and a
message that reach the chain at exactly the same virtual instant now always run block first
(with the timer, a message whose own timer was set earlier, a network delay say, came
first). If a host dies without stopping (so without unregistering its driver), its chain's
blocks go on being produced on the clock.

**Faults** (the chaos runs' hooks, through the `Chain` handle): a *halted* chain
(`BlockClock.halted`) produces no block and refuses every transaction with `ChainHalted`
(reads still answer, from the last state); when it resumes, the next block comes one block
time later with the clock's time then, so chain time jumps over the halt as a real chain's
does. A *skewed* chain's block times run ``offset`` seconds ahead of the clock (and
``drift`` faster). A *crashed* chain's host is stopped (queued transactions fail with
`ActorTerminated`) and a fresh host restarted over the same executor.

`ProduceBlocks` is an explicit fast path for tests and benchmarks: it produces blocks in one
step without waiting on the clock, one block time apart in chain time, and shifts the
chain's time mapping accordingly (chain time then runs ahead of the clock by that much; in a
multi-chain run, advance the shared clock instead).

The executor lives outside the actor instance, so if the host ever restarts (supervision) the
chain's state, height and time carry on.

**Durable state** (``_durable.py``, `Chain.attach_store`): with a store attached, every block
boundary (a tick, each block of `ProduceBlocks`, a lazy run produced in one step) ends with the
store's commit, after the next block has begun (in ``_after_block``), so the file always holds
the state at the last boundary. A failing commit raises out of the boundary (the noted changes
are kept, the next commit retries them).

**Trust** (ARCHITECTURE rule 3, issue 13). A `SignedTx` is always verified, wherever it comes
from: the host checks chain id, key, account sequence and signature (`verify_tx`) and that
the body is in the signer's name, then uses up the sequence *before* the transaction's
savepoint (so a transaction whose body fails cannot be replayed) and runs the body as the
signer (`chains.host._signed`). Everything else is trusted only from the host's own
process: an unsigned transaction that came in through the transport (``ctx.remote``: the
receiving actor system marks what its transport delivers, a frame cannot claim otherwise) is
refused with `Unauthorized` without running anything, as are the administration and read
messages (`RunUnit`, `ReadState`, ... carry callables, which the JSON codec cannot decode in
the first place) and `ProduceBlocks` (nothing produced); block ticks from outside are
ignored. Answers to another actor system are `RemoteTxResult` (a `TxResult` does not cross
the wire). Calls from the embedder's process (the `Chain` handle, the mesh, the IBC components)
skip verification: that process holds the keys and runs the chain, so a signature would
only cost time there (``python -m benchmarks auth`` measures both paths).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, overload

from chains.contract._errors import ChainError, Unauthorized, UnsupportedMessage
from chains.contract._signing import SignedTx, verify_tx
from chains.host._contract_actor import ContractActor
from chains.host._durable import attach_store
from chains.host._errors import ChainHalted, InternalError, InvalidComponent, ModulePanic
from chains.host._events import ChainEvent
from chains.host._executor import TxExecutor
from chains.host._msgs import (
    AddModule,
    AttachStore,
    BlockTick,
    ExecuteTx,
    GovExecuteTx,
    GovSudoTx,
    HostMsg,
    HostTx,
    InstantiateTx,
    ProduceBlocks,
    ReadState,
    RegisterCode,
    RunUnit,
    SpawnComponent,
    SubmitTx,
    SudoTx,
    TxBatch,
)
from chains.host._signed import decode_signed_body
from chains.host._tx_result import BlockResult, QueryResult, RemoteTxResult, TxResult
from mesh_actors import (
    Actor,
    ActorRef,
    EventStream,
    MailboxConfig,
    NameTaken,
    VirtualClock,
    handler,
    run_handler,
)

__all__ = ["BlockClock", "ChainHost"]

_BLOCK_TIMER = "block"


def _not_a_transaction(tx: object) -> None:
    raise UnsupportedMessage("transaction", type(tx).__name__)


@dataclass
class BlockClock:
    """Maps the actor clock to block time; kept outside the actor so it survives restarts.

    ``origin`` is the clock reading when block 1 began (``None`` before the host started);
    ``offset`` is the chain-time shift added by `ProduceBlocks` and by clock skew
    (`Chain.skew_clock`); ``drift`` is a skewed chain's extra block-time seconds per clock
    second (``0.01``: its clock runs 1 % fast). ``lazy`` asks for lazy block production on
    a `VirtualClock` (see the module docstring; ignored on other clocks); ``driver`` is
    then the host's clock driver, kept here so that it survives restarts. ``halted``: no
    block is produced and transactions are refused (`Chain.halt`).
    """

    first_block_time: int
    block_time: float
    origin: float | None = None
    offset: int = 0
    lazy: bool = False
    driver: _BlockDriver | None = field(default=None, repr=False, compare=False)
    halted: bool = False
    drift: float = 0.0

    @property
    def step(self) -> int:
        """Whole seconds between blocks produced without the clock (at least 1)."""
        return max(1, int(self.block_time))

    def time_at(self, now: float, last: int) -> int:
        """Block time for a block beginning at clock ``now``, after a block at ``last``."""
        mapped = self.mapped(now)
        return mapped if mapped > last else last + 1

    def mapped(self, now: float) -> int:
        """Chain time at clock ``now`` before it is forced to increase (see `time_at`)."""
        assert self.origin is not None
        elapsed = now - self.origin
        if self.drift:
            elapsed *= 1.0 + self.drift
        return self.first_block_time + math.floor(elapsed) + self.offset


class _IdleTimes(Sequence[int]):
    """The block times of a run of ticks ``tick0, tick0 + interval, ...`` in closed form,
    O(1) per item and in all (`_BlockDriver` hands it to `TxExecutor.fast_forward`, which
    reads the first, the last and a few more): the same values as mapping each tick with
    `BlockClock.time_at` in turn.

    Only for whole-second intervals and ticks (`of` checks), where the tick sums are exact
    floats (so equal to the timer's repeated additions) and the mapped time grows by at
    least 1 per tick, which makes the forced increments of `BlockClock.time_at` a closed
    form: time ``i`` is ``max(mapped(tick i), last + 1 + i)``.
    """

    __slots__ = ("_block", "_count", "_last", "_tick0", "end_tick")

    def __init__(self, block: BlockClock, tick0: float, last: int, count: int) -> None:
        self._block = block
        self._tick0 = tick0
        self._last = last
        self._count = count
        self.end_tick = tick0 + count * block.block_time

    @classmethod
    def of(cls, block: BlockClock, tick0: float, last: int, until: float) -> _IdleTimes | None:
        """The run of ticks from ``tick0`` up to ``until`` (inclusive), or ``None`` where the
        closed form does not apply (fractional interval or tick, huge values)."""
        interval = block.block_time
        # a drifting clock (clock skew faults) maps ticks through a float product: no
        # closed form, each tick is mapped in turn
        exact = (
            not block.drift
            and interval >= 1
            and interval.is_integer()
            and float(tick0).is_integer()
        )
        if not exact or not abs(tick0) < 2**50 or not abs(until) < 2**50:
            return None
        if until < tick0:
            return cls(block, tick0, last, 0)
        count = int((until - tick0) // interval) + 1
        # exact integers from here on: correct a rounding of the division either way
        while count > 0 and tick0 + (count - 1) * interval > until:
            count -= 1
        while tick0 + count * interval <= until:
            count += 1
        return cls(block, tick0, last, count)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        block = self._block
        return max(block.mapped(self._tick0 + index * block.block_time), self._last + 1 + index)


class _BlockDriver:
    """Produces a host's blocks on a `VirtualClock` (lazy blocks, see the module docstring).

    ``next_tick`` is the clock time of the next block boundary, advanced by ``block_time``
    per tick exactly as the periodic timer advances its deadline.
    """

    __slots__ = ("_cache", "clock", "host", "next_tick")

    def __init__(self, host: ChainHost, clock: VirtualClock, next_tick: float) -> None:
        self.host = host
        self.clock = clock
        self.next_tick = next_tick
        self._cache: tuple[tuple[int, int, int], bool, float | None] | None = None

    def next_deadline(self) -> float | None:
        """The next tick if it is due, else the earliest time worth looking again (a lower
        bound of the next due tick, from the executor's schedule), else ``None`` (also
        while the chain is halted)."""
        if self.host._clock.halted:
            return None
        return self._schedule()[1]

    def _schedule(self) -> tuple[bool, float | None]:
        # whether the next tick is due, and the deadline: cached on what they depend on,
        # (height, units in the block, schedule version)
        executor = self.host._executor
        key = (executor.height, executor.tx_index, executor.schedule_version)
        cache = self._cache
        if cache is not None and cache[0] == key:
            return cache[1], cache[2]
        due = executor.next_due()
        now_due = executor.is_due(due)
        deadline = self.next_tick if now_due else self._look_again(due)
        self._cache = (key, now_due, deadline)
        return now_due, deadline

    def _look_again(self, due: tuple[int | None, int | None]) -> float | None:
        # the next tick is not due: a lower bound of the next due tick's time (``None``:
        # nothing scheduled)
        executor = self.host._executor
        height, time_s = due
        block = self.host._clock
        interval = block.block_time
        candidates: list[float] = []
        if height is not None:
            # the tick ending ``height``; stop half a block early, then look again
            ticks = height - executor.height + 1
            candidates.append(self.next_tick + (ticks - 1) * interval - interval / 2)
        if time_s is not None and block.origin is not None:
            # block time reaches ``time_s`` about there (margin: forced increments, rounding)
            mapped = block.origin + (time_s - block.first_block_time - block.offset)
            candidates.append(mapped - 2 * interval)
        if not candidates:
            return None
        # the earliest a due tick can be is the one after the next
        return max(min(candidates), self.next_tick + interval / 2)

    def advance_to(self, now: float) -> None:
        """Produce every block whose tick time is ``<= now``: a due boundary as the timer
        would, a run of idle ones in one step (`TxExecutor.fast_forward`) where it can.

        Never raises (it runs in the clock's task): an error is logged and the ticks up to
        ``now`` are dropped, as a failing timer tick would be.
        """
        if self.next_tick > now or self.host._clock.halted:
            return
        try:
            self._produce(now)
        except Exception as exc:
            self.host.ctx.log.error("block production failed", error=repr(exc))
            interval = self.host._clock.block_time
            while self.next_tick <= now:
                self.next_tick += interval
            self._cache = None

    def _produce(self, now: float) -> None:
        host = self.host
        executor = host._executor
        block = host._clock
        interval = block.block_time
        plain = False  # after a failed fast-forward: one plain tick first, then retry
        while self.next_tick <= now:
            due, bound = self._schedule()
            if plain or due:
                host._tick(self.next_tick)
                self.next_tick += interval
                plain = False
                continue
            # the idle ticks: up to ``now``, and before the next one that may be due
            if bound is None:
                bound = math.inf
            tick = self.next_tick
            last = executor.time_s
            times: Sequence[int]
            closed = _IdleTimes.of(block, tick, last, min(now, math.nextafter(bound, -math.inf)))
            if closed is not None:
                times = closed
                tick = closed.end_tick
            else:
                listed: list[int] = []
                while tick <= now and tick < bound:
                    last = block.time_at(tick, last)
                    listed.append(last)
                    tick += interval
                times = listed
            if len(times) > 1:
                result = executor.fast_forward(times)
                if result is not None:
                    host._after_block(result)
                    self.next_tick = tick
                    continue
            plain = True

    def invalidate(self) -> None:
        """Forget the cached deadline (the executor's schedule may have changed)."""
        self._cache = None


class ChainHost(Actor[HostMsg]):
    """The serial sequencer of one chain (see the module docstring)."""

    # a chain's queue: bursts of transactions wait here rather than push back on senders
    mailbox = MailboxConfig(capacity=1_000_000)

    def __init__(
        self,
        executor: TxExecutor,
        events: EventStream[ChainEvent],
        clock: BlockClock,
        components: dict[str, SpawnComponent] | None = None,
    ) -> None:
        self._executor = executor
        self._events = events
        # events committed by this run of messages, published by `on_drained` (see there)
        self._pending: list[ChainEvent] = []
        self._clock = clock
        # owned by the `Chain`, like the clock, so it outlives restarts of this actor
        self._components = components if components is not None else {}
        self._runners: dict[type[Any], Callable[[Any], TxResult]] = {
            SubmitTx: self._submit,
            ExecuteTx: self._execute,
            InstantiateTx: self._instantiate,
            SudoTx: self._sudo,
            GovExecuteTx: self._gov_execute,
            GovSudoTx: self._gov_sudo,
            RunUnit: self._run_unit,
        }

    async def on_start(self) -> None:
        """Begin block 1 (first start only), spawn the contract actors, start the block
        timer. Runs in the host's task; if it raises, the host's supervisor decides."""
        executor = self._executor
        clock = self._clock
        if clock.origin is None:
            clock.origin = self.ctx.clock.now()
            self._after_block(executor.begin_block(clock.first_block_time))
        for info in executor.contracts():
            self._spawn_contract(info.address)
        for component in self._components.values():
            self._spawn_component(component)
        self._start_timer()

    async def on_stop(self) -> None:
        """Stop producing blocks (lazy blocks: unregister the clock driver)."""
        driver = self._clock.driver
        if driver is not None and driver.host is self:
            driver.clock.remove_driver(driver)
            self._clock.driver = None

    def _start_timer(self) -> None:
        """Start (or re-anchor) block production: the next tick one block time from now."""
        clock = self._clock
        system_clock = self.ctx.clock
        if clock.lazy and isinstance(system_clock, VirtualClock):
            next_tick = system_clock.now() + clock.block_time
            driver = clock.driver
            if driver is None:
                driver = clock.driver = _BlockDriver(self, system_clock, next_tick)
                system_clock.add_driver(driver)
            else:
                # a restarted host takes over its predecessor's driver
                driver.host = self
                driver.next_tick = next_tick
                driver.invalidate()
                system_clock.driver_changed()
            return
        self.ctx.timers.send_periodic(_BLOCK_TIMER, clock.block_time, BlockTick())

    def _tick(self, now: float) -> None:
        # one block boundary at clock time ``now``: what a timer tick does (lazy blocks)
        executor = self._executor
        self._after_block(executor.end_block())
        self._after_block(executor.begin_block(self._clock.time_at(now, executor.time_s)))

    # -- blocks ---------------------------------------------------------------------------

    @handler
    def on_tick(self, _: BlockTick) -> None:
        """End the current block and begin the next at the clock's time (C-10); a tick from
        another actor system is ignored."""
        if self.ctx.remote:
            self.ctx.log.warning("remote block tick ignored")
            return
        if self._clock.halted:
            return
        executor = self._executor
        self._after_block(executor.end_block())
        time_s = self._clock.time_at(self.ctx.clock.now(), executor.time_s)
        self._after_block(executor.begin_block(time_s))

    @handler
    def on_produce_blocks(self, msg: ProduceBlocks) -> int:
        """Produce ``count`` blocks now, ``step`` seconds apart; return the new height (from
        another actor system: nothing is produced, the height is returned as it is)."""
        if msg.count == 0 or self.ctx.remote or self._clock.halted:
            return self._executor.height
        executor = self._executor
        clock = self._clock
        step = clock.step
        for _ in range(msg.count):
            self._after_block(executor.end_block())
            self._after_block(executor.begin_block(executor.time_s + step))
        # re-anchor the time mapping so the next tick is one block time after this block
        assert clock.origin is not None
        now = self.ctx.clock.now()
        clock.offset = executor.time_s - clock.first_block_time - math.floor(now - clock.origin)
        self._start_timer()
        return executor.height

    def _after_block(self, result: BlockResult) -> None:
        # called after each end-block and each begin-block (or run of idle blocks): a
        # block boundary is complete once the next block has begun, which is when a
        # durable store commits it
        executor = self._executor
        if executor.block_open:
            if executor.durable is not None:
                executor.durable.commit(executor)
            elif executor.committed is not None:
                executor.committed.commit(executor)
        for name, error in result.failures:
            self.ctx.log.warning(
                "block hook failed", hook=name, height=result.height, error=str(error)
            )
        for sudo in result.sudo_results:
            if sudo.contracts:
                self._spawn_contracts(sudo.contracts)
        if result.events:
            self._publish(result.events)

    def _publish(self, events: Sequence[ChainEvent]) -> None:
        # every publication but the deferred ones: what was deferred comes first (in order)
        pending = self._pending
        if pending:
            self._events.publish_all(pending)
            pending.clear()
        self._events.publish_all(events)

    def on_drained(self) -> None:
        """Publish the events the run of messages just handled committed (`on_submit` and
        `on_batch` defer them here): one publication per run rather than one per
        transaction. No subscriber can run before the host's task yields, which it does
        only after this, so subscribers see the same events in the same order."""
        pending = self._pending
        if pending:
            self._events.publish_all(pending)
            pending.clear()

    # -- transactions ---------------------------------------------------------------------

    def _schedule_changed(self) -> None:
        # lazy blocks: a unit ran (this block's end is due now) or a module came: the
        # driver's cache sees it, the clock must look again if it waits for a deadline
        driver = self._clock.driver
        if driver is not None:
            driver.clock.driver_changed()

    def _after_tx(self, result: TxResult) -> TxResult:
        # `on_submit` has this inline
        driver = self._clock.driver
        if driver is not None:
            driver.clock.driver_changed()  # `_schedule_changed`
        if result.contracts:
            self._spawn_contracts(result.contracts)
        if result.events:
            self._publish(result.events)
        return result

    def _execute(self, tx: ExecuteTx) -> TxResult:
        return self._executor.execute(tx.sender, tx.contract, tx.msg, tx.funds)

    def _submit(self, tx: SubmitTx) -> TxResult:
        return self._executor.submit(tx.sender, tx.msg)

    def _instantiate(self, tx: InstantiateTx) -> TxResult:
        return self._executor.instantiate(tx.sender, tx.code, tx.msg, tx.funds, tx.label, tx.admin)

    def _sudo(self, tx: SudoTx) -> TxResult:
        return self._executor.sudo(tx.contract, tx.msg)

    def _gov_execute(self, tx: GovExecuteTx) -> TxResult:
        return self._executor.gov_execute(tx.authority, tx.contract, tx.msg, tx.funds)

    def _gov_sudo(self, tx: GovSudoTx) -> TxResult:
        return self._executor.gov_sudo(tx.authority, tx.contract, tx.msg)

    def _run_unit(self, tx: RunUnit) -> TxResult:
        return self._executor.run(partial(tx.body, self._executor))

    def _refused(self, error: ChainError) -> TxResult:
        # a transaction refused before it ran: nothing executed, no unit index used
        executor = self._executor
        return TxResult(
            ok=False,
            data=None,
            error=error,
            events=(),
            contracts=(),
            height=executor.height,
            time=executor.time_s,
            tx_index=executor.tx_index,
        )

    @handler
    def on_submit(self, tx: SubmitTx) -> TxResult | RemoteTxResult:
        """`on_tx` for a `SubmitTx` (a bank send, a delegation, ...): the most common
        transaction has its own handler, with `_after_tx` inline (the same steps)."""
        if self.ctx.remote:
            return RemoteTxResult.of(self._refused(Unauthorized()))
        clock = self._clock
        if clock.halted:
            return self._refused(ChainHalted(self._executor.chain_id))
        result = self._executor.submit(tx.sender, tx.msg)
        driver = clock.driver
        if driver is not None:
            driver.clock.driver_changed()  # `_schedule_changed`
        if result.contracts:
            self._spawn_contracts(result.contracts)
        if result.events:
            self._pending.extend(result.events)  # published by `on_drained`
        return result

    @run_handler(SubmitTx)
    def on_submit_run(self, run: deque[SubmitTx]) -> None:
        """A run of consecutive `SubmitTx` tells from one sender (the runtime gathers it,
        see `run_handler`), executed as `on_submit` would one by one, as a group commit:
        each transaction is its own unit (savepoint, result, events) in order, the events
        published together by `on_drained` and the clock told once. Their results are
        dropped (tells); from another actor system or on a halted chain nothing runs, as
        `on_submit` refuses each."""
        if self.ctx.remote or self._clock.halted:
            run.clear()
            return
        submit = self._executor.submit
        pending = self._pending
        take = run.popleft
        try:
            while run:
                tx = take()
                result = submit(tx.sender, tx.msg)
                if result.contracts:
                    self._spawn_contracts(result.contracts)
                if result.events:
                    pending.extend(result.events)  # published by `on_drained`
        finally:
            # what committed is announced even if a transaction fails the handler
            driver = self._clock.driver
            if driver is not None:
                driver.clock.driver_changed()  # `_schedule_changed`

    @handler(ExecuteTx, InstantiateTx, SudoTx, GovExecuteTx, GovSudoTx, RunUnit)
    def on_tx(self, tx: HostTx) -> TxResult | RemoteTxResult:
        """Run one transaction as an atomic unit in the current block (from another actor
        system: refused with `Unauthorized`, answered as a `RemoteTxResult`; it must come
        as a `SignedTx`)."""
        if self.ctx.remote:
            return RemoteTxResult.of(self._refused(Unauthorized()))
        if self._clock.halted:
            return self._refused(ChainHalted(self._executor.chain_id))
        return self._after_tx(self._runners[type(tx)](tx))

    @handler
    def on_signed(self, tx: SignedTx) -> TxResult | RemoteTxResult:
        """Verify a signed transaction and run its body as the signer (module docstring).

        Refused without running, as a failed `TxResult`: `WrongChain`, `Unauthorized` (a
        key that is not the sender's, or a body whose sender or authority is not the
        signer), `SequenceMismatch`, `InvalidSignature`, `UnsupportedMessage` (a body that
        is not a signable transaction). Only the first three leave the sequence unused.
        """
        executor = self._executor
        if self._clock.halted:
            result = self._refused(ChainHalted(executor.chain_id))
            return RemoteTxResult.of(result) if self.ctx.remote else result
        sequences = executor.sequences
        try:
            # `authenticate_tx` in two halves, so that a body in someone else's name is
            # refused before the signer's sequence is used (Cosmos checks the signers
            # before it increments); both outside the unit's savepoint, so the sequence
            # stays used whatever the body then does
            verify_tx(
                tx,
                chain_id=executor.chain_id,
                sequence=sequences.get(tx.sender),
                prefix=executor.prefix,
            )
            body = decode_signed_body(tx, tx.sender)
            sequences.advance(tx.sender)
        except ChainError as exc:
            result = self._refused(exc)
        else:
            result = self._after_tx(self._runners[type(body)](body))
        return RemoteTxResult.of(result) if self.ctx.remote else result

    @handler
    def on_batch(self, batch: TxBatch) -> tuple[TxResult, ...]:
        """Run each transaction of the batch as its own unit, in order (from another actor
        system: each refused with `Unauthorized`)."""
        if self.ctx.remote:
            return tuple(self._refused(Unauthorized()) for _ in batch.txs)
        if self._clock.halted:
            halted = ChainHalted(self._executor.chain_id)
            return tuple(self._refused(halted) for _ in batch.txs)
        # each transaction as `on_tx` runs it, with `_after_tx`'s steps where they are
        # cheaper: the clock is told once, and the batch's events are published by
        # `on_drained` (no subscriber can run before then, so it sees the same sequence)
        submit = self._executor.submit
        runners = self._runners
        results: list[TxResult] = []
        published = self._pending
        try:
            for tx in batch.txs:
                if type(tx) is SubmitTx:
                    result = submit(tx.sender, tx.msg)
                else:
                    runner = runners.get(type(tx))
                    if runner is None:
                        # only reachable through an unvalidated batch (`model_construct`)
                        result = self._executor.run(partial(_not_a_transaction, tx))
                    else:
                        result = runner(tx)
                results.append(result)
                if result.contracts:
                    self._spawn_contracts(result.contracts)
                if result.events:
                    published.extend(result.events)
        finally:
            # what committed is announced even if the handler fails half-way
            if results:
                self._schedule_changed()
        return tuple(results)

    # -- reads and administration ---------------------------------------------------------

    @handler
    def on_read(self, msg: ReadState) -> QueryResult:
        """Run a read-only function of the executor; errors come back as values (any other
        exception as `InternalError`)."""
        if self.ctx.remote:  # in-process only (module docstring)
            return QueryResult(ok=False, error=Unauthorized())
        try:
            value = self._executor.read(msg.reader)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        except Exception as exc:  # a buggy reader must not restart the chain's host
            return QueryResult(ok=False, error=InternalError(f"{type(exc).__name__}: {exc}"))
        return QueryResult(ok=True, value=value)

    @handler
    def on_register_code(self, msg: RegisterCode) -> QueryResult:
        """Register a contract class (`CodeExists` if the name is taken by another)."""
        if self.ctx.remote:  # in-process only (module docstring)
            return QueryResult(ok=False, error=Unauthorized())
        try:
            self._executor.register_code(msg.contract_class)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        return QueryResult(ok=True, value=msg.contract_class.code)

    @handler
    def on_add_module(self, msg: AddModule) -> QueryResult:
        """Build and plug in a module (`ModuleExists` if the name is taken; a factory that
        raises something else gives `ModulePanic`)."""
        if self.ctx.remote:  # in-process only (module docstring)
            return QueryResult(ok=False, error=Unauthorized())
        try:
            module = msg.factory(self._executor)
            self._executor.add_module(module)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        except Exception as exc:  # a buggy factory must not restart the chain's host
            return QueryResult(
                ok=False, error=ModulePanic("factory", f"{type(exc).__name__}: {exc}")
            )
        self._schedule_changed()
        return QueryResult(ok=True, value=module.name)

    @handler
    def on_spawn_component(self, msg: SpawnComponent) -> QueryResult:
        """Spawn a component child (`InvalidComponent` if a live child has the name or it is
        not a valid actor name); it is respawned after every restart of the host."""
        if self.ctx.remote:  # in-process only (module docstring)
            return QueryResult(ok=False, error=Unauthorized())
        # a component that was stopped on purpose may be spawned again under its name
        if any(child.address.name == msg.name for child in self.ctx.children):
            return QueryResult(ok=False, error=InvalidComponent(msg.name, "name is taken"))
        try:
            ref = self._spawn_component(msg)
        except (NameTaken, ValueError) as exc:
            return QueryResult(ok=False, error=InvalidComponent(msg.name, str(exc)))
        self._components[msg.name] = msg
        return QueryResult(ok=True, value=ref)

    def _spawn_component(self, msg: SpawnComponent) -> ActorRef[Any]:
        return self.ctx.spawn(msg.factory, name=msg.name, mailbox=msg.mailbox)

    @handler
    def on_attach_store(self, msg: AttachStore) -> QueryResult:
        """Attach a durable store (`Chain.attach_store`): load the file's committed state
        (then take up its block position, spawn the actors of its contracts and re-anchor
        block time) or write the current state as its base. Errors (`attach_store`'s
        `StoreError`s) come back as values; the chain's state is unchanged then."""
        if self.ctx.remote:  # in-process only (module docstring)
            return QueryResult(ok=False, error=Unauthorized())
        executor = self._executor
        try:
            durable, height = attach_store(executor, msg.path, msg.synchronous)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        # the store now keeps the committed state (and takes the noted changes)
        executor.committed = None
        if height is not None:
            spawned = {child.address.name for child in self.ctx.children}
            for info in executor.contracts():
                if info.address not in spawned:
                    self._spawn_contract(info.address)
            self._resume_time(durable.downtime())
        self._schedule_changed()
        return QueryResult(ok=True, value=height)

    def _resume_time(self, downtime_s: float) -> None:
        # Block time after a resume continues from the committed block's time. On a
        # virtual clock downtime does not exist: the next block is one block time later. On
        # a real clock the downtime counts, as on a real chain (whose next block takes the
        # validators' wall clock): the chain's time stays comparable with its
        # counterparties', so IBC timestamp timeouts and light-client trusting periods
        # measure real time.
        executor = self._executor
        clock = self._clock
        system_clock = self.ctx.clock
        downtime = 0 if isinstance(system_clock, VirtualClock) else math.floor(downtime_s)
        assert clock.origin is not None
        now = system_clock.now()
        clock.offset = (
            executor.time_s + downtime - clock.first_block_time - math.floor(now - clock.origin)
        )
        self._start_timer()

    # -- contract actors ------------------------------------------------------------------

    def _spawn_contracts(self, addresses: tuple[str, ...]) -> None:
        for address in addresses:
            self._spawn_contract(address)

    def _spawn_contract(self, address: str) -> None:
        factory: Any = partial(ContractActor, address, self.ctx.self_ref, self._executor)
        self.ctx.spawn(factory, name=address)
