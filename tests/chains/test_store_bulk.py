"""Bulk writes on journaled maps (`JournaledMap.set_many` / ``delete_many``, issue 16) are
the per-key writes they stand for.

Random programs of savepoints, bulk writes, bulk deletes and closes run twice on a plain and
a sorted map: once through the bulk methods, once key by key; contents, key order (a sorted
map's iteration, a plain map's insertion order), journal length, rollbacks and the keys
noted for a durable store (`Store.take_changes`) must agree after every step.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.contract import JournaledMap, MissingKey, SortedJournaledMap, Store

_keys = st.integers(0, 6)
_op = st.one_of(
    st.just(("open",)),
    st.tuples(st.just("close"), st.booleans()),  # (close, keep?)
    st.tuples(st.just("set"), st.lists(st.tuples(_keys, st.integers(0, 9)), max_size=5)),
    st.tuples(st.just("delete"), st.lists(_keys, max_size=4, unique=True)),
)


def _world(tracking: bool) -> tuple[Store, JournaledMap[int, int], SortedJournaledMap[int, int]]:
    store = Store()
    plain: JournaledMap[int, int] = JournaledMap(store, "plain")
    ordered: SortedJournaledMap[int, int] = SortedJournaledMap(store, "sorted")
    if tracking:
        store.track_changes()
    return store, plain, ordered


def _apply(bulk: bool, program: list[tuple[Any, ...]], tracking: bool) -> list[object]:
    store, plain, ordered = _world(tracking)
    points: list[Any] = []
    seen: list[object] = []
    for op in program:
        if op[0] == "open":
            points.append(store.savepoint())
        elif op[0] == "close":
            if points:
                point = points.pop()
                if op[1]:
                    store.release(point)
                else:
                    store.rollback_to(point)
        else:
            for journaled in (plain, ordered):
                if op[0] == "set":
                    if bulk:
                        journaled.set_many(list(op[1]))
                    else:
                        for key, value in op[1]:
                            journaled[key] = value
                else:
                    present = [key for key in op[1] if key in journaled]
                    if bulk:
                        journaled.delete_many(present)
                    else:
                        for key in present:
                            del journaled[key]
        seen.append(
            (
                list(plain.raw_items()),
                list(ordered.raw_items()),
                list(ordered),
                store.journal_length,
                sorted((m.name, sorted(keys)) for m, keys in store.take_changes()),
            )
        )
    while points:
        store.rollback_to(points.pop())
    seen.append((list(plain.raw_items()), list(ordered.raw_items()), list(ordered)))
    return seen


@given(program=st.lists(_op, max_size=24), tracking=st.booleans())
def test_bulk_writes_are_the_per_key_writes(program: list[tuple[Any, ...]], tracking: bool) -> None:
    assert _apply(True, program, tracking) == _apply(False, program, tracking)


def test_delete_many_of_an_absent_key_changes_nothing() -> None:
    for tracking in (False, True):
        store, plain, ordered = _world(tracking)
        for journaled in (plain, ordered):
            journaled.set_many([(1, 1), (2, 2)])
            with pytest.raises(MissingKey):
                journaled.delete_many([1, 3])
            assert list(journaled.raw_items()) == [(1, 1), (2, 2)]
        assert list(ordered) == [1, 2]
        # the refused delete noted nothing for a durable store
        noted = [sorted(keys) for _, keys in store.take_changes()]
        assert noted == ([[1, 2], [1, 2]] if tracking else [])


def test_set_many_with_a_repeated_new_key_rolls_back_to_absent() -> None:
    store, plain, ordered = _world(False)
    point = store.savepoint()
    for journaled in (plain, ordered):
        journaled.set_many([(5, 1), (5, 2), (3, 0)])
        assert journaled.get(5) == 2
    assert list(ordered) == [3, 5]
    store.rollback_to(point)
    assert len(plain) == 0 and len(ordered) == 0 and list(ordered) == []
