"""A peer process for the two-process NATS test: actor system ``b`` with a ``keeper`` actor.

Run as ``python -m tests.transport.nats._peer URL PREFIX`` from the project root. It prints
``ready`` once attached and runs until killed. The test imports the messages from here, so
both processes speak the same registry.
"""

from __future__ import annotations

import sys

import anyio

from mesh_actors import Actor, ActorSystem, Message, MessageRegistry, handler
from transport import JsonCodec, NatsTransport


class Add(Message):
    """Told: add ``amount`` to the keeper's total."""

    type_name = "nats-peer.Add"
    amount: int


class GetTotal(Message):
    """Asked: answered with `Total`."""

    type_name = "nats-peer.GetTotal"


class Total(Message):
    type_name = "nats-peer.Total"
    value: int
    pid: int


REGISTRY = MessageRegistry((Add, GetTotal, Total))


class Keeper(Actor[Add | GetTotal]):
    def __init__(self, pid: int) -> None:
        self._total = 0
        self._pid = pid

    @handler
    def on_add(self, message: Add) -> None:
        self._total += message.amount

    @handler
    def on_get(self, message: GetTotal) -> Total:
        return Total(value=self._total, pid=self._pid)


async def serve(url: str, prefix: str) -> None:
    """Attach system ``b`` with its keeper, say ``ready`` on stdout, and serve forever."""
    import os

    pid = os.getpid()
    async with (
        NatsTransport(url, prefix=prefix, codec=JsonCodec(REGISTRY)) as transport,
        ActorSystem("b", transport=transport) as system,
    ):
        system.spawn(lambda: Keeper(pid), name="keeper")
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await anyio.sleep_forever()


if __name__ == "__main__":
    anyio.run(serve, sys.argv[1], sys.argv[2], backend="asyncio")
