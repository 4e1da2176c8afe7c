"""The bank module core: balances, transfers, mint, burn and supply of one chain.

All state lives in the chain's ``Store``, so a failed transaction rolls bank movements back
with everything else (consumer.md C-8). Each operation validates everything before its first
write, so a raised error never leaves a half-done movement even outside a savepoint.

Addresses are opaque strings here: callers validate them at the chain boundary. Module
accounts (fee collector, bonded pool, ...) are ordinary addresses derived from their name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from chains.contract._coin import Coin
from chains.contract._errors import InsufficientFunds, InvalidAmount, InvalidDenom, Overflow
from chains.contract._store import JournaledMap, SortedJournaledMap, Store

__all__ = ["Bank"]

_UINT128 = 2**128
# the Cosmos SDK's default denomination pattern
_DENOM_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9/:._-]{2,127}")


def check_denom(denom: str) -> None:
    """Raise ``InvalidDenom`` unless ``denom`` matches the SDK denomination pattern."""
    if not isinstance(denom, str) or _DENOM_RE.fullmatch(denom) is None:
        raise InvalidDenom(str(denom))


def check_amount(amount: int) -> None:
    """Raise ``InvalidAmount`` unless ``0 < amount < 2**128``."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < _UINT128:
        raise InvalidAmount(amount)


