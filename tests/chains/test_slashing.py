"""Liveness, double-sign evidence, jail/unjail, tombstone and capture points (C-29..C-39)."""

from __future__ import annotations

from chains.contract import SdkDec
from chains.modules import (
    DOUBLE_SIGN_JAIL_END,
    AlreadyJailed,
    BondStatus,
    InfractionReason,
    JailedUntilNotPassed,
    NotJailed,
    SelfDelegationTooLow,
    SlashEvent,
    StakingParams,
    Tombstoned,
    ValidatorNotFound,
)

S = SdkDec.parse
M = 1_000_000


def _events(chain, name: str) -> list:
    return [value for n, value in chain.hooks.calls if n == name]


# -- C-35 liveness -------------------------------------------------------------------------------


def test_max_missed_formula_C_35() -> None:
    assert StakingParams().max_missed_blocks == 50
    assert StakingParams(signed_blocks_window=7).max_missed_blocks == 3  # 7 - round(3.5) = 7 - 4
    assert StakingParams(signed_blocks_window=5).max_missed_blocks == 3  # 5 - round(2.5) = 5 - 2
    assert (
        StakingParams(signed_blocks_window=10, min_signed_per_window=S("0.05")).max_missed_blocks
        == 10
    )


def _downtime_chain(make_chain, **overrides):
    params = StakingParams(signed_blocks_window=7, slash_fraction_downtime=S("0.1"), **overrides)
    chain = make_chain(params)
    op = chain.add_validator("v", 46 * M)
    chain.add_validator("w", 10 * M)
    chain.block()  # height 1: bonded, start_height = 1
    return chain, op


def test_downtime_after_more_than_max_missed_C_35(make_chain) -> None:
    chain, op = _downtime_chain(make_chain)
    chain.blocks(7)  # heights 2..8: past the grace period (height > start 1 + window 7)
    for _ in range(3):
        chain.begin()
        chain.module.record_liveness(op, signed=False)
        chain.end()
    chain.begin()  # processes the third miss: 3 missed, not > 3
    assert not chain.staking.validator(op).jailed
    assert chain.module.signing_info(op).missed_counter == 3
    chain.module.record_liveness(op, signed=False)
    chain.end()
    chain.hooks.clear()
    chain.begin()  # fourth miss processed at height 13
    assert chain.height == 13
    v = chain.staking.validator(op)
    assert v.jailed
    assert v.tokens == 46 * M - 4_600_000
    info = chain.module.signing_info(op)
    assert info.jailed_until == chain.time_s + 600
    assert info.missed_counter == 0
    [event] = _events(chain, "slashed")
    assert event == SlashEvent(
        validator=op,
        power=46,
        infraction_height=13 - 1 - 1,
        total_slash_amount=4_600_000,
        slash_fraction=S("0.1"),
        reason=InfractionReason.DOWNTIME,
        height=13,
        time_s=chain.time_s,
        tokens_before=46 * M,
        tokens_after=41_400_000,
    )
    assert chain.hooks.names() == ["modified", "slashed", "jailed"]
    chain.end()
    assert chain.hooks.names()[-1] == "begin_unbonding"


def test_misses_leave_the_rolling_window_C_35(make_chain) -> None:
    chain, op = _downtime_chain(make_chain)
    chain.blocks(7)
    for i in range(30):
        chain.begin()
        if i % 3 == 0:  # every third block: at most 3 misses in any 7 consecutive blocks
            chain.module.record_liveness(op, signed=False)
        chain.end()
        assert chain.module.signing_info(op).missed_counter <= 3
    assert not chain.staking.validator(op).jailed
    chain.blocks(7)
    assert chain.module.signing_info(op).missed_counter == 0  # all expired


def test_grace_period_then_watched_validator_is_jailed_C_35(make_chain) -> None:
    chain, op = _downtime_chain(make_chain)
    for _ in range(4):  # misses at heights 2..5 processed at 3..6, inside the grace period
        chain.begin()
        chain.module.record_liveness(op, signed=False)
        chain.end()
    chain.blocks(1)  # height 6 processed the 4th miss: 4 > 3 but 6 <= 1 + 7
    assert not chain.staking.validator(op).jailed
    chain.block()  # height 7
    assert not chain.staking.validator(op).jailed
    chain.block()  # height 8: still <= 8
    assert not chain.staking.validator(op).jailed
    chain.block()  # height 9 > 8, misses at 3,4,5,6 are all within (2, 9]
    assert chain.staking.validator(op).jailed


