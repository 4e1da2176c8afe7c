"""Determinism: the same config and inputs give byte-identical state and event logs.

Checked for the executor alone and for whole runs through the actors in virtual time, on
asyncio and on trio (a run on one backend equals a run on the other).
"""

from __future__ import annotations

import random

import anyio

from chains import Chain, ChainEvent, Coin
from chains.contract import ReplyOn
from chains.host import TxExecutor
from chains.testing import (
    CascadeChild,
    CascadeContract,
    CascadeInit,
    CascadeNode,
    FakeIbcModule,
    RecordingModule,
    RunNode,
)
from mesh_actors.testing import virtual_system
from tests.chains.host._kit import ALICE, BOB, DENOM, SINK, HostKit, make_config


def random_plan(rng: random.Random, contracts: list[str], depth: int = 3) -> CascadeNode:
    children: tuple[CascadeChild, ...] = ()
    if depth:
        children = tuple(
            CascadeChild(
                id=rng.randrange(6),
                reply_on=rng.choice(list(ReplyOn)),
                funds=rng.randrange(4),
                node=random_plan(rng, contracts, depth - 1),
            )
            for _ in range(rng.randrange(3))
        )
    return CascadeNode(
        target=rng.choice(contracts),
        tag=f"t{rng.randrange(1000)}",
        send=rng.randrange(5),
        sink=SINK,
        packet=rng.random() < 0.3,
        fail=rng.choice(["", "", "", "", "error", "panic"]),
        children=children,
    )


def _event_log(events: list[ChainEvent]) -> bytes:
    return "\n".join(repr(e) for e in events).encode()


def _executor_run(seed: int) -> tuple[bytes, bytes]:
    kit = HostKit()
    rng = random.Random(seed)
    events: list[ChainEvent] = []
    for step in range(60):
        plan = random_plan(rng, kit.contracts)
        events.extend(kit.ex.execute(ALICE, plan.target, RunNode(node=plan)).events)
        if step % 7 == 0:
            events.extend(kit.ex.end_block().events)
            events.extend(kit.ex.begin_block(kit.ex.time_s + rng.randrange(1, 9)).events)
    return kit.ex.dump_state(), _event_log(events)


def test_executor_runs_are_byte_identical() -> None:
    first, second = _executor_run(7), _executor_run(7)
    assert first == second
    assert _executor_run(8) != first  # the inputs do matter


async def _actor_run(seed: int) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    async with virtual_system("node") as system, Chain(make_config(), system) as chain:
        subscription = chain.events()
        await chain.register_code(CascadeContract)

        def modules(ex: TxExecutor) -> RecordingModule:
            return RecordingModule(ex.store)

        await chain.add_module(modules)
        await chain.add_module(lambda ex: FakeIbcModule(ex.store))
        contracts = [
            await chain.instantiate(
                ALICE, "test.cascade", CascadeInit(), (Coin(denom=DENOM, amount=40),)
            )
            for _ in range(3)
        ]
        validator = chain.operator("val-a")
        for step in range(40):
            plan = random_plan(rng, contracts)
            await chain.execute(ALICE, plan.target, RunNode(node=plan))
            if step % 5 == 0:
                await chain.delegate(ALICE, validator, rng.randrange(1, 10**6))
                await chain.bank_send(ALICE, BOB, Coin(denom=DENOM, amount=rng.randrange(1, 99)))
            if step % 9 == 0:
                await system.clock.sleep(rng.randrange(1, 30) + 0.5)
        await chain.produce_blocks(25)
        await chain.force_downtime(validator)
        await system.clock.sleep(33.5)
        dump = await chain.dump_state()
        return dump, _event_log(subscription.drain())


def test_actor_runs_are_byte_identical_on_both_backends() -> None:
    results = [
        anyio.run(_actor_run, 3, backend="asyncio"),
        anyio.run(_actor_run, 3, backend="asyncio"),
        anyio.run(_actor_run, 3, backend="trio"),
    ]
    assert results[0] == results[1] == results[2]
    dump, events = results[0]
    assert b"height" in dump and events.count(b"ChainEvent(") > 100
