"""The native staking core: validators, power, delegations, unbonding, slash (C-13..C-28)."""

from __future__ import annotations

import pytest

from chains import InsufficientFunds, InvalidAddress, InvalidAmount
from chains.contract import InvalidFraction, SdkDec
from chains.modules import (
    AlreadyJailed,
    BondStatus,
    InvalidCommission,
    InvalidInfractionHeight,
    InvalidPower,
    InvalidSharesAmount,
    NoDelegation,
    NotJailed,
    PubkeyExists,
    SelfDelegationTooLow,
    StakingParams,
    TooManyUnbondingEntries,
    ValidatorExists,
    ValidatorNotFound,
)

S = SdkDec.parse
M = 1_000_000
DAY = 86_400


# -- C-13 parameters ------------------------------------------------------------------------


def test_default_parameters_C_13() -> None:
    p = StakingParams()
    assert p.bond_denom == "stake"
    assert p.power_reduction == 1_000_000
    assert p.max_validators == 100
    assert p.unbonding_time == 1_814_400
    assert p.max_entries == 7
    assert p.signed_blocks_window == 100
    assert p.min_signed_per_window == S("0.5")
    assert p.downtime_jail_duration == 600
    assert p.slash_fraction_double_sign == S("0.05")
    assert p.slash_fraction_downtime == S("0.01")
    assert (p.evidence_max_age_duration, p.evidence_max_age_num_blocks) == (172_800, 100_000)
    assert p.validator_update_delay == 1
    assert p.community_tax == S("0.02")
    assert p.block_provision == 0


def test_e2e_consumer_profile_C_13() -> None:
    p = StakingParams.e2e_consumer()
    assert p.slash_fraction_double_sign == S("0.1")
    assert p.slash_fraction_downtime == S("0.1")
    assert p.max_validators == 100


def test_params_are_validated_and_frozen_C_13() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        StakingParams(community_tax=S("1.5"))
    with pytest.raises(ValidationError):
        StakingParams(power_reduction=0)
    p = StakingParams.model_validate({"slash_fraction_downtime": "0.100000000000000000"})
    assert p.slash_fraction_downtime == S("0.1")
    with pytest.raises(ValidationError):
        p.max_validators = 3  # type: ignore[misc]


# -- C-14 validators ------------------------------------------------------------------------


def test_create_validator_record_C_14(chain) -> None:
    op = chain.add_validator("v1", 5 * M, commission="0.1", min_self_delegation=2 * M)
    v = chain.staking.validator(op)
    assert op.startswith("starsvaloper1")
    assert v.consensus_pubkey == "pubkey-v1"
    assert v.tokens == 5 * M
    assert v.delegator_shares == SdkDec.from_int(5 * M)
    assert v.status is BondStatus.UNBONDED
    assert not v.jailed
    assert v.commission_rate == S("0.1")
    assert (v.max_rate, v.max_change_rate) == (SdkDec.one(), SdkDec.one())
    assert v.min_self_delegation == 2 * M
    assert chain.staking.self_delegation(op) == 5 * M
    assert chain.balance(chain.account("v1")) == 0
    assert chain.balance(chain.staking.bonded_pool) == 5 * M
    assert chain.staking.validator_by_consensus_address(v.consensus_address) == op


def test_genesis_profile_share_ratio_C_13(chain) -> None:
    # 1_000_000 tokens with a delegator-share total of 1.0
    op = chain.add_validator("g", M, shares=S("1"))
    assert chain.staking.validator(op).delegator_shares == SdkDec.one()
    assert chain.staking.delegation_value(chain.account("g"), op) == M


