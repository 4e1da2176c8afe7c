"""The mesh's global invariants, as checks that return what is wrong (empty: all hold).

Chain-local checks (`provider_violations`, `cap_violations`, `supply_violations`) are
synchronous reads of one chain's executor, valid after every block whatever is in flight
(ARCHITECTURE: "invariants hold after every transaction"):

- vault (provider.md P-18, P-20, P-21): no user's liens or worst-case slashing exceed their
  collateral; the vault's tokens (its balance plus what its local staking holds for it)
  cover the collateral; every in-flight remote stake of the vault has its twin in the named
  external staking contract and vice versa;
- virtual stake per consumer ≤ its max cap (C-45, C-56), except for the epoch after a cap
  was lowered (the virtual staking contract rebalances at its next epoch);
- tokens: on every chain the balances of each denom add up to its supply, only the chain's
  own staking denom exists there (no tokens cross chains, I-80), and the supply as an SDK
  query reports it (virtual stake excluded, C-58) never exceeds genesis plus block
  provisions.

Issue 13's attack checkers, also valid after every block:

- `conservation_violations`: per chain and denom, the supply equals what the mint and burn
  ledger says (genesis supply + minted - burned), and every mint and burn comes from a
  source where the protocol mints or burns: genesis (exactly the supply the chain kept at
  genesis, its config's accounts and self-bonds), block provisions (never above
  ``block_provision * (height + 1)``, block 0 included), the virtual staking module's
  mint and burn of virtual stake (C-46, C-47), slashing burns (C-28), a holder burning
  its own tokens (wasm's ``BankMsg::Burn``), the governance authority's ``Mint`` and
  governance burning a vetoed proposal's deposit.
  Anything else (a component minting on the side) is a violation;
- `distribution_reward_violations`: the distribution module account holds at least what
  it owes (every delegation's pending rewards, every validator's commission, the
  community pool, each floored): withdrawals never exceed what was accrued, as
  x/distribution's ``CanWithdrawInvariant`` checks;
- `external_reward_violations`: on each external staking contract, no user is paid more
  than its stake earned (P-74: withdrawn + withdrawing ≤ earned), and per validator the
  stakers are never paid more than the rewards that arrived over IBC (``distribute``).

The IBC check (`packet_origin_violations`, issue 13) holds after every block of both
chains: every packet a chain received has its commitment on its source, or was acked there,
and none was both received and timed out (I-17: a relayer cannot forge a packet nor a
timeout). It reads two chains' IBC modules, so it runs where both are at hand.

The cross-chain check (`delegation_view_violations`) holds only at quiescence (nothing in
flight): each provider's view of delegations equals the consumer's (I-64..I-69): no pending
transaction, every value range collapsed (``low == high``, I-65), and for every (user,
validator) staked on either side, the consumer's record equal to the provider's stake
converted at the pairing's price, up to the conversion's flooring (each stake or unstake
normalizes separately, C-70: under 2 units per operation). Stakes are compared only while
the pairing's price never moved and nothing was slashed on the consumer: a price change
between stake and unstake breaks the symmetry on purpose (I-69, I-104), the consumer splits
burns with its own amounts (I-53), and records of a tombstoned validator outlive the
provider's stake (I-93).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chains.consumer.converter._contract import normalize_amount
from chains.consumer.mesh_security._msgs import BondStatusQuery, BondStatusResponse
from chains.contract._decimal import Decimal18
from chains.contract._errors import ChainError
from chains.host._executor import TxExecutor
from chains.ibc._module import IbcModule
from chains.ibc._state import ACKED, TIMED_OUT
from chains.mesh._state import ConsumerSide, ProviderSide, query_all_pages
from chains.provider._pending_tx import InFlightRemoteStaking, InFlightStaking
from chains.provider.external_staking._msgs import ExternalAllPendingTxsDescQuery
from chains.provider.external_staking._rewards import REWARD_SCALE, RewardDistribution
from chains.provider.external_staking._state import Stake
from chains.provider.native_staking._msgs import ProxyByOwnerQuery, ProxyByOwnerResponse
from chains.provider.vault._msgs import (
    VaultAccountDetailsQuery,
    VaultAccountDetailsResponse,
    VaultAllAccountsQuery,
    VaultAllAccountsResponse,
    VaultAllPendingTxsDescQuery,
)

# the checks behind `Mesh.check_invariants` stay out of the package namespace; the IBC one
# is public (a test or embedder checks two chains it holds)
__all__ = [
    "PROTOCOL_BURNS",
    "PROTOCOL_MINTS",
    "conservation_violations",
    "distribution_reward_violations",
    "external_reward_violations",
    "packet_origin_violations",
]

PROTOCOL_MINTS = frozenset({"genesis", "provisions", "virtual_stake", "gov"})
"""The mint sources where the protocol creates tokens (see the module docstring)."""

PROTOCOL_BURNS = frozenset({"slashing", "virtual_stake", "bank", "gov"})
"""The burn sources where the protocol destroys tokens (see the module docstring)."""


def _all_pending(ex: TxExecutor, contract: str, query: type[Any]) -> list[Any]:
    def fetch(start: Any) -> tuple[Any, ...]:
        return tuple(ex.query_contract(contract, query(start_after=start, limit=30)))

    return list(query_all_pages(fetch, lambda page: page, lambda tx: tx.id))


def provider_violations(
    ex: TxExecutor, vault: str, native_staking: str | None, external: Iterable[str]
) -> list[str]:
    """P-18, P-20 and P-21 on one provider chain."""
    chain = ex.chain_id
    out: list[str] = []
    denom = ex.config.bond_denom

    def fetch(start: Any) -> VaultAllAccountsResponse:
        answer: VaultAllAccountsResponse = ex.query_contract(
            vault, VaultAllAccountsQuery(start_after=start, limit=30)
        )
        return answer

    collateral = 0
    held = ex.bank.balance(vault, denom)
    staking = ex.staking
    for item in query_all_pages(fetch, lambda r: r.accounts, lambda i: i.user):
        user = item.user
        d: VaultAccountDetailsResponse = ex.query_contract(
            vault, VaultAccountDetailsQuery(account=user)
        )
        collateral += d.bonded
        if d.max_lien.high > d.bonded:
            out.append(f"{chain}: P-18 {user}: max lien {d.max_lien.high} > collateral {d.bonded}")
        if d.total_slashable.high > d.bonded:
            out.append(
                f"{chain}: P-18 {user}: slashable {d.total_slashable.high} > collateral {d.bonded}"
            )
        if native_staking is None:
            continue
        try:
            proxy: ProxyByOwnerResponse = ex.query_contract(
                native_staking, ProxyByOwnerQuery(owner=user)
            )
        except ChainError:
            continue
        address = proxy.proxy
        held += ex.bank.balance(address, denom)
        for delegation in staking.staking.delegations_of(address):
            held += staking.delegation_value(address, delegation.validator)
        for delegator, _, entries in staking.staking.iter_unbonding():
            if delegator == address:
                held += sum(e.balance for e in entries)
    if collateral > held:
        out.append(f"{chain}: P-20 collateral {collateral} > tokens held for the vault {held}")
    vault_txs = {
        tx.id: tx.lienholder
        for tx in _all_pending(ex, vault, VaultAllPendingTxsDescQuery)
        if isinstance(tx, InFlightStaking)
    }
    remote: dict[int, str] = {}
    for ext in external:
        for tx in _all_pending(ex, ext, ExternalAllPendingTxsDescQuery):
            if isinstance(tx, InFlightRemoteStaking):
                remote[tx.id] = ext
    if vault_txs != remote:
        out.append(f"{chain}: P-21 vault in-flight stakes {vault_txs} != external {remote}")
    return out


def cap_violations(ex: TxExecutor, contracts: Iterable[str]) -> list[str]:
    """Virtual stake ≤ max cap for each virtual staking contract named (C-45, C-56)."""
    out: list[str] = []
    for vs in contracts:
        status: BondStatusResponse = ex.query_module("virtual_stake", BondStatusQuery(contract=vs))
        if status.delegated.amount > status.cap.amount:
            out.append(
                f"{ex.chain_id}: virtual stake {status.delegated.amount} of {vs} > max cap"
                f" {status.cap.amount}"
            )
    return out


def supply_violations(ex: TxExecutor, genesis_supply: int, provision: int) -> list[str]:
    """Token conservation on one chain (see the module docstring)."""
    bank = ex.bank
    chain = ex.chain_id
    out: list[str] = []
    totals: dict[str, int] = {}
    for _, denom, amount in bank.iter_balances():
        totals[denom] = totals.get(denom, 0) + amount
    own = ex.config.bond_denom
    for denom in sorted(set(totals) | set(bank.denoms())):
        if denom != own:
            out.append(f"{chain}: foreign denom {denom!r} exists (tokens never cross chains, I-80)")
        supply = bank.supply(denom)
        if totals.get(denom, 0) != supply:
            out.append(
                f"{chain}: {denom} balances add up to {totals.get(denom, 0)} != supply {supply}"
            )
    ceiling = genesis_supply + provision * ex.height
    reported = bank.reported_supply(own)
    if reported > ceiling:
        out.append(f"{chain}: reported supply {reported} > genesis + provisions {ceiling} (C-58)")
    return out


def delegation_view_violations(
    name: str,
    provider: ProviderSide,
    consumer: ConsumerSide,
    *,
    compare_amounts: bool,
    operations: dict[tuple[str, str], int],
) -> list[str]:
    """I-64..I-69 for one pairing at quiescence (``provider``/``consumer``: what
    `read_provider_side` / `read_consumer_side` read; ``operations``: stakes and unstakes
    the mesh submitted per (user, validator), for the flooring tolerance)."""
    out: list[str] = []
    if provider.pending_txs:
        out.append(f"{name}: {provider.pending_txs} provider transactions still pending")
    stakes = provider.stakes
    records = consumer.records
    for key, (low, high, _) in stakes.items():
        if low != high:
            out.append(f"{name}: {key} stake range [{low}, {high}] not collapsed (I-65)")
    price = consumer.price
    if not compare_amounts or price is None:
        return out
    rate = Decimal18.parse(price)
    adjustment = Decimal18.parse(consumer.adjustment)
    # a key on one side only is a key whose other side is 0: the same comparison, so a
    # provider residual that converts to less than the tolerance (a zero-cap drain's
    # inverse conversion floors, I-104) is not a violation
    for key in sorted(set(stakes) | set(records)):
        provider_stake = stakes[key][1] if key in stakes else 0
        expected = normalize_amount(provider_stake, rate, adjustment)
        recorded = records.get(key, 0)
        tolerance = 2 * max(1, operations.get(key, 1))
        if abs(recorded - expected) >= tolerance:
            out.append(
                f"{name}: {key} consumer record {recorded} != provider stake {provider_stake}"
                f" converted ({expected} ± {tolerance - 1})"
            )
    return out


def packet_origin_violations(dest: IbcModule, src: IbcModule) -> list[str]:
    """Issue 13 / I-17 for the packets ``dest`` received from ``src`` (over any of their
    channels): each has its commitment on ``src`` or was acked there, and none is both
    received on ``dest`` and timed out on ``src``."""
    out: list[str] = []
    state = dest.state
    src_state = src.state
    ends = {end.channel_id: end for end in dest.channel_ends()}
    for (channel_id, sequence), _ in state.receipts.raw_items():
        end = ends.get(channel_id)
        if end is None or not end.counterparty_channel_id:
            continue
        src_end = src_state.channels.get(end.counterparty_channel_id)
        if src_end is None or src_end.counterparty_channel_id != channel_id:
            continue  # a channel to another chain
        ref = (src_end.channel_id, sequence)
        outcome = src_state.outcomes.get(ref)
        where = f"{dest.chain_id} {channel_id}/{sequence} from {src.chain_id}"
        if outcome == TIMED_OUT:
            out.append(f"{where}: received, yet timed out on the source (I-17)")
        elif outcome != ACKED and ref not in src_state.commitments:
            out.append(f"{where}: received, never committed on the source (I-17)")
    return out


def conservation_violations(ex: TxExecutor) -> list[str]:
    """Conservation per denom on one chain (issue 13, see the module docstring); the
    genesis supply is the one the chain kept at genesis (`ChainConfig.genesis_supply`:
    funded accounts and validators' self-bonds)."""
    bank = ex.bank
    chain = ex.chain_id
    out: list[str] = []
    own = ex.config.bond_denom
    genesis = ex.genesis_supply
    for denom in sorted(set(bank.ledger_denoms()) | set(bank.denoms())):
        minted = bank.minted(denom)
        burned = bank.burned(denom)
        for source in sorted(set(minted) - PROTOCOL_MINTS):
            out.append(
                f"{chain}: {minted[source]} {denom} minted outside the protocol"
                f" (source {source!r}): supply not conserved"
            )
        for source in sorted(set(burned) - PROTOCOL_BURNS):
            out.append(
                f"{chain}: {burned[source]} {denom} burned outside the protocol"
                f" (source {source!r}): supply not conserved"
            )
        expected = sum(minted.values()) - sum(burned.values())
        supply = bank.supply(denom)
        if supply != expected:
            out.append(
                f"{chain}: {denom} supply {supply} != minted - burned {expected}"
                " (changed outside mint and burn)"
            )
        if minted.get("genesis", 0) != genesis.get(denom, 0):
            out.append(
                f"{chain}: {denom} minted at genesis {minted.get('genesis', 0)} != genesis"
                f" supply {genesis.get(denom, 0)}"
            )
        if denom != own:
            continue
        # genesis (block 0) runs a begin-block too, so heights 0..height each minted one
        ceiling = ex.staking.params.block_provision * (ex.height + 1)
        if minted.get("provisions", 0) > ceiling:
            out.append(
                f"{chain}: {denom} provisions minted {minted['provisions']} > block provision"
                f" x height {ceiling} (supply)"
            )
    return out


def distribution_reward_violations(ex: TxExecutor) -> list[str]:
    """Rewards paid never above rewards accrued, on one chain's x/distribution (issue 13,
    see the module docstring)."""
    distribution = ex.staking.distribution
    staking = ex.staking.staking
    owed = distribution.community_pool().truncate_int()
    for validator in staking.validators():
        operator = validator.operator
        owed += distribution.commission(operator).truncate_int()
        for delegation in staking.delegations_to(operator):
            owed += distribution.pending_rewards(delegation.delegator, operator).truncate_int()
    held = ex.bank.balance(distribution.module_account, ex.config.bond_denom)
    if held < owed:
        return [
            f"{ex.chain_id}: distribution holds {held} but owes {owed} in rewards, commission"
            " and community pool (rewards paid above accrued)"
        ]
    return []


def external_reward_violations(ex: TxExecutor, contract: str) -> list[str]:
    """Rewards paid never above rewards accrued or received over IBC, on one external
    staking contract (issue 13, see the module docstring)."""
    state = ex.contract_state(contract)
    stakes: dict[tuple[str, str], Stake] = state.get("stakes", {})
    distributions: dict[str, RewardDistribution] = state.get("distributions", {})
    out: list[str] = []
    paid: dict[str, int] = {}
    where = f"{ex.chain_id} {contract}"
    for (user, validator), stake in sorted(stakes.items()):
        record = distributions.get(validator, RewardDistribution())
        earned = (record.points_per_stake * stake.committed + stake.points_alignment) // (
            REWARD_SCALE
        )
        taken = stake.withdrawn_funds + stake.withdrawing
        paid[validator] = paid.get(validator, 0) + taken
        if taken > max(earned, 0):
            out.append(
                f"{where}: {user} on {validator} paid {taken} rewards > earned {earned} (P-74)"
            )
    for validator, total in sorted(paid.items()):
        received = distributions.get(validator, RewardDistribution()).received
        if total > received:
            out.append(
                f"{where}: stakers of {validator} paid {total} rewards > received over IBC"
                f" {received}"
            )
    return out
