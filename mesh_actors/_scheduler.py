"""Callbacks at clock deadlines, run from a single task: the engine behind actor timers."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol

import anyio

from ._clock import Clock

__all__ = ["ScheduledCall", "Scheduler"]


class _ClockTimer(Protocol):
    def cancel(self) -> None: ...


def _released() -> None:
    """The callback of a cancelled call (never run: cancelled calls are skipped)."""


class ScheduledCall:
    """A handle on a scheduled callback; `cancel` is idempotent."""

    __slots__ = ("_scheduler", "_timer", "callback", "cancelled", "deadline")

    def __init__(
        self, deadline: float, callback: Callable[[], object], scheduler: Scheduler
    ) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False
        self._scheduler = scheduler
        self._timer: _ClockTimer | None = None

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            # a cancelled call may sit in a heap until its deadline: drop the callback now,
            # with whatever it holds (an ask's timeout holds the asked message, e.g. a whole
            # batch of packets, for the full ask timeout otherwise)
            self.callback = _released
            timer = self._timer
            if timer is not None:
                timer.cancel()
                self._scheduler._direct_live -= 1
            else:
                self._scheduler._note_cancelled()


class Scheduler:
    """Runs synchronous callbacks when the clock reaches their deadline.

    One task (`run`) sleeps on the clock until the earliest deadline, so a thousand timers cost
    one sleeping task, and the same code serves the real and the virtual clock. Callbacks due at
    the same deadline run in the order they were scheduled. A callback that raises is reported
    through ``on_error`` and does not stop the scheduler.
    """

    def __init__(self, clock: Clock, on_error: Callable[[BaseException], None]) -> None:
        self._clock = clock
        self._on_error = on_error
        # A clock that runs callbacks itself (the virtual clock) gets them directly: no
        # sleeping task and no cancel scope per deadline, which is most of the cost of a
        # virtual-time jump (one per block of an idle chain).
        direct = getattr(clock, "call_at", None)
        self._direct: Callable[[float, Callable[[], object]], _ClockTimer] | None = (
            direct if callable(direct) else None
        )
        self._direct_live = 0
        self._heap: list[tuple[float, int, ScheduledCall]] = []
        self._seq = itertools.count()
        self._changed = anyio.Event()
        self._sleeping_until: float | None = None
        self._cancelled = 0

    def call_at(self, deadline: float, callback: Callable[[], object]) -> ScheduledCall:
        call = ScheduledCall(deadline, callback, self)
        if self._direct is not None:
            call._timer = self._direct(deadline, lambda: self._fire_direct(call))
            self._direct_live += 1
            return call
        heapq.heappush(self._heap, (deadline, next(self._seq), call))
        if self._sleeping_until is None or deadline < self._sleeping_until:
            self._changed.set()
        return call

    def call_later(self, delay: float, callback: Callable[[], object]) -> ScheduledCall:
        return self.call_at(self._clock.now() + max(delay, 0.0), callback)

    def _fire_direct(self, call: ScheduledCall) -> None:
        if call.cancelled:
            return
        call.cancelled = True  # fired: a later cancel() must not count it again
        self._direct_live -= 1
        try:
            call.callback()
        except Exception as exc:  # a timer's failure must not kill all timers
            self._on_error(exc)

    def _note_cancelled(self) -> None:
        # Cancelled calls stay in the heap until popped; asks cancel almost every timeout
        # they set, so rebuild the heap once most of it is dead, keeping memory bounded.
        self._cancelled += 1
        heap = self._heap
        if self._cancelled > 1024 and self._cancelled * 2 > len(heap):
            self._heap = [entry for entry in heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled + self._direct_live

    async def run(self) -> None:
        """Serve callbacks until cancelled (when the clock runs them, just wait to be)."""
        if self._direct is not None:
            await anyio.sleep_forever()
        clock = self._clock
        while True:
            heap = self._heap
            while heap and heap[0][2].cancelled:
                heapq.heappop(heap)
                self._cancelled -= 1
            if heap and heap[0][0] <= clock.now():
                call = heapq.heappop(heap)[2]
                call.cancelled = True  # fired: a later cancel() must not count it again
                try:
                    call.callback()
                except Exception as exc:  # a timer's failure must not kill all timers
                    self._on_error(exc)
                continue
            self._changed = anyio.Event()
            if not heap:
                self._sleeping_until = None
                await self._changed.wait()
                continue
            deadline = heap[0][0]
            self._sleeping_until = deadline
            # Sleep until the deadline, or until an earlier callback is scheduled.
            with clock.move_on_after(deadline - clock.now()):
                await self._changed.wait()
            self._sleeping_until = None
