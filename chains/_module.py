"""Native chain modules as the host sees them: custom messages, queries, block hooks.

The bank and staking modules are built into every chain; other modules (the mesh-security
module of a consumer chain, the IBC module, a price host) plug in through `ChainModule`.
A contract reaches a module with ``CustomMsg(module=name, msg=...)`` and
``deps.querier.custom(name, msg)``. Modules are sans-IO like contract cores: they keep their
state in the chain's journaled `Store`, so a failing transaction rolls them back too.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from chains._contract import BlockEnv, Event, Response

__all__ = ["ChainModule", "ModuleCall", "SudoCall"]


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
