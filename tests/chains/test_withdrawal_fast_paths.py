"""The reward withdrawal's written-out paths equal the general ones (C-26, C-95, P-73).

Every epoch withdraws from every bonded validator (C-95), so three steps of a withdrawal
are written out rather than composed from helpers: the settlement of the validator's
unsettled blocks inside ``Distribution._pay`` (general path: ``_sync_amounts``), the two
balance writes of ``Bank.transfer`` (general path: ``_set``) and external staking's
``RewardDistribution.distribute`` (general path: the dataclass constructor). Each is run
here against its general path on random inputs: same results, same errors, same state,
and the same writes in the same order (the undo journal compared entry by entry).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import ChainError
from chains.contract import SdkDec, Store
from chains.modules import Bank, Distribution, StakingParams
from chains.provider import RewardDistribution

M = 1_000_000
VALIDATORS = ("a", "b", "c")
DELEGATORS = ("d0", "d1")
COMMISSIONS = {"a": "0", "b": "0.1", "c": "0.333333333333333333"}
_ZERO = SdkDec.zero()


def _general_pay(self: Distribution, delegator: str, validator: str, delegation: Any) -> int:
    """``Distribution._pay`` as it was before the settlement was written out: every
    settlement through ``_sync_amounts``."""
    community = self._sync_amounts(validator)
    per_share = self._per_share.get(validator, _ZERO)
    key = (delegator, validator)
    if delegation is None:
        pending = 0
    else:
        start = self._start.get(key, _ZERO)
        pending = delegation.shares.mul_trunc(per_share - start).atomics
    self._start[key] = per_share
    paid = SdkDec(pending).truncate_int()
    rest = pending - paid * 10**18
    if community or rest:
        self._pool["pool"] = SdkDec(self._pool.get("pool", _ZERO).atomics + community + rest)
    if paid:
        self._bank.transfer(
            self.module_account,
            self.withdraw_address(delegator),
            self._staking.params.bond_denom,
            paid,
        )
    return paid


def _build(make_chain: Any, general: bool) -> Any:
    chain = make_chain(StakingParams(block_provision=1_000, max_validators=3))
    if general:
        dist = chain.distribution
        dist._pay = _general_pay.__get__(dist)
    for name in VALIDATORS:
        chain.fund(chain.account(name), 2 * M)
        chain.module.create_validator(
            chain.operator(name), f"pubkey-{name}", 2 * M, SdkDec.parse(COMMISSIONS[name])
        )
    for name in DELEGATORS:
        chain.fund(chain.account(name), 10**12)
    chain.fund(chain.account("payer"), 10**12)
    chain.block()
    chain.begin()
    return chain


def _apply(chain: Any, op: tuple[Any, ...]) -> Any:
    kind, module = op[0], chain.module
    if kind == "blocks":
        for _ in range(op[1]):
            chain.end()
            chain.begin(5)
        return None
    if kind == "fee":
        return module.collect_fee(chain.account("payer"), op[1])
    if kind == "delegate":
        return module.delegate(chain.account(op[1]), chain.operator(op[2]), op[3])
    if kind == "undelegate":
        return module.undelegate(chain.account(op[1]), chain.operator(op[2]), op[3])
    if kind == "withdraw":
        return chain.distribution.withdraw_delegator_reward(
            chain.account(op[1]), chain.operator(op[2])
        )
    if kind == "commission":
        return module.set_commission(chain.operator(op[1]), SdkDec.parse(op[2]))
    raise AssertionError(kind)


def _run(chain: Any, op: tuple[Any, ...]) -> tuple[tuple[str, Any], list[tuple[str, Any, Any]]]:
    """The op's outcome and the writes it made (map name, key, previous value), in order."""
    store = chain.store
    point = store.savepoint()
    try:
        outcome: tuple[str, Any] = ("ok", _apply(chain, op))
    except ChainError as err:
        outcome = ("error", err)
    writes = [(m.name, key, old) for m, key, old in store._journal[point.mark :]]
    store.release(point)
    return outcome, writes


