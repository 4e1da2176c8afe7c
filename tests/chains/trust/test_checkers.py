"""Issue 13's checkers learn the attacks: conservation per denom and rewards paid never above
rewards accrued (`chains.mesh`'s ``conservation_violations``,
``distribution_reward_violations``, ``external_reward_violations``).

Each checker holds on an honest chain and fails once a component is broken on purpose in
the test: an extra mint on the side of block provisions, a withdrawal paid twice, an
external staking contract that forgets what a user already withdrew (P-74).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from chains import Coin, Mesh
from chains.contract import BankBurn
from chains.mesh import (
    CHECKERS,
    SeedRecord,
    conservation_violations,
    distribution_reward_violations,
    external_reward_violations,
)
from chains.modules import Distribution, Mint, StakingParams
from chains.provider.external_staking import ExternalState, Stake, pending_reward
from tests.chains.host._kit import ALICE, BOB, DENOM, HostKit, make_config
from tests.mesh._topologies import SMALL, topology

PROVISION = 1_000
MALLORY = "stars1mallory"


def _kit() -> HostKit:
    kit = HostKit(make_config(staking=StakingParams(bond_denom=DENOM, block_provision=PROVISION)))
    for _ in range(5):
        kit.next_block()
    return kit


def test_honest_mints_and_burns_conserve_every_denom_issue_13() -> None:
    """Provisions, a slash burn, a holder's own burn and the authority's mint all hold."""
    kit = _kit()
    ex = kit.ex
    operator = ex.staking.staking.validators()[0]
    assert ex.submit(ALICE, BankBurn(amount=(Coin(denom=DENOM, amount=7),))).ok
    assert ex.submit(ex.gov_address, Mint(to_address=BOB, amount=(Coin(denom=DENOM, amount=5),))).ok
    ex.staking.submit_equivocation(
        operator.consensus_address,
        ex.height,
        ex.time_s,
        operator.power(ex.staking.params.power_reduction),
    )
    kit.next_block()
    assert ex.bank.burned(DENOM)["slashing"] > 0
    assert conservation_violations(ex) == []


def test_an_extra_mint_beside_the_provisions_breaks_conservation_issue_13(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit = _kit()
    original = Distribution.begin_block

    def leaky(self: Distribution) -> None:
        original(self)
        self._bank.mint(BOB, DENOM, 1)  # the broken component: a mint nobody accounts for

    monkeypatch.setattr(Distribution, "begin_block", leaky)
    kit.next_block()
    found = conservation_violations(kit.ex)
    assert any("minted outside the protocol" in v and "supply" in v for v in found), found


def test_an_inflated_provision_breaks_conservation_issue_13(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even a mint under the provisions' name is caught once it exceeds provision x height."""
    kit = _kit()
    original = Distribution.begin_block

    def inflating(self: Distribution) -> None:
        original(self)
        self._bank.mint(self.fee_collector, DENOM, 10 * PROVISION, source="provisions")

    monkeypatch.setattr(Distribution, "begin_block", inflating)
    kit.next_block()
    found = conservation_violations(kit.ex)
    assert any("provisions minted" in v for v in found), found


def test_a_mint_posing_as_genesis_is_reported_issue_13() -> None:
    kit = _kit()
    kit.ex.bank.mint(MALLORY, DENOM, 1, source="genesis")  # after genesis: not genesis
    found = conservation_violations(kit.ex)
    assert any("minted at genesis" in v for v in found), found


def test_distribution_withdrawals_stay_within_accrued_issue_13() -> None:
    kit = _kit()
    ex = kit.ex
    operator = ex.staking.staking.validators()[0].operator
    account = ex.staking.staking.account_of(operator)
    assert ex.staking.withdraw_delegator_reward(account, operator) > 0
    assert distribution_reward_violations(ex) == []


def test_a_double_reward_payment_is_caught_issue_13(monkeypatch: pytest.MonkeyPatch) -> None:
    kit = _kit()
    ex = kit.ex
    original = Distribution.withdraw_delegator_reward

    def twice(self: Distribution, delegator: str, validator: str) -> int:
        paid = original(self, delegator, validator)
        # the broken component pays the same rewards a second time
        again = min(paid, self._bank.balance(self.module_account, DENOM))
        self._bank.transfer(self.module_account, MALLORY, DENOM, again)
        return paid

    monkeypatch.setattr(Distribution, "withdraw_delegator_reward", twice)
    operator = ex.staking.staking.validators()[0].operator
    ex.staking.withdraw_delegator_reward(ex.staking.staking.account_of(operator), operator)
    found = distribution_reward_violations(ex)
    assert found and "rewards paid above accrued" in found[0], found
    assert _chaos_rewards(found) == found


def _chaos_rewards(violations: list[str]) -> list[str]:
    """What the chaos checker ``rewards_accrued`` reports of a run with ``violations``."""
    record = cast(SeedRecord, SimpleNamespace(violations=violations))
    return CHECKERS["rewards_accrued"](record)


def test_the_chaos_rewards_checker_ignores_other_violations_issue_13() -> None:
    assert _chaos_rewards(["juno: ujuno balances add up to 10 != supply 11"]) == []


# -- external staking, through a running mesh ------------------------------------------------

P, C = "osmosis", "juno"


@pytest.mark.anyio
async def test_external_staking_pays_no_more_than_earned_or_received_P_74_issue_13(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        assert (await mesh.bond(P, "alice", 1_000_000)).ok
        assert (await mesh.cross_stake(P, C, "alice", "val1", 200_000)).ok
        assert await mesh.settle()
        await mesh.advance(seconds=4 * 65)
        assert await mesh.settle()
        external = mesh.pairing(P, C).external_staking
        assert (await mesh.claim_rewards(P, C, "alice", "val1")).ok
        assert await mesh.settle()
        honest = await mesh.chain(P).read(
            lambda ex: external_reward_violations(ex, contract=external)
        )
        assert honest == []
        assert await mesh.check_invariants(quiescent=True) == []

        def forgetful(self: ExternalState, validator: str, stake: Stake) -> int:
            # the broken component forgets what was withdrawn: a second payment of it all
            points = self.distribution(validator).points_per_stake
            return pending_reward(points, stake.committed, stake.points_alignment, 0, 0)

        monkeypatch.setattr(ExternalState, "pending_reward", forgetful)
        assert (await mesh.claim_rewards(P, C, "alice", "val1")).ok
        found: list[Any] = await mesh.check_invariants()
        assert any("paid" in v and "earned" in v for v in found), found
        assert any("received over IBC" in v for v in found), found
        assert len(_chaos_rewards(found)) == 2