def test_create_validator_errors_leave_state_unchanged(chain, rejects) -> None:
    op = chain.add_validator("v1", M)
    acct = chain.account("v2")
    chain.fund(acct, 10 * M)
    new_op = chain.operator("v2")
    create = chain.module.create_validator
    cases = [
        (lambda: create(op, "pk-other", M, SdkDec.zero()), ValidatorExists(op)),
        (lambda: create(new_op, "pubkey-v1", M, SdkDec.zero()), PubkeyExists("pubkey-v1")),
        (lambda: create(new_op, "pk", 0, SdkDec.zero()), InvalidAmount(0)),
        (
            lambda: create(new_op, "pk", 11 * M, SdkDec.zero()),
            InsufficientFunds(acct, "stake", 10 * M, 11 * M),
        ),
        (
            lambda: create(new_op, "pk", M, S("1.1")),
            InvalidCommission("rate must be between 0 and the max rate"),
        ),
        (
            lambda: create(new_op, "pk", M, S("0.2"), max_rate=S("0.1")),
            InvalidCommission("rate must be between 0 and the max rate"),
        ),
        (
            lambda: create(new_op, "pk", M, SdkDec.zero(), 2 * M),
            SelfDelegationTooLow(new_op, M, 2 * M),
        ),
        (
            lambda: create(new_op, "pk", M, SdkDec.zero(), self_bond_shares=SdkDec.zero()),
            InvalidSharesAmount(),
        ),
    ]
    for call, error in cases:
        rejects(chain.store, call, error)
    with pytest.raises(InvalidAddress):
        create(acct, "pk", M, SdkDec.zero())  # an account address is not an operator address


# -- C-15 power and the active set ---------------------------------------------------------


def test_power_is_tokens_floor_div_power_reduction_C_15(chain) -> None:
    op = chain.add_validator("v", 2_999_999)
    assert chain.staking.validator(op).power(chain.params.power_reduction) == 2


def test_active_set_picks_highest_power_with_lexicographic_ties_C_15(make_chain) -> None:
    chain = make_chain(StakingParams(max_validators=2))
    ops = {
        name: chain.add_validator(name, tokens)
        for name, tokens in [("a", 3 * M), ("b", 5 * M), ("c", 5 * M + 999_999), ("d", M - 1)]
    }
    chain.block()
    bonded = chain.staking.active_set()
    # b and c both have power 5: the lexicographically smaller operator wins the tie
    expected = sorted([ops["b"], ops["c"]])
    assert bonded.operators() == tuple(expected)
    assert bonded.power_of(ops["b"]) == 5
    assert ops["d"] not in bonded  # power 0 never enters


def test_active_set_is_recomputed_only_in_end_block_C_15(chain) -> None:
    op = chain.add_validator("v", M)
    assert chain.staking.bonded_validators() == ()
    chain.begin()
    assert chain.staking.bonded_validators() == ()
    chain.end()
    assert [v.operator for v in chain.staking.bonded_validators()] == [op]
    chain.begin()
    chain.staking.jail(op)
    assert op in chain.staking.active_set()
    chain.end()
    assert op not in chain.staking.active_set()


def test_jailed_validators_are_excluded_C_15(chain) -> None:
    a = chain.add_validator("a", 9 * M)
    b = chain.add_validator("b", M)
    chain.staking.jail(a)
    chain.block()
    assert chain.staking.active_set().operators() == (b,)


# -- C-16 status transitions and hooks ------------------------------------------------------


def test_status_transitions_and_hooks_C_16(make_chain) -> None:
    chain = make_chain(StakingParams(max_validators=1, unbonding_time=100))
    a = chain.add_validator("a", 2 * M)
    chain.block()
    assert chain.hooks.calls == [("bonded", a)]
    assert chain.staking.validator(a).status is BondStatus.BONDED

    b = chain.add_validator("b", 3 * M)
    chain.hooks.clear()
    chain.block()
    assert chain.hooks.calls == [("bonded", b), ("begin_unbonding", a)]
    va = chain.staking.validator(a)
    assert va.status is BondStatus.UNBONDING
    assert va.unbonding_completion_time == chain.time_s + 100
    assert va.unbonding_height == chain.height

    chain.blocks(19)  # 95 s later: not yet
    assert chain.staking.validator(a).status is BondStatus.UNBONDING
    chain.block()  # 100 s: completed
    assert chain.staking.validator(a).status is BondStatus.UNBONDED

    # re-entering from Unbonded fires after_validator_bonded again
    chain.hooks.clear()
    chain.staking.jail(b)
    chain.block()
    assert chain.hooks.calls == [("bonded", a), ("begin_unbonding", b)]

    # re-entering from Unbonding cancels the pending completion
    chain.hooks.clear()
    chain.staking.unjail(b)
    chain.block()
    assert chain.hooks.calls == [("bonded", b), ("begin_unbonding", a)]
    chain.staking.jail(b)
    chain.block()
    chain.blocks(25)
    assert chain.staking.validator(b).status is BondStatus.UNBONDED
    assert chain.staking.validator(a).status is BondStatus.BONDED


