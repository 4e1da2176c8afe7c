"""Fault injection: a wrapper over any transport that drops, duplicates, delays, reorders
and partitions, repeatably from a seed and in the time of a `mesh_actors.Clock`."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

import anyio
import anyio.abc
import anyio.lowlevel

from mesh_actors import Clock, Endpoint, Envelope, Inbound, Scheduler, get_logger

from ._errors import TransportClosed, TransportError, UnknownSystem
from ._interface import Transport

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = [
    "Delay",
    "Exponential",
    "FaultStatistics",
    "FaultyNetwork",
    "Fixed",
    "LinkFaults",
    "Uniform",
]


def _check_seconds(what: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value!r}")


def _check_rate(what: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} rate must be a number, not {type(value).__name__}")
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"{what} rate must be between 0 and 1, got {value!r}")


# Each distribution maps one uniform draw in [0, 1) to a delay (inverse transform), so every
# envelope consumes the same number of draws whatever the configuration: changing a delay
# distribution does not change which envelopes are dropped or duplicated.


@dataclass(frozen=True, slots=True)
class Fixed:
    """Every envelope is delayed by exactly ``seconds``."""

    seconds: float

    def __post_init__(self) -> None:
        _check_seconds("Fixed delay", self.seconds)

    def sample(self, u: float) -> float:
        """The delay for the uniform draw ``u`` in [0, 1)."""
        return float(self.seconds)


@dataclass(frozen=True, slots=True)
class Uniform:
    """Delays uniformly distributed between ``low`` and ``high`` seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_seconds("Uniform low", self.low)
        _check_seconds("Uniform high", self.high)
        if self.low > self.high:
            raise ValueError(f"Uniform delay needs low <= high, got {self.low} > {self.high}")

    def sample(self, u: float) -> float:
        """The delay for the uniform draw ``u`` in [0, 1)."""
        return self.low + (self.high - self.low) * u


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponentially distributed delays with the given ``mean`` (seconds)."""

    mean: float

    def __post_init__(self) -> None:
        _check_seconds("Exponential mean", self.mean)

    def sample(self, u: float) -> float:
        """The delay for the uniform draw ``u`` in [0, 1)."""
        return -self.mean * math.log1p(-u)


Delay = Fixed | Uniform | Exponential


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """What goes wrong on a link, per envelope.

    ``drop``: probability that an envelope is lost. ``duplicate``: probability that it is
    delivered twice. ``delay``: a `Fixed`, `Uniform` or `Exponential` distribution of
    transit times (``None``: no delay); delays alone keep the link's order, as a stream
    connection would, so a later envelope waits for an earlier, slower one. ``reorder``:
    probability that an envelope is held back by a further ``reorder_delay`` seconds outside
    the link's order, so that later envelopes overtake it. Rates are between 0 and 1;
    ``ValueError`` (``TypeError`` for a non-number) otherwise.
    """

    drop: float = 0.0
    duplicate: float = 0.0
    delay: Delay | None = None
    reorder: float = 0.0
    reorder_delay: float = 0.1

    def __post_init__(self) -> None:
        _check_rate("drop", self.drop)
        _check_rate("duplicate", self.duplicate)
        _check_rate("reorder", self.reorder)
        _check_seconds("reorder_delay", self.reorder_delay)
        if self.reorder and not self.reorder_delay:
            raise ValueError("reordering needs a positive reorder_delay")
        if self.delay is not None and not isinstance(self.delay, Fixed | Uniform | Exponential):
            raise TypeError(
                f"delay must be Fixed, Uniform, Exponential or None, not {self.delay!r}"
            )

    @property
    def clean(self) -> bool:
        """Whether this configuration never changes anything."""
        return not (self.drop or self.duplicate or self.reorder or self.delay is not None)


_NO_FAULTS: Final = LinkFaults()


@dataclass(frozen=True, slots=True)
class FaultStatistics:
    """A snapshot of what happened on one directed link ``(source, target)``.

    ``sent``: envelopes handed to the link; ``delivered``: copies handed to the inner
    transport (duplicates count twice); ``dropped`` by the drop rate; ``duplicated``: extra
    copies made; ``delayed``: envelopes given a positive delay; ``reordered``: envelopes held
    back out of order; ``partitioned``: envelopes lost to a partition (when sent, or while in
    flight); ``failed``: delayed copies the inner transport refused when their time came (the
    sender or the recipient had gone); ``in_flight``: copies waiting for their time. Always
    ``sent + duplicated == delivered + dropped + partitioned + failed + in_flight``, except
    for envelopes whose direct send raised to the sender.
    """

    sent: int = 0
    delivered: int = 0
    dropped: int = 0
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0
    partitioned: int = 0
    failed: int = 0
    in_flight: int = 0


class _Link:
    """State of one directed link: its faults, its random stream, its queue, its counters."""

    __slots__ = (
        "delayed",
        "delivered",
        "dropped",
        "duplicated",
        "failed",
        "faults",
        "in_flight",
        "ordered_due",
        "ordered_pending",
        "partitioned",
        "pumping",
        "ready",
        "reordered",
        "rng",
        "sent",
        "source",
        "target",
    )

    def __init__(self, source: str, target: str, faults: LinkFaults, seed: int) -> None:
        self.source = source
        self.target = target
        self.faults = faults
        # One stream per link, derived from the seed and the link's names (string seeds are
        # hashed with SHA-512, independent of PYTHONHASHSEED): traffic on one link never
        # changes the fate of envelopes on another.
        self.rng = random.Random(f"{seed}:{source}->{target}")
        # In-order copies scheduled or queued but not yet handed on, and the latest due time
        # among them: a new in-order envelope may not be handed on before them.
        self.ordered_pending = 0
        self.ordered_due = -math.inf
        self.ready: deque[tuple[Envelope, bool, _FaultyEndpoint]] = deque()
        self.pumping = False
        self.sent = 0
        self.delivered = 0
        self.dropped = 0
        self.duplicated = 0
        self.delayed = 0
        self.reordered = 0
        self.partitioned = 0
        self.failed = 0
        self.in_flight = 0

    def snapshot(self) -> FaultStatistics:
        return FaultStatistics(
            self.sent,
            self.delivered,
            self.dropped,
            self.duplicated,
            self.delayed,
            self.reordered,
            self.partitioned,
            self.failed,
            self.in_flight,
        )


class FaultyNetwork:
    """Wraps any `Transport` and injects faults into every envelope sent through it.

    Faults are decided on the sending side, per directed link ``(source, target)``, for every
    kind of envelope (a dropped reply makes the ask time out: that is the point). ``default``
    applies to every link without an entry in ``links``; `set_link` and `set_default` change
    them at run time. Partitions (`partition`, `isolate` and their `heal` counterparts) lose
    every envelope across the cut, including those in flight when the cut happens.

    Randomness comes only from ``seed`` (one stream per link), and time only from ``clock``:
    delayed envelopes wait in one heap served by one task on that clock. So with a
    `mesh_actors.VirtualClock` under autojump the same seed replays exactly the same run.

    An envelope that needs no delay and has nothing queued ahead of it on its link goes
    straight through the inner endpoint in the sender's task (backpressure and errors reach
    the sender as without the wrapper); a delayed one is handed on later by a task of the
    network, which waits on the recipient's backpressure then, and counts an error of the
    inner transport in ``failed``.

    The wrapper owns ``inner``: entering it (``async with FaultyNetwork(...) as net:``,
    required before `attach`) enters ``inner`` and starts the delivery task; leaving it
    closes both. Systems attached to ``inner`` directly bypass the faults.
    """

    def __init__(
        self,
        inner: Transport,
        *,
        clock: Clock,
        seed: int,
        default: LinkFaults = _NO_FAULTS,
        links: Mapping[tuple[str, str], LinkFaults] | None = None,
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._seed = seed
        self._default = _checked_faults(default)
        self._overrides: dict[tuple[str, str], LinkFaults] = {
            key: _checked_faults(faults) for key, faults in (links or {}).items()
        }
        self._links: dict[tuple[str, str], _Link] = {}
        self._cuts: set[tuple[str, str]] = set()
        self._isolated: set[str] = set()
        self._endpoints: set[_FaultyEndpoint] = set()
        self._scheduler: Scheduler | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._service: anyio.CancelScope | None = None
        self._pumps: anyio.abc.TaskGroup | None = None
        self._entered = False
        self._closed = False
        # Resolved at each log call: logging configured later still applies.
        self._log: FilteringBoundLogger = get_logger("transport", transport="faulty", seed=seed)

    @property
    def inner(self) -> Transport:
        """The wrapped transport."""
        return self._inner

    @property
    def clock(self) -> Clock:
        """The clock delays are measured on."""
        return self._clock

    @property
    def seed(self) -> int:
        """The seed every link's random stream is derived from."""
        return self._seed

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Enter the inner transport and start the task that hands on delayed envelopes.

        Raises ``RuntimeError`` if entered before, `TransportClosed` once closed, and what
        entering the inner transport raises. If cancelled, nothing is left running.
        """
        if self._closed:
            raise TransportClosed("the faulty network is closed")
        if self._entered:
            raise RuntimeError("a FaultyNetwork can be entered only once")
        await self._inner.__aenter__()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        try:
            await task_group.start(self._serve, name="transport.FaultyNetwork")
        except BaseException:
            # the task group's scope is the innermost one open: it must close first, not
            # inside a shield opened after it (asyncio refuses a scope exited out of
            # order); cancelled, its exit only waits for the serving task to unwind
            task_group.cancel_scope.cancel()
            try:
                await task_group.__aexit__(None, None, None)
            finally:
                with anyio.CancelScope(shield=True):
                    await self._inner.aclose()
            raise
        self._task_group = task_group
        self._entered = True
        return self

    async def _serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        # One task owns the scheduler and the delivery tasks, under a scope of its own, so
        # that `aclose` can stop them without cancelling the code inside `async with`.
        with anyio.CancelScope() as scope:
            self._service = scope
            self._scheduler = Scheduler(self._clock, self._scheduler_error)
            async with anyio.create_task_group() as pumps:
                self._pumps = pumps
                task_status.started()
                await self._scheduler.run()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        task_group = self._task_group
        if task_group is None:
            return None
        self._task_group = None
        try:
            return await task_group.__aexit__(exc_type, exc, tb)
        finally:
            # entered in __aenter__, so exited here, after this network's own task group:
            # ``aclose`` alone would leave a transport's task group (TCP's) open. A
            # transport entered by the caller first (``async with net, FaultyNetwork(net)``)
            # tolerates the second exit. No shield here: the inner task group's scope must
            # be the current one when it exits (and ``aclose`` above closed it shielded).
            await self._inner.__aexit__(None, None, None)

    async def aclose(self) -> None:
        """Close every endpoint, discard what is in flight, and close the inner transport.

        Idempotent. Runs shielded from cancellation so that the inner transport is always
        closed.
        """
        if self._closed:
            await anyio.lowlevel.checkpoint()
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._service is not None:
                self._service.cancel()
            for endpoint in list(self._endpoints):
                await endpoint.aclose()
            await self._inner.aclose()

    @property
    def closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    # -- attaching -------------------------------------------------------------------------

    async def attach(self, system: str, inbound: Inbound) -> Endpoint:
        """Attach ``system`` to the inner transport and wrap its endpoint.

        Raises ``RuntimeError`` if the network was not entered, `TransportClosed` after
        `aclose`, and whatever the inner transport's ``attach`` raises (``ValueError`` for a
        name attached already). Cancellation leaves nothing attached.
        """
        if self._closed:
            raise TransportClosed("the faulty network is closed")
        if not self._entered:
            raise RuntimeError("enter the FaultyNetwork (async with) before attaching to it")
        inner = await self._inner.attach(system, inbound)
        endpoint = _FaultyEndpoint(self, inner)
        self._endpoints.add(endpoint)
        return endpoint

    def systems(self) -> frozenset[str]:
        """The systems the inner transport can route to."""
        return self._inner.systems()

    # -- configuration ---------------------------------------------------------------------

    def faults(self, source: str, target: str) -> LinkFaults:
        """The faults in force on the link from ``source`` to ``target``."""
        return self._overrides.get((source, target), self._default)

    def set_link(self, source: str, target: str, faults: LinkFaults | None) -> None:
        """Give the link ``source -> target`` its own faults (``None``: back to the default).

        Applies to envelopes sent from now on; those in flight keep their fate.
        """
        if faults is None:
            self._overrides.pop((source, target), None)
        else:
            self._overrides[(source, target)] = _checked_faults(faults)
        link = self._links.get((source, target))
        if link is not None:
            link.faults = self.faults(source, target)

    def set_default(self, faults: LinkFaults) -> None:
        """Change the faults of every link that has none of its own."""
        self._default = _checked_faults(faults)
        for link in self._links.values():
            link.faults = self.faults(link.source, link.target)

    def partition(self, a: str, b: str) -> None:
        """Cut the link between ``a`` and ``b`` in both directions."""
        self._cuts.add((a, b))
        self._cuts.add((b, a))

    def heal(self, a: str, b: str) -> None:
        """Undo `partition` of ``a`` and ``b`` (an isolated node stays isolated)."""
        self._cuts.discard((a, b))
        self._cuts.discard((b, a))

    def isolate(self, node: str) -> None:
        """Cut every link to and from ``node``."""
        self._isolated.add(node)

    def heal_node(self, node: str) -> None:
        """Undo `isolate` of ``node`` and every `partition` involving it."""
        self._isolated.discard(node)
        self._cuts = {cut for cut in self._cuts if node not in cut}

    def heal_all(self) -> None:
        """Undo every partition and isolation."""
        self._cuts.clear()
        self._isolated.clear()

    def is_cut(self, source: str, target: str) -> bool:
        """Whether envelopes from ``source`` to ``target`` are currently lost to a partition."""
        return (
            (source, target) in self._cuts or source in self._isolated or target in self._isolated
        )

    def statistics(self) -> dict[tuple[str, str], FaultStatistics]:
        """A snapshot of every link's counters, keyed by ``(source, target)`` system names."""
        return {key: link.snapshot() for key, link in self._links.items()}

    # -- the envelope path -----------------------------------------------------------------

    def _link(self, source: str, target: str) -> _Link:
        key = (source, target)
        link = self._links.get(key)
        if link is None:
            link = _Link(source, target, self.faults(source, target), self._seed)
            self._links[key] = link
        return link

    def _schedule(
        self,
        link: _Link,
        endpoint: _FaultyEndpoint,
        envelope: Envelope,
        copies: int,
        delay: float,
        in_order: bool,
    ) -> None:
        scheduler = self._scheduler
        assert scheduler is not None
        now = self._clock.now()
        due = now + delay
        if in_order:
            # Never before an earlier in-order envelope of the same link.
            due = max(due, link.ordered_due)
            link.ordered_due = due
            link.ordered_pending += copies
        if envelope.budget is not None and due > now:
            # The time an ask spends held here is time its asker waits: a real wire's
            # transit time cannot be deducted, but ours is known.
            envelope = Envelope(
                envelope.recipient,
                envelope.message,
                envelope.sender,
                envelope.correlation_id,
                envelope.kind,
                budget=max(envelope.budget - (due - now), 0.0),
            )
        link.in_flight += copies
        entry = (envelope, in_order, endpoint)
        for _ in range(copies):
            scheduler.call_at(due, lambda: self._due(link, entry))

    def _due(self, link: _Link, entry: tuple[Envelope, bool, _FaultyEndpoint]) -> None:
        """Scheduler callback: the copy's time has come; queue it for its link's task."""
        link.ready.append(entry)
        if not link.pumping and self._pumps is not None:
            link.pumping = True
            self._pumps.start_soon(self._pump, link)

    async def _pump(self, link: _Link) -> None:
        """Hand a link's due copies to the inner transport, in order, one at a time."""
        try:
            while link.ready:
                envelope, in_order, endpoint = link.ready.popleft()
                try:
                    if self.is_cut(link.source, link.target):
                        link.partitioned += 1
                    else:
                        await endpoint._inner.send(envelope)
                        link.delivered += 1
                except (TransportError, LookupError) as exc:
                    link.failed += 1
                    self._log.warning(
                        "delayed envelope not delivered",
                        source=link.source,
                        target=link.target,
                        error=repr(exc),
                    )
                finally:
                    link.in_flight -= 1
                    if in_order:
                        link.ordered_pending -= 1
        finally:
            link.pumping = False

    def _scheduler_error(self, error: BaseException) -> None:
        self._log.error("scheduled delivery raised", error=repr(error))

    def __repr__(self) -> str:
        return f"FaultyNetwork({self._inner!r}, seed={self._seed})"


