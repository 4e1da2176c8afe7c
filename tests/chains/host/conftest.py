"""Fixtures for the chain-host tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.chains.host._kit import HostKit


@pytest.fixture
def kit() -> HostKit:
    """An executor in block 1 with three funded cascade contracts."""
    return HostKit()


@pytest.fixture(scope="session")
def make_kit() -> Callable[..., HostKit]:
    return HostKit
