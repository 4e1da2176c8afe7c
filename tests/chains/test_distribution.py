"""Fee pool, reward allocation, commission and delegator rewards (C-24..C-26, C-31, C-32)."""

from __future__ import annotations

from chains.contract import SdkDec
from chains.modules import NoDelegation, NoValidatorCommission, StakingParams, ValidatorNotFound

S = SdkDec.parse
M = 1_000_000


def _two_validators(chain, commission_a: str = "0.1") -> tuple[str, str]:
    a = chain.add_validator("a", 3 * M, commission=commission_a)
    b = chain.add_validator("b", 1 * M)
    chain.block()  # block 1: both enter the set (powers 3 and 1)
    chain.begin()  # block 2: this set is in force
    return a, b


def test_allocation_figures_C_25(chain) -> None:
    """Pool 1000 collected in block 2, allocated at the begin of block 3:

    for_validators = mul_trunc(1000, 0.98) = 980; total power 4;
    A (power 3): 980 * quo_trunc(3, 4) = 980 * 0.75 = 735; commission 10% = 73.5;
      delegators 661.5 over 3_000_000 shares -> rewards_per_share 0.0002205
    B (power 1): 980 * 0.25 = 245; no commission; 245 / 1_000_000 = 0.000245
    community pool = 1000 - 735 - 245 = 20
    """
    a, b = _two_validators(chain)
    payer = chain.account("payer")
    chain.fund(payer, 1000)
    chain.module.collect_fee(payer, 1000)
    assert chain.distribution.fee_pool() == 1000
    chain.end()
    chain.begin()
    assert chain.distribution.fee_pool() == 0
    assert chain.distribution.community_pool() == SdkDec.from_int(20)
    assert chain.distribution.commission(a) == S("73.5")
    assert chain.distribution.commission(b) == SdkDec.zero()
    assert chain.distribution.rewards_per_share(a) == S("0.0002205")
    assert chain.distribution.rewards_per_share(b) == S("0.000245")
    assert chain.balance(chain.distribution.module_account) == 1000


def test_withdraw_pays_whole_tokens_and_moves_fraction_to_community_C_26(chain, rejects) -> None:
    """A's self-delegation holds 3_000_000 shares * 0.0002205 = 661.5 pending:
    661 paid, 0.5 to the community pool (20 -> 20.5). Commission 73.5: 73 paid, 0.5 kept."""
    a, _ = _two_validators(chain)
    payer = chain.account("payer")
    chain.fund(payer, 1000)
    chain.module.collect_fee(payer, 1000)
    chain.end()
    chain.begin()
    owner = chain.account("a")
    assert chain.distribution.pending_rewards(owner, a) == S("661.5")
    assert chain.module.withdraw_delegator_reward(owner, a) == 661
    assert chain.balance(owner) == 661
    assert chain.distribution.community_pool() == S("20.5")
    assert chain.distribution.pending_rewards(owner, a) == SdkDec.zero()
    assert chain.module.withdraw_delegator_reward(owner, a) == 0
    assert chain.module.withdraw_validator_commission(a) == 73
    assert chain.distribution.commission(a) == S("0.5")
    assert chain.balance(owner) == 734
    rejects(
        chain.store, lambda: chain.module.withdraw_validator_commission(a), NoValidatorCommission(a)
    )
    rejects(
        chain.store, lambda: chain.module.withdraw_validator_commission("x"), ValidatorNotFound("x")
    )
    stranger = chain.account("stranger")
    rejects(
        chain.store,
        lambda: chain.module.withdraw_delegator_reward(stranger, a),
        NoDelegation(stranger, a),
    )


def test_truncation_dust_goes_to_community_pool_C_25(chain) -> None:
    """Powers 1 and 2, pool 1000: for_validators 980;
    reward_1 = 980 * quo_trunc(1, 3) = 980 * 0.333333333333333333 = 326.666666666666666340
    reward_2 = 980 * quo_trunc(2, 3) = 980 * 0.666666666666666666 = 653.333333333333332680
    community = 1000 - 979.999999999999999020 = 20.000000000000000980
    """
    a = chain.add_validator("a", 1 * M)
    b = chain.add_validator("b", 2 * M)
    chain.block()
    chain.begin()
    payer = chain.account("payer")
    chain.fund(payer, 1000)
    chain.module.collect_fee(payer, 1000)
    chain.end()
    chain.begin()
    assert chain.distribution.community_pool() == S("20.000000000000000980")
    assert chain.distribution.rewards_per_share(a) == S("326.666666666666666340").quo_trunc(M)
    assert chain.distribution.rewards_per_share(b) == S("653.333333333333332680").quo_trunc(2 * M)


