"""Random sequences of provider transactions keep the vault invariants and conserve tokens
(P-18..P-21, P-2, P-16, I-29-style checks).

Each step is one transaction on the contract kit, the real executor (a user call, a packet
ack / error ack / timeout, a consumer packet, a chain sudo call). After every step:

- P-18: every user's ``max_lien.high`` and ``total_slashable.high`` are within collateral;
- P-19: a lien per (user, holder) at most (by construction of the map) and no negative range;
- P-20 / conservation: the tokens held for the vault (its balance plus every proxy's liquid,
  delegated and unbonding tokens) equal Σ collateral plus every collateral reduction made by
  a slash (cross-slashing confiscates without moving tokens), and the bank's supply equals
  what was minted (nothing minted or lost);
- P-21: the vault's pending txs and every external staking's pending remote stakes match by
  id;
- external staking: every validator's ``total_stake`` equals the sum of its users' committed
  stake; while no slash happened, each lien towards an external staking contract equals the
  user's stake there plus pending unbonds (high ends), and its low end covers the low ends.
"""

from __future__ import annotations

import random
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from chains import ChainError
from chains.contract import derive_address
from chains.provider import (
    ExternalUnstake,
    ExternalWithdrawRewards,
    InFlightRemoteStaking,
    JailedValidator,
    Jailing,
    ProxyByOwnerQuery,
    ProxyReleaseUnbonded,
    ProxyUnstake,
    StakeLocal,
    StakeRemote,
    VaultBond,
    VaultUnbond,
    WithdrawUnbonded,
    encode_stake_target,
)
from chains.testing import SentPacket
from chains.wire import (
    DistributeBatchPacket,
    RewardInfo,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    encode_packet,
)
from tests.chains.provider._deploy import DENOM, PREFIX, Provider, build_provider

USERS = tuple(derive_address(PREFIX, name) for name in ("u0", "u1", "u2"))
REMOTE = ("valA", "valB")
amounts = st.integers(min_value=1, max_value=300)
users = st.sampled_from(USERS)


