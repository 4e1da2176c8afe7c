"""Fixtures of the consumer-core tests: a consumer chain on the contract kit (the real
executor) with four validators."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the helpers are imported as tests.chains.consumer._deploy: make the repository root win
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.chains.consumer._deploy import ConsumerKit, M  # noqa: E402


@pytest.fixture
def chain() -> ConsumerKit:
    """A consumer chain with validators a..d of 1_000_000 tokens each, bonded."""
    kit = ConsumerKit()
    for name in "abcd":
        kit.add_validator(name, M)
    kit.next_block()
    return kit
