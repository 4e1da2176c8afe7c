"""Issue 13's IBC attacks, from a separate actor system over the network (I-17).

Two chains run with their IBC gateways and an honest relayer on an `InMemoryNetwork` with
the JSON codec forced; ``mallory`` is another actor system on the same network that sends
`IbcBatch`es straight to a chain's IBC gateway, as anyone who can reach a chain can. Each
forgery is refused with a named error and the chain's state is unchanged; honest traffic
keeps flowing afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from chains.contract import IbcPacket, KeyPair
from chains.ibc import (
    ClientStatus,
    Commit,
    CommitSignature,
    ConsensusValidatorSet,
    IbcBatch,
    IbcBatchResult,
    IbcConfig,
    IbcHeader,
    MerkleTree,
    NonMembershipProof,
    RecvPackets,
    SignedHeader,
    TimeoutPackets,
    UpdateClient,
    commitment_key,
    genesis_validator_keys,
    packet_commitment,
)
from chains.testing import IbcAppSend
from mesh_actors import ActorSystem
from tests.chains.ibc._world import World, ibc_world

pytestmark = pytest.mark.anyio

VALIDATORS = IbcConfig().validators


@dataclass
class Scene:
    world: World
    mallory: ActorSystem
    a_channel: str
    b_channel: str
    b_client: str  # chain-b's client of chain-a
    a_client: str


@pytest.fixture
async def scene() -> AsyncIterator[Scene]:
    async with ibc_world(force_codec=True) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer()
        path = await world.setup_path(relayer)
        a_channel, b_channel = await world.open_channel(relayer)
        mallory = await world.stack.enter_async_context(
            ActorSystem("mallory", clock=world.clock, transport=world.network, ask_timeout=30.0)
        )
        yield Scene(world, mallory, a_channel, b_channel, path.b.client_id, path.a.client_id)


async def _send(scene: Scene, gateway: str, *ops: object) -> IbcBatchResult:
    """``ops`` from mallory's system to ``gateway`` (crossing the network, JSON-encoded)."""
    result: IbcBatchResult = await scene.mallory.ref(gateway).ask(
        IbcBatch(ops=ops, signer="mallory"), expect=IbcBatchResult
    )
    return result


def _signed(
    base: IbcHeader, keys: tuple[KeyPair, ...], *, height: int, time_ns: int, app_hash: bytes
) -> IbcHeader:
    """A header of ``base``'s chain signed by ``keys`` naming their own set."""
    assert base.signed is not None
    own = ConsensusValidatorSet.of({k.public_key: 1 for k in keys})
    raw = base.signed.header.model_copy(
        update={
            "height": height,
            "time_ns": time_ns,
            "app_hash": app_hash,
            "validators_hash": own.hash(),
            "next_validators_hash": own.hash(),
        }
    )
    sign_bytes = raw.sign_bytes()
    commit = Commit(
        signatures=tuple(
            CommitSignature(validator=k.public_key, signature=k.sign(sign_bytes)) for k in keys
        )
    )
    return IbcHeader(
        chain_id=base.chain_id,
        height=height,
        time_ns=time_ns,
        signed=SignedHeader(header=raw, commit=commit, validators=own),
    )


def _a_header(scene: Scene) -> IbcHeader:
    header = scene.world.a.ibc.module.committed_header()
    assert header is not None and header.signed is not None
    return header


