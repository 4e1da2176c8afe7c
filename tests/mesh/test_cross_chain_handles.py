"""Awaiting a cross-chain effect through its handle (`CrossChainTx`), and the named errors
of bad arguments (`InvalidArgument`).

A cross-stake commits on the provider at once with a pending transaction (P-7..P-17); it
is committed when the success ack comes back (P-65), rolled back on an error ack (P-66)
or a timeout (P-16). The handle the mesh returns is decided by those IBC events of the
packet, not by polling: it settles in the block the ack is delivered in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from chains import (
    CrossChainTx,
    InvalidArgument,
    Mesh,
    MeshError,
    MeshNotRunning,
    Settlement,
    TxResult,
)
from tests.mesh._topologies import SMALL, topology

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"
BAD_RECIPIENT = "juno1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"


@pytest.fixture
async def mesh() -> AsyncIterator[Mesh]:
    async with Mesh(topology(SMALL), check_invariants=True) as running:
        assert (await running.bond(P, "alice", 1_000_000)).ok
        yield running
    assert running.violations == []


async def test_cross_stake_handle_settles_committed_at_the_ack_P_65(mesh: Mesh) -> None:
    stake = await mesh.cross_stake(P, C, "alice", "val1", 200_000)
    # still the transaction's result, read as before
    assert isinstance(stake, TxResult) and isinstance(stake, CrossChainTx)
    assert stake.ok and stake.error is None and stake.events
    assert stake.packet is not None and not stake.done and stake.outcome is None
    before = (await mesh.stake(P, C, "alice", "val1")).stake
    assert before.low == 0 and before.high == 200_000  # pending: a value range (P-10)

    assert await stake.settled() is Settlement.COMMITTED
    assert stake.done and stake.outcome is Settlement.COMMITTED
    *callback, ack = stake.settlement_events
    assert ack.type == "acknowledge_packet" and ack.get("seq") == str(stake.packet[1])
    assert [e.type for e in callback] == ["stake_committed"]
    # decided in the block the ack was delivered in: the stake is committed now, and the
    # provider's clock has not moved past that block
    after = (await mesh.stake(P, C, "alice", "val1")).stake
    assert after.low == after.high == 200_000
    assert await mesh.chain(P).time() == ack.time
    # awaiting it again answers at once
    assert await stake is Settlement.COMMITTED


async def test_unstake_handle_settles_when_the_unbonding_starts_P_68(mesh: Mesh) -> None:
    assert await (await mesh.cross_stake(P, C, "alice", "val1", 200_000)) is Settlement.COMMITTED
    unstake = await mesh.unstake(P, C, "alice", "val1", 50_000)
    assert unstake.ok
    assert await unstake is Settlement.COMMITTED
    assert [e.type for e in unstake.settlement_events] == [
        "unstake_committed",
        "acknowledge_packet",
    ]
    info = await mesh.stake(P, C, "alice", "val1")
    assert info.stake.low == info.stake.high == 150_000
    assert len(info.pending_unbonds) == 1


async def test_error_ack_settles_rolled_back_P_75(mesh: Mesh) -> None:
    """A reward transfer to an address the consumer refuses: the error ack rolls the
    withdrawal back."""
    assert await (await mesh.cross_stake(P, C, "alice", "val1", 200_000)) is Settlement.COMMITTED
    await mesh.advance(seconds=200)
    assert (await mesh.rewards(P, C, "alice"))["val1"] > 0
    claim = await mesh.claim_rewards(P, C, "alice", "val1", recipient=BAD_RECIPIENT)
    assert claim.ok and claim.packet is not None
    assert await claim.settled() is Settlement.ROLLED_BACK
    assert [e.type for e in claim.settlement_events] == [
        "rewards_transfer_failed",
        "acknowledge_packet",
    ]
    good = await mesh.claim_rewards(P, C, "alice", "val1")
    assert await good is Settlement.COMMITTED


async def test_timeout_settles_timed_out_P_16(anyio_backend: str) -> None:
    # no per-block invariant watcher here: the packet's timeout is minutes of blocks away
    async with Mesh(topology(SMALL)) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        mesh.pause_relaying(P, C)
        stake = await mesh.cross_stake(P, C, "alice", "val1", 1_000)
        with mesh.clock.move_on_after(1_200) as waited:
            await stake.settled()
        assert waited.cancelled_caught and not stake.done  # nothing relays: still pending
        mesh.resume_relaying(P, C)
        assert await stake is Settlement.TIMED_OUT
        assert stake.settlement_events[-1].type == "timeout_packet"
        info = await mesh.stake(P, C, "alice", "val1")
        assert info.stake.low == info.stake.high == 0  # rolled back
        assert await mesh.check_invariants() == []


async def test_failed_transaction_settles_failed_at_once(mesh: Mesh) -> None:
    stranger = mesh.chain(C).operator("stranger")
    refused = await mesh.cross_stake(P, C, "alice", stranger, 1_000)
    assert not refused.ok and refused.error is not None
    assert refused.done and refused.packet is None
    assert await refused is Settlement.FAILED


async def test_many_handles_settle_each_their_own(mesh: Mesh) -> None:
    """Concurrent cross-stakes relayed in shared batches: every handle gets its own
    packet's decision."""
    handles: list[CrossChainTx] = []
    for index in range(12):
        validator = ("val1", "val2", "val3")[index % 3]
        handles.append(await mesh.cross_stake(P, C, "alice", validator, 1_000 + index))
    assert len({h.packet for h in handles}) == 12
    outcomes: list[Settlement] = []

    async def wait(handle: CrossChainTx) -> None:
        outcomes.append(await handle)

    async with anyio.create_task_group() as tg:
        for handle in handles:
            tg.start_soon(wait, handle)
    assert outcomes == [Settlement.COMMITTED] * 12
    for handle in handles:
        assert handle.settlement_events[-1].get("seq") == str(handle.packet[1])  # type: ignore[index]