def test_set_commission_fires_modified_C_16(chain, rejects) -> None:
    op = chain.add_validator("v", M)
    chain.module.set_commission(op, S("0.2"))
    assert chain.hooks.calls == [("modified", op)]
    assert chain.staking.validator(op).commission_rate == S("0.2")
    rejects(
        chain.store,
        lambda: chain.module.set_commission(op, S("1.2")),
        InvalidCommission("rate must be between 0 and the max rate"),
    )
    rejects(
        chain.store,
        lambda: chain.module.set_commission("nope", S("0.1")),
        ValidatorNotFound("nope"),
    )


def test_commission_change_rate_limit(chain, rejects) -> None:
    op = chain.operator("v")
    chain.fund(chain.account("v"), M)
    chain.module.create_validator(
        op, "pk", M, S("0.1"), max_rate=S("0.5"), max_change_rate=S("0.05")
    )
    chain.module.set_commission(op, S("0.15"))
    rejects(
        chain.store,
        lambda: chain.module.set_commission(op, S("0.25")),
        InvalidCommission("change exceeds the max change rate"),
    )


# -- C-17 delegating -------------------------------------------------------------------------


def test_delegate_share_math_C_17(chain) -> None:
    op = chain.add_validator("v", 3, shares=SdkDec.from_int(2))  # 3 tokens, 2 shares
    alice = chain.account("alice")
    chain.fund(alice, 10)
    shares = chain.module.delegate(alice, op, 1)
    assert shares == S("0.666666666666666666")  # 1 * 2 / 3, truncated
    v = chain.staking.validator(op)
    assert v.tokens == 4
    assert v.delegator_shares == S("2.666666666666666666")
    assert chain.staking.delegation(alice, op).shares == shares
    assert chain.balance(alice) == 9


def test_delegate_to_jailed_unbonding_or_unbonded_allowed_C_17_C_32(chain) -> None:
    op = chain.add_validator("v", M)
    chain.block()
    chain.staking.jail(op)
    chain.block()
    assert chain.staking.validator(op).status is BondStatus.UNBONDING
    alice = chain.account("alice")
    chain.fund(alice, 3)
    chain.module.delegate(alice, op, 1)
    chain.blocks(1, seconds=chain.params.unbonding_time)
    assert chain.staking.validator(op).status is BondStatus.UNBONDED
    chain.module.delegate(alice, op, 1)
    assert chain.staking.delegation_value(alice, op) == 2


def test_delegate_errors_C_17(chain, rejects) -> None:
    op = chain.add_validator("v", M)
    alice = chain.account("alice")
    chain.fund(alice, 10)
    rejects(chain.store, lambda: chain.module.delegate(alice, op, 0), InvalidAmount(0))
    rejects(chain.store, lambda: chain.module.delegate(alice, "nope", 1), ValidatorNotFound("nope"))
    rejects(
        chain.store,
        lambda: chain.module.delegate(alice, op, 11),
        InsufficientFunds(alice, "stake", 10, 11),
    )


def test_delegate_to_validator_without_tokens_is_refused(chain, rejects) -> None:
    from chains.modules import InvalidExchangeRate

    op = chain.add_validator("v", M)
    chain.block()
    chain.begin()
    chain.staking.slash(op, chain.height, 1, SdkDec.one())
    assert chain.tokens(op) == 0
    alice = chain.account("alice")
    chain.fund(alice, 10)
    rejects(chain.store, lambda: chain.module.delegate(alice, op, 1), InvalidExchangeRate(op))
    rejects(
        chain.store,
        lambda: chain.module.undelegate(chain.account("v"), op, 1),
        InvalidSharesAmount(),
    )


# -- C-19 / C-20 undelegating ------------------------------------------------------------------


