"""The journaled state store every module of a chain keeps its state in.

A ``Store`` owns any number of named maps (``JournaledMap``, and ``SortedJournaledMap`` when
ordered iteration or range scans are needed) and one undo journal shared by all of them.
``savepoint()`` marks the journal; every write after it records the key's previous value;
``rollback_to()`` replays those records backwards and ``release()`` keeps the writes (they then
belong to the enclosing savepoint, if any). Savepoints nest, which is how a transaction and its
sub-messages (consumer.md C-8, C-9; provider.md P-2) get all-or-nothing behaviour.

Costs are proportional to the number of writes, never to the size of the state: with no
savepoint open nothing is journaled at all, a savepoint is an integer mark, and a rollback
undoes exactly the writes made since its mark.

**Change tracking** (for a durable store, ``chains.host.DurableStore``): after
``track_changes()`` every map notes each key written (set, deleted, popped, cleared) in a
per-map set, and ``take_changes()`` hands the noted keys over and starts afresh. A write later
rolled back stays noted: whoever persists the keys reads the map's value *now* (the restored
one, or absence), so the outcome is right and at worst an unchanged value is looked at
again. Tracking costs nothing until it is turned on: ``track_changes`` moves each map to a
subclass of its own class whose writes also note the key (made once per class and store),
so the write paths of an untracked map are exactly the plain ones.

**Values must be immutable.** The journal keeps references to old values, so a value changed
in place would be changed in the "old" copy too and could not be rolled back. Store ints,
strings, tuples, frozensets, frozen pydantic models and frozen dataclasses, and replace a
value to change it (``m[k] = old.model_copy(update=...)``), never mutate it.

**Long-lived values should be invisible to the cyclic GC** (issue 16). The store keeps no
object of its own per record (a map is a dict; a sorted map adds a few sublists of keys;
the journal is emptied when the outermost savepoint closes), but every full collection
walks every record the GC tracks, about a microsecond each: at 10,000 users the records
of slotted dataclasses, pydantic models (the model and its fields-set) and named tuples
were about half of a 0.2 s collection. Keys and values that are ints, strings, bytes or exact
tuples of them are untracked by the GC at their first collection; for a record with
fields, a ``msgspec.Struct(frozen=True, gc=False)`` is never tracked (it must not hold a
reference cycle, which a frozen record of values cannot).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import (
    Any,
    Concatenate,
    Final,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    overload,
)

from sortedcontainers import SortedList

from chains.contract._errors import MapExists, MissingKey, SavepointNotOpen

__all__ = ["JournaledMap", "Savepoint", "SortedJournaledMap", "Store", "atomic"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


class _Missing(enum.Enum):
    MISSING = enum.auto()


_MISSING: Final = _Missing.MISSING


class Savepoint:
    """An open savepoint of one ``Store``: pass it back to ``rollback_to`` or ``release``.

    Compared by identity; treat it as opaque.
    """

    # a plain slotted class: savepoints are made several times per block, and a frozen
    # dataclass's __init__ costs noticeably more
    __slots__ = ("mark",)

    def __init__(self, mark: int) -> None:
        self.mark = mark

    def __repr__(self) -> str:
        return f"Savepoint(mark={self.mark})"


class Store:
    """A set of named journaled maps with nested savepoints (see the module docstring)."""

    def __init__(self) -> None:
        self._maps: dict[str, JournaledMap[Any, Any]] = {}
        self._journal: list[tuple[JournaledMap[Any, Any], Any, Any]] = []
        # the open savepoints, innermost last: a `Savepoint` object, or for an anonymous
        # savepoint (`enter`) its journal mark itself, an int (no object per savepoint)
        self._open: list[Savepoint | int] = []
        # change tracking (see the module docstring): off until `track_changes`
        self._tracking = False
        self._tracking_classes: dict[type[Any], type[Any]] = {}

    # -- maps --

    def _register(self, name: str, journaled: JournaledMap[Any, Any]) -> None:
        if name in self._maps:
            raise MapExists(name)
        self._maps[name] = journaled
        if self._tracking:
            self._track(journaled)

    def names(self) -> tuple[str, ...]:
        """The names of all maps, in creation order."""
        return tuple(self._maps)

    def find(self, name: str) -> JournaledMap[Any, Any] | None:
        """The map named ``name``, or ``None`` if no map has that name."""
        return self._maps.get(name)

    def maps(self) -> tuple[JournaledMap[Any, Any], ...]:
        """Every map, in creation order."""
        return tuple(self._maps.values())

    # -- change tracking --

    @property
    def tracking(self) -> bool:
        """Whether writes are noted for `take_changes`."""
        return self._tracking

    def track_changes(self) -> None:
        """Start noting the keys every map (present and future) writes; forget any noted."""
        self._tracking = True
        for journaled in self._maps.values():
            self._track(journaled)

    def _track(self, journaled: JournaledMap[Any, Any]) -> None:
        journaled._changed = set()
        cls = type(journaled)
        if cls in self._tracking_classes.values():
            return
        tracking = self._tracking_classes.get(cls)
        if tracking is None:
            tracking = self._tracking_classes[cls] = _tracking_class(cls)
        journaled.__class__ = tracking

    def take_changes(self) -> list[tuple[JournaledMap[Any, Any], set[Any]]]:
        """The ``(map, keys)`` written since tracking began or the last call, and start
        afresh (maps with no noted key are left out). Empty when not tracking."""
        if not self._tracking:
            return []
        taken: list[tuple[JournaledMap[Any, Any], set[Any]]] = []
        for journaled in self._maps.values():
            changed = journaled._changed
            if changed:
                taken.append((journaled, changed))
                journaled._changed = set()
        return taken

    def note_changes(self, changes: list[tuple[JournaledMap[Any, Any], set[Any]]]) -> None:
        """Note ``changes`` (a `take_changes` answer) again, e.g. after a failed write, so
        the next `take_changes` returns them too. Does nothing when not tracking."""
        for journaled, keys in changes:
            pending = journaled._changed
            if pending is not None:
                pending.update(keys)

    def snapshot(self) -> dict[str, dict[Any, Any]]:
        """A shallow copy of every map's contents, by map name.

        Costs O(total size): meant for tests, debugging and persistence, not for rollback
        (savepoints do that in O(writes)). Values are shared, which is safe because they are
        immutable.
        """
        return {name: dict(m.raw_items()) for name, m in self._maps.items()}

    # -- savepoints --

    @property
    def depth(self) -> int:
        """The number of open savepoints."""
        return len(self._open)

    @property
    def journal_length(self) -> int:
        """The number of undo records currently kept (0 when no savepoint is open)."""
        return len(self._journal)

    def savepoint(self) -> Savepoint:
        """Open a savepoint nested inside the currently open ones and return it."""
        point = Savepoint(len(self._journal))
        self._open.append(point)
        return point

    def _index(self, point: Savepoint) -> int:
        top = len(self._open) - 1
        if top >= 0 and self._open[top] is point:
            return top
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i] is point:
                return i
        raise SavepointNotOpen()

    def rollback_to(self, point: Savepoint) -> None:
        """Undo every write made since ``point`` was opened and close it.

        Savepoints opened after ``point`` are closed too. Raises `SavepointNotOpen` if ``point``
        is not open in this store.
        """
        index = self._index(point)
        journal = self._journal
        mark = point.mark
        while len(journal) > mark:
            journaled, key, old = journal.pop()
            journaled._restore(key, old)
        del self._open[index:]

    def release(self, point: Savepoint) -> None:
        """Close ``point`` keeping its writes (they join the enclosing savepoint, if any).

        Savepoints opened after ``point`` are released too. Raises `SavepointNotOpen` if ``point``
        is not open in this store.
        """
        opened = self._open
        if opened and opened[-1] is point:
            # the usual case (savepoints close in order): no search
            opened.pop()
        else:
            del opened[self._index(point) :]
        if not opened:
            # nobody can roll back any more: drop the undo records
            self._journal.clear()

    # -- anonymous savepoints: a mark in the journal, no object --

    def enter(self) -> int:
        """Open an anonymous savepoint nested inside the currently open ones and return its
        position (the number of savepoints open before it), for `undo` or `keep`.

        The same savepoint as `savepoint` opens, without an object: for a caller that
        closes what it opens in order, as the executor's cascade does once per sub-message
        with a reply (C-9; every epoch's reward withdrawals, C-95). A position is only
        meaningful until its savepoint is closed: passing it again after that closes
        whatever savepoint then sits there.
        """
        opened = self._open
        opened.append(len(self._journal))
        return len(opened) - 1

    def undo(self, position: int) -> None:
        """`rollback_to` for the anonymous savepoint at ``position`` (from `enter`): undo
        every write made since it was opened and close it and every savepoint opened after
        it. Raises `SavepointNotOpen` if no anonymous savepoint is open there."""
        opened = self._open
        mark = opened[position] if 0 <= position < len(opened) else None
        if type(mark) is not int:
            raise SavepointNotOpen()
        journal = self._journal
        while len(journal) > mark:
            journaled, key, old = journal.pop()
            journaled._restore(key, old)
        del opened[position:]

    def keep(self, position: int) -> None:
        """`release` for the anonymous savepoint at ``position`` (from `enter`): close it
        (and every savepoint opened after it) keeping its writes. Raises
        `SavepointNotOpen` if no anonymous savepoint is open there."""
        opened = self._open
        top = len(opened) - 1
        if position == top and type(opened[top]) is int:
            # the usual case (savepoints close in order): no search
            opened.pop()
        elif 0 <= position < top and type(opened[position]) is int:
            del opened[position:]
        else:
            raise SavepointNotOpen()
        if not opened:
            # nobody can roll back any more: drop the undo records
            self._journal.clear()

    @contextmanager
    def atomic(self) -> Iterator[Savepoint]:
        """Run a block in a savepoint: released on success, rolled back on any exception."""
        point = self.savepoint()
        try:
            yield point
        except BaseException:
            self.rollback_to(point)
            raise
        self.release(point)


class JournaledMap(MutableMapping[K, V], Generic[K, V]):
    """A dict-like map whose writes are journaled by its ``Store`` (see module docstring).

    Values must be immutable; replace them to change them.
    """

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self._data: dict[K, V] = {}
        self.name = name
        # keys written since the store's last `take_changes` (``None``: not tracking; the
        # store then also moves the map to a tracking subclass, see `Store.track_changes`)
        self._changed: set[K] | None = None
        store._register(name, self)
        # reads need no journaling: bind the dict's own get (a C call) over the method below,
        # which stays as the documented signature (``_data`` is never replaced)
        self.get = self._data.get  # type: ignore[method-assign,assignment]

    def _restore(self, key: K, old: V | _Missing) -> None:
        if old is _MISSING:
            del self._data[key]
        else:
            self._data[key] = old

    def raw_items(self) -> Iterator[tuple[K, V]]:
        """All items in storage order (no copy)."""
        return iter(self._data.items())

    @property
    def ordered(self) -> bool:
        """Whether this map keeps its keys sorted (a `SortedJournaledMap`)."""
        return False

    def replace_contents(self, items: dict[K, V]) -> None:
        """Make ``items`` the map's contents, bypassing the journal and change tracking (for
        loading persisted state). Call it with no savepoint open: a rollback could not undo
        it."""
        self._data.clear()
        self._data.update(items)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, /, default: V | T) -> V | T: ...
    def get(self, key: K, /, default: object = None) -> object:
        # overridden because MutableMapping.get goes through __getitem__ and an exception
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __setitem__(self, key: K, value: V) -> None:
        # the hottest write path of every chain: journal inline
        data = self._data
        store = self._store
        if store._open:
            store._journal.append((self, key, data.get(key, _MISSING)))
        data[key] = value

    def __delitem__(self, key: K) -> None:
        data = self._data
        if key not in data:
            raise MissingKey(key)
        store = self._store
        if store._open:
            store._journal.append((self, key, data[key]))
        del data[key]

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, /, default: V | T) -> V | T: ...
    def pop(self, key: K, /, default: object = _MISSING) -> object:
        # overridden because MutableMapping.pop goes through __getitem__ and __delitem__
        data = self._data
        if key not in data:
            if default is _MISSING:
                raise MissingKey(key)
            return default
        value = data[key]
        store = self._store
        if store._open:
            store._journal.append((self, key, value))
        del data[key]
        return value

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def clear(self) -> None:
        # MutableMapping.clear pops one item at a time through iteration
        data = self._data
        store = self._store
        if store._open:
            store._journal.extend([(self, key, value) for key, value in data.items()])
        data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} items)"

    def set_many(self, items: list[tuple[K, V]]) -> None:
        """``self[key] = value`` for each ``(key, value)`` in order, in one call: the same
        contents, undo records and noted changes (a batch of writes on a per-packet path,
        issue 16, without a method call per write)."""
        data = self._data
        store = self._store
        if store._open:
            get = data.get
            this = self
            written = dict(items)
            if len(written) == len(items):
                # distinct keys (the usual batch): each undo record is the value before
                store._journal.extend([(this, key, get(key, _MISSING)) for key in written])
                data.update(written)
            else:
                journal = store._journal
                for key, value in items:
                    journal.append((this, key, get(key, _MISSING)))
                    data[key] = value
        else:
            data.update(items)
        if self._changed is not None:
            self._changed.update([key for key, _ in items])

    def delete_many(self, keys: list[K]) -> None:
        """``del self[key]`` for each of ``keys`` (distinct) in order, in one call; raises
        `MissingKey`, having changed nothing, if one is absent."""
        data = self._data
        for key in keys:
            if key not in data:
                raise MissingKey(key)
        store = self._store
        if store._open:
            this = self
            store._journal.extend([(this, key, data[key]) for key in keys])
        for key in keys:
            del data[key]
        if self._changed is not None:
            self._changed.update(keys)


class SortedJournaledMap(JournaledMap[K, V]):
    """A ``JournaledMap`` that iterates in key order and supports range scans.

    Keys must be mutually comparable (ints, strings, tuples of them). The values stay in a
    plain dict, so lookups cost what they cost in a ``JournaledMap``; the keys are also kept
    in a ``sortedcontainers.SortedList`` (a list of sorted sublists), so inserting or deleting
    a key costs O(log n) and a range scan O(log n + k). The journal records values only, as
    for the plain map: a rollback restores the key order through the same writes.
    """

    def __init__(self, store: Store, name: str) -> None:
        super().__init__(store, name)
        # typed Any: K is only Hashable, but these keys are also ordered (see class docstring)
        self._keys: SortedList[Any] = SortedList()

    @property
    def ordered(self) -> bool:
        """Always true: see `JournaledMap.ordered`."""
        return True

    def replace_contents(self, items: dict[K, V]) -> None:
        """See `JournaledMap.replace_contents`; the sorted keys are rebuilt too."""
        super().replace_contents(items)
        self._keys = SortedList(self._data)

    def _restore(self, key: K, old: V | _Missing) -> None:
        present = key in self._data
        super()._restore(key, old)
        if old is _MISSING:
            self._keys.remove(key)
        elif not present:
            self._keys.add(key)

    def __setitem__(self, key: K, value: V) -> None:
        data = self._data
        store = self._store
        if key in data:
            if store._open:
                store._journal.append((self, key, data[key]))
        else:
            self._keys.add(key)
            if store._open:
                store._journal.append((self, key, _MISSING))
        data[key] = value

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        self._keys.remove(key)

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, /, default: V | T) -> V | T: ...
    def pop(self, key: K, /, default: object = _MISSING) -> object:
        # through __delitem__, which keeps the sorted keys
        if key not in self._data:
            return super().pop(key, default)
        value = self._data[key]
        del self[key]
        return value

    def clear(self) -> None:
        super().clear()
        self._keys.clear()

    def __iter__(self) -> Iterator[K]:
        # a copy, so callers may write to the map while iterating
        return iter(list(self._keys))

    def raw_items(self) -> Iterator[tuple[K, V]]:
        """All items in key order."""
        data = self._data
        return iter([(k, data[k]) for k in self._keys])

    def first_key(self) -> K | None:
        """The smallest key, or ``None`` when empty."""
        keys = self._keys
        return keys[0] if keys else None

    def head(self, count: int) -> list[K]:
        """The ``count`` smallest keys, ascending."""
        # a slice of a SortedList is a list, and much cheaper than list(islice(...))
        return self._keys[:count]

    def keys_between(self, low: Any, high: Any) -> list[K]:
        """The keys ``k`` with ``low <= k < high``, ascending (bounds may be key prefixes)."""
        return list(self._keys.irange(low, high, inclusive=(True, False)))

    def set_many(self, items: list[tuple[K, V]]) -> None:
        """See `JournaledMap.set_many`; the new keys join the sorted keys in one update."""
        data = self._data
        fresh = [key for key, _ in items if key not in data]
        super().set_many(items)
        if fresh:
            # (a key repeated among the new ones is one key)
            self._keys.update(dict.fromkeys(fresh))

    def delete_many(self, keys: list[K]) -> None:
        """See `JournaledMap.delete_many`; the keys leave the sorted keys too."""
        super().delete_many(keys)
        sorted_keys = self._keys
        if len(keys) * 8 >= len(sorted_keys):
            # a large share of the keys (a batch of acks): one linear rebuild (the kept
            # keys come in order, so the sort is a single pass) beats a removal per key
            gone = set(keys)
            self._keys = SortedList([key for key in sorted_keys if key not in gone])
        else:
            remove = sorted_keys.remove
            for key in keys:
                remove(key)


def _tracking_class(cls: type[Any]) -> type[Any]:
    """The subclass of the map class ``cls`` whose writes also note the key in
    ``_changed`` (see `Store.track_changes`); same name, so reprs do not change."""
    base_set = cls.__setitem__
    base_del = cls.__delitem__
    base_pop = cls.pop
    base_clear = cls.clear

    def __setitem__(self: Any, key: Any, value: Any) -> None:
        base_set(self, key, value)
        self._changed.add(key)

    def __delitem__(self: Any, key: Any) -> None:
        base_del(self, key)
        self._changed.add(key)

    def pop(self: Any, key: Any, /, *default: Any) -> Any:
        value = base_pop(self, key, *default)
        self._changed.add(key)
        return value

    def clear(self: Any) -> None:
        self._changed.update(self._data)
        base_clear(self)

    namespace = {
        "__setitem__": __setitem__,
        "__delitem__": __delitem__,
        "pop": pop,
        "clear": clear,
        "__qualname__": cls.__qualname__,
        "__module__": cls.__module__,
    }
    return type(cls.__name__, (cls,), namespace)


class HasStore(Protocol):
    """Anything that keeps its state in a ``Store``."""

    @property
    def store(self) -> Store:
        """The store holding this object's state."""
        ...


S = TypeVar("S", bound=HasStore)


def atomic(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Decorate a method so it runs in a savepoint of ``self.store``.

    If the method raises, every write it made (through any module sharing the store) is
    rolled back before the exception propagates; otherwise the writes are kept.
    """

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        store = self.store
        point = store.savepoint()
        try:
            result = method(self, *args, **kwargs)
        except BaseException:
            store.rollback_to(point)
            raise
        store.release(point)
        return result

    return wrapper