async def test_made_up_header_and_packet_are_refused_I_17(scene: Scene) -> None:
    world = scene.world
    before = await world.b.state()
    base = _a_header(scene)
    forged = IbcPacket.model_validate(
        {
            "sequence": 77,
            "src": {"port_id": world.a.port, "channel_id": scene.a_channel},
            "dest": {"port_id": world.b.port, "channel_id": scene.b_channel},
            "timeout": {"revision": 0, "height": 0, "timestamp_ns": base.time_ns + 10**15},
            "data": b'{"amount": 1000000000, "nonce": 77}',
        }
    )
    theirs = MerkleTree()
    key = commitment_key(world.a.port, scene.a_channel, 77)
    theirs.set(key, packet_commitment(forged))
    mallory_keys = tuple(KeyPair.from_seed(f"mallory/{i}") for i in range(VALIDATORS))
    header = _signed(
        base,
        mallory_keys,
        height=base.height + 1,
        time_ns=base.time_ns + 1,
        app_hash=theirs.root(),
    )
    unsigned = base.model_copy(update={"height": base.height + 2, "signed": None})
    result = await _send(
        scene,
        world.b.ibc.channel_address(scene.b_channel),
        UpdateClient(client_id=scene.b_client, header=unsigned),
        UpdateClient(client_id=scene.b_client, header=header),
        RecvPackets(
            packets=(forged,), proof_height=header.height, proofs=(theirs.prove_membership(key),)
        ),
        RecvPackets(
            packets=(forged,), proof_height=base.height, proofs=(theirs.prove_membership(key),)
        ),
    )
    # unsigned; signed by keys the client does not trust (none of the trusted power)
    # (InvalidHeader when the forged set is not the announced next set, at trusted + 1)
    assert result.results[0].error == "InvalidHeader"
    assert result.results[1].error in {"InvalidHeader", "InsufficientVotingPower"}
    # no header at the forged height; at an honest height the proof does not check
    assert result.results[2].items == ("IbcConsensusNotFound",)
    assert result.results[3].items in {("InvalidProof",), ("IbcConsensusNotFound",)}
    assert world.b.ibc.module.receipt(scene.b_channel, 77) is None
    assert await world.b.state() == before


async def test_under_two_thirds_of_the_power_is_refused_I_2(scene: Scene) -> None:
    world = scene.world
    base = _a_header(scene)
    keys = genesis_validator_keys(world.a.chain_id, VALIDATORS)
    assert base.signed is not None
    # two of the four real validators sign a header naming the real set
    raw = base.signed.header.model_copy(
        update={"height": base.height + 3, "time_ns": base.time_ns + 1}
    )
    sign_bytes = raw.sign_bytes()
    commit = Commit(
        signatures=tuple(
            CommitSignature(validator=k.public_key, signature=k.sign(sign_bytes)) for k in keys[:2]
        )
    )
    header = IbcHeader(
        chain_id=base.chain_id,
        height=raw.height,
        time_ns=raw.time_ns,
        signed=SignedHeader(header=raw, commit=commit, validators=base.signed.validators),
    )
    result = await _send(
        scene, world.b.ibc.gateway_address, UpdateClient(client_id=scene.b_client, header=header)
    )
    assert result.results[0].error == "InsufficientVotingPower"


async def test_far_future_header_is_refused_and_traffic_goes_on_I_2(scene: Scene) -> None:
    world = scene.world
    base = _a_header(scene)
    keys = genesis_validator_keys(world.a.chain_id, VALIDATORS)
    assert base.signed is not None
    future = _signed(
        base,
        keys,
        height=base.height + 1,
        time_ns=base.time_ns + 10**15,
        app_hash=base.signed.header.app_hash,
    )
    result = await _send(
        scene, world.b.ibc.gateway_address, UpdateClient(client_id=scene.b_client, header=future)
    )
    assert result.results[0].error == "HeaderFromFuture"
    assert world.b.ibc.module.client_status(scene.b_client) is ClientStatus.ACTIVE
    # later honest packets still cross and are acked
    sent = await world.a.execute(IbcAppSend(channel_id=scene.a_channel, timeout_seconds=600))
    assert sent.ok, sent.error
    module = world.a.ibc.module
    await world.wait_until(lambda: module.outcome(scene.a_channel, 1) == "acked", 600.0)


