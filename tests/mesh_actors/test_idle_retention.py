"""An idle actor keeps nothing of the messages it handled (issue 16: memory per stake)."""

from __future__ import annotations

import gc
import weakref

import anyio
import pytest

from mesh_actors import Actor, Message, handler
from mesh_actors.testing import virtual_system

pytestmark = pytest.mark.anyio


class Batch(Message):
    items: tuple[int, ...]


class Receipt(Message):
    items: tuple[int, ...]


class Holder(Actor[Batch]):
    """Answers a batch with a receipt and keeps neither."""

    @handler
    def batch(self, msg: Batch) -> Receipt:
        return Receipt(items=msg.items)


async def test_an_idle_actor_does_not_pin_its_last_message_or_answer() -> None:
    async with virtual_system() as system:
        ref = system.spawn(Holder, name="holder")
        sent = Batch(items=tuple(range(1_000)))
        answer = await ref.ask(sent, expect=Receipt)
        message, reply = weakref.ref(sent), weakref.ref(answer)
        del sent, answer
        # let the actor finish its batch and go idle, waiting for the next message
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        gc.collect()
        assert message() is None
        assert reply() is None
