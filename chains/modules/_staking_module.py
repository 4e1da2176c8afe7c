"""One chain's native staking modules behind one object, wired to the block lifecycle.

``StakingModule`` owns ``Staking`` (x/staking), ``Distribution`` (x/distribution) and
``Slashing`` (x/slashing + x/evidence) over one ``Store`` and ``Bank``, runs their parts of
the block lifecycle in the order of consumer.md C-10/C-31, and offers the test control
surface of C-34 as plain synchronous methods. Redelegation (C-22) follows the SDK (see
``Staking.redelegate``).

A chain host calls ``begin_block(h, t)``, then transactions, then ``end_block(h, t)`` (and
then the mesh-security module's end-blocker, which is not part of this object).
"""

from __future__ import annotations

from chains.contract._decimal import SdkDec
from chains.contract._store import Store, atomic
from chains.modules._bank import Bank
from chains.modules._distribution import Distribution
from chains.modules._errors import InvalidBlock
from chains.modules._hooks import StakingHooks
from chains.modules._params import StakingParams
from chains.modules._slashing import SigningInfo, Slashing
from chains.modules._staking import (
    Delegation,
    RedelegationEntry,
    Staking,
    UnbondingEntry,
    Validator,
)

__all__ = ["StakingModule"]


class StakingModule:
    """Staking, distribution, slashing and evidence of one chain (consumer.md §3).

    Every method that changes state is atomic: if it raises, the store (bank included) is
    exactly as before the call. Sub-modules are available as ``staking``, ``distribution``
    and ``slashing`` for the less common operations and queries.
    """

    def __init__(
        self,
        store: Store,
        bank: Bank,
        params: StakingParams | None = None,
        *,
        account_prefix: str,
    ) -> None:
        self._store = store
        self._bank = bank
        self.staking = Staking(
            store, bank, params or StakingParams(), account_prefix=account_prefix
        )
        # slashing registers first, so its bonded hook runs before any outside observer
        self.slashing = Slashing(store, bank, self.staking)
        self.distribution = Distribution(store, bank, self.staking)

    @property
    def store(self) -> Store:
        """The store holding the modules' state."""
        return self._store

    @property
    def bank(self) -> Bank:
        """The chain's bank."""
        return self._bank

    @property
    def params(self) -> StakingParams:
        """The parameters of C-13."""
        return self.staking.params

    @property
    def height(self) -> int:
        """The current block height."""
        return self.staking.height

    @property
    def time_s(self) -> int:
        """The current block time (UNIX seconds)."""
        return self.staking.time_s

    def add_hooks(self, hooks: StakingHooks) -> None:
        """Register an observer of validator events and capture points (C-16, C-30)."""
        self.staking.add_hooks(hooks)

    # -- block lifecycle (C-10) --

    @atomic
    def begin_block(self, height: int, time_s: int) -> None:
        """Begin-block: distribution allocates the previous block's fees (C-25), then
        slashing processes liveness (C-35) — allocation before slashing (C-31).

        Double-sign evidence is handled when submitted (``submit_equivocation``).
        Raises ``InvalidBlock`` unless height and time strictly increase.
        """
        self.staking.set_block(height, time_s)
        self.distribution.begin_block()
        self.slashing.begin_block()

    @atomic
    def end_block(self, height: int, time_s: int) -> None:
        """Staking end-block: validator-set changes with their hooks, then matured
        unbonding entries, then matured validator unbondings (C-27).

        Raises ``InvalidBlock`` if ``(height, time_s)`` is not the block begun last.
        """
        if (height, time_s) != (self.staking.height, self.staking.time_s):
            raise InvalidBlock(
                f"end of block {height}@{time_s} but block {self.height}@{self.time_s} is open"
            )
        self.staking.end_block()

    def next_due_time(self) -> int | None:
        """When the staking modules next do something others can observe at a block
        boundary, as a block time: the end-block of the first block at or after it (``0``:
        the current block's end or the next begin-block already has work — an active-set
        change, liveness votes or a watched validator); ``None`` if nothing is scheduled.

        Reward allocation is not counted: it only accumulates (lazily, see
        ``Distribution``) and nobody sees it until they read or transact.
        """
        if self.staking.set_dirty or not self.slashing.idle:
            return 0
        return self.staking.next_maturity()

    @atomic
    def fast_forward(self, height: int, time_s: int, count: int) -> bool:
        """The staking modules' part of ``count`` idle blocks in one step, the last being
        ``height`` at ``time_s`` (see `TxExecutor.fast_forward`): reward allocation in
        closed form (`Distribution.repeat_begin_block`), then the block is set. Idle means
        `next_due_time` is after every block of the run; the caller checks that. Returns
        False, changing nothing, when the distribution is not in its steady state.
        """
        if not self.distribution.repeat_begin_block(count):
            return False
        self.staking.set_block(height, time_s)
        return True

    # -- test control surface (C-34) and transactions --

    def create_validator(
        self,
        operator: str,
        pubkey: str,
        self_bond: int,
        commission: SdkDec,
        min_self_delegation: int = 0,
        *,
        max_rate: SdkDec | None = None,
        max_change_rate: SdkDec | None = None,
        self_bond_shares: SdkDec | None = None,
    ) -> Validator:
        """Create a validator (see ``Staking.create_validator`` for details and errors)."""
        return self.staking.create_validator(
            operator,
            pubkey,
            self_bond,
            commission,
            max_rate=max_rate,
            max_change_rate=max_change_rate,
            min_self_delegation=min_self_delegation,
            self_bond_shares=self_bond_shares,
        )

    def delegate(self, delegator: str, validator: str, amount: int) -> SdkDec:
        """Delegate tokens; return the shares issued (C-17; see ``Staking.delegate``)."""
        return self.staking.delegate(delegator, validator, amount)

    def undelegate(self, delegator: str, validator: str, amount: int) -> UnbondingEntry:
        """Start unbonding (C-19, C-20; see ``Staking.undelegate``)."""
        return self.staking.undelegate(delegator, validator, amount)

    def redelegate(
        self, delegator: str, src_validator: str, dst_validator: str, amount: int
    ) -> RedelegationEntry | None:
        """Move a delegation to another validator (C-22; see ``Staking.redelegate``)."""
        return self.staking.redelegate(delegator, src_validator, dst_validator, amount)

    def instant_undelegate(self, delegator: str, validator: str, amount: int) -> int:
        """Undelegate with immediate payout (C-21; see ``Staking.instant_undelegate``)."""
        return self.staking.instant_undelegate(delegator, validator, amount)

    def unjail(self, validator: str) -> None:
        """``MsgUnjail`` by the operator (C-29; see ``Slashing.unjail`` for the errors)."""
        self.slashing.unjail(validator)

    def set_commission(self, validator: str, rate: SdkDec) -> None:
        """Change the commission rate; fires ``before_validator_modified`` (C-16)."""
        self.staking.set_commission(validator, rate)

    def record_liveness(self, validator: str, signed: bool) -> None:
        """Record the validator's vote for the current block (C-35)."""
        self.slashing.record_liveness(validator, signed)

    def force_downtime(self, validator: str) -> int:
        """Downtime slash + jail now (C-35); returns the amount burned."""
        return self.slashing.force_downtime(validator)

    def submit_equivocation(
        self, consensus_address: str, infraction_height: int, infraction_time: int, power: int
    ) -> int | None:
        """Double-sign evidence (C-36); returns the amount burned or ``None`` if ignored."""
        return self.slashing.submit_equivocation(
            consensus_address, infraction_height, infraction_time, power
        )

    def withdraw_delegator_reward(self, delegator: str, validator: str) -> int:
        """Withdraw a delegation's rewards (C-26); raises ``NoDelegation``."""
        return self.distribution.withdraw_delegator_reward(delegator, validator)

    def withdraw_validator_commission(self, validator: str) -> int:
        """Withdraw a validator's whole-token commission to its operator account."""
        return self.distribution.withdraw_validator_commission(validator)

    def collect_fee(self, payer: str, amount: int) -> None:
        """Pay a transaction fee into the fee pool (C-24)."""
        self.distribution.collect_fee(payer, amount)

    def set_withdraw_address(self, delegator: str, address: str) -> None:
        """Redirect ``delegator``'s reward payouts to ``address``."""
        self.distribution.set_withdraw_address(delegator, address)

    # -- queries (C-11, C-38) --

    def validator(self, operator: str) -> Validator | None:
        """The validator record, or ``None``."""
        return self.staking.validator(operator)

    def validators(self) -> tuple[Validator, ...]:
        """Every validator, by operator address."""
        return self.staking.validators()

    def bonded_validators(self) -> tuple[Validator, ...]:
        """The active set's validators, by power descending."""
        return self.staking.bonded_validators()

    def delegation(self, delegator: str, validator: str) -> Delegation | None:
        """The delegation record, or ``None``."""
        return self.staking.delegation(delegator, validator)

    def delegation_value(self, delegator: str, validator: str) -> int:
        """A delegation's token value, truncated (C-18); 0 if none."""
        return self.staking.delegation_value(delegator, validator)

    def unbonding_entries(self, delegator: str, validator: str) -> tuple[UnbondingEntry, ...]:
        """Open unbonding entries of a pair (C-20)."""
        return self.staking.unbonding_entries(delegator, validator)

    def redelegation_entries(
        self, delegator: str, src_validator: str, dst_validator: str
    ) -> tuple[RedelegationEntry, ...]:
        """Open redelegation entries of a triple (C-22)."""
        return self.staking.redelegation_entries(delegator, src_validator, dst_validator)

    def signing_info(self, validator: str) -> SigningInfo:
        """Liveness and tombstone record of a validator (C-35, C-37)."""
        return self.slashing.signing_info(validator)

    def slash_fraction_downtime(self) -> str:
        """C-38: e.g. ``"0.010000000000000000"``."""
        return self.slashing.slash_fraction_downtime()

    def slash_fraction_double_sign(self) -> str:
        """C-38: e.g. ``"0.050000000000000000"``."""
        return self.slashing.slash_fraction_double_sign()
