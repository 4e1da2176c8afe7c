"""Errors of the converter contract (consumer.md C-67..C-84, ibc.md I-40, I-48, catalogue §10).

The handshake errors both ends share live elsewhere: the ``IbcVersion(...)`` family and
``InvalidChannelOrder`` in ``chains.wire._version``, ``IbcChannelAlreadyOpen`` and
``IbcChannelNotMatch`` in ``chains.provider.external_staking._errors``.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "DistributeRewardsInvalidAmount",
    "IbcChannelCloseInitDisallowed",
    "IbcOpenTryDisallowed",
    "InvalidDiscount",
    "InvalidPrice",
    "InvalidReplyId",
]


class InvalidDiscount(ChainError):
    """A discount of 1 or more at instantiate (C-67), or a zero adjustment (C-70)."""


class InvalidPrice(ChainError):
    """A price of zero where the converter must invert it (C-70)."""


class DistributeRewardsInvalidAmount(ChainError):
    """The payments of ``distribute_rewards`` do not add up to the funds sent (C-78)."""

    fields = ("sum", "sent")
    sum: int
    sent: int

    def __init__(self, sum: int, sent: int) -> None:
        super().__init__(sum, sent)


class InvalidReplyId(ChainError):
    """A reply with an id the converter never used (C-67)."""

    fields = ("id",)
    id: int

    def __init__(self, id: int) -> None:
        super().__init__(id)


class IbcOpenTryDisallowed(ChainError):
    """``OpenTry`` / ``OpenConfirm`` on the converter, which only initiates (I-40)."""


class IbcChannelCloseInitDisallowed(ChainError):
    """``CloseInit`` on the converter: only the provider starts a close (C-84, I-48)."""
