"""Errors of the chain host: routing, panics, read-only queries, the code and contract registry.

They join the flat `ChainError` hierarchy of ``_errors.py`` (same value semantics: compare by
name and data, ``to_dict()`` for replies). Like every chain error they abort the atomic unit
they happen in (consumer.md C-8, provider.md P-2) unless a reply catches them (C-9).
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "ChainHalted",
    "ChainNotRunning",
    "CodeExists",
    "CodeNotFound",
    "ContractNotFound",
    "ContractPanic",
    "ForeignStore",
    "InternalError",
    "InvalidComponent",
    "ModuleExists",
    "ModulePanic",
    "NestedUnit",
    "NoIbcModule",
    "QueryWrite",
    "StoreAttached",
    "StoreCorrupt",
    "StoreError",
    "StoreVersionMismatch",
    "UnknownSynchronousMode",
    "UndecodableMessage",
    "UnknownModule",
]


class ContractPanic(ChainError):
    """A contract core raised something that is not a `ChainError` (a bug, P-6).

    The host never lets such an exception escape: it is reported as this error, the unit
    is rolled back like for any other error, and the host keeps running. ``error`` is
    ``detail`` is ``"ExceptionType: message"``.
    """

    fields = ("contract", "entry_point", "detail")
    contract: str
    entry_point: str
    detail: str

    def __init__(self, contract: str, entry_point: str, detail: str) -> None:
        super().__init__(contract, entry_point, detail)


class ModulePanic(ChainError):
    """A chain module raised something that is not a `ChainError` (see `ContractPanic`)."""

    fields = ("module", "detail")
    module: str
    detail: str

    def __init__(self, module: str, detail: str) -> None:
        super().__init__(module, detail)


class InternalError(ChainError):
    """The host itself raised an unexpected exception inside a unit (a host bug).

    The unit is rolled back and the host keeps running.
    """

    fields = ("detail",)
    detail: str

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class NoIbcModule(ChainError):
    """An IBC message was emitted on a chain that has no module named ``"ibc"``."""

    fields = ("message_type",)
    message_type: str

    def __init__(self, message_type: str) -> None:
        super().__init__(message_type)


class UnknownModule(ChainError):
    """A custom message or query names a module this chain does not have (C-11)."""

    fields = ("module",)
    module: str

    def __init__(self, module: str) -> None:
        super().__init__(module)


class ModuleExists(ChainError):
    """A module with this name is already plugged into the chain."""

    fields = ("module",)
    module: str

    def __init__(self, module: str) -> None:
        super().__init__(module)


class InvalidComponent(ChainError):
    """A chain component could not be spawned under the host: its name is taken (by another
    component or a contract) or is not a valid actor name, or its factory failed."""

    fields = ("component", "reason")
    component: str
    reason: str

    def __init__(self, component: str, reason: str) -> None:
        super().__init__(component, reason)


class CodeExists(ChainError):
    """Another contract class is already registered under this code name."""

    fields = ("code",)
    code: str

    def __init__(self, code: str) -> None:
        super().__init__(code)


class QueryWrite(ChainError):
    """A query tried to change state (P-4, C-7: queries are read-only).

    ``target`` names what was queried (a contract address, or ``module:<name>``). The
    writes are rolled back before this error is raised.
    """

    fields = ("target",)
    target: str

    def __init__(self, target: str) -> None:
        super().__init__(target)


class ContractNotFound(ChainError):
    """No contract is deployed at this address on this chain."""

    fields = ("address",)
    address: str

    def __init__(self, address: str) -> None:
        super().__init__(address)


class CodeNotFound(ChainError):
    """No contract code is registered under this name on this chain."""

    fields = ("code",)
    code: str

    def __init__(self, code: str) -> None:
        super().__init__(code)


class UndecodableMessage(ChainError):
    """A raw protobuf (`StargateMsg`) message of a type this chain cannot decode; the host
    runs no message it cannot read (consumer.md C-50)."""

    fields = ("type_url",)
    type_url: str

    def __init__(self, type_url: str) -> None:
        super().__init__(type_url)


class NestedUnit(ChainError, RuntimeError):
    """A unit (transaction) started from inside a running unit: units do not nest; code
    inside a unit uses the executor's in-unit operations (``dispatch``, ``nested``,
    ``attempt``). A programming error, so also a ``RuntimeError``."""


class ChainNotRunning(ChainError, RuntimeError):
    """A `Chain`'s actor was used outside its ``async with Chain.start(...)`` block.

    Also a ``RuntimeError`` (a programming error, as in anyio's use-before-start)."""

    fields = ("chain_id",)
    chain_id: str

    def __init__(self, chain_id: str) -> None:
        super().__init__(chain_id)


class ChainHalted(ChainError):
    """A transaction reached a chain that produces no blocks (halted, `Chain.halt`).

    A halted chain's nodes still answer queries from the last state they have, but no
    transaction is included until blocks resume; here it is refused at once, without
    running (nothing is queued: the sender retries, as a client whose broadcast timed out
    would)."""

    fields = ("chain_id",)
    chain_id: str

    def __init__(self, chain_id: str) -> None:
        super().__init__(chain_id)


def panic_detail(exc: BaseException) -> str:
    """The ``detail`` of a panic error (`ContractPanic`, `ModulePanic`, `InternalError`) for
    an exception that is not a `ChainError`: its type name and message."""
    return f"{type(exc).__name__}: {exc}"


# -- the durable store (``_durable.py``) --------------------------------------------------------


class StoreError(ChainError):
    """Base of the durable store's errors (`chains.host.DurableStore`, `Chain.attach_store`):
    the chain's state is unchanged when one is raised."""


class StoreCorrupt(StoreError):
    """The file at ``path`` is not a chain store, is damaged (unreadable pages, undecodable
    rows, a missing block record), or its rows do not hash to the recorded app hash."""

    fields = ("path", "reason")
    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)


class ForeignStore(StoreError):
    """The store file at ``path`` belongs to chain ``found``, not ``expected``."""

    fields = ("path", "expected", "found")
    path: str
    expected: str
    found: str

    def __init__(self, path: str, expected: str, found: str) -> None:
        super().__init__(path, expected, found)


class StoreVersionMismatch(StoreError):
    """The store file at ``path`` has schema version ``found``, newer than ``supported``
    (written by a newer mesh-actors: this one cannot read it)."""

    fields = ("path", "found", "supported")
    path: str
    found: int
    supported: int

    def __init__(self, path: str, found: int, supported: int) -> None:
        super().__init__(path, found, supported)


class UnknownSynchronousMode(StoreError, ValueError):
    """``synchronous`` is not one of SQLite's modes the store offers (``modes``). Also a
    ``ValueError``, so code that caught the builtin keeps working."""

    fields = ("synchronous", "modes")
    synchronous: str
    modes: tuple[str, ...]

    def __init__(self, synchronous: str, modes: tuple[str, ...]) -> None:
        super().__init__(synchronous, tuple(modes))


class StoreAttached(StoreError):
    """The chain already has a durable store (``path``): attach one store, once."""

    fields = ("path",)
    path: str

    def __init__(self, path: str) -> None:
        super().__init__(path)
