"""Fixtures of the process tests: the shared secret in the environment, a NATS server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# the helpers are imported as tests.chains.processes._...: make the repository root win
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.chains.processes._topology import SECRET, SECRET_ENV  # noqa: E402
from transport import NatsServer  # noqa: E402


@pytest.fixture(autouse=True)
def mesh_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """The TCP shared secret, where the test topologies say it is (``$MESH_TEST_SECRET``)."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    """A NATS server of this module's own, on a free loopback port."""
    with NatsServer() as server:
        yield server
