"""Pending cross-chain transactions of the vault and external staking (P-9..P-11).

A pending-tx record is created when an operation whose outcome depends on the consumer
starts, and removed exactly once, on commit or rollback (P-9). ``PendingTxBook`` keeps them in
a contract's storage, allocates ids (P-10) and answers the ``pending_tx`` /
``all_pending_txs_desc`` queries (P-11).
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.contract._contract import ContractStorage
from chains.contract._decimal import Decimal18
from chains.contract._errors import NotFound
from chains.contract._store import SortedJournaledMap
from chains.provider._pagination import page_limit

__all__ = [
    "EXTERNAL_FIRST_TX_ID",
    "InFlightRemote",
    "InFlightRemoteStaking",
    "InFlightRemoteUnstaking",
    "InFlightStaking",
    "InFlightTransferFunds",
    "InFlightTx",
    "PendingTx",
    "PendingTxBook",
    "VAULT_FIRST_TX_ID",
]

# P-10: the vault counts 1, 2, 3, ...; external staking from 2**63 upward, so the ranges of
# ids never collide (a remote stake uses the vault's id on both sides).
VAULT_FIRST_TX_ID = 1
EXTERNAL_FIRST_TX_ID = 2**63


@dataclass(frozen=True, slots=True)
class InFlightTx:
    """What every pending tx has (P-9): its id (P-10) and the amount in flight.

    The variants below add who the tx belongs to (``owner``, the key of the vault's
    per-user index, P-11) and what is moving. Their class and field names are those of the
    spec's P-9 table: they are what the ``pending_tx`` queries answer.
    """

    id: int
    amount: int

    @property
    def owner(self) -> str:
        """The user the tx belongs to."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class InFlightStaking(InFlightTx):
    """Vault side of a remote stake: the lien reserved for ``lienholder`` (P-9, P-26)."""

    slashable: Decimal18
    user: str
    lienholder: str

    @property
    def owner(self) -> str:
        return self.user


@dataclass(frozen=True, slots=True)
class InFlightRemote(InFlightTx):
    """External staking's side of ``user``'s stake on ``validator`` moving until the
    consumer's ack (P-9); the subclass says which way, so an ack of one kind never settles a
    tx of the other (P-16)."""

    user: str
    validator: str

    @property
    def owner(self) -> str:
        return self.user


@dataclass(frozen=True, slots=True)
class InFlightRemoteStaking(InFlightRemote):
    """A remote stake; ``id`` is the vault's (P-9, P-64)."""


@dataclass(frozen=True, slots=True)
class InFlightRemoteUnstaking(InFlightRemote):
    """An unstake waiting for the consumer's ack (P-9, P-67)."""


@dataclass(frozen=True, slots=True)
class InFlightTransferFunds(InFlightTx):
    """A reward withdrawal waiting for the consumer's ack (P-9, P-75); the spec names its
    owner ``staker``."""

    staker: str
    validator: str

    @property
    def owner(self) -> str:
        return self.staker


PendingTx = (
    InFlightStaking | InFlightRemoteStaking | InFlightRemoteUnstaking | InFlightTransferFunds
)


class PendingTxBook:
    """The pending txs of one contract, by id, optionally indexed by owner (P-11).

    ``first_id`` is the first id ``allocate_id`` hands out (P-10).
    """

    __slots__ = ("_by_id", "_by_owner", "_counter", "_first_id")

    def __init__(self, storage: ContractStorage, *, first_id: int, index_by_owner: bool) -> None:
        self._by_id: SortedJournaledMap[int, PendingTx] = storage.sorted_map("pending_txs")
        self._by_owner: SortedJournaledMap[tuple[str, int], bool] | None = (
            storage.sorted_map("pending_txs_by_owner") if index_by_owner else None
        )
        self._counter = storage.map("tx_count")
        self._first_id = first_id

    def allocate_id(self) -> int:
        """The next id: the counter is pre-incremented (P-10)."""
        last: int = self._counter.get("value", self._first_id - 1)
        new = last + 1
        self._counter["value"] = new
        return new

    def add(self, tx: PendingTx) -> None:
        """Record ``tx`` under its id."""
        self._by_id[tx.id] = tx
        if self._by_owner is not None:
            self._by_owner[(tx.owner, tx.id)] = True

    def get(self, tx_id: int) -> PendingTx | None:
        """The pending tx, or ``None``."""
        return self._by_id.get(tx_id)

    def load(self, tx_id: int) -> PendingTx:
        """The pending tx; raises ``NotFound("tx", id)``."""
        tx = self._by_id.get(tx_id)
        if tx is None:
            raise NotFound("tx", str(tx_id))
        return tx

    def remove(self, tx: PendingTx) -> None:
        """Delete ``tx`` (it must be pending)."""
        del self._by_id[tx.id]
        if self._by_owner is not None:
            del self._by_owner[(tx.owner, tx.id)]

    def ids(self) -> list[int]:
        """Every pending id, ascending."""
        return list(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def of_owner(self, owner: str) -> list[PendingTx]:
        """The owner's pending txs, ascending by id (needs ``index_by_owner``)."""
        if self._by_owner is None:
            raise TypeError("this book is not indexed by owner")
        keys = self._by_owner.keys_between((owner,), (owner + "\x00",))
        return [self._by_id[tx_id] for _, tx_id in keys]

    def desc(self, start_after: int | None, limit: int | None) -> list[PendingTx]:
        """Newest first; ``start_after`` is an exclusive upper bound (P-11, P-35)."""
        count = page_limit(limit)
        if count == 0:
            return []
        upper = (2**64) if start_after is None else start_after
        keys = self._by_id.keys_between(0, upper)
        return [self._by_id[k] for k in reversed(keys[-count:])]
