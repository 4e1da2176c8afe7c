"""Errors of the external staking contract (§5.9, P-82, P-83).

Shared ones (``InvalidSlashRatio``, ``WrongTypeTx``, ``InsufficientDelegations``) are in
``_provider_errors``; version errors in ``_mesh_version``; ``Unauthorized``,
``InvalidDenom`` and ``MissingDenom`` in ``_errors``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "ChannelClosed",
    "IbcChannelCloseConfirmDisallowed",
    "IbcOpenInitDisallowed",
    "InvalidEndpoint",
    "NoChannel",
    "NoRewards",
    "NoStake",
    "NotEnoughStake",
    "StakeNotFound",
    "ValidatorNotActive",
]


class NotEnoughStake(ChainError):
    """An unstake above the stake's low end (P-67); ``available`` is that low end."""

    fields = ("available",)
    available: int

    def __init__(self, available: int) -> None:
        super().__init__(available)


class ValidatorNotActive(ChainError):
    """A new stake towards a validator whose current state is not Active (P-64)."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class NoStake(ChainError):
    """Rewards for a validator with zero committed stake (P-73; the reference divides by
    zero)."""

    fields = ("validator",)
    validator: str

    def __init__(self, validator: str) -> None:
        super().__init__(validator)


class StakeNotFound(ChainError):
    """An ``internal_unstake`` for a (user, validator) pair without a stake record (P-81)."""

    fields = ("user", "validator")
    user: str
    validator: str

    def __init__(self, user: str, validator: str) -> None:
        super().__init__(user, validator)


class NoRewards(ChainError):
    """``withdraw_rewards`` with nothing withdrawable (P-75)."""


class ChannelClosed(ChainError):
    """Stake, unstake or reward withdrawal after the channel was closed (P-83 step 3)."""


class NoChannel(ChainError):
    """An operation that sends a packet before the channel handshake completed."""


class IbcOpenInitDisallowed(ChainError):
    """The provider never initiates the handshake: OpenInit and OpenAck are refused (I-40)."""


class IbcChannelCloseConfirmDisallowed(ChainError):
    """The provider end is the only one that starts a close (P-83, I-48)."""


class InvalidEndpoint(ChainError):
    """An authorized endpoint with an empty connection or port id (§5.1)."""
