"""Native chain modules as the host sees them: custom messages, queries, block hooks.

The bank and staking modules are built into every chain; other modules (the mesh-security
module of a consumer chain, the IBC module, a price host) plug in through `ChainModule`.
A contract reaches a module with ``CustomMsg(module=name, msg=...)`` and
``deps.querier.custom(name, msg)``. Modules are sans-IO like contract cores: they keep their
state in the chain's journaled `Store`, so a failing transaction rolls them back too.

A module whose block hooks are mostly idle implements `ScheduledModule` as well: the host
then calls its hooks only at the heights it names, and a chain whose modules all have
nothing due can produce its idle blocks late, in one go (see `TxExecutor.block_due`).

A module that needs more of its chain than its store (run contract code, read the contract
registry) is written against `ModuleHost`, the narrow view of the host it uses, not against
the executor: the executor satisfies it structurally (this room sits below the host), and a
test can hand the module a scripted host instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

from chains.contract._contract import BlockEnv, Env, Event, Response
from chains.contract._errors import ChainError
from chains.contract._store import Store
from chains.modules._staking_module import StakingModule

T = TypeVar("T")

__all__ = [
    "BlockHint",
    "ChainModule",
    "ContractRecord",
    "FoldingModule",
    "IdleEpochContract",
    "ModuleCall",
    "ModuleHost",
    "ScheduledModule",
    "SudoCall",
]


class ModuleCall(BaseModel):
    """The context of one message to a module: the block and the calling address."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    block: BlockEnv
    sender: str


class SudoCall(BaseModel):
    """A privileged call into a contract that a module schedules (e.g. the epoch, C-56).

    The host runs each one as its own atomic unit after the module's block hook; a failure
    reverts that call only and is reported as an event.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    contract: str
    msg: Any


@runtime_checkable
class ChainModule(Protocol):
    """A native module plugged into a chain host."""

    name: str

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """Execute a custom message; raise a `ChainError` to fail the (sub-)message."""

    def query(self, block: BlockEnv, msg: Any) -> Any:
        """Answer a custom query from committed-or-current state; never writes."""

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """Run at the start of every block (after staking's own begin block, C-10)."""

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """Run at the end of every block (after staking's end block, C-10); return the sudo
        calls the host must now run, in order."""


@runtime_checkable
class ScheduledModule(Protocol):
    """A module that knows at which heights its block hooks have work (optional, beside
    `ChainModule`)."""

    def next_due_height(self, block: BlockEnv) -> int | None:
        """The lowest height ``>= block.height`` whose end-block (or the begin-block after
        it) has work for this module, or ``None`` if it has none until a transaction or a
        staking hook gives it some. Asked after staking's end-block of ``block``; must be
        cheap and must not write.

        The promise it makes: at any other height its ``end_block`` would return no calls
        and change nothing, and its ``begin_block`` would return no events and change
        nothing. The host relies on it: a module's hooks for block ``h`` (its end-block and
        the next begin-block) run only if the answer at ``h`` is ``<= h``.
        """


@runtime_checkable
class FoldingModule(Protocol):
    """A `ScheduledModule` whose idle boundaries still change its state, in a way it can
    apply for a whole run of blocks at once (optional): the no-op epochs of the mesh-security
    module, whose repeating tasks move on by one epoch each (phase-anchored: task height
    ``h`` becomes ``h + k * epoch_length``)."""

    def fold_idle(self, height: int) -> None:
        """Apply, in closed form, what ending every block up to and including ``height``
        does to this module's state while its `next_due_height` says nothing is due there
        (the host calls it for blocks whose hooks it skips, one by one or a run at a time,
        with the same outcome). Writes only the store; must not raise for a run without
        due work."""


@runtime_checkable
class IdleEpochContract(Protocol):
    """A contract core that can tell a no-op epoch from a real one (optional).

    A scheduler may then skip its ``handle_epoch`` sudo call (and fold a run of them into
    the idle fast-forward) when `epoch_is_idle` is true: the call would have changed no
    state and sent nothing, so only its ``wasm``/``sudo`` event is not emitted.
    """

    def epoch_is_idle(self, env: Env) -> bool:
        """Whether ``handle_epoch`` at ``env`` would write no changed value, send no
        message and emit no event of its own. Reads only."""


BlockHint = Callable[[BlockEnv], "int | None"]
"""For a module that is not a `ScheduledModule`: the lowest height ``>= block.height`` at
whose block boundary it does something another party could observe (events, sudo calls,
notices), or ``None``. Unlike `ScheduledModule.next_due_height` it does not let the host skip
the module's hooks, only tell idle blocks (whose production may be deferred) from due ones
(see `TxExecutor.set_block_hint`)."""


class ContractRecord(Protocol):
    """What a module reads of a deployed contract's registry record."""

    @property
    def address(self) -> str:
        """The contract's address."""
        ...

    @property
    def code(self) -> str:
        """The name of the code it was instantiated from."""
        ...


class ModuleHost(Protocol):
    """The chain host as a module sees it: only what modules use (the executor satisfies it).

    Calls that run contract code (``sudo_contract``, ``attempt``) may only be made inside a
    unit, i.e. from a module's message handler, block hook or staking hook.
    """

    @property
    def store(self) -> Store:
        """The chain's journaled store (a module keeps its state there, C-8)."""
        ...

    @property
    def staking(self) -> StakingModule:
        """The native staking, slashing and distribution modules (hooks are added here)."""
        ...

    @property
    def gov_address(self) -> str:
        """The governance module account (the sender of privileged messages)."""
        ...

    def contract_info(self, address: str) -> ContractRecord | None:
        """The registry record of the contract at ``address``, or ``None``."""
        ...

    def query_contract(self, address: str, msg: Any) -> Any:
        """A contract's ``query`` entry point, read-only; raises what the query raises."""
        ...

    def sudo_contract(self, contract: str, msg: Any) -> Any:
        """In a unit: run ``contract``'s ``sudo`` entry point and its messages."""
        ...

    def attempt(self, body: Callable[..., T], *args: Any) -> tuple[T | None, ChainError | None]:
        """In a unit: run ``body(*args)`` in a nested savepoint, catching a `ChainError`."""
        ...

    def emit(self, source: str, event: Event) -> None:
        """Record an event of the running unit (kept only if the unit commits)."""
        ...
