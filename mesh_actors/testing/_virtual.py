"""Run an actor system in virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .._clock import VirtualClock
from .._system import ActorSystem

__all__ = ["seed_scheduler", "virtual_system"]


def seed_scheduler(seed: int) -> None:
    """Kept for compatibility; does nothing.

    It used to seed trio's scheduler through trio's private internals. trio has no public
    way to do that, and no longer needs to be: on a deterministic `VirtualClock`
    (``VirtualClock(deterministic=True)``, which ``virtual_system(seed=...)`` uses) wake-ups
    take turns, so a run repeats on trio whatever order trio picks. asyncio runs ready tasks
    first in, first out, and needs nothing.
    """
    del seed


@asynccontextmanager
async def virtual_system(
    name: str = "test",
    *,
    start: float = 0.0,
    autojump: bool = True,
    seed: int | None = None,
    **kwargs: Any,
) -> AsyncIterator[ActorSystem]:
    """An `ActorSystem` on a fresh `VirtualClock` (``system.clock``), auto-jumping by default.

    With ``autojump``, time jumps to the next deadline whenever every task is blocked, so
    ``await system.clock.sleep(21 * 86400)`` returns at once with the clock 21 days later.
    Extra keyword arguments go to `ActorSystem`.

    ``seed`` (any value) makes the interleaving of tasks repeatable on trio too: the clock is
    then deterministic (`VirtualClock.call_in_turn`: wake-ups take turns instead of running
    in the order trio randomises). asyncio runs ready tasks in FIFO order, so a virtual-time
    run is already repeatable there.
    """
    clock = VirtualClock(start, deterministic=seed is not None)
    if not autojump:
        async with ActorSystem(name, clock=clock, **kwargs) as system:
            yield system
        return
    # Jumping must outlive the system, so that its shutdown also runs in virtual time.
    async with clock.autojump(), ActorSystem(name, clock=clock, **kwargs) as system:
        yield system
