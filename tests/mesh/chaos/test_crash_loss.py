"""A chain crash loses the open block: what the chain answered since its last block
boundary is gone, with a durable store (reloaded from the file) and without one (the
in-memory committed copy, `Mesh.keep_committed`); the chaos history marks the operations
answered there ``info`` (``block_lost``), takes back the packet events, and the checkers
accept it. Both backends, virtual time."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains.host import BlockPhase, ChainEvent
from chains.mesh import (
    CHECKERS,
    ChaosPlan,
    History,
    Mesh,
    Operation,
    SeedRecord,
    parse_chaos_plan,
    run_checkers,
    run_seed,
)
from tests.mesh.chaos._chaos_fixtures import TOPOLOGY, WORKLOAD

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def _crash_with_a_bond_in_the_open_block(mesh: Mesh) -> None:
    alice = mesh.address(P, "alice")
    balance = await mesh.chain(P).balance(alice)
    collateral = await mesh.collateral(P, "alice")
    height = await mesh.chain(P).height()
    bonded = await mesh.bond(P, "alice", 1_000)
    assert bonded.ok and bonded.height == height and bonded.tx_index >= 1
    assert await mesh.chain(P).balance(alice) == balance - 1_000
    assert await mesh.crash_chain(P) == height  # the block the bond ran in is lost
    mesh.restart_chain(P)
    # the chain resumes at the boundary: as if the bond never ran
    assert await mesh.chain(P).height() == height
    assert await mesh.chain(P).balance(alice) == balance
    assert await mesh.collateral(P, "alice") == collateral
    # and carries on: the same user transacts again, in the same block
    again = await mesh.bond(P, "alice", 2_000)
    assert again.ok and again.height == height
    await mesh.advance(seconds=30)
    assert await mesh.chain(P).balance(alice) == balance - 2_000
    assert await mesh.check_invariants(quiescent=True) == []


async def test_a_crash_loses_the_open_block_without_a_store_P_2() -> None:
    async with Mesh(TOPOLOGY, seed=5) as mesh:
        mesh.keep_committed(P)
        await _crash_with_a_bond_in_the_open_block(mesh)


async def test_a_crash_loses_the_open_block_with_a_store_P_2(tmp_path: Path) -> None:
    async with Mesh(TOPOLOGY, seed=5, store_dir=tmp_path) as mesh:
        await _crash_with_a_bond_in_the_open_block(mesh)


async def test_a_crash_at_a_block_boundary_loses_nothing() -> None:
    async with Mesh(TOPOLOGY, seed=5) as mesh:
        mesh.keep_committed()
        assert (await mesh.bond(P, "alice", 1_000)).ok
        await mesh.advance(seconds=10)  # past the boundary: the bond is committed
        collateral = await mesh.collateral(P, "alice")
        assert await mesh.crash_chain(P) is None
        mesh.restart_chain(P)
        assert await mesh.collateral(P, "alice") == collateral


async def test_without_a_committed_copy_a_crash_keeps_the_open_block() -> None:
    async with Mesh(TOPOLOGY, seed=5) as mesh:
        alice = mesh.address(P, "alice")
        balance = await mesh.chain(P).balance(alice)
        assert (await mesh.bond(P, "alice", 1_000)).ok
        assert await mesh.crash_chain(P) is None
        mesh.restart_chain(P)
        assert await mesh.chain(P).balance(alice) == balance - 1_000


async def test_a_lost_ack_is_relayed_again_and_settles_once_I_25() -> None:
    """The provider crashes in the block where it processed the ack of a cross-stake:
    the stake's commit is lost with it, the relayer relays the ack again, and the views
    agree at quiescence (I-64..I-69)."""
    async with Mesh(TOPOLOGY, seed=7) as mesh:
        mesh.keep_committed(P)
        events = mesh.events()
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 100_000)).ok
        acked: ChainEvent | None = None
        for _ in range(600):
            await mesh.advance(seconds=0.5)
            acks = [
                e
                for e in events.drain()
                if e.chain_id == P and e.source == "ibc" and e.type == "acknowledge_packet"
            ]
            if acks:
                acked = acks[0]
                break
        assert acked is not None and acked.phase is BlockPhase.TX
        assert await mesh.crash_chain(P) == acked.height
        mesh.restart_chain(P)
        assert await mesh.settle(timeout=900)
        again = [
            e
            for e in events.drain()
            if e.chain_id == P and e.source == "ibc" and e.type == "acknowledge_packet"
        ]
        assert len(again) == 1  # relayed again, applied once
        assert await mesh.check_invariants(quiescent=True) == []
        assert "val1" in await mesh.provider_view(P, C)


# -- the chaos history -------------------------------------------------------------------


def _crash_plan(at: float, restart: float) -> ChaosPlan:
    return parse_chaos_plan(
        f"""
        name = "crash"
        [[faults]]
        kind = "chain_crash"
        chain = "{P}"
        at = {at}
        restart = {restart}
        """,
        "crash.toml",
    )


async def test_operations_answered_in_a_lost_block_are_info_and_the_checkers_hold() -> None:
    ops = (
        Operation(0, 0.0, "bond", "alice", {"chain": P, "amount": 500_000}),
        # answered in a block the crash at 0.7 s (before the next 5 s boundary) loses
        Operation(1, 0.5, "bond", "bob", {"chain": P, "amount": 500_000}),
        Operation(
            2,
            0.6,
            "cross_stake",
            "alice",
            {"provider": P, "consumer": C, "validator": "val1", "amount": 50_000},
        ),
        Operation(3, 40.0, "bond", "bob", {"chain": P, "amount": 300_000}),
    )
    record = await run_seed(TOPOLOGY, _crash_plan(0.7, 20.0), WORKLOAD, 3, operations=ops)
    assert [(b.chain, b.time) for b in record.lost_blocks] == [(P, 0.7)]
    done = {op.index: record.history.completion(op.index) for op in ops}
    kinds = {i: (e.type, e.error) if e is not None else None for i, e in done.items()}
    assert kinds[1] == ("info", "block_lost")
    assert kinds[2] == ("info", "block_lost")
    assert kinds[3] == ("ok", None)
    # alice's first bond: lost too if it ran in the same block, else committed
    assert kinds[0] in (("ok", None), ("info", "block_lost"))
    # the cross-stake's packet never existed: no packet life is left for it
    assert record.op_packets == {}
    assert run_checkers(record) == {name: [] for name in CHECKERS}


def _event(chain: str, height: int, phase: BlockPhase, kind: str, seq: int) -> ChainEvent:
    attrs = (
        ("src_port", "p"),
        ("src_channel", "channel-0"),
        ("dst_port", "q"),
        ("dst_channel", "channel-1"),
        ("seq", str(seq)),
    )
    tx = None if phase is not BlockPhase.TX else 1
    return ChainEvent(chain, height, 1_000 + height, tx, phase, "ibc", kind, attrs)


def test_retract_takes_back_the_events_of_a_lost_block_only() -> None:
    history = History(start_time=1_000)
    history.observe(_event(P, 3, BlockPhase.TX, "send_packet", 1))
    history.observe(_event(C, 5, BlockPhase.TX, "recv_packet", 1))
    history.observe(_event(P, 7, BlockPhase.BEGIN_BLOCK, "send_packet", 2))
    history.observe(_event(P, 7, BlockPhase.TX, "acknowledge_packet", 1))
    history.observe(_event(P, 7, BlockPhase.TX, "send_packet", 3))
    assert history.retract(C, 9) == 0
    assert history.retract(P, 7) == 2
    assert set(history.packets) == {(P, "p", "channel-0", 1), (P, "p", "channel-0", 2)}
    first = history.packets[(P, "p", "channel-0", 1)]
    assert (first.received, first.acked) == (1, 0)  # the ack is gone, the receipt kept
    # the same sequence sent again after the restart is a new packet
    history.observe(_event(P, 7, BlockPhase.TX, "send_packet", 3))
    assert history.packets[(P, "p", "channel-0", 3)].sent_height == 7


def test_reopen_and_mark_lost_change_only_completions() -> None:
    history = History()
    history.record(0, "invoke", "bond", "alice", {}, 1.0)
    history.record(0, "ok", "bond", "alice", {}, 1.0, height=4)
    history.record(1, "invoke", "bond", "bob", {}, 1.0)
    history.record(1, "fail", "bond", "bob", {}, 1.0, height=4, error="x")
    assert history.mark_lost(0, 2.0)
    assert not history.mark_lost(1, 2.0)  # a failure stays a failure
    lost = history.completion(0)
    assert lost is not None and (lost.type, lost.error, lost.time) == ("info", "block_lost", 2.0)
    reopened = history.reopen(1)
    assert reopened is not None and reopened.type == "fail"
    assert history.completion(1) is None and history.invocation(1) is not None


# -- the history broken on purpose in a running mesh -------------------------------------

_LOST = (
    Operation(0, 0.5, "bond", "bob", {"chain": P, "amount": 500_000}),
    Operation(
        1,
        0.6,
        "cross_stake",
        "bob",
        {"provider": P, "consumer": C, "validator": "val1", "amount": 50_000},
    ),
    Operation(2, 40.0, "bond", "alice", {"chain": P, "amount": 300_000}),
)


def _failing(record: SeedRecord) -> set[str]:
    return {name for name, found in run_checkers(record).items() if found}


async def test_a_history_that_keeps_lost_answers_ok_fails_lost_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(History, "mark_lost", lambda *args, **kwargs: False)
    record = await run_seed(TOPOLOGY, _crash_plan(0.7, 20.0), WORKLOAD, 3, operations=_LOST)
    assert _failing(record) == {"lost_blocks"}


async def test_a_history_that_keeps_lost_packets_fails_liveness_and_packets_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(History, "retract", lambda *args, **kwargs: 0)
    record = await run_seed(TOPOLOGY, _crash_plan(0.7, 20.0), WORKLOAD, 3, operations=_LOST)
    assert {"liveness", "packets_once"} <= _failing(record)
