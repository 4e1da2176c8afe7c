"""Two OS processes exchange typed asks and tells through a NATS server on loopback.

The peer (``_peer.py``) runs actor system ``b``; this process runs ``a``. The peer is
killed with SIGKILL (no goodbye on the wire) and started again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

import transport
from mesh_actors import ActorSystem, NoRoute
from tests.transport.nats._peer import REGISTRY, Add, GetTotal, Total
from transport import JsonCodec, NatsServer, NatsTransport

pytestmark = pytest.mark.anyio

ASK_TIMEOUT = 10.0
FAST = 2.0
ROOT = Path(transport.__file__).resolve().parent.parent


@contextmanager
def peer(url: str, prefix: str) -> Iterator[subprocess.Popen[bytes]]:
    """The peer process, running and attached; killed (SIGKILL) and reaped on exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.transport.nats._peer", url, prefix],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        # Blocking reads are fine: the peer either says it or dies (EOF). Lines before it
        # are its log, if any.
        lines: list[bytes] = []
        while (line := process.stdout.readline()) not in (b"ready\n", b""):
            lines.append(line)
        assert line == b"ready\n", f"peer did not start: {lines!r}"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


async def wait_for_total(system: ActorSystem) -> Total:
    """Ask ``b/keeper`` until it answers (the peer's announcement may still be on its way)."""
    for _ in range(150):
        try:
            reply = await system.ref("b/keeper").ask(GetTotal(), expect=Total, timeout=1)
        except NoRoute:
            await anyio.sleep(0.1)
            continue
        assert isinstance(reply, Total)
        return reply
    pytest.fail("the peer's keeper never answered")


async def test_asks_and_tells_between_processes_survive_a_killed_peer(
    nats_server: NatsServer, subject_prefix: str
) -> None:
    async with (
        NatsTransport(nats_server.url, prefix=subject_prefix, codec=JsonCodec(REGISTRY)) as net,
        ActorSystem("a", transport=net, ask_timeout=ASK_TIMEOUT) as a,
    ):
        keeper = a.ref("b/keeper")
        with peer(nats_server.url, subject_prefix) as first:
            assert (await wait_for_total(a)).value == 0
            for amount in range(1, 101):
                await keeper.tell(Add(amount=amount))
            # Tells and the ask travel in order on one link: the total includes them all.
            total = await keeper.ask(GetTotal(), expect=Total)
            assert total == Total(value=5050, pid=first.pid)

            first.kill()  # SIGKILL: the server drops its subscriptions, nobody says goodbye
            first.wait()
            # The kernel closed the peer's socket; give the server a moment to read that,
            # or it could still route the next request to the dead connection.
            await anyio.sleep(0.2)
            started = time.monotonic()
            with pytest.raises(NoRoute):
                await keeper.ask(GetTotal())
            with pytest.raises(NoRoute):
                await keeper.ask(GetTotal())
            assert time.monotonic() - started < FAST
            assert "b" not in net.systems()

        with peer(nats_server.url, subject_prefix) as second:
            total = await wait_for_total(a)
            assert total == Total(value=0, pid=second.pid)
            await keeper.tell(Add(amount=7))
            assert await keeper.ask(GetTotal(), expect=Total) == Total(value=7, pid=second.pid)