def _checked_faults(faults: LinkFaults) -> LinkFaults:
    if not isinstance(faults, LinkFaults):
        raise TypeError(f"expected LinkFaults, got {faults!r}")
    return faults


class _FaultyEndpoint:
    """An inner endpoint, with the network's faults applied to what it sends."""

    __slots__ = ("_closed", "_inner", "_links", "_network", "_system")

    def __init__(self, network: FaultyNetwork, inner: Endpoint) -> None:
        self._network = network
        self._inner = inner
        self._system = inner.system
        self._closed = False
        self._links: dict[str, _Link] = {}

    @property
    def system(self) -> str:
        return self._system

    def _fate(self, envelope: Envelope) -> tuple[_Link, int, float, bool] | None:
        """Decide what happens to ``envelope``: ``None`` if lost, else its link, number of
        copies, delay and whether it keeps the link's order."""
        if self._closed:
            raise TransportClosed(f"the endpoint of {self._system!r} is closed")
        network = self._network
        target = envelope.recipient.system
        if target not in network._inner.systems():
            # Checked before any fault so that a send to nowhere fails fast, as unwrapped.
            raise UnknownSystem(target)
        link = self._links.get(target)
        if link is None:
            link = self._links[target] = network._link(self._system, target)
        link.sent += 1
        faults = link.faults
        if faults.clean:
            if network.is_cut(self._system, target):
                link.partitioned += 1
                return None
            return link, 1, 0.0, True
        # Always four draws per envelope, so the n-th envelope of a link meets the same dice
        # whatever happened to the ones before it.
        draw = link.rng.random
        u_drop, u_duplicate, u_reorder, u_delay = draw(), draw(), draw(), draw()
        if network.is_cut(self._system, target):
            link.partitioned += 1
            return None
        if u_drop < faults.drop:
            link.dropped += 1
            return None
        copies = 1
        if u_duplicate < faults.duplicate:
            copies = 2
            link.duplicated += 1
        delay = 0.0
        if faults.delay is not None:
            delay = faults.delay.sample(u_delay)
            if delay > 0:
                link.delayed += 1
        in_order = True
        if u_reorder < faults.reorder:
            in_order = False
            delay += faults.reorder_delay
            link.reordered += 1
        return link, copies, delay, in_order

    async def send(self, envelope: Envelope) -> None:
        """Send ``envelope`` through the faults.

        Raises `TransportClosed` after `aclose`, `UnknownSystem` if the inner transport knows
        no such system; when the envelope goes straight through, whatever the inner endpoint's
        ``send`` raises (a `CodecError`, for example). Cancellation while going straight
        through leaves the envelope (or its duplicate) undelivered.
        """
        fate = self._fate(envelope)
        if fate is None:
            return
        link, copies, delay, in_order = fate
        if delay <= 0 and in_order and not link.ordered_pending:
            for _ in range(copies):
                await self._inner.send(envelope)
                link.delivered += 1
            return
        self._network._schedule(link, self, envelope, copies, delay, in_order)

    def send_nowait(self, envelope: Envelope) -> None:
        """Send ``envelope`` through the faults without waiting; raises as `send`."""
        fate = self._fate(envelope)
        if fate is None:
            return
        link, copies, delay, in_order = fate
        if delay <= 0 and in_order and not link.ordered_pending:
            for _ in range(copies):
                self._inner.send_nowait(envelope)
                link.delivered += 1
            return
        self._network._schedule(link, self, envelope, copies, delay, in_order)

    async def aclose(self) -> None:
        """Close the inner endpoint; copies still in flight from it are lost.

        Idempotent; cancellation is as for the inner endpoint's ``aclose``.
        """
        if not self._closed:
            self._closed = True
            self._network._endpoints.discard(self)
        await self._inner.aclose()

    def __repr__(self) -> str:
        return f"<FaultyNetwork endpoint {self._system!r}>"
