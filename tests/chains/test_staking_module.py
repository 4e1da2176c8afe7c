"""Block lifecycle, ordering and whole-module invariants (C-10, C-27, C-31, C-34, P-2)."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chains import ChainError
from chains.contract import SdkDec
from chains.modules import Bank, InvalidBlock, StakingHooks, StakingParams

S = SdkDec.parse
M = 1_000_000


def test_block_heights_and_times_must_increase_C_10(chain, rejects) -> None:
    chain.block()
    h, t = chain.height, chain.time_s
    rejects(
        chain.store,
        lambda: chain.module.begin_block(h, t + 5),
        InvalidBlock(f"height {h} after {h}"),
    )
    rejects(
        chain.store,
        lambda: chain.module.begin_block(h + 1, t),
        InvalidBlock(f"time {t} not after {t}"),
    )
    rejects(
        chain.store,
        lambda: chain.module.end_block(h + 1, t + 5),
        InvalidBlock(f"end of block {h + 1}@{t + 5} but block {h}@{t} is open"),
    )


def test_control_surface_exists_C_34(chain) -> None:
    for name in (
        "create_validator",
        "delegate",
        "undelegate",
        "unjail",
        "set_commission",
        "record_liveness",
        "force_downtime",
        "submit_equivocation",
        "begin_block",
        "end_block",
    ):
        assert callable(getattr(chain.module, name))


def test_set_change_hooks_run_before_unbonding_payouts_C_27(make_chain) -> None:
    chain = make_chain(StakingParams(unbonding_time=100))
    a = chain.add_validator("a", 5 * M)
    chain.block()
    chain.module.undelegate(chain.account("a"), a, M)
    late = chain.add_validator("late", M)
    owner = chain.account("a")
    seen: list[int] = []

    class Probe(StakingHooks):
        def after_validator_bonded(self, validator: str) -> None:
            seen.append(chain.balance(owner))

    chain.module.add_hooks(Probe())
    chain.block(seconds=100)  # the set change and the maturity fall in the same end-block
    assert seen == [0]  # hook ran first
    assert chain.balance(owner) == M
    assert late in chain.staking.active_set()


def test_allocation_happens_before_slashing_in_begin_block_C_31(make_chain) -> None:
    chain = make_chain(StakingParams(signed_blocks_window=7))
    a = chain.add_validator("a", 3 * M)
    chain.add_validator("b", 1 * M)
    chain.blocks(8)
    for _ in range(3):
        chain.begin()
        chain.module.record_liveness(a, signed=False)
        chain.end()
    chain.begin()
    chain.module.record_liveness(a, signed=False)  # the fourth miss ...
    chain.fund(chain.account("payer"), 1000)
    chain.module.collect_fee(chain.account("payer"), 1000)  # ... and fees in the same block
    chain.end()
    chain.begin()  # allocates first (a not yet jailed), then jails a
    assert chain.staking.validator(a).jailed
    assert chain.distribution.rewards_per_share(a) == S("735").quo_trunc(3 * M)


def test_idle_blocks_keep_state_and_journal_constant(chain) -> None:
    for i in range(5):
        chain.add_validator(f"v{i}", (i + 1) * M)
    chain.blocks(3)
    sizes = {name: len(values) for name, values in chain.store.snapshot().items()}
    chain.blocks(2000)
    assert {name: len(values) for name, values in chain.store.snapshot().items()} == sizes
    assert chain.store.journal_length == 0
    assert chain.store.depth == 0


# -- property: conservation and share math ---------------------------------------------------


class CountingBank(Bank):
    """A bank that counts every mint and burn, to check supply moves only through them."""

    minted_total = 0
    burned_total = 0

    def mint(self, recipient: str, denom: str, amount: int, *, source: str = "") -> None:
        super().mint(recipient, denom, amount, source=source)
        self.minted_total += amount

    def burn(self, holder: str, denom: str, amount: int, *, source: str = "") -> None:
        super().burn(holder, denom, amount, source=source)
        self.burned_total += amount


def _check_invariants(chain) -> None:
    bank, staking, dist = chain.bank, chain.staking, chain.distribution
    # conservation: balances (incl. module accounts and pools) sum to the supply, which moves
    # only by mint and burn
    assert sum(a for _, d, a in bank.iter_balances() if d == "stake") == bank.supply("stake")
    assert bank.supply("stake") == bank.minted_total - bank.burned_total
    # the bank's own ledger agrees
    assert bank.supply("stake") == sum(bank.minted("stake").values()) - sum(
        bank.burned("stake").values()
    )
    validators = staking.validators()
    assert chain.balance(staking.bonded_pool) == sum(v.tokens for v in validators)
    unbonding = sum(e.balance for _, _, entries in staking.iter_unbonding() for e in entries)
    assert chain.balance(staking.not_bonded_pool) == unbonding
    assert chain.balance(dist.fee_collector) == dist.fee_pool()
    owed = dist.community_pool()
    for v in validators:
        owed += dist.commission(v.operator)
        delegations = staking.delegations_to(v.operator)
        for d in delegations:
            owed += dist.pending_rewards(d.delegator, v.operator)
        # shares: the delegations add up to the validator's shares, and are never worth more
        # than its tokens
        assert sum((d.shares for d in delegations), SdkDec.zero()) == v.delegator_shares
        assert (
            sum(staking.delegation_value(d.delegator, v.operator) for d in delegations) <= v.tokens
        )
        assert v.tokens >= 0
    assert SdkDec.from_int(chain.balance(dist.module_account)) >= owed


_NAMES = ["a", "b", "c"]
_WHO = ["a", "b", "self"]  # "self" is the validator's own account: its self-delegation
_AMOUNTS = st.integers(min_value=0, max_value=3 * M)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("delegate"), st.sampled_from(_WHO), st.sampled_from(_NAMES), _AMOUNTS),
        st.tuples(
            st.just("undelegate"), st.sampled_from(_NAMES), st.sampled_from(_NAMES), _AMOUNTS
        ),
        st.tuples(st.just("instant"), st.sampled_from(_WHO), st.sampled_from(_NAMES), _AMOUNTS),
        st.tuples(
            st.just("withdraw"), st.sampled_from(_NAMES), st.sampled_from(_NAMES), st.just(0)
        ),
        st.tuples(
            st.just("commission"), st.sampled_from(_NAMES), st.sampled_from(_NAMES), st.just(0)
        ),
        st.tuples(st.just("fee"), st.sampled_from(_WHO), st.sampled_from(_NAMES), _AMOUNTS),
        st.tuples(st.just("miss"), st.sampled_from(_NAMES), st.sampled_from(_NAMES), st.just(0)),
        st.tuples(
            st.just("downtime"), st.sampled_from(_NAMES), st.sampled_from(_NAMES), st.just(0)
        ),
        st.tuples(st.just("unjail"), st.sampled_from(_NAMES), st.sampled_from(_NAMES), st.just(0)),
        st.tuples(
            st.just("evidence"),
            st.sampled_from(_NAMES),
            st.sampled_from(_NAMES),
            st.integers(0, 20),
        ),
        st.tuples(st.just("block"), st.just("a"), st.just("a"), st.sampled_from([5, 600, 50_000])),
    ),
    min_size=15,
    max_size=60,
)


def _apply(chain, kind: str, user: str, op: str, amount: int) -> None:
    module = chain.module
    if kind == "delegate":
        module.delegate(user, op, amount)
    elif kind == "undelegate":
        module.undelegate(user, op, amount)
    elif kind == "instant":
        module.instant_undelegate(user, op, amount)
    elif kind == "withdraw":
        module.withdraw_delegator_reward(user, op)
    elif kind == "commission":
        module.withdraw_validator_commission(op)
    elif kind == "fee":
        module.collect_fee(user, amount)
    elif kind == "miss":
        module.record_liveness(op, signed=False)
    elif kind == "downtime":
        module.force_downtime(op)
    elif kind == "unjail":
        module.unjail(op)
    else:
        consensus = chain.staking.validator(op).consensus_address
        module.submit_equivocation(consensus, chain.height, chain.time_s, amount)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS)
def test_conservation_and_share_math_under_random_operations_C_17_C_28_C_25(
    make_chain, ops
) -> None:
    params = StakingParams(
        unbonding_time=100_000,
        signed_blocks_window=5,
        downtime_jail_duration=600,
        slash_fraction_downtime=S("0.1"),
        slash_fraction_double_sign=S("0.25"),
        block_provision=7,
        max_validators=2,
    )
    chain = make_chain(params, bank_cls=CountingBank)
    ops_by_name = {
        n: chain.add_validator(n, (3 + i) * M, commission=f"0.{i}") for i, n in enumerate(_NAMES)
    }
    accounts = {n: chain.account(f"user-{n}") for n in _NAMES}
    for account in accounts.values():
        chain.fund(account, 10 * M)
    for n in _NAMES:
        chain.fund(chain.account(n), 2 * M)
    chain.block()
    chain.begin()
    for kind, who, val, amount in ops:
        op = ops_by_name[val]
        user = chain.account(val) if who == "self" else accounts[who]
        if kind == "block":
            chain.end()
            chain.begin(seconds=amount)
        else:
            before = chain.store.snapshot()
            try:
                _apply(chain, kind, user, op, amount)
                event(f"{kind}: ok")
            except ChainError as err:
                event(f"{kind}: {err.name}")
                assert chain.store.snapshot() == before  # C-5: an error changes nothing
        _check_invariants(chain)
    chain.end()
    chain.blocks(3, seconds=100_000)  # everything matures
    _check_invariants(chain)
    assert list(chain.staking.iter_unbonding()) == []
