"""Redelegation in the native staking module (consumer.md C-22 with SDK rules, C-28, P-61)."""

from __future__ import annotations

from chains.contract import SdkDec
from chains.modules import (
    BondStatus,
    InfractionReason,
    InvalidSharesAmount,
    NoDelegation,
    SelfRedelegation,
    TooManyRedelegationEntries,
    TransitiveRedelegation,
    ValidatorNotFound,
)

M = 1_000_000


def S(text: str) -> SdkDec:
    return SdkDec.parse(text)


def _setup(chain, names=("a", "b", "c"), delegation: int = 1_000 * M):  # type: ignore[no-untyped-def]
    ops = [chain.add_validator(name, 10 * M) for name in names]
    chain.block()
    chain.begin()
    delegator = chain.account("dan")
    chain.fund(delegator, delegation)
    chain.module.delegate(delegator, ops[0], delegation)
    return delegator, ops


def test_redelegate_moves_stake_without_unbonding_C_22(chain) -> None:
    dan, (a, b, _) = _setup(chain)
    supply = chain.bank.supply("stake")
    entry = chain.module.redelegate(dan, a, b, 400 * M)
    assert entry is not None
    assert chain.module.delegation_value(dan, a) == 600 * M
    assert chain.module.delegation_value(dan, b) == 400 * M
    assert (chain.tokens(a), chain.tokens(b)) == (610 * M, 410 * M)
    assert chain.balance(dan) == 0 and chain.bank.supply("stake") == supply
    assert entry.initial_balance == 400 * M
    assert entry.shares_dst == SdkDec.from_int(400 * M)
    assert entry.creation_height == chain.height
    assert entry.completion_time == chain.time_s + chain.params.unbonding_time
    assert chain.module.redelegation_entries(dan, a, b) == (entry,)


def test_redelegation_entries_mature_after_the_unbonding_time_C_22(chain) -> None:
    dan, (a, b, c) = _setup(chain)
    chain.module.redelegate(dan, a, b, 10 * M)
    chain.end()
    chain.block(seconds=chain.params.unbonding_time - 5)
    assert chain.module.redelegation_entries(dan, a, b) != ()
    chain.block()
    assert chain.module.redelegation_entries(dan, a, b) == ()
    # matured: the delegator may now redelegate out of b (no longer transitive)
    chain.begin()
    assert chain.module.redelegate(dan, b, c, 5 * M) is not None


def test_at_most_seven_redelegation_entries_per_triple_P_61(chain, rejects) -> None:
    dan, (a, b, c) = _setup(chain)
    for _ in range(7):
        chain.module.redelegate(dan, a, b, M)
    assert len(chain.module.redelegation_entries(dan, a, b)) == 7
    rejects(
        chain.store,
        lambda: chain.module.redelegate(dan, a, b, M),
        TooManyRedelegationEntries(dan, a, b),
    )
    # another destination is another triple
    assert chain.module.redelegate(dan, a, c, M) is not None
    chain.end()
    chain.block(seconds=chain.params.unbonding_time)
    chain.begin()
    assert chain.module.redelegate(dan, a, b, M) is not None


def test_no_transitive_redelegation_until_maturity_C_22(chain, rejects) -> None:
    dan, (a, b, c) = _setup(chain)
    chain.module.redelegate(dan, a, b, 100 * M)
    rejects(
        chain.store, lambda: chain.module.redelegate(dan, b, c, M), TransitiveRedelegation(dan, b)
    )
    # redelegating further out of the source is fine
    assert chain.module.redelegate(dan, a, c, M) is not None


def test_redelegation_errors_leave_state_unchanged_C_22(chain, rejects) -> None:
    dan, (a, b, _) = _setup(chain, delegation=100)
    rejects(chain.store, lambda: chain.module.redelegate(dan, a, a, 1), SelfRedelegation(a))
    missing = chain.operator("nobody")
    rejects(
        chain.store, lambda: chain.module.redelegate(dan, a, missing, 1), ValidatorNotFound(missing)
    )
    rejects(chain.store, lambda: chain.module.redelegate(dan, b, a, 1), NoDelegation(dan, b))
    rejects(chain.store, lambda: chain.module.redelegate(dan, a, b, 101), InvalidSharesAmount())


def test_redelegating_more_than_a_slashed_delegation_is_worth_fails_C_22(chain, rejects) -> None:
    dan, (a, b, _) = _setup(chain, delegation=10)
    # a slash leaves the delegation's shares worth less than a token
    chain.staking.slash(a, chain.height, 10, S("0.99"))
    assert chain.module.delegation_value(dan, a) == 0
    rejects(chain.store, lambda: chain.module.redelegate(dan, a, b, 1), InvalidSharesAmount())


def test_redelegation_from_an_unbonded_validator_completes_at_once_C_22(chain) -> None:
    dan, (_, b, c) = _setup(chain)
    late = chain.add_validator("late", 10 * M)  # created in this block: still Unbonded
    assert chain.staking.validator(late).status is BondStatus.UNBONDED
    chain.fund(dan, 50 * M)
    chain.module.delegate(dan, late, 50 * M)
    assert chain.module.redelegate(dan, late, b, 20 * M) is None
    assert chain.module.redelegation_entries(dan, late, b) == ()
    # no entry, so no transitive restriction either
    assert chain.module.redelegate(dan, b, c, 10 * M) is not None


def test_slash_of_the_source_reaches_the_moved_stake_C_28(chain) -> None:
    dan, (a, b, _) = _setup(chain)
    chain.end()
    chain.begin()
    infraction = chain.height
    chain.module.redelegate(dan, a, b, 400 * M)
    chain.end()
    chain.begin()
    supply = chain.bank.supply("stake")
    tokens_a = chain.tokens(a)
    # power 1010 at the infraction, fraction 0.1: 101_000_000 due; the redelegation counts
    # floor(400M * 0.1) = 40M of it and loses 0.1 of its 400M destination shares
    burned = chain.slashing.slash(a, infraction, 1010, S("0.1"), InfractionReason.DOUBLE_SIGN)
    assert burned == 101 * M - 40 * M
    assert chain.tokens(a) == tokens_a - 61 * M
    assert chain.module.delegation_value(dan, b) == 360 * M
    assert chain.tokens(b) == 370 * M
    assert chain.bank.supply("stake") == supply - 101 * M


def test_redelegations_created_before_the_infraction_are_not_slashed_C_28(chain) -> None:
    dan, (a, b, _) = _setup(chain)
    chain.module.redelegate(dan, a, b, 400 * M)
    chain.end()
    chain.begin()
    chain.end()
    chain.begin()
    burned = chain.slashing.slash(a, chain.height - 1, 610, S("0.1"), InfractionReason.DOWNTIME)
    assert burned == 61 * M
    assert chain.module.delegation_value(dan, b) == 400 * M


def test_redelegation_from_an_unbonding_validator_takes_its_completion_C_22(chain) -> None:
    dan, (a, b, _) = _setup(chain)
    chain.slashing.jail(a)
    chain.end()  # a leaves the set: Unbonding until now + unbonding_time
    record = chain.staking.validator(a)
    assert record.status is BondStatus.UNBONDING
    chain.begin()
    entry = chain.module.redelegate(dan, a, b, 10 * M)
    assert entry is not None
    assert entry.completion_time == record.unbonding_completion_time
    assert entry.creation_height == record.unbonding_height
