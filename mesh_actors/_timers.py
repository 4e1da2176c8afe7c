"""Keyed timers of one actor."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from ._scheduler import ScheduledCall

if TYPE_CHECKING:
    from ._cell import _Cell

__all__ = ["Timers"]


class Timers:
    """Timers that send a message to their own actor, by key.

    Setting a timer under a key that is already active replaces it. Every timer is cancelled
    when the actor stops or restarts, so a message from a timer never reaches a later
    incarnation. Delays are clock seconds.
    """

    __slots__ = ("_calls", "_cell")

    def __init__(self, cell: _Cell) -> None:
        self._cell = cell
        self._calls: dict[Hashable, ScheduledCall] = {}

    def send_after(self, key: Hashable, delay: float, message: Any) -> None:
        """Send ``message`` to this actor once, ``delay`` seconds from now."""
        self.cancel(key)
        scheduler = self._cell.system._scheduler
        self._calls[key] = scheduler.call_later(delay, lambda: self._fire(key, message, None))

    def send_periodic(self, key: Hashable, interval: float, message: Any) -> None:
        """Send ``message`` every ``interval`` seconds (fixed rate, first after one interval)."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.cancel(key)
        scheduler = self._cell.system._scheduler
        self._calls[key] = scheduler.call_later(
            interval, lambda: self._fire(key, message, interval)
        )

    def _fire(self, key: Hashable, message: Any, interval: float | None) -> None:
        call = self._calls.get(key)
        if call is None:
            return
        if interval is None:
            del self._calls[key]
        else:
            scheduler = self._cell.system._scheduler
            self._calls[key] = scheduler.call_at(
                call.deadline + interval, lambda: self._fire(key, message, interval)
            )
        self._cell.system._deliver_from_timer(self._cell, message)

    def cancel(self, key: Hashable) -> bool:
        """Cancel the timer under ``key``; return whether one was active."""
        call = self._calls.pop(key, None)
        if call is None:
            return False
        call.cancel()
        return True

    def cancel_all(self) -> None:
        for call in self._calls.values():
            call.cancel()
        self._calls.clear()

    def is_active(self, key: Hashable) -> bool:
        return key in self._calls

    def __len__(self) -> int:
        return len(self._calls)
