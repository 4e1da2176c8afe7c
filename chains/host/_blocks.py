"""Genesis and blocks: the block lifecycle of a chain (consumer.md C-10) and its schedule.

``begin_block`` runs the staking module's begin-block, then every module's in the order they
were added; ``end_block`` runs staking's end-block, then each module's, and each `SudoCall` a
module returns as its own unit. Every hook runs in its own savepoint: a failing hook is rolled
back and reported, and the block goes on. Staking hooks may run contract code during the
staking module's own block steps (the provider chain's ``jailing`` call before a begin-block
downtime slash, P-51): events such code emits there are reported with the block's events.

The schedule says when a block boundary is *due* (may do something another party could
observe): a host may produce boundaries that are not due late, in one step
(`BlockLifecycle.fast_forward`, the lazy blocks of ``_host.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol, runtime_checkable

from chains.contract._contract import BlockEnv
from chains.contract._errors import ChainError
from chains.host._durable import StateLoadedObserver
from chains.host._errors import InternalError, ModulePanic, UnknownModule, panic_detail
from chains.host._events import BlockPhase, ChainEvent, RawEvent
from chains.host._tx_result import BlockResult, TxResult
from chains.host._units import UnitRunner
from chains.modules._errors import InvalidBlock
from chains.modules._module import BlockHint, ChainModule, SudoCall

__all__ = ["SudoResultObserver"]


@runtime_checkable
class SudoResultObserver(Protocol):
    """Optional module method: learn the outcome of each sudo call it requested."""

    def on_sudo_result(self, call: SudoCall, result: TxResult) -> None: ...


class BlockLifecycle(UnitRunner):
    """Genesis, blocks and the block schedule of a `TxExecutor` (see the module docstring)."""

    def _genesis(self) -> None:
        config = self.config
        staking = self._staking
        staking.begin_block(0, config.genesis_time)
        for funded in config.accounts:
            for coin in funded.coins:
                if coin.amount:
                    self._bank.mint(funded.address, coin.denom, coin.amount)
        for genesis in config.validators:
            account = config.address(genesis.name)
            self._bank.mint(account, self.bond_denom, genesis.self_bond)
            staking.create_validator(
                staking.staking.operator_of(account),
                genesis.pubkey or f"pubkey-{genesis.name}",
                genesis.self_bond,
                genesis.commission,
                genesis.min_self_delegation,
                max_rate=genesis.max_rate,
                max_change_rate=genesis.max_change_rate,
                self_bond_shares=genesis.self_bond_shares,
            )
        # genesis validators are bonded at genesis, as InitChain does
        staking.end_block(0, config.genesis_time)

    @property
    def height(self) -> int:
        """The height of the current (or last) block; 0 is genesis."""
        return self._height

    @property
    def time_s(self) -> int:
        """The time of the current (or last) block, UNIX seconds."""
        return self._time

    @property
    def block_open(self) -> bool:
        """Whether a block has begun and not yet ended (units need one)."""
        return self._open

    @property
    def tx_index(self) -> int:
        """How many units have run in the current block so far."""
        return self._tx_index

    @property
    def schedule_version(self) -> int:
        """A counter that changes whenever a module or a block hint is added."""
        return self._schedule_version

    def restore_block(self, height: int, time_s: int, is_open: bool, tx_index: int) -> None:
        """Take up a block position loaded from a durable store (``chains.host._durable``):
        the store's maps already hold that block's state. Forgets the per-block caches and
        lets every `StateLoadedObserver` module rebuild what it keeps beside the store (an
        observer's exception propagates: a bug)."""
        self._height = height
        self._time = time_s
        self._open = is_open
        self._tx_index = tx_index
        self._block_env = None
        self._envs.clear()
        self._awake.clear()
        self._events.clear()
        self._created.clear()
        self._schedule_version += 1
        for module in self._modules.values():
            if isinstance(module, StateLoadedObserver):
                module.on_state_loaded()

    def set_block_hint(self, name: str, hint: BlockHint, *, idle_memory: int | None = None) -> None:
        """Tell `block_due` / `next_due` when the module ``name`` (not a `ScheduledModule`)
        does something observable at a block boundary (see `BlockHint`). Configuration, not
        chain state; its hooks still run in every block.

        ``idle_memory = m`` promises more: over a run of blocks where the hint says nothing
        is due, the module's ``end_block`` does nothing (no calls, no writes), its
        ``begin_block`` returns no events, and its state after ``begin_block`` ran for
        every block equals its state after it ran for the last ``m`` blocks only (the IBC
        module keeps the last two headers: ``m = 2``). `fast_forward` then runs
        ``begin_block`` for those last blocks only. Raises `UnknownModule`.
        """
        if name not in self._modules:
            raise UnknownModule(name)
        self._hints[name] = hint
        if idle_memory is None:
            self._idle_memory.pop(name, None)
        else:
            self._idle_memory[name] = max(1, idle_memory)
        self._schedule_version += 1

    def fast_forward(self, times: Sequence[int]) -> BlockResult | None:
        """End the current block and produce one block per entry of ``times`` (strictly
        increasing block times; the last block is left open), in one step: the state
        afterwards is exactly the state ``len(times)`` `end_block` / `begin_block` pairs
        would give, at a cost independent of ``len(times)``.

        Only for idle runs: no boundary among them may be due (`block_due` false now and
        the next due boundary, `next_due`, after the run; the caller checks that). Returns
        ``None`` without changing anything where the closed form does not apply: a unit ran
        in the block, a module neither a `ScheduledModule` nor hinted with an
        ``idle_memory``, staking work inside the run, or reward allocation not in its
        steady state (`Distribution.repeat_begin_block`) — then produce blocks one by one.
        A replayed hook that fails, or breaks its promise (events), makes it refuse too
        (everything is rolled back), so the block-by-block path reports it as it would.
        Otherwise returns the (empty) result of the last block.
        """
        count = len(times)
        if not count or not self._open or self._tx_index or self._in_unit:
            return None
        last_time = times[-1]
        if times[0] <= self._time or last_time < times[0] + count - 1:
            return None
        staking = self._staking
        due = staking.next_due_time()
        if due is not None and due <= last_time:
            return None
        memory = 0
        for name in self._modules:
            if name in self._scheduled:
                continue
            remembered = self._idle_memory.get(name)
            if remembered is None:
                return None
            memory = max(memory, remembered)
        start, start_time = self._height, self._time
        height = start + count
        store = self._store
        point = store.savepoint()
        try:
            if not staking.fast_forward(height, last_time, count):
                store.rollback_to(point)
                return None
            # the begin-blocks of the modules with an idle memory, for the last blocks
            replayed = [m for n, m in self._modules.items() if n in self._idle_memory]
            for index in range(max(0, count - memory), count):
                self._height = start + index + 1
                self._time = times[index]
                self._block_env = None
                block = self.block_env
                for module in replayed:
                    if module.begin_block(block):
                        raise InternalError(f"module {module.name} has events in an idle block")
        except Exception:
            # refuse: the block-by-block path will produce (and report) it as it should
            store.rollback_to(point)
            self._height, self._time = start, start_time
            self._block_env = None
            return None
        store.release(point)
        self._awake.clear()
        if self._height != height:
            self._height = height
            self._time = last_time
            self._block_env = None  # else: the last replayed block's is this block's
        if self._envs:
            self._envs.clear()
        self._tx_index = 0
        return BlockResult(height, last_time, (), ())

    def _module_due(self, name: str, module: ChainModule, block: BlockEnv) -> int | None:
        # the module's next due height; one that cannot tell is due in every block
        scheduled = self._scheduled.get(name)
        try:
            if scheduled is not None:
                return scheduled.next_due_height(block)
            hint = self._hints.get(name)
            if hint is not None:
                return hint(block)
        except Exception:  # a buggy schedule must not stop blocks: assume work is due
            return block.height
        return block.height

    def block_due(self) -> bool:
        """Whether ending the current block and beginning the next may do something another
        party could observe: events, sudo calls, IBC notices, hooks into contracts. True if
        a unit ran in the block, staking has work (`StakingModule.next_due_time`), or a
        module is due (`ScheduledModule.next_due_height`, a `BlockHint`, or a module that
        cannot tell). A boundary that is not due only changes state (heights, times,
        headers, reward accumulators): a host may produce such blocks late, in one go, as
        long as nobody reads the chain in between (see ``_host.py``, lazy blocks).
        """
        return self.is_due(self.next_due())

    def is_due(self, due: tuple[int | None, int | None]) -> bool:
        """Whether ``due`` (a `next_due` answer) makes the current block boundary due."""
        height, time_s = due
        return (height is not None and height <= self._height) or (
            time_s is not None and time_s <= self._time
        )

    def next_due(self) -> tuple[int | None, int | None]:
        """The next due block boundary (see `block_due`), if no unit runs meanwhile, as
        lower bounds: ``(the lowest height whose end is due, the earliest block time at or
        after which a block's end is due)``, each ``None`` if nothing is scheduled. The
        current boundary is due iff ``height <= self.height`` or ``time <= self.time_s``.
        """
        height: int | None = self._height if self._tx_index else None
        time_s = self._staking.next_due_time()
        if height is not None or (time_s is not None and time_s <= self._time):
            return height if height is not None else self._height, time_s
        if self._modules:
            block = self.block_env
            current = self._height
            for name, module in self._modules.items():
                due = self._module_due(name, module, block)
                if due is not None and (height is None or due < height):
                    height = due
                    if due <= current:
                        break
        return height, time_s

    def begin_block(self, time_s: int) -> BlockResult:
        """Begin block ``height + 1`` at ``time_s`` (C-10 step 1).

        Runs the staking module's begin-block (rewards C-25, then liveness C-35; C-31), then
        every module's ``begin_block`` in the order they were added, each in its own
        savepoint: a failing hook is rolled back and reported in ``failures``; the block
        goes on. A `ScheduledModule`'s hook runs only if it was due at the previous
        end-block. Raises ``InvalidBlock`` if a block is open or ``time_s`` does not
        increase.
        """
        if self._open:
            raise InvalidBlock(f"block {self._height} is still open")
        if time_s <= self._time:
            raise InvalidBlock(f"time {time_s} not after {self._time}")
        height = self._height + 1
        self._height = height
        self._time = time_s
        self._block_env = None
        if self._envs:
            self._envs.clear()
        self._tx_index = 0
        self._open = True
        events: list[ChainEvent] = []
        failures: list[tuple[str, ChainError]] = []
        phase = BlockPhase.BEGIN_BLOCK
        self._staking_step(failures, self._staking.begin_block, height, time_s, events, phase)
        if not self._modules:
            return BlockResult(height, time_s, tuple(events), tuple(failures))
        block = self.block_env
        scheduled = self._scheduled
        awake = self._awake
        for name, module in self._modules.items():
            if name in scheduled and name not in awake:
                continue
            self._hook(
                name,
                phase,
                partial(self._module_begin_block, module, block),
                events,
                failures,
                module=True,
            )
        return BlockResult(
            height=height,
            time=time_s,
            events=tuple(events),
            failures=tuple(failures),
            sudo_results=(),
        )

    def end_block(self) -> BlockResult:
        """End the current block (C-10 step 3).

        Staking end-block first (set changes with their hooks, maturities; C-27), then for
        each module in order: its ``end_block`` (own savepoint), then each `SudoCall` it
        returned as its own atomic unit (numbered after the block's transactions). A failed
        call is rolled back alone, reported in ``sudo_results`` and as a committed
        ``sudo_failed`` event; the block goes on (C-52). A `ScheduledModule` that is not
        due at this height is skipped (hook and savepoint). Raises ``InvalidBlock`` if no
        block is open.
        """
        if not self._open:
            raise InvalidBlock("no block is open")
        height, time_s = self._height, self._time
        events: list[ChainEvent] = []
        failures: list[tuple[str, ChainError]] = []
        sudo_results: list[TxResult] = []
        phase = BlockPhase.END_BLOCK
        self._staking_step(failures, self._staking.end_block, height, time_s, events, phase)
        if not self._modules:
            self._open = False
            return BlockResult(height, time_s, tuple(events), tuple(failures))
        block = self.block_env
        scheduled = self._scheduled
        awake = self._awake
        awake.clear()
        for name, module in self._modules.items():
            if name in scheduled:
                due = self._module_due(name, module, block)
                if due is None or due > height:
                    continue
                awake.add(name)
            calls: list[SudoCall] = []
            self._hook(
                name,
                phase,
                partial(self._module_end_block, module, block, calls),
                events,
                failures,
                module=True,
            )
            for call in calls:
                result = self._unit(
                    self.sudo_contract, BlockPhase.END_BLOCK, call.contract, call.msg
                )
                sudo_results.append(result)
                events.extend(result.events)
                if not result.ok:
                    assert result.error is not None
                    failed = (
                        ("contract", call.contract),
                        ("error", result.error.name),
                        ("detail", str(result.error)),
                    )
                    events.append(
                        self._stamp((name, "sudo_failed", failed), result.tx_index, phase)
                    )
                if isinstance(module, SudoResultObserver):
                    self._hook(
                        name,
                        phase,
                        partial(module.on_sudo_result, call, result),
                        events,
                        failures,
                        module=True,
                    )
        self._open = False
        return BlockResult(
            height=height,
            time=time_s,
            events=tuple(events),
            failures=tuple(failures),
            sudo_results=tuple(sudo_results),
        )

    def _staking_step(
        self,
        failures: list[tuple[str, ChainError]],
        step: Callable[[int, int], None],
        height: int,
        time_s: int,
        events: list[ChainEvent],
        phase: BlockPhase,
    ) -> None:
        # the staking module's block steps are atomic themselves, so they need no savepoint
        # of ours: a failure (a bug, or a hook raising) has already been rolled back when it
        # reaches us. They emit no events, but a hook may run contract code that does.
        emitted = self._events
        emitted.clear()
        try:
            step(height, time_s)
        except ChainError as exc:
            failures.append(("staking", exc))
        except Exception as exc:
            failures.append(("staking", InternalError(panic_detail(exc))))
        else:
            for raw in emitted:
                events.append(self._stamp(raw, None, phase))
        emitted.clear()

    def _hook(
        self,
        name: str,
        phase: BlockPhase,
        body: Callable[[], object],
        events: list[ChainEvent],
        failures: list[tuple[str, ChainError]],
        *,
        module: bool = False,
    ) -> None:
        store = self._store
        point = store.savepoint()
        self._events.clear()
        try:
            body()
        except ChainError as exc:
            store.rollback_to(point)
            failures.append((name, exc))
            return
        except Exception as exc:
            store.rollback_to(point)
            failures.append(
                (
                    name,
                    ModulePanic(name, panic_detail(exc))
                    if module
                    else InternalError(panic_detail(exc)),
                )
            )
            return
        except BaseException:
            store.rollback_to(point)
            raise
        finally:
            emitted = list(self._events)
            self._events.clear()
        store.release(point)
        for raw in emitted:
            events.append(self._stamp(raw, None, phase))

    def _module_begin_block(self, module: ChainModule, block: BlockEnv) -> None:
        for event in module.begin_block(block):
            self._events.append((module.name, event.type, event.attributes))

    def _module_end_block(
        self, module: ChainModule, block: BlockEnv, calls: list[SudoCall]
    ) -> None:
        calls.extend(module.end_block(block))

    def _stamp(self, raw: RawEvent, tx_index: int | None, phase: BlockPhase) -> ChainEvent:
        return ChainEvent(
            self.chain_id, self._height, self._time, tx_index, phase, raw[0], raw[1], raw[2]
        )
