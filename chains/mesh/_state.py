"""What a mesh looks like at one moment: the snapshot models and the reads that fill them.

A `MeshSnapshot` is plain data (JSON round-trips, so ``mesh run --save`` can write it and
``mesh inspect`` read it back): per chain its validators, supply, vault and virtual stake;
per pairing the price, cap, stake on both sides and rewards; per channel end the packets
sent, acknowledged, timed out, pending and received; per relayer its counters.

The ``read_*`` functions are synchronous reads of one chain's `TxExecutor`; the mesh runs
each inside that chain's host (`Chain.read`), so every figure of one chain comes from one
consistent state (figures of different chains are read one after the other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict

from chains.consumer.converter._msgs import ConverterConfig, ConverterConfigQuery
from chains.consumer.mesh_security._msgs import (
    AllDelegationsQuery,
    AllDelegationsResponse,
    BondStatusQuery,
    BondStatusResponse,
)
from chains.consumer.price_feeds._msgs import PriceQuery, PriceResponse
from chains.consumer.virtual_staking._msgs import AllStakeResponse, GetAllStake
from chains.host._executor import TxExecutor
from chains.ibc._module import IbcModule
from chains.ibc._state import ACKED, TIMED_OUT
from chains.provider.external_staking._msgs import (
    AllPendingRewardsQuery,
    AllPendingRewardsResponse,
    ExternalAllPendingTxsDescQuery,
    ListValidatorsQuery,
    StakeInfo,
    StakesQuery,
    StakesResponse,
    ValidatorsResponse,
    ValidatorStateInfo,
)
from chains.provider.vault._msgs import (
    VaultAccountDetailsQuery,
    VaultAccountDetailsResponse,
    VaultAllAccountsQuery,
    VaultAllAccountsResponse,
    VaultAllPendingTxsDescQuery,
)

# the read_* functions and side records serve `Mesh` only
__all__ = [
    "ChainView",
    "ChannelStats",
    "MeshSnapshot",
    "PairingView",
    "RelayerView",
    "UserStake",
    "ValidatorView",
    "VaultView",
]

T = TypeVar("T")
Q = TypeVar("Q")


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ValidatorView(_View):
    """A validator as its chain sees it."""

    name: str
    operator: str
    status: str
    jailed: bool
    tombstoned: bool
    tokens: int
    commission: str


class VaultView(_View):
    """A provider's vault: users, total collateral, and the largest lien per user summed
    (``max_lien``, what cross-staking can lose at worst is bounded by it)."""

    users: int
    collateral: int
    max_lien: int
    pending_txs: int


class ChainView(_View):
    """One chain."""

    id: str
    denom: str
    height: int
    time: int
    supply: int
    bonded: int
    validators: tuple[ValidatorView, ...]
    vault: VaultView | None = None


class UserStake(_View):
    """One user's cross-stake on one validator, both sides' figures.

    ``provider_low``/``provider_high`` are the provider's value range (equal when nothing is
    in flight, I-65); ``consumer`` is the consumer's per-delegator record in consumer tokens
    (C-48); ``rewards`` what the user may withdraw now (I-82).
    """

    user: str
    validator: str
    provider_low: int
    provider_high: int
    consumer: int
    rewards: int


class PairingView(_View):
    """One pairing: conversion, cap, stake on both sides, rewards, channel."""

    provider: str
    consumer: str
    price: str | None
    discount: str
    max_cap: int
    virtual_delegated: int
    virtual_requested: int
    cross_staked: int
    provider_pending_txs: int
    active_validators: int
    known_validators: int
    rewards_reserve: int
    rewards_withdrawable: int
    consumer_channel: str
    provider_channel: str
    channel_state: str
    stakes: tuple[UserStake, ...] = ()


class ChannelStats(_View):
    """One channel end's packet counters (I-29)."""

    chain: str
    channel_id: str
    port_id: str
    counterparty_channel_id: str
    state: str
    sent: int
    acked: int
    timed_out: int
    pending: int
    received: int


