"""The chain's own slashing reaches the vault through the provider module (P-48, P-51,
P-100), through the actors, in virtual time."""

from __future__ import annotations

import pytest

from chains.provider import ProxyUnstake, ValueRange
from tests.chains.provider_actors._kit import ALICE, ProviderKit, coin, provider_chain

pytestmark = pytest.mark.anyio


async def _staked(kit: ProviderKit, amount: int = 1_000) -> str:
    assert (await kit.bond(ALICE, amount)).ok
    assert (await kit.stake_local(ALICE, amount)).ok
    return await kit.proxy_of(ALICE)


async def test_double_sign_reports_pre_slash_bonded_and_unbonding_entries_P_48_P_51() -> None:
    """Stake 1_000 on val-a; the infraction happens; then 200 start unbonding. Evidence
    tombstones val-a with the 5 % double-sign ratio: native staking is called *before* the
    chain burns (P-51 ordering), so the user's slash is floor(800 * 0.05) on the pre-slash
    delegation plus floor(200 * 0.05) on the entry created after the infraction = 40 + 10 =
    50 (after the burn it would read 760 and report 38 + 10). The vault's collateral then
    matches what the chain left: 760 bonded + 190 unbonding = 950 (P-20)."""
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _staked(kit)
        await chain.system.clock.sleep(600)
        infraction_height, infraction_time = await chain.height(), await chain.time()
        await chain.system.clock.sleep(600)
        assert (
            await chain.execute(ALICE, proxy, ProxyUnstake(validator=kit.val_a, amount=coin(200)))
        ).ok
        await chain.system.clock.sleep(600)
        record = await chain.validator(kit.val_a)
        assert record is not None
        # the evidence module slashes at infraction_height - validator_update_delay (C-36)
        result = await chain.submit_equivocation(
            record.consensus_address, infraction_height + 1, infraction_time, record.tokens
        )
        assert result.ok, result.error
        types = [e.type for e in result.events]
        assert types.index("jailing") < types.index("slash")
        (jailing,) = [e for e in result.events if e.type == "jailing"]
        assert jailing.get("tombstoned") == kit.val_a
        assert jailing.get(f"tombstoned:{kit.val_a}:{ALICE}") == "bonded=40,unbonding=10"
        details = await kit.account(ALICE)
        assert details.bonded == 950
        assert await chain.delegation_value(proxy, kit.val_a) == 760
        (entry,) = [e for _, e in await chain.unbondings(proxy, kit.val_a)]
        assert (entry.initial_balance, entry.balance) == (200, 190)


async def test_downtime_jails_with_the_offline_ratio_P_48() -> None:
    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _staked(kit)
        await chain.system.clock.sleep(3 * 600)
        result = await chain.force_downtime(kit.val_a)
        assert result.ok, result.error
        (jailing,) = [e for e in result.events if e.type == "jailing"]
        assert jailing.get("jailed") == kit.val_a
        details = await kit.account(ALICE)
        assert details.bonded == 990  # floor(1_000 * 0.01)
        assert await chain.delegation_value(proxy, kit.val_a) == 990
        lien = (await chain.contract_state(kit.vault))["liens"][(ALICE, kit.native)]
        assert lien.amount == ValueRange(990, 990)


async def test_slash_of_a_restaked_source_is_reported_for_the_redelegation_P_51_C_22() -> None:
    """The proxy moved 400 from val-a to val-b after the infraction; val-a's double-sign
    slash reaches the moved stake on val-b (C-28 step 2), and native staking counts it
    (floor(400 * 0.05) = 20) with the 600 still bonded (30): collateral 1_000 - 50."""
    from chains.provider import ProxyRestake

    async with provider_chain() as kit:
        chain = kit.chain
        proxy = await _staked(kit)
        await chain.system.clock.sleep(600)
        infraction_height, infraction_time = await chain.height(), await chain.time()
        await chain.system.clock.sleep(600)
        move = ProxyRestake(src_validator=kit.val_a, dst_validator=kit.val_b, amount=coin(400))
        assert (await chain.execute(ALICE, proxy, move)).ok
        await chain.system.clock.sleep(600)
        record = await chain.validator(kit.val_a)
        assert record is not None
        result = await chain.submit_equivocation(
            record.consensus_address, infraction_height + 1, infraction_time, record.tokens
        )
        assert result.ok, result.error
        (jailing,) = [e for e in result.events if e.type == "jailing"]
        assert jailing.get(f"tombstoned:{kit.val_a}:{ALICE}") == (
            "bonded=30,unbonding=0,redelegated=20"
        )
        assert (await kit.account(ALICE)).bonded == 950
        assert await chain.delegation_value(proxy, kit.val_a) == 570
        assert await chain.delegation_value(proxy, kit.val_b) == 380
