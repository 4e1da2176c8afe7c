"""The mesh holds its users' keys (issue 13): user addresses are their keys' addresses, key
files can be written for processes, honest signed transactions go through the protocol's
contracts, and the control channel's admin operation cannot be signed by anyone else
(provider.md P-83a: only the admin or governance closes the channel; P-5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains import Coin, Mesh
from chains.contract import KeyPair, Unauthorized
from chains.host import ExecuteTx
from chains.provider import CloseControlChannel, VaultBond
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def test_mesh_users_sign_and_admin_operations_need_the_admin(tmp_path: Path) -> None:
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        chain = mesh.chain(P)
        alice = mesh.address(P, "alice")
        assert mesh.key("alice").address(chain.config.prefix) == alice
        paths = mesh.save_keys(tmp_path)
        assert tmp_path / "alice.key" in paths
        assert KeyPair.load(tmp_path / "alice.key").address(chain.config.prefix) == alice

        # an honest signed bond through the vault, as another process would send it
        pairing = mesh.pairing(P, C)
        node_vault = mesh.vault(P)
        coin = Coin(denom=chain.config.bond_denom, amount=1_000)
        bond = ExecuteTx(sender=alice, contract=node_vault, msg=VaultBond(), funds=(coin,))
        result = await chain.submit_signed(chain.sign("alice", bond))
        assert result.ok, result

        # the control channel: alice signing in the deployer's name, and in her own
        before = await chain.dump_state()
        deployer = chain.signer_address("mesh-deployer")
        ext = pairing.external_staking
        close = ExecuteTx(sender=deployer, contract=ext, msg=CloseControlChannel())
        assert (await chain.submit_signed(chain.sign("alice", close))).error == Unauthorized()
        assert await chain.dump_state() == before
        mine = close.model_copy(update={"sender": alice})
        assert (await chain.submit_signed(chain.sign("alice", mine))).error == Unauthorized()
        assert mesh.violations == []
