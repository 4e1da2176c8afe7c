"""What the chain host answers: the outcome of a unit, of a query, and of a block step.

Chain errors are values here (STYLE: "contract errors are values in replies"): a failed
transaction is a `TxResult` with ``ok=False`` and the named error, never an exception
thrown across the actor boundary. These are immutable records rather than pydantic
models: the host builds them on every transaction and block from values it has already
checked, so validation would only cost time. A `TxResult` is a frozen ``msgspec.Struct``
that the cyclic garbage collector does not track: it is built per transaction (a frozen
dataclass costs several times more to build) and, unlike the named tuple it was, it neither
triggers collections nor gets scanned and promoted by them (issue 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from chains.contract._errors import ChainError
from chains.host._events import ChainEvent
from mesh_actors import Message

__all__ = ["BlockResult", "QueryResult", "RemoteTxResult", "TxResult"]


class TxResult(msgspec.Struct, frozen=True, gc=False):
    """The outcome of one atomic unit (a transaction, a sudo call, an end-block call).

    On success ``data`` is the root call's result data (for an instantiation: the new
    contract's address) and ``events`` every event it committed, in emission order;
    ``contracts`` lists the addresses it instantiated. On failure ``error`` is the named
    error and nothing was committed: ``events`` and ``contracts`` are empty (C-8).
    ``height``/``time`` name the block it ran in, ``tx_index`` its position there.

    Untracked by the garbage collector, a result must not be part of a reference cycle: it
    is built after its unit ran, from the unit's values, and nothing it holds (``data``, the
    ``error`` and its traceback's frames) can refer back to it.
    """

    ok: bool
    data: Any
    error: ChainError | None
    events: tuple[ChainEvent, ...]
    contracts: tuple[str, ...]
    height: int
    time: int
    tx_index: int

    # the field names, as a named tuple had them (set below from ``__struct_fields__``)
    _fields: ClassVar[tuple[str, ...]]

    def unwrap(self) -> Any:
        """``data`` of a successful unit; raises the unit's `ChainError` otherwise."""
        if self.error is not None:
            raise self.error
        return self.data


TxResult._fields = TxResult.__struct_fields__


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The answer to a query or an administrative request: ``value`` or the ``error``."""

    ok: bool
    value: Any = None
    error: ChainError | None = None

    def unwrap(self) -> Any:
        """``value``; raises the `ChainError` if the request failed."""
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What one begin-block or end-block step did (C-10).

    ``events`` are the committed events of the block hooks (staking, modules) followed by
    those of the end-block sudo calls; ``failures`` lists ``(hook, error)`` for every hook
    that failed and was rolled back (the block goes on, C-52); ``sudo_results`` holds one
    `TxResult` per sudo call a module's end-blocker requested, in execution order.
    """

    height: int
    time: int
    events: tuple[ChainEvent, ...] = ()
    failures: tuple[tuple[str, ChainError], ...] = ()
    sudo_results: tuple[TxResult, ...] = ()


class RemoteTxResult(Message):
    """What the host answers a transaction from another actor system: a `TxResult` in a
    form the wire carries. ``error`` is the error's class name (``"SequenceMismatch"``),
    ``detail`` its text; ``data`` is the result data's text (``repr``), for display only."""

    type_name = "chains.host.remote_tx_result"
    ok: bool
    error: str | None = None
    detail: str = ""
    data: str = ""
    height: int
    tx_index: int

    @classmethod
    def of(cls, result: TxResult) -> RemoteTxResult:
        """The wire form of ``result``."""
        error = result.error
        return cls(
            ok=result.ok,
            error=None if error is None else type(error).__name__,
            detail="" if error is None else str(error),
            data="" if result.data is None else repr(result.data),
            height=result.height,
            tx_index=result.tx_index,
        )