class ProviderMachine(RuleBasedStateMachine):
    """A vault, native staking and two external staking contracts under random use."""

    p: Provider
    recording = True

    @initialize()
    def setup(self) -> None:
        self.p = build_provider(
            externals=2,
            native_validators=2,
            remote_validators=REMOTE,
            unbonding_period=100,
            native_unbonding_time=60,
        )
        self.in_flight: list[SentPacket] = []
        self.slashed_collateral = 0
        self.any_slash = False
        for user in USERS:
            self.p.chain.fund(user, 3_000)
            self.bond(user, 1_500)
        # what was minted: no step may mint or lose tokens (P-20)
        self.supply = self.p.chain.bank.supply(DENOM)

    # -- helpers --

    def _run(self, result: Any) -> Any:
        if self.recording:
            caller = sys._getframe(1).f_code.co_name
            event(f"{caller}: {'ok' if result.ok else result.error.name}")
        self.in_flight.extend(result.packets)
        for ev in result.events:
            if ev.type == "slash" and ev.get("collateral") is not None:
                self.slashed_collateral += int(ev.get("amount") or 0)
                self.any_slash = True
        return result

    def _proxy(self, user: str) -> str | None:
        try:
            answer = self.p.chain.query(self.p.native, ProxyByOwnerQuery(owner=user))
        except ChainError:
            return None
        proxy: str = answer.proxy
        return proxy

    # -- user actions --

    @rule(user=users, amount=amounts)
    def bond(self, user: str, amount: int) -> None:
        self._run(self.p.chain.execute(user, self.p.vault, VaultBond(), (self.p.coin(amount),)))

    @rule(user=users, amount=amounts)
    def unbond(self, user: str, amount: int) -> None:
        self._run(self.p.chain.execute(user, self.p.vault, VaultUnbond(amount=self.p.coin(amount))))

    @rule(user=users, amount=amounts, which=st.integers(0, 1))
    def stake_local(self, user: str, amount: int, which: int) -> None:
        target = encode_stake_target(self.p.native_validators[which])
        msg = StakeLocal(amount=self.p.coin(amount), msg=target)
        self._run(self.p.chain.execute(user, self.p.vault, msg))

    @rule(user=users, amount=amounts, ext=st.integers(0, 1), validator=st.sampled_from(REMOTE))
    def stake_remote(self, user: str, amount: int, ext: int, validator: str) -> None:
        msg = StakeRemote(
            contract=self.p.externals[ext],
            amount=self.p.coin(amount),
            msg=encode_stake_target(validator),
        )
        self._run(self.p.chain.execute(user, self.p.vault, msg))

    @rule(user=users, amount=amounts, ext=st.integers(0, 1), validator=st.sampled_from(REMOTE))
    def unstake_remote(self, user: str, amount: int, ext: int, validator: str) -> None:
        msg = ExternalUnstake(validator=validator, amount=self.p.coin(amount))
        self._run(self.p.chain.execute(user, self.p.externals[ext], msg))

    @rule(user=users, ext=st.integers(0, 1))
    def withdraw_unbonded(self, user: str, ext: int) -> None:
        self._run(self.p.chain.execute(user, self.p.externals[ext], WithdrawUnbonded()))

    @rule(user=users, ext=st.integers(0, 1), validator=st.sampled_from(REMOTE))
    def withdraw_rewards(self, user: str, ext: int, validator: str) -> None:
        msg = ExternalWithdrawRewards(validator=validator, remote_recipient="cons1x")
        self._run(self.p.chain.execute(user, self.p.externals[ext], msg))

    @rule(user=users, amount=amounts, which=st.integers(0, 1))
    def unstake_local(self, user: str, amount: int, which: int) -> None:
        proxy = self._proxy(user)
        if proxy is not None:
            msg = ProxyUnstake(
                validator=self.p.native_validators[which], amount=self.p.coin(amount)
            )
            self._run(self.p.chain.execute(user, proxy, msg))

    @rule(user=users)
    def release_local(self, user: str) -> None:
        proxy = self._proxy(user)
        if proxy is not None:
            self._run(self.p.chain.execute(user, proxy, ProxyReleaseUnbonded()))

    # -- the consumer and the relayer --

    @precondition(lambda self: bool(self.in_flight))
    @rule(data=st.data(), outcome=st.sampled_from(["ack", "error", "timeout"]))
    def settle_packet(self, data: st.DataObject, outcome: str) -> None:
        index = data.draw(st.integers(0, len(self.in_flight) - 1))
        self.settle(index, outcome)

    def settle(self, index: int, outcome: str) -> None:
        sent = self.in_flight.pop(index)
        chain = self.p.chain
        result = (
            chain.ack(sent)
            if outcome == "ack"
            else chain.error_ack(sent)
            if outcome == "error"
            else chain.timeout(sent)
        )
        assert result.ok, result.error  # P-16: acks and timeouts never fail
        self._run(result)

    @rule(
        ext=st.integers(0, 1),
        validator=st.sampled_from(REMOTE),
        amount=st.integers(0, 300),
        ratio=st.sampled_from(["0.01", "0.1", "0.5"]),
    )
    def consumer_slash(self, ext: int, validator: str, amount: int, ratio: str) -> None:
        packet = ValsetUpdatePacket(
            height=600,
            time=self.p.chain.time_s,
            slashed=(
                ValidatorSlashInfo(
                    address=validator,
                    infraction_height=150,
                    infraction_time=0,
                    power=1,
                    slash_amount=self.p.coin(amount),
                    slash_ratio=ratio,
                ),
            ),
        )
        _ack, result = self.p.chain.receive(self.p.externals[ext], encode_packet(packet))
        assert result.ok, result.error
        self._run(result)

    @rule(ext=st.integers(0, 1), validator=st.sampled_from(REMOTE), amount=amounts)
    def distribute(self, ext: int, validator: str, amount: int) -> None:
        packet = DistributeBatchPacket(
            rewards=(RewardInfo(validator=validator, reward=amount),), denom="ucons"
        )
        self._run(self.p.chain.receive(self.p.externals[ext], encode_packet(packet))[1])

    @rule(which=st.integers(0, 1), tombstone=st.booleans())
    def native_jailing(self, which: int, tombstone: bool) -> None:
        item = (JailedValidator(validator=self.p.native_validators[which]),)
        msg = Jailing(tombstoned=item) if tombstone else Jailing(jailed=item)
        result = self.p.chain.sudo(self.p.native, msg)
        assert result.ok, result.error
        self._run(result)

    @rule(seconds=st.integers(1, 80))
    def advance(self, seconds: int) -> None:
        self.p.chain.advance(seconds=seconds)

    # -- invariants --

    @invariant()
    def vault_invariants(self) -> None:
        vault = self.p.vault_core.state
        for user in vault.all_users():
            info = vault.user(user)
            # P-18
            assert info.max_lien.high <= info.collateral, (user, info)
            assert info.total_slashable.high <= info.collateral, (user, info)
            for lien in vault.liens_of(user).values():
                assert 0 <= lien.amount.low <= lien.amount.high

    @invariant()
    def tokens_are_conserved(self) -> None:
        chain = self.p.chain
        vault = self.p.vault_core.state
        staking = chain.staking.staking
        held = chain.balance(self.p.vault)
        for user in USERS:
            proxy = self._proxy(user)
            if proxy is None:
                continue
            held += chain.balance(proxy)
            for validator in self.p.native_validators:
                held += staking.delegation_value(proxy, validator)
                held += sum(e.balance for e in staking.unbonding_entries(proxy, validator))
        collateral = sum(vault.user(u).collateral for u in vault.all_users())
        # P-20, with the exact amount confiscated by slashes
        assert held == collateral + self.slashed_collateral
        assert chain.bank.supply(DENOM) == self.supply

    @invariant()
    def pending_txs_match_P_21(self) -> None:
        vault_txs = self.p.vault_core.txs
        expected = {
            (t.id, t.lienholder, t.user, t.amount) for t in map(vault_txs.get, vault_txs.ids())
        }
        actual = set()
        for ext in self.p.externals:
            txs = self.p.ext_core(ext).txs
            for tx_id in txs.ids():
                tx = txs.get(tx_id)
                if isinstance(tx, InFlightRemoteStaking):
                    actual.add((tx.id, ext, tx.user, tx.amount))
        assert actual == expected

    @invariant()
    def external_staking_accounting(self) -> None:
        vault = self.p.vault_core.state
        for ext in self.p.externals:
            state = self.p.ext_core(ext).state
            for validator in REMOTE:
                committed = sum(
                    state.stake(u, validator).committed for u in state.users_of(validator)
                )
                assert state.distribution(validator).total_stake == committed
            if self.any_slash:
                continue
            for user in USERS:
                stakes = [state.stake(user, v) for v in state.validators_of(user)]
                high = sum(s.stake.high + sum(u.amount for u in s.pending_unbonds) for s in stakes)
                low = sum(s.stake.low + sum(u.amount for u in s.pending_unbonds) for s in stakes)
                lien = vault.lien(user, ext)
                lien_high = 0 if lien is None else lien.amount.high
                lien_low = 0 if lien is None else lien.amount.low
                assert lien_high == high
                assert lien_low >= low


