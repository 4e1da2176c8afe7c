"""Reconnect delays: exponential backoff with full jitter, from a seeded random stream."""

from __future__ import annotations

import math
import random

__all__ = ["ReconnectBackoff"]


class ReconnectBackoff:
    """The delay before each reconnect attempt: uniform in ``[0, min(maximum, initial *
    multiplier**n)]`` for the n-th consecutive failure ("full jitter").

    Jitter spreads the attempts of many dialers that lost the same peer at the same moment,
    so the peer is not hit by all of them at once when it comes back. ``rng`` makes the
    delays repeatable. `reset` after a success starts the sequence again.
    """

    __slots__ = ("_failures", "_initial", "_maximum", "_multiplier", "_rng")

    def __init__(
        self,
        *,
        initial: float = 0.05,
        maximum: float = 5.0,
        multiplier: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        for name, value in (("initial", initial), ("maximum", maximum)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if not (math.isfinite(multiplier) and multiplier >= 1):
            raise ValueError(f"multiplier must be >= 1, got {multiplier!r}")
        self._initial = initial
        self._maximum = maximum
        self._multiplier = multiplier
        self._rng = rng if rng is not None else random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last `reset`."""
        return self._failures

    def next_delay(self) -> float:
        """Count one more failure and return the delay before the next attempt."""
        exponent = min(self._failures, 64)  # beyond that the cap has long been reached
        self._failures += 1
        ceiling = min(self._maximum, self._initial * self._multiplier**exponent)
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        """Forget the failures (after a successful connection)."""
        self._failures = 0
