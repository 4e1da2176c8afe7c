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
from typing import Protocol

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


class Backend:
    """Native one-shot events and checkpoints for the running backend."""

    __slots__ = ("checkpoint", "event", "name")

    def __init__(
        self,
        name: str,
        event: Callable[[], EventLike],
        checkpoint: Callable[[], Awaitable[None]],
    ) -> None:
        self.name = name
        self.event = event
        self.checkpoint = checkpoint


def current_backend() -> Backend:
    """The `Backend` for the async library running the current task."""
    name = current_library()
    if name == "asyncio":
        loop = asyncio.get_running_loop()

        def event() -> EventLike:
            return _FutureEvent(loop)

        return Backend(name, event, _asyncio_checkpoint)
    return Backend(name, anyio.Event, anyio.lowlevel.checkpoint)


async def _asyncio_checkpoint() -> None:
    await asyncio.sleep(0)
