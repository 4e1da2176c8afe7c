"""Issue 13: a genesis of processes draws a secret key seed, so no key is guessable.

Chains that listen on sockets cannot use simulation keys (derived from public names): each
genesis writes a fresh random seed to ``DIR/keys/seed`` (0600), its keys and addresses
derive from it, and the nodes and clients of the directory refuse to start without a
usable seed (`GenesisError`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chains.contract import KeyPair
from chains.host import account_key
from chains.mesh import (
    GenesisError,
    RemoteMesh,
    load_key_seed,
    load_manifest,
    run_genesis,
    run_node,
)
from tests.chains.processes._topology import processes_topology

pytestmark = pytest.mark.anyio

P = "osmosis"


async def test_two_geneses_of_one_topology_have_different_keys_and_addresses(
    tmp_path: Path,
) -> None:
    topology = processes_topology("tcp")
    first, second = tmp_path / "first", tmp_path / "second"
    one = await run_genesis(topology, first)
    two = await run_genesis(topology, second)
    seeds = [load_key_seed(first), load_key_seed(second)]
    for data, seed in zip((first, second), seeds, strict=True):
        assert len(seed) == 32
        assert (data / "keys" / "seed").stat().st_mode & 0o077 == 0
        alice = KeyPair.load(data / "keys" / "alice.key")
        assert alice.public_key == account_key("alice", seed).public_key
        # not the simulation key anyone can derive from the name
        assert alice.public_key != account_key("alice").public_key
    assert seeds[0] != seeds[1]
    addresses = [KeyPair.load(d / "keys" / "alice.key").address("osmo") for d in (first, second)]
    assert addresses[0] != addresses[1]
    assert one.chain(P).deployer != two.chain(P).deployer
    assert one.chain(P).deployer == account_key("mesh-deployer", seeds[0]).address("osmo")
    assert load_manifest(first, topology) == one


async def test_nodes_and_clients_refuse_a_missing_or_malformed_seed(tmp_path: Path) -> None:
    topology = processes_topology("tcp")
    data = tmp_path / "data"
    await run_genesis(topology, data)
    path = data / "keys" / "seed"
    good = path.read_text(encoding="ascii")
    path.unlink()
    with pytest.raises(GenesisError, match="no usable key seed"):
        load_key_seed(data)
    with pytest.raises(GenesisError, match="no usable key seed"):
        await run_node(topology, P, data)
    with pytest.raises(GenesisError, match="no usable key seed"):
        async with RemoteMesh.connect(topology, data):
            pytest.fail("connected without a key seed")
    for text, reason in (("not hex at all\n", "not hex"), ("abcd\n", "at least 16")):
        path.write_text(text, encoding="ascii")
        os.chmod(path, 0o600)
        with pytest.raises(GenesisError, match=reason):
            load_key_seed(data)
    path.write_text(good, encoding="ascii")
    os.chmod(path, 0o644)
    with pytest.raises(GenesisError, match="readable by others"):
        load_key_seed(data)
    os.chmod(path, 0o600)
    assert len(load_key_seed(data)) == 32
