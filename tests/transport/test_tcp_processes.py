"""Two OS processes on loopback: this test's process runs system "a", a child process
(``tcp_peer.py``) runs system "b". They exchange typed asks and tells; the child is killed
with SIGKILL mid-ask and restarted on the same port: the ask in flight and the asks while it
is down fail fast with `NoRoute`, and asks work again once it is back (a new incarnation)."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import anyio
import anyio.abc
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from mesh_actors import ActorSystem, NoRoute
from transport import TcpNetwork

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]

SECRET = b"tcp-process-secret-0123456789abcdef"
SCRIPT = Path(__file__).with_name("tcp_peer.py")


def load_peer_module() -> ModuleType:
    """``tcp_peer.py`` as a module, once per process (see test_tcp.py)."""
    name = "tests_transport_tcp_peer"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


peer = load_peer_module()
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def peer_process(
    port: int, backend: str
) -> AsyncIterator[tuple[anyio.abc.Process, int, str]]:
    """Start ``tcp_peer.py`` as system "b"; yield the process, its port and incarnation.

    On leaving, the process is killed if it still runs.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [
        sys.executable,
        str(SCRIPT),
        "--name",
        "b",
        "--port",
        str(port),
        "--secret",
        SECRET.hex(),
        "--backend",
        backend,
    ]
    process = await anyio.open_process(command, env=env, cwd=ROOT, stderr=None)
    try:
        assert process.stdout is not None
        with anyio.fail_after(30):
            line = await BufferedByteReceiveStream(process.stdout).receive_until(b"\n", 1000)
        word, bound, incarnation = line.decode().split()
        assert word == "READY"
        yield process, int(bound), incarnation
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.wait()
            await process.aclose()


async def test_asks_and_tells_between_two_processes_survive_a_sigkill_and_restart(
    anyio_backend: str,
) -> None:
    async with peer_process(0, anyio_backend) as (first, port, first_incarnation):
        network = TcpNetwork(
            secret=SECRET,
            codec=peer.codec(),
            peers={"b": ("127.0.0.1", port)},
            heartbeat_interval=0.2,
            heartbeat_timeout=2.0,
            backoff_initial=0.02,
            backoff_max=0.2,
        )
        async with network, ActorSystem("a", transport=network, ask_timeout=30) as a:
            bank = a.ref("b/bank")
            for n in range(100):
                await bank.tell(peer.Deposit(account="alice", amount=n))
            reply = await bank.ask(peer.GetBalance(account="alice"), expect=peer.Balance)
            assert reply == peer.Balance(account="alice", amount=sum(range(100)))
            assert network.statistics()[("a", "b")].peer_incarnation == first_incarnation

            lost: list[NoRoute] = []

            async def ask_in_flight() -> None:
                try:
                    await bank.ask(peer.Stall(seconds=60), timeout=30)
                except NoRoute as exc:
                    lost.append(exc)

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(ask_in_flight)
                    await anyio.sleep(0.2)
                    first.send_signal(signal.SIGKILL)
            assert len(lost) == 1, "the ask in flight to the killed process must fail fast"
            assert await first.wait() == -signal.SIGKILL

            # Down: asks fail at once with a named error, not after their timeout.
            for _ in range(3):
                with anyio.fail_after(1), pytest.raises(NoRoute):
                    await bank.ask(peer.GetBalance(account="alice"), timeout=30)

            async with peer_process(port, anyio_backend) as (_, again, second_incarnation):
                assert again == port
                assert second_incarnation != first_incarnation
                with anyio.fail_after(10):
                    while True:
                        try:
                            reply = await bank.ask(
                                peer.GetBalance(account="alice"), expect=peer.Balance, timeout=2
                            )
                            break
                        except NoRoute:
                            await anyio.sleep(0.05)  # still re-dialling with backoff
                # A new process: its state starts afresh.
                assert reply == peer.Balance(account="alice", amount=0)
                await bank.tell(peer.Deposit(account="alice", amount=7))
                reply = await bank.ask(peer.GetBalance(account="alice"), expect=peer.Balance)
                assert reply.amount == 7
                stats = network.statistics()[("a", "b")]
                assert stats.peer_incarnation == second_incarnation
                assert stats.failed_asks >= 1
