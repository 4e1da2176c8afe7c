"""Errors of the price-feed contracts (consumer.md C-60..C-64, catalogue §10).

``Unauthorized`` (simple feed, C-60) and ``IbcChannelAlreadyOpen`` (second channel, C-63) are
shared with other contracts.
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "EmptyTwap",
    "IbcChannelNotOpen",
    "IbcReceiveNotAccepted",
    "InvalidIbcVersion",
    "InvalidResponseQuery",
    "InvalidResponseQueryCode",
    "NoPriceData",
    "OnlyUnorderedChannel",
    "OutdatedPriceData",
]


class NoPriceData(ChainError):
    """No price has been received yet (C-61)."""


class OutdatedPriceData(ChainError):
    """The stored price is ``price_info_ttl_in_secs`` old or older (C-61)."""

    fields = ("price_time", "now", "ttl")
    price_time: int
    now: int
    ttl: int

    def __init__(self, price_time: int, now: int, ttl: int) -> None:
        super().__init__(price_time, now, ttl)


class IbcChannelNotOpen(ChainError):
    """A price request before the feed's channel is open (C-63)."""


class IbcReceiveNotAccepted(ChainError):
    """The remote TWAP feed never accepts incoming packets (C-63)."""


class InvalidResponseQuery(ChainError):
    """An ICQ acknowledgement that is not a success with exactly one response (C-63)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class InvalidResponseQueryCode(ChainError):
    """An ICQ response with a non-zero code (C-63)."""

    fields = ("code",)
    code: int

    def __init__(self, code: int) -> None:
        super().__init__(code)


class EmptyTwap(ChainError):
    """An ICQ response with an empty TWAP payload (C-63)."""


class OnlyUnorderedChannel(ChainError):
    """A price channel that is not UNORDERED (I-32, I-96)."""


class InvalidIbcVersion(ChainError):
    """A price channel with another version than the feed's (I-96)."""

    fields = ("version",)
    version: str

    def __init__(self, version: str) -> None:
        super().__init__(version)
