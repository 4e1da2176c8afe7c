"""The test kit itself: probes fail loudly, in clock time."""

from __future__ import annotations

import pytest

from mesh_actors import Message
from mesh_actors.testing import ExpectationFailed, TestProbe, virtual_system

pytestmark = pytest.mark.anyio


class A(Message):
    pass


class B(Message):
    pass


async def test_expect_message_fails_after_the_timeout_in_clock_time() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        with pytest.raises(ExpectationFailed, match="no message within 30"):
            await probe.expect_message(timeout=30)
        assert system.clock.now() == 30.0


async def test_expect_message_checks_the_type() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        probe.ref.tell_nowait(B())
        with pytest.raises(ExpectationFailed, match="expected A"):
            await probe.expect_message(A)


async def test_expect_no_message_fails_when_one_arrives() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        probe.ref.tell_nowait(A())
        with pytest.raises(ExpectationFailed, match="unexpected message"):
            await probe.expect_no_message(5)
        assert probe.pending == 1  # nothing was consumed by the failed expectation


async def test_receive_n_counts_against_one_total_timeout() -> None:
    async with virtual_system() as system:
        probe = TestProbe(system)
        probe.ref.tell_nowait(A())
        with pytest.raises(ExpectationFailed, match="got 1 of 2"):
            await probe.receive_n(2, timeout=10)
        assert system.clock.now() == 10.0
