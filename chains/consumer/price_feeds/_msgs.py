"""Messages of the price-feed contracts and the simulated price host (consumer.md C-59..C-65).

Every feed answers `PriceQuery` with `PriceResponse` (C-59) and accepts the sudo
``HandleEpoch`` of ``chains.consumer.mesh_security._msgs``.
"""

from __future__ import annotations

from chains.contract._decimal import Decimal18
from mesh_actors import Message

__all__ = [
    "PriceFeedConfig",
    "PriceFeedConfigQuery",
    "PriceHostInstantiate",
    "PriceQuery",
    "PriceResponse",
    "RemotePriceFeedInstantiate",
    "RequestPrice",
    "SetHostPrice",
    "SetHostFailure",
    "SimplePriceFeedInstantiate",
    "TradingPair",
    "UpdatePrice",
]


class PriceQuery(Message):
    """``price{}``: how many native tokens buy one foreign token (C-59)."""

    type_name = "price_feed.price"


class PriceResponse(Message):
    """The answer of ``price{}`` (C-59)."""

    type_name = "price_feed.price_response"
    native_per_foreign: Decimal18


class SimplePriceFeedInstantiate(Message):
    """C-60. ``owner`` defaults to the instantiator.

    ``price_info_ttl_in_secs`` is an extension: when set, the admin price expires like a
    remote feed's (C-61); when absent (the spec's feed) it never expires.
    """

    type_name = "simple_price_feed.instantiate"
    native_per_foreign: Decimal18
    owner: str | None = None
    price_info_ttl_in_secs: int | None = None


class UpdatePrice(Message):
    """C-60 ``update_price``: owner only."""

    type_name = "simple_price_feed.update_price"
    native_per_foreign: Decimal18


class PriceFeedConfigQuery(Message):
    """``config{}`` of the simple feed → `PriceFeedConfig` (C-60)."""

    type_name = "price_feed.config"


class PriceFeedConfig(Message):
    """C-60 ``config{}`` of the simple feed."""

    type_name = "price_feed.config_response"
    owner: str
    native_per_foreign: Decimal18


class TradingPair(Message):
    """The pool and assets of a remote TWAP feed (C-63)."""

    type_name = "remote_price_feed.trading_pair"
    pool_id: int
    base_asset: str
    quote_asset: str


class RemotePriceFeedInstantiate(Message):
    """C-63: the remote TWAP feed."""

    type_name = "remote_price_feed.instantiate"
    trading_pair: TradingPair
    epoch_in_secs: int
    price_info_ttl_in_secs: int


class RequestPrice(Message):
    """C-62 ``request{}``: permissionless, sends a query at once."""

    type_name = "remote_price_feed.request"


class PriceHostInstantiate(Message):
    """The simulated price host (C-65); the instantiator becomes its owner."""

    type_name = "price_host.instantiate"


class SetHostPrice(Message):
    """Price host (C-65): set the TWAP answered for ``pool_id`` (owner only)."""

    type_name = "price_host.set_price"
    pool_id: int
    twap: Decimal18


class SetHostFailure(Message):
    """Price host (C-65): how to answer from now on (owner only).

    ``mode``: ``"ok"`` (answer), ``"error_ack"`` (error acknowledgement), ``"bad_code"``
    (response code 1), ``"empty"`` (empty TWAP payload), ``"no_responses"`` (zero responses).
    """

    type_name = "price_host.set_failure"
    mode: str
