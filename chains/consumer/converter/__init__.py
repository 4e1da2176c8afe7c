"""The converter contract (consumer.md §6): the consumer end of the control channel."""

from __future__ import annotations

from chains.consumer.converter._contract import (
    Converter,
    ConverterState,
    invert_amount,
    normalize_amount,
)
from chains.consumer.converter._errors import (
    DistributeRewardsInvalidAmount,
    IbcChannelCloseInitDisallowed,
    IbcOpenTryDisallowed,
    InvalidDiscount,
    InvalidPrice,
    InvalidReplyId,
)
from chains.consumer.converter._msgs import (
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
    ConverterInternalUnstake,
    ConverterValsetUpdate,
    DistributeReward,
    DistributeRewards,
    RewardPayment,
    SlashedValidator,
)

__all__ = [
    "Converter",
    "ConverterConfig",
    "ConverterConfigQuery",
    "ConverterInstantiate",
    "ConverterInternalUnstake",
    "ConverterState",
    "ConverterValsetUpdate",
    "DistributeReward",
    "DistributeRewards",
    "DistributeRewardsInvalidAmount",
    "IbcChannelCloseInitDisallowed",
    "IbcOpenTryDisallowed",
    "InvalidDiscount",
    "InvalidPrice",
    "InvalidReplyId",
    "RewardPayment",
    "SlashedValidator",
    "invert_amount",
    "normalize_amount",
]