def test_undelegate_creates_entry_and_matures_C_19_C_20(chain) -> None:
    op = chain.add_validator("v", 10 * M)
    chain.block()
    alice = chain.account("alice")
    chain.fund(alice, 4 * M)
    chain.module.delegate(alice, op, 4 * M)
    chain.begin()
    entry = chain.module.undelegate(alice, op, M)
    assert entry.creation_height == chain.height
    assert entry.completion_time == chain.time_s + chain.params.unbonding_time
    assert entry.initial_balance == entry.balance == M
    assert chain.staking.delegation_value(alice, op) == 3 * M
    assert chain.balance(chain.staking.not_bonded_pool) == M
    chain.end()
    chain.block(seconds=chain.params.unbonding_time - 10)
    assert chain.balance(alice) == 0
    chain.block(seconds=10)  # completion_time <= now: paid in this end-block
    assert chain.balance(alice) == M
    assert chain.module.unbonding_entries(alice, op) == ()
    assert chain.balance(chain.staking.not_bonded_pool) == 0


def test_undelegate_more_than_delegated_is_invalid_shares_C_19(chain, rejects) -> None:
    op = chain.add_validator("v", 100)
    alice = chain.account("alice")
    chain.fund(alice, 100)
    chain.module.delegate(alice, op, 100)
    rejects(chain.store, lambda: chain.module.undelegate(alice, op, 101), InvalidSharesAmount())
    rejects(
        chain.store,
        lambda: chain.module.undelegate(chain.account("bob"), op, 1),
        NoDelegation(chain.account("bob"), op),
    )
    rejects(chain.store, lambda: chain.module.undelegate(alice, op, 0), InvalidAmount(0))
    rejects(
        chain.store, lambda: chain.module.undelegate(alice, "nope", 1), ValidatorNotFound("nope")
    )


def test_removing_all_shares_deletes_delegation_and_last_takes_all_tokens_C_19(chain) -> None:
    op = chain.add_validator("v", 10, shares=SdkDec.from_int(3))
    acct = chain.account("v")
    assert chain.staking.self_delegation(op) == 10
    chain.module.instant_undelegate(acct, op, 10)
    assert chain.staking.delegation(acct, op) is None
    v = chain.staking.validator(op)
    assert (v.tokens, v.delegator_shares) == (0, SdkDec.zero())
    assert chain.balance(acct) == 10


def test_undelegate_returns_truncated_rounded_value_C_18_C_19(chain) -> None:
    # 9 tokens behind 10 shares; undelegating 4 tokens removes 4 * 10 / 9 = 4.444444444444444444
    # shares (truncated), worth 4.444444444444444444 * 9 / 10 = 3.9999999999999999996 exactly,
    # which rounds to 4.000000000000000000 before truncation: 4 tokens come back, not 3
    op = chain.add_validator("v", 9, shares=SdkDec.from_int(10))
    acct = chain.account("v")
    assert chain.module.instant_undelegate(acct, op, 4) == 4
    v = chain.staking.validator(op)
    assert v.tokens == 5
    assert v.delegator_shares == S("5.555555555555555556")
    assert chain.staking.delegation(acct, op).shares == S("5.555555555555555556")


def test_slash_clamps_at_tokens_when_power_is_stale_C_28(chain) -> None:
    op = chain.add_validator("v", 10)
    chain.block()
    chain.begin()
    assert chain.staking.slash(op, chain.height, 10, S("0.1")) == 10  # 10 * M * 0.1 > 10
    assert chain.tokens(op) == 0


def test_max_entries_C_20(make_chain, rejects) -> None:
    chain = make_chain(StakingParams(max_entries=7))
    op = chain.add_validator("v", 100)
    acct = chain.account("v")
    for _ in range(7):
        chain.module.undelegate(acct, op, 1)
    assert len(chain.module.unbonding_entries(acct, op)) == 7
    rejects(
        chain.store, lambda: chain.module.undelegate(acct, op, 1), TooManyUnbondingEntries(acct, op)
    )
    # instant undelegation has no limit (C-21)
    assert chain.module.instant_undelegate(acct, op, 1) == 1
    # once one matures, a new entry is allowed again
    chain.block(seconds=chain.params.unbonding_time)
    chain.module.undelegate(acct, op, 1)


