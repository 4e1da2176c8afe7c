"""Bounded mailboxes with an overflow policy chosen per actor."""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from ._backend import EventLike
from ._envelope import Envelope

__all__ = ["Mailbox", "MailboxConfig", "MailboxStatistics", "OverflowPolicy"]


class OverflowPolicy(enum.Enum):
    """What happens to a message sent to a full mailbox.

    - ``BACKPRESSURE``: ``await tell`` waits for room (``tell_nowait`` raises `MailboxFull`).
    - ``DROP``: the new message goes to the dead letters; the sender is not told.
    - ``FAIL``: the sender gets `MailboxFull` at once.
    """

    BACKPRESSURE = "backpressure"
    DROP = "drop"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class MailboxConfig:
    """Capacity and overflow policy of one actor's mailbox."""

    capacity: int = 1024
    overflow: OverflowPolicy = OverflowPolicy.BACKPRESSURE

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("mailbox capacity must be at least 1")


@dataclass(frozen=True, slots=True)
class MailboxStatistics:
    """A snapshot of a mailbox's counters."""

    size: int
    capacity: int
    overflow: OverflowPolicy
    received: int
    dropped: int
    refused: int
    high_water: int  # the largest backlog the actor found when it came to take messages
    waiting_senders: int
    expired: int = 0  # asks taken out unhandled: their asker had stopped waiting


class Mailbox:
    """A FIFO of envelopes with a capacity; one consumer (the actor), many producers.

    Not a stream: the actor drains it in batches straight from the deque, which is what makes
    a tell cost little more than an append (``anyio`` memory streams yield on every call).
    """

    __slots__ = (
        "_closed",
        "_event",
        "_getter",
        "_putters",
        "capacity",
        "dropped",
        "expired",
        "high_water",
        "overflow",
        "queue",
        "received",
        "refused",
    )

    def __init__(
        self,
        config: MailboxConfig = MailboxConfig(),
        event: Callable[[], EventLike] = anyio.Event,
    ) -> None:
        self._event = event
        self.queue: deque[Envelope] = deque()
        self.capacity = config.capacity
        self.overflow = config.overflow
        self.received = 0
        self.dropped = 0
        self.refused = 0
        self.expired = 0
        self.high_water = 0
        self._getter: EventLike | None = None
        self._putters: deque[EventLike] = deque()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def full(self) -> bool:
        return len(self.queue) >= self.capacity

    def offer(self, envelope: Envelope) -> bool:
        """Append if there is room; return False (and change nothing) if full or closed."""
        queue = self.queue
        if self._closed or len(queue) >= self.capacity:
            return False
        queue.append(envelope)
        self.received += 1
        getter = self._getter
        if getter is not None:
            self._getter = None
            getter.set()
        return True

    async def wait_for_room(self) -> None:
        """Wait until the mailbox has room or is closed (FIFO among waiting senders)."""
        while not self._closed and len(self.queue) >= self.capacity:
            event = self._event()
            self._putters.append(event)
            try:
                await event.wait()
            except BaseException:
                # Pass our wake-up on, so a cancelled sender never swallows a free slot.
                if event.is_set():
                    self._wake_putter()
                else:
                    self._putters.remove(event)
                raise

    def _wake_putter(self) -> None:
        if self._putters:
            self._putters.popleft().set()

    def took(self) -> None:
        """Called by the consumer after popping: lets a waiting sender in."""
        if self._putters:
            self._putters.popleft().set()

    async def wait_nonempty(self) -> None:
        """Wait until there is a message, or the mailbox is woken by `wake` or `close`."""
        if self.queue or self._closed:
            return
        event = self._event()
        self._getter = event
        await event.wait()

    def wake(self) -> None:
        """Wake the consumer (for system signals that do not go through the queue)."""
        getter = self._getter
        if getter is not None:
            self._getter = None
            getter.set()

    def close(self) -> list[Envelope]:
        """Refuse further messages, wake everyone, and return what was still queued."""
        self._closed = True
        left = list(self.queue)
        self.queue.clear()
        while self._putters:
            self._putters.popleft().set()
        self.wake()
        return left

    def statistics(self) -> MailboxStatistics:
        return MailboxStatistics(
            size=len(self.queue),
            capacity=self.capacity,
            overflow=self.overflow,
            received=self.received,
            dropped=self.dropped,
            refused=self.refused,
            high_water=self.high_water,
            waiting_senders=len(self._putters),
            expired=self.expired,
        )
