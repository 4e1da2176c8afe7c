"""Anonymous savepoints (a mark in the journal, no object) behave as `Savepoint` objects do.

The executor's cascade opens one per replied sub-message (C-9, every epoch's reward
withdrawals C-95) with `Store.enter` and closes it with `Store.undo` / `Store.keep`. These
tests run random nested programs of writes, opens and closes (at any depth, not only the
innermost) twice: once with `Savepoint` objects only, once with anonymous savepoints for
the opens marked anonymous; the contents, depth and journal length must agree after every
step.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.contract import (
    JournaledMap,
    Savepoint,
    SavepointNotOpen,
    SortedJournaledMap,
    Store,
)

_keys = st.integers(0, 5)
_op = st.one_of(
    st.tuples(st.just("open"), st.booleans()),  # (open, anonymous?)
    st.tuples(st.just("set"), st.booleans(), _keys, st.integers(0, 9)),  # sorted map?
    st.tuples(st.just("delete"), st.booleans(), _keys),
    st.tuples(st.just("close"), st.integers(0, 7), st.booleans()),  # (depth index, keep?)
)


class _Side:
    """One store and its two maps, and the handles of its open savepoints."""

    def __init__(self) -> None:
        self.store = Store()
        self.plain: JournaledMap[int, int] = JournaledMap(self.store, "plain")
        self.sorted: SortedJournaledMap[int, int] = SortedJournaledMap(self.store, "sorted")
        self.handles: list[Savepoint | int] = []

    def state(self) -> tuple[Any, ...]:
        return (
            self.store.snapshot(),
            list(self.sorted),
            self.store.depth,
            self.store.journal_length,
        )


def _run(side: _Side, op: tuple[Any, ...], use_marks: bool) -> None:
    kind = op[0]
    if kind == "open":
        anonymous = op[1] and use_marks
        side.handles.append(side.store.enter() if anonymous else side.store.savepoint())
    elif kind == "set":
        (side.sorted if op[1] else side.plain)[op[2]] = op[3]
    elif kind == "delete":
        target = side.sorted if op[1] else side.plain
        target.pop(op[2], None)
    elif side.handles:
        index = op[1] % len(side.handles)
        handle = side.handles[index]
        if isinstance(handle, Savepoint):
            if op[2]:
                side.store.release(handle)
            else:
                side.store.rollback_to(handle)
        elif op[2]:
            side.store.keep(handle)
        else:
            side.store.undo(handle)
        # closing a savepoint closes every one opened after it
        del side.handles[index:]


@given(program=st.lists(_op, max_size=40))
def test_anonymous_savepoints_equal_savepoint_objects_C_9(program: list[tuple[Any, ...]]) -> None:
    objects, marks = _Side(), _Side()
    for op in program:
        _run(objects, op, use_marks=False)
        _run(marks, op, use_marks=True)
        assert marks.state() == objects.state()


def test_closed_anonymous_savepoint_is_refused() -> None:
    side = _Side()
    outer = side.store.savepoint()
    position = side.store.enter()
    side.store.keep(position)
    with pytest.raises(SavepointNotOpen):
        side.store.keep(position)
    with pytest.raises(SavepointNotOpen):
        side.store.undo(position)
    # a position holding a `Savepoint` object is not an anonymous savepoint
    with pytest.raises(SavepointNotOpen):
        side.store.undo(0)
    side.store.release(outer)
    assert side.store.depth == 0
