"""One chain's state as the executor holds it, and the wiring that fills it.

`ChainState` owns everything a `TxExecutor` works on: the journaled `Store` and the native
modules kept in it (bank, staking, slashing, distribution), the contract registry (codes,
deployed contracts, the cores and storage handles cached per address), the plugged-in
modules with their accounts and message filters, the current block, and the running unit's
buffers (its recorded events and instantiated addresses). Its methods are the wiring: codes
and modules are registered here, addresses validated. The behaviour over this state lives
beside it, one concept per module: the message cascade inside a unit (``_cascade.py``),
units (``_units.py``), blocks (``_blocks.py``), queries (``_queries.py``), and the message
routes (``_routes.py``, ``_native_routes.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict

from chains.contract._address import derive_address, validate_address
from chains.contract._contract import BlockEnv, Contract, ContractStorage, Env
from chains.contract._store import JournaledMap, Savepoint, SortedJournaledMap, Store
from chains.host._auth import AccountSequences
from chains.host._config import ChainConfig
from chains.host._errors import CodeExists, ModuleExists, UnknownModule
from chains.host._events import RawEvent
from chains.host._querier import ChainQuerier
from chains.modules._bank import Bank
from chains.modules._module import BlockHint, ChainModule, FoldingModule, ScheduledModule
from chains.modules._staking_module import StakingModule

if TYPE_CHECKING:
    from chains.host._committed import CommittedCopy
    from chains.host._durable import DurableStore

__all__ = ["ContractInfo", "MessageFilter"]

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


class ChainState:
    """The state of one chain and its wiring (see the module docstring).

    Not used on its own: `TxExecutor` is this state with its behaviour. The message route
    tables are filled by the executor, which builds the routes over the finished state.
    """

    querier: ChainQuerier
    # message type -> route, for emitted messages (``_routes.py``) and root-only native
    # messages (``_native_routes.py``)
    _routes: dict[type[Any], Callable[[str, Any], Any]]
    _native_routes: dict[type[Any], Callable[[str, Any], Any]]
    # both, for a root message (a native route wins, as in `UnitRunner._submit`)
    _root_routes: dict[type[Any], Callable[[str, Any], Any]]

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
        # each account's next transaction sequence (signed transactions, `_auth.py`)
        self.sequences = AccountSequences(self._store)

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
        # block scheduling (see `BlockLifecycle.block_due`): modules that say when their
        # hooks have work, hints for those that do not, and the scheduled modules due at the
        # next begin-block
        self._scheduled: dict[str, ScheduledModule] = {}
        # scheduled modules whose skipped boundaries still move their state on (no-op epochs)
        self._folding: dict[str, FoldingModule] = {}
        # `epoch_idle` answers, valid until a unit or a staking block step runs (the only
        # things that can write what an epoch check reads): the scheduler asks at every
        # clock stop
        self._idle_epochs: dict[str, bool] = {}
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
        # the savepoint of every unit, reused (see `UnitRunner._unit`)
        self._unit_point = Savepoint(0)
        # the current unit's emitted (source, event) pairs and instantiated addresses
        # (source, type, attributes): Event models are only built if someone reads them
        self._events: list[RawEvent] = []
        self._created: list[str] = []
        # the durable store the host commits each block boundary to (`Chain.attach_store`)
        self.durable: DurableStore | None = None
        # without a durable store: the in-memory committed copy a crash restores
        # (`Chain.keep_committed`; ``_committed.py``), committed at the same boundaries
        self.committed: CommittedCopy | None = None

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
            if isinstance(module, FoldingModule):
                self._folding[name] = module
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

    @property
    def has_message_filters(self) -> bool:
        """Whether a module checks the messages contracts emit (``check_message``): a path
        that routes a contract's message itself (the IBC module's direct sends from an ack
        callback) takes it only when none does."""
        return bool(self._filters)

    @property
    def block_env(self) -> BlockEnv:
        """The current block as contracts see it."""
        block = self._block_env
        if block is None:
            block = BlockEnv(chain_id=self.chain_id, height=self._height, time_s=self._time)
            self._block_env = block
        return block
