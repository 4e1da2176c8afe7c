"""The `Chain` handle holds signing keys for the embedder (issue 13): it signs at the right
sequences, its signed transactions verify on the host from the embedder's own process, a key
file carries an account's key to another process, and remote batches are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains import Chain, ChainConfig, Coin, GenesisAccount, GenesisValidator
from chains.contract import BankSend, KeyPair, SequenceMismatch, Unauthorized
from chains.host import SubmitTx, TxBatch
from mesh_actors import ActorSystem, HandlerError, VirtualClock
from mesh_actors.testing import virtual_system
from transport import InMemoryNetwork

pytestmark = pytest.mark.anyio

PREFIX = "stars"
DENOM = "stake"


def _config() -> ChainConfig:
    alice = Chain.signer_address_of("alice", PREFIX)
    return ChainConfig(
        chain_id="stargaze-1",
        prefix=PREFIX,
        bond_denom=DENOM,
        accounts=(GenesisAccount(address=alice, coins=(Coin(denom=DENOM, amount=10**9),)),),
        validators=(GenesisValidator(name="val-a", self_bond=46_000_000),),
    )


def _send(to: str, amount: int) -> BankSend:
    return BankSend(to_address=to, amount=(Coin(denom=DENOM, amount=amount),))


async def test_chain_signs_ahead_and_the_host_verifies_in_order() -> None:
    async with virtual_system("node") as system, Chain(_config(), system) as chain:
        alice = chain.signer_address("alice")
        bob = chain.signer_address("bob")
        assert chain.key("alice").address(PREFIX) == alice
        first, second = chain.sign("alice", _send(bob, 1)), chain.sign("alice", _send(bob, 2))
        assert (first.sequence, second.sequence) == (0, 1)
        assert (await chain.submit_signed(first)).ok
        assert (await chain.submit_signed(second)).ok
        assert await chain.balance(bob, DENOM) == 3
        assert chain.sequence(alice) == 2
        replay = await chain.submit_signed(first)
        assert replay.error == SequenceMismatch(alice, 2, 0)
        # a host transaction in another account's name: the signer is not its sender
        theft = chain.sign("bob", SubmitTx(sender=alice, msg=_send(bob, 5)))
        assert (await chain.submit_signed(theft)).error == Unauthorized()
        assert await chain.balance(bob, DENOM) == 3


async def test_key_file_round_trip(tmp_path: Path) -> None:
    async with virtual_system("node") as system, Chain(_config(), system) as chain:
        path = tmp_path / "alice.key"
        chain.save_key("alice", path)
        loaded = KeyPair.load(path, expected=chain.key("alice").public_key)
        assert loaded.address(PREFIX) == chain.signer_address("alice")
        assert (path.stat().st_mode & 0o777) == 0o600
        signed = chain.sign(loaded, _send(chain.signer_address("bob"), 7))
        assert (await chain.submit_signed(signed)).ok


async def test_remote_batch_is_refused_and_changes_nothing() -> None:
    clock = VirtualClock()
    async with (
        clock.autojump(),
        InMemoryNetwork(force_codec=True) as net,
        ActorSystem("node", clock=clock, transport=net) as node,
        ActorSystem("mallory", clock=clock, transport=net) as mallory,
        Chain(_config(), node) as chain,
    ):
        alice = chain.signer_address("alice")
        before = await chain.dump_state()
        batch = TxBatch(txs=(SubmitTx(sender=alice, msg=_send(chain.signer_address("m"), 9)),))
        with pytest.raises(HandlerError):  # refused; the answer is no wire message either
            await mallory.ref("node/stargaze-1").ask(batch, timeout=30)
        assert await chain.dump_state() == before
