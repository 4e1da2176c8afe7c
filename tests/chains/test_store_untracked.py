"""The store keeps no object of its own per record (issue 16): a full collection of the
cyclic GC walks every tracked object, so a record the GC does not track (an atomic tuple,
an int, a ``msgspec.Struct(gc=False)``) must stay untracked once stored, and the store's
maps, sorted keys and journal must not add tracked objects in proportion to the records."""

from __future__ import annotations

import gc

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import Event, JournaledMap, Reply, SortedJournaledMap, Store


class _Record(msgspec.Struct, frozen=True, gc=False):
    owner: str
    amount: int


def _tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


def _fill(store: Store, count: int, ordered: bool) -> JournaledMap[tuple[str, int], object]:
    cls = SortedJournaledMap if ordered else JournaledMap
    records: JournaledMap[tuple[str, int], object] = cls(store, f"records-{ordered}")
    point = store.savepoint()
    for i in range(count):
        # keys are atomic tuples (untracked by the GC at their first collection); values
        # are atomic tuples, ints and untracked structs, overwritten once (journaled)
        records[("user", i)] = ("lien", i, i + 1)
        records[("user", i)] = _Record("u", i) if i % 2 else i
    store.release(point)
    return records


def test_stored_records_stay_untracked_and_the_store_adds_none_per_record_C_8() -> None:
    for ordered in (False, True):
        store = Store()
        baseline = _tracked()
        records = _fill(store, 5_000, ordered)
        grown = _tracked() - baseline
        assert len(records) == 5_000 and store.journal_length == 0
        # the map, its dict, the sorted keys' few sublists: a constant, not 5,000 of them
        assert grown < 100, grown
        assert not any(gc.is_tracked(v) for v in records.values())
        assert not any(gc.is_tracked(k) for k in records)


def test_a_rollback_restores_untracked_records_C_9() -> None:
    store = Store()
    records: SortedJournaledMap[int, _Record] = SortedJournaledMap(store, "r")
    records[1] = _Record("a", 1)
    point = store.savepoint()
    records[1] = _Record("a", 2)
    del records[1]
    store.rollback_to(point)
    gc.collect()
    assert records[1] == _Record("a", 1) and not gc.is_tracked(records[1])


@settings(max_examples=30)
@given(attributes=st.lists(st.tuples(st.text(max_size=4), st.text(max_size=4)), max_size=4))
def test_hot_values_events_and_replies_are_untracked(attributes: list[tuple[str, str]]) -> None:
    event = Event("wasm", tuple(attributes))
    reply = Reply(7, True, b"data", (event,), None)
    assert not gc.is_tracked(event) and not gc.is_tracked(reply)