TestProviderMachine = ProviderMachine.TestCase
TestProviderMachine.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _check_all(machine: ProviderMachine) -> None:
    machine.vault_invariants()
    machine.tokens_are_conserved()
    machine.pending_txs_match_P_21()
    machine.external_staking_accounting()


@pytest.mark.parametrize("seed", range(6))
def test_long_random_walks_keep_the_invariants_P_18_P_21(seed: int) -> None:
    """Seeded random walks of 150 steps: deeper sequences than the shrinking search."""
    rng = random.Random(seed)
    m = ProviderMachine()
    m.recording = False
    m.setup()
    user = lambda: rng.choice(USERS)  # noqa: E731
    amount = lambda: rng.randint(1, 300)  # noqa: E731
    remote = lambda: rng.choice(REMOTE)  # noqa: E731
    actions = [
        lambda: m.bond(user(), amount()),
        lambda: m.unbond(user(), amount()),
        lambda: m.stake_local(user(), amount(), rng.randint(0, 1)),
        lambda: m.stake_remote(user(), amount(), rng.randint(0, 1), remote()),
        lambda: m.stake_remote(user(), amount(), rng.randint(0, 1), remote()),
        lambda: m.unstake_remote(user(), rng.randint(1, 100), rng.randint(0, 1), remote()),
        lambda: m.withdraw_unbonded(user(), rng.randint(0, 1)),
        lambda: m.withdraw_rewards(user(), rng.randint(0, 1), remote()),
        lambda: m.unstake_local(user(), rng.randint(1, 100), rng.randint(0, 1)),
        lambda: m.release_local(user()),
        lambda: m.consumer_slash(
            rng.randint(0, 1), remote(), rng.randint(0, 60), rng.choice(["0.01", "0.1"])
        ),
        lambda: m.distribute(rng.randint(0, 1), remote(), amount()),
        lambda: m.native_jailing(rng.randint(0, 1), rng.random() < 0.3),
        lambda: m.advance(rng.randint(1, 80)),
    ]
    for _ in range(150):
        if m.in_flight and rng.random() < 0.4:
            m.settle(
                rng.randrange(len(m.in_flight)), rng.choice(["ack", "ack", "error", "timeout"])
            )
        else:
            rng.choice(actions)()
        _check_all(m)