def test_last_vote_of_a_block_wins_and_signed_is_default_C_35(make_chain) -> None:
    chain, op = _downtime_chain(make_chain)
    chain.begin()
    chain.module.record_liveness(op, signed=False)
    chain.module.record_liveness(op, signed=True)
    chain.end()
    chain.block()
    assert chain.module.signing_info(op).missed_counter == 0


def test_votes_of_non_bonded_validators_are_ignored_C_35(make_chain) -> None:
    chain, op = _downtime_chain(make_chain)
    chain.begin()
    chain.staking.jail(op)
    chain.end()
    chain.begin()
    chain.module.record_liveness(op, signed=False)
    chain.end()
    chain.block()
    assert chain.module.signing_info(op).missed_counter == 0


def test_record_liveness_unknown_validator(chain, rejects) -> None:
    rejects(
        chain.store, lambda: chain.module.record_liveness("x", signed=False), ValidatorNotFound("x")
    )


def test_force_downtime_performs_the_same_sequence_C_34_C_35(make_chain, rejects) -> None:
    chain, op = _downtime_chain(make_chain)
    chain.begin()
    chain.hooks.clear()
    assert chain.module.force_downtime(op) == 4_600_000
    assert chain.hooks.names() == ["modified", "slashed", "jailed"]
    assert _events(chain, "slashed")[0].infraction_height == chain.height - 2
    assert chain.module.signing_info(op).jailed_until == chain.time_s + 600
    rejects(chain.store, lambda: chain.module.force_downtime(op), AlreadyJailed(op))


# -- C-29 unjail -----------------------------------------------------------------------------


def test_unjail_errors_in_order_C_29(make_chain, rejects) -> None:
    chain = make_chain(StakingParams())
    op = chain.add_validator("v", 10 * M, min_self_delegation=5 * M)
    chain.block()
    chain.begin()
    rejects(chain.store, lambda: chain.module.unjail(op), NotJailed(op))
    rejects(chain.store, lambda: chain.module.unjail("x"), ValidatorNotFound("x"))
    chain.module.force_downtime(op)  # 1% of 10 M: 9_900_000 left, jailed for 600 s
    until = chain.module.signing_info(op).jailed_until
    rejects(chain.store, lambda: chain.module.unjail(op), JailedUntilNotPassed(op, until))
    chain.end()
    chain.block(seconds=600)
    chain.module.undelegate(chain.account("v"), op, 5 * M)
    rejects(
        chain.store, lambda: chain.module.unjail(op), SelfDelegationTooLow(op, 4_900_000, 5 * M)
    )


def test_unjail_captures_and_reenters_only_if_ranked_C_29_C_30(make_chain) -> None:
    chain = make_chain(StakingParams(max_validators=1))
    op = chain.add_validator("v", 10 * M)
    chain.block()
    chain.begin()
    chain.module.force_downtime(op)
    chain.end()
    other = chain.add_validator("w", 20 * M)
    chain.block()
    chain.begin(seconds=600)
    chain.hooks.clear()
    chain.module.unjail(op)
    assert chain.hooks.calls == [("unjailed", op)]
    chain.end()
    assert chain.staking.active_set().operators() == (other,)  # outranked: no re-entry
    assert chain.staking.validator(op).status is BondStatus.UNBONDING


def test_unjail_reenters_the_set_C_29_C_57(chain) -> None:
    op = chain.add_validator("v", 10 * M)
    chain.block()
    chain.begin()
    chain.module.force_downtime(op)
    chain.end()
    chain.begin(seconds=600)
    chain.hooks.clear()
    chain.module.unjail(op)
    chain.end()
    assert chain.hooks.calls == [("unjailed", op), ("bonded", op)]


# -- C-36 double sign ------------------------------------------------------------------------


