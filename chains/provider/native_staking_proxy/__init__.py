"""The per-user native staking proxy (provider.md §4.4, §4.5)."""

from __future__ import annotations

from chains.provider.native_staking_proxy._contract import (
    NativeStakingProxy,
    set_withdraw_address_msg,
)
from chains.provider.native_staking_proxy._errors import (
    NotEnoughDelegation,
)
from chains.provider.native_staking_proxy._msgs import (
    ProcessUnbondingQueue,
    ProxyBurn,
    ProxyConfigQuery,
    ProxyConfigResponse,
    ProxyInstantiate,
    ProxyReleaseUnbonded,
    ProxyRestake,
    ProxyStake,
    ProxyUnstake,
    ProxyVote,
    ProxyVoteWeighted,
    ProxyWithdrawRewards,
    QueuedUnbond,
    QueuedUnbondsQuery,
    QueuedUnbondsResponse,
)

__all__ = [
    "NativeStakingProxy",
    "NotEnoughDelegation",
    "ProcessUnbondingQueue",
    "ProxyBurn",
    "ProxyConfigQuery",
    "ProxyConfigResponse",
    "ProxyInstantiate",
    "ProxyReleaseUnbonded",
    "ProxyRestake",
    "ProxyStake",
    "ProxyUnstake",
    "ProxyVote",
    "ProxyVoteWeighted",
    "ProxyWithdrawRewards",
    "QueuedUnbond",
    "QueuedUnbondsQuery",
    "QueuedUnbondsResponse",
    "set_withdraw_address_msg",
]
