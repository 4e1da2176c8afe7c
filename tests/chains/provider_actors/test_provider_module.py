"""The provider chain module and the host routes it relies on, on the executor (P-48, P-51,
P-52, P-54, P-62; C-22, C-34, C-35)."""

from __future__ import annotations

from chains import BlockPhase, Coin, Decimal18, InvalidAddress, Unauthorized
from chains.contract import (
    CustomMsg,
    DistributionSetWithdrawAddress,
    StakingDelegate,
    StakingRedelegate,
)
from chains.host import ContractNotFound
from chains.modules import ForceDowntime, RecordLiveness, StakingParams
from chains.provider import (
    NativeStaking,
    NativeStakingAddressQuery,
    NativeStakingInstantiate,
    NativeStakingProxy,
    ProviderModule,
    SetNativeStaking,
)
from chains.testing import Emit
from tests.chains.host._kit import ALICE, DENOM, HostKit, make_config


def _kit(**staking: object) -> tuple[HostKit, ProviderModule]:
    kit = HostKit(make_config(staking=StakingParams(**staking)) if staking else None)
    module = ProviderModule(kit.ex)
    kit.ex.add_module(module)
    return kit, module


def test_set_native_staking_only_by_governance_and_only_a_contract_P_48() -> None:
    kit, module = _kit()
    target = kit.contracts[0]
    msg = CustomMsg(module="provider", msg=SetNativeStaking(contract=target))
    assert kit.ex.submit(ALICE, msg).error == Unauthorized()
    missing = CustomMsg(module="provider", msg=SetNativeStaking(contract=ALICE))
    assert kit.ex.submit(kit.ex.gov_address, missing).error == ContractNotFound(ALICE)
    assert kit.ex.submit(kit.ex.gov_address, msg).ok
    assert kit.ex.query_module("provider", NativeStakingAddressQuery()) == target
    assert module.native_staking == target


def test_a_failing_jailing_call_is_reported_and_the_slash_goes_on_P_42_P_51() -> None:
    kit, _ = _kit()
    # a cascade contract refuses the Jailing sudo call
    kit.ex.submit(
        kit.ex.gov_address,
        CustomMsg(module="provider", msg=SetNativeStaking(contract=kit.contracts[0])),
    ).unwrap()
    validator = kit.config.operator("val-a")
    tokens = kit.ex.staking.validator(validator).tokens  # type: ignore[union-attr]
    kit.next_block()
    kit.next_block()
    result = kit.ex.submit(kit.ex.gov_address, ForceDowntime(validator=validator))
    assert result.ok, result.error
    failed = [e for e in result.events if e.type == "jailing_failed"]
    assert [(e.source, e.get("validator"), e.get("error")) for e in failed] == [
        ("provider", validator, "UnsupportedMessage")
    ]
    record = kit.ex.staking.validator(validator)
    assert record is not None and record.jailed
    assert record.tokens == tokens - tokens // 100  # the 1 % downtime slash applied


def test_begin_block_downtime_reports_the_jailing_events_with_the_block_C_35_P_51() -> None:
    kit, _ = _kit(signed_blocks_window=2)
    ex = kit.ex
    native = ex.instantiate(
        ALICE,
        NativeStaking.code if NativeStaking.code in ex.codes() else _register(kit),
        NativeStakingInstantiate(
            denom=DENOM,
            proxy_code=NativeStakingProxy.code,
            slash_ratio_dsign=Decimal18.parse("0.05"),
            slash_ratio_offline=Decimal18.parse("0.01"),
        ),
    ).unwrap()
    ex.submit(
        ex.gov_address, CustomMsg(module="provider", msg=SetNativeStaking(contract=native))
    ).unwrap()
    validator = kit.config.operator("val-a")
    phases = []
    for _ in range(6):
        ex.submit(ex.gov_address, RecordLiveness(validator=validator, signed=False)).unwrap()
        ex.end_block()
        block = ex.begin_block(ex.time_s + 5)
        phases += [(e.type, e.phase) for e in block.events if e.type == "jailing"]
        if phases:
            break
    assert phases == [("jailing", BlockPhase.BEGIN_BLOCK)]
    assert ex.staking.validator(validator).jailed  # type: ignore[union-attr]


def _register(kit: HostKit) -> str:
    kit.ex.register_code(NativeStaking)
    kit.ex.register_code(NativeStakingProxy)
    return NativeStaking.code


def test_set_withdraw_address_is_routed_to_distribution_P_52_P_56() -> None:
    kit, _ = _kit()
    a = kit.contracts[0]
    assert kit.ex.execute(
        ALICE, a, Emit(messages=(DistributionSetWithdrawAddress(address=ALICE),))
    ).ok
    assert kit.ex.staking.distribution.withdraw_address(a) == ALICE
    bad = Emit(messages=(DistributionSetWithdrawAddress(address="cosmos1nope"),))
    error = kit.ex.execute(ALICE, a, bad).error
    assert isinstance(error, InvalidAddress)


def test_redelegate_is_routed_to_staking_C_22_P_54() -> None:
    kit, _ = _kit()
    a = kit.contracts[0]
    val_a, val_b = kit.config.operator("val-a"), kit.config.operator("val-b")
    stake = Coin(denom=DENOM, amount=30)
    assert kit.ex.execute(
        ALICE, a, Emit(messages=(StakingDelegate(validator=val_a, amount=stake),))
    ).ok
    move = StakingRedelegate(
        src_validator=val_a, dst_validator=val_b, amount=Coin(denom=DENOM, amount=20)
    )
    result = kit.ex.execute(ALICE, a, Emit(messages=(move,)))
    assert result.ok, result.error
    (event,) = [e for e in result.events if e.type == "redelegate"]
    assert (event.get("delegator"), event.get("amount")) == (a, "20")
    assert kit.ex.staking.delegation_value(a, val_b) == 20
    (entry,) = kit.ex.staking.redelegation_entries(a, val_a, val_b)
    assert event.get("completion_time") == str(entry.completion_time)
