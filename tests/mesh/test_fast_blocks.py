"""Lazy blocks are exact: a mesh whose chains produce idle blocks lazily (``lazy_blocks``,
the default: one clock stop per *due* block boundary, idle runs fast-forwarded in one step)
ends every phase with byte-identical chain states, the same events (heights, times, tx
indexes) and the same answers as one that gives every block its own timer tick.

The run covers what must still happen on time: bonds and cross-stakes relayed with their
acks (I-51, I-65), epochs every 100 blocks with their valset reports and reward packets
(C-51, C-56), a double-sign slash propagated to both of Juno's providers mid-run (C-36,
I-88, I-89), unbondings that mature (the tombstoned validator's, external-staking unstakes;
the topology's unbonding times are cut to three hours), and hours of idle blocks in between.

On asyncio only: trio randomises the order of runnable tasks, so two trio runs of a whole
mesh differ anyway (whatever the block production), and there is nothing to compare.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from chains import ChainEvent, Mesh, Topology, load_topology
from mesh_actors import Subscription, VirtualClock

SEED = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "stress.toml"
UNBONDING = 3 * 3_600


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _topology() -> Topology:
    seed = load_topology(SEED)
    chains = tuple(c.model_copy(update={"unbonding_time": UNBONDING}) for c in seed.chains)
    pairings = tuple(p.model_copy(update={"unbonding_period": UNBONDING}) for p in seed.pairings)
    return seed.model_copy(update={"chains": chains, "pairings": pairings})


async def _states(mesh: Mesh) -> dict[str, bytes]:
    return {chain_id: await mesh.chain(chain_id).dump_state() for chain_id in mesh.chains()}


async def _collect(subscription: Subscription[ChainEvent], log: list[ChainEvent]) -> None:
    async with subscription:
        async for event in subscription:
            log.append(event)


async def _run(*, lazy: bool) -> tuple[list[dict[str, bytes]], list[ChainEvent], float, int]:
    topology = _topology()
    states: list[dict[str, bytes]] = []
    log: list[ChainEvent] = []
    async with Mesh(topology, seed=3, lazy_blocks=lazy) as mesh, anyio.create_task_group() as tg:
        for chain_id in mesh.chains():
            # subscribed now, before any transaction: nothing can be missed
            tg.start_soon(_collect, mesh.chain(chain_id).events(buffer=1_000_000), log)
        states.append(await _states(mesh))
        assert (await mesh.bond("osmosis", "alice", 5_000_000)).ok
        assert (await mesh.cross_stake("osmosis", "juno", "alice", "juno-val1", 1_000_000)).ok
        assert (await mesh.cross_stake("osmosis", "stargaze", "alice", "stars-val1", 700_000)).ok
        assert (await mesh.bond("juno", "carol", 3_000_000)).ok
        assert (await mesh.cross_stake("juno", "osmosis", "carol", "osmo-val2", 400_000)).ok
        await mesh.advance(hours=2)  # 1,200 blocks: 12 epochs, rewards relayed
        states.append(await _states(mesh))
        assert (await mesh.misbehave("juno", "juno-val1")).ok
        await mesh.advance(seconds=1_234)  # the slash crosses to both providers
        states.append(await _states(mesh))
        assert (await mesh.unstake("osmosis", "juno", "alice", "juno-val1", 100_000)).ok
        assert (await mesh.unbond("osmosis", "alice", 1_000_000)).ok
        await mesh.advance(hours=3, seconds=700)  # past the unbonding periods
        assert (await mesh.withdraw_unbonded("osmosis", "juno", "alice")).ok
        await mesh.advance(seconds=600)
        states.append(await _states(mesh))
        seconds = mesh.seconds
        assert isinstance(mesh.clock, VirtualClock)
        stops = mesh.clock.jumps
        tg.cancel_scope.cancel()
    return states, log, seconds, stops


def _by_chain(log: list[ChainEvent]) -> dict[str, list[ChainEvent]]:
    chains: dict[str, list[ChainEvent]] = {}
    for event in log:
        chains.setdefault(event.chain_id, []).append(event)
    return chains


@pytest.mark.anyio
async def test_lazy_blocks_give_the_same_states_and_events_as_block_by_block() -> None:
    lazy_states, lazy_log, lazy_seconds, lazy_stops = await _run(lazy=True)
    plain_states, plain_log, plain_seconds, plain_stops = await _run(lazy=False)
    assert lazy_seconds == plain_seconds
    # the point of it: most block boundaries were not clock stops of their own
    assert lazy_stops * 2 < plain_stops, (lazy_stops, plain_stops)
    assert len(lazy_states) == len(plain_states) == 4
    for phase, (lazy, plain) in enumerate(zip(lazy_states, plain_states, strict=True)):
        assert lazy.keys() == plain.keys()
        for chain_id in lazy:
            assert lazy[chain_id] == plain[chain_id], f"{chain_id} differs after phase {phase}"
    # the run did reach far, with work on every chain (not a vacuous comparison)
    heads = [state.split(b"\n", 1)[0] for state in lazy_states[-1].values()]
    assert all(int(head.split()[3]) > 3_000 for head in heads), heads
    assert lazy_states[1] != lazy_states[0] and lazy_states[3] != lazy_states[2]
    # per chain, the same events in the same order, stamped with the same block
    lazy_events, plain_events = _by_chain(lazy_log), _by_chain(plain_log)
    assert lazy_events.keys() == plain_events.keys()
    for chain_id, events in lazy_events.items():
        assert events == plain_events[chain_id], chain_id
    assert len(lazy_log) > 100


async def _idle_epochs_run(*, lazy: bool) -> tuple[list[dict[str, bytes]], list[ChainEvent], int]:
    # 50-block epochs on every consumer: an idle hour holds 12 no-op epochs per consumer
    seed = _topology()
    chains = tuple(c.model_copy(update={"epoch_blocks": 50}) for c in seed.chains)
    topology = seed.model_copy(update={"chains": chains})
    states: list[dict[str, bytes]] = []
    log: list[ChainEvent] = []
    async with Mesh(topology, seed=5, lazy_blocks=lazy) as mesh, anyio.create_task_group() as tg:
        for chain_id in mesh.chains():
            tg.start_soon(_collect, mesh.chain(chain_id).events(buffer=1_000_000), log)
        await mesh.advance(hours=1, seconds=7)  # nothing pending anywhere: folded epochs
        states.append(await _states(mesh))
        assert (await mesh.bond("osmosis", "alice", 5_000_000)).ok
        assert (await mesh.cross_stake("osmosis", "juno", "alice", "juno-val1", 1_000_000)).ok
        await mesh.advance(hours=1)  # Juno's epochs have work, Stargaze's and Osmosis' none
        states.append(await _states(mesh))
        assert (await mesh.unstake("osmosis", "juno", "alice", "juno-val1", 1_000_000)).ok
        await mesh.advance(hours=1, seconds=333)  # unbonded at an epoch, then idle again
        states.append(await _states(mesh))
        assert isinstance(mesh.clock, VirtualClock)
        stops = mesh.clock.jumps
        tg.cancel_scope.cancel()
    return states, log, stops


@pytest.mark.anyio
async def test_folded_idle_epochs_give_the_same_states_and_events_as_block_by_block() -> None:
    """Issue 16: no-op epochs folded into the lazy fast-forward (C-51, C-52) leave the
    states and events of a mesh that ends every block with its own timer tick, before,
    during and after a cross-stake gives one consumer's epochs work (C-95, C-98)."""
    lazy_states, lazy_log, lazy_stops = await _idle_epochs_run(lazy=True)
    plain_states, plain_log, plain_stops = await _idle_epochs_run(lazy=False)
    assert lazy_stops * 2 < plain_stops, (lazy_stops, plain_stops)
    for phase, (lazy, plain) in enumerate(zip(lazy_states, plain_states, strict=True)):
        for chain_id in lazy:
            assert lazy[chain_id] == plain[chain_id], f"{chain_id} differs after phase {phase}"
    assert lazy_states[1] != lazy_states[0] != lazy_states[2]
    lazy_events, plain_events = _by_chain(lazy_log), _by_chain(plain_log)
    assert lazy_events.keys() == plain_events.keys()
    for chain_id, events in lazy_events.items():
        assert events == plain_events[chain_id], chain_id
    # Juno's epochs ran (sudo calls into its virtual staking), the idle ones did not
    sudo = [e for e in lazy_log if e.type == "sudo" and e.phase.value == "end_block"]
    assert {e.chain_id for e in sudo} >= {"juno"}
