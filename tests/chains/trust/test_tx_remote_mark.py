"""A frame cannot pass for a message from the chain's own process (ARCHITECTURE rule 3): the
receiving actor system marks everything its transport delivers as remote, whatever sender
address the frame claims, so an unsigned transfer in alice's name claiming to come from the
chain's own system is still refused, before anything runs (a JSON body's inner message would
fail anyway as untyped JSON: the test checks that no unit ran at all)."""

from __future__ import annotations

import json

import pytest

from chains import Chain, ChainConfig, Coin, GenesisAccount, GenesisValidator
from mesh_actors import ActorSystem, VirtualClock
from transport import InMemoryNetwork

pytestmark = pytest.mark.anyio

PREFIX = "stars"
DENOM = "stake"
ALICE = Chain.signer_address_of("alice", PREFIX)
MALLORY = Chain.signer_address_of("mallory", PREFIX)


@pytest.mark.parametrize("claimed_sender", [None, "node/stargaze-1", "node/stargaze-1/ibc"])
async def test_frame_claiming_a_local_sender_is_still_remote(claimed_sender: str | None) -> None:
    config = ChainConfig(
        chain_id="stargaze-1",
        prefix=PREFIX,
        bond_denom=DENOM,
        accounts=(GenesisAccount(address=ALICE, coins=(Coin(denom=DENOM, amount=10**9),)),),
        validators=(GenesisValidator(name="val-a", self_bond=46_000_000),),
    )
    clock = VirtualClock()
    async with (
        clock.autojump(),
        InMemoryNetwork(force_codec=True) as net,
        ActorSystem("node", clock=clock, transport=net) as node,
        ActorSystem("mallory", clock=clock, transport=net),
        Chain(config, node) as chain,
    ):
        before = await chain.dump_state()
        index = await chain.read(lambda ex: ex.tx_index)
        body = {
            "sender": ALICE,
            "msg": {"to_address": MALLORY, "amount": [{"denom": DENOM, "amount": "1000"}]},
        }
        frame = {
            "version": 1,
            "kind": "tell",
            "recipient": "node/stargaze-1",
            "sender": claimed_sender,
            "correlation_id": 0,
            "type": "chains.host.submit",
            "body": body,
        }
        await net.deliver_frame("mallory", "node", json.dumps(frame).encode())
        await chain.height()  # the host has handled the frame by now (one mailbox)
        assert await chain.balance(ALICE, DENOM) == 10**9
        assert await chain.dump_state() == before
        # refused before it ran: not even a failed unit (that would use a unit index)
        assert await chain.read(lambda ex: ex.tx_index) == index
