"""The messages a chain host actor accepts: transactions, reads, administration, blocks.

Transactions (`ExecuteTx`, `InstantiateTx`, `SudoTx`, `SubmitTx`, `GovExecuteTx`,
`GovSudoTx`, `RunUnit`, and `TxBatch` of them) are answered with a `TxResult` (a batch: a
tuple of them); reads (`ReadState`) and administration (`RegisterCode`, `AddModule`) with a
`QueryResult`; `ProduceBlocks` with the new height. Chain errors travel as values in those
results, never as exceptions.

`RunUnit`, `ReadState`, `RegisterCode`, `AddModule` and `SpawnComponent` carry Python
callables or classes, so they only work inside one process (the JSON codec cannot rebuild a
callable, and the host refuses them from another actor system anyway); the others are plain
data. From another actor system the host runs only a `chains.contract.SignedTx` (see
``_host.py``, ``_signed.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from chains.contract._coin import Coin
from chains.contract._contract import Contract
from chains.contract._signing import SignedTx
from chains.host._executor import TxExecutor
from chains.modules._module import ChainModule
from mesh_actors import Actor, MailboxConfig, Message

__all__ = [
    "AddModule",
    "AttachStore",
    "BlockTick",
    "ExecuteTx",
    "GovExecuteTx",
    "GovSudoTx",
    "HostMsg",
    "HostTx",
    "InstantiateTx",
    "ProduceBlocks",
    "ReadState",
    "RegisterCode",
    "RunUnit",
    "SpawnComponent",
    "SubmitTx",
    "SudoTx",
    "TxBatch",
]


class ExecuteTx(Message):
    """``sender`` executes ``contract`` with ``msg``, attaching ``funds``."""

    type_name = "chains.host.execute"
    sender: str
    contract: str
    msg: Any
    funds: tuple[Coin, ...] = ()


class InstantiateTx(Message):
    """``sender`` deploys a contract of ``code``; the result data is its address."""

    type_name = "chains.host.instantiate"
    sender: str
    code: str
    msg: Any
    funds: tuple[Coin, ...] = ()
    label: str = ""
    admin: str | None = None


class SudoTx(Message):
    """The chain calls ``contract``'s ``sudo`` entry point."""

    type_name = "chains.host.sudo"
    contract: str
    msg: Any


class SubmitTx(Message):
    """A root `CosmosMsg` or native message (``_native_msgs``) signed by ``sender``."""

    type_name = "chains.host.submit"
    sender: str
    msg: Any


class GovExecuteTx(Message):
    """Governance executes ``contract`` as the gov account (`Unauthorized` otherwise)."""

    type_name = "chains.host.gov_execute"
    authority: str
    contract: str
    msg: Any
    funds: tuple[Coin, ...] = ()


class GovSudoTx(Message):
    """Governance makes a privileged sudo call (`Unauthorized` unless the gov account)."""

    type_name = "chains.host.gov_sudo"
    authority: str
    contract: str
    msg: Any


class RunUnit(Message):
    """A custom atomic unit: ``body(executor)`` runs inside a unit (in-process only).

    This is how other chain components (an IBC module delivering a packet) run their own
    transactions through the serial host.
    """

    type_name = "chains.host.run_unit"
    body: Callable[[TxExecutor], Any]


HostTx = ExecuteTx | InstantiateTx | SudoTx | SubmitTx | GovExecuteTx | GovSudoTx | RunUnit


class TxBatch(Message):
    """Several transactions, each its own atomic unit, in order, in the current block."""

    type_name = "chains.host.batch"
    txs: tuple[HostTx, ...]


class ReadState(Message):
    """A read of committed state: ``reader(executor)``, enforced read-only (in-process)."""

    type_name = "chains.host.read"
    reader: Callable[[TxExecutor], Any]


class RegisterCode(Message):
    """Register a contract class under its ``code`` name (in-process)."""

    type_name = "chains.host.register_code"
    contract_class: type[Contract]


class AddModule(Message):
    """Plug in the module ``factory(executor)`` returns (in-process)."""

    type_name = "chains.host.add_module"
    factory: Callable[[TxExecutor], ChainModule]


class SpawnComponent(Message):
    """Spawn ``factory()`` as a child actor of the host, named ``name`` (in-process).

    Chain components that serve the chain from outside transactions (the IBC gateway and
    its channel ends) live under the host this way, so the chain's actor tree is
    ``<chain>/<component>/...``. The host respawns every component after it restarts.
    Answered with a `QueryResult` whose value is the child's `ActorRef`.
    """

    type_name = "chains.host.spawn_component"
    name: str
    factory: Callable[[], Actor[Any]]
    mailbox: MailboxConfig | None = None


class AttachStore(Message):
    """Attach a durable store file to the chain (in-process; see `Chain.attach_store`).

    Answered with a `QueryResult` whose value is the height the chain resumed at, or
    ``None`` if the file was new.
    """

    type_name = "chains.host.attach_store"
    path: str
    synchronous: str


class ProduceBlocks(Message):
    """Produce ``count`` blocks now, one block time apart in chain time (a test fast path)."""

    type_name = "chains.host.produce_blocks"
    count: int = Field(ge=0)


class BlockTick(Message):
    """The host's own block timer: end the current block and begin the next."""

    type_name = "chains.host.block_tick"


HostMsg = (
    HostTx
    | SignedTx
    | TxBatch
    | ReadState
    | RegisterCode
    | AddModule
    | SpawnComponent
    | AttachStore
    | ProduceBlocks
    | BlockTick
)
