"""Vault + native staking + proxies through the chain host actor, in virtual time.

Deployment in the spec's order (I-49 step 3), bond/unbond (P-23, P-24), local stake through
a proxy instantiated with ``WasmInstantiate`` (P-25, P-44, P-52), unstake and the 21-day
unbonding maturity (P-57, P-59, P-99), rewards to the owner (P-56), restake through the
chain's redelegation (P-54, P-50, P-61), votes (P-55), and the 7-entry batching drained by
the provider module (P-61, P-62).
"""

from __future__ import annotations

import pytest

from chains import Decimal18
from chains.contract import CustomMsg
from chains.modules import (
    InvalidWeightedVote,
    SubmitProposal,
    TallyQuery,
    TooManyRedelegationEntries,
    VoteQuery,
    WeightedVoteOption,
)
from chains.provider import (
    ClaimsLocked,
    NativeStakingAddressQuery,
    ProxyConfigQuery,
    ProxyReleaseUnbonded,
    ProxyRestake,
    ProxyUnstake,
    ProxyVote,
    ProxyVoteWeighted,
    ProxyWithdrawRewards,
    QueuedUnbondsQuery,
    ValueRange,
    VaultAccountQuery,
    VaultConfigQuery,
    VaultUnbond,
)
from tests.chains.provider_actors._kit import (
    ALICE,
    DAY,
    DENOM,
    UNBONDING,
    ProviderKit,
    coin,
    make_config,
    provider_chain,
)

pytestmark = pytest.mark.anyio


async def _local(kit: ProviderKit, bonded: int = 1_000, staked: int = 600) -> str:
    assert (await kit.bond(ALICE, bonded)).ok
    result = await kit.stake_local(ALICE, staked)
    assert result.ok, result.error
    return await kit.proxy_of(ALICE)


async def test_deployment_order_and_bond_unbond_I_49_P_22_P_23_P_24() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        config = await chain.query(kit.vault, VaultConfigQuery())
        assert (config.denom, config.local_staking) == (DENOM, kit.native)
        assert await chain.query_module("provider", NativeStakingAddressQuery()) == kit.native
        before = await chain.balance(ALICE)
        assert (await kit.bond(ALICE, 1_000)).ok
        account = await chain.query(kit.vault, VaultAccountQuery(account=ALICE))
        assert (account.bonded, account.free) == (1_000, ValueRange(1_000, 1_000))
        assert (await chain.execute(ALICE, kit.vault, VaultUnbond(amount=coin(300)))).ok
        assert await chain.balance(ALICE) == before - 700
        too_much = await chain.execute(ALICE, kit.vault, VaultUnbond(amount=coin(701)))
        assert too_much.error == ClaimsLocked(700, 700)


async def test_stake_local_instantiates_a_proxy_that_delegates_P_25_P_44_P_52() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _local(kit)
        info = await chain.contract_info(proxy)
        assert info is not None
        assert (info.creator, info.admin, info.label) == (
            kit.native,
            kit.native,
            f"LSP for {ALICE}",
        )
        assert await chain.delegation_value(proxy, kit.val_a) == 600
        withdraw_to = await chain.read(lambda ex: ex.staking.distribution.withdraw_address(proxy))
        assert withdraw_to == ALICE
        details = await kit.account(ALICE)
        assert details.free == ValueRange(400, 400)
        assert await chain.balance(kit.vault) == 400
        # a second local stake goes to the existing proxy (P-44)
        assert (await kit.stake_local(ALICE, 100, kit.val_b)).ok
        assert await kit.proxy_of(ALICE) == proxy
        assert await chain.delegation_value(proxy, kit.val_b) == 100


async def test_unstake_matures_after_21_days_and_is_released_to_the_vault_P_57_P_59_P_99() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _local(kit)
        unstake = ProxyUnstake(validator=kit.val_a, amount=coin(250))
        assert (await chain.execute(ALICE, proxy, unstake)).ok
        (entry,) = [e for _, e in await chain.unbondings(proxy)]
        assert entry.completion_time == await chain.time() + UNBONDING
        await chain.system.clock.sleep(UNBONDING - DAY)
        assert await chain.balance(proxy) == 0
        await chain.system.clock.sleep(DAY + 2 * 600)
        assert await chain.time() >= entry.completion_time
        assert await chain.balance(proxy) == 250
        assert (await chain.execute(ALICE, proxy, ProxyReleaseUnbonded())).ok
        assert await chain.balance(proxy) == 0
        assert await chain.balance(kit.vault) == 400 + 250
        details = await kit.account(ALICE)
        assert details.free == ValueRange(650, 650)


