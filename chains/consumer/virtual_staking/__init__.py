"""The virtual staking contract (consumer.md §7)."""

from __future__ import annotations

from chains.consumer.virtual_staking._contract import (
    VirtualStaking,
    VirtualStakingState,
)
from chains.consumer.virtual_staking._errors import (
    InsufficientBond,
)
from chains.consumer.virtual_staking._msgs import (
    AllStakeResponse,
    GetAllStake,
    GetStake,
    HandleCloseChannel,
    InternalUnbond,
    StakeResponse,
    VirtualStakingBond,
    VirtualStakingBurn,
    VirtualStakingConfig,
    VirtualStakingConfigQuery,
    VirtualStakingInstantiate,
    VirtualStakingUnbond,
)

__all__ = [
    "AllStakeResponse",
    "GetAllStake",
    "GetStake",
    "HandleCloseChannel",
    "InsufficientBond",
    "InternalUnbond",
    "StakeResponse",
    "VirtualStaking",
    "VirtualStakingBond",
    "VirtualStakingBurn",
    "VirtualStakingConfig",
    "VirtualStakingConfigQuery",
    "VirtualStakingInstantiate",
    "VirtualStakingState",
    "VirtualStakingUnbond",
]
