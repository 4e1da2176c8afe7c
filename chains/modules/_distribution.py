"""Simplified x/distribution: fee pool, reward allocation, commission (consumer.md C-24..C-26).

Tokens flow fee collector -> distribution module account at allocation; from there they are
paid out as whole tokens on withdrawal. What each party is owed is kept as SDK decimals:
the community pool, each validator's accumulated commission, and per validator a
``rewards_per_share`` accumulator; a delegation remembers the accumulator value at its last
settlement. The accumulator increment and the pending amount are truncated at the 18th
decimal (as the SDK's ``QuoDecTruncate`` / ``MulDecTruncate`` in F1), so the sum owed never
exceeds what the module account holds; the truncation dust stays in the account, unowned.

**Lazy allocation (O(1) per block).** Allocating a block's pool the plain way (C-25) touches
every member of the reward set: 10-20 µs per validator per block, which a chain producing a
simulated day (17,280 blocks) per wall second cannot afford. But a member's share of one
block is a function of only the block's pool ``P``, the member's power and the set's total
power, and three fields of its record (jailed, commission rate, delegator shares): as long
as those stay the same, every block with the same pool adds *exactly the same decimals* to
the member's commission, accumulator and community-pool debt. SDK decimals add exactly
(integer atomics), so ``n`` identical blocks add exactly ``n`` times one block's amounts,
with the same truncations. So allocation records only ``(P, number of blocks)`` runs in a
*segment* (one reward set), and a member's amounts are settled when something would read
or change them:

- a delegation to it changes, or someone withdraws (the delegation hooks, ``withdraw_*``);
- its terms change: its delegator shares (delegation hooks), its commission rate
  (``before_validator_modified``), its jailed flag (``after_validator_jailed`` /
  ``after_validator_unjailed`` on the slashing path; the self-delegation jail of C-23 runs
  inside an undelegation, whose delegation hooks fire). Such a member is *dirty*: at the
  next allocation it is settled with the terms it had (kept in a snapshot) and then
  re-snapshotted;
- the reward set changes. The staking module replaces its active-set object whenever a
  member's power or jailed flag changed in the block (C-15), so an allocation whose active
  set is no longer the object it is allocating to settles every member of the segment and
  allocates that block eagerly; the next block opens a new segment.

Queries (``rewards_per_share``, ``commission``, ``community_pool``, ``pending_rewards``)
add the unsettled amounts without writing, so every figure a holder can observe is the one
the plain allocation gives (the property tests compare the two exactly). Assumption: a
member's jailed flag, commission rate and delegator shares change only through the staking
and slashing modules' paths above (``Staking.jail`` called directly changes the active set
at the next staking end-block, which the set check catches as long as it is called before
that end-block of its block, as every caller does). ``lazy = False`` restores the plain
per-block allocation (for comparisons and benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.contract._address import derive_address
from chains.contract._decimal import SCALE, SdkDec, div_half_even, div_trunc
from chains.contract._store import JournaledMap, Store, atomic
from chains.modules._bank import Bank
from chains.modules._errors import NoDelegation, NoValidatorCommission, ValidatorNotFound
from chains.modules._hooks import StakingHooks
from chains.modules._staking import ActiveSet, Delegation, Staking, Validator

__all__ = ["Distribution"]

_NO_SET = ActiveSet()
_ZERO = SdkDec.zero()
# (excluded: jailed or unknown, commission rate atomics, delegator shares atomics)
_Terms = tuple[bool, int, int]
_EXCLUDED: _Terms = (True, 0, 0)
# entries of the `_member_share` memo before it starts over (one per member and pool)
_SHARE_CACHE_LIMIT = 4096


def _terms(record: Validator | None) -> _Terms:
    if record is None or record.jailed:
        return _EXCLUDED
    return (False, record.commission_rate.atomics, record.delegator_shares.atomics)


def _member_share(
    for_validators: int, power: int, total_power: int, terms: _Terms
) -> tuple[int, int, int]:
    """One block's amounts for one member of the reward set, as atomics (C-25, C-26):
    ``(community-pool change, commission, accumulator increment)``.

    Exactly the arithmetic of the plain allocation: ``reward = mul_trunc(for_validators,
    quo_trunc(power, total_power))``; the commission ``mul(reward, rate)`` (half-even); the
    rest over the delegator shares, ``quo_trunc`` (or to the community pool without shares).
    """
    excluded, rate, shares = terms
    if excluded:
        return 0, 0, 0
    fraction = div_trunc(power * SCALE, total_power)
    reward = div_trunc(for_validators * fraction, SCALE)
    commission = div_half_even(reward * rate, SCALE)
    rest = reward - commission
    if shares == 0:
        return rest - reward, commission, 0
    return -reward, commission, div_trunc(rest * SCALE, shares)


@dataclass(frozen=True, slots=True)
class _Segment:
    """An open run of allocations to one reward set (see the module docstring)."""

    members: ActiveSet
    total_power: int
    runs: int  # entries in ``distribution/runs``


class Distribution(StakingHooks):
    """Reward allocation and withdrawal for one chain's staking module.

    Registered with ``Staking`` as a ``DelegationHooks`` observer so every change of a
    delegation's shares first withdraws its pending rewards (C-26), and as a ``StakingHooks``
    observer to learn of commission and jail changes (lazy allocation, see the module
    docstring). Mutating methods are atomic: on error nothing changes.

    ``lazy`` (default ``True``) selects the O(1)-per-block allocation; set it to ``False``
    before the first block for the plain per-member allocation (same figures, O(reward set)
    per block), which the property tests compare it with.
    """

    def __init__(self, store: Store, bank: Bank, staking: Staking) -> None:
        self._store = store
        self._bank = bank
        self._staking = staking
        self.lazy = True
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
        # lazy allocation: the open segment, its runs (index -> (pool, blocks)), each
        # member's settled position (run index, blocks of that run settled), the terms its
        # unsettled blocks were allocated with, and the members whose terms changed since
        self._segment: JournaledMap[str, _Segment] = JournaledMap(store, "distribution/segment")
        self._runs: JournaledMap[int, tuple[int, int]] = JournaledMap(store, "distribution/runs")
        self._settled: JournaledMap[str, tuple[int, int]] = JournaledMap(
            store, "distribution/settled"
        )
        self._snapshot: JournaledMap[str, _Terms] = JournaledMap(store, "distribution/snapshot")
        self._dirty: JournaledMap[str, bool] = JournaledMap(store, "distribution/dirty")
        # a memo of `_member_share` (a pure function), not state: every withdrawal of an
        # epoch settles one run of the same pool and terms, and each member asks again
        self._shares: dict[tuple[int, int, int, _Terms], tuple[int, int, int]] = {}
        staking.add_delegation_hooks(self)
        staking.add_hooks(self)

    @property
    def store(self) -> Store:
        """The store holding the module's state."""
        return self._store

    # -- queries --

    def fee_pool(self) -> int:
        """Tokens collected in the current block, to be allocated at the next begin-block."""
        return self._bank.balance(self.fee_collector, self._staking.params.bond_denom)

    def community_pool(self) -> SdkDec:
        """The community pool (C-25, C-26). O(reward set) while a segment is open."""
        atomics = self._pool.get("pool", _ZERO).atomics
        segment = self._segment.get("seg")
        if segment is not None:
            for index in range(segment.runs):
                pool, blocks = self._runs[index]
                atomics += pool * blocks * SCALE
            for operator, _ in segment.members.members:
                atomics += self._unsettled(segment, operator)[0]
        return SdkDec(atomics)

    def commission(self, validator: str) -> SdkDec:
        """Accumulated, not yet withdrawn commission of ``validator``."""
        stored = self._commission.get(validator, _ZERO)
        segment = self._segment.get("seg")
        if segment is None or validator not in segment.members:
            return stored
        return SdkDec(stored.atomics + self._unsettled(segment, validator)[1])

    def rewards_per_share(self, validator: str) -> SdkDec:
        """The validator's reward accumulator (C-26)."""
        stored = self._per_share.get(validator, _ZERO)
        segment = self._segment.get("seg")
        if segment is None or validator not in segment.members:
            return stored
        return SdkDec(stored.atomics + self._unsettled(segment, validator)[2])

    def pending_rewards(self, delegator: str, validator: str) -> SdkDec:
        """``shares * (acc - start)`` of a delegation, truncated (0 without a delegation)."""
        delegation = self._staking.delegation(delegator, validator)
        if delegation is None:
            return _ZERO
        start = self._start.get((delegator, validator), _ZERO)
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
        return self.withdraw_in_savepoint(delegator, validator)

    def withdraw_in_savepoint(self, delegator: str, validator: str) -> int:
        """`withdraw_delegator_reward` without a savepoint of its own, for a caller that
        runs it inside one and rolls it back on any exception (the executor's message
        routes: every emitted message runs in a unit, C-95). Same result, writes and
        errors (``NoDelegation`` before any write)."""
        delegation = self._staking.delegation(delegator, validator)
        if delegation is None:
            raise NoDelegation(delegator, validator)
        return self._pay(delegator, validator, delegation)

    @atomic
    def withdraw_validator_commission(self, validator: str) -> int:
        """Pay the whole tokens of a validator's commission to its operator account.

        The fractional rest stays accumulated. Raises ``ValidatorNotFound`` or
        ``NoValidatorCommission`` (less than one whole token accrued).
        """
        if self._staking.validator(validator) is None:
            raise ValidatorNotFound(validator)
        self._sync(validator)
        accrued = self._commission.get(validator, _ZERO)
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
        return self._pay(delegator, validator, self._staking.delegation(delegator, validator))

    def _pay(self, delegator: str, validator: str, delegation: Delegation | None) -> int:
        """Settle ``validator`` and pay the delegation's pending rewards (``delegation``:
        its current record, or ``None``)."""
        # the hot path of every epoch's withdrawals (C-95): one per bonded validator and
        # epoch, so map reads go through the maps' bound C-level ``get`` and the
        # truncating divisions are written out (see `div_trunc`). `_sync_amounts` is
        # written out too for the usual case, a member whose unsettled blocks are all in
        # the segment's last run (every withdrawal after the first of a segment): same
        # reads of the stored figures, same writes in the same order, same values
        per_share_map = self._per_share
        per_share: SdkDec | None = None
        community = 0
        segment = self._segment.get("seg")
        if segment is not None and segment.runs and validator in segment.members:
            last = segment.runs - 1
            pool, blocks = self._runs[last]
            settled = self._settled.get(validator)
            if settled is None or settled[0] != last:
                # older runs to settle (or none settled yet): the general path
                community = self._sync_amounts(validator)
            elif settled[1] != blocks:
                self._settled[validator] = (last, blocks)
                terms = self._snapshot.get(validator, _EXCLUDED)
                if not terms[0]:
                    key = (
                        pool * (SCALE - self._staking.params.community_tax.atomics),
                        segment.members.power_of(validator),
                        segment.total_power,
                        terms,
                    )
                    share = self._shares.get(key)
                    if share is None:
                        share = self._share(key)
                    pending_blocks = blocks - settled[1]
                    community = share[0] * pending_blocks
                    commission = share[1] * pending_blocks
                    increment = share[2] * pending_blocks
                    if commission:
                        self._commission[validator] = SdkDec(
                            self._commission.get(validator, _ZERO).atomics + commission
                        )
                    if increment:
                        per_share = SdkDec(per_share_map.get(validator, _ZERO).atomics + increment)
                        per_share_map[validator] = per_share
        if per_share is None:
            per_share = per_share_map.get(validator, _ZERO)
        key2 = (delegator, validator)
        # on atomics: pending = shares.mul_trunc(per_share - start);
        # paid = pending.truncate_int(); rest = pending - paid
        if delegation is None:
            pending = 0
        else:
            start = self._start.get(key2)
            product = delegation.shares.atomics * (
                per_share.atomics if start is None else per_share.atomics - start.atomics
            )
            pending = product // SCALE if product >= 0 else -(-product // SCALE)
        self._start[key2] = per_share
        paid = pending // SCALE if pending >= 0 else -(-pending // SCALE)
        rest = pending - paid * SCALE
        if community or rest:
            community += rest
            # the stored part of the pool: adding to it is adding to the whole (exact sums)
            self._pool["pool"] = SdkDec(self._pool.get("pool", _ZERO).atomics + community)
        if paid:
            self._bank.transfer(
                self.module_account,
                self._withdraw_to.get(delegator, delegator),
                self._staking.params.bond_denom,
                paid,
            )
        return paid

    def _share(self, key: tuple[int, int, int, _Terms]) -> tuple[int, int, int]:
        """`_member_share` of ``key`` through the memo (see `_shares`)."""
        shares = self._shares
        share = shares.get(key)
        if share is None:
            share = _member_share(*key)
            if len(shares) >= _SHARE_CACHE_LIMIT:
                shares.clear()
            shares[key] = share
        return share

    # -- delegation hooks (C-26) --

    def before_delegation_shares_modified(self, delegator: str, validator: str) -> None:
        """Auto-withdraw the pending rewards before the shares change."""
        self._settle(delegator, validator)
        self._mark_dirty(validator)

    def after_delegation_modified(self, delegator: str, validator: str) -> None:
        """Start the delegation's reward period at the current accumulator."""
        self._sync(validator)
        self._start[(delegator, validator)] = self._per_share.get(validator, _ZERO)
        self._mark_dirty(validator)

    def after_delegation_removed(self, delegator: str, validator: str) -> None:
        """Forget the removed delegation's start value."""
        self._start.pop((delegator, validator), None)
        self._mark_dirty(validator)

    # -- staking hooks: a member's terms changed (lazy allocation) --

    def before_validator_modified(self, validator: str) -> None:
        """Commission change or slash: re-read the validator's terms at the next allocation."""
        self._mark_dirty(validator)

    def after_validator_jailed(self, validator: str) -> None:
        """A jailed member earns nothing from the next allocation on (C-25, C-32)."""
        self._mark_dirty(validator)

    def after_validator_unjailed(self, validator: str) -> None:
        """An unjailed member may earn again (if still in the reward set)."""
        self._mark_dirty(validator)

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
        stored = self._reward_set.get("set")
        members = _NO_SET if stored is None else stored
        current = self._staking.active_set()
        # the staking module replaces its set object when a member's power or jailed flag
        # changed: then some member's terms may have changed without a hook telling us
        changed = current is not members and bool(current.members or members.members)
        if pool:
            if not self.lazy or changed or not members.members:
                self._close_segment()
                self._allocate(pool, members)
            else:
                self._allocate_lazily(pool, members)
        if stored is not current:
            self._reward_set["set"] = current
        if params.block_provision:
            self._bank.mint(
                self.fee_collector, params.bond_denom, params.block_provision, source="provisions"
            )

    def repeat_begin_block(self, count: int) -> bool:
        """Apply ``count`` more begin-blocks in one step, exactly as ``count`` calls of
        `begin_block` would with nothing else happening in between (idle blocks: no fee, no
        change of the reward set or of a member's terms); return True.

        That closed form holds in the steady state of lazy allocation: the fee pool is one
        ``block_provision`` ``P``, the reward set is the active set, a segment is open on it
        with no dirty member. Then each block moves ``P`` from the fee collector to the
        module account, adds one block to the last ``(P, blocks)`` run (or opens it) and
        mints ``P`` into the fee collector, which so holds ``P`` again: ``count`` blocks
        leave the balances and the supply exactly as minting ``count * P`` straight into
        the module account does. Outside the steady state nothing is done and False is
        returned (produce a block the plain way first). Not atomic by itself: call it
        inside a savepoint.
        """
        if count <= 0:
            return True
        params = self._staking.params
        provision = params.block_provision
        pool = self.fee_pool()
        members = self._reward_set.get("set")
        current = self._staking.active_set()
        if members is not current:
            return False
        if pool == 0 and provision == 0:
            return True  # nothing is allocated or minted
        segment = self._segment.get("seg")
        if (
            pool != provision
            or not self.lazy
            or not current.members
            or segment is None
            or segment.members is not current
            or self._dirty
        ):
            return False
        self._bank.mint(
            self.module_account, params.bond_denom, provision * count, source="provisions"
        )
        last = segment.runs - 1
        run = self._runs.get(last) if last >= 0 else None
        if run is not None and run[0] == provision:
            self._runs[last] = (provision, run[1] + count)
        else:
            self._runs[segment.runs] = (provision, count)
            self._segment["seg"] = _Segment(segment.members, segment.total_power, segment.runs + 1)
        return True

    def _allocate(self, pool: int, members: ActiveSet) -> None:
        params = self._staking.params
        self._bank.transfer(self.fee_collector, self.module_account, params.bond_denom, pool)
        total = SdkDec.from_int(pool)
        total_power = members.total_power
        if total_power == 0:
            self._pool["pool"] = self._pool.get("pool", _ZERO) + total
            return
        for_validators = total.mul_trunc(SdkDec.one() - params.community_tax).atomics
        community = self._pool.get("pool", _ZERO).atomics + total.atomics
        for operator, power in members.members:
            terms = _terms(self._staking.validator(operator))
            if terms[0]:
                continue
            to_community, commission, per_share = _member_share(
                for_validators, power, total_power, terms
            )
            community += to_community
            if commission:
                self._commission[operator] = SdkDec(
                    self._commission.get(operator, _ZERO).atomics + commission
                )
            if per_share:
                self._per_share[operator] = SdkDec(
                    self._per_share.get(operator, _ZERO).atomics + per_share
                )
        self._pool["pool"] = SdkDec(community)

    # -- lazy allocation --

    def _allocate_lazily(self, pool: int, members: ActiveSet) -> None:
        segment = self._segment.get("seg")
        if segment is None or segment.members is not members:
            self._close_segment()
            segment = self._open_segment(members)
        elif self._dirty:
            for operator in list(self._dirty):
                # settle with the terms the unsettled blocks had, then take the new ones
                self._sync(operator)
                self._snapshot[operator] = _terms(self._staking.validator(operator))
            self._dirty.clear()
        self._bank.transfer(
            self.fee_collector, self.module_account, self._staking.params.bond_denom, pool
        )
        last = segment.runs - 1
        run = self._runs.get(last) if last >= 0 else None
        if run is not None and run[0] == pool:
            self._runs[last] = (pool, run[1] + 1)
        else:
            self._runs[segment.runs] = (pool, 1)
            self._segment["seg"] = _Segment(segment.members, segment.total_power, segment.runs + 1)

    def _open_segment(self, members: ActiveSet) -> _Segment:
        staking = self._staking
        for operator, _ in members.members:
            self._snapshot[operator] = _terms(staking.validator(operator))
        segment = _Segment(members, members.total_power, 0)
        self._segment["seg"] = segment
        return segment

    def _close_segment(self) -> None:
        """Settle every member of the open segment and fold its pools into the community
        pool; no segment is open afterwards."""
        segment = self._segment.get("seg")
        if segment is None:
            return
        for operator, _ in segment.members.members:
            self._sync(operator)
        allocated = sum(pool * blocks for pool, blocks in self._runs.values())
        if allocated:
            self._pool["pool"] = SdkDec(self._pool.get("pool", _ZERO).atomics + allocated * SCALE)
        del self._segment["seg"]
        self._runs.clear()
        self._settled.clear()
        self._snapshot.clear()
        self._dirty.clear()

    def _mark_dirty(self, validator: str) -> None:
        segment = self._segment.get("seg")
        if segment is not None and validator in segment.members and validator not in self._dirty:
            self._dirty[validator] = True

    def _unsettled(
        self, segment: _Segment, operator: str, settled: tuple[int, int] | None = None
    ) -> tuple[int, int, int]:
        """The member's amounts of the blocks not yet settled, as atomics:
        ``(community-pool change, commission, accumulator increment)``. ``settled``: the
        member's settled position when the caller has read it already."""
        index, done = (self._settled.get(operator) or (0, 0)) if settled is None else settled
        if index >= segment.runs:
            return 0, 0, 0
        terms = self._snapshot.get(operator, _EXCLUDED)
        if terms[0]:
            return 0, 0, 0
        power = segment.members.power_of(operator)
        # SdkDec.from_int(pool).mul_trunc(1 - tax) is exactly pool * (1 - tax) in atomics
        keep = SCALE - self._staking.params.community_tax.atomics
        shares = self._shares
        community = commission = per_share = 0
        for run in range(index, segment.runs):
            pool, blocks = self._runs[run]
            if run == index:
                blocks -= done
            if blocks == 0:
                continue
            key = (pool * keep, power, segment.total_power, terms)
            share = shares.get(key)
            if share is None:
                share = self._share(key)
            c, m, p = share
            community += c * blocks
            commission += m * blocks
            per_share += p * blocks
        return community, commission, per_share

    def _sync(self, operator: str) -> None:
        """Settle ``operator``'s unsettled blocks into the stored amounts."""
        community = self._sync_amounts(operator)
        if community:
            self._pool["pool"] = SdkDec(self._pool.get("pool", _ZERO).atomics + community)

    def _sync_amounts(self, operator: str) -> int:
        """`_sync` except the community pool: return its change (atomics) for the caller
        to add."""
        segment = self._segment.get("seg")
        if segment is None or segment.runs == 0 or operator not in segment.members:
            return 0
        last = segment.runs - 1
        position = (last, self._runs[last][1])
        settled = self._settled.get(operator)
        if settled == position:
            return 0
        community, commission, per_share = self._unsettled(
            segment, operator, (0, 0) if settled is None else settled
        )
        self._settled[operator] = position
        if commission:
            self._commission[operator] = SdkDec(
                self._commission.get(operator, _ZERO).atomics + commission
            )
        if per_share:
            self._per_share[operator] = SdkDec(
                self._per_share.get(operator, _ZERO).atomics + per_share
            )
        return community