async def test_forged_timeout_of_a_received_packet_is_refused_I_14(scene: Scene) -> None:
    world = scene.world
    sent = await world.a.execute(IbcAppSend(channel_id=scene.a_channel, timeout_seconds=600))
    assert sent.ok, sent.error
    a_module, b_module = world.a.ibc.module, world.b.ibc.module
    await world.wait_until(lambda: a_module.outcome(scene.a_channel, 1) == "acked", 600.0)
    assert b_module.receipt(scene.b_channel, 1) is not None
    # the same packet again (its commitment is gone: a no-op at best), and a fresh pending
    # one timed out with a made-up "no receipt" proof
    sent = await world.a.execute(IbcAppSend(channel_id=scene.a_channel, timeout_seconds=600))
    assert sent.ok, sent.error
    packet = a_module.state.packets.get((scene.a_channel, 2))
    b_header = b_module.committed_header()
    assert b_header is not None
    if packet is not None:
        result = await _send(
            scene,
            world.a.ibc.channel_address(scene.a_channel),
            TimeoutPackets(
                packets=(packet,),
                proof_height=b_header.height,
                proofs=(NonMembershipProof(left=None, right=None),),
                on_close=False,
            ),
        )
        outcome = result.results[0]
        assert outcome.status == "error", outcome
        assert (outcome.items or (outcome.error,))[0] in {"InvalidProof", "IbcTimeoutNotReached"}
    await world.wait_until(lambda: a_module.outcome(scene.a_channel, 2) == "acked", 600.0)
    assert a_module.invariant_violations() == []


async def test_conflicting_headers_freeze_the_client_ICS_2(scene: Scene) -> None:
    world = scene.world
    base = _a_header(scene)
    assert base.signed is not None
    keys = genesis_validator_keys(world.a.chain_id, VALIDATORS)
    # the validators equivocate: a second header for a height the client already holds
    held = world.b.ibc.module.client(scene.b_client)
    assert held is not None
    height = held.latest_height
    result = await _send(
        scene,
        world.b.ibc.gateway_address,
        UpdateClient(
            client_id=scene.b_client,
            header=_signed(
                base,
                keys,
                height=height,
                time_ns=held.latest_time_ns,
                app_hash=b"\x07" * 32,
            ).model_copy(),
        ),
    )
    if held.latest_height == height and result.results[0].error == "InvalidHeader":
        pytest.fail(f"conflicting header not seen as misbehaviour: {result}")
    assert result.results[0].error == "ClientFrozen", result
    assert world.b.ibc.module.client_status(scene.b_client) is ClientStatus.FROZEN


async def test_a_held_header_resent_is_a_noop_without_checking_its_commit_I_2(
    scene: Scene,
) -> None:
    # a relayer sends a block's header with each channel's batch of that block: the
    # client verified it once and holds it; the copies are no-ops that check no signature
    # again (issue 16), even a copy whose commit is garbage: it teaches the client nothing
    world = scene.world
    header = _a_header(scene)
    assert header.signed is not None
    first = await _send(
        scene,
        world.b.ibc.gateway_address,
        UpdateClient(client_id=scene.b_client, header=header),
    )
    assert first.results[0].status in ("ok", "noop"), first
    junk = tuple(
        CommitSignature(validator=vote.validator, signature=b"\x00" * 64)
        for vote in header.signed.commit.signatures
    )
    forged = header.model_copy(
        update={"signed": header.signed.model_copy(update={"commit": Commit(signatures=junk)})}
    )
    again = await _send(
        scene,
        world.b.ibc.gateway_address,
        UpdateClient(client_id=scene.b_client, header=forged),
    )
    assert again.results[0].status == "noop", again
    assert world.b.ibc.module.client_status(scene.b_client) is ClientStatus.ACTIVE
    # a header not held yet is still verified: the same garbage commit on a new height fails
    later = await _wait_newer_a_header(scene, header.height)
    assert later.signed is not None
    bad_later = later.model_copy(
        update={
            "signed": later.signed.model_copy(
                update={
                    "commit": Commit(
                        signatures=tuple(
                            CommitSignature(validator=v.validator, signature=b"\x00" * 64)
                            for v in later.signed.commit.signatures
                        )
                    )
                }
            )
        }
    )
    refused = await _send(
        scene,
        world.b.ibc.gateway_address,
        UpdateClient(client_id=scene.b_client, header=bad_later),
    )
    assert refused.results[0].status == "error", refused


async def _wait_newer_a_header(scene: Scene, height: int) -> IbcHeader:
    world = scene.world
    for _ in range(100):
        header = _a_header(scene)
        if header.height > height:
            return header
        await world.clock.sleep(1.0)
    raise AssertionError("chain-a made no new block")
