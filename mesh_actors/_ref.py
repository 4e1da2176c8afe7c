"""Actor references: how anyone talks to an actor, local or remote alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._address import Address
from ._envelope import Envelope

if TYPE_CHECKING:
    from ._cell import _Cell
    from ._system import ActorSystem

from ._current import current_cell

__all__ = ["ActorRef"]

M_contra = TypeVar("M_contra", contravariant=True)
R = TypeVar("R")


class ActorRef(Generic[M_contra]):
    """A handle on an actor, typed by the messages it accepts.

    ``ActorRef[Deposit | Withdraw]`` accepts either message; mypy rejects anything else. A ref
    is a value (equal by address) that stays valid across restarts of the actor. A ref to an
    actor of another actor system looks and behaves exactly the same: the system that made it
    routes the message through its transport.

    Inside a handler, the sending actor is recorded as the message's sender automatically.
    """

    __slots__ = ("_cell", "_system", "address")

    def __init__(self, address: Address, system: ActorSystem, cell: _Cell | None = None) -> None:
        self.address = address
        self._system = system
        self._cell = cell

    def tell_nowait(self, message: M_contra, *, sender: ActorRef[Any] | None = None) -> None:
        """Send ``message`` without waiting.

        Raises `MailboxFull` when a local recipient's mailbox is full under the ``FAIL`` or
        ``BACKPRESSURE`` policy (under ``DROP`` the message goes to dead letters instead), and
        `ActorSystemClosed` after the system shut down. A message to an actor that does not
        exist goes to the dead letters.
        """
        cell = self._cell
        if sender is None and cell is not None and not cell.dead:
            # Fast path: a local, live actor (the system is open while any actor is alive);
            # the mailbox append is inlined because this is the cost of a tell.
            current = current_cell.get()
            env = Envelope(self.address, message, current.address if current else None)
            mailbox = cell.mailbox
            if len(mailbox.queue) < mailbox.capacity:
                mailbox.queue.append(env)
                mailbox.received += 1
                getter = mailbox._getter
                if getter is not None:
                    mailbox._getter = None
                    getter.set()
                return
            cell.enqueue_nowait(env)
            return
        self._system._tell_nowait(self, message, sender)

    async def tell(self, message: M_contra, *, sender: ActorRef[Any] | None = None) -> None:
        """Send ``message``; under the ``BACKPRESSURE`` policy wait while the mailbox is full.

        Cancelling the wait leaves the message unsent.
        """
        cell = self._cell
        if sender is None and cell is not None and not cell.dead:
            # The same fast path as tell_nowait, repeated rather than shared: a helper call
            # would cost a measurable share of a tell.
            current = current_cell.get()
            env = Envelope(self.address, message, current.address if current else None)
            mailbox = cell.mailbox
            if len(mailbox.queue) < mailbox.capacity:
                mailbox.queue.append(env)
                mailbox.received += 1
                getter = mailbox._getter
                if getter is not None:
                    mailbox._getter = None
                    getter.set()
                return
            await cell.enqueue(env)
            return
        await self._system._tell(self, message, sender)

    def tell_many_nowait(
        self, messages: Sequence[M_contra], *, sender: ActorRef[Any] | None = None
    ) -> None:
        """Send each of ``messages``, in order, without waiting: what consecutive
        `tell_nowait` calls do, raising what they raise (the messages before the one that
        raised are sent), at a fraction of their cost when the recipient is a local, live
        actor with room for all of them (one append of all their envelopes). To a remote
        or stopped actor, or with ``sender`` given, it is those calls, one frame each.
        """
        cell = self._cell
        if sender is None and cell is not None and not cell.dead:
            mailbox = cell.mailbox
            queue = mailbox.queue
            if len(queue) + len(messages) <= mailbox.capacity:
                current = current_cell.get()
                address = self.address
                origin = current.address if current else None
                queue.extend([Envelope(address, message, origin) for message in messages])
                mailbox.received += len(messages)
                getter = mailbox._getter
                if getter is not None and messages:
                    mailbox._getter = None
                    getter.set()
                return
        for message in messages:
            self.tell_nowait(message, sender=sender)

    async def tell_many(
        self, messages: Sequence[M_contra], *, sender: ActorRef[Any] | None = None
    ) -> None:
        """Send each of ``messages``, in order: what consecutive `tell` calls do (under the
        ``BACKPRESSURE`` policy each waits while the mailbox is full), with the fast path
        of `tell_many_nowait` when all of them fit at once. Cancelling the wait leaves the
        message it waited for and the ones after it unsent."""
        cell = self._cell
        if (
            sender is None
            and cell is not None
            and not cell.dead
            and len(cell.mailbox.queue) + len(messages) <= cell.mailbox.capacity
        ):
            self.tell_many_nowait(messages)
            return
        for message in messages:
            await self.tell(message, sender=sender)

    @overload
    async def ask(self, message: M_contra, *, timeout: float | None = None) -> Any: ...
    @overload
    async def ask(
        self, message: M_contra, *, expect: type[R], timeout: float | None = None
    ) -> R: ...
    async def ask(
        self,
        message: M_contra,
        *,
        expect: type[Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send ``message`` and wait for the handler's return value.

        ``timeout`` (clock seconds) defaults to the system's ``ask_timeout``. Raises
        `AskTimeout`, `HandlerError` (the handler raised), `UnhandledMessage`,
        `ActorNotFound`, `ActorTerminated` (the actor stopped first), `MailboxFull`,
        `ActorSystemClosed`, or `UnexpectedReply` if ``expect`` is given and the reply is not
        an instance of it. Cancelling the caller abandons the ask; a reply that arrives later
        goes to the dead letters.
        """
        return await self._system._ask(self, message, expect, timeout)

    @property
    def name(self) -> str:
        return self.address.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and other.address == self.address

    def __hash__(self) -> int:
        return hash(self.address)

    def __repr__(self) -> str:
        return f"ActorRef({str(self.address)!r})"
