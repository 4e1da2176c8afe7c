"""The runtime under overload: which share of asks is answered in time, expired asks dropped
(after, the default) or handled anyway (before: ``ActorSystem(drop_expired=False)``).

N concurrent clients (1k, 3k, 10k) each ask one actor in a loop, 1 s timeout, for a window
of real time; the handler takes 1 ms (``anyio.sleep``), so the actor serves ~1,000 asks a
second and any N above that is overload. Figures: the share of asks answered within their
timeout, and the answers in time per second, against the bare baseline measured in the same
run: one asyncio task serving the same clients through a bare queue, dropping expired
requests itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio

from benchmarks._report import Report
from mesh_actors import Actor, ActorSystem, AskTimeout, MailboxConfig, Message, handler

WINDOW = 5.0
TIMEOUT = 1.0
WORK = 0.001
CLIENTS = (1_000, 3_000, 10_000)


class Job(Message):
    type_name = "bench.job"


class Server(Actor[Job]):
    mailbox = MailboxConfig(capacity=20_000)

    @handler
    async def job(self, _: Job) -> int:
        await anyio.sleep(WORK)
        return 1


async def _actors(clients: int, drop_expired: bool) -> tuple[int, int]:
    answered = timed_out = 0
    async with ActorSystem("bench", ask_timeout=TIMEOUT, drop_expired=drop_expired) as system:
        server = system.spawn(Server, name="server")
        stop_at = time.perf_counter() + WINDOW

        async def client() -> None:
            nonlocal answered, timed_out
            while True:  # at least one ask each, however long starting 10k clients takes
                try:
                    await server.ask(Job())
                except AskTimeout:
                    timed_out += 1
                else:
                    answered += 1
                if time.perf_counter() >= stop_at:
                    return

        async with anyio.create_task_group() as tg:
            for _ in range(clients):
                tg.start_soon(client)
        await system.stop(server)  # the backlog goes to the dead letters, not to work
    return answered, timed_out


async def _bare(clients: int) -> tuple[int, int]:
    """The limit: a bare queue and one serving task that drops what expired."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[asyncio.Future[int], float]] = asyncio.Queue()
    answered = timed_out = 0
    stop_at = time.perf_counter() + WINDOW

    async def serve() -> None:
        while True:
            future, deadline = await queue.get()
            if future.done() or loop.time() >= deadline:
                continue
            await asyncio.sleep(WORK)
            if not future.done():
                future.set_result(1)

    async def client() -> None:
        nonlocal answered, timed_out
        while True:
            future: asyncio.Future[int] = loop.create_future()
            queue.put_nowait((future, loop.time() + TIMEOUT))
            try:
                await asyncio.wait_for(future, TIMEOUT)
            except TimeoutError:
                timed_out += 1
            else:
                answered += 1
            if time.perf_counter() >= stop_at:
                return

    server = asyncio.create_task(serve())
    await asyncio.gather(*(client() for _ in range(clients)))
    server.cancel()
    return answered, timed_out


def _share(result: tuple[int, int]) -> float:
    answered, timed_out = result
    return 100.0 * answered / max(answered + timed_out, 1)


def run(report: Report) -> None:
    def once(fn: Any, *args: Any) -> tuple[int, int]:
        result: tuple[int, int] = anyio.run(fn, *args, backend="asyncio")
        return result

    bare = once(_bare, CLIENTS[0])
    report.baseline(
        "overload: bare queue, answers in time /s (1k clients)",
        bare[0] / WINDOW,
        "answers/s",
        note=f"{_share(bare):.1f}% in time",
    )
    for clients in CLIENTS:
        for drop in (False, True):
            result = once(_actors, clients, drop)
            label = "after: expired dropped" if drop else "before: all handled"
            report.compare(
                f"overload {clients:,} clients, {label}",
                result[0] / WINDOW,
                "answers/s",
                "overload: bare queue, answers in time /s (1k clients)",
                note=f"{_share(result):.1f}% of {sum(result):,} asks in time",
            )
