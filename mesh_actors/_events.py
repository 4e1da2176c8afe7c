"""Typed system events, and the stream embedders subscribe to."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

import anyio

__all__ = [
    "ActorFailed",
    "ActorRestarted",
    "ActorStarted",
    "ActorStopped",
    "DeadLetter",
    "EventStream",
    "Subscription",
    "SystemEvent",
]


@dataclass(frozen=True, slots=True)
class ActorStarted:
    """An actor ran its ``on_start`` and takes messages."""

    address: str
    time: float


@dataclass(frozen=True, slots=True)
class ActorStopped:
    """An actor stopped for good; its watchers get `Terminated`."""

    address: str
    time: float


@dataclass(frozen=True, slots=True)
class ActorFailed:
    """An actor's handler or hook raised; ``directive`` is what its supervisor decided."""

    address: str
    error: BaseException
    directive: str
    time: float


@dataclass(frozen=True, slots=True)
class ActorRestarted:
    """An actor was replaced by a fresh instance after ``error`` (restart number ``count``)."""

    address: str
    error: BaseException
    count: int
    time: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be delivered or handled, with the reason.

    Reasons: ``"no-such-actor"``, ``"actor-stopped"``, ``"mailbox-full"``, ``"unhandled"``,
    ``"late-reply"`` (a reply after its ask timed out or was cancelled), ``"no-route"``.
    """

    recipient: str
    message: Any
    sender: str | None
    reason: str
    time: float


SystemEvent = ActorStarted | ActorStopped | ActorFailed | ActorRestarted | DeadLetter

E = TypeVar("E")
T = TypeVar("T")


class Subscription(Generic[E]):
    """One subscriber's view of an event stream: an async iterator of events.

    Events that arrive while the subscriber's buffer is full are dropped for this subscriber
    only and counted in `dropped`; publishers never wait for subscribers. Iteration ends after
    the stream (or the subscription) is closed and the buffered events are consumed.
    """

    def __init__(
        self, stream: EventStream[E], kinds: tuple[type[Any], ...] | None, buffer: int
    ) -> None:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        self._stream = stream
        self.kinds = kinds
        self.buffer = buffer
        self.dropped = 0
        self._events: deque[E] = deque()
        self._arrived: anyio.Event | None = None
        self._closed = False

    def _offer(self, event: E) -> None:
        if self.kinds is not None and not isinstance(event, self.kinds):
            return
        if len(self._events) >= self.buffer:
            self.dropped += 1
            return
        self._events.append(event)
        self._wake()

    def _offer_all(self, events: Sequence[E]) -> None:
        queue = self._events
        before = len(queue)
        room = self.buffer - before
        if self.kinds is None and len(events) <= room:
            queue.extend(events)
        else:
            for event in events:
                if self.kinds is not None and not isinstance(event, self.kinds):
                    continue
                if room <= 0:
                    self.dropped += 1
                    continue
                queue.append(event)
                room -= 1
        # `_wake`, inline; as with `_offer`, only when something arrived
        arrived = self._arrived
        if arrived is not None and len(queue) > before:
            self._arrived = None
            arrived.set()

    def _wake(self) -> None:
        arrived = self._arrived
        if arrived is not None:
            self._arrived = None
            arrived.set()

    async def receive(self) -> E:
        """The next event; raises ``anyio.EndOfStream`` once closed and drained.

        Cancellation loses nothing: the event stays buffered for the next call.
        """
        while not self._events:
            if self._closed:
                raise anyio.EndOfStream
            arrived = self._arrived = anyio.Event()
            await arrived.wait()
        return self._events.popleft()

    def receive_nowait(self) -> E:
        """The next event without waiting; raises ``anyio.WouldBlock`` or ``anyio.EndOfStream``."""
        if self._events:
            return self._events.popleft()
        if self._closed:
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    def drain(self) -> list[E]:
        """Every buffered event, without waiting."""
        events = list(self._events)
        self._events.clear()
        return events

    def __aiter__(self) -> Subscription[E]:
        return self

    async def __anext__(self) -> E:
        # an event already buffered is taken without creating `receive`'s coroutine: a
        # subscriber that keeps up drains its buffer here
        events = self._events
        if events:
            return events.popleft()
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Unsubscribe; already buffered events can still be received."""
        self._stream._subscribers.discard(self)
        self._closed = True
        self._wake()

    async def __aenter__(self) -> Subscription[E]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventStream(Generic[E]):
    """Fan-out of events to any number of subscribers; free when nobody listens."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription[E]] = set()

    @overload
    def subscribe(self, *, buffer: int = 10_000) -> Subscription[E]: ...
    @overload
    def subscribe(self, *kinds: type[T], buffer: int = 10_000) -> Subscription[T]: ...
    def subscribe(self, *kinds: type[Any], buffer: int = 10_000) -> Subscription[Any]:
        """Subscribe to every event, or only to instances of ``kinds``."""
        sub: Subscription[Any] = Subscription(self, kinds or None, buffer)
        self._subscribers.add(sub)
        return sub

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    def publish(self, event: E) -> None:
        """Hand ``event`` to every subscriber without waiting."""
        for sub in tuple(self._subscribers):
            sub._offer(event)

    def publish_all(self, events: Sequence[E]) -> None:
        """Hand each of ``events``, in order, to every subscriber without waiting: what
        `publish` does for each, with one wake-up per subscriber."""
        for sub in tuple(self._subscribers):
            sub._offer_all(events)

    def close(self) -> None:
        """End every subscription (their iterators finish after draining)."""
        for sub in tuple(self._subscribers):
            sub.close()
