"""Time: the `Clock` protocol, the real clock, and a virtual clock tests drive.

Everything in mesh-actors that waits (ask timeouts, timers, backoff, transport delays, block
production) waits through a `Clock`, so the same code runs in real time or in virtual time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel
from anyio.lowlevel import RunVar

from ._backend import current_library

__all__ = ["Clock", "ClockDriver", "RealClock", "VirtualClock", "wait_all_tasks_blocked"]


@runtime_checkable
class Clock(Protocol):
    """A source of time and of waiting."""

    def now(self) -> float:
        """The current time in seconds (monotonic; the origin is the clock's own)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; ``0`` or less is a checkpoint. Cancellable."""

    async def sleep_until(self, deadline: float) -> None:
        """Wait until ``now() >= deadline``. Cancellable."""

    def fail_after(self, seconds: float | None) -> AbstractContextManager[anyio.CancelScope]:
        """A cancel scope that raises `TimeoutError` once ``seconds`` pass (``None``: never)."""

    def move_on_after(self, seconds: float | None) -> AbstractContextManager[anyio.CancelScope]:
        """A cancel scope that is cancelled silently once ``seconds`` pass (``None``: never)."""


class RealClock:
    """The event loop's clock (``anyio.current_time``); must be used inside a running loop."""

    def now(self) -> float:
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep_until(deadline)

    @contextmanager
    def fail_after(self, seconds: float | None) -> Iterator[anyio.CancelScope]:
        with anyio.fail_after(seconds) as scope:
            yield scope

    @contextmanager
    def move_on_after(self, seconds: float | None) -> Iterator[anyio.CancelScope]:
        with anyio.move_on_after(seconds) as scope:
            yield scope

    def __repr__(self) -> str:
        return "RealClock()"


@runtime_checkable
class ClockDriver(Protocol):
    """Work that runs *on* virtual time instead of by a timer per step (see
    `VirtualClock.add_driver`): e.g. a chain producing its blocks.

    Both methods are called by the clock, synchronously, while every task is blocked (or
    from the task calling `VirtualClock.advance`); they must not block or raise.
    """

    def next_deadline(self) -> float | None:
        """The next clock time the driver must be woken at *exactly* (its next step with
        effects others could observe), or ``None`` for none; it may lie in the past."""

    def advance_to(self, now: float) -> None:
        """Catch up: do every step due at or before ``now`` (the clock's new time)."""


class _Timer:
    __slots__ = ("_clock", "callback", "cancelled", "deadline", "fired", "queued")

    def __init__(
        self, deadline: float, callback: Callable[[], object], clock: VirtualClock
    ) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False
        self.fired = False
        self.queued = False  # out of the heap, waiting for its turn (deterministic clocks)
        self._clock = clock

    def cancel(self) -> None:
        if not self.cancelled and not self.fired:
            self.cancelled = True
            if not self.queued:
                self._clock._note_cancelled()


class VirtualClock:
    """Virtual time: it only moves when a test says so, or when nothing else can run.

    Time moves by `advance` (explicitly) or, inside `autojump`, by jumping straight to the
    earliest pending deadline whenever every task in the program is blocked. Timers due at the
    same instant fire in the order they were set, so a run is repeatable. A 21-day unbonding
    period therefore costs as much wall time as the work that happens in it.

    ``deterministic=True`` makes runs repeat on trio as well as on asyncio: trio runs each
    batch of ready tasks in a randomised order, so wake-ups this clock knows of (its timers,
    the runtime's own events, actor starts) then take turns instead (`call_in_turn`). Tasks
    that an application starts itself, and events it makes itself, still run in trio's order.

    Works on asyncio and trio. Under autojump every task must be waiting on something
    in-process (another task, this clock): a task blocked on real I/O looks idle and time would
    run ahead of it.

    **Drivers** (`add_driver`) are periodic work that would otherwise need one timer event
    per period, most of them doing nothing anyone observes (an idle chain's blocks): the
    clock stops at a driver's `ClockDriver.next_deadline` like at a timer, and whenever time
    moves, every driver first catches up to the new time (`ClockDriver.advance_to`), before
    the timers due then fire. So a driver can skip the steps in between and do them later,
    in one go, when time moves past them: nothing could have observed them meanwhile, as
    every task was blocked.
    """

    def __init__(self, start: float = 0.0, *, deterministic: bool = False) -> None:
        self._now = float(start)
        self._deterministic = deterministic
        # Wake-ups waiting for their turn (deterministic clocks on trio), oldest first.
        self._turns: deque[_Timer | Callable[[], object]] = deque()
        self._jumping = False
        self._heap: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self._timer_added: anyio.Event | None = None
        self._jumps = 0
        self._cancelled = 0
        self._drivers: list[ClockDriver] = []

    def now(self) -> float:
        return self._now

    @property
    def deterministic(self) -> bool:
        """Whether wake-ups take turns (see `call_in_turn`)."""
        return self._deterministic

    def _taking_turns(self) -> bool:
        # asyncio runs ready callbacks first in, first out: it needs no turns.
        return self._deterministic and current_library() == "trio"

    def call_in_turn(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` (a wake-up: synchronous, must not block) now, or, on a
        deterministic clock under trio, at the next point where every task is blocked, one
        such callback per point, in the order they were handed in.

        trio runs each batch of ready tasks in an order it randomises (to flush out hidden
        ordering assumptions), and offers no public way to seed that. A deterministic clock
        instead never lets two wake-ups it knows of happen together: the clock's timers,
        the runtime's own events (mailboxes, asks, actor starts) and zero-length sleeps wait
        their turn here, so at most one of those tasks is ready at a time and a run repeats
        exactly. Turns are given by whoever waits for idleness with the clock: `autojump`,
        `advance`, `run_until_idle` (and `wait_all_tasks_blocked` without an autojump).
        """
        if self._taking_turns():
            if not self._turns:
                _register_turn_taker(self)
            self._turns.append(callback)
        else:
            callback()

    def _take_turn(self) -> bool:
        """Run the oldest waiting wake-up; False if there was none."""
        turns = self._turns
        while turns:
            item = turns.popleft()
            if not turns:
                _unregister_turn_taker(self)  # registered again with its next wake-up
            if isinstance(item, _Timer):
                if item.cancelled:
                    continue
                item.fired = True
                item.callback()
            else:
                item()
            return True
        return False

    @property
    def jumps(self) -> int:
        """How many times time moved forward (for statistics and tests)."""
        return self._jumps

    def next_deadline(self) -> float | None:
        """The earliest pending deadline (timers and drivers), or ``None``."""
        self._drop_cancelled()
        deadline = self._heap[0][0] if self._heap else None
        for driver in self._drivers:
            due = driver.next_deadline()
            if due is not None and (deadline is None or due < deadline):
                deadline = due
        return deadline

    def add_driver(self, driver: ClockDriver) -> None:
        """Register ``driver`` (see the class docstring); it is caught up to now at once."""
        self._drivers.append(driver)
        driver.advance_to(self._now)
        self.driver_changed()

    def remove_driver(self, driver: ClockDriver) -> None:
        """Forget ``driver`` (no error if it is not registered)."""
        if driver in self._drivers:
            self._drivers.remove(driver)

    def driver_changed(self) -> None:
        """Tell the clock a driver's deadline may have moved earlier (autojump, if it was
        waiting for a first deadline, looks again)."""
        if self._timer_added is not None:
            self._timer_added.set()

    def call_at(self, deadline: float, callback: Callable[[], object]) -> _Timer:
        """Run ``callback`` (synchronous, must not block) when time reaches ``deadline``."""
        timer = _Timer(deadline, callback, self)
        heapq.heappush(self._heap, (deadline, next(self._seq), timer))
        if self._timer_added is not None:
            self._timer_added.set()
        return timer

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + seconds)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            if self._taking_turns():
                yielded = anyio.Event()
                self.call_in_turn(yielded.set)
                await yielded.wait()
            else:
                await anyio.lowlevel.checkpoint()
            return
        woken = anyio.Event()
        timer = self.call_at(deadline, woken.set)
        try:
            await woken.wait()
        finally:
            timer.cancel()

    @contextmanager
    def fail_after(self, seconds: float | None) -> Iterator[anyio.CancelScope]:
        with self.move_on_after(seconds) as scope:
            yield scope
        if scope.cancelled_caught:
            raise TimeoutError

    @contextmanager
    def move_on_after(self, seconds: float | None) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope() as scope:
            if seconds is None:
                yield scope
                return
            timer = self.call_at(self._now + max(seconds, 0.0), scope.cancel)
            try:
                yield scope
            finally:
                timer.cancel()

    def _note_cancelled(self) -> None:
        # Cancelled timers stay in the heap until they reach the top; asks cancel almost
        # every deadline they set, so rebuild the heap once most of it is dead.
        self._cancelled += 1
        heap = self._heap
        if self._cancelled > 1024 and self._cancelled * 2 > len(heap):
            self._heap = [entry for entry in heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def _drop_cancelled(self) -> None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1

    def _fire_next(self, limit: float) -> bool:
        """Catch the drivers up to the earliest deadline ``<= limit`` and fire every timer
        due then; return False if there is none."""
        self._drop_cancelled()
        heap = self._heap
        drivers = self._drivers
        if drivers:
            deadline = heap[0][0] if heap else math.inf
            for driver in drivers:
                due = driver.next_deadline()
                if due is not None and due < deadline:
                    deadline = due
            if deadline > limit or deadline == math.inf:
                return False
            if deadline > self._now:
                self._now = deadline
                self._jumps += 1
            now = self._now
            for driver in tuple(drivers):
                driver.advance_to(now)
        else:
            if not heap or heap[0][0] > limit:
                return False
            deadline = heap[0][0]
            if deadline > self._now:
                self._now = deadline
                self._jumps += 1
        # A callback may compact the heap (cancelling timers): re-read it every time.
        in_turn = self._taking_turns()
        while self._heap and self._heap[0][0] == deadline:
            timer = heapq.heappop(self._heap)[2]
            if timer.cancelled:
                self._cancelled -= 1
            elif in_turn:
                timer.queued = True
                self.call_in_turn(timer)  # type: ignore[arg-type]
            else:
                timer.fired = True
                timer.callback()
        return True

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing timers in deadline order.

        After each deadline's timers fire, waits until every task is blocked again, so work
        that a timer starts (and the timers that work sets) happens at the right instant.
        """
        if seconds < 0:
            raise ValueError("virtual time cannot go backwards")
        target = self._now + seconds
        await self._settle()
        while self._fire_next(target):
            await self._settle()
        if target > self._now:
            self._now = target
            self._jumps += 1
            for driver in tuple(self._drivers):
                driver.advance_to(target)

    async def run_until_idle(self) -> None:
        """Wait until every task is blocked (and, on a deterministic clock, every wake-up has
        had its turn), without moving time."""
        while True:
            await wait_all_tasks_blocked()
            if not self._turns:
                return
            if not self._jumping:
                self._take_turn()

    async def _settle(self) -> None:
        # Idle means: no other task can run *now*, as we are about to move time. A task woken
        # together with us may have run and made work, so check again after waking. Wake-ups
        # waiting for their turn go first, one per idle point; urgent idle-waiters never
        # give turns while we do, so two are never given at once.
        while True:
            await _wait_idle(_LAST)
            if self._take_turn():
                continue
            if _nothing_runnable():
                return

    async def _autojump(self) -> None:
        self._jumping = True
        try:
            await self._jump_forever()
        finally:
            self._jumping = False

    async def _jump_forever(self) -> None:
        while True:
            await self._settle()
            if not self._fire_next(float("inf")):
                self._timer_added = anyio.Event()
                if self.next_deadline() is None:
                    await self._timer_added.wait()
                self._timer_added = None

    @asynccontextmanager
    async def autojump(self) -> AsyncIterator[VirtualClock]:
        """While the block runs, jump to the next deadline whenever every task is blocked.

        Cancellation of the enclosing scope stops the jumping with it.
        """
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._autojump, name="mesh_actors.VirtualClock.autojump")
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now})"


async def wait_all_tasks_blocked() -> None:
    """Return once every other task in the program is blocked (waiting, not runnable).

    On trio this is trio's own scheduler query. On asyncio a task that can run always has a
    callback in the loop's ready queue, so after yielding, an empty ready queue means every
    other task is blocked. (anyio's generic version polls every 0.1 s of real time, which
    would make virtual time crawl.) Several tasks may wait at once; they are woken one at a
    time, each only when everything else is blocked.
    """
    while True:
        await _wait_idle(_URGENT)
        # Idle is not done while a deterministic clock holds wake-ups: wait for their turns
        # (given by its autojump; without one, give them here).
        waiting = [clock for clock in _turn_takers() if clock._turns]
        if not waiting:
            return
        for clock in waiting:
            if not clock._jumping:
                clock._take_turn()
                break


_turn_clocks: RunVar[list[VirtualClock]] = RunVar("mesh_actors_turn_clocks")


def _turn_takers() -> list[VirtualClock]:
    try:
        return _turn_clocks.get()
    except LookupError:
        return []


def _register_turn_taker(clock: VirtualClock) -> None:
    try:
        clocks = _turn_clocks.get()
    except LookupError:
        clocks = []
        _turn_clocks.set(clocks)
    if clock not in clocks:
        clocks.append(clock)


def _unregister_turn_taker(clock: VirtualClock) -> None:
    clocks = _turn_takers()
    if clock in clocks:
        clocks.remove(clock)


# Waiters are woken most urgent first. The autojump driver waits at _LAST: it must only move
# time when no other idle-waiter is left to act on the idleness first.
_URGENT = 0
_LAST = 1


class _TrioUrgent:
    """How many urgent idle-waiters a trio run has (trio wakes same-cushion waiters together,
    so the driver defers to them by count; a cushion would cost a millisecond of epoll)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_trio_urgent: RunVar[_TrioUrgent] = RunVar("mesh_actors_trio_urgent")


def _trio_urgent_counter() -> _TrioUrgent:
    try:
        return _trio_urgent.get()
    except LookupError:
        counter = _TrioUrgent()
        _trio_urgent.set(counter)
        return counter


def _nothing_runnable() -> bool:
    """Whether no other task can run right now (checked by the task that is running)."""
    if current_library() == "trio":
        import trio

        if _trio_urgent_counter().count:
            return False  # an urgent waiter woken with us has not run yet
        return bool(trio.lowlevel.current_statistics().tasks_runnable == 0)
    ready = getattr(asyncio.get_running_loop(), "_ready", None)
    return ready is not None and not ready


async def _wait_idle(priority: int) -> None:
    if current_library() == "trio":
        import trio.testing

        if priority == _LAST:
            await trio.testing.wait_all_tasks_blocked()
            return
        urgent = _trio_urgent_counter()
        urgent.count += 1
        try:
            await trio.testing.wait_all_tasks_blocked()
        finally:
            urgent.count -= 1
        return
    await _asyncio_wait_idle(priority)


class _IdleWatch:
    """Per event loop: the one task polling for idleness, and the tasks waiting on it.

    Two tasks that each polled the ready queue would always see each other's wake-up there
    and never return; so one task polls and the others wait on futures, which keeps them off
    the ready queue. On idleness the poller wakes the most urgent waiter only (possibly
    itself) and, if it leaves, hands the polling role to a remaining waiter.
    """

    __slots__ = ("polling", "seq", "waiters")

    def __init__(self) -> None:
        self.polling = False
        self.waiters: dict[tuple[int, int], asyncio.Future[bool]] = {}
        self.seq = itertools.count()

    def hand_over(self) -> None:
        """Make the oldest most-urgent waiter the poller (or nobody, if none waits)."""
        self.polling = False
        if self.waiters:
            key = min(self.waiters)
            self.waiters.pop(key).set_result(False)
            self.polling = True


_idle_watch: RunVar[_IdleWatch] = RunVar("mesh_actors_idle_watch")


async def _asyncio_wait_idle(priority: int) -> None:
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:  # an event loop without CPython's internals (uvloop): be conservative
        await anyio.wait_all_tasks_blocked()
        return
    try:
        watch = _idle_watch.get()
    except LookupError:
        watch = _IdleWatch()
        _idle_watch.set(watch)
    me = (priority, next(watch.seq))
    if watch.polling:
        future: asyncio.Future[bool] = loop.create_future()
        watch.waiters[me] = future
        try:
            chosen = await future
        except BaseException:
            if watch.waiters.pop(me, None) is None and future.done() and not future.result():
                watch.hand_over()  # we were made the poller just as we were cancelled
            raise
        if chosen:
            return
    watch.polling = True
    try:
        while True:
            await asyncio.sleep(0)
            if ready:
                continue
            best = min(watch.waiters, default=me)
            if best >= me:  # nobody more urgent waits: idleness is ours to act on
                watch.hand_over()
                return
            watch.waiters.pop(best).set_result(True)
    except BaseException:
        watch.hand_over()
        raise