async def test_a_new_handle_after_the_others_settled_is_followed_again(mesh: Mesh) -> None:
    """The provider's events are followed only while a handle waits; a later handle
    subscribes again (and misses nothing)."""
    first = await mesh.cross_stake(P, C, "alice", "val1", 1_000)
    assert await first is Settlement.COMMITTED
    await mesh.advance(seconds=60)
    second = await mesh.cross_stake(P, C, "alice", "val2", 1_000)
    assert await second is Settlement.COMMITTED


async def test_pending_handle_raises_mesh_not_running_when_the_mesh_closes(
    anyio_backend: str,
) -> None:
    async with Mesh(topology(SMALL)) as mesh:
        assert (await mesh.bond(P, "alice", 1_000)).ok
        mesh.pause_relaying(P, C)
        stake = await mesh.cross_stake(P, C, "alice", "val1", 1_000)
    with pytest.raises(MeshNotRunning):
        await stake.settled()


# -- bad arguments raise InvalidArgument ----------------------------------------------------


_CALLS: dict[str, tuple[str, object, type[BaseException] | None]] = {
    "bond -5": ("bond", -5, None),
    "bond 1.5": ("bond", 1.5, None),
    "bond True": ("bond", True, None),
    "bond 2**128": ("bond", 2**128, ValidationError),
    "unbond -1": ("unbond", -1, None),
    "cross_stake -1": ("cross_stake", -1, None),
    "cross_stake '10'": ("cross_stake", "10", None),
    "unstake -7": ("unstake", -7, None),
    "stake_locally -3": ("stake_locally", -3, None),
    "set_max_cap -1": ("set_max_cap", -1, None),
    "move_price abc": ("move_price", "abc", Exception),
    "move_price -1": ("move_price", "-1", Exception),
    "move_price 19 digits": ("move_price", "0.1234567890123456789", Exception),
    "move_price 7": ("move_price", 7, None),
    "misbehave bribery": ("misbehave", "bribery", None),
}


async def _call(mesh: Mesh, name: str, value: Any) -> None:
    if name == "bond":
        await mesh.bond(P, "alice", value)
    elif name == "unbond":
        await mesh.unbond(P, "alice", value)
    elif name == "cross_stake":
        await mesh.cross_stake(P, C, "alice", "val1", value)
    elif name == "unstake":
        await mesh.unstake(P, C, "alice", "val1", value)
    elif name == "stake_locally":
        await mesh.stake_locally(P, "alice", "val1", value)
    elif name == "set_max_cap":
        await mesh.set_max_cap(P, C, value)
    elif name == "move_price":
        await mesh.move_price(P, C, value)
    else:
        await mesh.misbehave(C, "val1", value)


@pytest.mark.parametrize("call", sorted(_CALLS))
async def test_bad_arguments_raise_invalid_argument(mesh: Mesh, call: str) -> None:
    """Named errors (a `MeshError`, also a ``ValueError``), never pydantic's
    ``ValidationError``; the finding that caught it is chained; nothing was submitted."""
    name, value, cause = _CALLS[call]
    collateral = await mesh.collateral(P, "alice")
    balance = await mesh.balance(P, "alice")
    with pytest.raises(InvalidArgument) as caught:
        await _call(mesh, name, value)
    error = caught.value
    assert isinstance(error, MeshError) and isinstance(error, ValueError)
    assert error.operation == name and error.detail
    if cause is None:
        assert error.__cause__ is None
    else:
        assert isinstance(error.__cause__, cause)
        assert not isinstance(error.__cause__, InvalidArgument)
    assert await mesh.collateral(P, "alice") == collateral
    assert await mesh.balance(P, "alice") == balance
