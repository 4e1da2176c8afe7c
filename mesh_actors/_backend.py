"""The few primitives on the per-message path, specialised per async backend.

anyio's portable ``Event`` and ``checkpoint`` look up the running backend on every call and
wrap the native primitive; on the hot path (one wake-up per ask, one checkpoint per batch)
that costs more than the actor's own work. These are the native equivalents, chosen once
per actor system.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import anyio.lowlevel

__all__ = ["Backend", "EventLike", "current_backend", "current_library"]


def current_library() -> str:
    """``"trio"`` or ``"asyncio"``: the async library running the current task.

    Asked of the libraries themselves (``trio.lowlevel.in_trio_run``, the running asyncio
    loop) rather than through ``sniffio``, which anyio no longer requires and which we do not
    declare. trio is only consulted if something imported it already: a program that never
    uses trio never pays for importing it. Raises ``RuntimeError`` outside any event loop.
    """
    if "trio" in sys.modules:
        import trio.lowlevel

        if trio.lowlevel.in_trio_run():
            return "trio"
    asyncio.get_running_loop()  # raises RuntimeError when no loop runs in this thread
    return "asyncio"


class EventLike(Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self) -> Awaitable[object]: ...


class _FutureEvent:
    """A one-shot event that is a bare asyncio future (awaiting it creates no coroutine)."""

    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future: asyncio.Future[None] = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    def is_set(self) -> bool:
        return self._future.done()

    def wait(self) -> Awaitable[object]:
        return self._future


class _TurnEvent:
    """A one-shot event whose waiter is woken in its turn (see `VirtualClock.call_in_turn`)."""

    __slots__ = ("_clock", "_native", "_set")

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._native = anyio.Event()
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._clock.call_in_turn(self._native.set)

    def is_set(self) -> bool:
        return self._set

    def wait(self) -> Awaitable[object]:
        return self._native.wait()


class Backend:
    """Native one-shot events and checkpoints for the running backend.

    ``in_turn``: wake-ups take turns on a deterministic virtual clock (trio only), so
    actors also start in turn, in the order they were spawned.
    """

    __slots__ = ("checkpoint", "event", "in_turn", "name")

    def __init__(
        self,
        name: str,
        event: Callable[[], EventLike],
        checkpoint: Callable[[], Awaitable[None]],
        in_turn: bool = False,
    ) -> None:
        self.name = name
        self.event = event
        self.checkpoint = checkpoint
        self.in_turn = in_turn


def current_backend(clock: object = None) -> Backend:
    """The `Backend` for the async library running the current task (taking turns if
    ``clock`` is a deterministic `VirtualClock` and the library is trio)."""
    name = current_library()
    if name == "trio" and getattr(clock, "deterministic", False) is True:

        def turn_event() -> EventLike:
            return _TurnEvent(clock)

        async def turn_checkpoint() -> None:
            event = _TurnEvent(clock)
            event.set()
            await event.wait()

        return Backend(name, turn_event, turn_checkpoint, in_turn=True)
    if name == "asyncio":
        loop = asyncio.get_running_loop()

        def event() -> EventLike:
            return _FutureEvent(loop)

        return Backend(name, event, _asyncio_checkpoint)
    return Backend(name, anyio.Event, anyio.lowlevel.checkpoint)


async def _asyncio_checkpoint() -> None:
    await asyncio.sleep(0)
