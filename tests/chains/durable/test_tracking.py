"""Change tracking in the journaled store (what a durable store commits per block).

Off by default, and then free: a map is of its plain class, whose write paths know nothing
of tracking. On: every write (set, delete, pop, clear; sorted maps too; maps created later
too) notes its key, a rolled-back write stays noted (the committer reads the restored value),
and ``take_changes`` hands the keys over once.
"""

from __future__ import annotations

from typing import Any

import pytest

from chains.contract import JournaledMap, SortedJournaledMap, Store


def _taken(store: Store) -> dict[str, set[Any]]:
    return {m.name: keys for m, keys in store.take_changes()}


def test_untracked_maps_keep_their_plain_class() -> None:
    store = Store()
    plain, ordered = JournaledMap[str, int](store, "a"), SortedJournaledMap[int, int](store, "b")
    plain["x"] = 1
    ordered[1] = 1
    assert type(plain) is JournaledMap and type(ordered) is SortedJournaledMap
    assert not store.tracking and store.take_changes() == []


def test_every_kind_of_write_is_noted_once_tracking() -> None:
    store = Store()
    plain = JournaledMap[str, int](store, "a")
    ordered = SortedJournaledMap[int, int](store, "b")
    plain.update({"gone": 1, "popped": 2, "kept": 3})
    store.track_changes()
    assert isinstance(plain, JournaledMap) and isinstance(ordered, SortedJournaledMap)
    assert repr(plain) == "JournaledMap('a', 3 items)"
    plain["new"] = 4
    del plain["gone"]
    assert plain.pop("popped") == 2
    assert plain.pop("absent", None) is None
    ordered[5] = 5
    ordered[3] = 3
    assert ordered.pop(5) == 5
    assert list(ordered) == [3]
    assert _taken(store) == {"a": {"new", "gone", "popped", "absent"}, "b": {5, 3}}
    assert _taken(store) == {}
    plain.clear()
    later = JournaledMap[str, int](store, "c")
    later["k"] = 1
    assert _taken(store) == {"a": {"new", "kept"}, "c": {"k"}}


def test_rolled_back_write_stays_noted_with_its_restored_value() -> None:
    store = Store()
    plain = JournaledMap[str, int](store, "a")
    plain["x"] = 1
    store.track_changes()
    with pytest.raises(ValueError), store.atomic():
        plain["x"] = 2
        plain["y"] = 3
        raise ValueError("roll back")
    assert dict(plain.raw_items()) == {"x": 1}
    assert _taken(store) == {"a": {"x", "y"}}


def test_noted_changes_can_be_put_back_after_a_failed_commit() -> None:
    store = Store()
    plain = JournaledMap[str, int](store, "a")
    store.track_changes()
    plain["x"] = 1
    changes = store.take_changes()
    plain["y"] = 2
    store.note_changes(changes)
    assert _taken(store) == {"a": {"x", "y"}}
