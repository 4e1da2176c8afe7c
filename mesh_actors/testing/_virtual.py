"""Run an actor system in virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .._backend import current_library
from .._clock import VirtualClock
from .._system import ActorSystem

__all__ = ["seed_scheduler", "virtual_system"]


def seed_scheduler(seed: int) -> None:
    """Seed the running backend's task-order randomness (trio only; asyncio is FIFO)."""
    if current_library() == "trio":
        from trio._core import _run

        _run._r.seed(seed)


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

    ``seed`` makes the interleaving of tasks repeatable on trio too. asyncio runs ready
    tasks in FIFO order, so a virtual-time run is already repeatable there; trio shuffles
    each batch of ready tasks with a private random generator, which this seeds (the same
    hook trio offers Hypothesis).
    """
    if seed is not None:
        seed_scheduler(seed)
    clock = VirtualClock(start)
    if not autojump:
        async with ActorSystem(name, clock=clock, **kwargs) as system:
            yield system
        return
    # Jumping must outlive the system, so that its shutdown also runs in virtual time.
    async with clock.autojump(), ActorSystem(name, clock=clock, **kwargs) as system:
        yield system
