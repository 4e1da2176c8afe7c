"""Fixtures of the consumer-core tests: a harness chain with four validators."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the harness is imported as tests.chains.consumer._harness: make the repository root win
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.chains.consumer._harness import Harness, M  # noqa: E402


@pytest.fixture
def chain() -> Harness:
    """A consumer chain with validators a..d of 1_000_000 tokens each, bonded."""
    h = Harness()
    for name in "abcd":
        h.add_validator(name, M)
    h.next_block()
    return h
