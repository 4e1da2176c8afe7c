"""The native staking module core: validators, delegations, unbonding (consumer.md §3).

Implements C-14..C-23, C-27, C-28 and the jail/unjail primitives of C-29. Rewards live
in ``_distribution.py``, liveness, evidence and the capture points in ``_slashing.py``, and
``_staking_module.py`` ties the three to the block lifecycle (C-10).

Simplifications, deliberate:

- **Redelegation (C-22)** follows the SDK (v0.47 rules): entries with a completion time per
  (delegator, src, dst), at most ``max_entries`` of them (P-61), none at all when the source
  is ``Unbonded`` (the move completes at once), no redelegation *from* a validator the
  delegator has an immature redelegation *into* (``TransitiveRedelegation``), and a slash of
  the source validator (C-28 step 2) unbonds and burns ``fraction x shares_dst`` from the
  destination delegation of every entry created at or after the infraction height. (SDK
  v0.50's extra step, slashing an unbonding from the destination first, is not applied.)
- All validator tokens sit in one bonded-pool module account whatever the validator's
  status, and unbonding entries in the not-bonded pool; the SDK moves tokens between the two
  pools on status changes, which changes no balance anyone can observe here.
- Unbonded validators are never deleted, and unbonding entries with equal creation height
  and completion time are not merged.

Performance: the active set is recomputed in end-block only when a validator's power or jail
status changed (a sorted power index makes that O(max_validators)); unbonding entries and
validator unbondings mature from time-ordered queues, so an idle block costs O(1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from chains.contract._address import (
    consensus_prefix,
    convert_prefix,
    derive_address,
    operator_prefix,
    validate_address,
)
from chains.contract._decimal import SdkDec
from chains.contract._errors import DivideByZero, InvalidAmount, InvalidFraction, Overflow
from chains.contract._store import JournaledMap, SortedJournaledMap, Store, atomic
from chains.modules._bank import Bank, check_amount
from chains.modules._errors import (
    AlreadyJailed,
    InvalidBlock,
    InvalidCommission,
    InvalidExchangeRate,
    InvalidInfractionHeight,
    InvalidPower,
    InvalidSharesAmount,
    NoDelegation,
    NotJailed,
    PubkeyExists,
    SelfDelegationTooLow,
    SelfRedelegation,
    TinyRedelegationAmount,
    TooManyRedelegationEntries,
    TooManyUnbondingEntries,
    TransitiveRedelegation,
    ValidatorExists,
    ValidatorNotFound,
)
from chains.modules._hooks import DelegationHooks, StakingHooks
from chains.modules._params import StakingParams
from chains.modules._shares import shares_from_tokens, token_value

__all__ = [
    "ActiveSet",
    "BondStatus",
    "Delegation",
    "RedelegationEntry",
    "Staking",
    "UnbondingEntry",
    "Validator",
]

_UINT128 = 2**128


class BondStatus(enum.StrEnum):
    """A validator's bonding status (C-14, C-16)."""

    UNBONDED = "Unbonded"
    UNBONDING = "Unbonding"
    BONDED = "Bonded"


class Validator(BaseModel):
    """The validator record of C-14 (``consensus_address`` is derived from the pubkey)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operator: str
    consensus_pubkey: str
    consensus_address: str
    tokens: int
    delegator_shares: SdkDec
    status: BondStatus = BondStatus.UNBONDED
    jailed: bool = False
    commission_rate: SdkDec
    max_rate: SdkDec
    max_change_rate: SdkDec
    min_self_delegation: int = 0
    unbonding_height: int = 0
    unbonding_completion_time: int = 0

    def power(self, power_reduction: int) -> int:
        """Consensus power: ``tokens // power_reduction`` (C-15)."""
        return self.tokens // power_reduction


class Delegation(BaseModel):
    """A delegation ``(delegator, validator) -> shares`` (C-17)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    delegator: str
    validator: str
    shares: SdkDec


class UnbondingEntry(BaseModel):
    """One unbonding entry of a (delegator, validator) pair (C-20).

    ``balance`` starts at ``initial_balance`` and only decreases, through slashing (C-28).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: int
    creation_height: int
    completion_time: int
    initial_balance: int
    balance: int


class RedelegationEntry(BaseModel):
    """One redelegation entry of a (delegator, src, dst) triple (C-22, SDK x/staking).

    ``initial_balance`` is the tokens moved; ``shares_dst`` the shares they bought at the
    destination (a slash of the source unbonds ``fraction x shares_dst`` there).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: int
    creation_height: int
    completion_time: int
    initial_balance: int
    shares_dst: SdkDec


@dataclass(frozen=True, eq=False)
class ActiveSet:
    """The active validator set with the powers it was computed with (C-15).

    ``members`` is ordered by power descending, then operator ascending. Immutable once
    built (the private power table is never changed), so it can be stored and shared.
    """

    members: tuple[tuple[str, int], ...] = ()
    _power: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._power.update(self.members)

    @property
    def total_power(self) -> int:
        """The sum of the members' powers."""
        return sum(p for _, p in self.members)

    def power_of(self, operator: str) -> int:
        """The power ``operator`` has in this set (0 if not a member)."""
        return self._power.get(operator, 0)

    def operators(self) -> tuple[str, ...]:
        """The members' operator addresses, in set order."""
        return tuple(op for op, _ in self.members)

    def __contains__(self, operator: object) -> bool:
        return operator in self._power

    def __len__(self) -> int:
        return len(self.members)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActiveSet):
            return NotImplemented
        return self.members == other.members

    def __hash__(self) -> int:
        return hash(self.members)


