"""A writer killed with SIGKILL at any point, also inside a block's SQLite transaction,
leaves the last block it committed whole (issue 15: "a block is on disk whole or not at
all").

The writer is a subprocess running a deterministic workload (bank sends, delegations,
undelegations, contract cascades), committing block after block; its pause hook sleeps
between the row writes of each commit, so a kill lands inside the transaction when the
parent waits for the hook's ``inside`` line. Reopening the file gives a block the writer
committed (at least the last one it reported as committed, since ``synchronous=NORMAL`` in
WAL mode survives a process crash) whose app hash is the one the same workload reaches at
that height in memory: never a torn or mixed block. A few seeded kill points run by
default, many under ``-m slow``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chains
from chains.host import DurableStore, state_app_hash
from tests.chains.durable._kit import fresh_kit, replay_hashes

ROOT = Path(chains.__file__).resolve().parents[1]


def _kill_writer(path: Path, seed: int) -> int:
    """Run a writer, kill it at a seeded point; return the last height it reported."""
    rng = random.Random(seed)
    inside = rng.random() < 0.6  # most kills inside a transaction, the rest anywhere
    commits_first = rng.randrange(1, 6)
    code = (
        "from tests.chains.durable._kit import writer_main; "
        f"writer_main({str(path)!r}, {seed}, {0.002 if inside else 0.0})"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    reported = 0
    try:
        commits = 0
        while commits < commits_first:
            line = writer.stdout.readline()
            assert line, "the writer died"
            if line.startswith("committed"):
                reported = int(line.split()[1])
                commits += 1
        if inside:
            while not writer.stdout.readline().startswith("inside"):
                pass
            time.sleep(rng.random() * 0.01)  # somewhere among the row writes
        else:
            time.sleep(rng.random() * 0.05)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
    return reported


def _check_whole(path: Path, seed: int, reported: int) -> None:
    kit = fresh_kit(contracts=0)
    store = DurableStore.open(path, kit.ex.chain_id)
    height = store.attach(kit.ex)
    assert height is not None and height >= reported
    expected = replay_hashes(seed, height - 1)  # block k of the workload ends at height k+2
    assert store.app_hash == expected[height] == state_app_hash(kit.ex)
    store.close()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_killed_writer_leaves_the_last_block_whole(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "chain.sqlite"
    reported = _kill_writer(path, seed)
    _check_whole(path, seed, reported)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 130))
def test_killed_writer_leaves_the_last_block_whole_many_points(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "chain.sqlite"
    reported = _kill_writer(path, seed)
    _check_whole(path, seed, reported)
    # and a resumed writer goes on from there, killed again: still whole
    reported = _kill_writer(path, seed)
    _check_whole(path, seed, reported)
