"""IBC test options and fixtures: ``--seeds N`` sets how many seeds the fault soak runs."""

from __future__ import annotations

import pytest

from tests.chains.ibc._sansio import Link, Side

DEFAULT_SEEDS = 200


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--seeds",
        action="store",
        type=int,
        default=None,
        help=f"seeds for the IBC fault soak (default {DEFAULT_SEEDS}; thousands with -m slow)",
    )


@pytest.fixture
def seeds(request: pytest.FixtureRequest) -> int:
    value = request.config.getoption("--seeds", default=None)
    return DEFAULT_SEEDS if value is None else int(value)


@pytest.fixture
def pair() -> tuple[Side, Side, Link]:
    """Two chains joined by a client pair and an OPEN connection (no channel yet)."""
    a = Side("chain-a", "cha")
    b = Side("chain-b", "chb")
    return a, b, Link(a, b)
