"""External staking's queries (§5.10, P-11, P-35, P-89). Read-only (P-4)."""

from __future__ import annotations

from typing import Any

from chains.contract._coin import Coin
from chains.contract._contract import Env
from chains.contract._errors import UnsupportedMessage
from chains.provider._lien_holder import MaxSlash, MaxSlashResponse
from chains.provider._pagination import page_limit
from chains.provider._pending_tx import PendingTxBook
from chains.provider.external_staking._crdt import ValidatorSet
from chains.provider.external_staking._errors import NoChannel
from chains.provider.external_staking._msgs import (
    AllPendingRewardsQuery,
    AllPendingRewardsResponse,
    AuthorizedEndpoint,
    AuthorizedEndpointQuery,
    ExternalAllPendingTxsDescQuery,
    ExternalConfigQuery,
    ExternalConfigResponse,
    ExternalPendingTxQuery,
    IbcChannelQuery,
    ListActiveValidatorsQuery,
    ListValidatorsQuery,
    PendingRewardsQuery,
    PendingUnbondInfo,
    StakeInfo,
    StakeQuery,
    StakesQuery,
    StakesResponse,
    ValidatorPendingReward,
    ValidatorsResponse,
    ValidatorStateInfo,
)
from chains.provider.external_staking._state import ExternalState
from mesh_actors import Message

__all__ = ["ExternalQueries"]


class ExternalQueries:
    """Answers external staking's queries from its state."""

    __slots__ = ("state", "txs", "valset")

    def __init__(self, state: ExternalState, valset: ValidatorSet, txs: PendingTxBook) -> None:
        self.state = state
        self.valset = valset
        self.txs = txs

    def answer(self, env: Env, msg: Message) -> Any:
        """The queries of §5.10 and P-89; raises ``UnsupportedMessage`` for others."""
        config = self.state.config()
        match msg:
            case ExternalConfigQuery():
                return ExternalConfigResponse(
                    denom=config.denom,
                    rewards_denom=config.rewards_denom,
                    vault=config.vault,
                    unbonding_period=config.unbonding_period,
                )
            case AuthorizedEndpointQuery():
                return AuthorizedEndpoint(
                    connection_id=config.connection_id, port_id=config.port_id
                )
            case IbcChannelQuery():
                record = self.state.channel()
                if record is None:
                    raise NoChannel()
                return record.channel
            case MaxSlash():
                return MaxSlashResponse(
                    slash_ratio_dsign=config.slash_ratio_dsign,
                    slash_ratio_offline=config.slash_ratio_offline,
                )
            case StakeQuery():
                return self._stake_info(msg.user, msg.validator)
            case StakesQuery():
                validators = [
                    v
                    for v in self.state.validators_of(msg.user)
                    if msg.start_after is None or v > msg.start_after
                ]
                return StakesResponse(
                    stakes=tuple(
                        self._stake_info(msg.user, v) for v in validators[: page_limit(msg.limit)]
                    )
                )
            case ExternalPendingTxQuery():
                return self.txs.load(msg.tx_id)
            case ExternalAllPendingTxsDescQuery():
                return tuple(self.txs.desc(msg.start_after, msg.limit))
            case PendingRewardsQuery():
                stake = self.state.stake(msg.user, msg.validator)
                amount = self.state.pending_reward(msg.validator, stake)
                return Coin(denom=config.rewards_denom, amount=amount)
            case AllPendingRewardsQuery():
                validators = [
                    v
                    for v in self.state.validators_of(msg.user)
                    if msg.start_after is None or v > msg.start_after
                ]
                return AllPendingRewardsResponse(
                    rewards=tuple(
                        ValidatorPendingReward(
                            validator=v,
                            rewards=Coin(
                                denom=config.rewards_denom,
                                amount=self.state.pending_reward(v, self.state.stake(msg.user, v)),
                            ),
                        )
                        for v in validators[: page_limit(msg.limit)]
                    )
                )
            case ListValidatorsQuery() | ListActiveValidatorsQuery():
                active_only = isinstance(msg, ListActiveValidatorsQuery)
                listed = self.valset.list(msg.start_after, msg.limit, active_only=active_only)
                return ValidatorsResponse(
                    validators=tuple(
                        ValidatorStateInfo(validator=v, state=s.value) for v, s in listed
                    )
                )
        raise UnsupportedMessage("query", type(msg).__name__)

    def _stake_info(self, user: str, validator: str) -> StakeInfo:
        stake = self.state.stake(user, validator)
        return StakeInfo(
            owner=user,
            validator=validator,
            stake=stake.stake,
            committed=stake.committed,
            pending_unbonds=tuple(
                PendingUnbondInfo(amount=u.amount, release_at=u.release_at)
                for u in stake.pending_unbonds
            ),
            points_alignment=stake.points_alignment,
            withdrawn_funds=stake.withdrawn_funds,
            withdrawing=stake.withdrawing,
        )