def test_entry_created_whatever_the_status_C_20(chain) -> None:
    op = chain.add_validator("v", 10)  # never bonded: power 0
    entry = chain.module.undelegate(chain.account("v"), op, 4)
    assert entry.balance == 4


def test_instant_undelegate_pays_at_once_C_21(chain) -> None:
    op = chain.add_validator("v", 10 * M)
    alice = chain.account("alice")
    chain.fund(alice, 5)
    chain.module.delegate(alice, op, 5)
    assert chain.module.instant_undelegate(alice, op, 2) == 2
    assert chain.balance(alice) == 2
    assert chain.module.unbonding_entries(alice, op) == ()


# -- C-23 self-delegation floor --------------------------------------------------------------


def test_self_delegation_below_minimum_jails_without_capture_C_23(chain) -> None:
    op = chain.add_validator("v", 5 * M, min_self_delegation=4 * M)
    chain.block()
    chain.hooks.clear()
    chain.module.undelegate(chain.account("v"), op, 2 * M)
    assert chain.staking.validator(op).jailed
    assert "jailed" not in chain.hooks.names()
    chain.block()
    assert chain.hooks.calls == [("begin_unbonding", op)]


def test_other_delegators_do_not_trigger_self_delegation_jail_C_23(chain) -> None:
    op = chain.add_validator("v", 5 * M, min_self_delegation=5 * M)
    alice = chain.account("alice")
    chain.fund(alice, M)
    chain.module.delegate(alice, op, M)
    chain.module.undelegate(alice, op, M)
    assert not chain.staking.validator(op).jailed


# -- C-28 slash primitive --------------------------------------------------------------------


def test_slash_uses_given_power_not_tokens_C_28(chain) -> None:
    op = chain.add_validator("a", 46 * M)
    big = chain.add_validator("b", 68_500_000)
    chain.block()
    chain.begin()
    assert chain.staking.slash(op, chain.height, 46, S("0.1")) == 4_600_000
    assert chain.tokens(op) == 41_400_000
    assert chain.staking.slash(big, chain.height, 68, S("0.1")) == 6_800_000
    assert chain.tokens(big) == 61_700_000
    # delegator shares are unchanged: value drops pro rata
    assert chain.staking.validator(big).delegator_shares == SdkDec.from_int(68_500_000)


def test_slash_burns_and_reduces_supply_and_fires_modified_C_28(chain) -> None:
    op = chain.add_validator("a", 10 * M)
    chain.block()
    chain.hooks.clear()
    chain.begin()
    supply = chain.bank.supply("stake")
    burned = chain.staking.slash(op, chain.height, 10, S("0.05"))
    assert burned == 500_000
    assert chain.bank.supply("stake") == supply - burned
    assert chain.balance(chain.staking.bonded_pool) == 10 * M - burned
    assert chain.hooks.calls == [("modified", op)]  # the primitive has no capture


def test_slash_clamps_to_tokens_and_zero_C_28(chain) -> None:
    op = chain.add_validator("a", 46 * M)
    chain.block()
    chain.begin()
    assert chain.staking.slash(op, chain.height, 1000, S("0.1")) == 46 * M
    assert chain.staking.slash(op, chain.height, 10, S("0")) == 0


def test_slash_of_unbonding_entries_C_28(chain) -> None:
    op = chain.add_validator("v", 100 * M)
    alice, bob, carol = (chain.account(n) for n in ("alice", "bob", "carol"))
    for who in (alice, bob, carol):
        chain.fund(who, 10 * M)
        chain.module.delegate(who, op, 10 * M)
    chain.block()  # height 1
    chain.begin()  # height 2: alice unbonds before the infraction height
    chain.module.undelegate(alice, op, 10 * M)
    chain.end()
    chain.begin()  # height 3: bob unbonds at the infraction height
    chain.module.undelegate(bob, op, 10 * M)
    chain.end()
    chain.begin()  # height 4: carol unbonds after it
    chain.module.undelegate(carol, op, 5 * M)
    chain.end()
    chain.begin()  # height 5: slash for an infraction at height 3, power 100, 10%
    tokens = chain.tokens(op)  # 105 M
    burned = chain.staking.slash(op, 3, 100, S("0.1"))
    # amount = 10_000_000; bob's entry: s = 1_000_000, carol's: s = 500_000; alice untouched
    assert burned == 10 * M - M - 500_000
    assert chain.tokens(op) == tokens - burned
    assert chain.module.unbonding_entries(alice, op)[0].balance == 10 * M
    assert chain.module.unbonding_entries(bob, op)[0].balance == 9 * M
    assert chain.module.unbonding_entries(bob, op)[0].initial_balance == 10 * M
    assert chain.module.unbonding_entries(carol, op)[0].balance == 4_500_000
    assert chain.balance(chain.staking.not_bonded_pool) == 10 * M + 9 * M + 4_500_000


