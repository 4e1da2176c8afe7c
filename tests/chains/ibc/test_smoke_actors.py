"""I-1: two chains, each with an IBC module whose channel ends are actors, and a relayer
in its own system moving packets and acks between them through a transport."""

from __future__ import annotations

import pytest

from chains.testing import IbcAppSend
from tests.chains.ibc._world import ibc_world


@pytest.mark.anyio
async def test_packets_flow_through_channel_actors_and_relayer_I_1() -> None:
    async with ibc_world() as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer()
        await world.setup_path(relayer)
        a_channel, _b_channel = await world.open_channel(relayer)
        result = await world.a.execute(
            IbcAppSend(channel_id=a_channel, count=5, amount=3, timeout_seconds=600)
        )
        assert result.ok, result.error

        async def done() -> bool:
            return True

        await world.wait_until(
            lambda: (
                not world.a.ibc.module.pending_sequences(a_channel)
                and world.a.ibc.module.next_sequence_send(a_channel) == 6
            ),
            100,
        )
        state = await world.b.state()
        assert state.received_total == 15
        assert world.a.ibc.module.invariant_violations() == []
