"""Messages of the converter contract (consumer.md C-66..C-80).

Executes ``distribute_reward``, ``distribute_rewards``, ``valset_update`` and
``internal_unstake`` are accepted only from the converter's virtual staking contract (C-76).
"""

from __future__ import annotations

from chains.consumer.mesh_security._msgs import ValsetChanges
from chains.contract._coin import Coin
from chains.contract._decimal import Decimal18
from mesh_actors import Message

__all__ = [
    "ConverterConfig",
    "ConverterConfigQuery",
    "ConverterInstantiate",
    "ConverterInternalUnstake",
    "ConverterValsetUpdate",
    "DistributeReward",
    "DistributeRewards",
    "RewardPayment",
    "SlashedValidator",
]


class ConverterInstantiate(Message):
    """C-67. ``virtual_staking_code_id`` is the code name the chain registered the virtual
    staking contract under; ``discount`` must be below 1."""

    type_name = "converter.instantiate"
    price_feed: str
    discount: Decimal18
    remote_denom: str
    virtual_staking_code_id: str
    tombstoned_unbond_enable: bool = False
    admin: str | None = None
    max_retrieve: int = 100


class DistributeReward(Message):
    """C-77: rewards of one validator (attached as funds) for the provider."""

    type_name = "converter.distribute_reward"
    validator: str


class RewardPayment(Message):
    """One entry of `DistributeRewards` (C-78)."""

    type_name = "converter.reward_payment"
    validator: str
    reward: int


class DistributeRewards(Message):
    """C-78: a batch of per-validator rewards; their sum must equal the attached funds."""

    type_name = "converter.distribute_rewards"
    payments: tuple[RewardPayment, ...]


class SlashedValidator(Message):
    """A slash as the virtual staking contract forwards it (C-94 step 3): the contract's
    share as a consumer coin, to be inverted to provider tokens (C-79)."""

    type_name = "converter.slashed_validator"
    address: str
    infraction_height: int
    infraction_time: int
    power: int
    slash_amount: Coin
    slash_ratio: str


class ConverterValsetUpdate(ValsetChanges):
    """C-79: the validator-set report to forward to the provider: the lists of the module's
    report as they came (`ValsetChanges`), each slash as the contract's coin (C-94 step 3)."""

    type_name = "converter.valset_update"
    slashed: tuple[SlashedValidator, ...] = ()


class ConverterInternalUnstake(Message):
    """C-80: ask the provider to release a delegation (zero-max-cap drain, C-96)."""

    type_name = "converter.internal_unstake"
    delegator: str
    validator: str
    amount: Coin


class ConverterConfigQuery(Message):
    """``config{}`` → `ConverterConfig` (C-68)."""

    type_name = "converter.config"


class ConverterConfig(Message):
    """C-68 ``config{}``: ``adjustment = 1 - discount``."""

    type_name = "converter.config_response"
    adjustment: Decimal18
    price_feed: str
    virtual_staking: str | None
