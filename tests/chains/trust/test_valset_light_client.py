"""Issue 13: a chain's headers are signed by its bonded validators, with their staking power,
and the counterparty's light client follows the validator set as it changes (ICS-07: it
verifies a header against the set it trusts, then trusts the header's next set).

A running mesh (``SMALL``): juno's three validators sign its headers with the consensus keys
the chain holds (`consensus_key` of their consensus public keys); jailing one changes the
set, and the provider's client of juno follows the change (through the transition header a
later header carries as its bridge) while packets keep flowing.
"""

from __future__ import annotations

from typing import cast

import pytest

from chains import Mesh
from chains.host import TxExecutor
from chains.ibc import (
    Commit,
    CommitSignature,
    IbcBatch,
    IbcBatchResult,
    IbcHeader,
    IbcModule,
    SignedHeader,
    UpdateClient,
    consensus_key,
)
from mesh_actors import ActorSystem
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


def _ibc(ex: TxExecutor) -> IbcModule:
    return cast(IbcModule, ex.module_object("ibc"))


def _powers(signed: SignedHeader) -> dict[str, int]:
    return {v.public_key.hex(): v.power for v in signed.validators.validators}


async def test_headers_are_signed_by_the_bonded_set_and_clients_follow_changes_I_2() -> None:
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        juno = mesh.chain(C)
        ibc = await juno.read(_ibc)
        bonded = await juno.bonded_validators()
        reduction = (await juno.read(lambda ex: ex.staking.params)).power_reduction
        expected = {
            consensus_key(C, v.consensus_pubkey).public_key.hex(): v.tokens // reduction
            for v in bonded
        }
        header = ibc.committed_header()
        assert header is not None and header.signed is not None
        assert _powers(header.signed) == expected
        assert len(expected) == 3

        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val2", 200_000)).ok
        assert await mesh.settle()
        mesh.pause_relaying(P, C)
        assert (await mesh.misbehave(C, "val2", "downtime")).ok  # jailed: 2 of 3 remain
        await mesh.advance(seconds=30)
        after = {v.operator for v in await juno.bonded_validators()}
        assert mesh.operator(C, "val2") not in after
        # the headers handed out since: the transition names the new set as next
        header = ibc.committed_header()
        assert header is not None and header.signed is not None
        assert len(header.signed.validators.validators) == 2
        assert header.signed.bridge, "the transition header travels with later headers"
        transition = header.signed.bridge[-1]
        assert transition.next_validators is not None
        assert len(transition.validators.validators) == 3
        assert len(transition.next_validators.validators) == 2

        mesh.resume_relaying(P, C)
        assert await mesh.settle()
        provider_ibc = await mesh.chain(P).read(_ibc)
        (client_id,) = [
            cid for cid, st in provider_ibc.state.light_states.raw_items() if st.chain_id == C
        ]
        latest = provider_ibc.state.light_states[client_id].latest_height
        trusted = provider_ibc.state.light_consensus[(client_id, latest)]
        assert {v.public_key.hex() for v in trusted.next_validators.validators} == {
            v.public_key.hex() for v in header.signed.validators.validators
        }
        # and traffic goes on under the new set
        assert (await mesh.cross_stake(P, C, "alice", "val1", 100_000)).ok
        assert await mesh.settle()
        assert await mesh.check_invariants(quiescent=True) == []

        # the jailed validator's key no longer counts: a header it signs alone is refused
        jailed_key = consensus_key(C, "pubkey-val2")
        base = ibc.committed_header()
        assert base is not None and base.signed is not None
        raw = base.signed.header.model_copy(
            update={
                "height": base.height + 50,
                "time_ns": base.time_ns + 1,
                "validators_hash": transition.validators.hash(),
                "next_validators_hash": transition.validators.hash(),
            }
        )
        forged = IbcHeader(
            chain_id=C,
            height=raw.height,
            time_ns=raw.time_ns,
            signed=SignedHeader(
                header=raw,
                commit=Commit(
                    signatures=(
                        CommitSignature(
                            validator=jailed_key.public_key,
                            signature=jailed_key.sign(raw.sign_bytes()),
                        ),
                    )
                ),
                # the old set, in which its key still had power
                validators=transition.validators,
            ),
        )
        ends = mesh.link(P, C).ends
        assert ends is not None
        provider = ends.a if ends.a.chain_id == P else ends.b
        async with ActorSystem(
            "mallory", clock=mesh.chain(P).system.clock, transport=mesh.network
        ) as mallory:
            result: IbcBatchResult = await mallory.ref(provider.gateway).ask(
                IbcBatch(
                    ops=(UpdateClient(client_id=provider.client_id, header=forged),),
                    signer="mallory",
                ),
                expect=IbcBatchResult,
            )
        assert result.results[0].error == "InsufficientVotingPower", result.results
        assert provider_ibc.state.light_states[client_id].latest_height < forged.height
