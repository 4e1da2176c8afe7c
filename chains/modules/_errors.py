"""Errors of the native modules: staking, distribution, slashing (consumer.md C-13..C-39),
redelegation (C-22) and the governance module.

Each is a `ChainError` (the base, with the arithmetic, coin and address errors both sides
share, is in the contract model). Redelegation names follow the SDK's
``ErrSelfRedelegation``, ``ErrTransitiveRedelegation``, ``ErrMaxRedelegationEntries`` and
``ErrTinyRedelegationAmount``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "AlreadyJailed",
    "InsufficientDeposit",
    "InvalidBlock",
    "InvalidCommission",
    "InvalidExchangeRate",
    "InvalidInfractionHeight",
    "InvalidPower",
    "InvalidSharesAmount",
    "InvalidVoteOption",
    "InvalidWeightedVote",
    "JailedUntilNotPassed",
    "NoDelegation",
    "NoValidatorCommission",
    "NotJailed",
    "PubkeyExists",
    "SelfDelegationTooLow",
    "SelfRedelegation",
    "TinyRedelegationAmount",
    "Tombstoned",
    "TooManyRedelegationEntries",
    "TooManyUnbondingEntries",
    "TransitiveRedelegation",
    "UnknownProposal",
    "ValidatorExists",
    "ValidatorNotFound",
    "VotingClosed",
]


# --- staking, distribution, slashing (C-13..C-39) --------------------------------------------


class ValidatorNotFound(ChainError):
    """No validator with this operator (or consensus) address exists."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class ValidatorExists(ChainError):
    """A validator with this operator address already exists."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class PubkeyExists(ChainError):
    """Another validator already uses this consensus public key."""

    fields = ("pubkey",)
    pubkey: str

    def __init__(self, pubkey: str) -> None:
        super().__init__(pubkey)


class InvalidCommission(ChainError):
    """A commission rate outside ``[0, max_rate]`` or changing by more than allowed."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class InvalidExchangeRate(ChainError):
    """The validator has delegator shares but no tokens, so new shares cannot be priced."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class NoDelegation(ChainError):
    """The delegator has no delegation to this validator (C-26)."""

    fields = ("delegator", "validator")
    delegator: str
    validator: str

    def __init__(self, delegator: str, validator: str) -> None:
        super().__init__(delegator, validator)


class InvalidSharesAmount(ChainError):
    """An undelegation asks for more shares than the delegation holds (C-19, C-47)."""


class TooManyUnbondingEntries(ChainError):
    """The (delegator, validator) pair already has ``max_entries`` unbonding entries (C-20)."""

    fields = ("delegator", "validator")
    delegator: str
    validator: str

    def __init__(self, delegator: str, validator: str) -> None:
        super().__init__(delegator, validator)


class InvalidPower(ChainError):
    """A negative consensus power was given to the slash primitive."""

    fields = ("power",)
    power: int

    def __init__(self, power: int) -> None:
        super().__init__(power)


class InvalidInfractionHeight(ChainError):
    """A slash for an infraction in the future (``infraction_height > height``)."""

    fields = ("infraction_height", "height")
    infraction_height: int
    height: int

    def __init__(self, infraction_height: int, height: int) -> None:
        super().__init__(infraction_height, height)


class AlreadyJailed(ChainError):
    """Jailing (or downtime-slashing) a validator that is already jailed."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class NotJailed(ChainError):
    """Unjailing a validator that is not jailed (C-29)."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class Tombstoned(ChainError):
    """Unjailing a tombstoned validator, which is never allowed (C-29, C-37)."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class JailedUntilNotPassed(ChainError):
    """Unjailing before the jail period ended (C-29)."""

    fields = ("validator", "jailed_until")
    validator: str
    jailed_until: int

    def __init__(self, validator: str, jailed_until: int) -> None:
        super().__init__(validator, jailed_until)


class SelfDelegationTooLow(ChainError):
    """The operator's self-delegation is below the validator's minimum (C-23, C-29)."""

    fields = ("validator", "self_delegation", "minimum")
    validator: str
    self_delegation: int
    minimum: int

    def __init__(self, validator: str, self_delegation: int, minimum: int) -> None:
        super().__init__(validator, self_delegation, minimum)


class NoValidatorCommission(ChainError):
    """Withdrawing commission when less than one whole token has accrued."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class InvalidBlock(ChainError):
    """Block heights or times that do not strictly increase, or mismatched begin/end."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


# --- redelegation (C-22) ---------------------------------------------------------------------


class SelfRedelegation(ChainError):
    """Source and destination validator are the same."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class TransitiveRedelegation(ChainError):
    """The delegator redelegated *into* ``validator`` and that redelegation has not matured
    yet, so it cannot redelegate *from* it (SDK ``HasReceivingRedelegation``)."""

    fields = ("delegator", "validator")
    delegator: str
    validator: str

    def __init__(self, delegator: str, validator: str) -> None:
        super().__init__(delegator, validator)


class TooManyRedelegationEntries(ChainError):
    """(delegator, src, dst) already has ``max_entries`` redelegation entries (P-61)."""

    fields = ("delegator", "src_validator", "dst_validator")
    delegator: str
    src_validator: str
    dst_validator: str

    def __init__(self, delegator: str, src_validator: str, dst_validator: str) -> None:
        super().__init__(delegator, src_validator, dst_validator)


class TinyRedelegationAmount(ChainError):
    """The shares removed from the source validator are worth no whole token."""

    fields = ()

    def __init__(self) -> None:
        super().__init__()


# --- governance ------------------------------------------------------------------------------


class UnknownProposal(ChainError):
    """No proposal has this id."""

    fields = ("proposal_id",)
    proposal_id: int

    def __init__(self, proposal_id: int) -> None:
        super().__init__(proposal_id)


class VotingClosed(ChainError):
    """The proposal's voting period has ended."""

    fields = ("proposal_id",)
    proposal_id: int

    def __init__(self, proposal_id: int) -> None:
        super().__init__(proposal_id)


class InvalidVoteOption(ChainError):
    """Not one of ``yes``, ``abstain``, ``no``, ``no_with_veto``."""

    fields = ("option",)
    option: str

    def __init__(self, option: str) -> None:
        super().__init__(option)


class InvalidWeightedVote(ChainError):
    """A weighted vote that is empty, repeats an option, has a weight outside ``(0, 1]`` or
    weights that do not sum to exactly 1 (``reason`` says which)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class InsufficientDeposit(ChainError):
    """A proposal's deposit is below the governance parameters' ``min_deposit``."""

    fields = ("required", "given")
    required: int
    given: int

    def __init__(self, required: int, given: int) -> None:
        super().__init__(required, given)
