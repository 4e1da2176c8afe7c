"""Library logging: silent unless the application configures it; context kept when it does.

Issue 12: an embedded, unconfigured mesh printed ``[info] mesh started`` to stdout. Each
scenario runs in a fresh interpreter, as an embedding application would: nothing in it has
configured ``logging`` or structlog unless the scenario says so.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from mesh_actors import get_logger

ROOT = Path(__file__).resolve().parents[2]

# An embedded mesh, an actor whose handler fails, a debug system (a log line per message),
# a timer callback that raises, and a frame the transport refuses: every kind of library log.
SCENARIO = textwrap.dedent(
    """
    import anyio
    from chains import Mesh
    from mesh_actors import Actor, ActorSystem, Message, VirtualClock, handler
    from transport import InMemoryNetwork

    class Boom(Message):
        pass

    class Fragile(Actor[Boom]):
        @handler
        def boom(self, _: Boom) -> None:
            raise ValueError("boom")

    async def main() -> None:
        async with Mesh.from_topology("examples/topologies/one_to_one.toml") as mesh:
            await mesh.clock.sleep(1)
        clock = VirtualClock()
        net = InMemoryNetwork(force_codec=True)
        async with clock.autojump(), net, ActorSystem(
            "app", clock=clock, transport=net, debug=True
        ) as system:
            fragile = system.spawn(Fragile, name="fragile")
            for _ in range(3):
                fragile.tell_nowait(Boom())
            system._scheduler.call_later(1, lambda: 1 / 0)
            await net.deliver_frame("elsewhere", "app", b"not a frame")
            await clock.sleep(5)

    anyio.run(main)
    """
)


def _run(prelude: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(prelude) + SCENARIO],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_an_unconfigured_application_gets_no_output_at_all() -> None:
    done = _run("")
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")


def test_a_configured_stdlib_handler_receives_the_records_with_their_context() -> None:
    done = _run(
        """
        import json, logging, sys

        class Json(logging.Formatter):
            def format(self, record):
                keys = ("system", "actor", "message_type", "correlation_id", "error")
                extra = {k: str(getattr(record, k)) for k in keys if hasattr(record, k)}
                return json.dumps([record.name, record.levelname, record.getMessage(), extra])

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(Json())
        logging.basicConfig(level=logging.DEBUG, handlers=[handler])
        """
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    events = {(name, level, event) for name, level, event, _ in records}
    assert ("chains.mesh", "INFO", "mesh started") in events
    assert ("mesh_actors", "ERROR", "actor failed") in events
    assert ("mesh_actors", "ERROR", "timer callback raised") in events
    assert ("transport", "WARNING", "frame refused") in events
    handling = [extra for _, _, event, extra in records if event == "handling"]
    assert len(handling) == 3
    assert handling[0] == {
        "system": "app",
        "actor": "fragile",
        "message_type": "Boom",
        "correlation_id": "0",
    }


def test_a_structlog_configuration_of_the_application_is_followed() -> None:
    done = _run(
        """
        import structlog
        structlog.configure(
            processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
            logger_factory=structlog.PrintLoggerFactory(),
        )
        """
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {"event": "mesh started", "level": "info"}.items() <= next(
        line for line in lines if line["event"] == "mesh started"
    ).items()
    failed = next(line for line in lines if line["event"] == "actor failed")
    assert (failed["system"], failed["actor"]) == ("app", "fragile")


@pytest.fixture
def unconfigured() -> Iterator[None]:
    """structlog as an application that never configured it (other tests may have)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def test_a_context_key_that_clashes_with_a_record_attribute_is_renamed(
    unconfigured: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mesh_actors.test")
    get_logger("mesh_actors.test", name="n").info("clash", module="m", message="x", depth=2)
    (record,) = caplog.records
    assert record.getMessage() == "clash"
    assert (record.name_, record.module_, record.message_, record.depth) == ("n", "m", "x", 2)  # type: ignore[attr-defined]


def test_a_library_logger_adds_only_a_null_handler(unconfigured: None) -> None:
    top = logging.getLogger("mesh_actors_probe")
    get_logger("mesh_actors_probe.inner").error("quiet")
    get_logger("mesh_actors_probe.inner").error("quiet again")
    assert [type(h) for h in top.handlers] == [logging.NullHandler]
    top.handlers.clear()
