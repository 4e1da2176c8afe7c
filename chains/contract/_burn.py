"""Spreading a burn over a user's delegations (P-17).

Used by the native staking proxy (P-58) and external staking (P-80) when the vault asks them
to burn part of a user's stake after a slash elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from chains.contract._errors import InsufficientDelegations

__all__ = ["distribute_burn"]


def distribute_burn(
    entries: Sequence[tuple[str, int]], amount: int, *, owner: str = ""
) -> tuple[int, dict[str, int]]:
    """Split ``amount`` over ``entries`` = ``[(validator, available), ...]`` (P-17).

    Returns ``(burned, {validator: burn})`` with the parts in entry order (validators that
    burn nothing are left out). Step 1 burns ``min(available, amount // len(entries))`` from
    every entry; step 2 puts the whole remainder on the **first** entry that can absorb it,
    or burns nothing more if none can. Callers treat ``burned < amount`` as failure
    (``InsufficientDelegations``); the split can fail although enough is available in total
    (``[29, 30, 31, 1]``, 91 burns 67): a known limitation, kept.

    Raises `InsufficientDelegations` ``(owner, amount)`` for an empty ``entries``: a burn
    with nowhere to go is what every caller reports for it (P-58, P-80, C-91), so a caller
    may pass its ``owner`` and leave the check to this function.
    """
    if not entries:
        raise InsufficientDelegations(owner, amount)
    base = amount // len(entries)
    parts: dict[str, int] = {}
    burned = 0
    for validator, available in entries:
        b = min(available, base)
        if b > 0:
            parts[validator] = parts.get(validator, 0) + b
            burned += b
    if burned < amount:
        rest = amount - burned
        for validator, available in entries:
            if rest + parts.get(validator, 0) <= available:
                parts[validator] = parts.get(validator, 0) + rest
                burned += rest
                break
    return burned, parts
