"""A probe actor whose received messages a test can assert on."""

from __future__ import annotations

from collections import deque
from typing import Any, TypeVar, overload

import anyio

from .._actor import Actor
from .._mailbox import MailboxConfig
from .._ref import ActorRef
from .._system import ActorSystem

__all__ = ["ExpectationFailed", "TestProbe"]

T = TypeVar("T")


class ExpectationFailed(AssertionError):
    """A probe did not receive what the test expected within the (clock) time allowed."""


class _ProbeActor(Actor[Any]):
    mailbox = MailboxConfig(capacity=1_000_000)

    def __init__(self, probe: TestProbe) -> None:
        self._probe = probe

    def on_unhandled(self, message: Any) -> None:
        self._probe._received(message, self.ctx.sender)


class TestProbe:
    """An actor for tests: everything sent to `ref` is recorded for `expect_message`.

    Waiting is measured on the system's clock, so under a `VirtualClock` with autojump
    ``expect_no_message(60)`` costs no wall time::

        probe = TestProbe(system)
        actor.tell_nowait(Subscribe(to=probe.ref))
        event = await probe.expect_message(Deposited, timeout=5)
    """

    __test__ = False  # not a pytest test class

    def __init__(self, system: ActorSystem, name: str | None = None) -> None:
        self._system = system
        self._messages: deque[tuple[Any, ActorRef[Any] | None]] = deque()
        self._arrived = anyio.Event()
        self.ref: ActorRef[Any] = system.spawn(lambda: _ProbeActor(self), name=name)
        self.last_sender: ActorRef[Any] | None = None

    def _received(self, message: Any, sender: ActorRef[Any] | None) -> None:
        self._messages.append((message, sender))
        self._arrived.set()

    @property
    def pending(self) -> int:
        """How many received messages were not yet taken by an ``expect_*`` call."""
        return len(self._messages)

    async def _next(self, timeout: float) -> Any:
        clock = self._system.clock
        with clock.move_on_after(timeout):
            while not self._messages:
                self._arrived = anyio.Event()
                await self._arrived.wait()
        if not self._messages:
            raise ExpectationFailed(f"no message within {timeout}s (clock {clock.now()})")
        message, sender = self._messages.popleft()
        self.last_sender = sender
        return message

    @overload
    async def expect_message(self, kind: type[T], *, timeout: float = 3.0) -> T: ...
    @overload
    async def expect_message(self, kind: None = None, *, timeout: float = 3.0) -> Any: ...
    async def expect_message(self, kind: type[Any] | None = None, *, timeout: float = 3.0) -> Any:
        """The next message, which must arrive within ``timeout`` and be a ``kind`` if given.

        Raises `ExpectationFailed` otherwise.
        """
        message = await self._next(timeout)
        if kind is not None and not isinstance(message, kind):
            raise ExpectationFailed(f"expected {kind.__name__}, got {message!r}")
        return message

    async def expect_no_message(self, within: float = 1.0) -> None:
        """Wait ``within`` clock seconds; raise `ExpectationFailed` if any message arrives."""
        clock = self._system.clock
        with clock.move_on_after(within):
            while not self._messages:
                self._arrived = anyio.Event()
                await self._arrived.wait()
        if self._messages:
            raise ExpectationFailed(f"unexpected message {self._messages[0][0]!r}")

    async def receive_n(self, n: int, *, timeout: float = 3.0) -> list[Any]:
        """The next ``n`` messages, all within ``timeout`` in total."""
        clock = self._system.clock
        out: list[Any] = []
        with clock.move_on_after(timeout):
            while len(out) < n:
                out.append(await self._next(float("inf")))
        if len(out) < n:
            raise ExpectationFailed(f"got {len(out)} of {n} messages within {timeout}s")
        return out
