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

`ProduceBlocks` is an explicit fast path for tests and benchmarks: it produces blocks in one
step without waiting on the clock, one block time apart in chain time, and shifts the
chain's time mapping accordingly (chain time then runs ahead of the clock by that much; in a
multi-chain run, advance the shared clock instead).

The executor lives outside the actor instance, so if the host ever restarts (supervision) the
chain's state, height and time carry on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from chains._chain_events import ChainEvent
from chains._contract_actor import ContractActor
from chains._errors import ChainError, UnsupportedMessage
from chains._executor import TxExecutor
from chains._host_errors import InternalError, InvalidComponent, ModulePanic
from chains._host_msgs import (
    AddModule,
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
from chains._tx_result import BlockResult, QueryResult, TxResult
from mesh_actors import Actor, ActorRef, EventStream, MailboxConfig, NameTaken, handler

__all__ = ["BlockClock", "ChainHost"]

_BLOCK_TIMER = "block"


def _not_a_transaction(tx: object) -> None:
    raise UnsupportedMessage("transaction", type(tx).__name__)


@dataclass
class BlockClock:
    """Maps the actor clock to block time; kept outside the actor so it survives restarts.

    ``origin`` is the clock reading when block 1 began (``None`` before the host started);
    ``offset`` is the chain-time shift added by `ProduceBlocks`.
    """

    first_block_time: int
    block_time: float
    origin: float | None = None
    offset: int = 0

    @property
    def step(self) -> int:
        """Whole seconds between blocks produced without the clock (at least 1)."""
        return max(1, int(self.block_time))

    def time_at(self, now: float, last: int) -> int:
        """Block time for a block beginning at clock ``now``, after a block at ``last``."""
        assert self.origin is not None
        mapped = self.first_block_time + math.floor(now - self.origin) + self.offset
        return mapped if mapped > last else last + 1


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

    def _start_timer(self) -> None:
        self.ctx.timers.send_periodic(_BLOCK_TIMER, self._clock.block_time, BlockTick())

    # -- blocks ---------------------------------------------------------------------------

    @handler
    def on_tick(self, _: BlockTick) -> None:
        """End the current block and begin the next at the clock's time (C-10)."""
        executor = self._executor
        self._after_block(executor.end_block())
        time_s = self._clock.time_at(self.ctx.clock.now(), executor.time_s)
        self._after_block(executor.begin_block(time_s))

    @handler
    def on_produce_blocks(self, msg: ProduceBlocks) -> int:
        """Produce ``count`` blocks now, ``step`` seconds apart; return the new height."""
        if msg.count == 0:
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
        for name, error in result.failures:
            self.ctx.log.warning(
                "block hook failed", hook=name, height=result.height, error=str(error)
            )
        for sudo in result.sudo_results:
            if sudo.contracts:
                self._spawn_contracts(sudo.contracts)
        events = self._events
        if result.events and events.has_subscribers:
            for event in result.events:
                events.publish(event)

    # -- transactions ---------------------------------------------------------------------

    def _after_tx(self, result: TxResult) -> TxResult:
        if result.contracts:
            self._spawn_contracts(result.contracts)
        events = self._events
        if result.events and events.has_subscribers:
            for event in result.events:
                events.publish(event)
        return result

    def _run_tx(self, tx: HostTx) -> TxResult:
        runner = self._runners.get(type(tx))
        if runner is None:
            # only reachable through an unvalidated batch (`TxBatch.model_construct`)
            return self._after_tx(self._executor.run(partial(_not_a_transaction, tx)))
        return self._after_tx(runner(tx))

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

    @handler(ExecuteTx, InstantiateTx, SudoTx, SubmitTx, GovExecuteTx, GovSudoTx, RunUnit)
    def on_tx(self, tx: HostTx) -> TxResult:
        """Run one transaction as an atomic unit in the current block."""
        return self._after_tx(self._runners[type(tx)](tx))

    @handler
    def on_batch(self, batch: TxBatch) -> tuple[TxResult, ...]:
        """Run each transaction of the batch as its own unit, in order."""
        return tuple(self._run_tx(tx) for tx in batch.txs)

    # -- reads and administration ---------------------------------------------------------

    @handler
    def on_read(self, msg: ReadState) -> QueryResult:
        """Run a read-only function of the executor; errors come back as values (any other
        exception as `InternalError`)."""
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
        try:
            self._executor.register_code(msg.contract_class)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        return QueryResult(ok=True, value=msg.contract_class.code)

    @handler
    def on_add_module(self, msg: AddModule) -> QueryResult:
        """Build and plug in a module (`ModuleExists` if the name is taken; a factory that
        raises something else gives `ModulePanic`)."""
        try:
            module = msg.factory(self._executor)
            self._executor.add_module(module)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        except Exception as exc:  # a buggy factory must not restart the chain's host
            return QueryResult(
                ok=False, error=ModulePanic("factory", f"{type(exc).__name__}: {exc}")
            )
        return QueryResult(ok=True, value=module.name)

    @handler
    def on_spawn_component(self, msg: SpawnComponent) -> QueryResult:
        """Spawn a component child (`InvalidComponent` if a live child has the name or it is
        not a valid actor name); it is respawned after every restart of the host."""
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

    # -- contract actors ------------------------------------------------------------------

    def _spawn_contracts(self, addresses: tuple[str, ...]) -> None:
        for address in addresses:
            self._spawn_contract(address)

    def _spawn_contract(self, address: str) -> None:
        factory: Any = partial(ContractActor, address, self.ctx.self_ref, self._executor)
        self.ctx.spawn(factory, name=address)
