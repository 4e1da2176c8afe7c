"""The provider's view of a consumer's validator set: a height-indexed history (P-85..P-90).

Per validator a *history* of entries ``(pub_key, start_height, start_time, state)`` sorted by
``start_height`` descending. Entries are indexed by the consumer height carried in the packet,
not by arrival, so late and reordered ``valset_update`` packets insert history "in the past"
(P-87, I-75). The current state is the first entry's; the state at height ``h`` is that of the
first entry with ``start_height <= h``; tombstone is terminal.

**Tie rule (P-85, normative).** Among entries of equal height the one processed **last** comes
first, and inserting an entry identical to a stored one changes nothing. **[ref-quirk]** the
reference keeps the first-processed entry in front; this build does not.

**Copied fields follow late history (P-87 [rec]; I-73 literally copies once).** I-73 has
``update`` copy the *state*, and ``remove``/``jail`` the *pub key*, of the entry at their
height when they are processed. Taken literally that breaks I-75's promise that these commute
once the add they depend on has arrived: a jail at 110 delivered after a (still jailed)
commission change reported at 120 would end below an ``Active@120`` copy, and the provider
would take new stake on a jailed validator (I-77). Here such entries remember which field
they copied (``copies``) and take it again from the entry below them after every insert, so
any delivery order of the same reports gives the same history as in-order delivery. In order
nothing changes: the entry below an entry is then the one it copied from.
This is the optional **[rec]** of P-87 (pub keys and states never mask each other), built
without splitting the history in two. What P-87 says still does not hold is kept: operations
before the first ``add`` are dropped, and entries below a tombstone that arrive after it are
dropped (``active_at`` below the tombstone height can then differ with order).

The history operations are pure functions over tuples (``insert``, ``op_add`` ...); the
``ValidatorSet`` class applies them to a contract's storage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from chains.contract._contract import ContractStorage
from chains.contract._store import SortedJournaledMap

__all__ = [
    "Copied",
    "History",
    "ValidatorEntry",
    "ValidatorSet",
    "ValidatorState",
    "active_at",
    "at_height",
    "current_state",
    "drain_older",
    "insert",
    "op_add",
    "op_jail",
    "op_remove",
    "op_tombstone",
    "op_update",
]


class ValidatorState(enum.StrEnum):
    """A validator's state in the provider's view (``UNKNOWN``: no history, never stored)."""

    ACTIVE = "active"
    UNBONDED = "unbonded"
    JAILED = "jailed"
    TOMBSTONED = "tombstoned"
    UNKNOWN = "unknown"


class Copied(enum.Enum):
    """Which field an entry took from the entry below it (I-73), to be re-taken (I-75)."""

    NOTHING = 0
    STATE = 1  # update: a new key, the state of the entry below
    PUB_KEY = 2  # remove / jail: a new state, the key of the entry below


@dataclass(frozen=True, slots=True)
class ValidatorEntry:
    """One history entry (I-72). ``copies`` is bookkeeping, not part of the entry's value:
    two entries that differ only there are the same entry."""

    pub_key: str
    start_height: int
    start_time: int
    state: ValidatorState
    copies: Copied = field(default=Copied.NOTHING, compare=False)


History = tuple[ValidatorEntry, ...]


def insert(history: History, entry: ValidatorEntry) -> History:
    """P-85 insert: no-op if an identical entry exists; otherwise put ``entry`` directly in
    front of the first entry whose ``start_height <= entry.start_height`` (at the end if
    none), so the last-processed of equal heights is first."""
    if entry in history:
        return history
    for i, existing in enumerate(history):
        if existing.start_height <= entry.start_height:
            return _rederive((*history[:i], entry, *history[i:]), i)
    return _rederive((*history, entry), len(history))


def _rederive(history: History, index: int) -> History:
    """Re-take the copied fields of the entries in front of ``history[index]`` (newest
    first), each from the entry just below it (see the module docstring)."""
    entries = list(history)
    for i in range(index - 1, -1, -1):
        entry, below = entries[i], entries[i + 1]
        if entry.copies is Copied.NOTHING:
            break  # an add or a tombstone sets both fields: nothing above depends on below
        if entry.copies is Copied.STATE and entry.state is not below.state:
            entries[i] = replace(entry, state=below.state)
        elif entry.copies is Copied.PUB_KEY and entry.pub_key != below.pub_key:
            entries[i] = replace(entry, pub_key=below.pub_key)
    return tuple(entries)


def current_state(history: History) -> ValidatorState:
    """The first entry's state, ``UNKNOWN`` for an empty history."""
    return history[0].state if history else ValidatorState.UNKNOWN


def at_height(history: History, height: int) -> ValidatorEntry | None:
    """The first entry with ``start_height <= height``, or ``None``."""
    for entry in history:
        if entry.start_height <= height:
            return entry
    return None


