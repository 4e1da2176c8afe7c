"""End-to-end provider flows on the contract kit, the real executor (§8, P-2, P-3, P-42,
P-61, P-62, P-95..P-101)."""

from __future__ import annotations

import pytest

from chains.contract import derive_address
from chains.host import ChainEvent
from chains.modules import TooManyUnbondingEntries
from chains.provider import (
    ExternalUnstake,
    JailedValidator,
    Jailing,
    ProcessUnbondingQueue,
    ProxyByOwnerQuery,
    ProxyConfigQuery,
    ProxyReleaseUnbonded,
    ProxyUnstake,
    StakeLocal,
    StakeRemote,
    UnknownLienholder,
    ValidatorNotActive,
    ValueRange,
    VaultBond,
    WithdrawUnbonded,
    encode_stake_target,
)
from chains.testing import KitResult, state_of
from chains.wire import (
    BurnPacket,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    decode_provider_packet,
    encode_packet,
)
from tests.chains.provider._deploy import DENOM, PREFIX, Provider, build_provider

USER = derive_address(PREFIX, "alice")


@pytest.fixture
def p() -> Provider:
    provider = build_provider()
    provider.chain.fund(USER, 10_000)
    return provider


def bond(p: Provider, amount: int, user: str = USER) -> None:
    assert p.chain.execute(user, p.vault, VaultBond(), (p.coin(amount),)).ok


def stake_remote(
    p: Provider, amount: int, validator: str = "valA", ext: str | None = None
) -> KitResult:
    msg = StakeRemote(
        contract=ext or p.ext, amount=p.coin(amount), msg=encode_stake_target(validator)
    )
    return p.chain.execute(USER, p.vault, msg)


def stake_local(p: Provider, amount: int, validator: str | None = None) -> KitResult:
    target = encode_stake_target(validator or p.native_validators[0])
    return p.chain.execute(USER, p.vault, StakeLocal(amount=p.coin(amount), msg=target))


def lien(p: Provider, holder: str) -> ValueRange | None:
    record = p.vault_core.state.lien(USER, holder)
    return None if record is None else record.amount


def ext_stake(p: Provider, validator: str = "valA", ext: str | None = None) -> ValueRange:
    return p.ext_core(ext).state.stake(USER, validator).stake


def proxy_of(p: Provider) -> str:
    proxy: str = p.chain.query(p.native, ProxyByOwnerQuery(owner=USER)).proxy
    return proxy


def test_cross_stake_commit_and_rollback_section_8(p: Provider) -> None:
    bond(p, 1000)
    result = stake_remote(p, 100)
    assert result.ok
    (sent,) = result.packets
    assert lien(p, p.ext) == ValueRange(0, 100)
    assert ext_stake(p) == ValueRange(0, 100)
    assert p.chain.ack(sent).ok
    assert lien(p, p.ext) == ValueRange(100, 100)
    assert ext_stake(p) == ValueRange(100, 100)
    # error ack / timeout ⇒ both undone, lien deleted if empty
    failed = stake_remote(p, 50, ext=None)
    assert p.chain.error_ack(failed.packets[0]).ok
    assert lien(p, p.ext) == ValueRange(100, 100)
    bond(p, 0 + 1)
    timed = stake_remote(p, 50, "valB")
    assert p.chain.timeout(timed.packets[0]).ok
    assert ext_stake(p, "valB") == ValueRange(0, 0)
    assert len(p.vault_core.txs) == 0


def test_failing_receive_virtual_stake_undoes_the_whole_stake_remote_P_2_P_96(
    p: Provider,
) -> None:
    bond(p, 1000)
    before = state_of(p.chain.store)
    result = stake_remote(p, 100, "valZ")
    assert result.error == ValidatorNotActive("valZ")
    assert result.packets == () and p.chain.outbox == ()
    assert state_of(p.chain.store) == before


