"""Messages of the external staking contract (provider §5) and its query answers.

It also accepts the vault's ``CrossStakingApi`` (``ReceiveVirtualStake``,
``BurnVirtualStake``) and the ``MaxSlash`` query from ``_lien_holder_api``.
"""

from __future__ import annotations

from chains.contract._coin import Coin
from chains.contract._decimal import Decimal18
from chains.provider._value_range import ValueRange
from mesh_actors import Message

__all__ = [
    "AllPendingRewardsQuery",
    "AllPendingRewardsResponse",
    "AuthorizedEndpoint",
    "AuthorizedEndpointQuery",
    "CloseControlChannel",
    "ExternalAllPendingTxsDescQuery",
    "ExternalConfigQuery",
    "ExternalConfigResponse",
    "ExternalPendingTxQuery",
    "ExternalStakingInstantiate",
    "ExternalUnstake",
    "ExternalWithdrawRewards",
    "IbcChannelQuery",
    "ListActiveValidatorsQuery",
    "ListValidatorsQuery",
    "PendingRewardsQuery",
    "PendingUnbondInfo",
    "SlashRatios",
    "StakeInfo",
    "StakeQuery",
    "StakesQuery",
    "StakesResponse",
    "ValidatorPendingReward",
    "ValidatorStateInfo",
    "ValidatorsResponse",
    "WithdrawUnbonded",
]


class AuthorizedEndpoint(Message):
    """The only counterparty allowed: the provider-local connection and the converter's
    port (P-82, I-44). Both must be non-empty (``InvalidEndpoint``)."""

    type_name = "external_staking.authorized_endpoint"
    connection_id: str
    port_id: str


class SlashRatios(Message):
    """Worst-case ratios; each at most 1 (``InvalidSlashRatio``) (§5.1)."""

    type_name = "external_staking.slash_ratios"
    double_sign: Decimal18
    offline: Decimal18


class ExternalStakingInstantiate(Message):
    """§5.1, I-49 step 3; ``admin`` may request a channel close (P-83a [rec])."""

    type_name = "external_staking.instantiate"
    denom: str
    rewards_denom: str
    vault: str
    unbonding_period: int
    remote_contact: AuthorizedEndpoint
    slash_ratio: SlashRatios
    admin: str | None = None


class ExternalUnstake(Message):
    """P-67: by the staker; non-payable."""

    type_name = "external_staking.unstake"
    validator: str
    amount: Coin


class WithdrawUnbonded(Message):
    """P-70: release every due pending unbond of the caller to the vault."""

    type_name = "external_staking.withdraw_unbonded"


class ExternalWithdrawRewards(Message):
    """P-75: send the caller's rewards on ``validator`` to a consumer-chain address."""

    type_name = "external_staking.withdraw_rewards"
    validator: str
    remote_recipient: str


class CloseControlChannel(Message):
    """P-83a [rec]: the admin (execute) or governance (sudo) asks to close the channel."""

    type_name = "external_staking.close_channel"


# -- queries (§5.10) --------------------------------------------------------------------------


class ExternalConfigQuery(Message):
    type_name = "external_staking.query.config"


class ExternalConfigResponse(Message):
    type_name = "external_staking.config"
    denom: str
    rewards_denom: str
    vault: str
    unbonding_period: int


class AuthorizedEndpointQuery(Message):
    type_name = "external_staking.query.authorized_endpoint"


class IbcChannelQuery(Message):
    """The stored channel (an ``IbcChannel``), or ``NoChannel``."""

    type_name = "external_staking.query.ibc_channel"


class StakeQuery(Message):
    type_name = "external_staking.query.stake"
    user: str
    validator: str


class PendingUnbondInfo(Message):
    type_name = "external_staking.pending_unbond"
    amount: int
    release_at: int


class StakeInfo(Message):
    """A (user, validator) stake (zeros if absent)."""

    type_name = "external_staking.stake"
    owner: str
    validator: str
    stake: ValueRange
    committed: int
    pending_unbonds: tuple[PendingUnbondInfo, ...]
    points_alignment: int
    withdrawn_funds: int
    withdrawing: int


class StakesQuery(Message):
    """A user's stakes ascending by validator (P-35 page limits)."""

    type_name = "external_staking.query.stakes"
    user: str
    start_after: str | None = None
    limit: int | None = None


class StakesResponse(Message):
    type_name = "external_staking.stakes"
    stakes: tuple[StakeInfo, ...]


class ExternalPendingTxQuery(Message):
    type_name = "external_staking.query.pending_tx"
    tx_id: int


class ExternalAllPendingTxsDescQuery(Message):
    type_name = "external_staking.query.all_pending_txs_desc"
    start_after: int | None = None
    limit: int | None = None


class PendingRewardsQuery(Message):
    """The user's withdrawable rewards on one validator, as a coin of ``rewards_denom``."""

    type_name = "external_staking.query.pending_rewards"
    user: str
    validator: str


class AllPendingRewardsQuery(Message):
    type_name = "external_staking.query.all_pending_rewards"
    user: str
    start_after: str | None = None
    limit: int | None = None


class ValidatorPendingReward(Message):
    type_name = "external_staking.validator_pending_reward"
    validator: str
    rewards: Coin


class AllPendingRewardsResponse(Message):
    type_name = "external_staking.all_pending_rewards"
    rewards: tuple[ValidatorPendingReward, ...]


class ListValidatorsQuery(Message):
    """P-89: every known validator with its current state, ascending."""

    type_name = "external_staking.query.list_validators"
    start_after: str | None = None
    limit: int = 100


class ListActiveValidatorsQuery(Message):
    """P-89: the currently Active validators, ascending."""

    type_name = "external_staking.query.list_active_validators"
    start_after: str | None = None
    limit: int = 100


class ValidatorStateInfo(Message):
    type_name = "external_staking.validator_state"
    validator: str
    state: str


class ValidatorsResponse(Message):
    type_name = "external_staking.validators"
    validators: tuple[ValidatorStateInfo, ...]