def _evidence_chain(make_chain):
    chain = make_chain(StakingParams.e2e_consumer())
    op = chain.add_validator("v", 46 * M)
    chain.block()
    chain.begin()
    cons = chain.staking.validator(op).consensus_address
    return chain, op, cons


def test_double_sign_example_C_36(make_chain) -> None:
    chain, op, cons = _evidence_chain(make_chain)
    chain.hooks.clear()
    burned = chain.module.submit_equivocation(cons, chain.height, chain.time_s, 100)
    assert burned == 10 * M
    assert chain.tokens(op) == 36 * M
    assert chain.staking.validator(op).jailed
    info = chain.module.signing_info(op)
    assert info.tombstoned
    assert info.jailed_until == DOUBLE_SIGN_JAIL_END
    assert chain.hooks.names() == ["modified", "slashed", "jailed", "tombstoned"]
    event = _events(chain, "slashed")[0]
    assert event.reason is InfractionReason.DOUBLE_SIGN
    assert event.infraction_height == chain.height - 1
    assert event.power == 100


def test_evidence_is_ignored_for_unknown_or_unbonded_validators_C_36(make_chain) -> None:
    chain, _, _ = _evidence_chain(make_chain)
    assert chain.module.submit_equivocation("starsvalcons1unknown", 1, 1, 10) is None
    unbonded = chain.add_validator("u", M)  # never bonded: Unbonded
    ucons = chain.staking.validator(unbonded).consensus_address
    assert chain.module.submit_equivocation(ucons, chain.height, chain.time_s, 1) is None


def test_evidence_age_rules_C_36(make_chain) -> None:
    """Ignored iff age in seconds > max duration AND age in blocks > max blocks (here 100 s and
    3 blocks; the defaults are checked below); a tombstoned validator's evidence is ignored."""
    params = StakingParams(evidence_max_age_duration=100, evidence_max_age_num_blocks=3)
    chain = make_chain(params)
    op = chain.add_validator("v", 10 * M)
    chain.block()  # height 1
    chain.blocks(5, seconds=50)  # heights 2..6, 250 s later
    chain.begin()  # height 7
    cons = chain.staking.validator(op).consensus_address
    t0 = chain.time_s
    # old in time (101 s) and in blocks (4): ignored
    assert chain.module.submit_equivocation(cons, chain.height - 4, t0 - 101, 10) is None
    # old in time only (3 blocks is not > 3): handled; 10 * 1_000_000 * 0.05 burned
    assert chain.module.submit_equivocation(cons, chain.height - 3, t0 - 101, 10) == 500_000
    # already tombstoned now: ignored
    assert chain.module.submit_equivocation(cons, chain.height, t0, 10) is None


def test_evidence_default_age_limits_C_13_C_36(make_chain) -> None:
    chain = make_chain(StakingParams())
    op = chain.add_validator("v", 10 * M)
    chain.block()
    cons = chain.staking.validator(op).consensus_address
    # jump far ahead: heights and times only need to increase
    chain.height, chain.time_s = 200_000, chain.time_s + 1_000_000
    chain.begin()
    h, t = chain.height, chain.time_s
    assert chain.module.submit_equivocation(cons, h - 100_001, t - 172_801, 1) is None
    assert chain.module.submit_equivocation(cons, h - 100_000, t - 172_801, 1) == 50_000
    assert chain.module.signing_info(op).tombstoned


def test_evidence_old_in_blocks_only_is_handled_C_36(make_chain) -> None:
    params = StakingParams(evidence_max_age_duration=100, evidence_max_age_num_blocks=3)
    chain = make_chain(params)
    op = chain.add_validator("v", 10 * M)
    chain.blocks(6, seconds=1)
    chain.begin()
    cons = chain.staking.validator(op).consensus_address
    assert (
        chain.module.submit_equivocation(cons, chain.height - 5, chain.time_s - 99, 10) is not None
    )


def test_tombstoned_validator_can_never_unjail_C_33_C_37(make_chain, rejects) -> None:
    chain, op, cons = _evidence_chain(make_chain)
    chain.module.submit_equivocation(cons, chain.height, chain.time_s, 10)
    chain.end()
    chain.block(seconds=10**9)
    rejects(chain.store, lambda: chain.module.unjail(op), Tombstoned(op))
    assert chain.staking.delegation(chain.account("v"), op) is not None  # delegations stay


