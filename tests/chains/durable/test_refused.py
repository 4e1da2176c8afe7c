"""Files a chain must not load are refused with a named error, and the chain is untouched.

Random bytes, a truncated store, a plain SQLite database of something else, rows edited
behind the store's back (app hash mismatch), another chain's store, a store of a future
schema: `StoreCorrupt`, `ForeignStore`, `StoreVersionMismatch`, through `DurableStore` and
through `Chain.attach_store` (where the chain then runs on, in memory, as before).
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from chains import Chain, Coin
from chains.host import (
    DurableStore,
    ForeignStore,
    StoreAttached,
    StoreCorrupt,
    StoreError,
    StoreVersionMismatch,
    UnknownSynchronousMode,
    state_app_hash,
)
from mesh_actors.testing import virtual_system
from tests.chains.durable._kit import ALICE, BOB, DENOM, Op, apply, boundary, fresh_kit
from tests.chains.host._kit import make_config


def _written_store(path: Path, blocks: int = 3) -> None:
    kit = fresh_kit(contracts=2)
    store = DurableStore.open(path, kit.ex.chain_id)
    store.attach(kit.ex)
    for seed in range(blocks):
        apply(kit.ex, kit.contracts, Op("execute", seed), store)
        apply(kit.ex, kit.contracts, Op("send", 10 + seed), store)
        boundary(kit.ex, store)
    store.close()


def _refused(path: Path, error: type[StoreError], chain_id: str | None = None) -> StoreError:
    """Attach ``path`` to a fresh executor: ``error`` is raised and the executor unchanged."""
    kit = fresh_kit(contracts=1)
    before = (kit.ex.dump_state(), state_app_hash(kit.ex), kit.ex.height, kit.ex.time_s)
    with pytest.raises(error) as caught:
        store = DurableStore.open(path, chain_id or kit.ex.chain_id)
        try:
            store.attach(kit.ex)
        finally:
            store.close()
    after = (kit.ex.dump_state(), state_app_hash(kit.ex), kit.ex.height, kit.ex.time_s)
    assert after == before
    assert not kit.ex.store.tracking
    return caught.value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_not_a_store(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "noise.sqlite"
    path.write_bytes(random.Random(seed).randbytes(4096 * (seed + 1)))
    assert "noise.sqlite" in _refused(path, StoreCorrupt).path


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_truncated_store_is_corrupt(tmp_path: Path, fraction: float) -> None:
    path = tmp_path / "cut.sqlite"
    _written_store(path, blocks=8)
    data = path.read_bytes()
    assert len(data) > 4096
    path.write_bytes(data[: int(len(data) * fraction)])
    _refused(path, StoreCorrupt)


def test_plain_sqlite_database_is_not_a_store_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
    db.close()
    before = path.read_bytes()
    error = _refused(path, StoreCorrupt)
    assert "not a chain store" in str(error)
    assert path.read_bytes() == before  # not even switched to WAL


def test_edited_row_is_an_app_hash_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "edited.sqlite"
    _written_store(path)
    with sqlite3.connect(path) as db:
        # a valid pickle of another value, in place of a balance
        key, value = db.execute(
            "SELECT k, value FROM entries WHERE map = 'bank/balances' LIMIT 1"
        ).fetchone()
        other = db.execute(
            "SELECT value FROM entries WHERE map = 'bank/balances' AND value != ? LIMIT 1",
            (value,),
        ).fetchone()[0]
        db.execute(
            "UPDATE entries SET value = ? WHERE map = 'bank/balances' AND k = ?", (other, key)
        )
    db.close()
    assert "app hash" in str(_refused(path, StoreCorrupt))


def test_garbled_row_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbled.sqlite"
    _written_store(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE entries SET value = x'80' WHERE map = 'bank/balances'")
    db.close()
    assert "undecodable" in str(_refused(path, StoreCorrupt))


def test_foreign_chain_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "osmosis.sqlite"
    _written_store(path)
    error = _refused(path, ForeignStore, chain_id="osmosis-1")
    assert isinstance(error, ForeignStore)
    assert (error.expected, error.found) == ("osmosis-1", "stargaze-1")


def test_future_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    _written_store(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 99 WHERE name = 'schema'")
    db.close()
    error = _refused(path, StoreVersionMismatch)
    assert isinstance(error, StoreVersionMismatch)
    assert error.found == 99


def test_unknown_synchronous_setting_is_named_and_still_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownSynchronousMode) as refused:
        DurableStore.open(tmp_path / "x.sqlite", "stargaze-1", synchronous="SOMETIMES")
    assert isinstance(refused.value, ValueError)
    assert refused.value.synchronous == "SOMETIMES" and "NORMAL" in refused.value.modes
    assert not (tmp_path / "x.sqlite").exists()  # refused before the file is touched


@pytest.mark.anyio
async def test_chain_refuses_bad_files_and_runs_on(tmp_path: Path) -> None:
    noise = tmp_path / "noise.sqlite"
    noise.write_bytes(random.Random(5).randbytes(10_000))
    foreign = tmp_path / "foreign.sqlite"
    _written_store(foreign)
    good = tmp_path / "good.sqlite"
    async with virtual_system("node") as system, Chain(make_config(), system) as chain:
        await chain.bank_send(ALICE, BOB, Coin(denom=DENOM, amount=5))
        before = await chain.dump_state()
        with pytest.raises(StoreCorrupt):
            await chain.attach_store(noise)
        with pytest.raises(StoreCorrupt):  # a folder that does not exist: unopenable
            await chain.attach_store(tmp_path / "missing-dir" / "x.sqlite")
        assert await chain.dump_state() == before
        await chain.produce_blocks(2)
        assert await chain.attach_store(good) is None
        with pytest.raises(StoreAttached):
            await chain.attach_store(good)
        await chain.bank_send(ALICE, BOB, Coin(denom=DENOM, amount=5))
        await chain.produce_blocks(1)
        assert await chain.app_hash() == await chain.read(state_app_hash)
    async with (
        virtual_system("node") as system,
        Chain(make_config(chain_id="other-1"), system) as chain,
    ):
        with pytest.raises(ForeignStore):
            await chain.attach_store(good)
