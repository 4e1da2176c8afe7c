"""Value ranges: the provider's v1 accounting of amounts with transactions in flight (P-7).

A ``ValueRange(low, high)`` brackets a quantity while cross-chain operations touching it are
pending: ``low`` is its value if every in-flight addition rolls back and every in-flight
subtraction commits, ``high`` the opposite extreme. A settled value is ``(v, v)``. Checks
against an upper bound use ``high``, checks against a lower bound use ``low`` (P-7, I-65).

Ranges are immutable: every operation returns a new range or raises, leaving the old one as
it was (so a failing contract call never half-updates a stored range, P-6).
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.contract._decimal import Decimal18
from chains.contract._errors import ChainError, Overflow, Underflow

__all__ = ["InvalidRange", "NotOneValue", "ValueRange", "max_range"]


class NotOneValue(ChainError):
    """``val()`` of a range whose ends differ: the value is not settled (P-7)."""

    fields = ("low", "high")
    low: int
    high: int

    def __init__(self, low: int, high: int) -> None:
        super().__init__(low, high)


class InvalidRange(ChainError):
    """A commit or rollback would leave ``low > high`` (or a negative end) (P-6, P-7).

    The reference aborts here; this build raises a named error and keeps the range.
    """

    fields = ("operation", "low", "high", "amount")
    operation: str
    low: int
    high: int
    amount: int

    def __init__(self, operation: str, low: int, high: int, amount: int) -> None:
        super().__init__(operation, low, high, amount)


def _check_amount(operation: str, x: int) -> None:
    if x < 0:
        raise Underflow(f"{operation} of a negative amount")


@dataclass(frozen=True, slots=True)
class ValueRange:
    """An immutable ``(low, high)`` range with ``0 <= low <= high`` (P-7).

    Construction with ``low > high`` or a negative end raises ``InvalidRange``.
    """

    low: int = 0
    high: int = 0

    def __post_init__(self) -> None:
        if self.low < 0 or self.low > self.high:
            raise InvalidRange("construct", self.low, self.high, 0)

    # -- construction and inspection --

    @classmethod
    def of(cls, value: int) -> ValueRange:
        """The settled range ``(value, value)``."""
        return cls(value, value)

    def val(self) -> int:
        """The settled value; raises ``NotOneValue`` while the ends differ."""
        if self.low != self.high:
            raise NotOneValue(self.low, self.high)
        return self.low

    def is_under_max(self, maximum: int) -> bool:
        """Whether even the worst case (``high``) is at most ``maximum``."""
        return self.high <= maximum

    def is_over_min(self, minimum: int) -> bool:
        """Whether even the worst case (``low``) is at least ``minimum``."""
        return self.low >= minimum

    def is_zero(self) -> bool:
        """Whether both ends are 0."""
        return self.high == 0

    # -- two-phase operations (P-7 table) --

    def _checked(self, operation: str, low: int, high: int, x: int) -> ValueRange:
        if low < 0 or low > high:
            raise InvalidRange(operation, self.low, self.high, x)
        return ValueRange(low, high)

    def prepare_add(self, x: int, maximum: int | None = None) -> ValueRange:
        """Reserve an addition: ``high += x``. Raises ``Overflow`` if ``high + x > maximum``."""
        _check_amount("prepare_add", x)
        if maximum is not None and self.high + x > maximum:
            raise Overflow("prepare_add above maximum")
        return ValueRange(self.low, self.high + x)

    def commit_add(self, x: int) -> ValueRange:
        """Commit a prepared addition: ``low += x``. Raises ``InvalidRange`` if ``low > high``."""
        _check_amount("commit_add", x)
        return self._checked("commit_add", self.low + x, self.high, x)

    def rollback_add(self, x: int) -> ValueRange:
        """Undo a prepared addition: ``high -= x``. Raises ``InvalidRange`` if ``low > high``."""
        _check_amount("rollback_add", x)
        return self._checked("rollback_add", self.low, self.high - x, x)

    def prepare_sub(self, x: int, minimum: int | None = None) -> ValueRange:
        """Reserve a subtraction: ``low -= x``. Raises ``Underflow`` if ``low < minimum + x``."""
        _check_amount("prepare_sub", x)
        if minimum is not None and self.low < minimum + x:
            raise Underflow("prepare_sub below minimum")
        return self._checked("prepare_sub", self.low - x, self.high, x)

    def commit_sub(self, x: int) -> ValueRange:
        """Commit a prepared subtraction: ``high -= x``. Raises ``InvalidRange`` if
        ``low > high``."""
        _check_amount("commit_sub", x)
        return self._checked("commit_sub", self.low, self.high - x, x)

    def rollback_sub(self, x: int) -> ValueRange:
        """Undo a prepared subtraction: ``low += x``. Raises ``InvalidRange`` if
        ``low > high``."""
        _check_amount("rollback_sub", x)
        return self._checked("rollback_sub", self.low + x, self.high, x)

    def add(self, x: int, maximum: int | None = None) -> ValueRange:
        """Prepare and commit at once (both ends move). Raises ``Overflow`` like
        ``prepare_add``."""
        _check_amount("add", x)
        if maximum is not None and self.high + x > maximum:
            raise Overflow("add above maximum")
        return ValueRange(self.low + x, self.high + x)

    def sub(self, x: int, minimum: int | None = None) -> ValueRange:
        """Prepare and commit a subtraction at once. Raises ``Underflow`` if
        ``low < minimum + x`` (or if the result would be negative)."""
        _check_amount("sub", x)
        floor = 0 if minimum is None else minimum
        if self.low < floor + x:
            raise Underflow("sub below minimum")
        return ValueRange(self.low - x, self.high - x)

    # -- total forms for ack/timeout handlers (P-7, P-16, I-67) --

    def commit_add_saturating(self, x: int) -> ValueRange:
        """``low += x``, then ``high = max(high, low)``. Never fails for ``x >= 0``."""
        low = self.low + max(x, 0)
        # a committed range is usually one value: share one int for both ends (issue 16:
        # every user's committed lien and stake is such a range, kept for good)
        return ValueRange(low, self.high if self.high > low else low)

    def rollback_add_saturating(self, x: int) -> ValueRange:
        """``high = max(high - x, low)``. Never fails (the reference aborts when ``x > high``)."""
        return ValueRange(self.low, max(self.high - max(x, 0), self.low))

    def commit_sub_saturating(self, x: int) -> ValueRange:
        """``high = max(high - x, low)``. Never fails (the reference aborts when
        ``high - x < low``)."""
        return ValueRange(self.low, max(self.high - max(x, 0), self.low))

    def rollback_sub_saturating(self, x: int) -> ValueRange:
        """``low = min(low + x, high)``. Never fails."""
        return ValueRange(min(self.low + max(x, 0), self.high), self.high)

    def sub_saturating(self, x: int) -> ValueRange:
        """Both ends drop by ``x``, each stopping at 0. Never fails.

        Used where the spec asks to saturate a ``sub(x, 0)`` (P-30 [rec], P-36, P-39).
        """
        x = max(x, 0)
        return ValueRange(max(self.low - x, 0), max(self.high - x, 0))

    def cut(self, x: int) -> ValueRange:
        """A slash or burn of ``x`` against ``high``: ``(max(low - x, 0), high - x)``.

        Raises ``Underflow`` if ``x > high`` (P-78, P-80 never cut more than ``high``).
        """
        _check_amount("cut", x)
        if x > self.high:
            raise Underflow("cut above high")
        return ValueRange(max(self.low - x, 0), self.high - x)

    # -- helpers --

    def mul_floor(self, ratio: Decimal18) -> ValueRange:
        """``floor(end * ratio)`` of both ends (P-1)."""
        return ValueRange(ratio.mul_floor(self.low), ratio.mul_floor(self.high))

    def __add__(self, other: ValueRange) -> ValueRange:
        if not isinstance(other, ValueRange):
            return NotImplemented
        return ValueRange(self.low + other.low, self.high + other.high)

    def __str__(self) -> str:
        return f"({self.low}, {self.high})"


def max_range(a: ValueRange, b: ValueRange) -> ValueRange:
    """Component-wise maximum ``(max(a.low, b.low), max(a.high, b.high))`` (P-7).

    Returns ``a`` or ``b`` itself when it is that maximum (ranges are immutable): a user's
    ``max_lien`` then shares its largest lien's range instead of keeping a copy (issue 16).
    """
    if a.low >= b.low and a.high >= b.high:
        return a
    if b.low >= a.low and b.high >= a.high:
        return b
    return ValueRange(max(a.low, b.low), max(a.high, b.high))
