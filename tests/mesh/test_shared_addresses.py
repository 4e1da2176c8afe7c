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
            config = mesh.chain(chain_id).config
            assert config.accounts
            for account in config.accounts:
                names = [a.name for a in topology(SMALL).chain(chain_id).accounts]
                matching = [n for n in names if mesh.address(chain_id, n) == account.address]
                assert matching
                assert mesh.address(chain_id, matching[0]) is account.address
