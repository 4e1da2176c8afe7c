"""What each package of `chains` offers: a small top level for embedders, a room per concept.

`import chains` is what an embedder needs (the `Mesh`, a `Chain`, topology and scenario files,
results, coins and the errors an embedder catches). Protocol messages and contract errors are
public from the rooms (`chains.provider`, `chains.consumer`, `chains.ibc`, ...); their modules
stay private.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import chains

TOP_LEVEL = {
    # the embedding API
    "Mesh", "MeshChain", "MeshPairing", "MeshLink", "CrossChainTx", "Settlement",
    "MeshSnapshot", "ChainView", "ChannelStats", "PairingView", "RelayerView", "UserStake",
    "ValidatorView", "VaultView", "render_snapshot",
    # topology and scenario files
    "Topology", "ChainSpec", "AccountSpec", "ValidatorSpec", "PairingSpec", "RelayerSpec",
    "FaultPlan", "DelaySpec", "PriceFeedSpec", "SimplePriceFeedSpec", "RemotePriceFeedSpec",
    "load_topology", "parse_topology", "Scenario", "ScenarioStep", "load_scenario",
    "parse_scenario", "check_scenario", "run_scenario", "StepOutcome", "ConfigIssue",
    # one chain
    "Chain", "ChainConfig", "GenesisAccount", "GenesisValidator", "TxResult", "QueryResult",
    "BlockResult", "ChainEvent", "BlockPhase", "Coin", "Decimal18",
    # the errors an embedder catches
    "ChainError", "MeshError", "MeshNotRunning", "InvalidArgument", "MeshSetupFailed",
    "UnknownChain", "UnknownPairing", "UnknownValidator", "MeshConfigError", "TopologyError",
    "ScenarioError",
    "Unauthorized", "InsufficientFunds", "InvalidAddress", "InvalidAmount", "InvalidDenom",
    "ContractPanic",
}  # fmt: skip

ROOMS = ("contract", "modules", "host", "ibc", "wire", "provider", "consumer", "mesh", "testing")


def _walk(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found += _walk(module) if info.ispkg else [module]
    return found


def test_top_level_is_the_embedders_list() -> None:
    assert set(chains.__all__) == TOP_LEVEL
    assert 50 <= len(chains.__all__) <= 70
    for name in chains.__all__:
        assert getattr(chains, name) is not None


def test_the_tree_is_the_rooms_and_every_module_inside_is_private() -> None:
    children = {info.name for info in pkgutil.iter_modules(chains.__path__)}
    assert children == set(ROOMS)
    for room in ROOMS:
        for module in _walk(importlib.import_module(f"chains.{room}"))[1:]:
            leaf = module.__name__.rsplit(".", 1)[1]
            assert leaf.startswith("_") or hasattr(module, "__path__"), module.__name__


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_reexports_what_its_modules_offer(room: str) -> None:
    """A room's ``__all__`` is the union of its private modules' ``__all__`` lists (and its
    sub-rooms'), each name bound to the very object its module defines."""
    package = importlib.import_module(f"chains.{room}")
    offered: dict[str, object] = {}
    for module in _walk(package)[1:]:
        if hasattr(module, "__path__"):
            continue
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            assert offered.setdefault(name, value) is value, f"{name} defined twice in {room}"
    assert set(package.__all__) == set(offered)
    for name, value in offered.items():
        assert getattr(package, name) is value, name
