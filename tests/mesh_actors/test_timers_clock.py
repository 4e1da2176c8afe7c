"""Timers through the clock; the virtual clock on both backends; determinism."""

from __future__ import annotations

import random

import anyio
import pytest

from mesh_actors import Actor, ActorSystem, Message, RealClock, VirtualClock, handler
from mesh_actors.testing import TestProbe, virtual_system

pytestmark = pytest.mark.anyio

DAY = 86_400.0


class Tick(Message):
    n: int


class Arm(Message):
    key: str
    delay: float
    periodic: bool = False


class Disarm(Message):
    key: str


class Boom(Message):
    pass


class Alarm(Actor[Tick | Arm | Disarm | Boom]):
    def __init__(self, probe: TestProbe) -> None:
        self.probe = probe
        self.count = 0

    @handler
    def arm(self, msg: Arm) -> None:
        self.count += 1
        tick = Tick(n=self.count)
        if msg.periodic:
            self.ctx.timers.send_periodic(msg.key, msg.delay, tick)
        else:
            self.ctx.timers.send_after(msg.key, msg.delay, tick)

    @handler
    def disarm(self, msg: Disarm) -> bool:
        return self.ctx.timers.cancel(msg.key)

    @handler
    def tick(self, msg: Tick) -> None:
        self.probe.ref.tell_nowait((self.ctx.clock.now(), msg.n))

    @handler
    def boom(self, _: Boom) -> None:
        raise RuntimeError("boom")


async def test_send_after_fires_once_at_the_deadline() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        alarm = system.spawn(lambda: Alarm(probe))
        alarm.tell_nowait(Arm(key="a", delay=30))
        assert await probe.expect_message(timeout=60) == (30.0, 1)
        await probe.expect_no_message(DAY)


async def test_send_periodic_runs_21_days_in_virtual_time() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        alarm = system.spawn(lambda: Alarm(probe))
        alarm.tell_nowait(Arm(key="daily", delay=DAY, periodic=True))
        ticks = await probe.receive_n(21, timeout=21 * DAY + 1)
        assert [t for t, _ in ticks] == [DAY * (i + 1) for i in range(21)]


async def test_same_key_replaces_and_cancel_prevents_delivery() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        alarm = system.spawn(lambda: Alarm(probe))
        alarm.tell_nowait(Arm(key="k", delay=10))
        alarm.tell_nowait(Arm(key="k", delay=20))  # replaces the first
        assert await probe.expect_message(timeout=100) == (20.0, 2)
        alarm.tell_nowait(Arm(key="k", delay=10))
        assert await alarm.ask(Disarm(key="k")) is True
        assert await alarm.ask(Disarm(key="k")) is False
        await probe.expect_no_message(100)


async def test_timers_are_cancelled_when_the_actor_stops_or_restarts() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        alarm = system.spawn(lambda: Alarm(probe))
        alarm.tell_nowait(Arm(key="k", delay=10, periodic=True))
        alarm.tell_nowait(Boom())  # restart discards the timer
        await probe.expect_no_message(100)
        alarm.tell_nowait(Arm(key="k", delay=10, periodic=True))
        assert (await probe.expect_message(timeout=11))[0] == 110.0
        await system.stop(alarm)
        dead_before = system.dead_letter_count
        await probe.expect_no_message(100)
        assert system.dead_letter_count == dead_before  # no tick was even attempted
        assert len(system._scheduler) == 0


async def test_virtual_clock_advances_only_when_told() -> None:
    clock = VirtualClock(start=100.0)
    woke: list[float] = []
    async with anyio.create_task_group() as tg:

        async def sleeper(d: float) -> None:
            await clock.sleep(d)
            woke.append(clock.now())

        for d in (5.0, 1.0, 3.0):
            tg.start_soon(sleeper, d)
        await clock.run_until_idle()
        assert woke == [] and clock.now() == 100.0
        await clock.advance(3.0)
        assert woke == [101.0, 103.0] and clock.now() == 103.0
        await clock.advance(10.0)
    assert woke == [101.0, 103.0, 105.0]
    assert clock.now() == 113.0
    with pytest.raises(ValueError):
        await clock.advance(-1)