class RelayerView(_View):
    """One relayer's counters."""

    link: str
    index: int
    batches: int
    ok: int
    noop: int
    failed: int
    clears: int


class MeshSnapshot(_View):
    """The whole mesh at one moment (see the module docstring)."""

    name: str
    seed: int
    seconds: float
    chains: tuple[ChainView, ...]
    pairings: tuple[PairingView, ...]
    channels: tuple[ChannelStats, ...]
    relayers: tuple[RelayerView, ...] = ()
    invariants_checked: bool = False
    invariant_violations: tuple[str, ...] = ()

    @property
    def days(self) -> float:
        """Simulated days since the mesh started."""
        return self.seconds / 86_400


def query_all_pages(
    fetch: Callable[[str | int | None], Q],
    items: Callable[[Q], tuple[T, ...]],
    key: Callable[[T], Any],
) -> Iterator[T]:
    """Every item of a paginated query: ``fetch(start_after)`` until a page is empty."""
    start: Any = None
    while True:
        page = items(fetch(start))
        if not page:
            return
        yield from page
        start = key(page[-1])


def read_validators(ex: TxExecutor, names: dict[str, str]) -> tuple[ValidatorView, ...]:
    """Every validator of the chain; ``names`` maps operator address → topology name."""
    staking = ex.staking
    out = []
    for v in staking.validators():
        out.append(
            ValidatorView(
                name=names.get(v.operator, v.operator),
                operator=v.operator,
                status=str(v.status),
                jailed=v.jailed,
                tombstoned=staking.signing_info(v.operator).tombstoned,
                tokens=v.tokens,
                commission=str(v.commission_rate),
            )
        )
    return tuple(out)


def _vault_users(ex: TxExecutor, vault: str) -> Iterator[str]:
    def fetch(start: Any) -> VaultAllAccountsResponse:
        answer: VaultAllAccountsResponse = ex.query_contract(
            vault, VaultAllAccountsQuery(start_after=start, limit=30)
        )
        return answer

    for item in query_all_pages(fetch, lambda r: r.accounts, lambda i: i.user):
        yield item.user


def read_vault(ex: TxExecutor, vault: str) -> VaultView:
    """A vault's totals."""
    users = 0
    collateral = 0
    max_lien = 0
    for user in _vault_users(ex, vault):
        details: VaultAccountDetailsResponse = ex.query_contract(
            vault, VaultAccountDetailsQuery(account=user)
        )
        users += 1
        collateral += details.bonded
        max_lien += details.max_lien.high
    pending = len(ex.query_contract(vault, VaultAllPendingTxsDescQuery(limit=30)))
    return VaultView(users=users, collateral=collateral, max_lien=max_lien, pending_txs=pending)


def _user_stakes(ex: TxExecutor, ext: str, user: str) -> Iterator[StakeInfo]:
    def fetch(start: Any) -> StakesResponse:
        answer: StakesResponse = ex.query_contract(
            ext, StakesQuery(user=user, start_after=start, limit=30)
        )
        return answer

    yield from query_all_pages(fetch, lambda r: r.stakes, lambda s: s.validator)


def _user_rewards(ex: TxExecutor, ext: str, user: str) -> dict[str, int]:
    def fetch(start: Any) -> AllPendingRewardsResponse:
        answer: AllPendingRewardsResponse = ex.query_contract(
            ext, AllPendingRewardsQuery(user=user, start_after=start, limit=30)
        )
        return answer

    return {
        r.validator: r.rewards.amount
        for r in query_all_pages(fetch, lambda r: r.rewards, lambda r: r.validator)
    }


class ProviderSide(NamedTuple):
    """External staking's figures for one pairing: ``stakes`` maps (user, validator) to
    ``(low, high, withdrawable rewards)``; ``validators`` the provider's view (I-72)."""

    stakes: dict[tuple[str, str], tuple[int, int, int]]
    validators: dict[str, str]
    pending_txs: int