def test_cross_unstake_timing_and_release_section_8_P_70(p: Provider) -> None:
    bond(p, 1000)
    p.chain.ack(stake_remote(p, 100).packets[0])
    unstake = p.chain.execute(USER, p.ext, ExternalUnstake(validator="valA", amount=p.coin(50)))
    p.chain.advance(seconds=30)
    t_ack = p.chain.time_s
    assert p.chain.ack(unstake.packets[0]).ok
    p.chain.advance(seconds=999)  # unbonding_period = 1000 s, counted from the ack
    assert p.chain.time_s == t_ack + 999
    result = p.chain.execute(USER, p.ext, WithdrawUnbonded())
    assert result.ok and lien(p, p.ext) == ValueRange(100, 100)
    p.chain.advance(seconds=1)
    assert p.chain.execute(USER, p.ext, WithdrawUnbonded()).ok
    assert lien(p, p.ext) == ValueRange(50, 50)
    free = p.vault_core.state.user(USER).free
    assert free == ValueRange(950, 950)


def test_failed_vault_release_restores_the_pending_unbonds_P_98(p: Provider) -> None:
    bond(p, 1000)
    p.chain.ack(stake_remote(p, 100).packets[0])
    unstake = p.chain.execute(USER, p.ext, ExternalUnstake(validator="valA", amount=p.coin(50)))
    p.chain.ack(unstake.packets[0])
    p.chain.advance(seconds=1000)
    assert p.chain.run(lambda ex: p.vault_core.state.delete_lien(USER, p.ext)).ok
    result = p.chain.execute(USER, p.ext, WithdrawUnbonded())
    assert result.error == UnknownLienholder(USER, p.ext)
    pending = p.ext_core().state.stake(USER, "valA").pending_unbonds
    assert [u.amount for u in pending] == [50]


def test_local_stake_creates_a_proxy_and_delegates_P_25_P_44_P_52(p: Provider) -> None:
    bond(p, 1000)
    assert stake_local(p, 300).ok
    proxy = proxy_of(p)
    validator = p.native_validators[0]
    assert p.chain.staking.delegation_value(proxy, validator) == 300
    assert p.chain.staking.distribution.withdraw_address(proxy) == USER
    assert lien(p, p.native) == ValueRange(300, 300)
    assert p.chain.balance(p.vault) == 700
    assert stake_local(p, 100, p.native_validators[1]).ok
    assert p.chain.staking.delegation_value(proxy, p.native_validators[1]) == 100


def test_failing_local_stake_keeps_tokens_and_lien_untouched_P_95(p: Provider) -> None:
    bond(p, 1000)
    before = state_of(p.chain.store)
    result = stake_local(p, 300, "starsvaloper1nonexistent")
    assert not result.ok
    assert state_of(p.chain.store) == before


def test_local_unstake_release_returns_tokens_to_the_vault_P_57_P_59_P_99() -> None:
    p = build_provider(native_unbonding_time=100)
    p.chain.fund(USER, 10_000)
    bond(p, 1000)
    stake_local(p, 300)
    proxy = proxy_of(p)
    validator = p.native_validators[0]
    assert p.chain.execute(USER, proxy, ProxyUnstake(validator=validator, amount=p.coin(120))).ok
    p.chain.advance(seconds=100)
    p.chain.advance()  # the entry matures in the end-block at or after completion time
    assert p.chain.balance(proxy) == 120
    assert p.chain.execute(USER, proxy, ProxyReleaseUnbonded()).ok
    assert p.chain.balance(proxy) == 0
    assert p.chain.balance(p.vault) == 820
    assert lien(p, p.native) == ValueRange(180, 180)


def test_never_more_than_seven_unbonding_entries_with_batching_P_61_P_62() -> None:
    p = build_provider(native_unbonding_time=100)
    p.chain.fund(USER, 10_000)
    bond(p, 1000)
    stake_local(p, 900)
    proxy = proxy_of(p)
    validator = p.native_validators[0]
    staking = p.chain.staking
    starts = []
    for i in range(9):
        result = p.chain.execute(USER, proxy, ProxyUnstake(validator=validator, amount=p.coin(10)))
        assert result.ok, result.error
        starts.append(p.chain.time_s)
        assert len(staking.unbonding_entries(proxy, validator)) == min(i + 1, 7)
        p.chain.advance(seconds=5)
    # the module itself refuses an 8th entry (P-61); the proxy queued 20 instead
    with pytest.raises(TooManyUnbondingEntries):
        staking.staking.undelegate(proxy, validator, 1)
    queued = p.chain.query(proxy, ProxyConfigQuery())
    assert queued.burned == 0
    assert staking.delegation_value(proxy, validator) == 900 - 70
    # the first entry (created at starts[0]) completes at starts[0] + 100
    while p.chain.time_s < starts[0] + 100:
        p.chain.advance(seconds=5)
    p.chain.advance()
    assert len(staking.unbonding_entries(proxy, validator)) == 6
    assert p.chain.execute(p.user("anyone"), proxy, ProcessUnbondingQueue()).ok
    entries = staking.unbonding_entries(proxy, validator)
    assert len(entries) == 7
    assert entries[-1].initial_balance == 20  # the two queued requests as one undelegation
    assert entries[-1].completion_time == p.chain.time_s + 100


