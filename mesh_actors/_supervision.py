"""Supervision: what a parent does when a child fails."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff", "Directive", "Scope", "SupervisorStrategy"]


class Directive(enum.Enum):
    """A supervisor's decision about a failed child.

    - ``RESTART``: discard the instance (its timers and children go with it), build a fresh
      one from the same factory, keep the mailbox and the address.
    - ``RESUME``: keep the instance and its state; carry on with the next message.
    - ``STOP``: stop the child for good (watchers get ``Terminated``).
    - ``ESCALATE``: fail the parent with the same error; the grandparent decides.
    """

    RESTART = "restart"
    RESUME = "resume"
    STOP = "stop"
    ESCALATE = "escalate"


class Scope(enum.Enum):
    """Whom a parent's decision applies to: the failed child alone, or all its siblings too."""

    ONE_FOR_ONE = "one-for-one"
    ALL_FOR_ONE = "all-for-one"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before the n-th restart within the window: ``min(initial * factor**(n-1), maximum)``.

    The default restarts at once. Messages sent during the delay wait in the mailbox.
    """

    initial: float = 0.0
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int) -> float:
        if self.initial <= 0 or attempt < 1:
            return 0.0
        return float(min(self.initial * self.factor ** (attempt - 1), self.maximum))


def _always_restart(_: BaseException) -> Directive:
    return Directive.RESTART


@dataclass(frozen=True, slots=True)
class SupervisorStrategy:
    """How a child is supervised; given when the child is spawned.

    ``decider`` maps the error to a `Directive`. More than ``max_restarts`` restarts within
    ``within`` seconds (clock time) stop the child and escalate `RestartLimitExceeded` to the
    parent. ``scope`` is read from the failing child's strategy: ``ALL_FOR_ONE`` restarts or
    stops every sibling with it.
    """

    decider: Callable[[BaseException], Directive] = field(default=_always_restart)
    max_restarts: int = 3
    within: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    scope: Scope = Scope.ONE_FOR_ONE

    @classmethod
    def always(cls, directive: Directive, **kwargs: object) -> SupervisorStrategy:
        """A strategy that answers every error with ``directive``."""
        return cls(decider=lambda _: directive, **kwargs)  # type: ignore[arg-type]
