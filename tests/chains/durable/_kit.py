"""Helpers for the durable-store tests: a deterministic chain workload on an executor.

The executor is driven as the host drives it: units inside a block, and at each boundary
``end_block`` / ``begin_block`` then the store's ``commit`` (the host's commit point).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from chains import Coin
from chains.contract import BankSend, StakingDelegate, StakingUndelegate
from chains.host import DurableStore, TxExecutor
from chains.testing import RunNode
from tests.chains.host._kit import ALICE, BOB, DENOM, SINK, HostKit
from tests.chains.host.test_determinism import random_plan

STEP = 5


def remove_store(path: Path) -> None:
    """Delete a store file and its WAL companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            os.remove(candidate)


@dataclass(frozen=True)
class Op:
    """One step of a workload: ``kind`` is send, delegate, undelegate, execute or block."""

    kind: str
    value: int


def boundary(ex: TxExecutor, store: DurableStore | None) -> None:
    """End the block, begin the next, and commit (what the host does at a tick)."""
    ex.end_block()
    ex.begin_block(ex.time_s + STEP)
    if store is not None:
        store.commit(ex)


def apply(ex: TxExecutor, contracts: list[str], op: Op, store: DurableStore | None) -> None:
    """Run ``op`` on ``ex`` (failing transactions are fine: they are values)."""
    validator = ex.staking.staking.operator_of(ex.config.address("val-a"))
    coin = Coin(denom=DENOM, amount=op.value)
    if op.kind == "send":
        ex.submit(ALICE, BankSend(to_address=BOB, amount=(coin,)))
    elif op.kind == "delegate":
        ex.submit(ALICE, StakingDelegate(validator=validator, amount=coin))
    elif op.kind == "undelegate":
        ex.submit(ALICE, StakingUndelegate(validator=validator, amount=coin))
    elif op.kind == "execute":
        plan = random_plan(random.Random(op.value), contracts)
        ex.execute(ALICE, plan.target, RunNode(node=plan))
    else:
        for _ in range(max(1, op.value)):
            boundary(ex, store)


def fresh_kit(contracts: int) -> HostKit:
    """The test chain (codes and modules installed, block 1 open) with ``contracts``."""
    return HostKit(contracts=contracts)


__all__ = ["ALICE", "BOB", "DENOM", "SINK", "STEP", "Op", "apply", "boundary", "fresh_kit"]


def block_ops(seed: int, block: int) -> list[Op]:
    """The units of block ``block`` of the writer workload ``seed`` (deterministic)."""
    rng = random.Random(seed * 1_000_003 + block)
    kinds = ("send", "delegate", "undelegate", "execute", "execute")
    return [Op(rng.choice(kinds), rng.randrange(1, 10**6)) for _ in range(rng.randrange(1, 5))]


def writer_main(path: str, seed: int, pause_s: float) -> None:
    """The crash tests' writer process: the workload ``seed`` committed block after block
    to ``path`` forever. Prints ``committed <height>`` after each commit returned, and
    ``inside`` once per commit from inside its SQLite transaction (its pause hook, which
    sleeps ``pause_s`` after every row write)."""
    import sys
    import time

    kit = fresh_kit(contracts=3)
    store = DurableStore.open(path, kit.ex.chain_id)
    resumed = store.attach(kit.ex)
    # block k of the workload ends at height k + 2 (block 1 is open after genesis)
    block = 0 if resumed is None else resumed - 1
    said: list[bool] = [False]

    def pause() -> None:
        if not said[0]:
            said[0] = True
            sys.stdout.write("inside\n")
            sys.stdout.flush()
        time.sleep(pause_s)

    store.pause = pause
    while True:
        for op in block_ops(seed, block):
            apply(kit.ex, kit.contracts, op, store)
        said[0] = False
        boundary(kit.ex, store)
        sys.stdout.write(f"committed {kit.ex.height}\n")
        sys.stdout.flush()
        block += 1


def replay_hashes(seed: int, blocks: int) -> dict[int, bytes]:
    """The app hash the writer workload ``seed`` commits at each height, in memory."""
    from chains.host import state_app_hash

    kit = fresh_kit(contracts=3)
    hashes = {kit.ex.height: state_app_hash(kit.ex)}
    for block in range(blocks):
        for op in block_ops(seed, block):
            apply(kit.ex, kit.contracts, op, None)
        boundary(kit.ex, None)
        hashes[kit.ex.height] = state_app_hash(kit.ex)
    return hashes