async def test_virtual_fail_after_raises_timeout_error() -> None:
    clock = VirtualClock()
    async with clock.autojump():
        with pytest.raises(TimeoutError), clock.fail_after(7):
            await clock.sleep(8)
        assert clock.now() == 7.0
        with clock.move_on_after(None):
            await clock.sleep(1)
        assert clock.now() == 8.0


async def test_real_clock_delegates_to_the_event_loop() -> None:
    clock = RealClock()
    before = clock.now()
    await clock.sleep(0.001)
    assert clock.now() > before
    with pytest.raises(TimeoutError), clock.fail_after(0.001):
        await clock.sleep(1)


async def _replay(seed: int) -> list[tuple[float, int]]:
    """A run whose every delay comes from the seed; returns what the probe saw, in order."""
    rng = random.Random(seed)
    async with virtual_system(seed=seed) as system:
        probe = TestProbe(system)
        alarms = [system.spawn(lambda: Alarm(probe)) for _ in range(5)]
        for i in range(40):
            alarm = alarms[rng.randrange(5)]
            alarm.tell_nowait(Arm(key=f"k{i}", delay=rng.choice([1.0, 2.5, 7.0, 30.0])))
        return [tuple(m) for m in await probe.receive_n(40, timeout=1000)]  # type: ignore[misc]


async def test_same_seed_same_run() -> None:
    first = await _replay(7)
    assert first == await _replay(7)
    assert first != await _replay(8)
    assert [t for t, _ in first] == sorted(t for t, _ in first)


async def test_actor_system_time_is_the_clock_time() -> None:
    clock = VirtualClock(start=1_700_000_000.0)
    async with clock.autojump(), ActorSystem("t", clock=clock) as system:
        await system.clock.sleep(DAY * 21)
        assert system.clock.now() == 1_700_000_000.0 + DAY * 21


async def test_cancelled_virtual_timers_do_not_pile_up() -> None:
    """Asks cancel nearly every deadline they set: the heap must stay bounded."""
    clock = VirtualClock()
    for i in range(100_000):
        clock.call_at(10.0 + i, lambda: None).cancel()
    assert len(clock._heap) < 3_000
    fired: list[float] = []
    clock.call_at(5.0, lambda: fired.append(clock.now()))
    await clock.advance(200_000.0)
    assert fired == [5.0]
    assert clock._heap == []


async def test_scheduler_on_a_virtual_clock_runs_callbacks_without_a_task() -> None:
    from mesh_actors import Scheduler

    clock = VirtualClock()
    errors: list[BaseException] = []
    scheduler = Scheduler(clock, errors.append)
    seen: list[tuple[float, str]] = []
    scheduler.call_at(3.0, lambda: seen.append((clock.now(), "a")))
    dropped = scheduler.call_at(2.0, lambda: seen.append((clock.now(), "dropped")))
    scheduler.call_later(1.0, lambda: 1 / 0)
    assert len(scheduler) == 3
    dropped.cancel()
    dropped.cancel()  # idempotent
    assert len(scheduler) == 2
    await clock.advance(5.0)  # no scheduler task is running: the clock fires them
    assert seen == [(3.0, "a")]
    assert [type(e) for e in errors] == [ZeroDivisionError]
    assert len(scheduler) == 0


async def test_a_cancelled_call_releases_what_its_callback_holds() -> None:
    """An ask's timeout callback holds the asked message (a relayer's batch of packets):
    once the ask is answered and the call cancelled, nothing may keep it alive until the
    deadline."""
    import gc
    import weakref

    from mesh_actors import Scheduler

    class Payload:
        pass

    clock = VirtualClock()
    scheduler = Scheduler(clock, lambda error: None)
    payload = Payload()
    alive = weakref.ref(payload)
    call = scheduler.call_later(30.0, lambda held=payload: held)
    del payload
    gc.collect()
    assert alive() is not None  # pending: the callback holds it
    call.cancel()
    gc.collect()
    assert alive() is None  # released at once, 30 s before the deadline
    await clock.advance(60.0)
    assert len(scheduler) == 0
