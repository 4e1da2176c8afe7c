"""Cancelling a `Mesh` at any point of its start-up and shutdown, on asyncio and trio.

An embedder wraps ``async with Mesh(...)`` in its own cancel scopes (a request deadline, a
shutdown signal). Whatever the moment the scope is cancelled, it must exit cleanly (no
``RuntimeError`` about cancel scopes exited out of order, no `ActorTerminated` of an actor
the cancellation itself stopped), leave no task or actor behind, and let an exception the
embedder raises inside the block come out as it was raised (not in an exception group).

The sweeps cancel at many points: on the virtual clock (deterministic points of the
deployment sequence, I-49), and on the real clock with small delays (the points between
two awaits that only wall time reaches).
"""

from __future__ import annotations

import anyio
import pytest

from chains import Mesh, Topology
from mesh_actors import RealClock, VirtualClock
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio


class EmbedderError(Exception):
    """The embedder's own failure, raised inside ``async with``."""


def _small() -> Topology:
    return topology(SMALL)


async def _tasks() -> int:
    # let tasks that were told to stop finish unwinding before counting
    for _ in range(3):
        await anyio.lowlevel.checkpoint()
    return len(anyio.get_running_tasks())


def _assert_stopped(mesh: Mesh) -> None:
    assert not mesh.running
    for chain_id in mesh.chains():
        system = mesh.chain(chain_id).system
        assert not system.running, chain_id
        assert system.actors() == [], chain_id


async def test_cancelled_at_once_exits_the_scope_cleanly(anyio_backend: str) -> None:
    """``move_on_after(0)`` around the mesh: was a RuntimeError on asyncio (a task group of
    the fault injector exited inside a shield opened after it)."""
    before = await _tasks()
    mesh = Mesh(_small())
    with anyio.move_on_after(0) as scope:
        async with mesh:
            pytest.fail("the body must not run")  # pragma: no cover
    assert scope.cancelled_caught
    _assert_stopped(mesh)
    assert await _tasks() == before


# real-clock delays (seconds) into the start-up (a SMALL mesh starts in tens of ms)
_REAL_DELAYS = [0.0, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.007, 0.01, 0.015, 0.02]
_REAL_DELAYS += [0.03, 0.045, 0.06, 0.08, 0.12]


async def test_cancelled_anywhere_in_start_up_real_delays(anyio_backend: str) -> None:
    """Cancelled after each of a sweep of small wall-clock delays: the scope always catches
    its own cancellation (was `ActorTerminated` escaping the scope at 2-15 ms on asyncio:
    the cancellation stopped the chains' actors before it reached the deploying task), and
    nothing is left running."""
    before = await _tasks()
    for delay in _REAL_DELAYS:
        mesh = Mesh(_small())
        with anyio.move_on_after(delay) as scope:
            async with mesh:
                await mesh.advance(days=1)
                # only the deadline ends the body: a fast machine (or a fast mesh) can
                # finish the day within the longest delays, which left nothing to cancel
                await anyio.sleep_forever()
        assert scope.cancelled_caught, delay
        _assert_stopped(mesh)
        assert await _tasks() == before, delay


async def test_cancelled_at_every_virtual_second_of_start_up(anyio_backend: str) -> None:
    """Cancelled by a deadline on the mesh's own virtual clock, at every second of its
    start-up (clients, connection, contracts, channel handshake, valset sync, max cap)."""
    before = await _tasks()
    probe = Mesh(_small())
    async with probe:
        start_up = probe.clock.now()
    assert start_up > 2
    for tenth in range(0, int(start_up * 10) + 20, 17):
        clock = VirtualClock()
        mesh = Mesh(_small(), clock=clock)
        with clock.move_on_after(tenth / 10) as scope:
            async with mesh:
                await mesh.advance(days=1)
        assert scope.cancelled_caught, tenth
        _assert_stopped(mesh)
        assert await _tasks() == before, tenth


async def test_cancelled_during_shutdown(anyio_backend: str) -> None:
    """The scope's deadline falls while the mesh is closing (after the body returned): the
    shutdown still completes and the scope exits cleanly."""
    before = await _tasks()
    for delay in [0.0, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008]:
        mesh = Mesh(_small())
        with anyio.CancelScope() as scope:
            async with mesh:
                await mesh.bond("osmosis", "alice", 1_000)
                scope.deadline = anyio.current_time() + delay
        _assert_stopped(mesh)
        assert await _tasks() == before, delay


@pytest.mark.parametrize("where", ["at once", "after work", "with events", "with watcher"])
async def test_embedder_exception_comes_out_unwrapped(anyio_backend: str, where: str) -> None:
    """An exception raised inside ``async with`` comes out as itself, whatever background
    tasks the mesh runs (event forwarding, the invariant watcher)."""
    before = await _tasks()
    mesh = Mesh(_small(), check_invariants=where == "with watcher")
    with pytest.raises(EmbedderError):
        async with mesh:
            if where == "after work":
                await mesh.bond("osmosis", "alice", 1_000)
                await mesh.advance(seconds=30)
            if where == "with events":
                mesh.events()
                await mesh.advance(seconds=30)
            if where == "with watcher":
                await mesh.advance(seconds=30)
            raise EmbedderError(where)
    _assert_stopped(mesh)
    assert await _tasks() == before


async def test_embedder_exception_inside_a_cancelled_scope(anyio_backend: str) -> None:
    """The embedder's exception wins over a cancellation of the same scope during close."""
    mesh = Mesh(_small())
    with pytest.raises(EmbedderError), anyio.CancelScope() as scope:
        async with mesh:
            scope.cancel()
            raise EmbedderError("late")
    _assert_stopped(mesh)


async def test_cancelled_anywhere_in_a_real_clock_start_up(anyio_backend: str) -> None:
    """On a real clock the deployment runs beside a task that ends blocks on demand: a
    cancellation at any point of it still exits cleanly and leaves nothing running."""
    before = await _tasks()
    for delay in [0.0, 0.002, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3]:
        mesh = Mesh(_small(), clock=RealClock())
        with anyio.move_on_after(delay) as scope:
            async with mesh:
                await mesh.advance(seconds=1.0)
        assert scope.cancelled_caught, delay
        _assert_stopped(mesh)
        assert await _tasks() == before, delay
