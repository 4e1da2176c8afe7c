"""One seeded fault run: two chains, two relayers, a faulty network, random stops.

`soak(seed)` builds the world, opens a channel (ORDERED or UNORDERED, from the seed),
turns the faults on (drop, duplicate, delay, reorder on every link between the chains' and
the relayers' systems), sends packets with short and long timeouts while relayers are
stopped, restarted and paused at random, then heals the network, keeps one relayer running
until every timeout has passed, and returns what the checks need. Everything is derived from
``seed`` (the network's dice, the schedule, the traffic) and runs in virtual time, so a
failing seed replays exactly: ``anyio.run(soak, seed, backend="asyncio")``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from chains.contract import IbcOrder
from chains.ibc import ChannelState, IbcConfig, IbcModule, PauseRelaying, ResumeRelaying
from chains.testing import IbcAppConfigure, IbcAppSend, IbcAppState
from tests.chains.ibc._world import World, ibc_world
from transport import LinkFaults, Uniform

NS = 1_000_000_000


@dataclass
class SoakResult:
    seed: int
    ordering: IbcOrder
    a_channel: str
    b_channel: str
    amounts: dict[int, int] = field(default_factory=dict)  # nonce -> amount sent
    sender: IbcAppState | None = None
    receiver: IbcAppState | None = None
    a_module: IbcModule | None = None
    b_module: IbcModule | None = None
    a_closed: bool = False
    problems: list[str] = field(default_factory=list)


def _faults(rng: random.Random) -> LinkFaults:
    return LinkFaults(
        drop=rng.choice((0.05, 0.15, 0.3)),
        duplicate=rng.choice((0.0, 0.1, 0.3)),
        delay=Uniform(0.0, rng.choice((0.2, 1.0, 3.0))),
        reorder=rng.choice((0.0, 0.1, 0.3)),
        reorder_delay=rng.choice((0.5, 2.0)),
    )


async def soak(seed: int, notice_page: int | None = None) -> SoakResult:
    """The run of ``seed``; ``notice_page`` bounds each block notice (`IbcConfig`)."""
    rng = random.Random(seed)
    ordering = IbcOrder.ORDERED if rng.random() < 0.3 else IbcOrder.UNORDERED
    config = None if notice_page is None else IbcConfig(notice_page=notice_page)
    async with ibc_world(faults=LinkFaults(), seed=seed, config=config) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        first = await world.spawn_relayer("relayer", 0)
        await world.setup_path(first)
        a_channel, b_channel = await world.open_channel(first, ordering)
        result = SoakResult(seed, ordering, a_channel, b_channel)
        relayers: dict[str, Any] = {"relayer": first}
        overrides = {
            "clear_interval": rng.choice((2.0, 5.0)),
            "retry_delay": 1.0,
            "query_timeout": 2.0,
            "max_batch": rng.choice((1, 3, 100)),
            "batch_delay": rng.choice((0.0, 0.5)),
        }
        # a second relayer on the same path, in its own system: they race
        relayers["relayer-2"] = await world.spawn_relayer("relayer-2", 1, **overrides)
        assert world.faulty is not None
        world.faulty.set_default(_faults(rng))
        await _traffic(world, rng, result, relayers, overrides)
        # heal, keep (at least) one relayer running, and let every timeout pass
        world.faulty.set_default(LinkFaults())
        if "relayer" not in relayers:
            relayers["relayer"] = await world.spawn_relayer("relayer", 0)
        for ref in relayers.values():
            ref.tell_nowait(ResumeRelaying())
        await world.clock.sleep(150.0)
        await _settle(world, result)
        result.sender = await world.a.state()
        result.receiver = await world.b.state()
        result.a_module = world.a.ibc.module
        result.b_module = world.b.ibc.module
        end = world.a.ibc.module.channel_end(a_channel)
        result.a_closed = end is not None and end.state is ChannelState.CLOSED
        return result


async def _traffic(
    world: World,
    rng: random.Random,
    result: SoakResult,
    relayers: dict[str, Any],
    overrides: dict[str, Any],
) -> None:
    nonce = 0
    for _ in range(rng.randint(3, 6)):
        # the receiving app fails now and then: error acks, its changes rolled back (I-19)
        await world.b.execute(IbcAppConfigure(fail_receive=rng.random() < 0.2))
        count = rng.randint(1, 4)
        amount = rng.randint(1, 100)
        if rng.random() < 0.4:
            send = IbcAppSend(
                channel_id=result.a_channel,
                count=count,
                amount=amount,
                timeout_seconds=rng.choice((2, 4, 8)),
            )
        else:
            send = IbcAppSend(
                channel_id=result.a_channel,
                count=count,
                amount=amount,
                timeout_seconds=rng.choice((30, 60)),
            )
        sent = await world.a.execute(send)
        if sent.ok:
            for _ in range(count):
                result.amounts[nonce] = amount
                nonce += 1
        await _chaos(world, rng, relayers, overrides)
        await world.clock.sleep(rng.choice((0.5, 1.0, 3.0)))


async def _chaos(
    world: World, rng: random.Random, relayers: dict[str, Any], overrides: dict[str, Any]
) -> None:
    roll = rng.random()
    names = [("relayer", 0), ("relayer-2", 1)]
    name, system = rng.choice(names)
    if roll < 0.25 and name in relayers:
        ref = relayers.pop(name)
        await world.relayer_systems[system].stop(ref)
    elif roll < 0.5 and name not in relayers:
        extra = overrides if name == "relayer-2" else {}
        relayers[name] = await world.spawn_relayer(name, system, **extra)
    elif roll < 0.6 and name in relayers:
        relayers[name].tell_nowait(PauseRelaying())
    elif roll < 0.7 and name in relayers:
        relayers[name].tell_nowait(ResumeRelaying())


async def _settle(world: World, result: SoakResult) -> None:
    module = world.a.ibc.module

    def quiet() -> bool:
        end = module.channel_end(result.a_channel)
        closed = end is not None and end.state is ChannelState.CLOSED
        for seq in module.pending_sequences(result.a_channel):
            # only a packet received before its source closed may stay pending (I-16)
            if not (closed and world.b.ibc.module.receipt(result.b_channel, seq) is not None):
                return False
        return True

    try:
        await world.wait_until(quiet, 300.0, step=1.0)
    except AssertionError:
        result.problems.append(f"still pending: {module.pending_sequences(result.a_channel)}")
