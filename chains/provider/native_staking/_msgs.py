"""Messages of the native staking contract (P-43..P-51).

It also accepts the vault's ``LocalStakingApi`` (``ReceiveStake``, ``BurnStake``) and the
``MaxSlash`` query from ``_lien_holder_api``.
"""

from __future__ import annotations

from chains.contract._decimal import Decimal18
from mesh_actors import Message

__all__ = [
    "JailedValidator",
    "Jailing",
    "NativeStakingConfigQuery",
    "NativeStakingConfigResponse",
    "NativeStakingInstantiate",
    "OwnerByProxyQuery",
    "OwnerByProxyResponse",
    "ProxyByOwnerQuery",
    "ProxyByOwnerResponse",
    "RecordDelegation",
    "ReleaseProxyStake",
]


class NativeStakingInstantiate(Message):
    """P-43: the creator (the vault) becomes ``vault``; ratios above 1 are refused."""

    type_name = "native_staking.instantiate"
    denom: str
    proxy_code: str
    slash_ratio_dsign: Decimal18
    slash_ratio_offline: Decimal18


class ReleaseProxyStake(Message):
    """Proxy → native staking with unbonded tokens attached (P-45)."""

    type_name = "native_staking.release_proxy_stake"


class RecordDelegation(Message):
    """Proxy → native staking after a restake: index the owner under ``validator`` so its
    slashing reaches the vault (P-50 [rec])."""

    type_name = "native_staking.record_delegation"
    validator: str


class JailedValidator(Message):
    """A provider validator in a ``jailing`` call, with its infraction height (P-51 [rec]).

    With ``infraction_height = 0`` every unbonding entry that is not yet mature counts.
    """

    type_name = "native_staking.jailed_validator"
    validator: str
    infraction_height: int = 0


class Jailing(Message):
    """Sudo from the chain when provider validators are jailed or tombstoned (P-48)."""

    type_name = "native_staking.jailing"
    jailed: tuple[JailedValidator, ...] = ()
    tombstoned: tuple[JailedValidator, ...] = ()


class NativeStakingConfigQuery(Message):
    type_name = "native_staking.query.config"


class NativeStakingConfigResponse(Message):
    type_name = "native_staking.config"
    denom: str
    proxy_code: str
    vault: str
    slash_ratio_dsign: Decimal18
    slash_ratio_offline: Decimal18


class ProxyByOwnerQuery(Message):
    """P-49: unknown owner ⇒ ``NotFound``."""

    type_name = "native_staking.query.proxy_by_owner"
    owner: str


class ProxyByOwnerResponse(Message):
    type_name = "native_staking.proxy_by_owner"
    proxy: str


class OwnerByProxyQuery(Message):
    type_name = "native_staking.query.owner_by_proxy"
    proxy: str


class OwnerByProxyResponse(Message):
    type_name = "native_staking.owner_by_proxy"
    owner: str