async def test_withdraw_rewards_go_to_the_owner_never_the_proxy_P_56() -> None:
    async with provider_chain(make_config(block_provision=1_000_000)) as kit:
        chain = kit.chain
        proxy = await _local(kit, 100_000, 100_000)
        await chain.system.clock.sleep(20 * 600)
        before = await chain.balance(ALICE)
        result = await chain.execute(ALICE, proxy, ProxyWithdrawRewards())
        assert result.ok, result.error
        gained = await chain.balance(ALICE) - before
        assert gained > 0
        assert await chain.balance(proxy) == 0
        assert await chain.balance(kit.native) == 0
        withdrawn = [e for e in result.events if e.type == "withdraw_rewards"]
        assert sum(int(e.get("amount") or 0) for e in withdrawn) == gained


async def test_restake_redelegates_and_native_staking_indexes_the_destination_P_54_P_50() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _local(kit)
        move = ProxyRestake(src_validator=kit.val_a, dst_validator=kit.val_b, amount=coin(200))
        result = await chain.execute(ALICE, proxy, move)
        assert result.ok, result.error
        assert await chain.delegation_value(proxy, kit.val_a) == 400
        assert await chain.delegation_value(proxy, kit.val_b) == 200
        state = await chain.contract_state(kit.native)
        assert (kit.val_b, ALICE) in state["delegators"]


async def test_at_most_seven_redelegation_entries_per_proxy_pair_P_61() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _local(kit)
        move = ProxyRestake(src_validator=kit.val_a, dst_validator=kit.val_b, amount=coin(10))
        for _ in range(7):
            assert (await chain.execute(ALICE, proxy, move)).ok
        eighth = await chain.execute(ALICE, proxy, move)
        assert eighth.error == TooManyRedelegationEntries(proxy, kit.val_a, kit.val_b)
        await chain.system.clock.sleep(UNBONDING + 600)
        assert (await chain.execute(ALICE, proxy, move)).ok


async def test_proxy_votes_are_recorded_by_the_gov_module_P_55() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _local(kit)
        proposal = (
            await chain.submit(ALICE, CustomMsg(module="gov", msg=SubmitProposal(title="x")))
        ).unwrap()
        assert proposal == 1
        assert (await chain.execute(ALICE, proxy, ProxyVote(proposal_id=1, option="yes"))).ok
        vote = await chain.query_module("gov", VoteQuery(proposal_id=1, voter=proxy))
        assert [(o.option, o.weight) for o in vote.options] == [("yes", Decimal18.one())]
        tally = await chain.query_module("gov", TallyQuery(proposal_id=1))
        assert tally.yes == 600  # all the proxy's delegations (P-55)
        half = Decimal18.parse("0.5")
        weighted = ProxyVoteWeighted(
            proposal_id=1,
            options=(
                WeightedVoteOption(option="yes", weight=half),
                WeightedVoteOption(option="no", weight=half),
            ),
        )
        assert (await chain.execute(ALICE, proxy, weighted)).ok
        tally = await chain.query_module("gov", TallyQuery(proposal_id=1))
        assert (tally.yes, tally.no) == (300, 300)
        bad = ProxyVoteWeighted(
            proposal_id=1, options=(WeightedVoteOption(option="yes", weight=half),)
        )
        assert (await chain.execute(ALICE, proxy, bad)).error == InvalidWeightedVote(
            "weights do not sum to 1"
        )


async def test_seven_entries_then_the_queue_drains_when_an_entry_matures_P_61_P_62() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _local(kit, 1_000, 900)
        unstake = ProxyUnstake(validator=kit.val_a, amount=coin(10))
        first_time = await chain.time()
        for _ in range(9):
            assert (await chain.execute(ALICE, proxy, unstake)).ok
            await chain.system.clock.sleep(600)
        assert len(await chain.unbondings(proxy, kit.val_a)) == 7
        queued = await chain.query(proxy, QueuedUnbondsQuery())
        assert [(q.validator, q.amount) for q in queued.queued] == [(kit.val_a, 20)]
        # nobody touches the proxy: when the first entry matures, the provider module's
        # end-block sends ProcessUnbondingQueue and the 20 start unbonding in that block
        await chain.system.clock.sleep(first_time + UNBONDING - await chain.time() + 600)
        entries = [e for _, e in await chain.unbondings(proxy, kit.val_a)]
        assert len(entries) == 7
        assert entries[-1].initial_balance == 20
        assert (await chain.query(proxy, QueuedUnbondsQuery())).queued == ()
        config = await chain.query(proxy, ProxyConfigQuery())
        assert config.burned == 0
        assert await chain.balance(proxy) == 10
        assert await chain.delegation_value(proxy, kit.val_a) == 900 - 90
