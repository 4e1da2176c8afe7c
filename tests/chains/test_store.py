"""The journaled store: nested savepoints at O(writes) cost (C-8, C-9, P-2)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.contract import (
    JournaledMap,
    MapExists,
    MissingKey,
    SavepointNotOpen,
    SortedJournaledMap,
    Store,
    atomic,
)


def _store() -> tuple[Store, JournaledMap[str, int], SortedJournaledMap[int, str]]:
    store = Store()
    return store, JournaledMap(store, "plain"), SortedJournaledMap(store, "sorted")


def test_rollback_restores_writes_and_deletes_C_8() -> None:
    store, plain, ordered = _store()
    plain["a"] = 1
    ordered[5] = "five"
    point = store.savepoint()
    plain["a"] = 2
    plain["b"] = 3
    del ordered[5]
    ordered[1] = "one"
    store.rollback_to(point)
    assert dict(plain) == {"a": 1}
    assert list(ordered.items()) == [(5, "five")]
    assert store.depth == 0


def test_nested_savepoint_rollback_keeps_outer_writes_C_9() -> None:
    store, plain, _ = _store()
    outer = store.savepoint()
    plain["x"] = 1
    inner = store.savepoint()
    plain["x"] = 2
    plain["y"] = 2
    store.rollback_to(inner)  # the caught sub-message failure
    assert dict(plain) == {"x": 1}
    plain["z"] = 3
    store.rollback_to(outer)
    assert dict(plain) == {}


def test_release_merges_into_parent_P_2() -> None:
    store, plain, _ = _store()
    outer = store.savepoint()
    inner = store.savepoint()
    plain["x"] = 1
    store.release(inner)
    assert dict(plain) == {"x": 1}
    store.rollback_to(outer)  # the parent still undoes the released child's writes
    assert dict(plain) == {}


def test_no_journal_without_savepoint_and_journal_dropped_on_outer_release() -> None:
    store, plain, _ = _store()
    for i in range(100):
        plain[str(i)] = i
    assert store.journal_length == 0
    point = store.savepoint()
    plain["a"] = 1
    plain["b"] = 2
    assert store.journal_length == 2  # proportional to the writes, not the state
    store.release(point)
    assert store.journal_length == 0


def test_rollback_of_outer_closes_inner_and_stale_tokens_are_refused() -> None:
    store, plain, _ = _store()
    outer = store.savepoint()
    inner = store.savepoint()
    plain["a"] = 1
    store.rollback_to(outer)
    assert store.depth == 0
    with pytest.raises(SavepointNotOpen):
        store.rollback_to(inner)
    with pytest.raises(SavepointNotOpen):
        store.release(outer)
    with pytest.raises(SavepointNotOpen):
        Store().rollback_to(outer)


def test_atomic_context_manager() -> None:
    store, plain, _ = _store()
    with pytest.raises(RuntimeError), store.atomic():
        plain["a"] = 1
        raise RuntimeError("boom")
    assert dict(plain) == {}
    with store.atomic():
        plain["a"] = 1
    assert dict(plain) == {"a": 1}


class _Counter:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.values: JournaledMap[str, int] = JournaledMap(store, "counter")

    @property
    def store(self) -> Store:
        return self._store

    @atomic
    def add_then_fail(self, fail: bool) -> int:
        self.values["n"] = self.values.get("n", 0) + 1
        if fail:
            raise ValueError("fail")
        return self.values["n"]


def test_atomic_decorator_rolls_back_on_error() -> None:
    counter = _Counter(Store())
    assert counter.add_then_fail(False) == 1
    with pytest.raises(ValueError):
        counter.add_then_fail(True)
    assert counter.values["n"] == 1
    assert counter.store.depth == 0


def test_duplicate_map_name_refused() -> None:
    store = Store()
    JournaledMap(store, "m")
    with pytest.raises(MapExists):
        JournaledMap(store, "m")


def test_sorted_map_range_queries() -> None:
    store = Store()
    ordered: SortedJournaledMap[tuple[str, str], int] = SortedJournaledMap(store, "s")
    for key in [("b", "2"), ("a", "9"), ("b", "1"), ("c", "0")]:
        ordered[key] = 1
    assert list(ordered) == [("a", "9"), ("b", "1"), ("b", "2"), ("c", "0")]
    assert ordered.keys_between(("b",), ("b\x00",)) == [("b", "1"), ("b", "2")]
    assert ordered.first_key() == ("a", "9")
    assert ordered.head(2) == [("a", "9"), ("b", "1")]
    ordered.clear()
    assert ordered.first_key() is None and len(ordered) == 0


def test_get_pop_clear_and_snapshot() -> None:
    store, plain, ordered = _store()
    plain["a"] = 1
    ordered[3] = "x"
    point = store.savepoint()
    assert plain.pop("a") == 1
    assert plain.get("a") is None and plain.get("a", 5) == 5
    ordered.clear()
    assert store.snapshot() == {"plain": {}, "sorted": {}}
    store.rollback_to(point)
    assert store.snapshot() == {"plain": {"a": 1}, "sorted": {3: "x"}}
    assert list(ordered) == [3]
    with pytest.raises(MissingKey) as caught:
        del plain["missing"]
    # still a KeyError, as the mapping protocol requires
    assert isinstance(caught.value, KeyError)
    with pytest.raises(MissingKey):
        plain.pop("missing")


# -- model test: random nested savepoints vs deep copies ------------------------------------

_KEYS = st.integers(min_value=0, max_value=7)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 1), _KEYS, st.integers(0, 100)),
        st.tuples(st.just("del"), st.integers(0, 1), _KEYS),
        st.tuples(st.just("savepoint")),
        st.tuples(st.just("rollback"), st.integers(0, 5)),
        st.tuples(st.just("release"), st.integers(0, 5)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_OPS)
def test_random_savepoint_sequences_match_deep_copy_model(ops: list[tuple[Any, ...]]) -> None:
    store = Store()
    maps: list[JournaledMap[int, int]] = [JournaledMap(store, "a"), SortedJournaledMap(store, "b")]
    model: list[dict[int, int]] = [{}, {}]
    points: list[Any] = []
    copies: list[list[dict[int, int]]] = []
    for op in ops:
        kind = op[0]
        if kind == "set":
            _, which, key, value = op
            maps[which][key] = value
            model[which][key] = value
        elif kind == "del":
            _, which, key = op
            if key in model[which]:
                del maps[which][key]
                del model[which][key]
        elif kind == "savepoint":
            points.append(store.savepoint())
            copies.append(copy.deepcopy(model))
        elif points:
            index = op[1] % len(points)
            if kind == "rollback":
                store.rollback_to(points[index])
                model = copies[index]
            else:
                store.release(points[index])
            del points[index:]
            del copies[index:]
        assert store.snapshot() == {"a": model[0], "b": model[1]}
        assert list(maps[1]) == sorted(model[1])
        assert store.depth == len(points)
    if not points:
        assert store.journal_length == 0


# -- the sorted map's scans against a sorted model, across sublist splits -------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5_000), min_size=0, max_size=3_000),
    st.lists(st.integers(0, 5_000), max_size=200),
    st.integers(0, 5_000),
    st.integers(0, 5_000),
    st.integers(0, 50),
)
def test_sorted_map_scans_match_a_sorted_model_after_rollback(
    inserted: list[int], removed: list[int], low: int, high: int, count: int
) -> None:
    # more keys than one sublist of the sorted key list holds (1,000), so inserts, deletes and
    # rollbacks also split and merge sublists; the scans must not notice
    store = Store()
    ordered: SortedJournaledMap[int, int] = SortedJournaledMap(store, "s")
    for key in inserted:
        ordered[key] = key
    before = sorted(set(inserted))
    point = store.savepoint()
    for key in removed:
        ordered.pop(key, None)
    for key in range(low, low + 20):
        ordered[key] = -key
    after = sorted((set(inserted) - set(removed)) | set(range(low, low + 20)))
    assert list(ordered) == after
    assert ordered.keys_between(low, high) == [k for k in after if low <= k < high]
    assert ordered.head(count) == after[:count]
    assert ordered.first_key() == after[0]
    store.rollback_to(point)
    assert list(ordered) == before
    assert [k for k, _ in ordered.raw_items()] == before
    assert ordered.keys_between(low, high) == [k for k in before if low <= k < high]
    assert ordered.first_key() == (before[0] if before else None)
    assert all(ordered[k] == k for k in before)