def _check_fraction(fraction: SdkDec) -> None:
    if fraction.is_negative() or fraction > SdkDec.one():
        raise InvalidFraction(str(fraction))


class Staking:
    """The x/staking core of one chain; all state in ``store``, tokens through ``bank``.

    Operator addresses use ``account_prefix + "valoper"``; the operator's self-delegation
    comes from the account with the same payload and ``account_prefix``. Every mutating
    method is atomic: on error it raises and the store is as before the call.
    """

    def __init__(
        self, store: Store, bank: Bank, params: StakingParams, *, account_prefix: str
    ) -> None:
        self._store = store
        self._bank = bank
        self._params = params
        self.account_prefix = account_prefix
        self.operator_prefix = operator_prefix(account_prefix)
        self.consensus_prefix = consensus_prefix(account_prefix)
        self.bonded_pool = derive_address(account_prefix, "module/bonded_tokens_pool")
        self.not_bonded_pool = derive_address(account_prefix, "module/not_bonded_tokens_pool")
        self._hooks: list[StakingHooks] = []
        self._delegation_hooks: list[DelegationHooks] = []
        # derived from addresses alone (not state), so caching is safe across rollbacks
        self._account_cache: dict[str, str] = {}

        # one (height, time_s) value: a single write per block
        self._block: JournaledMap[str, tuple[int, int]] = JournaledMap(store, "staking/block")
        self._counters: JournaledMap[str, int] = JournaledMap(store, "staking/counters")
        self._validators: JournaledMap[str, Validator] = JournaledMap(store, "staking/validators")
        self._by_consensus: JournaledMap[str, str] = JournaledMap(store, "staking/by_consensus")
        # (-power, operator) of every non-jailed validator with power > 0
        self._power_index: SortedJournaledMap[tuple[int, str], bool] = SortedJournaledMap(
            store, "staking/power_index"
        )
        self._active: JournaledMap[str, ActiveSet] = JournaledMap(store, "staking/active_set")
        self._delegations: SortedJournaledMap[tuple[str, str], Delegation] = SortedJournaledMap(
            store, "staking/delegations"
        )
        self._delegations_by_validator: SortedJournaledMap[tuple[str, str], bool] = (
            SortedJournaledMap(store, "staking/delegations_by_validator")
        )
        self._unbonding: JournaledMap[tuple[str, str], tuple[UnbondingEntry, ...]] = JournaledMap(
            store, "staking/unbonding"
        )
        self._unbonding_by_validator: SortedJournaledMap[tuple[str, str], bool] = (
            SortedJournaledMap(store, "staking/unbonding_by_validator")
        )
        # (completion_time, entry_id) -> (delegator, validator)
        self._unbonding_queue: SortedJournaledMap[tuple[int, int], tuple[str, str]] = (
            SortedJournaledMap(store, "staking/unbonding_queue")
        )
        # (completion_time, operator)
        self._validator_queue: SortedJournaledMap[tuple[int, str], bool] = SortedJournaledMap(
            store, "staking/validator_queue"
        )
        # redelegations (C-22): (delegator, src, dst) -> entries, oldest first
        self._redelegations: JournaledMap[tuple[str, str, str], tuple[RedelegationEntry, ...]] = (
            JournaledMap(store, "staking/redelegations")
        )
        # (src, delegator, dst) for slashing the source; (delegator, dst, src) for the
        # transitive-redelegation check
        self._red_by_src: SortedJournaledMap[tuple[str, str, str], bool] = SortedJournaledMap(
            store, "staking/redelegations_by_src"
        )
        self._red_by_dst: SortedJournaledMap[tuple[str, str, str], bool] = SortedJournaledMap(
            store, "staking/redelegations_by_dst"
        )
        # (completion_time, entry_id) -> (delegator, src, dst)
        self._redelegation_queue: SortedJournaledMap[tuple[int, int], tuple[str, str, str]] = (
            SortedJournaledMap(store, "staking/redelegation_queue")
        )

    # -- wiring --

    @property
    def store(self) -> Store:
        """The store holding the module's state."""
        return self._store

    @property
    def bank(self) -> Bank:
        """The bank the module moves tokens through."""
        return self._bank

    @property
    def params(self) -> StakingParams:
        """The module parameters (C-13)."""
        return self._params

    @property
    def hooks(self) -> tuple[StakingHooks, ...]:
        """The registered hooks, in registration order."""
        return tuple(self._hooks)

    def add_hooks(self, hooks: StakingHooks) -> None:
        """Register a ``StakingHooks`` observer (called after those registered earlier)."""
        self._hooks.append(hooks)

    def add_delegation_hooks(self, hooks: DelegationHooks) -> None:
        """Register a delegation observer (distribution uses this to settle rewards)."""
        self._delegation_hooks.append(hooks)

    # -- block --

    @property
    def height(self) -> int:
        """The current block height (0 before the first block)."""
        return self._block.get("now", (0, 0))[0]

    @property
    def time_s(self) -> int:
        """The current block time in UNIX seconds (0 before the first block)."""
        return self._block.get("now", (0, 0))[1]

    def set_block(self, height: int, time_s: int) -> None:
        """Start block ``height`` at ``time_s``.

        Raises ``InvalidBlock`` unless both strictly increase (the first call may set any
        non-negative values).
        """
        if height < 0 or time_s < 0:
            raise InvalidBlock("height and time must be non-negative")
        previous = self._block.get("now")
        if previous is not None:
            if height <= previous[0]:
                raise InvalidBlock(f"height {height} after {previous[0]}")
            if time_s <= previous[1]:
                raise InvalidBlock(f"time {time_s} not after {previous[1]}")
        self._block["now"] = (height, time_s)

    # -- addresses --

    def account_of(self, operator: str) -> str:
        """The account address behind an operator address. Raises ``InvalidAddress``."""
        account = self._account_cache.get(operator)
        if account is None:
            account = convert_prefix(operator, self.operator_prefix, self.account_prefix)
            self._account_cache[operator] = account
        return account

    def operator_of(self, account: str) -> str:
        """The operator address for an account address. Raises ``InvalidAddress``."""
        return convert_prefix(account, self.account_prefix, self.operator_prefix)

    def consensus_address_of(self, pubkey: str) -> str:
        """The consensus address derived from a consensus public key."""
        return derive_address(self.consensus_prefix, pubkey)

    # -- queries --

    def validator(self, operator: str) -> Validator | None:
        """The validator record, or ``None``."""
        return self._validators.get(operator)

    def get_validator(self, operator: str) -> Validator:
        """The validator record. Raises ``ValidatorNotFound``."""
        validator = self._validators.get(operator)
        if validator is None:
            raise ValidatorNotFound(operator)
        return validator

    def validators(self) -> tuple[Validator, ...]:
        """Every validator, sorted by operator address."""
        return tuple(self._validators[op] for op in sorted(self._validators))

    def validator_by_consensus_address(self, consensus_address: str) -> str | None:
        """The operator address for a consensus address, or ``None``."""
        return self._by_consensus.get(consensus_address)

    def active_set(self) -> ActiveSet:
        """The active set as of the last staking end-block (C-15)."""
        return self._active.get("set") or ActiveSet()

    def bonded_validators(self) -> tuple[Validator, ...]:
        """The validators of the active set, by power descending (C-11 "all validators")."""
        return tuple(self._validators[op] for op, _ in self.active_set().members)

    def last_power(self, operator: str) -> int:
        """The power of ``operator`` in the active set (0 when not a member)."""
        return self.active_set().power_of(operator)

    def delegation(self, delegator: str, validator: str) -> Delegation | None:
        """The delegation record, or ``None``."""
        return self._delegations.get((delegator, validator))

    def delegations_of(self, delegator: str) -> tuple[Delegation, ...]:
        """Every delegation of ``delegator``, sorted by validator."""
        keys = self._delegations.keys_between((delegator,), (delegator + "\x00",))
        return tuple(self._delegations[k] for k in keys)

    def delegations_to(self, validator: str) -> tuple[Delegation, ...]:
        """Every delegation to ``validator``, sorted by delegator."""
        keys = self._delegations_by_validator.keys_between((validator,), (validator + "\x00",))
        return tuple(self._delegations[(d, v)] for v, d in keys)

    def delegation_value(self, delegator: str, validator: str) -> int:
        """Token value of a delegation, truncated (C-18); 0 if there is none."""
        delegation = self._delegations.get((delegator, validator))
        record = self._validators.get(validator)
        if delegation is None or record is None:
            return 0
        return token_value(delegation.shares, record.tokens, record.delegator_shares)

    def self_delegation(self, operator: str) -> int:
        """Token value of the operator's own delegation. Raises ``ValidatorNotFound``."""
        self.get_validator(operator)
        return self.delegation_value(self.account_of(operator), operator)

    def unbonding_entries(self, delegator: str, validator: str) -> tuple[UnbondingEntry, ...]:
        """The open unbonding entries of a pair, oldest first (C-20)."""
        return self._unbonding.get((delegator, validator), ())

    def unbonding_delegations_to(
        self, validator: str
    ) -> tuple[tuple[str, tuple[UnbondingEntry, ...]], ...]:
        """``(delegator, entries)`` for every delegator unbonding from ``validator``."""
        keys = self._unbonding_by_validator.keys_between((validator,), (validator + "\x00",))
        return tuple((d, self._unbonding[(d, v)]) for v, d in keys)

    def iter_unbonding(self) -> tuple[tuple[str, str, tuple[UnbondingEntry, ...]], ...]:
        """``(delegator, validator, entries)`` for every pair with open entries."""
        return tuple((d, v, entries) for (d, v), entries in self._unbonding.raw_items())

    def redelegation_entries(
        self, delegator: str, src_validator: str, dst_validator: str
    ) -> tuple[RedelegationEntry, ...]:
        """The open redelegation entries of a triple, oldest first (C-22)."""
        return self._redelegations.get((delegator, src_validator, dst_validator), ())

    def redelegations_from(
        self, delegator: str, src_validator: str
    ) -> tuple[tuple[str, tuple[RedelegationEntry, ...]], ...]:
        """``(dst, entries)`` of ``delegator``'s open redelegations out of ``src_validator``."""
        keys = self._red_by_src.keys_between(
            (src_validator, delegator), (src_validator, delegator + "\x00")
        )
        return tuple((dst, self._redelegations[(d, src, dst)]) for src, d, dst in keys)

    def redelegations_of(
        self, delegator: str
    ) -> tuple[tuple[str, str, tuple[RedelegationEntry, ...]], ...]:
        """``(src, dst, entries)`` of every open redelegation of ``delegator``."""
        keys = self._red_by_dst.keys_between((delegator,), (delegator + "\x00",))
        return tuple(sorted((src, dst, self._redelegations[(d, src, dst)]) for d, dst, src in keys))

    def has_receiving_redelegation(self, delegator: str, validator: str) -> bool:
        """Whether ``delegator`` has an immature redelegation into ``validator``."""
        return bool(
            self._red_by_dst.keys_between((delegator, validator), (delegator, validator + "\x00"))
        )

    # -- internal state changes --

    def _index_key(self, validator: Validator | None) -> tuple[int, str] | None:
        if validator is None or validator.jailed:
            return None
        power = validator.tokens // self._params.power_reduction
        return (-power, validator.operator) if power > 0 else None

    def _put(self, new: Validator) -> None:
        old_key = self._index_key(self._validators.get(new.operator))
        self._validators[new.operator] = new
        new_key = self._index_key(new)
        if old_key != new_key:
            if old_key is not None:
                del self._power_index[old_key]
            if new_key is not None:
                self._power_index[new_key] = True
            self._counters["set_dirty"] = 1

    def _fire_modified(self, operator: str) -> None:
        for hooks in self._hooks:
            hooks.before_validator_modified(operator)

    def _set_delegation(self, delegator: str, validator: str, shares: SdkDec) -> None:
        key = (delegator, validator)
        if shares.is_zero():
            del self._delegations[key]
            del self._delegations_by_validator[(validator, delegator)]
            for dhooks in self._delegation_hooks:
                dhooks.after_delegation_removed(delegator, validator)
            return
        if key not in self._delegations:
            self._delegations_by_validator[(validator, delegator)] = True
        self._delegations[key] = Delegation(delegator=delegator, validator=validator, shares=shares)
        for dhooks in self._delegation_hooks:
            dhooks.after_delegation_modified(delegator, validator)

    def _next_entry_id(self) -> int:
        entry_id = self._counters.get("next_entry_id", 1)
        self._counters["next_entry_id"] = entry_id + 1
        return entry_id

    # -- transactions --

    @atomic
    def create_validator(
        self,
        operator: str,
        pubkey: str,
        self_bond: int,
        commission_rate: SdkDec,
        *,
        max_rate: SdkDec | None = None,
        max_change_rate: SdkDec | None = None,
        min_self_delegation: int = 0,
        self_bond_shares: SdkDec | None = None,
    ) -> Validator:
        """Create a validator bonded by its operator's own tokens (C-14, C-34).

        ``self_bond`` moves from the operator's account to the bonded pool and becomes the
        operator's self-delegation, worth ``self_bond_shares`` shares (default: one share per
        token; genesis profiles use other ratios, C-13). The validator starts ``Unbonded`` and
        joins the active set at the next end-block if its power ranks.

        Raises ``InvalidAddress``, ``ValidatorExists``, ``PubkeyExists``,
        ``InvalidCommission``, ``InvalidAmount`` (bond not positive, negative minimum),
        ``InvalidSharesAmount``,
        ``SelfDelegationTooLow`` (bond below the minimum) or ``InsufficientFunds``.
        """
        validate_address(operator, self.operator_prefix)
        if operator in self._validators:
            raise ValidatorExists(operator)
        consensus_address = self.consensus_address_of(pubkey)
        if consensus_address in self._by_consensus:
            raise PubkeyExists(pubkey)
        one = SdkDec.one()
        max_rate = one if max_rate is None else max_rate
        max_change_rate = one if max_change_rate is None else max_change_rate
        if max_rate.is_negative() or max_rate > one:
            raise InvalidCommission("max rate must be between 0 and 1")
        if commission_rate.is_negative() or commission_rate > max_rate:
            raise InvalidCommission("rate must be between 0 and the max rate")
        if max_change_rate.is_negative() or max_change_rate > max_rate:
            raise InvalidCommission("max change rate must be between 0 and the max rate")
        check_amount(self_bond)
        if min_self_delegation < 0:
            raise InvalidAmount(min_self_delegation)
        if self_bond < min_self_delegation:
            raise SelfDelegationTooLow(operator, self_bond, min_self_delegation)
        shares = SdkDec.from_int(self_bond) if self_bond_shares is None else self_bond_shares
        if shares.atomics <= 0:
            raise InvalidSharesAmount()
        account = self.account_of(operator)
        self._bank.transfer(account, self.bonded_pool, self._params.bond_denom, self_bond)
        record = Validator(
            operator=operator,
            consensus_pubkey=pubkey,
            consensus_address=consensus_address,
            tokens=self_bond,
            delegator_shares=shares,
            commission_rate=commission_rate,
            max_rate=max_rate,
            max_change_rate=max_change_rate,
            min_self_delegation=min_self_delegation,
        )
        self._put(record)
        self._by_consensus[consensus_address] = operator
        self._set_delegation(account, operator, shares)
        return record

    @atomic
    def set_commission(self, operator: str, rate: SdkDec) -> None:
        """Change a validator's commission rate and fire ``before_validator_modified`` (C-16).

        Raises ``ValidatorNotFound`` or ``InvalidCommission`` (outside ``[0, max_rate]`` or a
        change larger than ``max_change_rate``). The SDK's once-per-24h limit is not applied.
        """
        record = self.get_validator(operator)
        if rate.is_negative() or rate > record.max_rate:
            raise InvalidCommission("rate must be between 0 and the max rate")
        change = rate - record.commission_rate
        if (-change if change.is_negative() else change) > record.max_change_rate:
            raise InvalidCommission("change exceeds the max change rate")
        self._put(record.model_copy(update={"commission_rate": rate}))
        self._fire_modified(operator)

    @atomic
    def delegate(self, delegator: str, validator: str, amount: int) -> SdkDec:
        """Delegate ``amount`` bond-denom tokens; return the shares issued (C-17).

        Pending rewards of an existing delegation are withdrawn first (C-26). Delegating to a
        jailed, unbonding or unbonded validator is allowed.

        Raises ``InvalidAmount`` (0 or out of range), ``ValidatorNotFound``,
        ``InvalidExchangeRate`` (validator has shares but no tokens), ``Overflow`` or
        ``InsufficientFunds``.
        """
        check_amount(amount)
        return self._add_tokens(delegator, validator, amount, transfer=True)

    def _add_tokens(self, delegator: str, validator: str, amount: int, *, transfer: bool) -> SdkDec:
        """Issue shares for ``amount`` tokens (C-17); ``transfer`` moves them from the
        delegator's account first (a redelegation's tokens are in the pool already)."""
        record = self.get_validator(validator)
        try:
            shares = shares_from_tokens(amount, record.tokens, record.delegator_shares)
        except DivideByZero:
            raise InvalidExchangeRate(validator) from None
        if record.tokens + amount >= _UINT128:
            raise Overflow(f"tokens of {validator}")
        existing = self._delegations.get((delegator, validator))
        if existing is not None:
            for dhooks in self._delegation_hooks:
                dhooks.before_delegation_shares_modified(delegator, validator)
        if transfer:
            self._bank.transfer(delegator, self.bonded_pool, self._params.bond_denom, amount)
        record = self.get_validator(validator)
        self._put(
            record.model_copy(
                update={
                    "tokens": record.tokens + amount,
                    "delegator_shares": record.delegator_shares + shares,
                }
            )
        )
        held = existing.shares if existing is not None else SdkDec.zero()
        self._set_delegation(delegator, validator, held + shares)
        return shares

    def _unbond(self, delegator: str, validator: str, amount: int) -> int:
        """Remove the shares worth ``amount`` tokens; return the tokens released (C-19)."""
        check_amount(amount)
        record = self.get_validator(validator)
        delegation = self._delegations.get((delegator, validator))
        if delegation is None:
            raise NoDelegation(delegator, validator)
        if record.tokens == 0:
            # shares with no tokens behind them: any positive amount is more than they hold
            raise InvalidSharesAmount()
        worth = token_value(delegation.shares, record.tokens, record.delegator_shares)
        if amount == worth:
            # asking for all the delegation is worth takes all its shares: after a slash the
            # shares of ``amount`` tokens can round below the delegation's, and removing only
            # those would release nothing and leave the same value behind (an unbond of a
            # slashed delegation's live value that changed nothing, at every epoch)
            return self._remove_shares(delegator, validator, delegation.shares)
        shares = shares_from_tokens(amount, record.tokens, record.delegator_shares)
        if shares > delegation.shares:
            raise InvalidSharesAmount()
        return self._remove_shares(delegator, validator, min(shares, delegation.shares))

    def _remove_shares(self, delegator: str, validator: str, removed: SdkDec) -> int:
        """Remove ``removed`` (at most the delegation's) shares; return the tokens released.

        The caller checked that the delegation exists. May jail the validator (C-23).
        """
        delegation = self._delegations[(delegator, validator)]
        for dhooks in self._delegation_hooks:
            dhooks.before_delegation_shares_modified(delegator, validator)
        remaining = delegation.shares - removed
        self._set_delegation(delegator, validator, remaining)

        record = self.get_validator(validator)
        left = record.delegator_shares - removed
        if left.is_zero():
            # the last shares out take every remaining token, rounding dust included
            released = record.tokens
        else:
            released = token_value(removed, record.tokens, record.delegator_shares)
        record = record.model_copy(
            update={"tokens": record.tokens - released, "delegator_shares": left}
        )
        self._put(record)

        if not record.jailed and delegator == self.account_of(validator):
            own = token_value(remaining, record.tokens, record.delegator_shares)
            if own < record.min_self_delegation:
                # C-23: staking jails directly, bypassing the slashing capture point
                self._put(record.model_copy(update={"jailed": True}))
        return released

    @atomic
    def undelegate(self, delegator: str, validator: str, amount: int) -> UnbondingEntry:
        """Start unbonding the shares worth ``amount`` tokens; return the new entry (C-19, C-20).

        The released tokens wait in the not-bonded pool until ``now + unbonding_time``,
        whatever the validator's status. Pending rewards are withdrawn first (C-26). May jail
        the validator if the operator's self-delegation falls below its minimum (C-23).

        Raises ``InvalidAmount``, ``ValidatorNotFound``, ``TooManyUnbondingEntries``,
        ``NoDelegation`` or ``InvalidSharesAmount``.
        """
        check_amount(amount)
        self.get_validator(validator)
        key = (delegator, validator)
        entries = self._unbonding.get(key, ())
        if len(entries) >= self._params.max_entries:
            raise TooManyUnbondingEntries(delegator, validator)
        released = self._unbond(delegator, validator, amount)
        if released:
            self._bank.transfer(
                self.bonded_pool, self.not_bonded_pool, self._params.bond_denom, released
            )
        entry = UnbondingEntry(
            entry_id=self._next_entry_id(),
            creation_height=self.height,
            completion_time=self.time_s + self._params.unbonding_time,
            initial_balance=released,
            balance=released,
        )
        if not entries:
            self._unbonding_by_validator[(validator, delegator)] = True
        self._unbonding[key] = (*entries, entry)
        self._unbonding_queue[(entry.completion_time, entry.entry_id)] = key
        return entry

    @atomic
    def instant_undelegate(self, delegator: str, validator: str, amount: int) -> int:
        """Undelegate with the tokens paid to the delegator at once (C-21).

        Same share math and errors as ``undelegate`` except that there is no entry and no
        entry limit. Returns the tokens paid.
        """
        released = self._unbond(delegator, validator, amount)
        if released:
            self._bank.transfer(self.bonded_pool, delegator, self._params.bond_denom, released)
        return released

    @atomic
    def redelegate(
        self, delegator: str, src_validator: str, dst_validator: str, amount: int
    ) -> RedelegationEntry | None:
        """Move the shares worth ``amount`` tokens from ``src_validator`` to ``dst_validator``
        without unbonding (C-22, SDK ``BeginRedelegation``); return the new entry.

        The tokens are delegated to the destination at once (they earn and vote there). The
        entry completes ``unbonding_time`` from now if the source is ``Bonded``, at the
        source's own unbonding completion if it is ``Unbonding``; if the source is
        ``Unbonded`` no entry is created and ``None`` is returned. Until an entry completes
        the delegator cannot redelegate out of ``dst_validator``, and a slash of the source
        for an infraction at or before its creation height reaches the moved stake (C-28).
        Pending rewards of both delegations are withdrawn first (C-26).

        Raises ``InvalidAmount``, ``SelfRedelegation``, ``ValidatorNotFound``,
        ``TransitiveRedelegation``, ``TooManyRedelegationEntries`` (``max_entries`` open for
        the triple, P-61), ``NoDelegation``, ``InvalidSharesAmount``,
        ``TinyRedelegationAmount`` or ``InvalidExchangeRate``.
        """
        check_amount(amount)
        if src_validator == dst_validator:
            raise SelfRedelegation(src_validator)
        self.get_validator(dst_validator)
        source = self.get_validator(src_validator)
        if self.has_receiving_redelegation(delegator, src_validator):
            raise TransitiveRedelegation(delegator, src_validator)
        key = (delegator, src_validator, dst_validator)
        entries = self._redelegations.get(key, ())
        if len(entries) >= self._params.max_entries:
            raise TooManyRedelegationEntries(delegator, src_validator, dst_validator)
        moved = self._unbond(delegator, src_validator, amount)
        if moved == 0:
            raise TinyRedelegationAmount()
        shares = self._add_tokens(delegator, dst_validator, moved, transfer=False)
        if source.status is BondStatus.UNBONDED:
            return None
        if source.status is BondStatus.UNBONDING:
            height, completion = source.unbonding_height, source.unbonding_completion_time
        else:
            height, completion = self.height, self.time_s + self._params.unbonding_time
        entry = RedelegationEntry(
            entry_id=self._next_entry_id(),
            creation_height=height,
            completion_time=completion,
            initial_balance=moved,
            shares_dst=shares,
        )
        if not entries:
            self._red_by_src[(src_validator, delegator, dst_validator)] = True
            self._red_by_dst[(delegator, dst_validator, src_validator)] = True
        self._redelegations[key] = (*entries, entry)
        self._redelegation_queue[(entry.completion_time, entry.entry_id)] = key
        return entry

    @atomic
    def slash(self, validator: str, infraction_height: int, power: int, fraction: SdkDec) -> int:
        """The slash primitive of C-28; returns the amount burned from the validator.

        ``amount = truncate_int(power * power_reduction * fraction)`` from the **given**
        power. For an infraction before the current height, every unbonding entry created at
        or after it and not yet mature is slashed by ``truncate_int(initial_balance *
        fraction)`` (burning at most its balance) and that nominal amount is deducted from
        ``amount``. Then ``clamp(amount, 0, tokens)`` is burned from the validator's tokens
        (shares unchanged) and ``before_validator_modified`` fires.

        This primitive does **not** call the capture points (C-30); the slashing module's
        decorator does. Raises ``ValidatorNotFound``, ``InvalidPower`` (negative),
        ``InvalidFraction`` (outside ``[0, 1]``) or ``InvalidInfractionHeight`` (future).
        """
        record = self.get_validator(validator)
        if power < 0:
            raise InvalidPower(power)
        _check_fraction(fraction)
        height = self.height
        if infraction_height > height:
            raise InvalidInfractionHeight(infraction_height, height)
        denom = self._params.bond_denom
        amount = fraction.mul(power * self._params.power_reduction).truncate_int()

        if infraction_height < height:
            now = self.time_s
            for v, delegator in self._unbonding_by_validator.keys_between(
                (validator,), (validator + "\x00",)
            ):
                key = (delegator, v)
                entries = self._unbonding[key]
                updated: list[UnbondingEntry] = []
                changed = False
                for entry in entries:
                    if entry.creation_height < infraction_height or entry.completion_time <= now:
                        updated.append(entry)
                        continue
                    nominal = fraction.mul(entry.initial_balance).truncate_int()
                    # the nominal share counts even when the entry holds less (C-28 step 2)
                    amount -= nominal
                    burned = min(nominal, entry.balance)
                    if burned:
                        self._bank.burn(self.not_bonded_pool, denom, burned, source="slashing")
                        entry = entry.model_copy(update={"balance": entry.balance - burned})
                        changed = True
                    updated.append(entry)
                if changed:
                    self._unbonding[key] = tuple(updated)
            amount -= self._slash_redelegations(validator, infraction_height, fraction)
            record = self.get_validator(validator)

        burn = min(max(amount, 0), record.tokens)
        if burn:
            self._bank.burn(self.bonded_pool, denom, burn, source="slashing")
            self._put(record.model_copy(update={"tokens": record.tokens - burn}))
        self._fire_modified(validator)
        return burn

    def _slash_redelegations(self, src: str, infraction_height: int, fraction: SdkDec) -> int:
        """C-28 step 2 for redelegations out of ``src`` (SDK ``SlashRedelegation``).

        Every entry created at or after ``infraction_height`` and not yet mature counts
        ``truncate_int(initial_balance * fraction)`` (returned, nominal); the destination
        delegation loses ``fraction * shares_dst`` shares (at most what it holds, nothing if
        it is gone), whose tokens are burned.
        """
        now = self.time_s
        denom = self._params.bond_denom
        nominal_total = 0
        for _, delegator, dst in self._red_by_src.keys_between((src,), (src + "\x00",)):
            for entry in self._redelegations[(delegator, src, dst)]:
                if entry.creation_height < infraction_height or entry.completion_time <= now:
                    continue
                nominal_total += fraction.mul(entry.initial_balance).truncate_int()
                shares = fraction.mul(entry.shares_dst)
                delegation = self._delegations.get((delegator, dst))
                if shares.is_zero() or delegation is None:
                    continue
                burned = self._remove_shares(delegator, dst, min(shares, delegation.shares))
                if burned:
                    self._bank.burn(self.bonded_pool, denom, burned, source="slashing")
        return nominal_total

    @atomic
    def jail(self, validator: str) -> None:
        """Jail a validator; it leaves the active set at the next end-block (C-29).

        No capture point fires here (see ``Slashing.jail``). Raises ``ValidatorNotFound`` or
        ``AlreadyJailed``.
        """
        record = self.get_validator(validator)
        if record.jailed:
            raise AlreadyJailed(validator)
        self._put(record.model_copy(update={"jailed": True}))

    @atomic
    def unjail(self, validator: str) -> None:
        """Clear the jailed flag; the validator re-enters the set only if its power ranks.

        The checks of C-29 live in ``Slashing.unjail``. Raises ``ValidatorNotFound`` or
        ``NotJailed``.
        """
        record = self.get_validator(validator)
        if not record.jailed:
            raise NotJailed(validator)
        self._put(record.model_copy(update={"jailed": False}))

    # -- end block --

    @property
    def set_dirty(self) -> bool:
        """Whether the next end-block recomputes the active set (C-15)."""
        return bool(self._counters.get("set_dirty"))

    def next_maturity(self) -> int | None:
        """The earliest completion time among unbonding entries, redelegation entries and
        unbonding validators (what an end-block at or after that time matures), or ``None``."""
        earliest: int | None = None
        for queue in (self._unbonding_queue, self._redelegation_queue, self._validator_queue):
            first = queue.first_key()
            if first is not None and (earliest is None or first[0] < earliest):
                earliest = first[0]
        return earliest

    def end_block(self) -> None:
        """Staking end-block (C-27): apply the active-set change (C-15, C-16) and fire its
        hooks, then pay out matured unbonding entries, then complete matured validator
        unbondings. Raises only what a hook raises.

        Not atomic by itself (it runs once per block and a savepoint costs time): call it
        inside one, as ``StakingModule.end_block`` does.
        """
        if self._counters.get("set_dirty"):
            self._apply_set_changes()
        self._mature_unbonding_entries()
        self._mature_redelegations()
        self._mature_validators()

    def _apply_set_changes(self) -> None:
        head = self._power_index.head(self._params.max_validators)
        new = ActiveSet(tuple((op, -neg_power) for neg_power, op in head))
        old = self.active_set()
        self._active["set"] = new
        self._counters["set_dirty"] = 0
        now = self.time_s
        for op, _ in new.members:
            if op in old:
                continue
            record = self._validators[op]
            if record.status is BondStatus.UNBONDING:
                del self._validator_queue[(record.unbonding_completion_time, op)]
            self._put(
                record.model_copy(
                    update={
                        "status": BondStatus.BONDED,
                        "unbonding_height": 0,
                        "unbonding_completion_time": 0,
                    }
                )
            )
            for hooks in self._hooks:
                hooks.after_validator_bonded(op)
        for op in sorted(op for op, _ in old.members if op not in new):
            completion = now + self._params.unbonding_time
            self._put(
                self._validators[op].model_copy(
                    update={
                        "status": BondStatus.UNBONDING,
                        "unbonding_height": self.height,
                        "unbonding_completion_time": completion,
                    }
                )
            )
            self._validator_queue[(completion, op)] = True
            for hooks in self._hooks:
                hooks.after_validator_begin_unbonding(op)

    def _mature_unbonding_entries(self) -> None:
        now = self.time_s
        queue = self._unbonding_queue
        denom = self._params.bond_denom
        while (first := queue.first_key()) is not None and first[0] <= now:
            delegator, validator = key = queue[first]
            del queue[first]
            entries = self._unbonding[key]
            remaining = tuple(e for e in entries if e.entry_id != first[1])
            matured = next(e for e in entries if e.entry_id == first[1])
            if matured.balance:
                self._bank.transfer(self.not_bonded_pool, delegator, denom, matured.balance)
            if remaining:
                self._unbonding[key] = remaining
            else:
                del self._unbonding[key]
                del self._unbonding_by_validator[(validator, delegator)]
            for hooks in self._hooks:
                hooks.after_unbonding_matured(delegator, validator, matured.balance)

    def _mature_redelegations(self) -> None:
        # the tokens moved at redelegation time: completing an entry only forgets it
        now = self.time_s
        queue = self._redelegation_queue
        while (first := queue.first_key()) is not None and first[0] <= now:
            delegator, src, dst = key = queue[first]
            del queue[first]
            remaining = tuple(e for e in self._redelegations[key] if e.entry_id != first[1])
            if remaining:
                self._redelegations[key] = remaining
            else:
                del self._redelegations[key]
                del self._red_by_src[(src, delegator, dst)]
                del self._red_by_dst[(delegator, dst, src)]

    def _mature_validators(self) -> None:
        now = self.time_s
        queue = self._validator_queue
        while (first := queue.first_key()) is not None and first[0] <= now:
            del queue[first]
            record = self._validators[first[1]]
            if record.status is BondStatus.UNBONDING:
                self._put(record.model_copy(update={"status": BondStatus.UNBONDED}))
