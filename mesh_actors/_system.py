"""The actor system: owns the actors' tasks, routes envelopes, and shuts down in order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel

from ._actor import Actor
from ._address import Address, check_name
from ._backend import Backend, EventLike, current_backend
from ._cell import _Cell, _Guardian
from ._clock import Clock, RealClock
from ._current import current_cell
from ._envelope import Envelope, EnvelopeKind
from ._errors import (
    ActorNotFound,
    ActorSystemClosed,
    ActorTerminated,
    AskTimeout,
    HandlerError,
    InvalidName,
    MailboxFull,
    MeshActorsError,
    NameTaken,
    NoRoute,
    UnexpectedReply,
)
from ._events import DeadLetter, EventStream, Subscription, SystemEvent
from ._failure import Failure
from ._logging import get_logger
from ._mailbox import MailboxConfig, MailboxStatistics
from ._message import Terminated
from ._ref import ActorRef
from ._remote import Endpoint, Network
from ._scheduler import Scheduler
from ._supervision import SupervisorStrategy
from ._watch import Unwatch, Watch

__all__ = ["ActorSystem"]

M = TypeVar("M")

_TELL = EnvelopeKind.TELL
_ASK = EnvelopeKind.ASK
_REPLY = EnvelopeKind.REPLY
_FAILURE = EnvelopeKind.FAILURE
_REPLY_PATH = "$reply"
_ASK_PATH = "$ask"
_WATCH_PATH = "$watch"


class _PendingAsk:
    __slots__ = ("error", "event", "result")

    def __init__(self, event: EventLike) -> None:
        self.event = event
        self.result: Any = None
        self.error: BaseException | None = None


class _Inbound:
    """The face an actor system shows its transport (kept off the public API)."""

    __slots__ = ("_system",)

    def __init__(self, system: ActorSystem) -> None:
        self._system = system

    async def deliver(self, envelope: Envelope) -> None:
        if envelope.budget is not None:  # an ask's deadline, re-anchored on our clock
            envelope = envelope.arrived(self._system._now())
        # everything the transport hands in came from another actor system (see Envelope)
        envelope.remote = True
        await self._system._deliver_local(envelope)

    def deliver_nowait(self, envelope: Envelope) -> None:
        if envelope.budget is not None:
            envelope = envelope.arrived(self._system._now())
        envelope.remote = True
        self._system._deliver_local_nowait(envelope, from_remote=True)


def _fast_now(clock: Clock, backend: Backend) -> Callable[[], float]:
    """``clock.now`` as the cheapest call giving the same value: asks read the clock twice
    (to set their deadline and to check it), and anyio's ``current_time`` looks up the
    running backend on every call."""
    if type(clock) is RealClock and backend.name == "asyncio":
        return asyncio.get_running_loop().time
    if type(clock) is RealClock and backend.name == "trio":
        import trio

        now: Callable[[], float] = trio.current_time
        return now
    return clock.now


class ActorSystem:
    """A named set of actors sharing a clock, a task group and (optionally) a transport.

    Use it as an async context manager; leaving the block shuts the system down in order:
    top-level actors stop youngest first, each after its own children; asks still pending then
    fail with `ActorSystemClosed`; the transport endpoint closes; event subscriptions end::

        async with ActorSystem("osmosis") as system:
            counter = system.spawn(Counter, name="counter")
            await counter.ask(Increment(by=2))

    Arguments: ``clock`` (default `RealClock`), ``transport`` (anything with
    ``attach(name, inbound)``, e.g. ``transport.InMemoryNetwork``), ``ask_timeout`` (default
    timeout of every ask, clock seconds), ``stop_timeout`` (how long one actor's stop may take
    during shutdown before it is abandoned), ``guardian_strategy`` (the default strategy of
    top-level actors), ``debug`` (log every message handled: costs time per message),
    ``drop_expired`` (default on: an ask whose asker has stopped waiting is taken out of the
    mailbox unhandled, counted in `MailboxStatistics.expired` and published as a
    `DeadLetter` with reason ``"expired"``, instead of being handled for a reply nobody
    reads; off, every ask is handled however late, as before), ``failure_log_window``
    (clock seconds: an actor's repeated failures of one exception type are logged once in
    full, then summarised as a count when the window closes or the actor stops).
    """

    def __init__(
        self,
        name: str,
        *,
        clock: Clock | None = None,
        transport: Network | None = None,
        ask_timeout: float = 5.0,
        stop_timeout: float = 10.0,
        guardian_strategy: SupervisorStrategy | None = None,
        debug: bool = False,
        drop_expired: bool = True,
        failure_log_window: float = 10.0,
    ) -> None:
        self.name = check_name(name, "system")
        self.drop_expired = drop_expired
        self.failure_log_window = failure_log_window
        self.clock: Clock = clock if clock is not None else RealClock()
        self.ask_timeout = ask_timeout
        self.stop_timeout = stop_timeout
        self.debug = debug
        self.events: EventStream[SystemEvent] = EventStream()
        self.log = get_logger("mesh_actors", system=name)
        self._network = transport
        self._endpoint: Endpoint | None = None
        self._cells: dict[str, _Cell] = {}
        self._guardian = _Guardian(self)
        self._default_strategy = guardian_strategy or SupervisorStrategy()
        self._asks: dict[int, _PendingAsk] = {}
        self._corr = itertools.count(1)
        self._anon = itertools.count(1)
        self._task_group: anyio.abc.TaskGroup | None = None
        self._backend: Backend = Backend("unstarted", anyio.Event, anyio.lowlevel.checkpoint)
        self._now: Callable[[], float] = self.clock.now
        self._scheduler = Scheduler(self.clock, self._timer_error)
        self._ask_address = Address(name, _ASK_PATH)
        self._reply_address = Address(name, _REPLY_PATH)
        self._inbound = _Inbound(self)
        self._open = False
        self._closing = False
        self.dead_letter_count = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> ActorSystem:
        if self._open or self._closing:
            raise RuntimeError("an ActorSystem can be entered only once")
        self._backend = current_backend(self.clock)
        self._now = _fast_now(self.clock, self._backend)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        tg.start_soon(self._scheduler.run, name=f"{self.name}:scheduler")
        self._open = True
        if self._network is not None:
            try:
                self._endpoint = await self._network.attach(self.name, self._inbound)
            except BaseException:
                self._open = False
                tg.cancel_scope.cancel()
                await tg.__aexit__(None, None, None)
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self.shutdown()
        tg = self._task_group
        assert tg is not None
        tg.cancel_scope.cancel()
        return await tg.__aexit__(exc_type, exc, tb)

    async def shutdown(self) -> None:
        """Stop every actor (children before parents), fail pending asks, detach the transport.

        Idempotent. Runs shielded from cancellation, bounded by ``stop_timeout`` per actor.
        """
        if self._closing:
            return
        self._closing = True
        with anyio.CancelScope(shield=True):
            for cell in reversed(list(self._guardian.children.values())):
                cell.request_stop()
                with self.clock.move_on_after(self.stop_timeout):
                    await cell.terminated.wait()
            self._open = False
            for pending in self._asks.values():
                if not pending.event.is_set():
                    pending.error = ActorSystemClosed(f"actor system {self.name} shut down")
                    pending.event.set()
            self._asks.clear()
            if self._endpoint is not None:
                await self._endpoint.aclose()
            self.events.close()

    @property
    def running(self) -> bool:
        return self._open and not self._closing

    # -- spawning and lookup --------------------------------------------------------------

    def spawn(
        self,
        factory: Callable[[], Actor[M]],
        *,
        name: str | None = None,
        mailbox: MailboxConfig | None = None,
        strategy: SupervisorStrategy | None = None,
    ) -> ActorRef[M]:
        """Start a top-level actor and return its reference.

        ``factory`` builds the actor (an `Actor` subclass, or any zero-argument callable
        returning one, e.g. ``functools.partial(Vault, denom="uosmo")``); a restart calls it
        again. ``name`` must be unique among its siblings (`NameTaken`); without one a name
        like ``$3`` is generated. ``mailbox`` overrides the class's `MailboxConfig` (which is
        only found when ``factory`` is the class itself: pass ``mailbox=`` with a lambda),
        ``strategy`` the system's default supervision. The actor starts running in the
        background; messages sent to it right away are queued.
        """
        return self._spawn(None, factory, name, mailbox, strategy)

    def _spawn(
        self,
        parent: _Cell | None,
        factory: Callable[[], Actor[M]],
        name: str | None,
        mailbox: MailboxConfig | None,
        strategy: SupervisorStrategy | None,
    ) -> ActorRef[M]:
        if not self.running:
            raise ActorSystemClosed(f"actor system {self.name} is not running")
        siblings = parent.children if parent is not None else self._guardian.children
        if name is None:
            name = f"${next(self._anon)}"
        else:
            check_name(name)
        if name in siblings:
            raise NameTaken(f"{name!r} is taken under {parent.address if parent else self.name}")
        path = f"{parent.address.path}/{name}" if parent is not None else name
        address = Address(self.name, path)
        if mailbox is None:
            mailbox = getattr(factory, "mailbox", None)
            if not isinstance(mailbox, MailboxConfig):
                mailbox = MailboxConfig()
        cell = _Cell(self, parent, address, factory, strategy or self._default_strategy, mailbox)
        if self._backend.in_turn:
            # Actors start in their turn, in spawn order, not in the order trio picks.
            cell.go = self._backend.event()
            cell.go.set()
        siblings[name] = cell
        self._cells[path] = cell
        assert self._task_group is not None
        self._task_group.start_soon(cell.run, name=f"actor:{address}")
        return cell.ref

    def lookup(self, path: str) -> ActorRef[Any]:
        """The reference of the live local actor at ``path``; raise `ActorNotFound`."""
        cell = self._cells.get(path)
        if cell is None or not cell.alive:
            raise ActorNotFound(f"{self.name}/{path}")
        return cell.ref

    def ref(self, address: Address | str) -> ActorRef[Any]:
        """A reference to ``address`` (``system/path``), local or on another system.

        No check is made that the actor exists: messages to a missing actor go to the dead
        letters and asks fail with `ActorNotFound`.
        """
        if isinstance(address, str):
            address = Address.parse(address)
        if address.system == self.name:
            cell = self._cells.get(address.path)
            if cell is not None:
                return cell.ref
        return ActorRef(address, self, None)

    async def stop(self, ref: ActorRef[Any]) -> None:
        """Stop a local actor after its current message and wait until it has terminated."""
        cell = self._cells.get(ref.address.path) if ref.address.system == self.name else None
        if cell is None:
            return
        cell.request_stop()
        await cell.terminated.wait()

    def mailbox_statistics(self, ref: ActorRef[Any]) -> MailboxStatistics:
        """A snapshot of the counters of a live local actor's mailbox; raise `ActorNotFound`
        if ``ref`` names no live actor of this system."""
        cell = self._cells.get(ref.address.path) if ref.address.system == self.name else None
        if cell is None or not cell.alive:
            raise ActorNotFound(str(ref.address))
        return cell.mailbox.statistics()

    def dead_letters(self, buffer: int = 10_000) -> Subscription[DeadLetter]:
        """Subscribe to the dead letters only."""
        return self.events.subscribe(DeadLetter, buffer=buffer)

    # -- sending ---------------------------------------------------------------------------

    def _envelope(
        self, ref: ActorRef[Any], message: Any, sender: ActorRef[Any] | None, kind: EnvelopeKind
    ) -> Envelope:
        if sender is not None:
            sender_address: Address | None = sender.address
        else:
            cell = current_cell.get()
            sender_address = cell.address if cell is not None and cell.system is self else None
        return Envelope(ref.address, message, sender_address, 0, kind)

    def _tell_nowait(self, ref: ActorRef[Any], message: Any, sender: ActorRef[Any] | None) -> None:
        if not self._open:
            raise ActorSystemClosed(f"actor system {self.name} is not running")
        env = self._envelope(ref, message, sender, _TELL)
        cell = ref._cell
        if cell is not None and cell.alive and cell.system is self:
            cell.enqueue_nowait(env)
        else:
            self._route_nowait(env)

    async def _tell(self, ref: ActorRef[Any], message: Any, sender: ActorRef[Any] | None) -> None:
        if not self._open:
            raise ActorSystemClosed(f"actor system {self.name} is not running")
        env = self._envelope(ref, message, sender, _TELL)
        cell = ref._cell
        if cell is not None and cell.alive and cell.system is self:
            await cell.enqueue(env)
        else:
            await self._route(env)

    async def _ask(
        self, ref: ActorRef[Any], message: Any, expect: type[Any] | None, timeout: float | None
    ) -> Any:
        if not self._open:
            raise ActorSystemClosed(f"actor system {self.name} is not running")
        corr = next(self._corr)
        cell = current_cell.get()
        sender = cell.address if cell is not None and cell.system is self else self._ask_address
        if timeout is None:
            timeout = self.ask_timeout
        env = Envelope(ref.address, message, sender, corr, _ASK, deadline=self._now() + timeout)
        pending = _PendingAsk(self._backend.event())
        self._asks[corr] = pending
        # The deadline is a scheduler entry that fails the ask, not a cancel scope per ask:
        # that is most of the cost of a round trip on asyncio.
        deadline = self._scheduler.call_later(
            timeout, lambda: self._ask_timed_out(corr, ref.address, message, timeout)
        )
        try:
            target = ref._cell
            if target is not None and target.alive and target.system is self:
                if not target.mailbox.offer(env):
                    with self.clock.fail_after(timeout):
                        await target.enqueue(env)
            else:
                with self.clock.fail_after(timeout):
                    await self._route(env)
            await pending.event.wait()
        except TimeoutError:
            raise AskTimeout(
                f"no reply from {ref.address} to {type(message).__name__} within {timeout}s"
            ) from None
        finally:
            deadline.cancel()
            self._asks.pop(corr, None)
        if pending.error is not None:
            raise pending.error
        result = pending.result
        if expect is not None and not isinstance(result, expect):
            raise UnexpectedReply(
                f"{ref.address} replied {type(result).__name__}, expected {expect.__name__}"
            )
        return result

    def _ask_timed_out(self, corr: int, address: Address, message: Any, timeout: float) -> None:
        pending = self._asks.get(corr)
        if pending is not None and not pending.event.is_set():
            pending.error = AskTimeout(
                f"no reply from {address} to {type(message).__name__} within {timeout}s"
            )
            pending.event.set()

    def _route_nowait(self, env: Envelope) -> None:
        if env.recipient.system == self.name:
            self._deliver_local_nowait(env, from_remote=False)
            return
        endpoint = self._endpoint
        if endpoint is None:
            self._no_route(env)
            return
        try:
            if env.deadline is not None:  # clocks differ between systems: send the budget
                env = env.in_transit(self._now())
            endpoint.send_nowait(env)
        except LookupError:
            self._no_route(env)

    async def _route(self, env: Envelope) -> None:
        if env.recipient.system == self.name:
            await self._deliver_local(env)
            return
        endpoint = self._endpoint
        if endpoint is None:
            self._no_route(env)
            return
        try:
            if env.deadline is not None:
                env = env.in_transit(self._now())
            await endpoint.send(env)
        except LookupError:
            self._no_route(env)

    def _no_route(self, env: Envelope) -> None:
        if env.kind is _ASK:
            self._fail_ask(env, NoRoute(f"no route from {self.name} to {env.recipient.system}"))
        elif env.kind is _TELL:
            self._publish_dead_letter(env, "no-route")
        else:
            self.log.warning("reply with no route", recipient=str(env.recipient))

    # -- receiving -------------------------------------------------------------------------

    def _deliver_local_nowait(self, env: Envelope, from_remote: bool) -> None:
        kind = env.kind
        if kind is _REPLY or kind is _FAILURE:
            self._complete(env)
            return
        if kind is _ASK and env.sender is None:  # nowhere to reply: never let it in
            self._publish_dead_letter(env, "no-sender")
            return
        path = env.recipient.path
        cell = self._cells.get(path)
        if cell is None or not cell.alive:
            if path == _WATCH_PATH:
                self._remote_watch(env)
            else:
                self._undeliverable(env, "no-such-actor")
            return
        try:
            cell.enqueue_nowait(env)
        except MailboxFull as exc:
            if not from_remote:
                raise
            self._undeliverable(env, "mailbox-full", exc)

    async def _deliver_local(self, env: Envelope) -> None:
        kind = env.kind
        if kind is _REPLY or kind is _FAILURE:
            self._complete(env)
            return
        if kind is _ASK and env.sender is None:
            self._publish_dead_letter(env, "no-sender")
            return
        cell = self._cells.get(env.recipient.path)
        if cell is None or not cell.alive:
            self._deliver_local_nowait(env, from_remote=True)
            return
        try:
            await cell.enqueue(env)
        except MailboxFull as exc:
            self._undeliverable(env, "mailbox-full", exc)

    def _deliver_from_timer(self, cell: _Cell, message: Any) -> None:
        env = Envelope(cell.address, message, cell.address, 0, _TELL)
        try:
            cell.enqueue_nowait(env)
        except MailboxFull:
            self._publish_dead_letter(env, "mailbox-full")

    def _undeliverable(
        self, env: Envelope, reason: str, error: BaseException | None = None
    ) -> None:
        if env.kind is _ASK:
            if error is None:
                address = str(env.recipient)
                stopped = reason == "actor-stopped"
                error = ActorTerminated(address) if stopped else ActorNotFound(address)
            self._fail_ask(env, error)
        self._publish_dead_letter(env, reason)

    def _dead_letter_message(self, recipient: Address, message: Any, reason: str) -> None:
        self.dead_letter_count += 1
        if self.events.has_subscribers:
            self.events.publish(DeadLetter(str(recipient), message, None, reason, self.clock.now()))

    def _publish_dead_letter(self, env: Envelope, reason: str) -> None:
        self.dead_letter_count += 1
        if self.debug:
            self.log.debug("dead letter", recipient=str(env.recipient), reason=reason)
        if self.events.has_subscribers:
            sender = str(env.sender) if env.sender is not None else None
            self.events.publish(
                DeadLetter(str(env.recipient), env.message, sender, reason, self.clock.now())
            )

    # -- replies ---------------------------------------------------------------------------

    def _reply(self, env: Envelope, result: Any) -> None:
        self._answer(env, result, None)

    def _fail_ask(self, env: Envelope, error: BaseException, handler: bool = False) -> None:
        if handler and not isinstance(error, MeshActorsError):
            wrapped = HandlerError(str(env.recipient), type(error).__name__, str(error))
            wrapped.__cause__ = error
            error = wrapped
        self._answer(env, None, error)

    def _answer(self, env: Envelope, result: Any, error: BaseException | None) -> None:
        """Complete the ask ``env`` locally, or send the answer to the asking system."""
        sender = env.sender
        assert sender is not None  # asks without a sender are refused on delivery
        if sender.system == self.name:
            pending = self._asks.get(env.correlation_id)
            if pending is None:
                self._late_reply(env, result if error is None else error)
                return
            pending.result = result
            pending.error = error
            pending.event.set()
            return
        to = Address(sender.system, _REPLY_PATH)
        if error is None:
            answer = Envelope(to, result, env.recipient, env.correlation_id, _REPLY)
        else:
            failure = Failure.from_exception(error)
            answer = Envelope(to, failure, env.recipient, env.correlation_id, _FAILURE)
        self._send_reply(answer)

    def _send_reply(self, reply: Envelope) -> None:
        endpoint = self._endpoint
        if endpoint is None:
            self.log.warning("reply to another system but no transport", to=str(reply.recipient))
            return
        try:
            endpoint.send_nowait(reply)
        except Exception as exc:  # never fail the replying actor; tell the asker instead
            self.log.warning("reply not sent", to=str(reply.recipient), error=repr(exc))
            if reply.kind is not _REPLY:
                return
            failure = Envelope(
                reply.recipient,
                Failure(
                    kind="handler",
                    actor=str(reply.sender),
                    error_type=type(exc).__name__,
                    message=f"the reply could not be sent: {exc}",
                ),
                reply.sender,
                reply.correlation_id,
                _FAILURE,
            )
            try:
                endpoint.send_nowait(failure)
            except Exception as again:
                self.log.warning("failure not sent", to=str(reply.recipient), error=repr(again))

    def _complete(self, env: Envelope) -> None:
        pending = self._asks.get(env.correlation_id)
        message = env.message
        if pending is None:
            self._late_reply(env, message)
            return
        if env.kind is _FAILURE:
            pending.error = (
                message.to_exception()
                if isinstance(message, Failure)
                else HandlerError(str(env.sender), "Failure", repr(message))
            )
        else:
            pending.result = message
        pending.event.set()

    def _late_reply(self, env: Envelope, result: Any) -> None:
        self.dead_letter_count += 1
        if self.events.has_subscribers:
            self.events.publish(
                DeadLetter(
                    str(env.sender) if env.sender else self.name,
                    result,
                    str(env.recipient),
                    "late-reply",
                    self.clock.now(),
                )
            )

    # -- death watch -----------------------------------------------------------------------

    def _watch(self, watcher: _Cell, ref: ActorRef[Any]) -> None:
        target_address = ref.address
        watcher.watching.add(target_address)
        if target_address.system == self.name:
            target = self._cells.get(target_address.path)
            if target is None or not target.alive:
                self._notify_terminated(watcher.address, target_address)
            else:
                target.watchers.add(watcher.address)
            return
        env = Envelope(
            Address(target_address.system, _WATCH_PATH),
            Watch(watcher=str(watcher.address), target=str(target_address)),
            watcher.address,
        )
        self._route_nowait(env)

    def _unwatch(self, watcher: _Cell, ref: ActorRef[Any]) -> None:
        target_address = ref.address
        watcher.watching.discard(target_address)
        if target_address.system == self.name:
            target = self._cells.get(target_address.path)
            if target is not None:
                target.watchers.discard(watcher.address)
            return
        self._unwatch_remote(watcher.address, target_address)

    def _unwatch_remote(self, watcher: Address, target: Address) -> None:
        env = Envelope(
            Address(target.system, _WATCH_PATH),
            Unwatch(watcher=str(watcher), target=str(target)),
            watcher,
        )
        try:
            self._route_nowait(env)
        except Exception as exc:  # best effort: the far side then sends a Terminated in vain
            self.log.debug("unwatch not sent", to=str(target), error=repr(exc))

    def _remote_watch(self, env: Envelope) -> None:
        request = env.message
        if not isinstance(request, Watch | Unwatch):
            self._undeliverable(env, "no-such-actor")
            return
        try:
            watcher = Address.parse(request.watcher)
            target_address = Address.parse(request.target)
        except InvalidName:
            self._publish_dead_letter(env, "malformed")
            return
        if target_address.system != self.name:
            self._publish_dead_letter(env, "malformed")
            return
        target = self._cells.get(target_address.path)
        if isinstance(request, Unwatch):
            if target is not None:
                target.watchers.discard(watcher)
        elif target is None or not target.alive:
            self._notify_terminated(watcher, target_address)
        else:
            target.watchers.add(watcher)

    def _notify_terminated(self, watcher: Address, target: Address) -> None:
        env = Envelope(watcher, Terminated(address=str(target)), target)
        try:
            self._route_nowait(env)
        except MailboxFull:
            self._publish_dead_letter(env, "mailbox-full")
        except Exception as exc:  # a closed transport must not break the watched actor's stop
            self.log.warning("terminated not sent", to=str(watcher), error=repr(exc))
            self._publish_dead_letter(env, "no-route")

    # -- bookkeeping -----------------------------------------------------------------------

    def _unregister(self, cell: _Cell) -> None:
        if self._cells.get(cell.address.path) is cell:
            del self._cells[cell.address.path]
        siblings = cell.parent.children if cell.parent is not None else self._guardian.children
        if siblings.get(cell.address.name) is cell:
            del siblings[cell.address.name]

    def _publish(self, event: SystemEvent) -> None:
        if self.events.has_subscribers:
            self.events.publish(event)

    def _timer_error(self, error: BaseException) -> None:
        self.log.error("timer callback raised", error=repr(error))

    def actors(self) -> list[str]:
        """Paths of every live local actor, parents before children."""
        return sorted(path for path, cell in self._cells.items() if cell.alive)

    def __repr__(self) -> str:
        return f"ActorSystem({self.name!r}, actors={len(self._cells)})"
