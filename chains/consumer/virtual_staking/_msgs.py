"""Messages of the virtual staking contract (consumer.md C-86..C-102).

Executes come from the converter only (C-88..C-93); the sudo messages `HandleValsetUpdate`
and `HandleEpoch` are the mesh-security module's (``chains.consumer.mesh_security._msgs``).
"""

from __future__ import annotations

from chains.contract._coin import Coin
from mesh_actors import Message

__all__ = [
    "AllStakeResponse",
    "GetAllStake",
    "GetStake",
    "HandleCloseChannel",
    "InternalUnbond",
    "StakeResponse",
    "VirtualStakingBond",
    "VirtualStakingBurn",
    "VirtualStakingConfig",
    "VirtualStakingConfigQuery",
    "VirtualStakingInstantiate",
    "VirtualStakingUnbond",
]


class VirtualStakingInstantiate(Message):
    """C-87: instantiated by the converter (which becomes ``config.converter``)."""

    type_name = "virtual_staking.instantiate"
    max_retrieve: int
    tombstoned_unbond_enable: bool


class VirtualStakingBond(Message):
    """C-88: add ``amount`` to the validator's bond request."""

    type_name = "virtual_staking.bond"
    delegator: str
    validator: str
    amount: Coin


class VirtualStakingUnbond(Message):
    """C-89: subtract ``amount`` from the validator's bond request."""

    type_name = "virtual_staking.unbond"
    delegator: str
    validator: str
    amount: Coin


class VirtualStakingBurn(Message):
    """C-90: burn ``amount`` split over ``validators`` (slashing propagation)."""

    type_name = "virtual_staking.burn"
    validators: tuple[str, ...]
    amount: Coin


class InternalUnbond(Message):
    """C-92: undelegate now (the converter's follow-up to an ``internal_unstake`` ack)."""

    type_name = "virtual_staking.internal_unbond"
    delegator: str
    validator: str
    amount: Coin


class HandleCloseChannel(Message):
    """C-93: the control channel closed; unbond everything."""

    type_name = "virtual_staking.handle_close_channel"


class VirtualStakingConfigQuery(Message):
    """``config{}`` → `VirtualStakingConfig` (C-101)."""

    type_name = "virtual_staking.config"


class VirtualStakingConfig(Message):
    """C-101 ``config{}``."""

    type_name = "virtual_staking.config_response"
    denom: str
    converter: str


class GetStake(Message):
    """``get_stake{validator}`` → `StakeResponse` (C-101)."""

    type_name = "virtual_staking.get_stake"
    validator: str


class StakeResponse(Message):
    """C-101 ``get_stake`` answer: the stake the last epoch targeted (0 if absent)."""

    type_name = "virtual_staking.stake_response"
    stake: int


class GetAllStake(Message):
    """``get_all_stake{}`` → `AllStakeResponse` (C-101)."""

    type_name = "virtual_staking.get_all_stake"


class AllStakeResponse(Message):
    """C-101 ``get_all_stake`` answer: ``bonded`` including zero entries, ascending."""

    type_name = "virtual_staking.all_stake_response"
    stakes: tuple[tuple[str, int], ...]
