"""Rows an earlier version wrote still load after a record class became a msgspec struct.

Issue 16 turned ``AckRecord`` (and the tx results and events) from named tuples into
untracked ``msgspec.Struct``\\ s. Their canonical bytes, and so the app hash, did not change,
but their pickles did: a named tuple's pickle rebuilds it with ``cls.__new__(cls, *fields)``,
which a struct refuses. A store file written before the change must still resume (I-29: the
acks written are kept for good), not be refused as corrupt.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from pathlib import Path
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import JournaledMap
from chains.host import DurableStore
from chains.ibc import AckRecord
from tests.chains.durable._kit import boundary, fresh_kit

MAP = "legacy/acks"


class OldAckRecord(NamedTuple):
    """The named tuple ``AckRecord`` was, field for field."""

    commitment: bytes
    ack: bytes
    height: int


def legacy_pickle(record: AckRecord) -> bytes:
    """The bytes the earlier version stored for ``record``: its named tuple's pickle, naming
    the class where ``AckRecord`` lives (protocol 2 writes the class as plain text)."""
    old = OldAckRecord(record.commitment, record.ack, record.height)
    data = pickle.dumps(old, 2)
    here = f"c{OldAckRecord.__module__}\nOldAckRecord\n".encode()
    there = f"c{AckRecord.__module__}\nAckRecord\n".encode()
    assert here in data
    return data.replace(here, there)


def test_a_named_tuple_pickle_is_what_a_struct_refuses() -> None:
    """The premise: the old pickle does not load with plain ``pickle.loads``."""
    record = AckRecord(b"c" * 32, b"ack", 7)
    try:
        pickle.loads(legacy_pickle(record))
    except (pickle.UnpicklingError, TypeError):
        return
    raise AssertionError("plain unpickling loaded the old row; the test premise is gone")


@settings(max_examples=15, deadline=None)
@given(
    records=st.lists(
        st.tuples(
            st.binary(min_size=32, max_size=32), st.binary(max_size=40), st.integers(0, 2**40)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_acks_written_as_named_tuples_resume_as_structs_I_29(
    records: list[tuple[bytes, bytes, int]],
) -> None:
    """A store whose ack rows hold the old named-tuple pickles resumes with every record
    equal to the struct it was, and a commit after the resume succeeds."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.sqlite"
        kit = fresh_kit(contracts=0)
        acks: JournaledMap[int, AckRecord] = JournaledMap(kit.ex.store, MAP)
        store = DurableStore.open(path, kit.ex.chain_id)
        store.attach(kit.ex)
        expected = {seq: AckRecord(*fields) for seq, fields in enumerate(records, start=1)}
        for seq, record in expected.items():
            acks[seq] = record
        boundary(kit.ex, store)
        store.close()
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT k, value FROM entries WHERE map = ?", (MAP,)).fetchall()
            assert len(rows) == len(expected)
            for k, _ in rows:
                seq = next(s for s in expected if store_key_matches(db, k, s))
                db.execute(
                    "UPDATE entries SET value = ? WHERE map = ? AND k = ?",
                    (legacy_pickle(expected[seq]), MAP, k),
                )
        again = fresh_kit(contracts=0)
        reopened = DurableStore.open(path, again.ex.chain_id)
        assert reopened.attach(again.ex) is not None
        loaded = again.ex.store.find(MAP)
        assert loaded is not None
        assert dict(loaded.items()) == expected
        assert all(type(v) is AckRecord for v in loaded.values())
        boundary(again.ex, reopened)
        reopened.close()


def store_key_matches(db: sqlite3.Connection, k: bytes, seq: int) -> bool:
    """Whether the row ``k`` of the legacy map holds sequence ``seq`` (its key pickle)."""
    key = db.execute("SELECT key FROM entries WHERE map = ? AND k = ?", (MAP, k)).fetchone()[0]
    return bool(pickle.loads(key) == seq)
