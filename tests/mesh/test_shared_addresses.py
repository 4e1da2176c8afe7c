"""One string per user address in a mesh's state (issue 16: memory per stake)."""

from __future__ import annotations

import pytest

from chains import Mesh
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio


async def test_genesis_and_transactions_key_a_user_by_one_address_string_I_40() -> None:
    """A funded account's genesis address (I-40: the mesh deploys each chain's genesis) is
    the very string the mesh signs the user's transactions with, so the bank balance the
    genesis wrote and the records the user's transactions write share one key string."""
    async with Mesh(topology(SMALL)) as mesh:
        for chain_id in mesh.chains():
            names = [a.name for a in topology(SMALL).chain(chain_id).accounts]
            assert names
            holders = await mesh.chain(chain_id).read(
                lambda ex: [address for address, _, _ in ex.bank.iter_balances()]
            )
            for name in names:
                address = mesh.address(chain_id, name)
                keyed = [h for h in holders if h == address]
                assert keyed
                assert all(h is address for h in keyed)


async def test_genesis_accounts_are_not_kept_after_genesis_I_40() -> None:
    """Issue 16 (memory per stake): a running chain's config no longer holds the genesis
    accounts (read only at genesis), and the genesis supply the conservation invariant
    reads is the one the accounts and self-bonds minted."""
    async with Mesh(topology(SMALL)) as mesh:
        for chain_id in mesh.chains():
            spec = topology(SMALL).chain(chain_id)
            chain = mesh.chain(chain_id)
            assert chain.config.accounts == ()
            supply = await chain.read(lambda ex: dict(ex.genesis_supply))
            minted = sum(a.balance for a in spec.accounts) + sum(v.tokens for v in spec.validators)
            assert sum(supply.values()) == minted
            assert supply == await chain.read(
                lambda ex: {
                    d: ex.bank.minted(d).get("genesis", 0)
                    for d in ex.bank.ledger_denoms()
                    if ex.bank.minted(d).get("genesis", 0)
                }
            )
