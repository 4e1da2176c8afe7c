"""The transaction executor: one chain's state and the atomic execution of units on it.

Sans-IO and synchronous (ARCHITECTURE rule 2: "a chain is serial"). A `TxExecutor` owns the
chain's journaled `Store` and everything kept in it (bank, staking, slashing, distribution,
every contract's storage, every plugged-in module's state), the registry of contract codes
and instances, and the block lifecycle. The chain host actor (``_host.py``) feeds it
transactions one at a time; tests drive it directly, without an event loop.

**A unit** is one transaction (an execute, an instantiate, a sudo call, a bank send, a
native message...), or one end-block sudo call. It runs in a savepoint of the store:

- the target entry point runs, then the messages of its `Response` in order, depth-first:
  a message's own messages run before its next sibling (provider.md P-3, consumer.md C-8);
- a `SubMsg` whose reply mode catches errors (``ERROR``/``ALWAYS``) runs in a nested
  savepoint: if it fails, its changes and events are rolled back and the emitter's
  ``reply`` runs with the error; with ``SUCCESS``/``ALWAYS`` a success is replied too.
  A failing reply, or an uncaught failure, propagates upward (C-9);
- if a failure reaches the unit, the store is rolled back to the unit's savepoint, so the
  bank, staking, every contract's storage and every module's state (an IBC module's outbox
  included) are exactly as before, and nothing the unit emitted is kept (C-8, P-2);
- a core that raises something other than a `ChainError` is reported as `ContractPanic`
  (a module: `ModulePanic`; the host itself: `InternalError`) and handled like any error,
  so a buggy core can never crash the host (P-6).

Rollback costs O(writes) (the store's journal), never a copy of the state.

**Routing** of emitted messages, the emitter being a contract (or a module account):
``WasmExecute`` (funds move emitter → target first), ``WasmInstantiate`` (new address from
the chain prefix, the code and a journaled counter; the address is the result data),
``BankSend``/``BankBurn`` (sender = emitter), ``StakingDelegate``/``StakingUndelegate``/
``StakingRedelegate`` (C-22)/``DistributionWithdrawReward``/``DistributionSetWithdrawAddress``
(delegator = emitter), ``CustomMsg`` (the named module's ``handle``), and
``IbcSendPacket``/``IbcTransfer``/``IbcCloseChannel`` (the module named ``"ibc"``, else
`NoIbcModule`). The native messages of ``_native_msgs.py`` are accepted as root messages
only.

Staking hooks may run contract code during the staking module's own block steps (the
provider chain's ``jailing`` call before a begin-block downtime slash, P-51): events such code
emits there are reported with the block's events.

Modules may implement two optional methods beside the `ChainModule` protocol:
``check_message(sender, msg)`` runs before every routed message and may refuse it by raising
(e.g. the mesh-security module's rule C-50), and ``on_sudo_result(call, result)`` receives
the `TxResult` of each sudo call its end-blocker requested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict

from chains.contract._address import derive_address, validate_address
from chains.contract._coin import Coin
from chains.contract._contract import (
    BankBurn,
    BankSend,
    BlockEnv,
    Contract,
    ContractStorage,
    CustomMsg,
    Deps,
    DistributionSetWithdrawAddress,
    DistributionWithdrawReward,
    Env,
    Event,
    IbcBasicResponse,
    IbcCloseChannel,
    IbcReceiveResponse,
    IbcSendPacket,
    IbcTransfer,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    StargateMsg,
    SubMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._errors import ChainError, Unauthorized, UnsupportedMessage, WrongDenom
from chains.contract._store import JournaledMap, SortedJournaledMap, Store
from chains.host._config import ChainConfig
from chains.host._errors import (
    CodeExists,
    CodeNotFound,
    ContractNotFound,
    ContractPanic,
    InternalError,
    ModuleExists,
    ModulePanic,
    NestedUnit,
    NoIbcModule,
    UndecodableMessage,
    UnknownModule,
)
from chains.host._events import BlockPhase, ChainEvent
from chains.host._querier import ChainQuerier, run_read_only
from chains.host._tx_result import BlockResult, TxResult
from chains.modules._bank import Bank
from chains.modules._errors import InvalidBlock
from chains.modules._module import (
    BlockHint,
    ChainModule,
    ModuleCall,
    ModuleHost,
    ScheduledModule,
    SudoCall,
)
from chains.modules._msgs import (
    CreateValidator,
    ForceDowntime,
    Mint,
    RecordLiveness,
    SetCommission,
    SubmitEquivocation,
    Unjail,
    WithdrawCommission,
)
from chains.modules._staking_module import StakingModule

__all__ = ["ContractInfo", "MessageFilter", "SudoResultObserver", "TxExecutor"]

T = TypeVar("T")
R = TypeVar("R")

_CATCH_ERRORS = (ReplyOn.ERROR, ReplyOn.ALWAYS)
_REPLY_SUCCESS = (ReplyOn.SUCCESS, ReplyOn.ALWAYS)
# bech32 validation costs tens of microseconds in Python; a valid string stays valid
_VALID_CACHE_LIMIT = 100_000


class ContractInfo(BaseModel):
    """The registry record of a deployed contract (kept in the store, so rolled back too)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    code: str
    label: str
    creator: str
    admin: str | None = None
    created_height: int


