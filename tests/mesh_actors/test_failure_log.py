"""Repeated identical failures are summarised, not logged one full line each.

Issue 12: 10,000 failures of a handler gave 20,049 log lines.
"""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from mesh_actors import Actor, Directive, Message, SupervisorStrategy, handler
from mesh_actors.testing import virtual_system

pytestmark = pytest.mark.anyio


class Boom(Message):
    pass


class Oops(Message):
    pass


class Fragile(Actor[Boom | Oops]):
    @handler
    def boom(self, _: Boom) -> None:
        raise ValueError("boom")

    @handler
    def oops(self, _: Oops) -> None:
        raise KeyError("oops")


RESUME = SupervisorStrategy.always(Directive.RESUME)


def _failures(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in logs if str(e["event"]).startswith("actor failed")]


async def test_ten_thousand_failures_give_one_full_line_and_one_summary() -> None:
    with capture_logs() as logs:
        async with virtual_system("s", failure_log_window=10.0) as system:
            fragile = system.spawn(Fragile, name="fragile", strategy=RESUME)
            for _ in range(10_000):
                await fragile.tell(Boom())
            await system.clock.sleep(5)
            assert len(_failures(logs)) == 1  # the window is still open
            await system.clock.sleep(10)
            first, summary = _failures(logs)
            fragile.tell_nowait(Boom())  # a new window: logged in full again
            await system.clock.sleep(1)
            assert len(_failures(logs)) == 3
    assert first["event"] == "actor failed"
    assert isinstance(first["exc_info"], ValueError)  # the first traceback is kept
    assert (first["actor"], first["error_type"], first["directive"]) == (
        "fragile",
        "builtins.ValueError",
        "resume",
    )
    assert summary["event"] == "actor failed repeatedly"
    assert (summary["repeats"], summary["error_type"], summary["actor"]) == (
        9_999,
        "builtins.ValueError",
        "fragile",
    )
    assert _failures(logs)[2]["event"] == "actor failed"
    assert len(_failures(logs)) == 3  # stopping with a window of one failure: no summary


async def test_each_exception_type_has_its_own_window_and_stopping_closes_them() -> None:
    with capture_logs() as logs:
        async with virtual_system("s", failure_log_window=60.0) as system:
            fragile = system.spawn(Fragile, name="fragile", strategy=RESUME)
            for _ in range(3):
                await fragile.tell(Boom())
                await fragile.tell(Oops())
            await system.clock.sleep(1)
            await system.stop(fragile)
            assert system.clock.now() < 60
    events = [(e["event"], e["error_type"], e.get("repeats")) for e in _failures(logs)]
    assert events == [
        ("actor failed", "builtins.ValueError", None),
        ("actor failed", "builtins.KeyError", None),
        ("actor failed repeatedly", "builtins.ValueError", 2),
        ("actor failed repeatedly", "builtins.KeyError", 2),
    ]


async def test_restarts_keep_counting_in_the_same_window() -> None:
    strategy = SupervisorStrategy(max_restarts=1_000, within=1.0)
    with capture_logs() as logs:
        async with virtual_system("s") as system:
            fragile = system.spawn(Fragile, name="fragile", strategy=strategy)
            for _ in range(50):
                await fragile.tell(Boom())
            await system.clock.sleep(30)
    events = [(e["event"], e["directive"], e.get("repeats")) for e in _failures(logs)]
    assert events == [
        ("actor failed", "restart", None),
        ("actor failed repeatedly", "restart", 49),
    ]
