"""The chain's typed event log: every event a committed unit emitted, with where and when.

Contract responses, modules and the host itself emit `Event` values (a type and string
attributes) while a unit runs. Only when the unit commits do they become `ChainEvent` values,
stamped with the chain, block and position in the block, and published on the chain's event
stream; the events of anything rolled back are discarded (consumer.md C-8, C-9).
"""

from __future__ import annotations

import enum
from typing import ClassVar

import msgspec

from chains.contract._coin import Coin
from chains.contract._contract import Event

__all__ = ["BlockPhase", "ChainEvent"]


class BlockPhase(enum.StrEnum):
    """Which part of the block lifecycle (C-10) emitted an event."""

    BEGIN_BLOCK = "begin_block"
    TX = "tx"
    END_BLOCK = "end_block"


class ChainEvent(msgspec.Struct, frozen=True, gc=False):
    """One committed event of one chain: an immutable record, built positionally or by
    keyword (``ChainEvent(chain_id, height, ...)``), compared and hashed by value.

    It is a frozen ``msgspec.Struct`` the cyclic garbage collector does not track (issue
    16): the host builds one per event on the transaction path, and a named tuple (which
    the collector always tracks, its ``phase`` being an enum member) made those events
    most of what the collector scanned and promoted. It holds only strings, integers and
    tuples of strings, so it can never be part of a reference cycle.

    ``tx_index`` is the position of the atomic unit in its block (transactions and end-block
    sudo calls are numbered together from 0, in execution order); ``None`` for events of the
    begin/end-block hooks themselves; ``type`` and ``attributes`` are those of the emitted
    `Event` (also available as ``event``). ``source`` is who emitted it: a contract address, a
    module name, or ``"bank"``/``"staking"``/``"distribution"``/``"slashing"``/``"wasm"``
    for the host's own events. ``time`` is the block time in UNIX seconds.
    """

    chain_id: str
    height: int
    time: int
    tx_index: int | None
    phase: BlockPhase
    source: str
    type: str
    attributes: tuple[tuple[str, str], ...] = ()

    # the field names, as a named tuple had them (set below from ``__struct_fields__``)
    _fields: ClassVar[tuple[str, ...]]

    @property
    def event(self) -> Event:
        """The emitted `Event` (built on access: most events are never looked at)."""
        return Event(type=self.type, attributes=self.attributes)

    def get(self, key: str) -> str | None:
        """The first attribute named ``key``, or ``None``."""
        for k, v in self.attributes:
            if k == key:
                return v
        return None


ChainEvent._fields = ChainEvent.__struct_fields__


RawEvent = tuple[str, str, tuple[tuple[str, str], ...]]
"""An event as a running unit records it: ``(source, type, attributes)``. `Event` models
(and `ChainEvent` stamps) are only built when someone reads them."""


def as_events(raw: list[RawEvent]) -> tuple[Event, ...]:
    """The recorded events as `Event` models (for a reply, C-9)."""
    # the recorded events are already typed (`emit` takes an `Event`'s fields, the routes
    # write string attributes): the struct is built directly (one reply per epoch target)
    return tuple([Event(type_, attributes) for _, type_, attributes in raw])


def coins_text(coins: tuple[Coin, ...]) -> str:
    """Coins as an event attribute: ``"5stake"``, ``"5stake,7uosmo"``."""
    if len(coins) == 1:
        coin = coins[0]
        return f"{coin.amount}{coin.denom}"
    return ",".join([f"{c.amount}{c.denom}" for c in coins])
