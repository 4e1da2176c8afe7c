"""What an actor sees of the runtime: ``self.ctx``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._ref import ActorRef

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from ._actor import Actor
    from ._cell import _Cell
    from ._clock import Clock
    from ._mailbox import MailboxConfig
    from ._supervision import SupervisorStrategy
    from ._system import ActorSystem
    from ._timers import Timers

__all__ = ["ActorContext"]

M = TypeVar("M")
C = TypeVar("C")


class ActorContext(Generic[M]):
    """The runtime services available to an actor, bound to that actor.

    Every method is meant to be called from the actor's own task (its handlers and hooks).
    """

    __slots__ = ("_cell", "remote")

    def __init__(self, cell: _Cell) -> None:
        self._cell = cell
        # Whether the message being handled came in through the transport, from another
        # actor system (``False`` outside a handler). Senders cannot set it: the receiving
        # system marks what its transport delivers, and the actor's loop copies that mark
        # here for each message (a plain attribute: a chain host reads it per transaction).
        self.remote = False

    @property
    def self_ref(self) -> ActorRef[M]:
        """A reference to this actor."""
        return self._cell.ref

    @property
    def system(self) -> ActorSystem:
        return self._cell.system

    @property
    def clock(self) -> Clock:
        return self._cell.system.clock

    @property
    def timers(self) -> Timers:
        """This actor's keyed timers; all are cancelled when it stops or restarts."""
        return self._cell.timers

    @property
    def sender(self) -> ActorRef[Any] | None:
        """The sender of the message being handled, or ``None`` (sent from outside an actor)."""
        env = self._cell.current
        if env is None or env.sender is None or env.sender.path.startswith("$"):
            return None
        return self._cell.system.ref(env.sender)

    @property
    def parent(self) -> ActorRef[Any] | None:
        parent = self._cell.parent
        return parent.ref if parent is not None else None

    @property
    def children(self) -> list[ActorRef[Any]]:
        return [child.ref for child in self._cell.children.values()]

    @property
    def log(self) -> FilteringBoundLogger:
        """A structlog logger bound to system and actor, and to the current message's type and
        correlation id while a handler runs (bound only when used)."""
        return self._cell.logger()

    def spawn(
        self,
        factory: Callable[[], Actor[C]],
        *,
        name: str | None = None,
        mailbox: MailboxConfig | None = None,
        strategy: SupervisorStrategy | None = None,
    ) -> ActorRef[C]:
        """Start a child actor supervised by this one (see `ActorSystem.spawn`)."""
        return self._cell.system._spawn(self._cell, factory, name, mailbox, strategy)

    def watch(self, ref: ActorRef[Any]) -> None:
        """Receive ``Terminated(address)`` when ``ref``'s actor stops (at once if it is gone)."""
        self._cell.system._watch(self._cell, ref)

    def unwatch(self, ref: ActorRef[Any]) -> None:
        """Stop watching ``ref``; a `Terminated` already queued may still arrive."""
        self._cell.system._unwatch(self._cell, ref)

    def stop(self, ref: ActorRef[Any] | None = None) -> None:
        """Stop this actor (after the current message) or one of its children."""
        if ref is None or ref.address == self._cell.address:
            self._cell.request_stop()
            return
        child = self._cell.children.get(ref.address.name)
        if child is None or child.address != ref.address:
            raise ValueError(f"{ref.address} is not a child of {self._cell.address}")
        child.request_stop()
