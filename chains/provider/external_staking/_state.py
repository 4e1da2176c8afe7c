"""External staking's state records and their storage (provider §5.1).

Per (user, validator) a ``Stake``; per validator a reward ``RewardDistribution``; the config, the
authorized endpoint and the channel record. ``committed`` is the stake's reward weight: the
figure each validator's ``total_stake`` sums, moved only at commit, slash, burn, internal
unstake and close (P-72), together with the reward alignment (``change_weight``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from chains.contract._contract import ContractStorage
from chains.contract._decimal import Decimal18
from chains.contract._ibc_types import IbcChannel
from chains.contract._store import SortedJournaledMap
from chains.provider._value_range import ValueRange
from chains.provider.external_staking._rewards import RewardDistribution, pending_reward

__all__ = [
    "ChannelRecord",
    "ExternalConfig",
    "ExternalState",
    "PendingUnbond",
    "Stake",
]


_ZERO = ValueRange(0, 0)


@dataclass(frozen=True, slots=True)
class ExternalConfig:
    """``config`` of §5.1 plus the optional admin allowed to close the channel (P-83a)."""

    denom: str
    rewards_denom: str
    vault: str
    unbonding_period: int
    slash_ratio_dsign: Decimal18
    slash_ratio_offline: Decimal18
    connection_id: str
    port_id: str
    admin: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """The stored control channel (I-30); kept, marked closed, after a close (I-102)."""

    channel: IbcChannel
    closed: bool = False


@dataclass(frozen=True, slots=True)
class PendingUnbond:
    amount: int
    release_at: int


@dataclass(frozen=True, slots=True)
class Stake:
    """One user's stake on one validator (§5.1; absent ⇒ zeros).

    ``withdrawing`` is the reward amount of in-flight ``transfer_rewards`` (P-76 [rec]).
    ``pending_unbonds`` is append-only and not sorted by ``release_at``.
    """

    stake: ValueRange = _ZERO
    committed: int = 0
    pending_unbonds: tuple[PendingUnbond, ...] = ()
    points_alignment: int = 0
    withdrawn_funds: int = 0
    withdrawing: int = 0


class ExternalState:
    """Typed access to external staking's storage containers."""

    __slots__ = (
        "_by_validator",
        "_channel",
        "_close_requested",
        "_config",
        "_distributions",
        "_stakes",
    )

    def __init__(self, storage: ContractStorage) -> None:
        self._config = storage.item("config")
        self._channel = storage.item("channel")
        self._close_requested = storage.item("close_requested")
        self._stakes: SortedJournaledMap[tuple[str, str], Stake] = storage.sorted_map("stakes")
        # reverse index (validator, user) for slashing (§5.1)
        self._by_validator: SortedJournaledMap[tuple[str, str], bool] = storage.sorted_map(
            "stakes_by_validator"
        )
        self._distributions = storage.map("distributions")

    # -- config and channel --

    def config(self) -> ExternalConfig:
        config: ExternalConfig = self._config.load()
        return config

    def save_config(self, config: ExternalConfig) -> None:
        self._config.save(config)

    def channel(self) -> ChannelRecord | None:
        record: ChannelRecord | None = self._channel.may_load()
        return record

    def save_channel(self, record: ChannelRecord) -> None:
        self._channel.save(record)

    def close_requested(self) -> bool:
        return bool(self._close_requested.may_load())

    def set_close_requested(self, value: bool) -> None:
        self._close_requested.save(value)

    # -- stakes --

    def stake(self, user: str, validator: str) -> Stake:
        return self._stakes.get((user, validator)) or Stake()

    def has_stake(self, user: str, validator: str) -> bool:
        return (user, validator) in self._stakes

    def save_stake(self, user: str, validator: str, stake: Stake) -> None:
        if (user, validator) not in self._stakes:
            self._by_validator[(validator, user)] = True
        self._stakes[(user, validator)] = stake

    def validators_of(self, user: str) -> list[str]:
        """The validators ``user`` has a Stake record with, ascending."""
        return [v for _, v in self._stakes.keys_between((user,), (user + "\x00",))]

    def users_of(self, validator: str) -> list[str]:
        """The users with a Stake record on ``validator``, ascending."""
        keys = self._by_validator.keys_between((validator,), (validator + "\x00",))
        return [u for _, u in keys]

    def all_stake_keys(self) -> list[tuple[str, str]]:
        """Every (user, validator), ascending by user then validator."""
        return list(self._stakes)

    # -- rewards --

    def distribution(self, validator: str) -> RewardDistribution:
        return self._distributions.get(validator) or RewardDistribution()

    def save_distribution(self, validator: str, distribution: RewardDistribution) -> None:
        self._distributions[validator] = distribution

    def distribute_each(self, rewards: Iterable[tuple[str, int]]) -> None:
        """P-73 for each ``(validator, amount)`` in order: `distribution`, then
        `save_distribution` of its ``distribute``, written out (one entry per bonded
        validator and epoch, C-95). Raises ``NoStake`` at the first validator without
        committed stake, the entries before it written (the caller's savepoint undoes
        them)."""
        distributions = self._distributions
        get = distributions.get
        for validator, amount in rewards:
            current = get(validator)
            if current is None:
                current = RewardDistribution()
            distributions[validator] = current.distribute(validator, amount)

    def change_weight(self, validator: str, stake: Stake, delta: int) -> Stake:
        """Move the stake's committed weight by ``delta`` (a decrease stops at 0), with the
        validator's ``total_stake`` and the reward alignment (P-65, P-68, P-78, P-80)."""
        actual = delta if delta >= 0 else -min(-delta, stake.committed)
        if actual == 0:
            return stake
        distribution = self.distribution(validator)
        self.save_distribution(validator, distribution.with_stake(actual))
        return replace(
            stake,
            committed=stake.committed + actual,
            points_alignment=stake.points_alignment - actual * distribution.points_per_stake,
        )

    def pending_reward(self, validator: str, stake: Stake) -> int:
        """The user's withdrawable reward on ``validator`` (P-74, P-76 [rec])."""
        return pending_reward(
            self.distribution(validator).points_per_stake,
            stake.committed,
            stake.points_alignment,
            stake.withdrawn_funds,
            stake.withdrawing,
        )