class ConsumerSide(NamedTuple):
    """The consumer's figures for one pairing (see `read_consumer_side`)."""

    price: str | None
    adjustment: str
    cap: int
    delegated: int
    requested: dict[str, int]
    records: dict[tuple[str, str], int]
    reserve: int


def read_provider_side(ex: TxExecutor, vault: str, ext: str) -> ProviderSide:
    """External staking's figures: per (user, validator) stake ranges and rewards, the
    provider's validator view (I-72), pending txs."""
    stakes: dict[tuple[str, str], tuple[int, int, int]] = {}
    for user in _vault_users(ex, vault):
        rewards = _user_rewards(ex, ext, user)
        for info in _user_stakes(ex, ext, user):
            stakes[(user, info.validator)] = (
                info.stake.low,
                info.stake.high,
                rewards.get(info.validator, 0),
            )

    def fetch_validators(start: Any) -> ValidatorsResponse:
        answer: ValidatorsResponse = ex.query_contract(
            ext, ListValidatorsQuery(start_after=start, limit=100)
        )
        return answer

    validators: list[ValidatorStateInfo] = list(
        query_all_pages(fetch_validators, lambda r: r.validators, lambda v: v.validator)
    )
    pending = ex.query_contract(ext, ExternalAllPendingTxsDescQuery(limit=30))
    return ProviderSide(
        stakes=stakes,
        validators={v.validator: v.state for v in validators},
        pending_txs=len(pending),
    )


def read_consumer_side(ex: TxExecutor, feed: str, converter: str, vs: str) -> ConsumerSide:
    """The consumer's figures: price, cap and live virtual delegation (C-45), the virtual
    staking contract's bonded requests at its last epoch (C-101), per-delegator records
    (C-48), the converter's reward reserve (I-84)."""
    try:
        price: PriceResponse | None = ex.query_contract(feed, PriceQuery())
    except Exception:  # a remote feed without a fresh price answers an error
        price = None
    status: BondStatusResponse = ex.query_module("virtual_stake", BondStatusQuery(contract=vs))
    requested: AllStakeResponse = ex.query_contract(vs, GetAllStake())
    records: AllDelegationsResponse = ex.query_module(
        "virtual_stake", AllDelegationsQuery(contract=vs, max_retrieve=1_000_000)
    )
    config: ConverterConfig = ex.query_contract(converter, ConverterConfigQuery())
    return ConsumerSide(
        price=None if price is None else str(price.native_per_foreign),
        adjustment=str(config.adjustment),
        cap=status.cap.amount,
        delegated=status.delegated.amount,
        requested=dict(requested.stakes),
        records={(r.delegator, r.validator): r.amount for r in records.delegations},
        reserve=ex.bank.balance(converter, ex.config.bond_denom),
    )


def read_channels(ex: TxExecutor) -> tuple[ChannelStats, ...]:
    """Every channel end of the chain with its packet counters."""
    module = ex.module_object("ibc")
    assert isinstance(module, IbcModule)
    state = module.state
    acked: dict[str, int] = {}
    timed_out: dict[str, int] = {}
    for (channel_id, _), outcome in state.outcomes.items():
        if outcome == ACKED:
            acked[channel_id] = acked.get(channel_id, 0) + 1
        elif outcome == TIMED_OUT:
            timed_out[channel_id] = timed_out.get(channel_id, 0) + 1
    received: dict[str, int] = {}
    for channel_id, _ in state.receipts:
        received[channel_id] = received.get(channel_id, 0) + 1
    out = []
    for end in module.channel_ends():
        cid = end.channel_id
        out.append(
            ChannelStats(
                chain=ex.chain_id,
                channel_id=cid,
                port_id=end.port_id,
                counterparty_channel_id=end.counterparty_channel_id,
                state=str(end.state.value),
                sent=module.next_sequence_send(cid) - 1,
                acked=acked.get(cid, 0),
                timed_out=timed_out.get(cid, 0),
                pending=len(module.pending_sequences(cid)),
                received=received.get(cid, 0),
            )
        )
    return tuple(out)