def test_double_sign_of_jailed_validator_does_not_jail_again_C_36(make_chain) -> None:
    chain, op, cons = _evidence_chain(make_chain)
    chain.module.force_downtime(op)
    chain.end()  # leaves the set: Unbonding, still slashable
    chain.begin()
    chain.hooks.clear()
    assert chain.module.submit_equivocation(cons, chain.height - 1, chain.time_s, 40) == 4 * M
    assert chain.hooks.names() == ["modified", "slashed", "tombstoned"]


# -- C-30 / C-39 capture points and C-38 queries ---------------------------------------------


def test_capture_points_go_through_one_path_C_30_C_39(chain) -> None:
    op = chain.add_validator("v", 10 * M)
    chain.block()
    chain.begin()
    chain.hooks.clear()
    burned = chain.slashing.slash(op, chain.height, 5, S("0.5"), InfractionReason.UNSPECIFIED)
    [event] = _events(chain, "slashed")
    assert event.total_slash_amount == burned == 2_500_000
    chain.slashing.jail(op)
    chain.slashing.tombstone(op)
    chain.slashing.tombstone(op)  # idempotent, no second capture
    assert chain.hooks.names() == ["modified", "slashed", "jailed", "tombstoned"]


def test_slash_fraction_queries_C_38(chain, make_chain) -> None:
    assert chain.module.slash_fraction_downtime() == "0.010000000000000000"
    assert chain.module.slash_fraction_double_sign() == "0.050000000000000000"
    e2e = make_chain(StakingParams.e2e_consumer())
    assert e2e.module.slash_fraction_double_sign() == "0.100000000000000000"


def test_failed_hook_rolls_back_the_whole_action(chain) -> None:
    op = chain.add_validator("v", 10 * M)
    chain.block()
    chain.begin()

    class Boom(Exception):
        pass

    class FailingHooks(type(chain.hooks)):
        def after_validator_jailed(self, validator: str) -> None:
            raise Boom()

    chain.module.add_hooks(FailingHooks())
    before = chain.store.snapshot()
    try:
        chain.module.force_downtime(op)
    except Boom:
        pass
    else:
        raise AssertionError("expected the hook failure to propagate")
    assert chain.store.snapshot() == before


def test_slash_event_gives_the_delegation_value_drop_C_13_C_56(make_chain) -> None:
    """Genesis-style validator: 46_000_000 tokens behind 46 shares; a contract holds 45.
    A 10% downtime slash of power 46 burns 4_600_000; the contract's value drops from
    45_000_000 to 45 * 41_400_000 / 46 = 40_500_000, i.e. by 4_500_000 (the C-56 figure)."""
    from chains.modules import token_value

    chain = make_chain(StakingParams.e2e_consumer())
    op = chain.add_validator("v", M, shares=S("1"))  # 1 share = 1_000_000 tokens
    contract = chain.account("contract")
    chain.fund(contract, 45 * M)
    assert chain.module.delegate(contract, op, 45 * M) == SdkDec.from_int(45)
    chain.block()
    chain.begin()
    chain.module.force_downtime(op)
    [event] = _events(chain, "slashed")
    shares = chain.staking.delegation(contract, op).shares
    total = chain.staking.validator(op).delegator_shares
    before = token_value(shares, event.tokens_before, total)
    after = token_value(shares, event.tokens_after, total)
    assert (event.tokens_before, event.total_slash_amount) == (46 * M, 4_600_000)
    assert before - after == 4_500_000
    assert chain.module.delegation_value(contract, op) == 40_500_000


def test_force_downtime_in_the_first_block_clamps_the_infraction_height_C_35(make_chain) -> None:
    """At height 1 the delayed infraction height (height - delay - 1) would be -1, which no
    consumer accepts (the converter refuses negative heights): it is clamped at 0."""
    chain = make_chain(StakingParams(slash_fraction_downtime=S("0.1")))
    op = chain.add_validator("v", 10 * M)
    chain.begin()
    assert chain.height <= 1
    chain.hooks.clear()
    assert chain.module.force_downtime(op) == 1_000_000
    assert _events(chain, "slashed")[0].infraction_height == 0
