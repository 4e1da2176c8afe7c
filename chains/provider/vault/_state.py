"""The vault's state records and their storage (P-§3.2, §3.3).

``VaultState`` wraps the vault's ``ContractStorage``: users' accounts, liens per (user, lien
holder), the set of external staking contracts ever used, and the derived quantities
``used``, ``free`` and ``max_lien`` of §3.3. Every per-user operation touches only that user's
records (an index range of liens), never a scan over all users.
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.contract._contract import ContractStorage
from chains.contract._decimal import Decimal18
from chains.contract._store import SortedJournaledMap
from chains.provider._value_range import ValueRange, max_range

__all__ = [
    "Lien",
    "LocalStakingInfo",
    "UserInfo",
    "VaultConfig",
    "VaultState",
    "max_lien_of",
]

ZERO = ValueRange(0, 0)


@dataclass(frozen=True, slots=True)
class LocalStakingInfo:
    """The local staking contract and its double-sign ratio, read once at creation (P-22)."""

    address: str
    max_slash: Decimal18


@dataclass(frozen=True, slots=True)
class VaultConfig:
    denom: str
    local_staking: LocalStakingInfo | None = None


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user's account (absent ⇒ all zero). ``total_slashable`` is incremental (§3.3)."""

    collateral: int = 0
    max_lien: ValueRange = ZERO
    total_slashable: ValueRange = ZERO

    @property
    def used(self) -> ValueRange:
        """``max_range(max_lien, total_slashable)`` (§3.3)."""
        return max_range(self.max_lien, self.total_slashable)

    @property
    def free(self) -> ValueRange:
        """``(collateral - used.high, collateral - used.low)``; may be negative only if an
        invariant is broken (P-18)."""
        used = self.used
        return _signed_range(self.collateral - used.high, self.collateral - used.low)


@dataclass(frozen=True, slots=True)
class Lien:
    """A lien of one user towards one holder: its amount range and slashable ratio."""

    amount: ValueRange
    slashable: Decimal18


def _signed_range(low: int, high: int) -> ValueRange:
    # free(U) is never negative while P-18 holds; clamp so a broken invariant shows up in
    # the property tests' own checks rather than as a constructor error inside a query
    return ValueRange(max(low, 0), max(high, 0))


def max_lien_of(liens: dict[str, Lien] | list[Lien]) -> ValueRange:
    """Component-wise maximum of the liens' amounts, ``(0, 0)`` if none (§3.3)."""
    values = liens.values() if isinstance(liens, dict) else liens
    # through `max_range`, which returns a lien's own range when it is the maximum: the
    # user's record then shares it rather than keeping a copy (issue 16)
    found = ZERO
    for lien in values:
        found = max_range(found, lien.amount)
    return found


class VaultState:
    """Typed access to the vault's storage containers."""

    __slots__ = ("_active_external", "_config", "_liens", "_users")

    def __init__(self, storage: ContractStorage) -> None:
        self._config = storage.item("config")
        self._users: SortedJournaledMap[str, UserInfo] = storage.sorted_map("users")
        self._liens: SortedJournaledMap[tuple[str, str], Lien] = storage.sorted_map("liens")
        self._active_external: SortedJournaledMap[str, bool] = storage.sorted_map("active_external")

    # -- config --

    def config(self) -> VaultConfig:
        config: VaultConfig = self._config.load()
        return config

    def save_config(self, config: VaultConfig) -> None:
        self._config.save(config)

    # -- users --

    def user(self, user: str) -> UserInfo:
        """The user's account, zeros if unknown."""
        return self._users.get(user) or UserInfo()

    def save_user(self, user: str, info: UserInfo) -> None:
        self._users[user] = info

    def users_after(self, start_after: str | None) -> list[str]:
        """Users ascending, strictly after ``start_after``."""
        low = "" if start_after is None else start_after + "\x00"
        return self._users.keys_between(low, "\U0010ffff")

    def all_users(self) -> list[str]:
        return list(self._users)

    # -- liens --

    def lien(self, user: str, holder: str) -> Lien | None:
        return self._liens.get((user, holder))

    def save_lien(self, user: str, holder: str, lien: Lien) -> None:
        self._liens[(user, holder)] = lien

    def delete_lien(self, user: str, holder: str) -> None:
        self._liens.pop((user, holder), None)

    def liens_of(self, user: str) -> dict[str, Lien]:
        """The user's liens by holder, in ascending holder order."""
        keys = self._liens.keys_between((user,), (user + "\x00",))
        return {holder: self._liens[(u, holder)] for u, holder in keys}

    def max_lien(self, user: str) -> ValueRange:
        """``max_lien(U)`` recomputed from every lien of the user (§3.3)."""
        return max_lien_of(self.liens_of(user))

    # -- external staking contracts ever used (P-26) --

    def add_active_external(self, contract: str) -> None:
        self._active_external[contract] = True

    def active_external(self) -> tuple[str, ...]:
        return tuple(self._active_external)
