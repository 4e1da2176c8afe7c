"""The running side of an actor: its task, mailbox drain, supervision and termination.

A cell outlives restarts of its actor (same address, same mailbox); the actor instance inside
it is replaced. Supervision follows the classic model: a failing child suspends itself and
signals its parent; the parent decides (restart, resume, stop, escalate) in its own task and
signals the child(ren) back. Top-level actors have the system's guardian as parent, which
decides inline.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import anyio

from ._actor import Actor
from ._address import Address
from ._backend import EventLike
from ._context import ActorContext
from ._current import current_cell
from ._envelope import Envelope, EnvelopeKind
from ._errors import MailboxFull, RestartLimitExceeded, UnhandledMessage
from ._events import ActorFailed, ActorRestarted, ActorStarted, ActorStopped
from ._mailbox import Mailbox, MailboxConfig, OverflowPolicy
from ._ref import ActorRef
from ._supervision import Directive, Scope, SupervisorStrategy
from ._timers import Timers

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from ._system import ActorSystem


# How many messages an actor handles before it yields to other tasks.
_BATCH = 128
# `Actor.on_drained` as the base class has it (a no-op the loop does not call)
_NO_DRAINED = Actor.on_drained
_ASK = EnvelopeKind.ASK
_TELL = EnvelopeKind.TELL


class _State(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    SUSPENDED = "suspended"
    STOPPING = "stopping"
    DEAD = "dead"


class _Parent:
    """Supervision decisions, shared by cells and the system guardian."""

    children: dict[str, _Cell]
    system: ActorSystem

    def _escalate(self, error: BaseException) -> None:
        raise NotImplementedError

    def _on_child_failed(self, child: _Cell, error: BaseException) -> None:
        if self.children.get(child.address.name) is not child or child.state is _State.DEAD:
            return
        strategy = child.strategy
        try:
            directive = strategy.decider(error)
        except Exception as exc:  # a broken decider must not hide the failure
            directive, error = Directive.ESCALATE, exc
        now = self.system.clock.now()
        if directive is Directive.RESTART:
            window = child.restart_times
            while window and window[0] <= now - strategy.within:
                window.popleft()
            if len(window) >= strategy.max_restarts:
                self.system._publish(ActorFailed(str(child.address), error, "stop", now))
                child.request_stop()
                self._escalate(
                    RestartLimitExceeded(str(child.address), strategy.max_restarts, strategy.within)
                )
                return
            window.append(now)
        self.system._publish(ActorFailed(str(child.address), error, directive.value, now))
        child.failures.report(error, directive.value)
        all_for_one = strategy.scope is Scope.ALL_FOR_ONE
        if directive is Directive.RESTART:
            delay = strategy.backoff.delay(len(child.restart_times))
            targets = list(self.children.values()) if all_for_one else [child]
            for target in targets:
                target.signal(("restart", error, delay))
        elif directive is Directive.RESUME:
            child.signal(("resume",))
        elif directive is Directive.STOP:
            targets = list(self.children.values()) if all_for_one else [child]
            for target in targets:
                target.request_stop()
        else:
            child.escalated = True
            self._escalate(error)


class _Guardian(_Parent):
    """The parent of top-level actors: an escalation reaching it stops the actor."""

    def __init__(self, system: ActorSystem) -> None:
        self.system = system
        self.children = {}
        self._escalating: _Cell | None = None

    def _on_child_failed(self, child: _Cell, error: BaseException) -> None:
        self._escalating = child
        try:
            super()._on_child_failed(child, error)
        finally:
            self._escalating = None

    def _escalate(self, error: BaseException) -> None:
        child = self._escalating
        if child is not None:
            child.log.error("failure escalated to the root; stopping", error=repr(error))
            child.request_stop()


class _FailureLog:
    """Logs an actor's failures without flooding: one full line (with its traceback) for the
    first failure of each exception type, then only a count until the window closes.

    A handler failing on every message of a burst would otherwise log a traceback per
    message. The window (``ActorSystem(failure_log_window=...)``, clock seconds) opens at the
    first failure of a type; when it closes, or the actor stops, one summary line says how
    many more failures of that type there were. The next failure after that logs in full
    again. Runs in the failing actor's supervisor's task (or the scheduler's, for closing).
    """

    __slots__ = ("_cell", "_open")

    def __init__(self, cell: _Cell) -> None:
        self._cell = cell
        # exception type -> [repeats since the full line, scheduled close, last directive]
        self._open: dict[str, list[Any]] = {}

    def report(self, error: BaseException, directive: str) -> None:
        kind = type(error)
        key = f"{kind.__module__}.{kind.__qualname__}"
        window = self._open.get(key)
        if window is not None:
            window[0] += 1
            window[2] = directive
            return
        cell = self._cell
        cell.log.error(
            "actor failed", error=repr(error), error_type=key, directive=directive, exc_info=error
        )
        system = cell.system
        close = system._scheduler.call_later(system.failure_log_window, lambda: self._close(key))
        self._open[key] = [0, close, directive]

    def _close(self, key: str) -> None:
        window = self._open.pop(key, None)
        if window is None:
            return
        window[1].cancel()
        if window[0]:
            self._cell.log.error(
                "actor failed repeatedly",
                error_type=key,
                repeats=window[0],
                window=self._cell.system.failure_log_window,
                directive=window[2],
            )

    def flush(self) -> None:
        """Close every open window now (the actor stops)."""
        for key in list(self._open):
            self._close(key)


class _Cell(_Parent):
    __slots__ = (
        "_ctx",
        "address",
        "children",
        "current",
        "dispatch",
        "escalated",
        "factory",
        "failures",
        "go",
        "instance",
        "log",
        "mailbox",
        "parent",
        "ref",
        "restart_times",
        "restarts",
        "signals",
        "state",
        "strategy",
        "system",
        "terminated",
        "timers",
        "watchers",
        "watching",
    )

    def __init__(
        self,
        system: ActorSystem,
        parent: _Cell | None,
        address: Address,
        factory: Callable[[], Actor[Any]],
        strategy: SupervisorStrategy,
        mailbox: MailboxConfig,
    ) -> None:
        self.system = system
        self.parent = parent
        self.address = address
        self.factory = factory
        self.strategy = strategy
        self.ref: ActorRef[Any] = ActorRef(address, system, self)
        self.mailbox = Mailbox(mailbox, system._backend.event)
        self.children: dict[str, _Cell] = {}
        self.watchers: set[Address] = set()
        self.watching: set[Address] = set()
        self.instance: Actor[Any] | None = None
        self.dispatch: dict[type[Any], Any] = {}
        self.timers = Timers(self)
        self.state = _State.STARTING
        self.signals: deque[tuple[Any, ...]] = deque()
        self.terminated = anyio.Event()
        self.restart_times: deque[float] = deque()
        self.restarts = 0
        self.current: Envelope | None = None
        self.escalated = False
        # Mirrors `state is DEAD` as a plain attribute: senders read it on every tell.
        self.dead = False
        self.log: FilteringBoundLogger = system.log.bind(actor=address.path)
        self.failures = _FailureLog(self)
        self.go: EventLike | None = None  # set when the actor may start (taking turns)
        self._ctx: ActorContext[Any] = ActorContext(self)

    # -- called from anywhere -------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self.dead

    def signal(self, sig: tuple[Any, ...]) -> None:
        if self.state is _State.DEAD:
            return
        self.signals.append(sig)
        self.mailbox.wake()

    def request_stop(self) -> None:
        if self.state in (_State.STOPPING, _State.DEAD):
            return
        self.signal(("stop",))

    def enqueue_nowait(self, env: Envelope) -> None:
        mailbox = self.mailbox
        if mailbox.offer(env):
            return
        if mailbox.closed:
            self.system._undeliverable(env, "actor-stopped")
            return
        full = MailboxFull(str(self.address), mailbox.capacity)
        if mailbox.overflow is OverflowPolicy.DROP:
            mailbox.dropped += 1
            self.system._undeliverable(env, "mailbox-full", full)
            return
        mailbox.refused += 1
        raise full

    async def enqueue(self, env: Envelope) -> None:
        mailbox = self.mailbox
        while not mailbox.offer(env):
            if mailbox.overflow is not OverflowPolicy.BACKPRESSURE or mailbox.closed:
                self.enqueue_nowait(env)
                return
            await mailbox.wait_for_room()

    def logger(self) -> FilteringBoundLogger:
        env = self.current
        if env is None:
            return self.log
        return self.log.bind(
            message_type=type(env.message).__name__, correlation_id=env.correlation_id
        )

    # -- the actor's task -----------------------------------------------------------------

    async def run(self) -> None:
        current_cell.set(self)
        try:
            if self.go is not None:
                await self.go.wait()
            await self._start(None)
            await self._loop()
        finally:
            with anyio.CancelScope(shield=True):
                await self._terminate()

    async def _start(self, restarted_after: BaseException | None) -> None:
        try:
            instance = self.factory()
            if not isinstance(instance, Actor):
                raise TypeError(f"actor factory returned {instance!r}, not an Actor")
            instance.ctx = self._ctx
            self.instance = instance
            self.dispatch = type(instance).__dispatch__
            if restarted_after is None:
                await instance.on_start()
            else:
                await instance.on_restart(restarted_after)
        except Exception as exc:
            self._fail(exc)
            return
        now = self.system.clock.now()
        if restarted_after is None:
            self.state = _State.RUNNING
            self.system._publish(ActorStarted(str(self.address), now))
        else:
            self.restarts += 1
            self.state = _State.RUNNING
            self.system._publish(
                ActorRestarted(str(self.address), restarted_after, self.restarts, now)
            )

    async def _loop(self) -> None:
        mailbox = self.mailbox
        queue = mailbox.queue
        signals = self.signals
        system = self.system
        RUNNING = _State.RUNNING
        new_event = system._backend.event
        checkpoint = system._backend.checkpoint
        debug = system.debug
        drop_expired = system.drop_expired
        now = system._now
        ctx = self._ctx
        # the message being handled and its handler's answer; both are dropped after each
        # batch, so that an idle actor does not pin the last message it handled (a
        # relayer's batch with every packet's proof, a transaction result with all its
        # events) until the next one arrives
        env: Envelope | None = None
        message: Any = None
        result: Any = None
        putters = mailbox._putters
        while True:
            if signals:
                if await self._handle_signal(signals.popleft()):
                    return
                continue
            if self.state is not RUNNING or not queue:
                # Suspended actors wait for a signal; running ones for a message or a signal.
                event = new_event()
                mailbox._getter = event
                if not signals and (self.state is not RUNNING or not queue):
                    await event.wait()
                mailbox._getter = None
                continue
            if len(queue) > mailbox.high_water:
                mailbox.high_water = len(queue)
            handled = 0
            # the actor's end-of-run hook (`Actor.on_drained`), if its class has one
            instance = self.instance
            drained = (
                None
                if instance is None or instance.__class__.on_drained is _NO_DRAINED
                else instance.on_drained
            )
            # its run handlers (`run_handler`); none in debug mode, which logs each message
            runs = None if debug or instance is None else instance.__class__.__runs__ or None
            # stable for the batch: a restart (which replaces both) is a signal, handled
            # between batches
            dispatch = self.dispatch
            while queue and not signals and handled < _BATCH:
                env = queue.popleft()
                if putters:
                    mailbox.took()
                handled += 1
                # Only asks carry a deadline, so a tell pays one attribute read for this.
                deadline = env.deadline
                if deadline is not None and drop_expired and deadline <= now():
                    self._expired(env)
                    continue
                self.current = env
                ctx.remote = env.remote
                message = env.message
                if runs is not None and env.kind is _TELL:
                    fn = runs.get(message.__class__)
                    if fn is not None:
                        handled = await self._run(fn, env, handled, drained)
                        if handled < 0:
                            break
                        continue
                if debug:
                    self.logger().debug("handling", kind=env.kind.name, sender=str(env.sender))
                fn = dispatch.get(message.__class__, ...)
                if fn is ...:
                    fn = instance.__class__._lookup(message.__class__)  # type: ignore[union-attr]
                if fn is None:
                    self._unhandled(env)
                    continue
                try:
                    result = fn(instance, message)
                    if result.__class__ is CoroutineType:
                        if drained is not None:
                            drained()  # other tasks may run during the await
                        result = await result
                except Exception as exc:
                    if env.kind is _ASK:
                        system._fail_ask(env, exc, handler=True)
                    self._fail(exc)
                    break
                if env.kind is _ASK:
                    system._reply(env, result)
            self.current = None
            ctx.remote = False
            env = message = result = None
            if drained is not None and self._drained(drained):
                continue
            await checkpoint()

    async def _run(
        self,
        fn: Callable[..., Any],
        first: Envelope,
        handled: int,
        drained: Callable[[], None] | None,
    ) -> int:
        # a run of tells for a `run_handler`: ``first`` (taken) and the consecutive tells of
        # its class from its sender that follow it, within the batch's budget (``handled``
        # so far); returns the new count, or -1 if the handler raised (the actor failed)
        mailbox = self.mailbox
        queue = mailbox.queue
        message = first.message
        cls = message.__class__
        sender = first.sender
        remote = first.remote
        run = deque((message,))
        append = run.append
        take = queue.popleft
        room = _BATCH - handled
        # an envelope with a deadline (only asks have one, but a run must not hide one
        # from the expiry check) or of another kind, class, sender or side ends the run
        while room and queue:
            env = queue[0]
            if (
                env.message.__class__ is not cls
                or env.kind is not _TELL
                or env.sender is not sender
                or env.remote is not remote
                or env.deadline is not None
            ):
                break
            append(take().message)
            room -= 1
        gathered = len(run) - 1
        taken = gathered
        failed = False
        try:
            result = fn(self.instance, run)
            if result.__class__ is CoroutineType:
                if drained is not None:
                    drained()  # other tasks may run during the await
                await result
        except Exception as exc:
            self._fail(exc)
            failed = True
        finally:
            if run:
                # not handled: back to the front of the mailbox, as they were (they still
                # count towards the batch, so a handler that takes nothing cannot spin)
                taken -= len(run)
                queue.extendleft(
                    [
                        Envelope(first.recipient, left, sender, remote=remote)
                        for left in reversed(run)
                    ]
                )
                run.clear()
        # the senders waiting for room (`took` for each message handled past the first)
        putters = mailbox._putters
        for _ in range(taken):
            if not putters:
                break
            mailbox.took()
        return -1 if failed else handled + gathered

    def _drained(self, hook: Callable[[], None]) -> bool:
        # the end of a run of messages: the actor's `on_drained`; True if it failed (the
        # actor is then suspended, as for a failed handler)
        try:
            hook()
        except Exception as exc:
            if self.state is _State.RUNNING:
                self._fail(exc)
            else:
                self.log.error("on_drained raised", error=repr(exc))
            return True
        return False

    def _expired(self, env: Envelope) -> None:
        # Its asker has already failed with AskTimeout (or is about to): a reply would only
        # be a late one, so the handler does not run and nothing is sent back.
        self.mailbox.expired += 1
        self.system._publish_dead_letter(env, "expired")

    def _unhandled(self, env: Envelope) -> None:
        try:
            self.instance.on_unhandled(env.message)  # type: ignore[union-attr]
        except Exception as exc:
            self.log.error("on_unhandled raised", error=repr(exc))
        if env.kind is _ASK:
            self.system._fail_ask(
                env, UnhandledMessage(str(self.address), type(env.message).__name__)
            )

    def _fail(self, error: BaseException) -> None:
        self.state = _State.SUSPENDED
        parent = self.parent
        if parent is None:
            self.system._guardian._on_child_failed(self, error)
        else:
            parent.signal(("child_failed", self, error))

    def _escalate(self, error: BaseException) -> None:
        self._fail(error)

    async def _handle_signal(self, sig: tuple[Any, ...]) -> bool:
        """Act on a system signal; return True when the actor must terminate."""
        kind = sig[0]
        if kind == "stop":
            return True
        if kind == "child_failed":
            self._on_child_failed(sig[1], sig[2])
        elif kind == "resume":
            if self.state is _State.SUSPENDED:
                self.state = _State.RUNNING
            self._resume_escalated_children()
        elif kind == "restart":
            return await self._restart(sig[1], sig[2])
        return False

    def _resume_escalated_children(self) -> None:
        # A child that escalated waits for our fate; if we resume, it restarts.
        for child in self.children.values():
            if child.escalated:
                child.escalated = False
                child.signal(("restart", None, 0.0))

    async def _restart(self, error: BaseException | None, delay: float) -> bool:
        self.state = _State.SUSPENDED
        if delay > 0:
            # Wait out the backoff, but let a stop request cut it short.
            with self.system.clock.move_on_after(delay) as scope:
                while True:
                    if any(s[0] == "stop" for s in self.signals):
                        scope.cancel()
                        break
                    event = self.system._backend.event()
                    self.mailbox._getter = event
                    await event.wait()
            if any(s[0] == "stop" for s in self.signals):
                return True
        self.timers.cancel_all()
        self.current = None
        self._ctx.remote = False
        await self._stop_children()
        self.escalated = False
        await self._start(error if error is not None else RuntimeError("parent resumed"))
        return False

    async def _stop_children(self) -> None:
        # Youngest first, mirroring start order, one at a time so shutdown is repeatable.
        for child in reversed(list(self.children.values())):
            child.request_stop()
            await child.terminated.wait()

    async def _terminate(self) -> None:
        system = self.system
        self.state = _State.STOPPING
        self.timers.cancel_all()
        with system.clock.move_on_after(system.stop_timeout):
            await self._stop_children()
        instance = self.instance
        if instance is not None:
            try:
                with system.clock.move_on_after(system.stop_timeout):
                    await instance.on_stop()
            except Exception as exc:
                self.log.error("on_stop raised", error=repr(exc))
        self.failures.flush()
        self.state = _State.DEAD
        self.dead = True
        for env in self.mailbox.close():
            system._undeliverable(env, "actor-stopped")
        self.signals.clear()
        system._unregister(self)
        for watched in self.watching:
            if watched.system == system.name:
                target = system._cells.get(watched.path)
                if target is not None:
                    target.watchers.discard(self.address)
            else:
                system._unwatch_remote(self.address, watched)
        for watcher in self.watchers:
            system._notify_terminated(watcher, self.address)
        self.watchers.clear()
        system._publish(ActorStopped(str(self.address), system.clock.now()))
        self.terminated.set()
