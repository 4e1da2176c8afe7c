"""Simplified x/distribution: fee pool, reward allocation, commission (consumer.md C-24..C-26).

Tokens flow fee collector -> distribution module account at allocation; from there they are
paid out as whole tokens on withdrawal. What each party is owed is kept as SDK decimals:
the community pool, each validator's accumulated commission, and per validator a
``rewards_per_share`` accumulator; a delegation remembers the accumulator value at its last
settlement. The accumulator increment and the pending amount are truncated at the 18th
decimal (as the SDK's ``QuoDecTruncate`` / ``MulDecTruncate`` in F1), so the sum owed never
exceeds what the module account holds; the truncation dust stays in the account, unowned.
"""

from __future__ import annotations

from chains._address import derive_address
from chains._bank import Bank
from chains._decimal import SdkDec
from chains._errors import NoDelegation, NoValidatorCommission, ValidatorNotFound
from chains._staking import ActiveSet, Staking
from chains._store import JournaledMap, Store, atomic

__all__ = ["Distribution"]


class Distribution:
    """Reward allocation and withdrawal for one chain's staking module.

    Registered with ``Staking`` as a ``DelegationHooks`` observer so every change of a
    delegation's shares first withdraws its pending rewards (C-26). Mutating methods are
    atomic: on error nothing changes.
    """

    def __init__(self, store: Store, bank: Bank, staking: Staking) -> None:
        self._store = store
        self._bank = bank
        self._staking = staking
        prefix = staking.account_prefix
        self.fee_collector = derive_address(prefix, "module/fee_collector")
        self.module_account = derive_address(prefix, "module/distribution")
        self._pool: JournaledMap[str, SdkDec] = JournaledMap(store, "distribution/community_pool")
        # the set whose block is being collected into the fee pool (C-25 "during h-1")
        self._reward_set: JournaledMap[str, ActiveSet] = JournaledMap(
            store, "distribution/reward_set"
        )
        self._commission: JournaledMap[str, SdkDec] = JournaledMap(store, "distribution/commission")
        self._per_share: JournaledMap[str, SdkDec] = JournaledMap(
            store, "distribution/rewards_per_share"
        )
        self._start: JournaledMap[tuple[str, str], SdkDec] = JournaledMap(
            store, "distribution/delegation_start"
        )
        self._withdraw_to: JournaledMap[str, str] = JournaledMap(
            store, "distribution/withdraw_address"
        )
        staking.add_delegation_hooks(self)

    @property
    def store(self) -> Store:
        """The store holding the module's state."""
        return self._store

    # -- queries --

    def fee_pool(self) -> int:
        """Tokens collected in the current block, to be allocated at the next begin-block."""
        return self._bank.balance(self.fee_collector, self._staking.params.bond_denom)

    def community_pool(self) -> SdkDec:
        """The community pool (C-25, C-26)."""
        return self._pool.get("pool", SdkDec.zero())

    def commission(self, validator: str) -> SdkDec:
        """Accumulated, not yet withdrawn commission of ``validator``."""
        return self._commission.get(validator, SdkDec.zero())

    def rewards_per_share(self, validator: str) -> SdkDec:
        """The validator's reward accumulator (C-26)."""
        return self._per_share.get(validator, SdkDec.zero())

    def pending_rewards(self, delegator: str, validator: str) -> SdkDec:
        """``shares * (acc - start)`` of a delegation, truncated (0 without a delegation)."""
        delegation = self._staking.delegation(delegator, validator)
        if delegation is None:
            return SdkDec.zero()
        start = self._start.get((delegator, validator), SdkDec.zero())
        return delegation.shares.mul_trunc(self.rewards_per_share(validator) - start)

    def withdraw_address(self, delegator: str) -> str:
        """Where ``delegator``'s rewards are paid (itself unless changed)."""
        return self._withdraw_to.get(delegator, delegator)

    # -- transactions --

    @atomic
    def collect_fee(self, payer: str, amount: int) -> None:
        """Pay a transaction fee in the bond denom into the fee pool (C-24).

        Raises ``InvalidAmount`` or ``InsufficientFunds``.
        """
        self._bank.transfer(payer, self.fee_collector, self._staking.params.bond_denom, amount)

    @atomic
    def set_withdraw_address(self, delegator: str, address: str) -> None:
        """Send ``delegator``'s future rewards to ``address`` (P-52, P-56)."""
        if address == delegator:
            self._withdraw_to.pop(delegator, None)
        else:
            self._withdraw_to[delegator] = address

    @atomic
    def withdraw_delegator_reward(self, delegator: str, validator: str) -> int:
        """Pay a delegation's pending rewards; return the whole tokens paid (C-26).

        ``truncate_int(pending)`` goes to the withdraw address, the fractional rest to the
        community pool, and the delegation's start is reset. Raises ``NoDelegation``.
        """
        if self._staking.delegation(delegator, validator) is None:
            raise NoDelegation(delegator, validator)
        return self._settle(delegator, validator)

    @atomic
    def withdraw_validator_commission(self, validator: str) -> int:
        """Pay the whole tokens of a validator's commission to its operator account.

        The fractional rest stays accumulated. Raises ``ValidatorNotFound`` or
        ``NoValidatorCommission`` (less than one whole token accrued).
        """
        if self._staking.validator(validator) is None:
            raise ValidatorNotFound(validator)
        accrued = self.commission(validator)
        paid = accrued.truncate_int()
        if paid <= 0:
            raise NoValidatorCommission(validator)
        self._commission[validator] = accrued - SdkDec.from_int(paid)
        account = self._staking.account_of(validator)
        self._bank.transfer(
            self.module_account,
            self.withdraw_address(account),
            self._staking.params.bond_denom,
            paid,
        )
        return paid

    def _settle(self, delegator: str, validator: str) -> int:
        pending = self.pending_rewards(delegator, validator)
        self._start[(delegator, validator)] = self.rewards_per_share(validator)
        paid = pending.truncate_int()
        rest = pending - SdkDec.from_int(paid)
        if not rest.is_zero():
            self._pool["pool"] = self.community_pool() + rest
        if paid:
            self._bank.transfer(
                self.module_account,
                self.withdraw_address(delegator),
                self._staking.params.bond_denom,
                paid,
            )
        return paid

    # -- delegation hooks (C-26) --

    def before_delegation_shares_modified(self, delegator: str, validator: str) -> None:
        """Auto-withdraw the pending rewards before the shares change."""
        self._settle(delegator, validator)

    def after_delegation_modified(self, delegator: str, validator: str) -> None:
        """Start the delegation's reward period at the current accumulator."""
        self._start[(delegator, validator)] = self.rewards_per_share(validator)

    def after_delegation_removed(self, delegator: str, validator: str) -> None:
        """Forget the removed delegation's start value."""
        self._start.pop((delegator, validator), None)

    # -- begin block --

    def begin_block(self) -> None:
        """Allocate the fee pool collected during the previous block (C-25), then mint this
        block's ``block_provision`` into the fee pool (C-24).

        The pool goes to the validators of the active set that was in force during the
        previous block, with the powers that set was computed with; members jailed by now
        get nothing (their part goes to the community pool). Not atomic by itself: call it
        inside a savepoint, as ``StakingModule.begin_block`` does.
        """
        params = self._staking.params
        pool = self.fee_pool()
        if pool:
            self._allocate(pool, self._reward_set.get("set") or ActiveSet())
        current = self._staking.active_set()
        if self._reward_set.get("set") is not current:
            self._reward_set["set"] = current
        if params.block_provision:
            self._bank.mint(self.fee_collector, params.bond_denom, params.block_provision)

    def _allocate(self, pool: int, members: ActiveSet) -> None:
        params = self._staking.params
        self._bank.transfer(self.fee_collector, self.module_account, params.bond_denom, pool)
        total = SdkDec.from_int(pool)
        total_power = members.total_power
        if total_power == 0:
            self._pool["pool"] = self.community_pool() + total
            return
        for_validators = total.mul_trunc(SdkDec.one() - params.community_tax)
        community = self.community_pool() + total
        for operator, power in members.members:
            record = self._staking.validator(operator)
            if record is None or record.jailed:
                continue
            reward = for_validators.mul_trunc(SdkDec.from_int(power).quo_trunc(total_power))
            community -= reward
            commission = reward.mul(record.commission_rate)
            if not commission.is_zero():
                self._commission[operator] = self.commission(operator) + commission
            rest = reward - commission
            if record.delegator_shares.is_zero():
                community += rest
            elif not rest.is_zero():
                self._per_share[operator] = self.rewards_per_share(operator) + rest.quo_trunc(
                    record.delegator_shares
                )
        self._pool["pool"] = community
