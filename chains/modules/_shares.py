"""Delegation share math of the native staking module (consumer.md C-17..C-19).

A validator has ``tokens`` (int) and ``delegator_shares`` (SDK decimal); a delegation owns
some of those shares. These pure functions convert between the two with the SDK's rounding,
so the staking module and the mesh-security module (C-49, C-56) agree to the last atomic.
"""

from __future__ import annotations

from chains.contract._decimal import SCALE, SdkDec, div_half_even
from chains.contract._errors import DivideByZero

__all__ = ["shares_from_tokens", "token_value", "tokens_from_shares"]


def shares_from_tokens(amount: int, tokens: int, delegator_shares: SdkDec) -> SdkDec:
    """Shares worth ``amount`` tokens: ``amount * delegator_shares / tokens`` (C-17, C-19).

    The product is exact and the division truncates at the 18th decimal (the SDK's
    ``MulInt(...).QuoInt(...)``). A validator with no shares issues one share per token.
    Raises ``DivideByZero`` when the validator has shares but no tokens (the caller reports
    that as ``InvalidExchangeRate``).
    """
    if delegator_shares.atomics == 0:
        return SdkDec.from_int(amount)
    if tokens == 0:
        raise DivideByZero("shares_from_tokens: validator has shares but no tokens")
    return SdkDec(delegator_shares.atomics * amount // tokens)


def tokens_from_shares(shares: SdkDec, tokens: int, delegator_shares: SdkDec) -> SdkDec:
    """Token value of ``shares``: ``quo(shares * tokens, delegator_shares)`` (C-18).

    ``shares * tokens`` is exact; the quotient is rounded half to even at the 18th decimal.
    Raises ``DivideByZero`` when ``delegator_shares`` is zero.
    """
    if delegator_shares.atomics == 0:
        raise DivideByZero("tokens_from_shares: validator has no shares")
    return SdkDec(div_half_even(shares.atomics * tokens * SCALE, delegator_shares.atomics))


def token_value(shares: SdkDec, tokens: int, delegator_shares: SdkDec) -> int:
    """``truncate_int(tokens_from_shares(...))``: what a delegation is worth (C-18).

    Rounding happens before truncation, so an exact 4.9999999999999999996 counts as 5.
    Returns 0 when there are no shares at all.
    """
    if shares.atomics == 0 or delegator_shares.atomics == 0:
        return 0
    return tokens_from_shares(shares, tokens, delegator_shares).truncate_int()