_validator = st.sampled_from(VALIDATORS)
_delegator = st.sampled_from(DELEGATORS)
_by_kind: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "blocks": st.tuples(st.just("blocks"), st.integers(1, 4)),
    "fee": st.tuples(st.just("fee"), st.integers(1, 5_000)),
    "delegate": st.tuples(st.just("delegate"), _delegator, _validator, st.integers(1, 3 * M)),
    "undelegate": st.tuples(st.just("undelegate"), _delegator, _validator, st.integers(1, M)),
    "withdraw": st.tuples(st.just("withdraw"), _delegator, _validator),
    "commission": st.tuples(st.just("commission"), _validator, st.sampled_from(["0", "0.2"])),
}
# mostly blocks and withdrawals: the epoch's pattern (a run of blocks, then every
# validator's withdrawal), with the changes that close segments or dirty members between
_ops = st.sampled_from(
    [*["blocks"] * 4, *["withdraw"] * 6, "fee", "delegate", "undelegate", "commission"]
).flatmap(lambda kind: _by_kind[kind])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ops, min_size=3, max_size=40))
def test_written_out_settlement_equals_sync_amounts_C_26_C_95(
    make_chain: Any, ops: list[tuple[Any, ...]]
) -> None:
    fast, general = _build(make_chain, False), _build(make_chain, True)
    assert fast.store.snapshot() == general.store.snapshot()
    for op in ops:
        assert _run(fast, op) == _run(general, op), op
        assert fast.store.snapshot() == general.store.snapshot(), op


def test_withdrawals_of_one_epoch_take_the_written_out_settlement_C_95(make_chain: Any) -> None:
    """The test above can fail: the fast path is the one the epoch's pattern takes (a
    member settled earlier in the same run), and it settles the blocks since."""
    chain = _build(make_chain, False)
    d0, a = chain.account("d0"), chain.operator("a")
    chain.module.delegate(d0, a, M)
    _apply(chain, ("blocks", 3))
    chain.distribution.withdraw_delegator_reward(d0, a)
    settled = chain.distribution._settled[a]
    _apply(chain, ("blocks", 2))
    before = chain.distribution.rewards_per_share(a)
    chain.distribution._sync_amounts = None  # the fast path must not need it
    paid = chain.distribution.withdraw_delegator_reward(d0, a)
    assert chain.distribution._settled[a] == (settled[0], settled[1] + 2)
    assert chain.distribution._per_share[a] == before
    assert paid > 0


def _general_transfer(bank: Bank, sender: str, recipient: str, denom: str, amount: int) -> None:
    """``Bank.transfer``'s writes through ``_set`` (as before they were written out)."""
    available = bank.balance(sender, denom)
    if available < amount:
        bank._debit_checked(sender, denom, amount)  # raises
    if sender == recipient:
        return
    bank._set(sender, denom, available - amount)
    bank._set(recipient, denom, bank.balance(recipient, denom) + amount)


_account = st.sampled_from(["x", "y", "z"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_account, st.integers(0, 5)), min_size=1, max_size=5),
    st.lists(st.tuples(_account, _account, st.integers(1, 12)), min_size=1, max_size=25),
)
def test_written_out_transfer_equals_set_path_C_95(
    funding: list[tuple[str, int]], moves: list[tuple[str, str, int]]
) -> None:
    stores, banks = [], []
    for _ in range(2):
        store = Store()
        bank = Bank(store)
        for account, amount in funding:
            if amount:
                bank.mint(account, "stake", amount)
        stores.append(store)
        banks.append(bank)
    for sender, recipient, amount in moves:
        outcomes, journals = [], []
        for index, bank in enumerate(banks):
            store = stores[index]
            point = store.savepoint()
            try:
                if index == 0:
                    bank.transfer(sender, recipient, "stake", amount)
                else:
                    _general_transfer(bank, sender, recipient, "stake", amount)
                outcomes.append("ok")
            except ChainError as err:
                outcomes.append(repr(err))
            journals.append([(m.name, k, old) for m, k, old in store._journal[point.mark :]])
            store.release(point)
        assert outcomes[0] == outcomes[1]
        assert journals[0] == journals[1]
        assert stores[0].snapshot() == stores[1].snapshot()
        # a zero balance is never stored (the conservation checker relies on it)
        assert all(v for v in stores[0].snapshot()["bank/balances"].values())


_u = st.integers(0, 10**30)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**24), _u, st.integers(0, 10**24), _u, _u)
def test_distribute_equals_constructor_P_73(
    total: int, pps: int, leftover: int, received: int, amount: int
) -> None:
    record = RewardDistribution(total, pps, leftover, received)
    made = record.distribute("val", amount)
    points = amount * 10**9 + leftover
    expected = RewardDistribution(
        total, pps + points // total, points - (points // total) * total, received + amount
    )
    assert made == expected
    assert repr(made) == repr(expected) and hash(made) == hash(expected)
    assert type(made) is RewardDistribution
