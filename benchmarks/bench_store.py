"""Durable chain state: blocks committed per second to SQLite against the same chain in memory.

One chain (the sans-IO executor, as the host drives it: ``end_block``, ``begin_block``, then
the store's ``commit``) runs blocks of ``TXS_PER_BLOCK`` bank transfers between a few hundred
accounts plus a delegation. In memory (no store: the baseline) and with a `DurableStore` in
WAL mode, ``synchronous=NORMAL`` (the default: survives a process crash) and ``FULL``
(survives power loss: one fsync per block), in a temporary folder. Also idle blocks (no
transaction: the commit writes the block record and the few keys the block hooks touch).

Each figure is the median of 3 runs, in **wall time** (``time.perf_counter``): a commit's
cost includes its I/O, which CPU time would hide. The machine's other load moves these
figures; the ratio of the same-moment in-memory run is the meaningful number.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._report import Report
from chains import ChainConfig, Coin, GenesisAccount, GenesisValidator
from chains.contract import BankSend, StakingDelegate, derive_address
from chains.host import DurableStore, TxExecutor

PREFIX = "stars"
DENOM = "stake"
TXS_PER_BLOCK = 20
BLOCKS = 300
IDLE_BLOCKS = 2_000
ACCOUNTS = 200
RUNS = 3


def _config() -> ChainConfig:
    accounts = tuple(
        GenesisAccount(
            address=derive_address(PREFIX, f"user{i}"), coins=(Coin(denom=DENOM, amount=10**12),)
        )
        for i in range(ACCOUNTS)
    )
    return ChainConfig(
        chain_id="bench-store-1",
        prefix=PREFIX,
        bond_denom=DENOM,
        accounts=accounts,
        validators=tuple(GenesisValidator(name=f"v{i}", self_bond=10**7) for i in range(4)),
    )


def _blocks(synchronous: str | None, blocks: int, txs: int) -> float:
    """Blocks per wall-clock second: ``blocks`` blocks of ``txs`` transfers (plus one
    delegation if ``txs``), committed with ``synchronous`` (``None``: in memory)."""
    ex = TxExecutor(_config())
    ex.begin_block(ex.config.first_block_time)
    users = [derive_address(PREFIX, f"user{i}") for i in range(ACCOUNTS)]
    validator = ex.staking.staking.operator_of(ex.config.address("v0"))
    sends = [
        BankSend(to_address=users[(i * 7 + 3) % ACCOUNTS], amount=(Coin(denom=DENOM, amount=1),))
        for i in range(ACCOUNTS)
    ]
    delegate = StakingDelegate(validator=validator, amount=Coin(denom=DENOM, amount=1_000))
    with tempfile.TemporaryDirectory() as folder:
        store: DurableStore | None = None
        if synchronous is not None:
            store = DurableStore.open(
                Path(folder) / "chain.sqlite", ex.chain_id, synchronous=synchronous
            )
            store.attach(ex)
        started = time.perf_counter()
        for block in range(blocks):
            for i in range(txs):
                sender = (block * txs + i) % ACCOUNTS
                ex.submit(users[sender], sends[sender])
            if txs:
                ex.submit(users[block % ACCOUNTS], delegate)
            ex.end_block()
            ex.begin_block(ex.time_s + 5)
            if store is not None:
                store.commit(ex)
        elapsed = time.perf_counter() - started
        if store is not None:
            store.close()
    return blocks / elapsed


def _median(*args: Any) -> float:
    return statistics.median(_blocks(*args) for _ in range(RUNS))


def run(report: Report) -> None:
    """Print the figures (see the module docstring)."""
    for txs, blocks, label in (
        (TXS_PER_BLOCK, BLOCKS, f"{TXS_PER_BLOCK} transfers + 1 delegation per block"),
        (0, IDLE_BLOCKS, "idle blocks"),
    ):
        name = f"in memory, {label}"
        report.baseline(name, _median(None, blocks, txs), "blocks/s")
        for synchronous in ("NORMAL", "FULL"):
            report.compare(
                f"SQLite synchronous={synchronous}, {label}",
                _median(synchronous, blocks if synchronous == "NORMAL" else blocks // 4, txs),
                "blocks/s",
                name,
            )