class Bank:
    """Balances per (address, denom) and total supply per denom.

    Zero balances are not stored. ``supply(denom)`` always equals the sum of all balances of
    that denom; it changes only through ``mint`` and ``burn``. The *supply offset* is the
    SDK's separate adjustment of the reported supply (consumer.md C-46, C-47): it never moves
    tokens and ``reported_supply = supply + offset``.
    """

    def __init__(self, store: Store, *, name: str = "bank") -> None:
        self._store = store
        # sorted by (address, denom) so one address's balances are a range scan
        self._balances: SortedJournaledMap[tuple[str, str], int] = SortedJournaledMap(
            store, f"{name}/balances"
        )
        self._supply: JournaledMap[str, int] = JournaledMap(store, f"{name}/supply")
        self._offsets: JournaledMap[str, int] = JournaledMap(store, f"{name}/supply_offset")
        # the mint and burn ledger per (denom, source): what lets a checker tell the
        # protocol's mints and burns (provisions, slashing, virtual stake) from any other
        # change of the supply (issue 13's conservation per denom)
        self._minted: JournaledMap[tuple[str, str], int] = JournaledMap(store, f"{name}/minted")
        self._burned: JournaledMap[tuple[str, str], int] = JournaledMap(store, f"{name}/burned")
        # denoms `check_denom` accepted (a memo, not state: the pattern never changes); the
        # regular expression costs more than the rest of a transfer
        self._denoms_seen: set[str] = set()

    @property
    def store(self) -> Store:
        """The store holding the bank's state."""
        return self._store

    # -- queries --

    def balance(self, address: str, denom: str) -> int:
        """The balance of ``address`` in ``denom`` (0 if none)."""
        return self._balances.get((address, denom), 0)

    def all_balances(self, address: str) -> tuple[Coin, ...]:
        """Every non-zero balance of ``address``, sorted by denom."""
        keys = self._balances.keys_between((address,), (address + "\x00",))
        return tuple(Coin(denom=d, amount=self._balances[(a, d)]) for a, d in keys)

    def iter_balances(self) -> Iterator[tuple[str, str, int]]:
        """Every non-zero balance as ``(address, denom, amount)``, sorted."""
        for (address, denom), amount in self._balances.raw_items():
            yield address, denom, amount

    def supply(self, denom: str) -> int:
        """The total amount of ``denom`` in existence (sum of all balances)."""
        return self._supply.get(denom, 0)

    def denoms(self) -> tuple[str, ...]:
        """Every denom with a non-zero supply, sorted."""
        return tuple(sorted(self._supply))

    def minted(self, denom: str) -> dict[str, int]:
        """Everything ever minted of ``denom``, by source (the ``source`` given to `mint`)."""
        return {src: n for (d, src), n in self._minted.raw_items() if d == denom}

    def burned(self, denom: str) -> dict[str, int]:
        """Everything ever burned of ``denom``, by source (the ``source`` given to `burn`)."""
        return {src: n for (d, src), n in self._burned.raw_items() if d == denom}

    def ledger_denoms(self) -> tuple[str, ...]:
        """Every denom ever minted or burned, sorted."""
        keys = {d for d, _ in self._minted} | {d for d, _ in self._burned}
        return tuple(sorted(keys))

    def supply_offset(self, denom: str) -> int:
        """The supply offset of ``denom`` (C-46, C-47); may be negative."""
        return self._offsets.get(denom, 0)

    def reported_supply(self, denom: str) -> int:
        """``supply + supply_offset``: what an SDK supply query would report."""
        return self.supply(denom) + self.supply_offset(denom)

    # -- movements --

    def _debit_checked(self, address: str, denom: str, amount: int) -> int:
        available = self._balances.get((address, denom), 0)
        if available < amount:
            raise InsufficientFunds(address, denom, available, amount)
        return available - amount

    def _set(self, address: str, denom: str, amount: int) -> None:
        if amount:
            self._balances[(address, denom)] = amount
        elif (address, denom) in self._balances:
            del self._balances[(address, denom)]

    def transfer(self, sender: str, recipient: str, denom: str, amount: int) -> None:
        """Move ``amount`` of ``denom`` from ``sender`` to ``recipient``.

        Raises ``InvalidAmount`` (not in ``(0, 2**128)``), ``InvalidDenom`` or
        ``InsufficientFunds``; nothing changes on error.
        """
        # the checks and the debit inline: every reward withdrawal is a transfer (C-95)
        if type(amount) is not int or not 0 < amount < _UINT128:
            check_amount(amount)  # raises, unless an int subclass in range
        if denom not in self._denoms_seen:
            check_denom(denom)
            self._denoms_seen.add(denom)
        balances = self._balances
        available = balances.get((sender, denom), 0)
        if available < amount:
            raise InsufficientFunds(sender, denom, available, amount)
        if sender == recipient:
            return
        # `_set` written out for both sides (same writes, same order): a zero balance is
        # removed, never stored
        key = (sender, denom)
        if available != amount:
            balances[key] = available - amount
        elif key in balances:
            del balances[key]
        # cannot overflow: every balance is bounded by the supply, which is below 2**128
        # (so the credit is positive: the recipient's balance is never set to 0 here)
        key = (recipient, denom)
        balances[key] = balances.get(key, 0) + amount

    def send(self, sender: str, recipient: str, coins: Iterable[Coin]) -> None:
        """Move several coins at once (all or nothing); zero-amount coins are skipped.

        Raises ``InvalidDenom`` or ``InsufficientFunds`` (checked against the total per denom
        before anything moves).
        """
        totals: dict[str, int] = {}
        for coin in coins:
            if coin.amount:
                check_denom(coin.denom)
                totals[coin.denom] = totals.get(coin.denom, 0) + coin.amount
        for denom, amount in totals.items():
            self._debit_checked(sender, denom, amount)
        for denom, amount in totals.items():
            self.transfer(sender, recipient, denom, amount)

    def mint(self, recipient: str, denom: str, amount: int, *, source: str = "") -> None:
        """Create ``amount`` of ``denom`` in ``recipient``'s balance; supply grows.

        ``source`` names who mints (``"genesis"``, ``"distribution"``, ...) in the mint
        ledger (`minted`); the conservation checker refuses sources it does not know.

        Raises ``InvalidAmount``, ``InvalidDenom`` or ``Overflow`` (supply would reach
        ``2**128``); nothing changes on error.
        """
        check_amount(amount)
        check_denom(denom)
        supply = self.supply(denom) + amount
        if supply >= _UINT128:
            raise Overflow(f"supply of {denom}")
        self._supply[denom] = supply
        self._set(recipient, denom, self.balance(recipient, denom) + amount)
        key = (denom, source)
        self._minted[key] = self._minted.get(key, 0) + amount

    def burn(self, holder: str, denom: str, amount: int, *, source: str = "") -> None:
        """Destroy ``amount`` of ``denom`` from ``holder``'s balance; supply shrinks.

        ``source`` names who burns, in the burn ledger (`burned`), as for `mint`.

        Raises ``InvalidAmount``, ``InvalidDenom`` or ``InsufficientFunds``; nothing changes
        on error.
        """
        check_amount(amount)
        check_denom(denom)
        remaining = self._debit_checked(holder, denom, amount)
        self._set(holder, denom, remaining)
        supply = self.supply(denom) - amount
        if supply:
            self._supply[denom] = supply
        else:
            del self._supply[denom]
        key = (denom, source)
        self._burned[key] = self._burned.get(key, 0) + amount

    def add_supply_offset(self, denom: str, delta: int) -> None:
        """Add ``delta`` (either sign) to the supply offset of ``denom`` (C-46, C-47).

        Raises ``InvalidDenom``.
        """
        check_denom(denom)
        offset = self.supply_offset(denom) + delta
        if offset:
            self._offsets[denom] = offset
        elif denom in self._offsets:
            del self._offsets[denom]