def _slash_packet(validator: str, amount: int, height: int = 600) -> bytes:
    return encode_packet(
        ValsetUpdatePacket(
            height=height,
            time=1,
            slashed=(
                ValidatorSlashInfo(
                    address=validator,
                    infraction_height=height,
                    infraction_time=0,
                    power=1,
                    slash_amount={"denom": DENOM, "amount": str(amount)},  # type: ignore[arg-type]
                    slash_ratio="0.1",
                ),
            ),
        )
    )


def test_cross_slash_propagates_burns_to_local_staking_section_8_P_100_P_101(p: Provider) -> None:
    # collateral 200; local 150 @5 %, cross 200 @10 %; consumer slashes 100 on valA
    bond(p, 200)
    stake_local(p, 150)
    p.chain.ack(stake_remote(p, 200).packets[0])
    ack, result = p.chain.receive(p.ext, _slash_packet("valA", 100))
    assert result.ok and ack.result() == b"{}"
    assert ext_stake(p) == ValueRange(100, 100)
    user = p.vault_core.state.user(USER)
    assert user.collateral == 100
    # lien capping: local 150 → 100 (burn 50 from the proxy)
    assert lien(p, p.native) == ValueRange(100, 100)
    assert lien(p, p.ext) == ValueRange(100, 100)
    proxy = proxy_of(p)
    config = p.chain.query(proxy, ProxyConfigQuery())
    assert config.burned == 50
    assert p.chain.staking.delegation_value(proxy, p.native_validators[0]) == 100
    assert user.max_lien.high <= 100 and user.total_slashable.high <= 100


def test_local_slash_burns_virtual_stake_and_sends_a_burn_packet_section_8_P_48(
    p: Provider,
) -> None:
    bond(p, 200)
    stake_local(p, 200)
    p.chain.ack(stake_remote(p, 200, "valA").packets[0])
    validator = p.native_validators[0]
    # tombstone: floor(200 * 0.05) = 10 ⇒ collateral 190, cross lien capped 200 → 190
    result = p.chain.sudo(p.native, Jailing(tombstoned=(JailedValidator(validator=validator),)))
    assert result.ok, result.error
    user = p.vault_core.state.user(USER)
    assert user.collateral == 190
    assert lien(p, p.ext) == ValueRange(190, 190)
    assert ext_stake(p) == ValueRange(190, 190)
    (sent,) = result.packets
    assert decode_provider_packet(sent.packet.data) == BurnPacket(
        validators=("valA",), burn=p.coin(10)
    )
    assert p.chain.ack(sent).event_types() == ["burn_ack"]


def test_failed_burn_is_reported_and_the_slash_stands_P_42_P_101(p: Provider) -> None:
    bond(p, 200)
    stake_local(p, 150)
    p.chain.ack(stake_remote(p, 200).packets[0])
    proxy = proxy_of(p)
    # the user unstakes everything natively: a later burn finds no delegation to cut
    p.chain.execute(USER, proxy, ProxyUnstake(validator=p.native_validators[0], amount=p.coin(150)))
    ack, result = p.chain.receive(p.ext, _slash_packet("valA", 100))
    assert ack.result() == b"{}"
    failures: list[ChainEvent] = result.events_of("BurnFailed")
    assert [(e.get("holder"), e.get("amount"), e.get("error")) for e in failures] == [
        (p.native, "50", "InsufficientDelegations")
    ]
    assert p.vault_core.state.user(USER).collateral == 100
    assert lien(p, p.native) == ValueRange(100, 100)
