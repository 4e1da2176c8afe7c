"""Fixtures of the consumer tests through the actors: a running consumer chain, deployed."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# the kit is imported as tests.chains.consumer_actors._kit: make the repository root win
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from chains import Chain  # noqa: E402
from mesh_actors.testing import virtual_system  # noqa: E402
from tests.chains.consumer_actors._kit import Consumer, consumer_config, start_consumer  # noqa: E402


@pytest.fixture
async def chain() -> AsyncIterator[Chain]:
    """The e2e consumer profile (C-13) running in a virtual-time actor system, no modules yet."""
    async with virtual_system("consumer") as system, Chain(consumer_config(), system) as chain:
        yield chain


@pytest.fixture
async def consumer(chain: Chain) -> Consumer:
    """The chain with the mesh module and the contracts deployed (I-49), cap 10**9, epochs
    every 10 blocks, price 0.5, discount 0.1."""
    return await start_consumer(chain)
