"""Issue 13: keys are guessable from public names unless a secret key seed is mixed in.

An in-process simulation derives every key from names (the empty seed: repeatable runs, and
anyone who knows a name can derive its key). With a secret ``key_seed`` (what a genesis of
processes draws), an attacker in another actor system who derives ``account_key("alice")``
cannot sign as alice, and one who derives the validators' consensus keys from their public
pubkey strings cannot sign headers the counterparty's light client accepts. Each attack is
also run against the empty seed, where it succeeds: the tests can fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains import Chain, ChainConfig, Coin, GenesisAccount, GenesisValidator, Mesh
from chains.contract import BankSend, KeyPair, SignedTx
from chains.host import RemoteTxResult, SubmitTx, account_key, signed_host_tx
from chains.ibc import (
    Commit,
    CommitSignature,
    IbcBatch,
    IbcBatchResult,
    IbcHeader,
    QueryRelayState,
    RelayState,
    UpdateClient,
    consensus_key,
)
from mesh_actors import ActorSystem, VirtualClock
from tests.mesh._topologies import SMALL, topology
from transport import InMemoryNetwork

pytestmark = pytest.mark.anyio

PREFIX = "stars"
DENOM = "stake"
CHAIN_ID = "stargaze-1"
SECRET = bytes(range(32))
FUNDS = 10**9
P, C = "osmosis", "juno"

seeds = st.binary(min_size=16, max_size=64)


# -- derivations ------------------------------------------------------------------------------


def test_the_empty_seed_gives_todays_simulation_keys() -> None:
    # pinned: replays and stored virtual-time runs depend on these exact keys
    assert (
        Chain.signer_address_of("alice", PREFIX) == "stars1gnn9w5tmnj83xdpa6dekgxhe429l6xc8alvt4k"
    )
    assert account_key("alice", b"").public_key == KeyPair.from_seed("alice").public_key
    assert ChainConfig(chain_id=CHAIN_ID, prefix=PREFIX).address("alice") == (
        "stars1gnn9w5tmnj83xdpa6dekgxhe429l6xc8alvt4k"
    )
    assert consensus_key(C, "pubkey-val1").public_key.hex() == (
        "9904a2d25533ded42e1b4c17280dc5f42fcbc6c233a51cd66e108b8ad7db6895"
    )
    assert consensus_key(C, "pubkey-val1", b"").public_key == (
        KeyPair.from_seed(f"{C}/consensus/pubkey-val1").public_key
    )


@settings(max_examples=40, deadline=None)
@given(seed=seeds, other=seeds, name=st.text(min_size=1, max_size=20))
def test_a_seed_changes_every_key_and_keeps_them_stable(
    seed: bytes, other: bytes, name: str
) -> None:
    keyed = account_key(name, seed)
    assert keyed.public_key != account_key(name).public_key
    assert account_key(name, seed).public_key == keyed.public_key
    if other != seed:
        assert account_key(name, other).public_key != keyed.public_key
    config = ChainConfig(chain_id=CHAIN_ID, prefix=PREFIX, key_seed=seed)
    assert config.address(name) == keyed.address(PREFIX)
    assert config.address(name) == Chain.signer_address_of(name, PREFIX, seed)
    # the consensus key of a validator is neither its seedless one nor an account key
    consensus = consensus_key(CHAIN_ID, name, seed)
    assert consensus.public_key != consensus_key(CHAIN_ID, name).public_key
    assert consensus.public_key != keyed.public_key
    assert consensus_key(CHAIN_ID, name, seed).public_key == consensus.public_key


def test_the_seed_stays_out_of_repr_and_dumps() -> None:
    config = ChainConfig(chain_id=CHAIN_ID, prefix=PREFIX, key_seed=SECRET)
    assert "key_seed" not in repr(config) and repr(SECRET) not in repr(config)
    assert "key_seed" not in config.model_dump()
    assert config.key_seed == SECRET


# -- a forged transaction ---------------------------------------------------------------------


@dataclass
class World:
    chain: Chain
    mallory: ActorSystem

    async def attack(self, tx: SignedTx) -> RemoteTxResult:
        answer = await self.mallory.ref(f"node/{CHAIN_ID}").ask(tx, timeout=30)
        assert isinstance(answer, RemoteTxResult)
        return answer


@asynccontextmanager
async def _world(seed: bytes) -> AsyncIterator[World]:
    alice = Chain.signer_address_of("alice", PREFIX, seed)
    config = ChainConfig(
        chain_id=CHAIN_ID,
        prefix=PREFIX,
        bond_denom=DENOM,
        key_seed=seed,
        accounts=(GenesisAccount(address=alice, coins=(Coin(denom=DENOM, amount=FUNDS),)),),
        validators=(GenesisValidator(name="val-a", self_bond=46_000_000),),
    )
    clock = VirtualClock()
    async with (
        clock.autojump(),
        InMemoryNetwork(force_codec=True) as net,
        ActorSystem("node", clock=clock, transport=net) as node,
        ActorSystem("mallory", clock=clock, transport=net) as mallory,
        Chain(config, node) as chain,
    ):
        yield World(chain, mallory)


def _guessed(chain: Chain, tx: SubmitTx | BankSend) -> SignedTx:
    """``tx`` signed with the key mallory derives from the name ``alice`` alone."""
    guess = account_key("alice")
    sequence = chain.sequence(guess.address(PREFIX))
    return signed_host_tx(guess, prefix=PREFIX, chain_id=CHAIN_ID, sequence=sequence, tx=tx)


async def test_a_guessed_key_cannot_spend_alices_funds_with_a_seed_issue_13() -> None:
    async with _world(SECRET) as w:
        alice = w.chain.signer_address("alice")
        mallory = Chain.signer_address_of("mallory", PREFIX)
        assert alice != Chain.signer_address_of("alice", PREFIX)
        send = BankSend(to_address=mallory, amount=(Coin(denom=DENOM, amount=1_000),))
        before = await w.chain.dump_state()
        # in alice's name, signed with the guessed key
        as_alice = await w.attack(_guessed(w.chain, SubmitTx(sender=alice, msg=send)))
        assert not as_alice.ok and as_alice.error in {"Unauthorized", "InvalidSignature"}
        # the guessed key's own envelope relabelled as alice's
        relabelled = _guessed(w.chain, send).model_copy(update={"sender": alice})
        answer = await w.attack(relabelled)
        assert not answer.ok and answer.error in {"Unauthorized", "InvalidSignature"}
        assert await w.chain.balance(alice, DENOM) == FUNDS
        assert await w.chain.balance(mallory, DENOM) == 0
        assert await w.chain.dump_state() == before
        # alice herself (the holder of the seeded key) still can
        honest = await w.chain.submit_signed(w.chain.sign("alice", send))
        assert honest.ok, honest
        assert await w.chain.balance(mallory, DENOM) == 1_000


async def test_without_a_seed_the_guessed_key_is_alices_issue_13() -> None:
    # the control: the attack above is real whenever the keys are simulation keys
    async with _world(b"") as w:
        mallory = Chain.signer_address_of("mallory", PREFIX)
        send = BankSend(to_address=mallory, amount=(Coin(denom=DENOM, amount=1_000),))
        answer = await w.attack(_guessed(w.chain, send))
        assert answer.ok, answer
        assert await w.chain.balance(mallory, DENOM) == 1_000


# -- a forged header --------------------------------------------------------------------------


async def _forge_header(mesh: Mesh) -> IbcBatchResult:
    """Mallory, from an actor system of her own, derives the consumer's validators' consensus
    keys from their public pubkey strings (no seed) and signs the consumer's next header
    with a made-up app hash; she sends it to the provider's client of the consumer."""
    mesh.pause_relaying(P, C)
    ends = mesh.link(P, C).ends
    assert ends is not None
    consumer = ends.a if ends.a.chain_id == C else ends.b
    provider = ends.b if consumer is ends.a else ends.a
    async with ActorSystem(
        "mallory", clock=mesh.chain(P).system.clock, transport=mesh.network
    ) as mallory:
        state: RelayState = await mallory.ref(consumer.gateway).ask(
            QueryRelayState(connection_id=consumer.connection_id), expect=RelayState
        )
        base = state.header
        assert base is not None and base.signed is not None
        guessed = [
            # the consensus pubkey strings are public (the staking records'): the default
            consensus_key(C, f"pubkey-{v.name}")
            for v in mesh.topology.chain(C).validators
        ]
        raw = base.signed.header.model_copy(
            update={
                "height": base.height + 1,
                "time_ns": base.time_ns + 1,
                "app_hash": b"\x07" * 32,
            }
        )
        sign_bytes = raw.sign_bytes()
        commit = Commit(
            signatures=tuple(
                CommitSignature(validator=k.public_key, signature=k.sign(sign_bytes))
                for k in guessed
            )
        )
        forged = IbcHeader(
            chain_id=base.chain_id,
            height=raw.height,
            time_ns=raw.time_ns,
            signed=base.signed.model_copy(update={"header": raw, "commit": commit, "bridge": ()}),
        )
        result: IbcBatchResult = await mallory.ref(provider.gateway).ask(
            IbcBatch(
                ops=(UpdateClient(client_id=provider.client_id, header=forged),), signer="mallory"
            ),
            expect=IbcBatchResult,
        )
        return result