def test_commission_uses_bankers_rounding_C_25(chain) -> None:
    """One validator, pool 1: for_validators = 0.98; commission 0.333333333333333333 of it
    = 0.32666666666666666634 -> rounded half-even at 18 digits = 0.326666666666666666."""
    a = chain.add_validator("a", M, commission="0.333333333333333333")
    chain.block()
    chain.begin()
    chain.fund(chain.account("payer"), 1)
    chain.module.collect_fee(chain.account("payer"), 1)
    chain.end()
    chain.begin()
    assert chain.distribution.commission(a) == S("0.326666666666666666")


def test_no_power_sends_everything_to_community_C_25(chain) -> None:
    chain.block()
    chain.begin()
    chain.fund(chain.account("payer"), 50)
    chain.module.collect_fee(chain.account("payer"), 50)
    chain.end()
    chain.begin()
    assert chain.distribution.community_pool() == SdkDec.from_int(50)


def test_jailed_validator_earns_nothing_but_keeps_delegations_C_25_C_32(chain) -> None:
    """A (power 3) is jailed during block 2: its 735 goes to the community pool (20 + 735)."""
    a, b = _two_validators(chain)
    chain.fund(chain.account("payer"), 1000)
    chain.module.collect_fee(chain.account("payer"), 1000)
    chain.staking.jail(a)
    chain.end()
    chain.begin()
    assert chain.distribution.rewards_per_share(a) == SdkDec.zero()
    assert chain.distribution.rewards_per_share(b) == S("0.000245")
    assert chain.distribution.community_pool() == SdkDec.from_int(755)
    assert chain.staking.delegation(chain.account("a"), a) is not None


def test_rewards_only_for_validators_in_the_set_during_the_block_C_25(chain) -> None:
    """A validator that enters the set at the end of block 2 earns nothing for block 2."""
    a = chain.add_validator("a", M)
    chain.block()
    chain.begin()
    late = chain.add_validator("late", M)
    chain.fund(chain.account("payer"), 100)
    chain.module.collect_fee(chain.account("payer"), 100)
    chain.end()
    chain.begin()
    assert chain.distribution.rewards_per_share(late) == SdkDec.zero()
    assert chain.distribution.rewards_per_share(a) == S("98").quo_trunc(M)


def test_share_change_auto_withdraws_C_26(chain) -> None:
    a, _ = _two_validators(chain)
    chain.fund(chain.account("payer"), 1000)
    chain.module.collect_fee(chain.account("payer"), 1000)
    chain.end()
    chain.begin()
    owner = chain.account("a")
    chain.fund(owner, 10)
    chain.module.delegate(owner, a, 10)  # withdraws 661 first
    assert chain.balance(owner) == 661
    assert chain.distribution.pending_rewards(owner, a) == SdkDec.zero()
    chain.module.undelegate(owner, a, 10)
    assert chain.balance(owner) == 661


def test_block_provision_is_minted_into_the_fee_pool_C_24(make_chain) -> None:
    chain = make_chain(StakingParams(block_provision=100, community_tax=SdkDec.zero()))
    a = chain.add_validator("a", M)
    chain.block()  # block 1 mints 100 (no set in force yet -> community at block 2)
    chain.block()  # block 2: allocates block 1's 100 to the community pool, mints 100
    assert chain.distribution.community_pool() == SdkDec.from_int(100)
    chain.block()  # block 3: allocates block 2's 100 to a
    assert chain.distribution.rewards_per_share(a) == S("100").quo_trunc(M)
    assert chain.bank.supply("stake") == M + 300


def test_withdraw_address_redirects_rewards_P_56(chain) -> None:
    a, _ = _two_validators(chain)
    owner, elsewhere = chain.account("a"), chain.account("elsewhere")
    chain.module.set_withdraw_address(owner, elsewhere)
    chain.fund(chain.account("payer"), 1000)
    chain.module.collect_fee(chain.account("payer"), 1000)
    chain.end()
    chain.begin()
    chain.module.withdraw_delegator_reward(owner, a)
    assert (chain.balance(owner), chain.balance(elsewhere)) == (0, 661)
    chain.module.set_withdraw_address(owner, owner)
    assert chain.distribution.withdraw_address(owner) == owner