def active_at(history: History, height: int) -> bool:
    """Whether the validator was Active at ``height`` (the slashing rule, P-88 step 1)."""
    entry = at_height(history, height)
    return entry is not None and entry.state is ValidatorState.ACTIVE


def _tombstoned(history: History) -> bool:
    return current_state(history) is ValidatorState.TOMBSTONED


def op_add(history: History, pub_key: str, height: int, time: int) -> History:
    """P-86 ``add``: insert an Active entry unless tombstoned (also for unknown validators,
    re-activation and key rotation)."""
    if _tombstoned(history):
        return history
    return insert(history, ValidatorEntry(pub_key, height, time, ValidatorState.ACTIVE))


def op_update(history: History, pub_key: str, height: int, time: int) -> History:
    """P-86 ``update``: a new key with the state at ``height`` (copied at processing time);
    no-op without history, when tombstoned, or with nothing known at ``height``."""
    if not history or _tombstoned(history):
        return history
    old = at_height(history, height)
    if old is None:
        return history
    return insert(history, ValidatorEntry(pub_key, height, time, old.state, Copied.STATE))


def _change_state(history: History, height: int, time: int, state: ValidatorState) -> History:
    if not history or _tombstoned(history):
        return history
    old = at_height(history, height)
    if old is None:
        return history
    return insert(history, ValidatorEntry(old.pub_key, height, time, state, Copied.PUB_KEY))


def op_remove(history: History, height: int, time: int) -> History:
    """P-86 ``remove``: Unbonded with the key at ``height``; same no-op rules as update."""
    return _change_state(history, height, time, ValidatorState.UNBONDED)


def op_jail(history: History, height: int, time: int) -> History:
    """P-86 ``jail``: as ``remove`` but Jailed."""
    return _change_state(history, height, time, ValidatorState.JAILED)


def op_tombstone(history: History, height: int, time: int) -> History:
    """P-86 ``tombstone``: drop every entry at or above ``height`` and insert the terminal
    Tombstoned entry (works for unknown validators); no-op if already tombstoned."""
    if _tombstoned(history):
        return history
    kept = tuple(e for e in history if e.start_height < height)
    return insert(kept, ValidatorEntry("", height, time, ValidatorState.TOMBSTONED))


def drain_older(history: History, cutoff: int) -> History:
    """P-86 ``drain_older``: keep the first entry and every other with
    ``start_time > cutoff``; histories of length <= 1 are kept."""
    if len(history) <= 1:
        return history
    return (history[0], *(e for e in history[1:] if e.start_time > cutoff))


class ValidatorSet:
    """Validator histories in a contract's storage (P-85, P-86, P-89)."""

    __slots__ = ("_histories",)

    def __init__(self, storage: ContractStorage) -> None:
        self._histories: SortedJournaledMap[str, History] = storage.sorted_map("validators")

    def history(self, validator: str) -> History:
        return self._histories.get(validator, ())

    def _save(self, validator: str, history: History) -> None:
        if history != self._histories.get(validator, ()):
            self._histories[validator] = history

    def state(self, validator: str) -> ValidatorState:
        """The current state (``UNKNOWN`` if never seen)."""
        return current_state(self.history(validator))

    def is_active(self, validator: str) -> bool:
        return self.state(validator) is ValidatorState.ACTIVE

    def active_at(self, validator: str, height: int) -> bool:
        return active_at(self.history(validator), height)

    def add(self, validator: str, pub_key: str, height: int, time: int) -> None:
        self._save(validator, op_add(self.history(validator), pub_key, height, time))

    def update(self, validator: str, pub_key: str, height: int, time: int) -> None:
        self._save(validator, op_update(self.history(validator), pub_key, height, time))

    def remove(self, validator: str, height: int, time: int) -> None:
        self._save(validator, op_remove(self.history(validator), height, time))

    def jail(self, validator: str, height: int, time: int) -> None:
        self._save(validator, op_jail(self.history(validator), height, time))

    def tombstone(self, validator: str, height: int, time: int) -> None:
        self._save(validator, op_tombstone(self.history(validator), height, time))

    def unjail(self, validator: str, height: int, time: int) -> None:
        """P-86: a no-op (the consumer follows with an ``add`` or ``remove``)."""

    def drain_older(self, validator: str, cutoff: int) -> None:
        self._save(validator, drain_older(self.history(validator), cutoff))

    def list(
        self, start_after: str | None, limit: int, *, active_only: bool = False
    ) -> list[tuple[str, ValidatorState]]:
        """``(validator, state)`` ascending by address after ``start_after`` (P-89)."""
        low = "" if start_after is None else start_after + "\x00"
        out: list[tuple[str, ValidatorState]] = []
        for validator in self._histories.keys_between(low, "\U0010ffff"):
            if len(out) >= limit:
                break
            state = current_state(self._histories[validator])
            if active_only and state is not ValidatorState.ACTIVE:
                continue
            out.append((validator, state))
        return out
