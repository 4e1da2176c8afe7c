"""The vault's slashing of one user and its propagation to the user's other liens (§3.5).

A pure function over one user's account and liens, so every rounding rule of P-36..P-41 can
be tested with the spec's exact figures. The vault applies the outcome to storage and turns
``burns`` into ``burn_stake`` / ``burn_virtual_stake`` messages (P-40, P-42).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chains.contract._decimal import Decimal18
from chains.provider._value_range import ValueRange
from chains.provider.vault._state import Lien, UserInfo, max_lien_of

__all__ = ["SlashBurn", "SlashOutcome", "apply_slash", "cap_liens"]


@dataclass(frozen=True, slots=True)
class SlashBurn:
    """A burn to send to ``holder`` for this user (one per holder and round, P-41)."""

    holder: str
    amount: int


@dataclass(frozen=True, slots=True)
class SlashOutcome:
    """The user's account and liens after one slash entry, and the burns it causes.

    ``applied`` is the slash after the [rec] clamps of P-36 (``requested`` before them);
    ``mode`` is ``None`` (no propagation), ``"capping"`` (P-38) or ``"proportional"``
    (P-39); ``rounds`` counts the extra P-39 rounds of the P-41 [rec]; ``drift_cleared``
    is set when a round could not lower the incremental ``total_slashable`` and its
    remaining excess was written off as flooring drift (see ``apply_slash``).
    """

    account: UserInfo
    liens: dict[str, Lien]
    requested: int
    applied: int
    mode: str | None = None
    rounds: int = 0
    drift_cleared: bool = False
    burns: tuple[SlashBurn, ...] = field(default=())


def _ts_sub(ts: ValueRange, low_cut: int, high_cut: int) -> ValueRange:
    # total_slashable drops by floor(reduction * r) per end, saturating at 0 (P-38, P-39
    # [rec]); the low end is kept at or below the high end
    high = max(ts.high - high_cut, 0)
    low = min(max(ts.low - low_cut, 0), high)
    return ValueRange(low, high)


def cap_liens(
    liens: dict[str, Lien], ts: ValueRange, limit: int
) -> tuple[dict[str, Lien], ValueRange, list[SlashBurn]]:
    """P-38: every lien above ``limit`` is cut down to it, ascending by holder."""
    burns: list[SlashBurn] = []
    out = dict(liens)
    for holder in sorted(out):
        lien = out[holder]
        amount = lien.amount
        if amount.high <= limit:
            continue
        new = ValueRange(min(amount.low, limit), min(amount.high, limit))
        ts = _ts_sub(
            ts,
            lien.slashable.mul_floor(amount.low - new.low),
            lien.slashable.mul_floor(amount.high - new.high),
        )
        out[holder] = Lien(new, lien.slashable)
        burns.append(SlashBurn(holder, amount.high - new.high))
    return out, ts, burns


def _proportional(
    liens: dict[str, Lien], ts: ValueRange, deficit: int
) -> tuple[dict[str, Lien], ValueRange, list[SlashBurn]] | None:
    """P-39: reduce every lien by ``k = ceil(deficit * inv(R))``; ``None`` if ``R == 0``."""
    total_ratio = Decimal18(sum(lien.slashable.atomics for lien in liens.values()))
    if total_ratio.is_zero():
        return None
    k = total_ratio.inv().mul_ceil(deficit)
    burns: list[SlashBurn] = []
    out = dict(liens)
    for holder in sorted(out):
        lien = out[holder]
        amount = lien.amount
        # [rec] a lien smaller than k goes to 0 instead of failing with Underflow
        new = ValueRange(max(amount.low - k, 0), max(amount.high - k, 0))
        ts = _ts_sub(
            ts,
            lien.slashable.mul_floor(amount.low - new.low),
            lien.slashable.mul_floor(amount.high - new.high),
        )
        out[holder] = Lien(new, lien.slashable)
        if amount.high > new.high:
            burns.append(SlashBurn(holder, amount.high - new.high))
    return out, ts, burns


def apply_slash(account: UserInfo, liens: dict[str, Lien], holder: str, slash: int) -> SlashOutcome:
    """Apply a slash of ``slash`` reported by ``holder`` to one user (P-36..P-41).

    ``liens`` are all of the user's liens by holder and must contain ``holder`` (the vault
    skips entries without one, P-36 [rec]). The slash is clamped to the collateral and to
    the lien's low end (P-36 [rec]); the lien and ``total_slashable`` drop by it; if the
    reduced collateral no longer covers ``used.high`` the deficit is propagated by lien
    capping (P-38) when ``max_lien.high >= total_slashable.high``, else proportionally
    (P-39, with ``k = ceil(d * inv(R))``, the provider's only round-up).

    Then (P-41 [rec]) while ``total_slashable.high`` exceeds the new collateral, P-39 runs
    again with ``d = total_slashable.high - collateral`` (burns are emitted per round); it
    stops when every lien is 0 (``total_slashable`` becomes ``(0, 0)``: what remains is
    flooring drift of the incremental sum). Two corners the spec leaves open:

    - a P-39 round that would not lower ``total_slashable.high`` at all (every
      ``floor(k * r)`` is 0) is not applied: repeating it would only burn every lien down to
      0 one ``k`` at a time for a drift of a few tokens. The excess is written off as drift
      instead (``total_slashable.high`` set to the collateral, ``drift_cleared``);
    - if the rounds leave ``max_lien.high`` above the collateral (possible when ``R > 1``),
      a P-38 capping follows, so P-18 holds after every slash.

    Never raises.
    """
    lien = liens[holder]
    requested = slash
    applied = max(0, min(slash, account.collateral, lien.amount.low))
    out = dict(liens)
    out[holder] = Lien(lien.amount.sub(applied, 0), lien.slashable)
    ts = account.total_slashable.sub_saturating(lien.slashable.mul_floor(applied))
    max_lien = max_lien_of(out)
    free = account.collateral - max(max_lien.high, ts.high)
    new_collateral = account.collateral - applied
    burns: list[SlashBurn] = []
    mode: str | None = None
    rounds = 0
    drift = False
    if free < applied:
        deficit = applied - free
        if max_lien.high >= ts.high:
            mode = "capping"
            out, ts, first = cap_liens(out, ts, new_collateral)
        else:
            mode = "proportional"
            step = _proportional(out, ts, deficit)
            if step is None:
                first = []
            else:
                out, ts, first = step
        burns.extend(first)
        while True:
            if ts.high > new_collateral:
                if max_lien_of(out).high == 0:
                    ts, drift = ValueRange(0, 0), True
                    break
                step = _proportional(out, ts, ts.high - new_collateral)
                if step is None or step[1].high == ts.high:
                    ts, drift = ValueRange(min(ts.low, new_collateral), new_collateral), True
                    continue
                out, ts, more = step
            elif max_lien_of(out).high > new_collateral:
                out, ts, more = cap_liens(out, ts, new_collateral)
            else:
                break
            burns.extend(more)
            rounds += 1
    account = UserInfo(new_collateral, max_lien_of(out), ts)
    return SlashOutcome(
        account=account,
        liens=out,
        requested=requested,
        applied=applied,
        mode=mode,
        rounds=rounds,
        drift_cleared=drift,
        burns=tuple(burns),
    )
