"""Run an actor system in virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .._clock import VirtualClock
from .._system import ActorSystem

__all__ = ["virtual_system"]


@asynccontextmanager
async def virtual_system(
    name: str = "test", *, start: float = 0.0, autojump: bool = True, **kwargs: Any
) -> AsyncIterator[ActorSystem]:
    """An `ActorSystem` on a fresh `VirtualClock` (``system.clock``), auto-jumping by default.

    With ``autojump``, time jumps to the next deadline whenever every task is blocked, so
    ``await system.clock.sleep(21 * 86400)`` returns at once with the clock 21 days later.
    Extra keyword arguments go to `ActorSystem`.
    """
    clock = VirtualClock(start)
    if not autojump:
        async with ActorSystem(name, clock=clock, **kwargs) as system:
            yield system
        return
    # Jumping must outlive the system, so that its shutdown also runs in virtual time.
    async with clock.autojump(), ActorSystem(name, clock=clock, **kwargs) as system:
        yield system