def test_slash_at_current_height_skips_entries_and_mature_entries_are_skipped_C_28(chain) -> None:
    op = chain.add_validator("v", 10 * M)
    acct = chain.account("v")
    chain.block()
    chain.begin()
    chain.module.undelegate(acct, op, M)
    assert chain.staking.slash(op, chain.height, 9, S("0.5")) == 4_500_000
    assert chain.module.unbonding_entries(acct, op)[0].balance == M
    chain.end()
    # an entry that is mature (completion <= now) but not yet paid is not slashed
    chain.begin(seconds=chain.params.unbonding_time)
    chain.staking.slash(op, 1, 4, S("0.5"))
    assert chain.module.unbonding_entries(acct, op)[0].balance == M
    chain.end()
    assert chain.balance(acct) == M


def test_slash_nominal_entry_amount_even_if_less_was_burned_C_28(chain) -> None:
    op = chain.add_validator("v", 20 * M)
    acct = chain.account("v")
    chain.block()
    chain.begin()
    chain.module.undelegate(acct, op, 10 * M)
    chain.end()
    chain.begin()
    chain.staking.slash(op, chain.height - 1, 10, S("0.5"))  # entry -> 5 M
    chain.end()
    assert chain.tokens(op) == 10 * M  # 5 M - 5 M nominal: nothing left for the validator
    chain.begin()
    # second slash at 0.8: the entry's nominal s = 8 M but only its 5 M balance can burn;
    # the full 8 M is still deducted, so again nothing is burned from the validator
    burned = chain.staking.slash(op, chain.height - 2, 10, S("0.8"))
    assert chain.module.unbonding_entries(acct, op)[0].balance == 0
    assert burned == 0
    assert chain.tokens(op) == 10 * M


def test_slash_errors(chain, rejects) -> None:
    op = chain.add_validator("v", M)
    chain.block()
    chain.begin()
    rejects(
        chain.store, lambda: chain.staking.slash("nope", 1, 1, S("0.1")), ValidatorNotFound("nope")
    )
    rejects(chain.store, lambda: chain.staking.slash(op, 1, -1, S("0.1")), InvalidPower(-1))
    rejects(
        chain.store,
        lambda: chain.staking.slash(op, 1, 1, S("1.1")),
        InvalidFraction("1.100000000000000000"),
    )
    rejects(
        chain.store,
        lambda: chain.staking.slash(op, chain.height + 1, 1, S("0.1")),
        InvalidInfractionHeight(chain.height + 1, chain.height),
    )


def test_jail_primitive_errors_C_29(chain, rejects) -> None:
    op = chain.add_validator("v", M)
    rejects(chain.store, lambda: chain.staking.unjail(op), NotJailed(op))
    chain.staking.jail(op)
    rejects(chain.store, lambda: chain.staking.jail(op), AlreadyJailed(op))
    rejects(chain.store, lambda: chain.staking.jail("x"), ValidatorNotFound("x"))


def test_queries_do_not_change_state_P_4(chain) -> None:
    op = chain.add_validator("v", M)
    chain.block()
    before = chain.store.snapshot()
    chain.staking.validators()
    chain.staking.bonded_validators()
    chain.staking.delegations_to(op)
    chain.staking.delegations_of(chain.account("v"))
    chain.staking.unbonding_delegations_to(op)
    chain.module.signing_info(op)
    chain.distribution.pending_rewards(chain.account("v"), op)
    assert chain.store.snapshot() == before
