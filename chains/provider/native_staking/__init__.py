"""The native staking contract (provider.md §4.2, §4.3): the vault's local lien holder."""

from __future__ import annotations

from chains.provider.native_staking._contract import (
    NativeStaking,
)
from chains.provider.native_staking._errors import (
    NoProxy,
)
from chains.provider.native_staking._msgs import (
    JailedValidator,
    Jailing,
    NativeStakingConfigQuery,
    NativeStakingConfigResponse,
    NativeStakingInstantiate,
    OwnerByProxyQuery,
    OwnerByProxyResponse,
    ProxyByOwnerQuery,
    ProxyByOwnerResponse,
    RecordDelegation,
    ReleaseProxyStake,
)

__all__ = [
    "JailedValidator",
    "Jailing",
    "NativeStaking",
    "NativeStakingConfigQuery",
    "NativeStakingConfigResponse",
    "NativeStakingInstantiate",
    "NoProxy",
    "OwnerByProxyQuery",
    "OwnerByProxyResponse",
    "ProxyByOwnerQuery",
    "ProxyByOwnerResponse",
    "RecordDelegation",
    "ReleaseProxyStake",
]
