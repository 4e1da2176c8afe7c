"""The IBC actors hang under the chain's host: ``<chain>/ibc`` and ``<chain>/ibc/channel-N``.

Issue 4 asks for each channel endpoint to be an actor of its chain. The gateway is a host
*component* (`SpawnComponent`): spawned as the host's child, refused under a name a live child
already has, and respawned when the host restarts, with the chain's IBC state intact (I-26).
"""

from __future__ import annotations

from functools import partial

import anyio
import pytest

from chains.host import InvalidComponent
from chains.ibc import GATEWAY_NAME, IbcGateway
from chains.testing import IbcAppSend
from mesh_actors import ActorNotFound
from tests.chains.ibc._world import World, ibc_world

pytestmark = pytest.mark.anyio


async def _opened(world: World) -> tuple[str, str]:
    await world.a.deploy_app()
    await world.b.deploy_app()
    relayer = await world.spawn_relayer()
    await world.setup_path(relayer)
    return await world.open_channel(relayer)


def _resolved(world: World, channel: str, count: int) -> bool:
    module = world.a.ibc.module
    return module.next_sequence_send(channel) - 1 >= count and not module.pending_sequences(channel)


async def test_gateway_and_channel_ends_are_children_of_the_host_I_1() -> None:
    async with ibc_world() as world:
        a_channel, _ = await _opened(world)
        chain = world.a.chain
        host_path = chain.host.address.path
        assert world.a.ibc.gateway.address.path == f"{host_path}/{GATEWAY_NAME}"
        channel_path = f"{host_path}/{GATEWAY_NAME}/{a_channel}"
        assert chain.system.lookup(channel_path).address.path == channel_path
        assert world.a.ibc.channel_address(a_channel).endswith(channel_path)


async def test_a_taken_or_invalid_component_name_is_refused() -> None:
    async with ibc_world() as world:
        chain = world.a.chain
        factory = partial(IbcGateway, world.a.ibc.module, chain.host)
        with pytest.raises(InvalidComponent) as taken:
            await chain.spawn_component(GATEWAY_NAME, factory)
        assert taken.value.component == GATEWAY_NAME
        with pytest.raises(InvalidComponent):
            await chain.spawn_component("not/a/name", factory)
        # the refusals changed nothing: the gateway still answers
        assert chain.system.lookup(world.a.ibc.gateway.address.path) is not None


async def test_host_restart_respawns_the_ibc_actors_with_state_intact_I_26() -> None:
    async with ibc_world() as world:
        a_channel, _ = await _opened(world)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600))
        await world.wait_until(lambda: _resolved(world, a_channel, 2), 60)
        chain = world.a.chain
        system = chain.system
        gateway_path = world.a.ibc.gateway.address.path
        channel_path = f"{gateway_path}/{a_channel}"
        before = system.lookup(channel_path)
        # a crash of the host, as its supervisor would handle it (no public API restarts an
        # actor on demand): the host's children stop and the host starts again
        system._cells[chain.host.address.path].signal(("restart", None, 0.0))
        with anyio.fail_after(30):
            while True:
                try:
                    after = system.lookup(channel_path)
                except ActorNotFound:
                    after = None
                if after is not None and after._cell is not before._cell:
                    break
                await anyio.sleep(0.1)
        system.lookup(gateway_path)
        await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, timeout_seconds=600))
        await world.wait_until(lambda: _resolved(world, a_channel, 4), 60)
        assert (await world.b.state()).received_total == 4
        assert world.a.ibc.module.invariant_violations() == []
