"""An in-memory copy of a chain's committed state, for chains without a durable store.

A chain's *committed* state is its state at the last block boundary: what a durable store
(``_durable.py``) holds on disk. A node that crashes loses the block it had open (the
transactions it ran and answered since that boundary) and resumes from the committed
state. With a durable store attached, `Chain.crash` reloads the file; without one,
`CommittedCopy` keeps the same thing in memory so that a crash in a one-process run (the
chaos runs' chain crashes) loses exactly what a real node would.

**Cost.** Building the copy is O(state) once (`Store.snapshot`); from then on the store
tracks the keys it writes (`Store.track_changes`, as a durable store does) and every block
boundary copies the values of the keys written since the previous one: O(writes), no
encoding, no hashing. `restore` undoes the writes since the last boundary in O(writes)
and takes up the committed block position (`BlockLifecycle.restore_block`, which lets the
modules rebuild what they keep beside the store, as after a durable resume).

The copy shares values with the live maps: safe because store values are immutable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from chains.host._errors import NestedUnit

if TYPE_CHECKING:
    from chains.host._blocks import BlockLifecycle

__all__: list[str] = []

_ABSENT: Final = object()


class CommittedCopy:
    """The state of one chain's executor at its last block boundary (module docstring).

    Used from the chain host's task only (the host calls `commit` at every block
    boundary; `Chain.crash` calls `restore` once the host stopped)."""

    def __init__(self, executor: BlockLifecycle) -> None:
        """Copy ``executor``'s state now as the committed base and start tracking writes.

        Raises `NestedUnit` inside a unit (a programming error: call between units)."""
        store = executor.store
        if store.depth:
            raise NestedUnit()
        self._contents: dict[str, dict[Any, Any]] = store.snapshot()
        self._block = (executor.height, executor.time_s, executor.block_open, executor.tx_index)
        store.track_changes()

    @property
    def position(self) -> tuple[int, int]:
        """The committed block's height and the units that had run in it."""
        return self._block[0], self._block[3]

    def commit(self, executor: BlockLifecycle) -> None:
        """Take the state now as committed: copy the values of the keys written since
        the last commit (O(writes)) and the block position."""
        contents = self._contents
        for journaled, keys in executor.store.take_changes():
            copy = contents.get(journaled.name)
            if copy is None:
                copy = contents[journaled.name] = {}
            get = journaled.get
            for key in keys:
                value = get(key, _ABSENT)
                if value is _ABSENT:
                    copy.pop(key, None)
                else:
                    copy[key] = value
        self._block = (executor.height, executor.time_s, executor.block_open, executor.tx_index)

    def restore(self, executor: BlockLifecycle) -> None:
        """Undo every write since the last commit and take up the committed block
        position (a crashed node's restart). Raises `NestedUnit` inside a unit."""
        store = executor.store
        if store.depth:
            raise NestedUnit()
        contents = self._contents
        for journaled, keys in store.take_changes():
            copy = contents.get(journaled.name, {})
            for key in keys:
                value = copy.get(key, _ABSENT)
                if value is _ABSENT:
                    journaled.pop(key, None)
                else:
                    journaled[key] = value
        # the restoring writes were noted too: they are the committed values, not changes
        store.take_changes()
        executor.restore_block(*self._block)
