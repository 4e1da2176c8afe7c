"""Lazy reward allocation gives exactly the plain allocation's figures (C-24..C-26, C-31, C-32).

Two chains run the same operations, one with the O(1)-per-block lazy allocation (the default)
and one with ``distribution.lazy = False`` (every member credited every block, the plain
C-25 loop). After every operation every figure a holder can observe must be *equal*: the
community pool, each validator's commission and accumulator, each delegation's pending
rewards, every balance, and the outcome (value or error) of the operation itself.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import ChainError
from chains.contract import SdkDec
from chains.modules import StakingParams

M = 1_000_000
VALIDATORS = ("a", "b", "c", "d")
DELEGATORS = ("d0", "d1", "d2")
# commission rates exercising the half-even commission rounding; "c" keeps a self-delegation
# floor (C-23: undelegating below it jails the validator inside the undelegation)
COMMISSIONS = {"a": "0", "b": "0.1", "c": "0.333333333333333333", "d": "0.05"}
SELF_BONDS = {"a": 3 * M, "b": M, "c": 2 * M, "d": 5 * M + 1}
MIN_SELF = {"c": 1_500_000}
SHARES = {"d": SdkDec.parse("3.5")}  # a token/share rate other than 1


def _build(make_chain: Any, lazy: bool) -> Any:
    chain = make_chain(
        StakingParams(
            block_provision=1_000,
            max_validators=3,
            unbonding_time=3_000,
            downtime_jail_duration=600,
        )
    )
    chain.distribution.lazy = lazy
    for name in VALIDATORS:
        operator = chain.operator(name)
        chain.fund(chain.account(name), SELF_BONDS[name])
        chain.module.create_validator(
            operator,
            f"pubkey-{name}",
            SELF_BONDS[name],
            SdkDec.parse(COMMISSIONS[name]),
            MIN_SELF.get(name, 0),
            self_bond_shares=SHARES.get(name),
        )
    for name in DELEGATORS:
        chain.fund(chain.account(name), 10**12)
    chain.fund(chain.account("payer"), 10**12)
    chain.block()
    chain.begin()
    return chain


def _observe(chain: Any) -> dict[str, Any]:
    dist, staking = chain.distribution, chain.staking
    seen: dict[str, Any] = {"community": dist.community_pool(), "fees": dist.fee_pool()}
    for v in VALIDATORS:
        op = chain.operator(v)
        seen[f"commission {v}"] = dist.commission(op)
        seen[f"acc {v}"] = dist.rewards_per_share(op)
        for d in (*DELEGATORS, v):
            seen[f"pending {d} {v}"] = dist.pending_rewards(chain.account(d), op)
        record = staking.validator(op)
        seen[f"validator {v}"] = record
    for name in (*DELEGATORS, *VALIDATORS, "payer"):
        seen[f"balance {name}"] = chain.balance(chain.account(name))
    seen["module"] = chain.balance(dist.module_account)
    seen["supply"] = chain.bank.supply("stake")
    return seen


def _apply(chain: Any, op: tuple[Any, ...]) -> Any:
    kind = op[0]
    module = chain.module
    if kind == "blocks":
        for _ in range(op[1]):
            chain.end()
            chain.begin(op[2])
        return None
    if kind == "fee":
        module.collect_fee(chain.account("payer"), op[1])
        return None
    if kind == "delegate":
        return module.delegate(chain.account(op[1]), chain.operator(op[2]), op[3])
    if kind == "undelegate":
        return module.undelegate(chain.account(op[1]), chain.operator(op[2]), op[3])
    if kind == "self_undelegate":
        return module.undelegate(chain.account(op[1]), chain.operator(op[1]), op[2])
    if kind == "instant":
        return module.instant_undelegate(chain.account(op[1]), chain.operator(op[2]), op[3])
    if kind == "redelegate":
        if op[2] == op[3] or not hasattr(module, "redelegate"):
            return None
        return module.redelegate(
            chain.account(op[1]), chain.operator(op[2]), chain.operator(op[3]), op[4]
        )
    if kind == "withdraw":
        return module.withdraw_delegator_reward(chain.account(op[1]), chain.operator(op[2]))
    if kind == "withdraw_self":
        return module.withdraw_delegator_reward(chain.account(op[1]), chain.operator(op[1]))
    if kind == "withdraw_commission":
        return module.withdraw_validator_commission(chain.operator(op[1]))
    if kind == "commission":
        return module.set_commission(chain.operator(op[1]), SdkDec.parse(op[2]))
    if kind == "downtime":
        return module.force_downtime(chain.operator(op[1]))
    if kind == "jail":  # the staking primitive, no capture hook (as the staking tests do)
        return chain.staking.jail(chain.operator(op[1]))
    if kind == "unjail":
        return module.unjail(chain.operator(op[1]))
    raise AssertionError(kind)


def _run(chain: Any, op: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "ok", _apply(chain, op)
    except ChainError as err:
        return "error", err


_validator = st.sampled_from(VALIDATORS)
_delegator = st.sampled_from(DELEGATORS)
# mostly below one unit of power, so most operations leave the reward set as it is and the
# lazy path (an open segment, dirty members) is what gets exercised
_amount = st.one_of(st.integers(1, M - 1), st.integers(1, M - 1), st.integers(1, 3 * M))
_by_kind: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "blocks": st.tuples(st.just("blocks"), st.integers(1, 6), st.sampled_from([5, 5, 700])),
    "fee": st.tuples(st.just("fee"), st.integers(1, 5_000)),
    "delegate": st.tuples(st.just("delegate"), _delegator, _validator, _amount),
    "undelegate": st.tuples(st.just("undelegate"), _delegator, _validator, _amount),
    "self_undelegate": st.tuples(st.just("self_undelegate"), _validator, st.integers(1, M)),
    "instant": st.tuples(st.just("instant"), _delegator, _validator, _amount),
    "redelegate": st.tuples(st.just("redelegate"), _delegator, _validator, _validator, _amount),
    "withdraw": st.tuples(st.just("withdraw"), _delegator, _validator),
    "withdraw_self": st.tuples(st.just("withdraw_self"), _validator),
    "withdraw_commission": st.tuples(st.just("withdraw_commission"), _validator),
    "commission": st.tuples(
        st.just("commission"), _validator, st.sampled_from(["0", "0.05", "0.1", "0.2"])
    ),
    "downtime": st.tuples(st.just("downtime"), _validator),
    "jail": st.tuples(st.just("jail"), _validator),
    "unjail": st.tuples(st.just("unjail"), _validator),
}
# blocks between the other operations most of the time: segments stay open across them
_ops = st.sampled_from([*["blocks"] * 8, *_by_kind]).flatmap(lambda kind: _by_kind[kind])

# each mechanism that keeps the lazy figures exact, in an open segment (quiet blocks first);
# "a", "c" and "d" are the members of the reward set (max_validators 3)
_QUIET = ("blocks", 3, 5)
_TARGETED: list[list[tuple[Any, ...]]] = [
    [_QUIET, ("commission", "d", "0.2"), _QUIET],  # terms change with a hook
    [_QUIET, ("jail", "a"), _QUIET],  # no hook: the set changes at end-block
    [_QUIET, ("downtime", "a"), ("blocks", 2, 700), ("unjail", "a"), _QUIET],
    [_QUIET, ("delegate", "d0", "a", 10), _QUIET, ("withdraw", "d0", "a"), _QUIET],
    [_QUIET, ("self_undelegate", "c", 600_000), _QUIET],  # C-23 jail inside an undelegation
    [_QUIET, ("fee", 7), ("blocks", 1, 5), ("fee", 3), _QUIET, ("withdraw_commission", "d")],
]


def _compare(make_chain: Any, ops: list[tuple[Any, ...]]) -> None:
    lazy, plain = _build(make_chain, True), _build(make_chain, False)
    assert _observe(lazy) == _observe(plain)
    for op in ops:
        assert _run(lazy, op) == _run(plain, op), op
        assert _observe(lazy) == _observe(plain), op
    # a long quiet stretch: one run of identical blocks, settled in one step
    for chain in (lazy, plain):
        _apply(chain, ("blocks", 200, 5))
    assert _observe(lazy) == _observe(plain)


def test_each_lazy_mechanism_keeps_figures_exact_C_25_C_26(make_chain: Any) -> None:
    for ops in _TARGETED:
        _compare(make_chain, ops)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ops, min_size=5, max_size=40))
def test_lazy_allocation_equals_plain_allocation_exactly_C_25_C_26(
    make_chain: Any, ops: list[tuple[Any, ...]]
) -> None:
    _compare(make_chain, ops)


def test_quiet_blocks_touch_no_member_C_25(make_chain: Any) -> None:
    """The point of the lazy allocation: a block whose set and members' terms did not change
    writes O(1) entries, whatever the size of the set."""
    chain = _build(make_chain, True)
    chain.end()
    chain.begin()
    chain.end()
    point = chain.store.savepoint()
    chain.begin()
    writes = chain.store.journal_length
    chain.store.release(point)
    # block height/time, the run counter, the fee transfer and the provision mint
    assert writes <= 8
    # ... and the figures are there when read
    a = chain.operator("a")
    assert chain.distribution.rewards_per_share(a) > SdkDec.zero()