@runtime_checkable
class MessageFilter(Protocol):
    """Optional module method: refuse a message before it is routed (raise a `ChainError`)."""

    def check_message(self, sender: str, msg: Any) -> None: ...


@runtime_checkable
class SudoResultObserver(Protocol):
    """Optional module method: learn the outcome of each sudo call it requested."""

    def on_sudo_result(self, call: SudoCall, result: TxResult) -> None: ...


_RawEvent = tuple[str, str, tuple[tuple[str, str], ...]]


def _as_events(raw: list[_RawEvent]) -> tuple[Event, ...]:
    # the recorded events are already typed: no validation (one reply per epoch target)
    trusted = Event.trusted
    return tuple([trusted(type_, attributes) for _, type_, attributes in raw])


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _coins_text(coins: tuple[Coin, ...]) -> str:
    if len(coins) == 1:
        coin = coins[0]
        return f"{coin.amount}{coin.denom}"
    return ",".join([f"{c.amount}{c.denom}" for c in coins])


class TxExecutor:
    """One chain's state and the atomic execution of units on it (see the module docstring).

    Build one with ``TxExecutor(config)``: that runs genesis (block 0: accounts funded,
    validators created and bonded). Then alternate ``begin_block(time)`` / units /
    ``end_block()``. Unit methods (``execute``, ``instantiate``, ``sudo``, ``submit``,
    ``gov_execute``, ``gov_sudo``, ``run``) never raise a `ChainError`: they return a
    `TxResult`. Queries (``query``, ``query_module``) raise. Registration
    (``register_code``, ``add_module``) raises `CodeExists` / `ModuleExists`.
    """

    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self.chain_id = config.chain_id
        self.prefix = config.prefix
        self._store = Store()
        self._bank = Bank(self._store)
        self._staking = StakingModule(
            self._store, self._bank, config.staking, account_prefix=config.prefix
        )
        self.bond_denom = config.bond_denom
        self.gov_address = derive_address(config.prefix, "module/gov")
        self.querier = ChainQuerier(self)

        self._contracts: SortedJournaledMap[str, ContractInfo] = SortedJournaledMap(
            self._store, "wasm/contracts"
        )
        self._counters: JournaledMap[str, int] = JournaledMap(self._store, "wasm/counters")
        self._codes: dict[str, type[Contract]] = {}
        # Cores and their storage handles are cached per address. Both are safe to keep
        # across a rollback: a core holds no state outside its storage, and the storage's
        # maps are rolled back by the store (an address re-created after a rollback is the
        # same code, since the address is derived from the code).
        self._cores: dict[str, Contract] = {}
        self._storages: dict[str, ContractStorage] = {}
        self._envs: dict[str, Env] = {}
        self._modules: dict[str, ChainModule] = {}
        self._module_accounts: dict[str, str] = {}
        # block scheduling (see `block_due`): modules that say when their hooks have work,
        # hints for those that do not, and the scheduled modules due at the next begin-block
        self._scheduled: dict[str, ScheduledModule] = {}
        self._hints: dict[str, BlockHint] = {}
        self._idle_memory: dict[str, int] = {}
        self._awake: set[str] = set()
        self._schedule_version = 0
        self._filters: list[MessageFilter] = []
        self._valid: set[str] = set()

        self._height = 0
        self._time = config.genesis_time
        # built on first use in each block: an idle block never needs one
        self._block_env: BlockEnv | None = None
        self._open = False
        self._tx_index = 0
        self._in_unit = False
        # the current unit's emitted (source, event) pairs and instantiated addresses
        # (source, type, attributes): Event models are only built if someone reads them
        self._events: list[_RawEvent] = []
        self._created: list[str] = []

        self._routes: dict[type[Any], Callable[[str, Any], Any]] = {
            WasmExecute: self._route_wasm_execute,
            WasmInstantiate: self._route_wasm_instantiate,
            BankSend: self._route_bank_send,
            BankBurn: self._route_bank_burn,
            StakingDelegate: self._route_delegate,
            StakingUndelegate: self._route_undelegate,
            StakingRedelegate: self._route_redelegate,
            DistributionWithdrawReward: self._route_withdraw_reward,
            DistributionSetWithdrawAddress: self._route_set_withdraw_address,
            IbcSendPacket: self._route_ibc,
            IbcTransfer: self._route_ibc,
            IbcCloseChannel: self._route_ibc,
            CustomMsg: self._route_custom,
            StargateMsg: self._route_stargate,
        }
        self._native_routes: dict[type[Any], Callable[[str, Any], Any]] = {
            CreateValidator: self._native_create_validator,
            Unjail: self._native_unjail,
            SetCommission: self._native_set_commission,
            WithdrawCommission: self._native_withdraw_commission,
            RecordLiveness: self._native_record_liveness,
            ForceDowntime: self._native_force_downtime,
            SubmitEquivocation: self._native_submit_equivocation,
            Mint: self._native_mint,
        }
        self._genesis()

    # -- wiring ---------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The journaled store holding all of the chain's state."""
        return self._store

    @property
    def bank(self) -> Bank:
        """The chain's bank."""
        return self._bank

    @property
    def staking(self) -> StakingModule:
        """The native staking, slashing and distribution modules (consumer.md §3)."""
        return self._staking

    def register_code(self, cls: type[Contract]) -> None:
        """Make ``cls`` instantiable under ``cls.code``; registering it again is a no-op.

        Raises `CodeExists` if another class already uses that code name.
        """
        existing = self._codes.get(cls.code)
        if existing is not None and existing is not cls:
            raise CodeExists(cls.code)
        self._codes[cls.code] = cls

    def codes(self) -> tuple[str, ...]:
        """The registered code names, sorted."""
        return tuple(sorted(self._codes))

    def add_module(self, module: ChainModule) -> None:
        """Plug in a module under ``module.name`` (custom messages, queries, block hooks).

        Modules run their block hooks in the order they were added. Raises `ModuleExists`
        (also for the reserved names ``"bank"`` and ``"staking"``).
        """
        name = module.name
        if name in self._modules or name in ("bank", "staking"):
            raise ModuleExists(name)
        self._modules[name] = module
        self._module_accounts[name] = derive_address(self.prefix, f"module/{name}")
        if isinstance(module, ScheduledModule):
            self._scheduled[name] = module
        self._schedule_version += 1
        if callable(getattr(module, "check_message", None)):
            self._filters.append(cast(MessageFilter, module))

    def module_object(self, name: str) -> object:
        """The module named ``name``: ``"bank"``, ``"staking"`` or a plugged-in module.

        Raises `UnknownModule`.
        """
        if name == "bank":
            return self._bank
        if name == "staking":
            return self._staking
        module = self._modules.get(name)
        if module is None:
            raise UnknownModule(name)
        return module

    def module_account(self, name: str) -> str:
        """The account address of a plugged-in module (the sender of its messages)."""
        account = self._module_accounts.get(name)
        if account is None:
            raise UnknownModule(name)
        return account

    def validate(self, address: str) -> str:
        """Return ``address`` if it is valid for this chain's prefix; else `InvalidAddress`."""
        if address in self._valid:
            return address
        validate_address(address, self.prefix)
        if len(self._valid) >= _VALID_CACHE_LIMIT:
            self._valid.clear()
        self._valid.add(address)
        return address

    # -- genesis and blocks ---------------------------------------------------------------

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
    def block_env(self) -> BlockEnv:
        """The current block as contracts see it."""
        block = self._block_env
        if block is None:
            block = BlockEnv(chain_id=self.chain_id, height=self._height, time_s=self._time)
            self._block_env = block
        return block

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
            failures.append(("staking", InternalError(_describe(exc))))
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
                    ModulePanic(name, _describe(exc)) if module else InternalError(_describe(exc)),
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

    def _stamp(self, raw: _RawEvent, tx_index: int | None, phase: BlockPhase) -> ChainEvent:
        return ChainEvent(
            self.chain_id, self._height, self._time, tx_index, phase, raw[0], raw[1], raw[2]
        )

    # -- units ----------------------------------------------------------------------------

    def run(self, body: Callable[[], Any]) -> TxResult:
        """Run ``body()`` as one atomic unit (a transaction) in the current block.

        ``body`` uses the executor's in-unit operations (``dispatch``, ``execute_contract``,
        ``instantiate_contract``, ``sudo_contract``, ``call_contract``, ``attempt``,
        ``emit``) and returns the
        unit's data. This is how modules outside this file (an IBC module delivering a
        packet) run their own kinds of transactions with the same atomicity.
        """
        return self._unit(body, BlockPhase.TX)

    def _unit(self, body: Callable[..., Any], phase: BlockPhase, *args: Any) -> TxResult:
        height, time_s, index = self._height, self._time, self._tx_index
        if not self._open:
            return self._failed(InvalidBlock("no block is open"), index)
        if self._in_unit:
            raise NestedUnit()
        self._tx_index = index + 1
        store = self._store
        point = store.savepoint()
        self._in_unit = True
        # the buffers are reused between units (cleared, never shared): fewer allocations
        events = self._events
        created = self._created
        events.clear()
        created.clear()
        failure: ChainError | None = None
        data: Any = None
        try:
            data = body(*args)
        except ChainError as exc:
            failure = exc
        except Exception as exc:
            failure = InternalError(_describe(exc))
        except BaseException:
            store.rollback_to(point)
            self._in_unit = False
            events.clear()
            created.clear()
            raise
        self._in_unit = False
        if failure is not None:
            store.rollback_to(point)
            events.clear()
            created.clear()
            return self._failed(failure, index)
        store.release(point)
        if events:
            chain_id = self.chain_id
            # tuple.__new__ straight: ChainEvent is a NamedTuple, and its generated __new__
            # (keyword handling, defaults) costs twice as much per event
            new = tuple.__new__
            stamped: tuple[ChainEvent, ...] = tuple(
                [
                    new(
                        ChainEvent,
                        (chain_id, height, time_s, index, phase, source, type_, attributes),
                    )
                    for source, type_, attributes in events
                ]
            )
            events.clear()
        else:
            stamped = ()
        if created:
            contracts = tuple(created)
            created.clear()
        else:
            contracts = ()
        return TxResult(True, data, None, stamped, contracts, height, time_s, index)

    def _failed(self, error: ChainError, index: int) -> TxResult:
        return TxResult(
            ok=False,
            data=None,
            error=error,
            events=(),
            contracts=(),
            height=self._height,
            time=self._time,
            tx_index=index,
        )

    def execute(
        self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> TxResult:
        """Transaction: ``sender`` executes ``contract`` with ``msg``, attaching ``funds``."""
        return self._unit(
            lambda: self.execute_contract(self.validate(sender), contract, msg, funds),
            BlockPhase.TX,
        )

    def instantiate(
        self,
        sender: str,
        code: str,
        msg: Any,
        funds: tuple[Coin, ...] = (),
        label: str = "",
        admin: str | None = None,
    ) -> TxResult:
        """Transaction: deploy a contract of ``code``; the result data is its address."""
        return self._unit(
            lambda: self.instantiate_contract(
                self.validate(sender), code, msg, funds, label, admin
            ),
            BlockPhase.TX,
        )

    def sudo(self, contract: str, msg: Any) -> TxResult:
        """Transaction: the chain calls ``contract``'s ``sudo`` entry point (no sender)."""
        return self._unit(self.sudo_contract, BlockPhase.TX, contract, msg)

    def submit(self, sender: str, msg: Any) -> TxResult:
        """Transaction: a root `CosmosMsg` or native message (``_native_msgs``) from ``sender``."""
        return self._unit(self._submit, BlockPhase.TX, sender, msg)

    def _submit(self, sender: str, msg: Any) -> Any:
        if sender not in self._valid:
            self.validate(sender)
        native = self._native_routes.get(type(msg))
        if native is not None:
            return native(sender, msg)
        return self.dispatch(sender, msg)

    def gov_execute(
        self, authority: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> TxResult:
        """Governance: execute ``contract`` as the gov module account.

        Fails with `Unauthorized` unless ``authority`` is ``gov_address``.
        """

        def body() -> Any:
            if authority != self.gov_address:
                raise Unauthorized()
            return self.execute_contract(self.gov_address, contract, msg, funds)

        return self._unit(body, BlockPhase.TX)

    def gov_sudo(self, authority: str, contract: str, msg: Any) -> TxResult:
        """Governance: a privileged ``sudo`` call (e.g. set a max cap). `Unauthorized`
        unless ``authority`` is ``gov_address``."""

        def body() -> Any:
            if authority != self.gov_address:
                raise Unauthorized()
            return self.sudo_contract(contract, msg)

        return self._unit(body, BlockPhase.TX)

    # -- in-unit operations ---------------------------------------------------------------

    def emit(self, source: str, event: Event) -> None:
        """Record an event of the running unit (kept only if the unit commits)."""
        self._events.append((source, event.type, event.attributes))

    def emit_raw(self, source: str, type_: str, attributes: tuple[tuple[str, str], ...]) -> None:
        """`emit` without building an `Event` (for per-packet paths)."""
        self._events.append((source, type_, attributes))

    def nested(self, body: Callable[..., T], *args: Any) -> T:
        """In a unit: run ``body(*args)`` in a nested savepoint; if it raises anything, undo
        what it changed, emitted and instantiated, and re-raise (unlike `attempt`, which
        catches).
        """
        store = self._store
        point = store.savepoint()
        events = self._events
        mark = len(events)
        created = len(self._created)
        try:
            result = body(*args)
        except BaseException:
            store.rollback_to(point)
            del events[mark:]
            del self._created[created:]
            raise
        store.release(point)
        return result

    def dispatch(self, sender: str, msg: Any) -> Any:
        """Route one emitted message (see the module docstring) and return its data.

        Runs every module's ``check_message`` first. Raises `UnsupportedMessage` for a
        message type that is not routable, and whatever the route raises.
        """
        for guard in self._filters:
            guard.check_message(sender, msg)
        route = self._routes.get(type(msg))
        if route is None:
            raise UnsupportedMessage("dispatch", type(msg).__name__)
        return route(sender, msg)

    def attempt(self, body: Callable[..., T], *args: Any) -> tuple[T | None, ChainError | None]:
        """In a unit: run ``body(*args)`` and catch its failure, as a reply would (C-9).

        Runs in a nested savepoint. Returns ``(result, None)`` on success; on a `ChainError`
        rolls back everything ``body`` changed, emitted and instantiated and returns
        ``(None, error)`` while the unit goes on. This is how a module writes an error
        acknowledgement after an application's failed packet receive, without the
        application's changes (ibc.md). Other exceptions propagate.
        """
        store = self._store
        point = store.savepoint()
        mark = len(self._events)
        created = len(self._created)
        try:
            result = body(*args)
        except ChainError as exc:
            store.rollback_to(point)
            del self._events[mark:]
            del self._created[created:]
            return None, exc
        except BaseException:
            store.rollback_to(point)
            raise
        store.release(point)
        return result, None

    def _core(self, address: str) -> Contract:
        core = self._cores.get(address)
        if core is not None and address in self._contracts:
            return core
        info = self._contracts.get(address)
        if info is None:
            self.validate(address)
            raise ContractNotFound(address)
        return self._build(address, self._codes[info.code])

    def _build(self, address: str, cls: type[Contract]) -> Contract:
        storage = self._storages.get(address)
        if storage is None:
            storage = self._storages[address] = ContractStorage(self._store, address)
        deps = Deps(storage, self.querier, self.validate, self.chain_id)
        try:
            core = cls(deps)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(address, "__init__", _describe(exc)) from exc
        self._cores[address] = core
        return core

    def _env(self, address: str) -> Env:
        env = self._envs.get(address)
        if env is None:
            env = self._envs[address] = Env(block=self.block_env, contract_address=address)
        return env

    def execute_contract(
        self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> Any:
        """In a unit: move ``funds`` sender → contract, run ``execute`` and its messages.

        Returns the response data (possibly replaced by a reply's data).
        """
        core = self._core(contract)
        if funds:
            self._bank.send(sender, contract, funds)
        info = MessageInfo(sender=sender, funds=tuple(funds))
        env = self._env(contract)
        self._events.append(("wasm", "execute", (("_contract_address", contract),)))
        try:
            response = core.execute(env, info, msg)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(contract, "execute", _describe(exc)) from exc
        return self._run_response(contract, "execute", response)

    def instantiate_contract(
        self,
        sender: str,
        code: str,
        msg: Any,
        funds: tuple[Coin, ...] = (),
        label: str = "",
        admin: str | None = None,
    ) -> str:
        """In a unit: deploy a new contract of ``code`` and return its address.

        The address is derived from the chain prefix, the code and a counter kept in the
        store, so it is deterministic and a rolled-back instantiation frees it again.
        Raises `CodeNotFound`, `InvalidAddress` (admin) or what ``instantiate`` raises.
        """
        cls = self._codes.get(code)
        if cls is None:
            raise CodeNotFound(code)
        if admin is not None:
            self.validate(admin)
        number = self._counters.get("instances", 0) + 1
        self._counters["instances"] = number
        address = derive_address(self.prefix, f"contract/{code}/{number}", length=32)
        self._contracts[address] = ContractInfo(
            address=address,
            code=code,
            label=label,
            creator=sender,
            admin=admin,
            created_height=self._height,
        )
        self._created.append(address)
        core = self._build(address, cls)
        if funds:
            self._bank.send(sender, address, funds)
        self._events.append(
            ("wasm", "instantiate", (("_contract_address", address), ("code", code)))
        )
        info = MessageInfo(sender=sender, funds=tuple(funds))
        try:
            response = core.instantiate(self._env(address), info, msg)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(address, "instantiate", _describe(exc)) from exc
        self._run_response(address, "instantiate", response)
        return address

    def sudo_contract(self, contract: str, msg: Any) -> Any:
        """In a unit: run ``contract``'s ``sudo`` entry point and its messages."""
        core = self._core(contract)
        self._events.append(("wasm", "sudo", (("_contract_address", contract),)))
        try:
            response = core.sudo(self._env(contract), msg)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(contract, "sudo", _describe(exc)) from exc
        return self._run_response(contract, "sudo", response)

    def call_contract(
        self,
        contract: str,
        entry_point: str,
        invoke: Callable[..., R],
        *args: Any,
    ) -> tuple[R, Any]:
        """In a unit: call any entry point of ``contract`` and run the messages it returns.

        ``invoke(core, env, *args)`` calls the entry point (e.g. ``ibc_packet_receive``)
        and returns its response: anything with ``messages`` and ``events`` (and optionally
        ``data``), or ``None`` for entry points without one. Returns the response itself
        and the data after replies. Non-`ChainError` exceptions become `ContractPanic`.
        """
        # `_core` and `_env` inlined for the cached case (two per packet relayed); the
        # registry check is the map's C-level get, not its Python-level __contains__
        core = self._cores.get(contract)
        if core is None or self._contracts.get(contract) is None:
            core = self._core(contract)
        env = self._envs.get(contract)
        if env is None:
            env = self._env(contract)
        try:
            response = invoke(core, env, *args)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(contract, entry_point, _describe(exc)) from exc
        if type(response) is IbcReceiveResponse or type(response) is IbcBasicResponse:
            # the per-packet callbacks (exactly these types: a subclass may carry data): a
            # response with nothing to run (the usual receive) makes `_run_response` return
            # None
            callback: Any = response  # (no cast() call on the per-packet path)
            if not callback.messages and not callback.events:
                return response, None
        elif response is None or not hasattr(response, "messages"):
            return response, None
        return response, self._run_response(contract, entry_point, response)

    def _run_response(
        self, emitter: str, entry_point: str, response: Any, source: str | None = None
    ) -> Any:
        """Record a response's events, then run its messages depth-first (C-8, P-3)."""
        try:
            messages: tuple[SubMsg, ...] = response.messages
            emitted: tuple[Event, ...] = response.events
        except AttributeError:
            raise ContractPanic(
                emitter, entry_point, f"returned {type(response).__name__}, not a Response"
            ) from None
        # the IBC callback responses have no data field, and a failed attribute lookup on a
        # pydantic model is slow (it builds an error): skip it on the per-packet path
        data = (
            None
            if type(response) is IbcBasicResponse or type(response) is IbcReceiveResponse
            else getattr(response, "data", None)
        )
        if emitted:
            label = source or emitter
            self._events.extend((label, event.type, event.attributes) for event in emitted)
        for sub in messages:
            replied = self._run_submsg(emitter, sub)
            if replied is not None:
                # as in CosmWasm: data set by a reply replaces the response's data
                data = replied
        return data

    def _run_submsg(self, emitter: str, sub: SubMsg) -> Any:
        mode = sub.reply_on
        if mode is ReplyOn.NEVER:
            # an uncaught failure unwinds to an enclosing savepoint: none needed here
            self.dispatch(emitter, sub.msg)
            return None
        if mode is ReplyOn.SUCCESS:
            mark = len(self._events)
            result = self.dispatch(emitter, sub.msg)
            reply = Reply.trusted(sub.id, True, result, _as_events(self._events[mark:]), None)
            return self._reply(emitter, reply)
        store = self._store
        point = store.savepoint()
        mark = len(self._events)
        created = len(self._created)
        try:
            result = self.dispatch(emitter, sub.msg)
        except ChainError as exc:
            # caught (C-9): this sub-message's changes and events are undone
            store.rollback_to(point)
            del self._events[mark:]
            del self._created[created:]
            return self._reply(emitter, Reply.trusted(sub.id, False, None, (), exc))
        except BaseException:
            store.rollback_to(point)
            raise
        store.release(point)
        if mode is ReplyOn.ERROR:
            return None
        reply = Reply.trusted(sub.id, True, result, _as_events(self._events[mark:]), None)
        return self._reply(emitter, reply)

    def _reply(self, emitter: str, reply: Reply) -> Any:
        core = self._core(emitter)
        try:
            response = core.reply(self._env(emitter), reply)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(emitter, "reply", _describe(exc)) from exc
        return self._run_response(emitter, "reply", response)

    # -- routes ---------------------------------------------------------------------------

    def _route_wasm_execute(self, sender: str, msg: WasmExecute) -> Any:
        return self.execute_contract(sender, msg.contract_addr, msg.msg, msg.funds)

    def _route_wasm_instantiate(self, sender: str, msg: WasmInstantiate) -> str:
        return self.instantiate_contract(sender, msg.code, msg.msg, msg.funds, msg.label, msg.admin)

    def _route_bank_send(self, sender: str, msg: BankSend) -> None:
        recipient = msg.to_address
        if recipient not in self._valid:
            self.validate(recipient)
        coins = msg.amount
        if len(coins) == 1:
            # the common case; Bank.send would total per denom and check twice
            coin = coins[0]
            if coin.amount:
                self._bank.transfer(sender, recipient, coin.denom, coin.amount)
        else:
            self._bank.send(sender, recipient, coins)
        self._events.append(
            (
                "bank",
                "transfer",
                (
                    ("recipient", recipient),
                    ("sender", sender),
                    ("amount", _coins_text(msg.amount)),
                ),
            )
        )

    def _route_bank_burn(self, sender: str, msg: BankBurn) -> None:
        for coin in msg.amount:
            if coin.amount:
                self._bank.burn(sender, coin.denom, coin.amount)
        self._events.append(
            ("bank", "burn", (("burner", sender), ("amount", _coins_text(msg.amount))))
        )

    def _bond_amount(self, coin: Coin) -> int:
        if coin.denom != self.bond_denom:
            raise WrongDenom(coin.denom, self.bond_denom)
        return coin.amount

    def _route_delegate(self, sender: str, msg: StakingDelegate) -> None:
        amount = self._bond_amount(msg.amount)
        self._staking.delegate(sender, msg.validator, amount)
        self._events.append(
            (
                "staking",
                "delegate",
                (
                    ("validator", msg.validator),
                    ("delegator", sender),
                    ("amount", str(amount)),
                ),
            )
        )

    def _route_undelegate(self, sender: str, msg: StakingUndelegate) -> None:
        amount = self._bond_amount(msg.amount)
        entry = self._staking.undelegate(sender, msg.validator, amount)
        self._events.append(
            (
                "staking",
                "unbond",
                (
                    ("validator", msg.validator),
                    ("delegator", sender),
                    ("amount", str(entry.initial_balance)),
                    ("completion_time", str(entry.completion_time)),
                ),
            )
        )

    def _route_redelegate(self, sender: str, msg: StakingRedelegate) -> None:
        amount = self._bond_amount(msg.amount)
        entry = self._staking.redelegate(sender, msg.src_validator, msg.dst_validator, amount)
        completion = self._time if entry is None else entry.completion_time
        self._events.append(
            (
                "staking",
                "redelegate",
                (
                    ("source_validator", msg.src_validator),
                    ("destination_validator", msg.dst_validator),
                    ("delegator", sender),
                    ("amount", str(amount)),
                    ("completion_time", str(completion)),
                ),
            )
        )

    def _route_set_withdraw_address(self, sender: str, msg: DistributionSetWithdrawAddress) -> None:
        address = msg.address
        if address not in self._valid:
            self.validate(address)
        self._staking.set_withdraw_address(sender, address)
        self._events.append(
            (
                "distribution",
                "set_withdraw_address",
                (("delegator", sender), ("withdraw_address", address)),
            )
        )

    def _route_withdraw_reward(self, sender: str, msg: DistributionWithdrawReward) -> int:
        amount = self._staking.withdraw_delegator_reward(sender, msg.validator)
        self._events.append(
            (
                "distribution",
                "withdraw_rewards",
                (
                    ("validator", msg.validator),
                    ("delegator", sender),
                    ("amount", str(amount)),
                ),
            )
        )
        return amount

    def _route_ibc(self, sender: str, msg: IbcSendPacket | IbcTransfer | IbcCloseChannel) -> Any:
        module = self._modules.get("ibc")
        if module is None:
            raise NoIbcModule(type(msg).__name__)
        if type(msg) is IbcSendPacket:
            # the per-packet path: a module offering ``send_packet`` takes the send directly,
            # without a validated ModuleCall and an empty response to run (same errors, same
            # result: a send has no data, no messages and no response events)
            send = getattr(module, "send_packet", None)
            if send is not None:
                try:
                    send(sender, msg, self._height)
                except ChainError:
                    raise
                except Exception as exc:
                    raise ModulePanic("ibc", _describe(exc)) from exc
                return None
        return self._module_handle("ibc", sender, msg)

    def _route_custom(self, sender: str, msg: CustomMsg) -> Any:
        if msg.module not in self._modules:
            raise UnknownModule(msg.module)
        return self._module_handle(msg.module, sender, msg.msg)

    def _route_stargate(self, sender: str, msg: StargateMsg) -> Any:
        # no protobuf decoder: a raw message is refused by name rather than guessed at
        raise UndecodableMessage(msg.type_url)

    def _module_handle(self, name: str, sender: str, payload: Any) -> Any:
        module = self._modules[name]
        call = ModuleCall(block=self.block_env, sender=sender)
        try:
            response = module.handle(call, payload)
        except ChainError:
            raise
        except Exception as exc:
            raise ModulePanic(name, _describe(exc)) from exc
        if not isinstance(response, Response):
            raise ModulePanic(name, f"handle returned {type(response).__name__}, not a Response")
        return self._run_response(self._module_accounts[name], "handle", response, source=name)

    # -- native messages (root only) ------------------------------------------------------

    def _operator_account(self, sender: str, validator: str) -> None:
        if sender != self._staking.staking.account_of(validator):
            raise Unauthorized()

    def _native_create_validator(self, sender: str, msg: CreateValidator) -> str:
        operator = self._staking.staking.operator_of(sender)
        self._staking.create_validator(
            operator,
            msg.pubkey,
            msg.self_bond,
            msg.commission,
            msg.min_self_delegation,
            max_rate=msg.max_rate,
            max_change_rate=msg.max_change_rate,
            self_bond_shares=msg.self_bond_shares,
        )
        self._events.append(
            (
                "staking",
                "create_validator",
                (("validator", operator), ("amount", str(msg.self_bond))),
            )
        )
        return operator

    def _native_unjail(self, sender: str, msg: Unjail) -> None:
        self._operator_account(sender, msg.validator)
        self._staking.unjail(msg.validator)
        self._events.append(("slashing", "unjail", (("validator", msg.validator),)))

    def _native_set_commission(self, sender: str, msg: SetCommission) -> None:
        self._operator_account(sender, msg.validator)
        self._staking.set_commission(msg.validator, msg.rate)
        self._events.append(
            (
                "staking",
                "edit_validator",
                (("validator", msg.validator), ("commission_rate", str(msg.rate))),
            )
        )

    def _native_withdraw_commission(self, sender: str, msg: WithdrawCommission) -> int:
        self._operator_account(sender, msg.validator)
        return self._staking.withdraw_validator_commission(msg.validator)

    def _native_record_liveness(self, sender: str, msg: RecordLiveness) -> None:
        self._staking.record_liveness(msg.validator, msg.signed)

    def _native_force_downtime(self, sender: str, msg: ForceDowntime) -> int:
        burned = self._staking.force_downtime(msg.validator)
        self._events.append(
            (
                "slashing",
                "slash",
                (
                    ("validator", msg.validator),
                    ("reason", "downtime"),
                    ("burned", str(burned)),
                ),
            )
        )
        return burned

    def _native_submit_equivocation(self, sender: str, msg: SubmitEquivocation) -> int | None:
        burned = self._staking.submit_equivocation(
            msg.consensus_address, msg.infraction_height, msg.infraction_time, msg.power
        )
        if burned is not None:
            self._events.append(
                (
                    "slashing",
                    "slash",
                    (
                        ("consensus_address", msg.consensus_address),
                        ("reason", "double_sign"),
                        ("burned", str(burned)),
                    ),
                )
            )
        return burned

    def _native_mint(self, sender: str, msg: Mint) -> None:
        recipient = self.validate(msg.to_address)
        for coin in msg.amount:
            if coin.amount:
                self._bank.mint(recipient, coin.denom, coin.amount)
        self._events.append(
            ("bank", "mint", (("recipient", recipient), ("amount", _coins_text(msg.amount))))
        )

    # -- queries --------------------------------------------------------------------------

    def query_contract(self, address: str, msg: Any) -> Any:
        """A contract's ``query`` entry point on current state, read-only (P-4).

        Raises `ContractNotFound`, `QueryWrite`, `ContractPanic` or the contract's error.
        """
        core = self._core(address)
        env = self._env(address)

        def read() -> Any:
            try:
                return core.query(env, msg)
            except ChainError:
                raise
            except Exception as exc:
                raise ContractPanic(address, "query", _describe(exc)) from exc

        return run_read_only(self._store, address, read)

    def query(self, address: str, msg: Any) -> Any:
        """Alias of `query_contract` for embedders."""
        return self.query_contract(address, msg)

    def query_module(self, name: str, msg: Any) -> Any:
        """A plugged-in module's custom query, read-only (C-11).

        Raises `UnknownModule`, `QueryWrite`, `ModulePanic` or the module's error.
        """
        module = self._modules.get(name)
        if module is None:
            raise UnknownModule(name)
        block = self.block_env

        def read() -> Any:
            try:
                return module.query(block, msg)
            except ChainError:
                raise
            except Exception as exc:
                raise ModulePanic(name, _describe(exc)) from exc

        return run_read_only(self._store, f"module:{name}", read)

    def read(self, reader: Callable[[TxExecutor], T]) -> T:
        """Run an embedder's read of this executor, enforced read-only (`QueryWrite`)."""
        return run_read_only(self._store, "read", lambda: reader(self))

    def contract_info(self, address: str) -> ContractInfo | None:
        """The registry record of a contract, or ``None``."""
        return self._contracts.get(address)

    def contracts(self) -> tuple[ContractInfo, ...]:
        """Every deployed contract, by address."""
        return tuple(info for _, info in self._contracts.raw_items())

    def contract_state(self, address: str) -> dict[str, dict[Any, Any]]:
        """A contract's raw storage: container name → contents (empty containers omitted).

        Raises `ContractNotFound`.
        """
        if address not in self._contracts:
            raise ContractNotFound(address)
        self._core(address)
        storage = self._storages[address]
        return {name: data for name, data in storage.dump().items() if data}

    def dump_state(self) -> bytes:
        """A canonical dump of the whole chain state (block, every non-empty map, sorted).

        Two executors given the same config and the same inputs produce byte-identical
        dumps (the determinism the tests check). Costs O(state): for tests and debugging.
        """
        lines = [f"chain {self.chain_id} height {self._height} time {self._time}"]
        for name, data in sorted(self._store.snapshot().items()):
            if not data:
                continue
            lines.append(f"[{name}]")
            for key, value in sorted(data.items(), key=lambda item: repr(item[0])):
                lines.append(f"{key!r} = {value!r}")
        return "\n".join(lines).encode()


if TYPE_CHECKING:

    def _is_a_module_host(executor: TxExecutor) -> ModuleHost:
        # mypy's proof that modules written against `ModuleHost` can be built on the executor
        return executor