async def test_headers_signed_with_guessed_consensus_keys_are_refused_with_a_seed_I_2() -> None:
    async with Mesh(topology(SMALL), key_seed=SECRET, check_invariants=True) as mesh:
        # the seeded mesh works: users' addresses are the seeded keys', packets are proven
        alice = mesh.address(P, "alice")
        assert alice == mesh.key("alice").address(mesh.chain(P).config.prefix)
        assert alice != Chain.signer_address_of("alice", mesh.chain(P).config.prefix)
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val2", 200_000)).ok
        assert await mesh.settle()
        before = await mesh.chain(P).dump_state()
        result = await _forge_header(mesh)
        assert not result.error, result.error
        (outcome,) = result.results
        assert outcome.status == "error"
        assert outcome.error in {"InvalidHeader", "InsufficientVotingPower"}, outcome
        assert await mesh.chain(P).dump_state() == before
        mesh.resume_relaying(P, C)
        assert await mesh.settle()
        assert mesh.violations == []


async def test_without_a_seed_guessed_consensus_keys_forge_headers_I_2() -> None:
    # the control: with simulation keys the forged header (a made-up app hash) is accepted
    async with Mesh(topology(SMALL)) as mesh:
        assert await mesh.settle()
        result = await _forge_header(mesh)
        assert not result.error, result.error
        (outcome,) = result.results
        assert outcome.status == "ok", outcome
